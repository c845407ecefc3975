/* master_link: see master_link.h. */
#include "config.h"

#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include <h2o.h>

#include "ipc_sock.h"
#include "log.h"
#include "master_link.h"
#include "worker.h"

/* Only small control frames go this way. */
#define QUEUE_MAX (256 * 1024)

static struct {
	struct ipc_sock io;
	int started;
	uint64_t last_served;
	uint32_t last_active;
	int status_sent;
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
