/*
 * status: what children tell the master, and what it means for
 * supervision. Every report carries the generation of the child that sent
 * it, so a report from a child of an older config is never mistaken for
 * one from the current set (a READY from an aborted reload's worker, say).
 * A message a child should never send is our bug: the child is killed
 * and the respawn policy brings a fresh one.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "master.h"
#include "pg.h"
#include "usage.h"

static void
protocol_error(struct child *c, const char *why)
{
	log_warnx("%s (pid %ld): IPC protocol error: %s; this is a bug", c->name, (long)c->pid,
	    why);
	child_kill(c, why);
}

static void
on_hello(struct master *m, struct child *c, const struct ipc_msg *msg)
{
	uint8_t want_role = c->role == CHILD_WORKER ? IPC_ROLE_WORKER : IPC_ROLE_AGENTD;

	if (msg->u.hello.version != IPC_VERSION) {
		protocol_error(c, "HELLO with another IPC version");
		return;
	}
	if (c->hello || msg->u.hello.role != want_role || msg->u.hello.slot != c->slot ||
	    msg->u.hello.pid != (uint32_t)c->pid || msg->u.hello.generation != c->generation) {
		protocol_error(c, "HELLO does not match the process the master started");
		return;
	}
	c->hello = 1;
	log_debug("%s (pid %ld) said hello", c->name, (long)c->pid);
	if (c->role == CHILD_AGENTD)
		pg_agentd_started(m, c);
	else {
		node_state_send(c);
		pg_keys_worker_started(m, c);
	}
}

static void
on_ready(struct master *m, struct child *c, const struct ipc_msg *msg)
{
	if (!c->hello) {
		protocol_error(c, "READY before HELLO");
		return;
	}
	if (msg->u.ready.generation != c->generation) {
		log_warnx("%s (pid %ld): READY for generation %llu, expected %llu; ignored",
		    c->name, (long)c->pid, (unsigned long long)msg->u.ready.generation,
		    (unsigned long long)c->generation);
		return;
	}
	if (c->ready)
		return;
	c->ready = 1;
	c->ready_ms = master_now_ms();
	log_info("%s (pid %ld, generation %llu) is ready", c->name, (long)c->pid,
	    (unsigned long long)c->generation);
	if (c->state != CHILD_RUNNING)
		return;
	reload_child_ready(m, c);
	master_status_check_ready(m);
}

static void
on_config_ack(struct master *m, struct child *c, const struct ipc_msg *msg)
{
	uint64_t gen = msg->u.config_ack.generation;
	struct tl_config *conf;

	if (c->role != CHILD_AGENTD) {
		protocol_error(c, "CONFIG_ACK from a worker");
		return;
	}
	if (!msg->u.config_ack.ok) {
		log_warnx("agentd (pid %ld) could not apply configuration generation %llu: "
		    "%.*s; it keeps generation %llu", (long)c->pid, (unsigned long long)gen,
		    (int)msg->u.config_ack.error.len, msg->u.config_ack.error.base,
		    (unsigned long long)c->generation);
		return;
	}
	if ((conf = conf_by_generation(m, gen)) == NULL || gen < c->generation) {
		log_debug("agentd: stale CONFIG_ACK for generation %llu", (unsigned long long)gen);
		return;
	}
	log_info("agentd (pid %ld) applied configuration generation %llu", (long)c->pid,
	    (unsigned long long)gen);
	c->generation = gen;
	c->conf = conf;
	conf_gc(m);
}

void
master_status_message(struct master *m, struct child *c, const struct ipc_msg *msg)
{
	switch (msg->type) {
	case IPC_HELLO:
		on_hello(m, c, msg);
		break;
	case IPC_READY:
		on_ready(m, c, msg);
		break;
	case IPC_CONFIG_ACK:
		on_config_ack(m, c, msg);
		break;
	case IPC_STATUS:
		c->served = msg->u.status.served;
		c->active = msg->u.status.active;
		break;
	case IPC_AGENT_UP:
	case IPC_AGENT_MODELS:
	case IPC_AGENT_DOWN:
	case IPC_AGENT_STATE:
		if (c->role != CHILD_AGENTD) {
			protocol_error(c, "agent report from a worker");
			break;
		}
		pg_child_message(m, c, msg);
		break;
	case IPC_USAGE_BATCH:
		if (c->role != CHILD_AGENTD) {
			protocol_error(c, "usage batch from a worker");
			break;
		}
		usage_batch_message(m, msg);
		break;
	case IPC_KEY_LOAD:
		if (c->role != CHILD_AGENTD) {
			protocol_error(c, "key load from a worker");
			break;
		}
		pg_keyload_report(m, msg);
		break;
	default: {
		char why[64];

		snprintf(why, sizeof(why), "unexpected message %s", ipc_type_name(msg->type));
		protocol_error(c, why);
		break;
	}
	}
}

/*
 * Say once that the node serves: every worker of the first generation
 * and agentd have sent READY.
 */
void
master_status_check_ready(struct master *m)
{
	char where[1024];
	unsigned workers = 0;
	int agentd = 0;

	if (m->announced_ready || m->stopping != STOP_NONE)
		return;
	for (size_t i = 0; i < m->nchildren; i++) {
		const struct child *c = m->children[i];

		if (c->state != CHILD_RUNNING || !c->ready)
			continue;
		if (c->role == CHILD_AGENTD)
			agentd = 1;
		else if (c->generation == m->generation)
			workers++;
	}
	if (!agentd || workers < m->conf->workers)
		return;
	m->announced_ready = 1;
	listen_describe(m->conf, where, sizeof(where));
	log_info("ready: %u worker%s, agentd, listening on %s", workers, workers == 1 ? "" : "s",
	    where);
}
