/*
 * agentd: entry point, configuration swaps and stopping (see agentd.h).
 *
 * Start: say HELLO to the master, accept workers on agentd.sock, hand the
 * agent listener to the link code, say READY.
 * Reload: the master sends the config it validated (CONFIG); agentd
 * parses it into a new object and swaps it in, or keeps the old one and
 * says why in CONFIG_ACK.
 * Stop, graceful (SIGTERM, SHUTDOWN graceful, master gone): send every
 * linked agent Control.Drain (one linked to other nodes too moves its
 * new traffic there), stop accepting workers and agents, close each worker connection once it has
 * nothing in flight and its output is written, and exit 0 when none is
 * left or the timeout ends. Fast (SIGINT, SIGQUIT, SHUTDOWN fast): close
 * everything now and exit 0.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admission.h"
#include "agentd.h"
#include "forward.h"
#include "hold.h"
#include "queue.h"
#include "link.h"
#include "log.h"
#include "network.h"
#include "netlimit.h"
#include "route_state.h"
#include "usage_batch.h"
#include "xmalloc.h"

static void
on_stop_timeout(h2o_timeout_entry_t *entry)
{
	struct agentd *ad = H2O_STRUCT_FROM_MEMBER(struct agentd, stop_entry, entry);

	log_warnx("shutdown timeout: closing %zu worker connection%s", ad->nworkers,
	    ad->nworkers == 1 ? "" : "s");
	ad->state = AGENTD_DONE;
	worker_conns_close_all(ad, 1, "shutdown timeout");
}

void
agentd_check_done(struct agentd *ad)
{
	if (ad->state == AGENTD_DRAINING && ad->nworkers == 0)
		ad->state = AGENTD_DONE;
}

void
agentd_stop(struct agentd *ad, int fast, uint32_t timeout_ms, const char *why)
{
	if (ad->state == AGENTD_DONE || (!fast && ad->state == AGENTD_DRAINING))
		return;
	log_info("%s: %s", why, fast || timeout_ms == 0 ? "stopping now" : "stopping gracefully");
	if (!fast && timeout_ms != 0) {
		/* first, while nothing is closed yet: an agent with a link to
		 * another node moves its new traffic there at once */
		size_t n = link_server_drain_all("node is shutting down");
		if (n > 0)
			log_info("asked %zu agent%s to drain", n, n == 1 ? "" : "s");
	}
	worker_conns_stop_accepting(ad);
	agent_listener_stop(ad);
	if (fast || timeout_ms == 0) {
		ad->state = AGENTD_DONE;
		worker_conns_close_all(ad, 1, why);
		return;
	}
	ad->state = AGENTD_DRAINING;
	h2o_timeout_init(ad->loop, &ad->stop_timeout, timeout_ms);
	ad->stop_entry.cb = on_stop_timeout;
	h2o_timeout_link(ad->loop, &ad->stop_timeout, &ad->stop_entry);
	ad->stop_timer_armed = 1;
	/* workers drain their clients at the same time and may still relay
	 * requests meanwhile: agentd serves them until they hang up */
	agentd_check_done(ad);
}

void
agentd_apply_config(struct agentd *ad, uint64_t generation, struct ipc_str path,
    struct ipc_str yaml)
{
	struct tl_config *conf;
	struct ipc_msg ack;
	char err[1024];
	char *p = xstrndup(path.base, path.len);
	char *text = xstrndup(yaml.base, yaml.len);

	conf = tl_config_parse(p, text, yaml.len, err, sizeof(err));
	free(text);
	free(p);

	memset(&ack, 0, sizeof(ack));
	ack.type = IPC_CONFIG_ACK;
	ack.u.config_ack.generation = generation;
	if (conf == NULL) {
		log_warnx("configuration generation %llu rejected: %s; keeping generation %llu",
		    (unsigned long long)generation, err, (unsigned long long)ad->generation);
		ack.u.config_ack.ok = 0;
		ack.u.config_ack.error.base = err;
		ack.u.config_ack.error.len = strlen(err);
		agentd_master_send(ad, &ack);
		return;
	}
	{
		struct tl_config *old = ad->conf;
		int old_owned = ad->conf_owned;

		/* PostgreSQL mode: the database's namespaces, not the file's */
		network_prepare_config(ad, conf);
		ad->conf = conf;
		ad->conf_owned = 1;
		/* links switch to the new limits and drop revoked tokens now */
		link_server_reconfigure(conf);
		if (old_owned)
			tl_config_free(old);
	}
	ad->generation = generation;
	log_init("tokilake", (enum log_level)conf->log.level, conf->log.use_syslog, conf->log.file);
	log_info("applied configuration generation %llu", (unsigned long long)generation);
	ack.u.config_ack.ok = 1;
	agentd_master_send(ad, &ack);
}

/* the router asks the link whether a local agent should get a task now */
static int
local_agent_usable(struct reg_agent *agent)
{
	return link_agent_usable(agent->link);
}

/* The last records go to the master before the link closes: a few loop
 * turns while the master reads (it does, unless it is gone). */
static void
usage_flush_at_exit(struct agentd *ad)
{
	for (int i = 0; i < 40 && ad->master_open; i++) {
		usage_batch_flush();
		if (usage_batch_held() == 0 && ipc_conn_flushed(&ad->master))
			break;
		h2o_evloop_run(ad->loop, 50);
	}
	usage_batch_free();
}

int
agentd_main(struct child_ctx *ctx)
{
	struct agentd ad;
	struct ipc_msg msg;

	memset(&ad, 0, sizeof(ad));
	ad.ctx = ctx;
	/* inherited through fork: ours to read, never to free */
	ad.conf = (struct tl_config *)(uintptr_t)ctx->conf;
	ad.generation = ctx->generation;
	ad.loop = h2o_evloop_create();
	ipc_conns_init(ad.loop);
	registry_init(&ad.registry);
	ad.registry.usable = local_agent_usable;
	TAILQ_INIT(&ad.workers);
	network_init(&ad);
	hold_init(&ad); /* the relink grace counts from the start */
	queue_init(&ad);
	usage_batch_init(&ad);
	netlimit_init(&ad);
	route_state_init(&ad);

	if (agentd_signals_init(&ad) == -1)
		return 1;
	agentd_master_open(&ad, ctx->master_fd);
	worker_conns_listen(&ad, ctx->ipc_listen_fd);
	if (agent_listener_start(&ad, ctx->agent_fd) == -1) {
		ad.exit_code = EXIT_CONFIG;
		ad.state = AGENTD_DONE;
	} else {
		memset(&msg, 0, sizeof(msg));
		msg.type = IPC_READY;
		msg.u.ready.generation = ad.generation;
		agentd_master_send(&ad, &msg);
		log_info("serving workers on %s", ctx->agentd_path);
	}

	while (ad.state != AGENTD_DONE)
		h2o_evloop_run(ad.loop, INT32_MAX);

	if (ad.stop_timer_armed) {
		if (h2o_timeout_is_linked(&ad.stop_entry))
			h2o_timeout_unlink(&ad.stop_entry);
		h2o_timeout_dispose(ad.loop, &ad.stop_timeout);
	}
	worker_conns_stop_accepting(&ad);
	agent_listener_stop(&ad);
	link_server_destroy();
	forward_shutdown();
	worker_conns_close_all(&ad, 1, "agentd exiting");
	hold_free();
	queue_free();
	netlimit_free();
	route_state_free();
	usage_flush_at_exit(&ad);
	agentd_master_close(&ad);
	ipc_conns_dispose();
	agentd_signals_close();
	h2o_evloop_run(ad.loop, 0); /* let h2o free the closed sockets */
	h2o_evloop_destroy(ad.loop);
	registry_clear(&ad.registry);
	admission_free(&ad); /* after every worker connection is closed */
	network_free();
	if (ad.conf_owned)
		tl_config_free(ad.conf);
	log_info("exiting with status %d", ad.exit_code);
	return ad.exit_code;
}
