/*
 * master: startup and the master's poll loop.
 *
 * Startup order matters: the config is parsed and checked (TLS files
 * too) before anything is created, the pid file is locked before any
 * port is taken, and every listener exists before the first fork, so a
 * child never opens a socket itself.
 *
 * The loop waits in poll() on the signal self-pipe and on each child's
 * socketpair, with a timeout set by the nearest timer (respawn back-off,
 * kill deadline, reload deadline). PostgreSQL's socket will join the same
 * poll set (DESIGN.md). Child entries are only freed at the top of the
 * loop (spawn_sweep), so pointers taken while building the poll set stay
 * valid through one iteration.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cfg_table.h"
#include "child.h"
#include "log.h"
#include "master.h"
#include "usage.h"
#include "xmalloc.h"

static struct master master;

struct master *
master_get(void)
{
	return &master;
}

uint64_t
master_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* "0.25s", "0.5s", "2.0s", "30.0s" */
void
fmt_seconds(char *out, size_t outlen, uint64_t ms)
{
	if (ms % 100 == 0)
		snprintf(out, outlen, "%llu.%llus", (unsigned long long)(ms / 1000),
		    (unsigned long long)(ms % 1000 / 100));
	else
		snprintf(out, outlen, "%llu.%02llus", (unsigned long long)(ms / 1000),
		    (unsigned long long)(ms % 1000 / 10));
}

void
conf_track(struct master *m, struct tl_config *conf, uint64_t generation)
{
	m->confs = xrealloc(m->confs, (m->nconfs + 1) * sizeof(*m->confs));
	m->confs[m->nconfs].conf = conf;
	m->confs[m->nconfs].generation = generation;
	m->nconfs++;
}

struct tl_config *
conf_by_generation(struct master *m, uint64_t generation)
{
	for (size_t i = 0; i < m->nconfs; i++)
		if (m->confs[i].generation == generation)
			return m->confs[i].conf;
	return NULL;
}

/* Free every config that is neither current, nor being tried, nor used by
 * a child that is still around. */
void
conf_gc(struct master *m)
{
	size_t i = 0;

	while (i < m->nconfs) {
		struct tl_config *conf = m->confs[i].conf;
		int used = conf == m->conf || conf == m->reload.conf;

		for (size_t j = 0; j < m->nchildren && !used; j++)
			if (m->children[j]->conf == conf && m->children[j]->state != CHILD_GONE)
				used = 1;
		if (used) {
			i++;
			continue;
		}
		log_debug("freeing configuration generation %llu",
		    (unsigned long long)m->confs[i].generation);
		tl_config_free(conf);
		m->confs[i] = m->confs[--m->nconfs];
	}
}

void
master_apply_log_config(const struct tl_config *conf)
{
	log_init("tokilake", (enum log_level)conf->log.level, conf->log.use_syslog, conf->log.file);
	log_set_role("master");
	usage_log_config(conf);
}

/* Errors before the node runs: logged, and on the terminal too when the
 * log goes elsewhere. */
static void __attribute__((format(printf, 2, 3)))
startup_error(const struct tl_config *conf, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s", msg);
	if (conf != NULL && (conf->log.use_syslog || conf->log.file != NULL))
		fprintf(stderr, "tokilake: %s\n", msg);
}

/* A fatal() in the master must not leave agentd.sock or the pid file; a
 * child running exit handlers must not touch them. */
static void
master_atexit(void)
{
	if (getpid() != master.pid)
		return;
	pidfile_remove();
	listen_unlink_ipc(&master.lis);
}

static void
handle_signals(struct master *m)
{
	int sig[MSIG_COUNT];

	master_signals_take(sig);
	/* stops first: a child that died of the same Ctrl-C is not respawned */
	if (sig[MSIG_INT])
		master_stop(m, STOP_FAST, 0, "SIGINT");
	if (sig[MSIG_QUIT])
		master_stop(m, STOP_FAST, 0, "SIGQUIT");
	if (sig[MSIG_TERM])
		master_stop(m, STOP_GRACEFUL, 0, "SIGTERM");
	if (sig[MSIG_CHLD])
		spawn_reap(m);
	if (sig[MSIG_HUP])
		reload_start(m);
	if (sig[MSIG_USR1]) {
		struct ipc_msg msg;

		log_reopen();
		usage_log_reopen();
		log_info("SIGUSR1: log reopened");
		memset(&msg, 0, sizeof(msg));
		msg.type = IPC_LOG_REOPEN;
		for (size_t i = 0; i < m->nchildren; i++)
			if (m->children[i]->pid > 0)
				child_ipc_send(m->children[i], &msg);
	}
}

static int
poll_timeout(const struct master *m, uint64_t now)
{
	uint64_t next = spawn_next_timer(m), pg_next = pg_next_timer();

	if (m->reload.active && (next == 0 || m->reload.deadline_ms < next))
		next = m->reload.deadline_ms;
	if (pg_next != 0 && (next == 0 || pg_next < next))
		next = pg_next;
	if (next == 0)
		return -1;
	if (next <= now)
		return 0;
	return next - now > INT_MAX ? INT_MAX : (int)(next - now);
}

static void __attribute__((noreturn))
master_loop(struct master *m)
{
	struct pollfd *pfds = NULL;
	struct child **polled = NULL;
	size_t cap = 0;

	for (;;) {
		size_t n = 1, pg_slot = 0;
		uint64_t now;
		int rv;

		spawn_sweep(m);
		/* agentd's last usage arrived just before it exited: written first */
		if (m->stopping != STOP_NONE && m->nchildren == 0 &&
		    !pg_usage_drain(master_now_ms())) {
			free(pfds);
			free(polled);
			stop_finish(m);
		}
		if (cap < m->nchildren + 2) {
			cap = m->nchildren + 8;
			pfds = xrealloc(pfds, cap * sizeof(*pfds));
			polled = xrealloc(polled, cap * sizeof(*polled));
		}
		pfds[0].fd = master_signals_fd();
		pfds[0].events = POLLIN;
		for (size_t i = 0; i < m->nchildren; i++) {
			struct child *c = m->children[i];

			if (c->ipc.fd == -1)
				continue;
			pfds[n].fd = c->ipc.fd;
			pfds[n].events = POLLIN | (child_ipc_want_write(&c->ipc) ? POLLOUT : 0);
			polled[n] = c;
			n++;
		}
		if (pg_pollfd(&pfds[n])) {
			polled[n] = NULL;
			pg_slot = n++;
		}
		rv = poll(pfds, n, poll_timeout(m, master_now_ms()));
		if (rv == -1 && errno != EINTR)
			fatal("poll");

		for (size_t i = 1; rv > 0 && i < n; i++) {
			struct child *c = polled[i];

			if (i == pg_slot) {
				pg_handle_events(pfds[i].revents);
				continue;
			}
			if (pfds[i].revents == 0 || c->ipc.fd != pfds[i].fd)
				continue;
			if ((pfds[i].revents & POLLOUT) && child_ipc_flush(c) == -1)
				child_ipc_close(&c->ipc);
			if (c->ipc.fd != -1 && (pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    child_ipc_read(m, c) == -1)
				child_ipc_close(&c->ipc);
		}
		handle_signals(m);
		now = master_now_ms();
		spawn_run_timers(m, now);
		reload_run_timer(m, now);
		pg_run_timers(now);
		node_state_update(m);
	}
}

int
master_run(const char *config_path)
{
	struct master *m = &master;
	struct tl_config *conf;
	char err[1024];
	int code;

	m->config_path = config_path;
	m->pid = getpid();
	m->lis.agent_fd = m->lis.ipc_fd = m->lis.node_fd = -1;
	log_init("tokilake", LOG_LEVEL_INFO, 0, NULL);
	log_set_role("master");

	if ((conf = tl_config_load(config_path, err, sizeof(err))) == NULL) {
		startup_error(NULL, "%s", err);
		return EXIT_CONFIG;
	}
	if (tls_check_config(conf, err, sizeof(err)) == -1) {
		startup_error(NULL, "%s", err);
		tl_config_free(conf);
		return EXIT_CONFIG;
	}
	m->conf = conf;
	m->generation = m->last_generation = 1;
	conf_track(m, conf, m->generation);
	master_apply_log_config(conf);
	atexit(master_atexit);

	if (make_runtime_dir(conf->runtime_dir, err, sizeof(err)) == -1) {
		startup_error(conf, "%s:%d: %s", conf->path, cfg_line(conf->lines, "runtime_dir"),
		    err);
		return EXIT_CONFIG;
	}
	if (conf->pid_file != NULL && pidfile_create(conf->pid_file, err, sizeof(err)) == -1) {
		startup_error(conf, "%s", err);
		return EXIT_RUNTIME;
	}
	if ((code = listen_open_all(conf, &m->lis, err, sizeof(err))) != 0) {
		startup_error(conf, "%s", err);
		return code;
	}
	if (master_signals_init() == -1)
		return EXIT_RUNTIME;

	proctitle_set("master", conf->path);
	log_info("starting tokilake %s (pid %ld) with %s: %u worker%s", PACKAGE_VERSION,
	    (long)m->pid, conf->path, conf->workers, conf->workers == 1 ? "" : "s");
	if (conf->database.url != NULL && conf->nkeys > 0)
		log_warnx("%s: keys: is not used in PostgreSQL mode (%zu key%s): API keys live in "
		    "the database, where every node finds them; make them with tokilakectl key new",
		    conf->path, conf->nkeys, conf->nkeys == 1 ? "" : "s");
	pg_init(m);
	spawn_child(m, CHILD_AGENTD, 0, m->generation, conf);
	for (unsigned i = 1; i <= conf->workers; i++)
		spawn_child(m, CHILD_WORKER, i, m->generation, conf);
	master_loop(m);
}
