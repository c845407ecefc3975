/*
 * spawn: the master's table of children, their birth and death.
 *
 * Each entry is one role instance (worker N of generation G, or agentd)
 * and survives the process it describes: when a child dies, its entry
 * decides what happens next.
 *
 * Respawn policy, in order:
 *   - the node is stopping, or the child was told to stop: forget it;
 *   - it is a new worker of a reload still in progress: the reload fails
 *     (reload.c), the running generation keeps serving;
 *   - it exited with EXIT_CONFIG (2): its configuration cannot work, so
 *     respawning would only loop. It is not respawned; if it was agentd or
 *     no worker remains, the node stops with exit status 2;
 *   - otherwise it is respawned. A child that served at least
 *     RESPAWN_HEALTHY_MS after READY comes back at once and its back-off
 *     is reset. One that died before READY, or less than
 *     RESPAWN_HEALTHY_MS after it, is probably crashing in a loop: it
 *     comes back after a delay that starts at RESPAWN_BACKOFF_MIN_MS and
 *     doubles up to RESPAWN_BACKOFF_MAX_MS.
 *
 * In a new child, before its role's *_main() runs: die with the master
 * (PR_SET_PDEATHSIG, and a check that the master did not die already),
 * default signal handlers, and close every descriptor that belongs to the
 * master or to another role, so nothing leaks into the child.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "child.h"
#include "log.h"
#include "master.h"
#include "usage.h"
#include "xmalloc.h"

static int
set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	return flags == -1 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static struct child *
child_new(struct master *m, enum child_role role, unsigned slot, uint64_t generation,
    struct tl_config *conf)
{
	struct child *c = xcalloc(1, sizeof(*c));

	c->role = role;
	c->slot = slot;
	c->generation = generation;
	c->conf = conf;
	c->state = CHILD_WAITING;
	c->ipc.fd = -1;
	if (role == CHILD_WORKER)
		snprintf(c->name, sizeof(c->name), "worker %u", slot);
	else
		snprintf(c->name, sizeof(c->name), "agentd");
	m->children = xrealloc(m->children, (m->nchildren + 1) * sizeof(*m->children));
	m->children[m->nchildren++] = c;
	return c;
}

/* The forked child: set it up and run its role. Never returns. */
static void __attribute__((noreturn))
child_enter(struct master *m, struct child *self, int fd, const void *oldset)
{
	struct child_ctx ctx;
	const struct tl_config *conf = self->conf;
	int rc;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != m->pid)
		_exit(0); /* the master died before prctl: do not run orphaned */
	master_signals_reset_in_child(oldset);

	/* descriptors of the master and of the other children */
	pidfile_close_in_child();
	for (size_t i = 0; i < m->nchildren; i++)
		if (m->children[i]->ipc.fd != -1)
			close(m->children[i]->ipc.fd);
	if (self->role == CHILD_WORKER) {
		close(m->lis.agent_fd);
		close(m->lis.ipc_fd);
	} else {
		for (size_t i = 0; i < m->lis.nhttp; i++)
			close(m->lis.http_fds[i]);
		if (m->lis.node_fd != -1)
			close(m->lis.node_fd);
	}
	pg_close_in_child(m);
	usage_log_close(); /* the master's file */

	log_init("tokilake", (enum log_level)conf->log.level, conf->log.use_syslog, conf->log.file);
	log_set_role(self->name);
	proctitle_set(self->name, conf->path);

	memset(&ctx, 0, sizeof(ctx));
	ctx.conf = conf;
	ctx.generation = self->generation;
	ctx.slot = self->slot;
	ctx.master_fd = fd;
	ctx.agentd_path = m->lis.ipc_path;
	if (self->role == CHILD_WORKER) {
		ctx.http_fds = m->lis.http_fds;
		ctx.nhttp_fds = m->lis.nhttp;
		ctx.agent_fd = -1;
		ctx.ipc_listen_fd = -1;
		ctx.node_fd = m->lis.node_fd;
		rc = worker_main(&ctx);
	} else {
		ctx.http_fds = NULL;
		ctx.nhttp_fds = 0;
		ctx.agent_fd = m->lis.agent_fd;
		ctx.ipc_listen_fd = m->lis.ipc_fd;
		ctx.node_fd = -1;
		rc = agentd_main(&ctx);
	}
#ifdef __SANITIZE_ADDRESS__
	/* sanitizer builds: let LeakSanitizer check the child at exit (stdio
	 * was flushed before fork, the master's exit handlers check the pid) */
	exit(rc);
#else
	_exit(rc);
#endif
}

/* Fork the process of an entry. On failure the entry waits with back-off. */
static void
child_start(struct master *m, struct child *c)
{
	sigset_t oldset;
	int sv[2];
	pid_t pid;

	c->hello = c->ready = 0;
	c->ready_ms = 0;
	c->served = 0;
	c->active = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("%s: socketpair", c->name);
		goto retry;
	}
	fflush(NULL); /* nothing buffered may be written twice */
	master_signals_block_all(&oldset);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		child_enter(m, c, sv[1], &oldset);
	}
	master_signals_restore(&oldset);
	close(sv[1]);
	if (pid == -1) {
		log_warn("%s: fork", c->name);
		close(sv[0]);
		goto retry;
	}
	if (set_nonblock(sv[0]) == -1)
		log_warn("%s: O_NONBLOCK", c->name);
	child_ipc_init(&c->ipc, sv[0]);
	c->pid = pid;
	c->state = CHILD_RUNNING;
	c->started_ms = master_now_ms();
	log_info("started %s (pid %ld, generation %llu)", c->name, (long)pid,
	    (unsigned long long)c->generation);
	return;
retry:
	c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : RESPAWN_BACKOFF_MIN_MS;
	if (c->backoff_ms > RESPAWN_BACKOFF_MAX_MS)
		c->backoff_ms = RESPAWN_BACKOFF_MAX_MS;
	c->state = CHILD_WAITING;
	c->respawn_at = master_now_ms() + c->backoff_ms;
}

struct child *
spawn_child(struct master *m, enum child_role role, unsigned slot, uint64_t generation,
    struct tl_config *conf)
{
	struct child *c = child_new(m, role, slot, generation, conf);

	child_start(m, c);
	return c;
}

/* Tell a child to stop; fall back to a signal if it cannot hear us. */
void
child_stop(struct master *m, struct child *c, enum stop_mode mode, uint32_t timeout_ms)
{
	struct ipc_msg msg;
	uint64_t kill_at;

	if (c->state == CHILD_WAITING) {
		child_remove(c);
		return;
	}
	if (c->state != CHILD_RUNNING && c->state != CHILD_STOPPING)
		return;
	memset(&msg, 0, sizeof(msg));
	msg.type = IPC_SHUTDOWN;
	msg.u.shutdown.mode = mode == STOP_FAST ? IPC_SHUTDOWN_FAST : IPC_SHUTDOWN_GRACEFUL;
	msg.u.shutdown.timeout_ms = mode == STOP_FAST ? 0 : timeout_ms;
	if (child_ipc_send(c, &msg) == -1)
		kill(c->pid, mode == STOP_FAST ? SIGQUIT : SIGTERM);
	kill_at = master_now_ms() + (mode == STOP_FAST ? 0 : timeout_ms) + STOP_KILL_GRACE_MS;
	if (c->state != CHILD_STOPPING || kill_at < c->kill_at)
		c->kill_at = kill_at;
	c->state = CHILD_STOPPING;
	(void)m;
}

/* For our own bugs (bad frames, protocol errors): the reaper decides
 * whether it comes back. */
void
child_kill(struct child *c, const char *why)
{
	if (c->pid > 0) {
		log_warnx("killing %s (pid %ld): %s", c->name, (long)c->pid, why);
		kill(c->pid, SIGKILL);
	}
	child_ipc_close(&c->ipc);
}

/* Forget an entry; spawn_sweep() frees it outside any loop over the table. */
void
child_remove(struct child *c)
{
	child_ipc_close(&c->ipc);
	c->state = CHILD_GONE;
	c->pid = 0;
}

void
spawn_sweep(struct master *m)
{
	size_t i = 0, removed = 0;

	while (i < m->nchildren) {
		struct child *c = m->children[i];

		if (c->state != CHILD_GONE) {
			i++;
			continue;
		}
		child_ipc_close(&c->ipc);
		free(c);
		memmove(&m->children[i], &m->children[i + 1],
		    (m->nchildren - i - 1) * sizeof(*m->children));
		m->nchildren--;
		removed++;
	}
	if (removed)
		conf_gc(m);
}

size_t
children_alive(const struct master *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->nchildren; i++)
		if (m->children[i]->pid > 0)
			n++;
	return n;
}

struct child *
child_agentd(struct master *m)
{
	for (size_t i = 0; i < m->nchildren; i++)
		if (m->children[i]->role == CHILD_AGENTD && m->children[i]->state != CHILD_GONE &&
		    m->children[i]->state != CHILD_STOPPING)
			return m->children[i];
	return NULL;
}

/* Workers of the current generation that serve or will be respawned. */
static size_t
workers_remaining(const struct master *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->nchildren; i++) {
		const struct child *c = m->children[i];

		if (c->role == CHILD_WORKER && c->generation == m->generation &&
		    (c->state == CHILD_RUNNING || c->state == CHILD_WAITING))
			n++;
	}
	return n;
}

static void
describe_status(char *out, size_t outlen, int status)
{
	if (WIFEXITED(status))
		snprintf(out, outlen, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, outlen, "killed by signal %d (%s)%s", WTERMSIG(status),
		    strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(out, outlen, "ended with wait status %#x", status);
}

/* Decide what a dead child's entry becomes (see the policy at the top). */
static void
child_died(struct master *m, struct child *c, int status)
{
	char how[128], delay[32];
	uint64_t now = master_now_ms();
	int clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	int stopping = c->state == CHILD_STOPPING || m->stopping != STOP_NONE;

	describe_status(how, sizeof(how), status);
	if (stopping && clean)
		log_info("%s (pid %ld, generation %llu) stopped", c->name, (long)c->pid,
		    (unsigned long long)c->generation);
	else
		log_warnx("%s (pid %ld, generation %llu) %s%s", c->name, (long)c->pid,
		    (unsigned long long)c->generation, how, stopping ? " while stopping" : "");
	child_ipc_close(&c->ipc);
	c->pid = 0;

	if (stopping) {
		child_remove(c);
		return;
	}
	if (m->reload.active && c->generation == m->reload.generation) {
		child_remove(c);
		reload_child_died(m, c, how);
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_CONFIG) {
		log_warnx("%s cannot apply the configuration (exit status %d); not respawning it",
		    c->name, EXIT_CONFIG);
		child_remove(c);
		if (c->role == CHILD_AGENTD)
			master_stop(m, STOP_GRACEFUL, EXIT_CONFIG,
			    "agentd has a configuration error");
		else if (workers_remaining(m) == 0)
			master_stop(m, STOP_GRACEFUL, EXIT_CONFIG,
			    "no worker can run this configuration");
		return;
	}

	/* respawn: agentd follows the current config; workers of the current
	 * generation have it already */
	c->generation = m->generation;
	c->conf = m->conf;
	c->state = CHILD_WAITING;
	if (c->ready && now - c->ready_ms >= RESPAWN_HEALTHY_MS) {
		log_info("respawning %s now", c->name);
		c->backoff_ms = 0;
		c->respawn_at = now;
		return;
	}
	c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : RESPAWN_BACKOFF_MIN_MS;
	if (c->backoff_ms > RESPAWN_BACKOFF_MAX_MS)
		c->backoff_ms = RESPAWN_BACKOFF_MAX_MS;
	c->respawn_at = now + c->backoff_ms;
	fmt_seconds(delay, sizeof(delay), c->backoff_ms);
	if (!c->ready)
		log_warnx("%s died before serving; respawning in %s (crash loop?)", c->name, delay);
	else
		log_warnx("%s died %llums after it started serving; respawning in %s (crash loop?)",
		    c->name, (unsigned long long)(now - c->ready_ms), delay);
}

/* SIGCHLD: collect every dead child. */
void
spawn_reap(struct master *m)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		struct child *c = NULL;

		if (pid == 0)
			return;
		if (pid == -1) {
			if (errno == EINTR)
				continue;
			if (errno != ECHILD)
				log_warn("waitpid");
			return;
		}
		for (size_t i = 0; i < m->nchildren; i++)
			if (m->children[i]->pid == pid && m->children[i]->state != CHILD_GONE) {
				c = m->children[i];
				break;
			}
		if (c == NULL)
			log_debug("reaped unknown process %ld", (long)pid);
		else
			child_died(m, c, status);
	}
}

void
spawn_run_timers(struct master *m, uint64_t now)
{
	for (size_t i = 0; i < m->nchildren; i++) {
		struct child *c = m->children[i];

		if (c->state == CHILD_WAITING && c->respawn_at <= now && m->stopping == STOP_NONE)
			child_start(m, c);
		else if (c->state == CHILD_STOPPING && c->pid > 0 && c->kill_at != 0 &&
		    c->kill_at <= now) {
			log_warnx("%s (pid %ld) still running after its shutdown timeout; "
			    "killing it", c->name, (long)c->pid);
			kill(c->pid, SIGKILL);
			c->kill_at = 0;
		}
	}
}

/* Earliest respawn or kill deadline; 0 if none. */
uint64_t
spawn_next_timer(const struct master *m)
{
	uint64_t next = 0;

	for (size_t i = 0; i < m->nchildren; i++) {
		const struct child *c = m->children[i];
		uint64_t t = 0;

		if (c->state == CHILD_WAITING)
			t = c->respawn_at;
		else if (c->state == CHILD_STOPPING && c->pid > 0 && c->kill_at != 0)
			t = c->kill_at;
		if (t != 0 && (next == 0 || t < next))
			next = t;
	}
	return next;
}
