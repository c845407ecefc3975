/*
 * workers: the connections workers open to agentd.sock.
 *
 * The listening socket was created by the master and survives agentd
 * restarts; agentd accepts as many workers as come (each worker has one
 * connection; during a reload old and new workers are connected at
 * once). A worker must say HELLO first and is answered HELLO_ACK; only
 * then does it send requests. Workers are our own processes: a malformed
 * frame or a message out of place is a bug, logged loudly, and that one
 * connection is closed (the worker reconnects).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admission.h"
#include "agentd.h"
#include "log.h"
#include "model_pages.h"
#include "usage_batch.h"
#include "xmalloc.h"

void
worker_conn_protocol_error(struct worker_conn *wc, const char *why)
{
	log_warnx("%s: IPC protocol error: %s; this is a bug; closing the connection",
	    wc->ipc.name, why);
	ipc_conn_close(&wc->ipc, why);
}

int
worker_conn_send(struct worker_conn *wc, const struct ipc_msg *msg,
    const struct ipc_encode_lists *lists)
{
	struct ipc_msg with_limits;

	/* the one way out: where an admitted request ends (and gets its
	 * rate-limit values), whether or not the worker is still there */
	msg = admission_outgoing(wc, msg, &with_limits);
	if (wc->ipc.closed || wc->ipc.closing)
		return -1;
	if (ipc_conn_send(&wc->ipc, msg, lists) == -1) {
		log_warnx("%s: output queue full (%zu bytes) or frame too big for %s; closing",
		    wc->ipc.name, wc->ipc.queue.len, ipc_type_name(msg->type));
		ipc_conn_close(&wc->ipc, "output queue full");
		return -1;
	}
	return 0;
}

static int
emit_to_worker(void *arg, const struct ipc_msg *msg, const struct ipc_encode_lists *lists)
{
	return worker_conn_send(arg, msg, lists);
}

static void
on_models_query(struct worker_conn *wc, const struct ipc_msg *msg)
{
	if (models_pages(&wc->ad->registry, msg->u.models_query.id, emit_to_worker, wc) == -1)
		log_warnx("%s: could not send the model list", wc->ipc.name);
}

static void
on_hello(struct worker_conn *wc, const struct ipc_msg *msg)
{
	struct ipc_msg ack;

	if (wc->hello) {
		worker_conn_protocol_error(wc, "second HELLO");
		return;
	}
	if (msg->u.hello.version != IPC_VERSION || msg->u.hello.role != IPC_ROLE_WORKER) {
		worker_conn_protocol_error(wc, "HELLO with another IPC version or role");
		return;
	}
	wc->hello = 1;
	wc->slot = msg->u.hello.slot;
	wc->pid = (long)msg->u.hello.pid;
	snprintf(wc->ipc.name, sizeof(wc->ipc.name), "worker %u (pid %ld)", wc->slot, wc->pid);
	log_info("%s connected (generation %llu)", wc->ipc.name,
	    (unsigned long long)msg->u.hello.generation);

	memset(&ack, 0, sizeof(ack));
	ack.type = IPC_HELLO_ACK;
	ack.u.hello_ack.version = IPC_VERSION;
	ack.u.hello_ack.generation = wc->ad->generation;
	worker_conn_send(wc, &ack, NULL);
}

static void
on_worker_msg(struct ipc_conn *conn, const struct ipc_msg *msg)
{
	struct worker_conn *wc = conn->data;

	if (msg->type == IPC_HELLO) {
		on_hello(wc, msg);
		return;
	}
	if (!wc->hello) {
		worker_conn_protocol_error(wc, "message before HELLO");
		return;
	}
	switch (msg->type) {
	case IPC_MODELS_QUERY:
		on_models_query(wc, msg);
		break;
	case IPC_REQ_START:
		agentd_request_start(wc, msg);
		break;
	case IPC_REQ_BODY:
		agentd_request_body(wc, msg);
		break;
	case IPC_CANCEL:
		agentd_request_cancel(wc, msg);
		break;
	case IPC_WINDOW:
		agentd_request_window(wc, msg);
		break;
	case IPC_USAGE:
		usage_batch_usage(wc, msg);
		break;
	default: {
		char why[64];

		snprintf(why, sizeof(why), "unexpected %s", ipc_type_name(msg->type));
		worker_conn_protocol_error(wc, why);
		break;
	}
	}
}

static void
on_worker_close(struct ipc_conn *conn, const char *why)
{
	struct worker_conn *wc = conn->data;
	struct agentd *ad = wc->ad;

	log_debug("%s disconnected: %s", conn->name, why);
	agentd_requests_conn_closed(wc);
	TAILQ_REMOVE(&ad->workers, wc, entry);
	ad->nworkers--;
	free(wc->draining);
	free(wc);
	agentd_check_done(ad);
}

static void
on_accept(h2o_socket_t *listener, const char *err)
{
	struct agentd *ad = listener->data;
	h2o_socket_t *sock;

	if (err != NULL) {
		log_warnx("agentd.sock: %s", err);
		return;
	}
	/* take every pending connection: workers come in bursts (reload) */
	while ((sock = h2o_evloop_socket_accept(listener)) != NULL) {
		struct worker_conn *wc = xcalloc(1, sizeof(*wc));

		wc->ad = ad;
		TAILQ_INSERT_TAIL(&ad->workers, wc, entry);
		ad->nworkers++;
		ipc_conn_wrap(&wc->ipc, sock, "worker (before HELLO)", AGENTD_WORKER_OUT_MAX,
		    on_worker_msg, on_worker_close, wc);
	}
}

void
worker_conns_listen(struct agentd *ad, int fd)
{
	TAILQ_INIT(&ad->workers);
	ad->worker_listener = h2o_evloop_socket_create(ad->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
	ad->worker_listener->data = ad;
	h2o_socket_read_start(ad->worker_listener, on_accept);
}

void
worker_conns_stop_accepting(struct agentd *ad)
{
	if (ad->worker_listener == NULL)
		return;
	/* our copy only: the master keeps the socket for the next agentd */
	h2o_socket_read_stop(ad->worker_listener);
	h2o_socket_close(ad->worker_listener);
	ad->worker_listener = NULL;
}

void
worker_conns_close_all(struct agentd *ad, int fast, const char *why)
{
	struct worker_conn *wc, *next;

	/* on_close frees wc (and may be called right away): fetch next first */
	for (wc = TAILQ_FIRST(&ad->workers); wc != NULL; wc = next) {
		next = TAILQ_NEXT(wc, entry);
		if (fast)
			ipc_conn_close(&wc->ipc, why);
		else if (agentd_requests_idle(wc))
			ipc_conn_close_after_flush(&wc->ipc, why);
	}
}
