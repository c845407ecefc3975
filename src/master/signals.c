/*
 * signals: the master's signal handlers only note the signal and write a
 * byte to a self-pipe; the poll loop drains the pipe and acts. Nothing in
 * a handler touches the child table or the config.
 *
 * Around fork() the master blocks every signal, so a signal can never run
 * a master handler inside a new child (its write would wake the master
 * with a signal the master never got). The child resets the handlers to
 * their defaults before it unblocks them.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "master.h"

static int pipe_fds[2] = { -1, -1 };
static pid_t owner_pid;
static volatile sig_atomic_t pending[MSIG_COUNT];

static const struct {
	int signo;
	enum master_signal msig;
} handled[] = {
	{ SIGHUP, MSIG_HUP },
	{ SIGTERM, MSIG_TERM },
	{ SIGINT, MSIG_INT },
	{ SIGQUIT, MSIG_QUIT },
	{ SIGUSR1, MSIG_USR1 },
	{ SIGCHLD, MSIG_CHLD },
};
#define NHANDLED (sizeof(handled) / sizeof(handled[0]))

static void
on_signal(int signo)
{
	int saved_errno = errno;

	/* belt and braces: never let a child's copy wake the master */
	if (getpid() != owner_pid)
		return;
	for (size_t i = 0; i < NHANDLED; i++)
		if (handled[i].signo == signo)
			pending[handled[i].msig] = 1;
	if (write(pipe_fds[1], "", 1) == -1) {
		/* pipe full: the bytes already in it wake the loop */
	}
	errno = saved_errno;
}

int
master_signals_init(void)
{
	struct sigaction sa;

	owner_pid = getpid();
	if (pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) == -1) {
		log_warn("self-pipe");
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigfillset(&sa.sa_mask); /* handlers never interrupt each other */
	for (size_t i = 0; i < NHANDLED; i++)
		if (sigaction(handled[i].signo, &sa, NULL) == -1) {
			log_warn("sigaction");
			return -1;
		}
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	sigaction(SIGPIPE, &sa, NULL);
	return 0;
}

int
master_signals_fd(void)
{
	return pipe_fds[0];
}

void
master_signals_take(int out[MSIG_COUNT])
{
	char drain[256];

	while (read(pipe_fds[0], drain, sizeof(drain)) > 0)
		;
	for (int i = 0; i < MSIG_COUNT; i++) {
		out[i] = pending[i];
		pending[i] = 0;
	}
}

void
master_signals_block_all(void *oldset)
{
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, (sigset_t *)oldset);
}

void
master_signals_restore(const void *oldset)
{
	sigprocmask(SIG_SETMASK, (const sigset_t *)oldset, NULL);
}

/*
 * In a new child, still with every signal blocked: close the self-pipe,
 * put the master's handlers back to their defaults, then unblock. SIGHUP
 * and SIGPIPE start ignored (the master handles reload; a closed peer
 * must not kill a child); each *_main() installs its own handlers.
 */
void
master_signals_reset_in_child(const void *oldset)
{
	struct sigaction sa;

	close(pipe_fds[0]);
	close(pipe_fds[1]);
	pipe_fds[0] = pipe_fds[1] = -1;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_DFL;
	for (size_t i = 0; i < NHANDLED; i++)
		sigaction(handled[i].signo, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	for (int i = 0; i < MSIG_COUNT; i++)
		pending[i] = 0;
	master_signals_restore(oldset);
}
