/*
 * pidfile: the master's pid file, held with flock() for the master's
 * whole life. The lock, not the pid written in the file, says whether a
 * tokilake is running: a pid can be reused by an unrelated process after
 * a crash, a lock cannot outlive the process holding it. Children close
 * the descriptor right after fork, so they never hold the lock.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>

#include "log.h"
#include "master.h"
#include "xmalloc.h"

static int pid_fd = -1;
static char *pid_path;
static pid_t pid_owner;

int
pidfile_create(const char *path, char *err, size_t errlen)
{
	char line[32];
	int fd, n;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd == -1) {
		snprintf(err, errlen, "cannot open pid file %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		int saved = errno;
		ssize_t r = read(fd, line, sizeof(line) - 1);

		line[r > 0 ? r : 0] = '\0';
		line[strcspn(line, "\n")] = '\0';
		if (saved == EWOULDBLOCK)
			snprintf(err, errlen, "pid file %s is held by running process %s; "
			    "is tokilake already running?", path, line[0] ? line : "(unknown)");
		else
			snprintf(err, errlen, "cannot lock pid file %s: %s", path, strerror(saved));
		close(fd);
		return -1;
	}
	n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, line, (size_t)n, 0) != n) {
		snprintf(err, errlen, "cannot write pid file %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	pid_fd = fd;
	pid_path = xstrdup(path);
	pid_owner = getpid();
	return 0;
}

/* Only the process that wrote the file removes it (a child exiting
 * through atexit handlers must not). */
void
pidfile_remove(void)
{
	if (pid_fd == -1 || getpid() != pid_owner)
		return;
	if (unlink(pid_path) == -1 && errno != ENOENT)
		log_warn("unlink %s", pid_path);
	close(pid_fd);
	pid_fd = -1;
	free(pid_path);
	pid_path = NULL;
}

void
pidfile_close_in_child(void)
{
	if (pid_fd != -1)
		close(pid_fd);
	pid_fd = -1;
}
