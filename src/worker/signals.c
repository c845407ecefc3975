/*
 * signals: the worker's signal handling.
 *
 * Handlers only write the signal number into a self-pipe; the pipe's
 * read end is an h2o socket, so signals become ordinary loop events and
 * nothing runs in signal context:
 *   SIGTERM          graceful stop
 *   SIGINT, SIGQUIT  fast stop
 *   SIGUSR1          reopen the log file
 *   SIGHUP           ignored (the master reloads)
 *   SIGPIPE          ignored (write errors are handled where they happen)
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <h2o.h>

#include "log.h"
#include "worker.h"

static int pipe_fds[2] = { -1, -1 };
static h2o_socket_t *pipe_sock;

static void
on_signal(int sig)
{
	int saved_errno = errno;
	unsigned char c = (unsigned char)sig;

	/* a full pipe already holds a wake-up: losing this byte is fine */
	if (write(pipe_fds[1], &c, 1) < 0) {
	}
	errno = saved_errno;
}

static void
on_pipe_read(h2o_socket_t *sock, const char *err)
{
	if (err != NULL) {
		/* cannot happen while we hold the write end */
		log_warnx("signal pipe: %s", err);
		h2o_socket_read_stop(sock);
		return;
	}
	for (size_t i = 0; i < sock->input->size; i++) {
		switch ((unsigned char)sock->input->bytes[i]) {
		case SIGTERM:
			wk_begin_drain(0, "SIGTERM");
			break;
		case SIGINT:
			wk_stop_now("SIGINT");
			break;
		case SIGQUIT:
			wk_stop_now("SIGQUIT");
			break;
		case SIGUSR1:
			log_reopen();
			log_info("log file reopened (SIGUSR1)");
			break;
		}
	}
	h2o_buffer_consume(&sock->input, sock->input->size);
}

int
wk_signals_init(void)
{
	struct sigaction sa;
	static const int handled[] = { SIGTERM, SIGINT, SIGQUIT, SIGUSR1 };

	if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
		log_warn("pipe2");
		return -1;
	}
	pipe_sock = h2o_evloop_socket_create(wk.loop, pipe_fds[0], 0);
	h2o_socket_read_start(pipe_sock, on_pipe_read);

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_signal;
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		sigaction(handled[i], &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);

	/* the master may have blocked signals around fork */
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		sigaddset(&set, handled[i]);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	return 0;
}

void
wk_signals_close(void)
{
	struct sigaction sa;

	/* the pipe goes away: late signals during teardown must not kill us */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	if (pipe_sock != NULL) {
		h2o_socket_close(pipe_sock); /* closes pipe_fds[0] */
		pipe_sock = NULL;
	}
	if (pipe_fds[1] != -1) {
		close(pipe_fds[1]);
		pipe_fds[1] = -1;
	}
}
