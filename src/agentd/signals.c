/*
 * signals (agentd): handlers set a flag and write a byte to a self-pipe;
 * the pipe's read end is an h2o socket, so signals are handled by the
 * event loop like any other input and never race with it.
 *
 * SIGTERM: graceful stop. SIGINT, SIGQUIT: fast stop. SIGUSR1: reopen the
 * log. SIGHUP: ignored (the master reloads). SIGPIPE: ignored.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "agentd.h"
#include "log.h"

static int pipe_fds[2] = { -1, -1 };
static h2o_socket_t *pipe_sock;
static volatile sig_atomic_t got_term, got_fast, got_usr1;

static void
on_signal(int signo)
{
	int saved_errno = errno;

	if (signo == SIGTERM)
		got_term = 1;
	else if (signo == SIGUSR1)
		got_usr1 = 1;
	else
		got_fast = 1;
	if (write(pipe_fds[1], "", 1) == -1) {
		/* full: a wake-up is already pending */
	}
	errno = saved_errno;
}

static void
on_pipe(h2o_socket_t *sock, const char *err)
{
	struct agentd *ad = sock->data;

	if (err != NULL) {
		log_warnx("signal pipe: %s", err);
		return;
	}
	h2o_buffer_consume(&sock->input, sock->input->size);
	if (got_usr1) {
		got_usr1 = 0;
		log_reopen();
		log_info("SIGUSR1: log reopened");
	}
	if (got_fast) {
		got_fast = 0;
		agentd_stop(ad, 1, 0, "SIGINT/SIGQUIT");
	}
	if (got_term) {
		got_term = 0;
		agentd_stop(ad, 0, ad->conf->shutdown_timeout_ms, "SIGTERM");
	}
}

int
agentd_signals_init(struct agentd *ad)
{
	struct sigaction sa;

	if (pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) == -1) {
		log_warn("self-pipe");
		return -1;
	}
	pipe_sock = h2o_evloop_socket_create(ad->loop, pipe_fds[0], 0);
	pipe_sock->data = ad;
	h2o_socket_read_start(pipe_sock, on_pipe);

	memset(&sa, 0, sizeof(sa));
	sigfillset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	return 0;
}

void
agentd_signals_close(void)
{
	struct sigaction sa;

	/* exiting anyway: a late signal must not turn a clean exit into a kill */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	if (pipe_sock != NULL)
		h2o_socket_close(pipe_sock); /* closes pipe_fds[0] */
	pipe_sock = NULL;
	if (pipe_fds[1] != -1)
		close(pipe_fds[1]);
	pipe_fds[0] = pipe_fds[1] = -1;
}
