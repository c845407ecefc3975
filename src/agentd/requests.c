/*
 * requests: what agentd does with a worker's request for a model.
 *
 *   unknown namespace (not in the config)       -> 404 model_not_found
 *   namespace known, no agent of it linked:
 *     within agents.relink_grace of agentd's start -> held until one links
 *                                                  (hold.c), then as below
 *     else                                      -> 503 no_agent
 *   agents linked, none publishes the model     -> 404 model_not_found
 *   every replica at capacity, or others wait   -> the model's queue
 *                                                  (queue.c), then as below
 *   otherwise the router (route.h) picks a replica and relay.c hands it to
 *   its link
 *
 * Before any of it, admission.c applies the key's limits (429).
 *
 * A request agentd failed may still have body chunks on the way (the
 * worker sends REQ_START and the body without waiting): their ids are
 * remembered until the last chunk or a CANCEL, so those chunks are
 * dropped quietly. CANCEL or WINDOW for an id agentd no longer knows is
 * the normal race with an answer already sent, and is ignored.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "admission.h"
#include "agentd.h"
#include "hold.h"
#include "log.h"
#include "queue.h"
#include "route.h"
#include "xmalloc.h"

void
agentd_request_fail(struct worker_conn *wc, const struct ipc_msg *req, uint16_t status, const char *type,
    const char *code, const char *message)
{
	agentd_request_fail_lists(wc, req, status, type, code, message, NULL,
	    (struct ipc_str){ NULL, 0 });
}

void
agentd_request_fail_lists(struct worker_conn *wc, const struct ipc_msg *req, uint16_t status,
    const char *type, const char *code, const char *message, const struct ipc_encode_lists *lists,
    struct ipc_str ratelimit)
{
	struct ipc_msg msg;
	uint64_t id = req->u.req_start.id;

	memset(&msg, 0, sizeof(msg));
	msg.type = IPC_RESP_ERROR;
	msg.u.resp_error.id = id;
	msg.u.resp_error.status = status;
	msg.u.resp_error.type.base = type;
	msg.u.resp_error.type.len = strlen(type);
	msg.u.resp_error.code.base = code;
	msg.u.resp_error.code.len = strlen(code);
	msg.u.resp_error.message.base = message;
	msg.u.resp_error.message.len = strlen(message);
	msg.u.resp_error.ratelimit = ratelimit;
	if (worker_conn_send(wc, &msg, lists) == -1)
		return;
	log_debug("%s: request %llu (%.*s): %u %s", wc->ipc.name, (unsigned long long)id,
	    (int)req->u.req_start.request_id.len, req->u.req_start.request_id.base, status,
	    message);

	if (req->u.req_start.body_len == 0)
		return;
	if (wc->ndraining == AGENTD_MAX_DRAINING) {
		/* a worker may stop sending a body once it has our answer, so
		 * the oldest entries can be stale: forget them first */
		log_debug("%s: forgetting failed request %llu", wc->ipc.name,
		    (unsigned long long)wc->draining[0]);
		memmove(wc->draining, wc->draining + 1, (wc->ndraining - 1) * sizeof(uint64_t));
		wc->ndraining--;
	}
	if (wc->ndraining == wc->draining_cap) {
		wc->draining_cap = wc->draining_cap ? wc->draining_cap * 2 : 16;
		wc->draining = xrealloc(wc->draining, wc->draining_cap * sizeof(uint64_t));
	}
	wc->draining[wc->ndraining++] = id;
}

static int
draining_find(const struct worker_conn *wc, uint64_t id)
{
	for (size_t i = 0; i < wc->ndraining; i++)
		if (wc->draining[i] == id)
			return (int)i;
	return -1;
}

static void
draining_forget(struct worker_conn *wc, int i)
{
	memmove(wc->draining + i, wc->draining + i + 1,
	    (wc->ndraining - (size_t)i - 1) * sizeof(uint64_t));
	wc->ndraining--;
}

void
agentd_request_start(struct worker_conn *wc, const struct ipc_msg *msg)
{
	struct agentd *ad = wc->ad;
	struct ipc_str ns = msg->u.req_start.ns, model = msg->u.req_start.model;
	struct reg_namespace *rns;
	struct reg_agent *agent;
	enum route_why why;
	char text[2 * REG_MAX_NAME + 128];
	int i, full;

	if ((i = draining_find(wc, msg->u.req_start.id)) != -1)
		draining_forget(wc, i); /* the worker is done with the old one */
	/* limits first: a refused request costs no routing */
	if (admission_start(wc, msg))
		return;
	if (ns.len > REG_MAX_NAME || model.len > REG_MAX_NAME) {
		snprintf(text, sizeof(text), "model name too long");
		agentd_request_fail(wc, msg, 404, "invalid_request_error", "model_not_found", text);
		return;
	}
	if (tl_config_namespace(ad->conf, ns.base, ns.len) == NULL) {
		snprintf(text, sizeof(text), "unknown namespace %.*s", (int)ns.len, ns.base);
		agentd_request_fail(wc, msg, 404, "invalid_request_error", "model_not_found", text);
		return;
	}
	rns = registry_namespace(&ad->registry, ns.base, ns.len);
	if (rns == NULL || rns->nagents == 0) {
		/* just started: its agents may be relinking */
		if (hold_request(wc, msg))
			return;
		snprintf(text, sizeof(text), "no agent of namespace %.*s is linked", (int)ns.len,
		    ns.base);
		agentd_request_fail(wc, msg, 503, "service_unavailable", "no_agent", text);
		return;
	}
	/* a request another node forwarded here stays here (no loops): even a
	 * local agent marked unresponsive beats a remote one (forward_start
	 * refuses those with 503); nobody passes the model's line */
	if (queue_waiting(msg)) {
		(void)queue_request(wc, msg, 0);
		return;
	}
	agent = queue_pick(ad, ns.base, ns.len, model.base, model.len,
	    (msg->u.req_start.flags & IPC_REQ_F_NO_FORWARD) != 0, &full, &why);
	if (agent == NULL && full && queue_request(wc, msg, 1))
		return; /* it waits for a free replica, or got 429 */
	if (agent == NULL && why == ROUTE_NO_MODEL) {
		snprintf(text, sizeof(text), "model %.*s is not published by any agent of "
		    "namespace %.*s", (int)model.len, model.base, (int)ns.len, ns.base);
		agentd_request_fail(wc, msg, 404, "invalid_request_error", "model_not_found", text);
		return;
	}
	if (agent == NULL) {
		/* only agents of other nodes serve it, and it came from one;
		 * or every local one is draining */
		snprintf(text, sizeof(text), "no agent of namespace %.*s on this node serves %.*s",
		    (int)ns.len, ns.base, (int)model.len, model.base);
		agentd_request_fail(wc, msg, 503, "service_unavailable", "no_agent", text);
		return;
	}
	relay_start(wc, msg, agent);
}

void
agentd_request_body(struct worker_conn *wc, const struct ipc_msg *msg)
{
	int i;

	if (relay_body(wc, msg) || hold_body(wc, msg) || queue_body(wc, msg))
		return;
	i = draining_find(wc, msg->u.req_body.id);

	if (i == -1) {
		log_debug("%s: REQ_BODY for unknown request %llu dropped", wc->ipc.name,
		    (unsigned long long)msg->u.req_body.id);
		return;
	}
	if (msg->u.req_body.last)
		draining_forget(wc, i);
}

void
agentd_request_cancel(struct worker_conn *wc, const struct ipc_msg *msg)
{
	int i;

	admission_cancel(wc, msg->u.cancel.id);
	if (relay_cancel(wc, msg->u.cancel.id) || hold_cancel(wc, msg->u.cancel.id) ||
	    queue_cancel(wc, msg->u.cancel.id))
		return;
	i = draining_find(wc, msg->u.cancel.id);

	if (i != -1)
		draining_forget(wc, i);
	/* else: already answered; the worker's CANCEL crossed our answer */
}

void
agentd_request_window(struct worker_conn *wc, const struct ipc_msg *msg)
{
	/* credit for a request agentd no longer holds: the race with its end */
	(void)relay_window(wc, msg->u.window.id, msg->u.window.credit);
}

int
agentd_requests_idle(const struct worker_conn *wc)
{
	/* draining ids are already answered: only relays are in flight */
	return wc->nrelays == 0 && wc->nheld == 0 && wc->nqueued == 0;
}

void
agentd_requests_conn_closed(struct worker_conn *wc)
{
	relay_conn_closed(wc);
	hold_conn_closed(wc);
	queue_conn_closed(wc);
	admission_conn_closed(wc);
	wc->ndraining = 0;
}
