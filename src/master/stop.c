/*
 * stop: ending the node.
 *
 * Graceful (SIGTERM, or a configuration error no child can run): every
 * child gets SHUTDOWN graceful with the configured shutdown_timeout, the
 * master closes its copies of the listeners so the ports are released as
 * soon as the children close theirs, and children still alive
 * STOP_KILL_GRACE_MS after the timeout are killed.
 * Fast (SIGINT, SIGQUIT): SHUTDOWN fast, SIGKILL after STOP_KILL_GRACE_MS.
 * A fast stop may overtake a graceful one, never the other way round.
 * When no child is left, stop_finish() removes the pid file and
 * agentd.sock and exits with the recorded status.
 */
#include "config.h"

#include <stdlib.h>

#include "log.h"
#include "master.h"
#include "xmalloc.h"

void
master_stop(struct master *m, enum stop_mode mode, int exit_code, const char *why)
{
	uint32_t timeout = m->conf->shutdown_timeout_ms;

	if (exit_code > m->exit_code)
		m->exit_code = exit_code;
	if (m->stopping == STOP_FAST || m->stopping == mode) {
		log_info("%s: already stopping", why);
		return;
	}
	m->stopping = mode;
	if (mode == STOP_GRACEFUL)
		log_info("%s: stopping gracefully (in-flight requests get up to %ums)", why,
		    timeout);
	else
		log_info("%s: stopping now", why);

	reload_cancel(m);
	listen_close_all(&m->lis);
	for (size_t i = 0; i < m->nchildren; i++)
		child_stop(m, m->children[i], mode, timeout);
}

void
stop_finish(struct master *m)
{
	int code = m->exit_code;

	pg_shutdown();
	listen_close_all(&m->lis);
	listen_unlink_ipc(&m->lis);
	listen_free(&m->lis);
	pidfile_remove();
	for (size_t i = 0; i < m->nchildren; i++)
		child_remove(m->children[i]);
	spawn_sweep(m);
	free(m->children);
	m->children = NULL;
	m->conf = NULL;
	m->reload.conf = NULL;
	conf_gc(m);
	free(m->confs);
	m->confs = NULL;
	log_info("exiting with status %d", code);
	exit(code);
}
