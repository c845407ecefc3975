/* master_link: see master_link.h. */
#include "config.h"

#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include <h2o.h>

#include "ipc_sock.h"
#include "log.h"
#include "master_link.h"
#include "oai_error.h"
#include "worker.h"

/* Only small control frames go this way. */
#define QUEUE_MAX (256 * 1024)

static struct {
	struct ipc_sock io;
	int started;
	uint64_t last_served;
	uint32_t last_active;
	int status_sent;
	struct wk_node_state state;
} M;

static void
send_msg(const struct ipc_msg *msg)
{
	if (wk_ipc_sock_send(&M.io, msg, NULL) != 0 && M.io.sock != NULL)
		log_warnx("master link queue full: %s dropped", ipc_type_name(msg->type));
}

static void
on_msg(struct ipc_sock *io, const struct ipc_msg *msg)
{
	switch (msg->type) {
	case IPC_SHUTDOWN:
		if (msg->u.shutdown.mode == IPC_SHUTDOWN_FAST)
			wk_stop_now("fast shutdown requested by the master");
		else
			wk_begin_drain(msg->u.shutdown.timeout_ms, "graceful shutdown requested by the master");
		break;
	case IPC_LOG_REOPEN:
		log_reopen();
		log_info("log file reopened");
		break;
	case IPC_NODE_STATE:
		M.state.known = 1;
		M.state.database = msg->u.node_state.database;
		M.state.snapshot = msg->u.node_state.snapshot;
		M.state.name = msg->u.node_state.name;
		M.state.since = msg->u.node_state.since;
		break;
	default:
		/* CONFIG is for agentd; anything else is a master bug */
		log_warnx("master sent an unexpected %s to a worker: ignored", ipc_type_name(msg->type));
		break;
	}
}

static void
on_close(struct ipc_sock *io, const char *why)
{
	if (why == wk_ipc_sock_eof) {
		wk_begin_drain(0, "the master is gone");
		return;
	}
	/* a bad frame or an I/O error on a socketpair: our own bug */
	log_warnx("master link failed: %s; stopping", why);
	wk_begin_drain(0, "the master link failed");
}

void
wk_master_start(void)
{
	struct ipc_msg m;

	wk_ipc_sock_init(&M.io, "master", QUEUE_MAX, &wk.ctx.zero_timeout);
	M.io.on_msg = on_msg;
	M.io.on_close = on_close;
	wk_ipc_sock_attach(&M.io, h2o_evloop_socket_create(wk.loop, wk.cctx->master_fd, 0));
	M.started = 1;

	memset(&m, 0, sizeof(m));
	m.type = IPC_HELLO;
	m.u.hello.version = IPC_VERSION;
	m.u.hello.role = IPC_ROLE_WORKER;
	m.u.hello.slot = wk.cctx->slot;
	m.u.hello.pid = (uint32_t)getpid();
	m.u.hello.generation = wk.cctx->generation;
	send_msg(&m);
}

void
wk_master_ready(void)
{
	struct ipc_msg m;

	memset(&m, 0, sizeof(m));
	m.type = IPC_READY;
	m.u.ready.generation = wk.cctx->generation;
	send_msg(&m);
}

void
wk_master_status(void)
{
	struct ipc_msg m;

	if (M.status_sent && M.last_served == wk.served && M.last_active == wk.active)
		return;
	memset(&m, 0, sizeof(m));
	m.type = IPC_STATUS;
	m.u.status.served = wk.served;
	m.u.status.active = wk.active;
	send_msg(&m);
	M.last_served = wk.served;
	M.last_active = wk.active;
	M.status_sent = 1;
}

void
wk_master_stop(void)
{
	if (!M.started)
		return;
	M.started = 0;
	wk_ipc_sock_free(&M.io);
}

const struct wk_node_state *
wk_master_node_state(void)
{
	return &M.state;
}

/*
 * A node in PostgreSQL mode that never loaded a snapshot has no namespace
 * tokens and no other node's agents: nothing it says about models is
 * true. A node whose name another instance holds is unknown to the
 * network. One serving from an old snapshot while reconnecting can serve.
 */
static const char *
no_snapshot(void)
{
	/* PostgreSQL mode, before the master's first NODE_STATE: a worker
	 * just started knows nothing yet, and must not say "ok" */
	if (!M.state.known)
		return wk.conf->database.url != NULL ?
		    "starting: the node's database state is not known yet" : NULL;
	if (M.state.database == IPC_DB_STANDALONE || M.state.snapshot)
		return NULL;
	return M.state.database == IPC_DB_CONNECTED ?
	    "no database snapshot yet: loading it from PostgreSQL" :
	    "no database snapshot yet: cannot reach PostgreSQL";
}

const char *
wk_node_unavailable(void)
{
	if (M.state.known && M.state.database != IPC_DB_STANDALONE &&
	    M.state.name == IPC_NAME_LOST)
		return "node.name held by another instance";
	return no_snapshot();
}

int
wk_node_refuse_models(h2o_req_t *req)
{
	const char *why = no_snapshot();

	if (why == NULL)
		return 0;
	wk_oai_send_error(req, 503, "service_unavailable", NULL, "node_unavailable",
	    "this node cannot serve models yet (%s); retry, or use another node", why);
	return 1;
}
