/*
 * master_link: agentd's end of the socketpair to the master.
 *
 * agentd says HELLO at once and READY when it serves; the master sends
 * CONFIG (answered with CONFIG_ACK), SHUTDOWN and LOG_REOPEN. EOF means
 * the master is gone: stop gracefully (PR_SET_PDEATHSIG usually gets
 * there first). The master is our own process: anything else it sends is
 * a bug, logged loudly, and agentd stops with status 1 so the master
 * starts a fresh one.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "agentd.h"
#include "log.h"
#include "netlimit.h"
#include "network.h"

static void
on_master_msg(struct ipc_conn *conn, const struct ipc_msg *msg)
{
	struct agentd *ad = conn->data;

	switch (msg->type) {
	case IPC_CONFIG:
		agentd_apply_config(ad, msg->u.config.generation, msg->u.config.path,
		    msg->u.config.yaml);
		break;
	case IPC_SHUTDOWN:
		if (msg->u.shutdown.mode == IPC_SHUTDOWN_FAST)
			agentd_stop(ad, 1, 0, "master asked for a fast stop");
		else
			agentd_stop(ad, 0, msg->u.shutdown.timeout_ms,
			    "master asked for a graceful stop");
		break;
	case IPC_LOG_REOPEN:
		log_reopen();
		break;
	case IPC_NAMESPACES:
		network_namespaces(ad, msg);
		break;
	case IPC_REMOTE_AGENTS:
		network_remote_agents(ad, msg);
		break;
	case IPC_KEY_REMOTE:
		netlimit_remote(ad, msg);
		break;
	default:
		log_warnx("master sent unexpected %s: this is a bug; stopping",
		    ipc_type_name(msg->type));
		ad->exit_code = 1;
		agentd_stop(ad, 1, 0, "IPC protocol error with the master");
		break;
	}
}

static void
on_master_close(struct ipc_conn *conn, const char *why)
{
	struct agentd *ad = conn->data;

	ad->master_open = 0;
	if (ad->state == AGENTD_RUNNING) {
		log_warnx("lost the master (%s); stopping", why);
		agentd_stop(ad, 0, ad->conf->shutdown_timeout_ms, "master is gone");
	}
}

void
agentd_master_open(struct agentd *ad, int fd)
{
	struct ipc_msg msg;

	ipc_conn_open(&ad->master, ad->loop, fd, "master", AGENTD_MASTER_OUT_MAX, on_master_msg,
	    on_master_close, ad);
	ad->master_open = 1;
	memset(&msg, 0, sizeof(msg));
	msg.type = IPC_HELLO;
	msg.u.hello.version = IPC_VERSION;
	msg.u.hello.role = IPC_ROLE_AGENTD;
	msg.u.hello.slot = 0;
	msg.u.hello.pid = (uint32_t)getpid();
	msg.u.hello.generation = ad->generation;
	agentd_master_send(ad, &msg);
}

void
agentd_master_send(struct agentd *ad, const struct ipc_msg *msg)
{
	if (!ad->master_open)
		return;
	if (ipc_conn_send(&ad->master, msg, NULL) == -1)
		log_warnx("cannot send %s to the master (queue full)", ipc_type_name(msg->type));
}

void
agentd_master_close(struct agentd *ad)
{
	if (ad->master_open)
		ipc_conn_close(&ad->master, "agentd exiting");
}
