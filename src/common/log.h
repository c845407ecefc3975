/*
 * log: one small logging API for every tokilake process.
 *
 * Lines go to stderr (foreground, systemd), to a file, or to syslog.
 * Each line carries the process role ("master", "worker 2", "agentd") so
 * that one stream of logs from a whole node stays readable.
 * log_warn() appends strerror(errno); the x variants do not.
 * fatal()/fatalx() log and exit(1): for our own bugs and impossible
 * states, never for bad input from a peer.
 */
#ifndef TL_LOG_H
#define TL_LOG_H

#include <stdarg.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Where lines go. file == NULL and use_syslog == 0 means stderr. */
void log_init(const char *progname, enum log_level level, int use_syslog, const char *file);
/* The role shown in every line ("master", "worker 1", "agentd"). */
void log_set_role(const char *role);
void log_set_level(enum log_level level);
/* Reopen the log file after rotation (SIGUSR1). No-op for stderr/syslog. */
void log_reopen(void);
/*
 * Buffered mode (tokiame, which logs a line per task): info and debug
 * lines are held, whole, until log_flush() (the owner calls it once per
 * loop turn) or until the buffer is full; warnings and errors flush at
 * once. Saves a write per line under load.
 */
void log_set_buffered(int on);
/* 1 if a line of this level would be written (to skip building it). */
int log_enabled(enum log_level level);
void log_flush(void);
/* Parse "error", "warn", "info", "debug"; returns -1 if unknown. */
int log_level_parse(const char *s);
const char *log_level_name(enum log_level level);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
