/*
 * reload: SIGHUP as a transaction.
 *
 *  1. Parse the file into a NEW config object and check it the way -n
 *     does (TLS files included), then check that a reload may make the
 *     change (listeners and runtime_dir stay). Any error: log it, free
 *     the new object, change nothing.
 *  2. Fork a full set of workers of a new generation with the new config,
 *     next to the running ones (both sets accept on the same listeners).
 *  3. When every new worker has sent READY: tell every older worker to
 *     stop gracefully, send the config to agentd (CONFIG, answered by
 *     CONFIG_ACK), and make the new config current.
 *     If a new worker dies first, or they are not all READY within
 *     RELOAD_READY_TIMEOUT_MS: stop the new ones and keep serving with
 *     the old set.
 *
 * The old config object is freed by conf_gc() once no child uses it.
 * A SIGHUP during a transaction is remembered and runs when it ends.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "master.h"

void
reload_start(struct master *m)
{
	struct tl_config *conf;
	char err[1024];
	uint64_t gen;

	if (m->stopping != STOP_NONE) {
		log_info("SIGHUP ignored: the node is stopping");
		return;
	}
	if (m->reload.active) {
		log_info("SIGHUP during a reload: reloading again when this one ends");
		m->reload.again = 1;
		return;
	}
	log_info("reloading %s", m->config_path);
	if ((conf = tl_config_load(m->config_path, err, sizeof(err))) == NULL) {
		log_warnx("reload failed: %s; keeping the running configuration", err);
		return;
	}
	if (tls_check_config(conf, err, sizeof(err)) == -1 ||
	    tl_config_check_reload(m->conf, conf, err, sizeof(err)) == -1) {
		log_warnx("reload failed: %s; keeping the running configuration", err);
		tl_config_free(conf);
		return;
	}

	gen = ++m->last_generation;
	conf_track(m, conf, gen);
	m->reload.active = 1;
	m->reload.generation = gen;
	m->reload.conf = conf;
	m->reload.deadline_ms = master_now_ms() + RELOAD_READY_TIMEOUT_MS;
	log_info("reload: starting %u worker%s of generation %llu", conf->workers,
	    conf->workers == 1 ? "" : "s", (unsigned long long)gen);
	for (unsigned i = 1; i <= conf->workers; i++)
		spawn_child(m, CHILD_WORKER, i, gen, conf);
}

static void
reload_end(struct master *m)
{
	m->reload.active = 0;
	m->reload.conf = NULL;
	conf_gc(m);
	if (m->reload.again) {
		m->reload.again = 0;
		reload_start(m);
	}
}

/* Stop every child of the failed generation; the running set stays. */
static void
reload_abort(struct master *m, const char *why)
{
	uint64_t gen = m->reload.generation;

	log_warnx("reload failed: %s; keeping the running configuration (generation %llu)", why,
	    (unsigned long long)m->generation);
	for (size_t i = 0; i < m->nchildren; i++) {
		struct child *c = m->children[i];

		if (c->generation == gen && c->state != CHILD_GONE)
			child_stop(m, c, STOP_GRACEFUL, c->conf->shutdown_timeout_ms);
	}
	reload_end(m);
}

/* Every new worker serves: switch. */
static void
reload_commit(struct master *m)
{
	uint64_t gen = m->reload.generation;
	struct tl_config *conf = m->reload.conf;
	struct child *agentd;
	unsigned stopped = 0;

	for (size_t i = 0; i < m->nchildren; i++) {
		struct child *c = m->children[i];

		if (c->role != CHILD_WORKER || c->generation == gen)
			continue;
		if (c->state == CHILD_RUNNING || c->state == CHILD_WAITING) {
			if (c->state == CHILD_RUNNING)
				stopped++;
			child_stop(m, c, STOP_GRACEFUL, c->conf->shutdown_timeout_ms);
		}
	}
	m->conf = conf;
	m->generation = gen;
	master_apply_log_config(conf);

	if ((agentd = child_agentd(m)) != NULL && agentd->state == CHILD_RUNNING) {
		struct ipc_msg msg;

		memset(&msg, 0, sizeof(msg));
		msg.type = IPC_CONFIG;
		msg.u.config.generation = gen;
		msg.u.config.path.base = conf->path;
		msg.u.config.path.len = strlen(conf->path);
		msg.u.config.yaml.base = conf->text;
		msg.u.config.yaml.len = conf->text_len;
		if (child_ipc_send(agentd, &msg) == -1)
			log_warnx("reload: cannot send the configuration to agentd; restarting it");
		if (agentd->ipc.fd == -1 || agentd->ipc.out.len > CHILD_IPC_OUT_MAX / 2)
			child_kill(agentd, "it cannot receive the new configuration");
	} else if (agentd != NULL) {
		/* waiting for respawn: it will start with the new config */
		agentd->generation = gen;
		agentd->conf = conf;
	}
	log_info("reload: generation %llu serves with %u worker%s; %u old worker%s draining",
	    (unsigned long long)gen, conf->workers, conf->workers == 1 ? "" : "s", stopped,
	    stopped == 1 ? "" : "s");
	reload_end(m);
}

void
reload_child_ready(struct master *m, struct child *c)
{
	unsigned ready = 0;

	if (!m->reload.active || c->generation != m->reload.generation)
		return;
	for (size_t i = 0; i < m->nchildren; i++) {
		const struct child *w = m->children[i];

		if (w->role == CHILD_WORKER && w->generation == m->reload.generation &&
		    w->state == CHILD_RUNNING && w->ready)
			ready++;
	}
	if (ready >= m->reload.conf->workers)
		reload_commit(m);
}

void
reload_child_died(struct master *m, struct child *c, const char *how)
{
	char why[256];

	snprintf(why, sizeof(why), "new %s %s before the new configuration was serving", c->name,
	    how);
	reload_abort(m, why);
}

void
reload_run_timer(struct master *m, uint64_t now)
{
	char why[128];

	if (!m->reload.active || now < m->reload.deadline_ms)
		return;
	snprintf(why, sizeof(why), "the new workers were not all ready within %us",
	    RELOAD_READY_TIMEOUT_MS / 1000);
	reload_abort(m, why);
}

/* The node is stopping: the new set gets stopped with everything else. */
void
reload_cancel(struct master *m)
{
	if (!m->reload.active)
		return;
	log_info("reload of generation %llu cancelled: the node is stopping",
	    (unsigned long long)m->reload.generation);
	m->reload.active = 0;
	m->reload.again = 0;
	m->reload.conf = NULL;
}
