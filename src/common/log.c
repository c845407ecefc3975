/* log: see log.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/time.h>

#include "log.h"

static struct {
	char progname[32];
	char role[32];
	enum log_level level;
	int use_syslog;
	char *file;
	int fd; /* stderr or the opened file */
	pid_t pid; /* cached: getpid() is a system call on every line */
	char prefix[96];  /* " prog[pid] role ", built when one of them changes */
	size_t prefix_len;
	int buffered;
	size_t held;            /* bytes of whole lines in hold[] */
	char hold[16384];
} logstate = { .progname = "tokilake", .level = LOG_LEVEL_INFO, .fd = 2 };

/* What (v)snprintf put into room bytes, given what it returned (it
 * writes at most room - 1 and a NUL; room >= 1). */
static size_t
written(int k, size_t room)
{
	return k < 0 ? 0 : (size_t)k < room ? (size_t)k : room - 1;
}

static void
build_prefix(void)
{
	logstate.prefix_len = written(snprintf(logstate.prefix, sizeof(logstate.prefix),
	    " %s[%d] %s%s", logstate.progname, (int)logstate.pid, logstate.role,
	    logstate.role[0] ? " " : ""), sizeof(logstate.prefix));
}

static void
refresh_pid(void)
{
	logstate.pid = getpid();
	build_prefix();
	logstate.held = 0; /* the parent writes what it held, not the child */
}

int
log_enabled(enum log_level level)
{
	return level <= logstate.level;
}

static const char *const level_names[] = { "error", "warn", "info", "debug" };

const char *
log_level_name(enum log_level level)
{
	return level_names[level];
}

int
log_level_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

static void
open_file(void)
{
	int fd = open(logstate.file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1) {
		/* keep the old destination: losing logs is worse than a stale file */
		fprintf(stderr, "%s: cannot open log file %s: %s\n", logstate.progname, logstate.file,
		    strerror(errno));
		return;
	}
	if (logstate.fd > 2)
		close(logstate.fd);
	logstate.fd = fd;
}

void
log_init(const char *progname, enum log_level level, int use_syslog, const char *file)
{
	static int atfork_done;

	if (!atfork_done) {
		pthread_atfork(NULL, NULL, refresh_pid);
		atfork_done = 1;
	}
	log_flush();
	refresh_pid();
	snprintf(logstate.progname, sizeof(logstate.progname), "%s", progname);
	build_prefix();
	logstate.level = level;
	logstate.use_syslog = use_syslog;
	free(logstate.file);
	logstate.file = NULL;
	if (logstate.fd > 2)
		close(logstate.fd);
	logstate.fd = 2;
	if (use_syslog)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (file != NULL && file[0] != '\0') {
		logstate.file = strdup(file);
		if (logstate.file != NULL)
			open_file();
	}
}

void
log_set_role(const char *role)
{
	snprintf(logstate.role, sizeof(logstate.role), "%s", role);
	build_prefix();
}

void
log_set_level(enum log_level level)
{
	logstate.level = level;
}

void
log_reopen(void)
{
	log_flush();
	if (logstate.file != NULL)
		open_file();
}

void
log_set_buffered(int on)
{
	log_flush();
	logstate.buffered = on;
}

void
log_flush(void)
{
	if (logstate.held > 0 && write(logstate.fd, logstate.hold, logstate.held) < 0) {
		/* nowhere left to report it */
	}
	logstate.held = 0;
}

/*
 * "YYYY-MM-DD HH:MM:SS" changes once a second: formatted then, not on
 * every line (localtime_r and a printf of seven fields cost more than
 * the rest of a task's line).
 */
static size_t
put_time(char *dst)
{
	static time_t cached_sec = (time_t)-1;
	static char cached[64];
	struct timeval tv;
	unsigned ms;

	gettimeofday(&tv, NULL);
	if (tv.tv_sec != cached_sec) {
		struct tm tm;
		localtime_r(&tv.tv_sec, &tm);
		snprintf(cached, sizeof(cached), "%04d-%02d-%02d %02d:%02d:%02d",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		cached_sec = tv.tv_sec;
	}
	memcpy(dst, cached, 19);
	ms = (unsigned)(tv.tv_usec / 1000);
	dst[19] = '.';
	dst[20] = (char)('0' + ms / 100);
	dst[21] = (char)('0' + ms / 10 % 10);
	dst[22] = (char)('0' + ms % 10);
	return 23;
}

static void
vlog(enum log_level level, int with_errno, const char *fmt, va_list ap)
{
	int saved_errno = errno;

	if (level > logstate.level)
		return;
	if (logstate.use_syslog) {
		static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
		char msg[2048];
		size_t n = (size_t)vsnprintf(msg, sizeof(msg), fmt, ap);
		if (n >= sizeof(msg))
			n = sizeof(msg) - 1;
		if (with_errno)
			snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved_errno));
		syslog(prio[level], "%s%s%s", logstate.role, logstate.role[0] ? ": " : "", msg);
		errno = saved_errno;
		return;
	}

	/* time, then "prog[pid] role level: ", then the message, each
	 * written once, straight into the line */
	char line[2300];
	size_t len = put_time(line), room, k;

	if (logstate.prefix_len == 0) /* a line before log_init() */
		build_prefix();
	memcpy(line + len, logstate.prefix, logstate.prefix_len);
	len += logstate.prefix_len;
	k = strlen(level_names[level]);
	memcpy(line + len, level_names[level], k);
	len += k;
	line[len++] = ':';
	line[len++] = ' ';
	/* room keeps one byte for the newline */
	room = sizeof(line) - len - 1;
	len += written(vsnprintf(line + len, room, fmt, ap), room);
	if (with_errno) {
		room = sizeof(line) - len - 1;
		len += written(snprintf(line + len, room, ": %s", strerror(saved_errno)), room);
	}
	line[len++] = '\n';
	/* buffered: whole lines, written in one go by log_flush(); a
	 * warning or error goes out at once with what came before it */
	if (logstate.buffered && level >= LOG_LEVEL_INFO) {
		if (logstate.held + len > sizeof(logstate.hold))
			log_flush();
		memcpy(logstate.hold + logstate.held, line, len);
		logstate.held += len;
		errno = saved_errno;
		return;
	}
	log_flush();
	/* one write per line keeps lines of concurrent processes whole */
	if (write(logstate.fd, line, len) < 0) {
		/* nowhere left to report it */
	}
	errno = saved_errno;
}

#define DEFINE_LOG(name, level, with_errno)                     \
	void name(const char *fmt, ...)                         \
	{                                                       \
		va_list ap;                                     \
		va_start(ap, fmt);                              \
		vlog(level, with_errno, fmt, ap);               \
		va_end(ap);                                     \
	}
DEFINE_LOG(log_warn, LOG_LEVEL_WARN, 1)
DEFINE_LOG(log_warnx, LOG_LEVEL_WARN, 0)
DEFINE_LOG(log_info, LOG_LEVEL_INFO, 0)
DEFINE_LOG(log_debug, LOG_LEVEL_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
