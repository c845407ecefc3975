/*
 * relay: one worker request carried by one agent task, both ways.
 *
 * Down: REQ_BODY chunks go to link_task_body(); the worker may send
 * IPC_BODY_WINDOW bytes ahead and gets WINDOW credit back as the link
 * reports bytes leaving for the agent (on_body_sent), so agentd holds at
 * most that much body per request. Up: the agent's head, chunks, end or
 * error become RESP_HEAD/RESP_DATA/RESP_END/RESP_ERROR; the worker's
 * WINDOW credit (its client took the bytes) is passed to
 * link_task_consumed(), which is what lets the agent send more.
 *
 * A relay is freed when its task ends (on_end/on_error: the link has
 * freed the task) or when the worker cancels or goes away (we cancel the
 * task, which resets the agent's stream so the backend stops at once).
 *
 * An offer its agent does not accept in time comes back here
 * (on_unaccepted): the relay asks the router for another usable local
 * agent of the same namespace and model, and the link moves the task
 * there (policy in link.h). Remote agents are not tried: the request is
 * this node's to serve once a local agent was picked.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "agentd.h"
#include "forward.h"
#include "link.h"
#include "log.h"
#include "queue.h"
#include "xmalloc.h"

#define MAX_FWD_HEADERS 128

struct relay {
	struct relay *next; /* hash chain */
	struct worker_conn *wc;
	uint64_t id;
	struct link_task *task; /* NULL once the link is done with it */
	struct reg_agent *agent; /* the one it is offered to or runs on */
	char request_id[136];
	char ns[REG_MAX_NAME + 1];    /* for a re-offer */
	char model[REG_MAX_NAME + 1];
};

static size_t
bucket(const struct worker_conn *wc, uint64_t id)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ULL) >> 32) & (wc->relays_cap - 1);
}

static struct relay **
slot_of(struct worker_conn *wc, uint64_t id)
{
	struct relay **pp;

	if (wc->relays_cap == 0)
		return NULL;
	for (pp = &wc->relays[bucket(wc, id)]; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->id == id)
			return pp;
	return NULL;
}

static void
table_grow(struct worker_conn *wc)
{
	size_t cap = wc->relays_cap ? wc->relays_cap * 2 : 64;
	struct relay **old = wc->relays;
	size_t oldcap = wc->relays_cap;

	wc->relays = xcalloc(cap, sizeof(*wc->relays));
	wc->relays_cap = cap;
	for (size_t i = 0; i < oldcap; i++) {
		struct relay *r = old[i], *next;
		for (; r != NULL; r = next) {
			size_t b = bucket(wc, r->id);
			next = r->next;
			r->next = wc->relays[b];
			wc->relays[b] = r;
		}
	}
	free(old);
}

static void
relay_free(struct relay *r)
{
	struct worker_conn *wc = r->wc;
	struct relay **pp = slot_of(wc, r->id);

	if (pp != NULL && *pp == r) {
		*pp = r->next;
		wc->nrelays--;
	}
	free(r);
	queue_kick(); /* a task ended: a slot may be free (queue.c) */
}

static void
send_or_log(struct relay *r, const struct ipc_msg *msg, const struct ipc_encode_lists *lists)
{
	/* a worker whose queue is full is closed by worker_conn_send, which
	 * cancels its relays: the caller must not touch r after a failure */
	(void)worker_conn_send(r->wc, msg, lists);
}

static void
on_head(void *ctx, unsigned status, const struct link_task_header *h, size_t n)
{
	struct relay *r = ctx;
	struct ipc_header_in hin[64];
	struct ipc_encode_lists lists = { hin, 0, NULL, 0 };
	struct ipc_msg msg;

	for (size_t i = 0; i < n && i < 64; i++) {
		hin[i].name = h[i].name;
		hin[i].name_len = h[i].name_len;
		hin[i].value = h[i].value;
		hin[i].value_len = h[i].value_len;
		lists.nheaders++;
	}
	memset(&msg, 0, sizeof(msg));
	msg.type = IPC_RESP_HEAD;
	msg.u.resp_head.id = r->id;
	msg.u.resp_head.status = (uint16_t)status;
	send_or_log(r, &msg, &lists);
}

static void
on_data(void *ctx, const uint8_t *data, size_t len)
{
	struct relay *r = ctx;
	uint64_t id = r->id;
	struct worker_conn *wc = r->wc;

	while (len > 0) {
		struct ipc_msg msg;
		size_t n = len < IPC_MAX_CHUNK ? len : IPC_MAX_CHUNK;

		memset(&msg, 0, sizeof(msg));
		msg.type = IPC_RESP_DATA;
		msg.u.resp_data.id = id;
		msg.u.resp_data.data.base = (const char *)data;
		msg.u.resp_data.data.len = n;
		if (worker_conn_send(wc, &msg, NULL) != 0)
			return; /* wc and r are gone */
		data += n;
		len -= n;
	}
}

static void
on_end(void *ctx)
{
	struct relay *r = ctx;
	struct worker_conn *wc = r->wc;
	struct ipc_msg msg;

	memset(&msg, 0, sizeof(msg));
	msg.type = IPC_RESP_END;
	msg.u.resp_end.id = r->id;
	r->task = NULL;
	relay_free(r);
	(void)worker_conn_send(wc, &msg, NULL);
}

static void
on_error(void *ctx, unsigned status, const char *type, const char *code, const char *message)
{
	struct relay *r = ctx;
	struct worker_conn *wc = r->wc;
	struct ipc_msg msg;

	log_info("request %s: %u %s", r->request_id, status, message);
	memset(&msg, 0, sizeof(msg));
	msg.type = IPC_RESP_ERROR;
	msg.u.resp_error.id = r->id;
	msg.u.resp_error.status = (uint16_t)status;
	msg.u.resp_error.type.base = type;
	msg.u.resp_error.type.len = strlen(type);
	msg.u.resp_error.code.base = code;
	msg.u.resp_error.code.len = strlen(code);
	msg.u.resp_error.message.base = message;
	msg.u.resp_error.message.len = strlen(message);
	r->task = NULL;
	relay_free(r);
	(void)worker_conn_send(wc, &msg, NULL);
}

static void
on_body_sent(void *ctx, size_t n)
{
	struct relay *r = ctx;
	struct ipc_msg msg;

	memset(&msg, 0, sizeof(msg));
	msg.type = IPC_WINDOW;
	msg.u.window.id = r->id;
	msg.u.window.credit = (uint32_t)n;
	send_or_log(r, &msg, NULL);
}

static struct agent_link *
on_unaccepted(void *ctx, struct agent_link *from)
{
	struct relay *r = ctx;
	struct reg_agent *next;

	if (from->registry_data != r->agent)
		return NULL; /* not the agent we picked: never seen, but keep it */
	next = registry_pick_other_local(&r->wc->ad->registry, r->ns, strlen(r->ns), r->model,
	    strlen(r->model), r->agent);
	if (next == NULL) {
		log_debug("request %s: no other agent of %s serves %s; it waits for agent %s",
		    r->request_id, r->ns, r->model, r->agent->name);
		return NULL;
	}
	log_debug("request %s: agent %s did not accept it, offering it to agent %s",
	    r->request_id, r->agent->name, next->name);
	r->agent = next;
	return next->link;
}

static const struct link_task_cbs relay_cbs = { on_head, on_data, on_end, on_error, on_body_sent,
	on_unaccepted };

void
relay_start(struct worker_conn *wc, const struct ipc_msg *msg, struct reg_agent *agent)
{
	struct agent_link *link = agent->link;
	struct link_task_header h[MAX_FWD_HEADERS];
	struct ipc_list_iter it;
	struct ipc_str name, value;
	struct link_task_req req;
	struct relay *r;
	char method[16], path[2048], model[REG_MAX_NAME + 1];
	size_t n = 0;
	size_t b;

	if (agent->node_url != NULL) {
		/* an agent of another node: forward.c carries the request there */
		forward_start(wc, msg, agent->node, agent->node_url);
		return;
	}
	if (msg->u.req_start.method.len >= sizeof(method) ||
	    msg->u.req_start.path.len >= sizeof(path)) {
		agentd_request_fail(wc, msg, 400, "invalid_request_error", "invalid_request",
		    "request method or path too long");
		return;
	}
	ipc_str_copy(method, sizeof(method), msg->u.req_start.method);
	ipc_str_copy(path, sizeof(path), msg->u.req_start.path);
	ipc_str_copy(model, sizeof(model), msg->u.req_start.model);
	ipc_list_begin(&it, &msg->u.req_start.headers);
	while (n < MAX_FWD_HEADERS && ipc_header_next(&it, &name, &value)) {
		h[n].name = name.base;
		h[n].name_len = name.len;
		h[n].value = value.base;
		h[n].value_len = value.len;
		n++;
	}

	r = xcalloc(1, sizeof(*r));
	r->wc = wc;
	r->id = msg->u.req_start.id;
	/* at most 128 bytes of it, as the worker's ids are */
	ipc_str_copy(r->request_id, 128 + 1, msg->u.req_start.request_id);
	r->agent = agent;
	/* both checked against REG_MAX_NAME by agentd_request_start */
	ipc_str_copy(r->ns, sizeof(r->ns), msg->u.req_start.ns);
	ipc_str_copy(r->model, sizeof(r->model), msg->u.req_start.model);
	memset(&req, 0, sizeof(req));
	req.request_id = r->request_id;
	req.method = method;
	req.path = path;
	req.model = model;
	req.headers = h;
	req.nheaders = n;
	req.body_size = msg->u.req_start.body_len;
	req.deadline_ms = msg->u.req_start.deadline_ms;
	r->task = link_task_offer(link, &req, &relay_cbs, r);
	if (r->task == NULL) {
		char text[REG_MAX_NAME + 96];

		free(r);
		snprintf(text, sizeof(text), "agent %s cannot take requests right now",
		    agent->name);
		agentd_request_fail(wc, msg, 503, "service_unavailable", "no_agent", text);
		return;
	}
	if (wc->nrelays + 1 > wc->relays_cap)
		table_grow(wc);
	b = bucket(wc, r->id);
	r->next = wc->relays[b];
	wc->relays[b] = r;
	wc->nrelays++;
	log_debug("request %s: %s %s for %.*s:%s offered to agent %s", r->request_id, method,
	    path, (int)msg->u.req_start.ns.len, msg->u.req_start.ns.base, model, agent->name);
}

int
relay_body(struct worker_conn *wc, const struct ipc_msg *msg)
{
	struct relay **pp = slot_of(wc, msg->u.req_body.id);
	struct relay *r;

	if (pp == NULL)
		return forward_body(wc, msg);
	r = *pp;
	if (r->task == NULL)
		return 1;
	if (link_task_body(r->task, (const uint8_t *)msg->u.req_body.data.base,
	    msg->u.req_body.data.len, msg->u.req_body.last) != 0) {
		/* the worker sent past its credit: our own bug, said loudly */
		log_warnx("%s: request %s sent body past its credit; cancelling it", wc->ipc.name,
		    r->request_id);
		link_task_cancel(r->task);
		r->task = NULL;
		agentd_request_fail(wc, &(struct ipc_msg){ .type = IPC_REQ_START,
		    .u.req_start.id = r->id }, 500, "api_error", "internal_error",
		    "request body flow control broke");
		relay_free(r);
	}
	return 1;
}

int
relay_cancel(struct worker_conn *wc, uint64_t id)
{
	struct relay **pp = slot_of(wc, id);
	struct relay *r;

	if (pp == NULL)
		return forward_cancel(wc, id);
	r = *pp;
	log_debug("request %s: cancelled by the client", r->request_id);
	if (r->task != NULL)
		link_task_cancel(r->task);
	relay_free(r);
	return 1;
}

int
relay_window(struct worker_conn *wc, uint64_t id, uint32_t credit)
{
	struct relay **pp = slot_of(wc, id);

	if (pp == NULL)
		return forward_window(wc, id, credit);
	if ((*pp)->task != NULL)
		link_task_consumed((*pp)->task, credit);
	return 1;
}

void
relay_conn_closed(struct worker_conn *wc)
{
	forward_conn_closed(wc); /* first: it counts its requests in wc->nrelays */
	for (size_t i = 0; i < wc->relays_cap; i++) {
		struct relay *r, *next;
		for (r = wc->relays[i]; r != NULL; r = next) {
			next = r->next;
			if (r->task != NULL)
				link_task_cancel(r->task);
			free(r);
		}
	}
	free(wc->relays);
	wc->relays = NULL;
	wc->relays_cap = wc->nrelays = 0;
	queue_kick(); /* its tasks ended: slots may be free (queue.c) */
}
