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
 *
 * Retry before the first byte (agents.retries): when the agent says it
 * could not start the request (TaskError backend_unreachable,
 * backend_busy, agent_stopping) or the backend answers 503 or 429 before
 * anything went to the worker, the task is dropped (cancelled: the agent
 * stops reading the backend's answer) and the request is offered to
 * another local replica the router picks, excluding those tried. For
 * that the relay keeps a copy of the REQ_START and of the body bytes
 * until the response head goes to the worker, bounded per request
 * (RETRY_BODY_MAX: a bigger body is not retried) and in all
 * (RETRY_BYTES_MAX), and only when the model has another local replica
 * to retry on when the request starts (one that links later is not used
 * for it: a copy of every request of a one-replica model would cost
 * each of them). Body credit to the worker follows the bytes that
 * left for the current agent beyond what was credited already, so a
 * resent body is not credited twice. Once RESP_HEAD went, nothing is
 * retried: a 503/429 not retried reaches the client unchanged.
 *
 * Each task's end is reported to the router (route_task_done) with a
 * verdict for the replica's circuit breaker (route.h).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "agentd.h"
#include "forward.h"
#include "link.h"
#include "log.h"
#include "req_store.h"
#include "route.h"
#include "xmalloc.h"

#define MAX_FWD_HEADERS 128
#define RETRY_BODY_MAX LINK_TASK_BODY_MAX /* the link takes it back in one piece */
#define RETRY_BYTES_MAX (64 * 1024 * 1024)
#define MAX_TRIES 6                       /* 1 + agents.retries at most */

static size_t retry_bytes; /* kept for retries, all relays (RETRY_BYTES_MAX) */

struct relay {
	struct relay *next; /* hash chain */
	struct worker_conn *wc;
	uint64_t id;
	struct link_task *task; /* NULL once the link is done with it */
	struct reg_agent *agent; /* the one it is offered to or runs on */
	char request_id[136];
	char ns[REG_MAX_NAME + 1];    /* for a re-offer */
	char model[REG_MAX_NAME + 1];
	int verdict;             /* for the breaker when the task ends (route.h) */
	int unaccepted;          /* the breaker counted its missed accept */
	int head_sent;           /* RESP_HEAD went to the worker: no retry */
	/* retry before the first byte: empty start = no retry possible */
	struct reg_agent *tried[MAX_TRIES];
	size_t ntried;
	unsigned retries_left;
	struct buf start;        /* the REQ_START, re-encoded */
	struct buf body;         /* the body bytes so far */
	int body_last;
	size_t reserved;         /* of retry_bytes */
	uint64_t started_ms;
	uint64_t credited;       /* body bytes given back to the worker as WINDOW */
	uint64_t attempt_sent;   /* body bytes that left for the current task */
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

/* No retry from here on: the copies go. */
static void
retry_forget(struct relay *r)
{
	retry_bytes -= r->reserved;
	r->reserved = 0;
	r->retries_left = 0;
	buf_free(&r->start);
	buf_free(&r->body);
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
	retry_forget(r);
	free(r);
}

/* The current task ended (or was dropped): tell the router. */
static void
task_done(struct relay *r, int ok, const char *why)
{
	route_task_done_why(r->wc->ad, r->agent, ok, why);
}

static void
send_or_log(struct relay *r, const struct ipc_msg *msg, const struct ipc_encode_lists *lists)
{
	/* a worker whose queue is full is closed by worker_conn_send, which
	 * cancels its relays: the caller must not touch r after a failure */
	(void)worker_conn_send(r->wc, msg, lists);
}

static int retry_elsewhere(struct relay *r, int drop_task, int verdict, const char *why);

/* What a status from the agent's side says of the replica (route.h). */
static int
status_verdict(unsigned status)
{
	return status == 502 || status == 503 || status == 504 ? 0 : 1;
}

static void
on_head(void *ctx, unsigned status, const struct link_task_header *h, size_t n)
{
	struct relay *r = ctx;
	struct ipc_header_in hin[64];
	struct ipc_encode_lists lists = { hin, 0, NULL, 0 };
	struct ipc_msg msg;
	char why[64];

	if (status == 503 || status == 429) {
		/* the backend refused before starting: another replica may not */
		snprintf(why, sizeof(why), "the backend answered %u", status);
		/* a 429 is load, not a broken replica */
		if (retry_elsewhere(r, 1, status == 429 ? -1 : 0, why))
			return;
	}
	r->verdict = status_verdict(status);
	r->head_sent = 1;
	retry_forget(r);
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
	task_done(r, r->verdict, "the backend failed");
	relay_free(r);
	(void)worker_conn_send(wc, &msg, NULL);
}

/* The agent said it could not start the request: nothing ran. */
static int
never_started(const char *code)
{
	return strcmp(code, "backend_unreachable") == 0 || strcmp(code, "backend_busy") == 0 ||
	    strcmp(code, "agent_stopping") == 0;
}

/* Answer the worker with an error and end r. */
static void
fail_to_worker(struct relay *r, unsigned status, const char *type, const char *code,
    const char *message)
{
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
	relay_free(r);
	(void)worker_conn_send(wc, &msg, NULL);
}

static void
on_error(void *ctx, unsigned status, const char *type, const char *code, const char *message)
{
	struct relay *r = ctx;
	int ok;

	/* the link freed the task */
	r->task = NULL;
	/* busy or stopping is load, not a broken replica */
	if (r->head_sent || strcmp(code, "backend_busy") == 0 ||
	    strcmp(code, "agent_stopping") == 0)
		ok = -1;
	else
		ok = status_verdict(status);
	if (!r->head_sent && never_started(code) && retry_elsewhere(r, 0, ok, message))
		return;
	task_done(r, ok, message);
	fail_to_worker(r, status, type, code, message);
}

static void
on_body_sent(void *ctx, size_t n)
{
	struct relay *r = ctx;
	struct ipc_msg msg;

	/* bytes resent to a retry's replica were credited already */
	r->attempt_sent += n;
	if (r->attempt_sent <= r->credited)
		return;
	n = (size_t)(r->attempt_sent - r->credited);
	r->credited = r->attempt_sent;
	memset(&msg, 0, sizeof(msg));
	msg.type = IPC_WINDOW;
	msg.u.window.id = r->id;
	msg.u.window.credit = (uint32_t)n;
	send_or_log(r, &msg, NULL);
}

static void
tried_add(struct relay *r, struct reg_agent *a)
{
	for (size_t i = 0; i < r->ntried; i++)
		if (r->tried[i] == a)
			return;
	if (r->ntried < MAX_TRIES)
		r->tried[r->ntried++] = a;
}

static struct agent_link *
on_unaccepted(void *ctx, struct agent_link *from)
{
	struct relay *r = ctx;
	struct reg_agent *next;
	enum route_why why;

	if (from->registry_data != r->agent)
		return NULL; /* not the agent we picked: never seen, but keep it */
	if (!r->unaccepted) {
		/* once per task: it may wait here for several accept timeouts */
		r->unaccepted = 1;
		task_done(r, 0, "the offer was not accepted in time");
	}
	/* capacity, breakers and load count as for a new task; the replicas
	 * tried already for this request (this one among them) are out */
	next = route_pick(r->wc->ad, r->ns, strlen(r->ns), r->model, strlen(r->model), 1,
	    r->tried, r->ntried, &why);
	if (next == NULL) {
		log_debug("request %s: no other agent of %s serves %s; it waits for agent %s",
		    r->request_id, r->ns, r->model, r->agent->name);
		return NULL;
	}
	log_debug("request %s: agent %s did not accept it, offering it to agent %s",
	    r->request_id, r->agent->name, next->name);
	r->agent = next;
	r->unaccepted = 0;
	tried_add(r, next);
	return next->link;
}

static const struct link_task_cbs relay_cbs = { on_head, on_data, on_end, on_error, on_body_sent,
	on_unaccepted };

/* The task request out of a REQ_START; strings point into msg, method,
 * path and model (sized as below). 0, or -1 if method or path do not fit. */
struct req_parts {
	struct link_task_header h[MAX_FWD_HEADERS];
	char method[16], path[2048], model[REG_MAX_NAME + 1];
};

static int
req_from_msg(const struct ipc_msg *msg, const char *request_id, struct req_parts *p,
    struct link_task_req *req)
{
	struct ipc_list_iter it;
	struct ipc_str name, value;
	size_t n = 0;

	if (msg->u.req_start.method.len >= sizeof(p->method) ||
	    msg->u.req_start.path.len >= sizeof(p->path))
		return -1;
	ipc_str_copy(p->method, sizeof(p->method), msg->u.req_start.method);
	ipc_str_copy(p->path, sizeof(p->path), msg->u.req_start.path);
	ipc_str_copy(p->model, sizeof(p->model), msg->u.req_start.model);
	ipc_list_begin(&it, &msg->u.req_start.headers);
	while (n < MAX_FWD_HEADERS && ipc_header_next(&it, &name, &value)) {
		p->h[n].name = name.base;
		p->h[n].name_len = name.len;
		p->h[n].value = value.base;
		p->h[n].value_len = value.len;
		n++;
	}
	memset(req, 0, sizeof(*req));
	req->request_id = request_id;
	req->method = p->method;
	req->path = p->path;
	req->model = p->model;
	req->headers = p->h;
	req->nheaders = n;
	req->body_size = msg->u.req_start.body_len;
	req->deadline_ms = msg->u.req_start.deadline_ms;
	return 0;
}

/*
 * Offer the request to another local replica (see the top): 1 if it is
 * on its way there (or failed for good: r is then gone), 0 if not retried
 * (nothing changed; the caller goes on with the answer it has).
 * drop_task: the current task is still running (a 503/429 head): it is
 * cancelled once another replica is found. verdict: the refusing
 * replica's, for its breaker (route.h); why: for the log.
 */
static int
retry_elsewhere(struct relay *r, int drop_task, int verdict, const char *why)
{
	struct agentd *ad = r->wc->ad;
	struct ipc_msg msg;
	struct req_parts parts;
	struct link_task_req req;
	struct reg_agent *next, *prev = r->agent;
	enum route_why rwhy;
	const char *derr;
	uint64_t now = h2o_now(ad->loop), budget = ad->conf->http.first_byte_timeout_ms;
	uint64_t elapsed = now - r->started_ms;

	if (r->retries_left == 0 || r->start.len == 0 || r->head_sent)
		return 0;
	if (ipc_decode(buf_head(&r->start), r->start.len, &msg, &derr) <= 0)
		return 0; /* we encoded it: cannot happen */
	if (msg.u.req_start.deadline_ms != 0 && msg.u.req_start.deadline_ms < budget)
		budget = msg.u.req_start.deadline_ms;
	if (elapsed >= budget)
		return 0; /* no time left for another try */
	tried_add(r, prev);
	next = route_pick(ad, r->ns, strlen(r->ns), r->model, strlen(r->model), 1, r->tried,
	    r->ntried, &rwhy);
	if (next == NULL)
		return 0;
	if (req_from_msg(&msg, r->request_id, &parts, &req) != 0) {
		route_task_done(ad, next, -1);
		return 0;
	}
	req.deadline_ms = (uint32_t)(budget - elapsed);
	/* the replica that refused: its verdict, and its task goes */
	if (drop_task && r->task != NULL) {
		link_task_cancel(r->task);
		r->task = NULL;
	}
	task_done(r, verdict, why);
	log_info("request %s: agent %s could not start it (%s): retried on agent %s",
	    r->request_id, prev->name, why, next->name);
	r->retries_left--;
	r->agent = next;
	r->unaccepted = 0;
	r->attempt_sent = 0;
	tried_add(r, next);
	r->task = link_task_offer(next->link, &req, &relay_cbs, r);
	if (r->task == NULL) {
		route_task_done(ad, next, -1);
		fail_to_worker(r, 503, "service_unavailable", "no_agent",
		    "no other agent could take the request");
		return 1;
	}
	/* last: a held inline offer may fail here and end r (on_error) */
	if (r->body.len > 0 || r->body_last)
		(void)link_task_body(r->task, buf_head(&r->body), r->body.len, r->body_last);
	return 1;
}

/* Keep what a retry needs, if the request is small enough (see the top). */
static void
retry_keep(struct relay *r, const struct ipc_msg *msg)
{
	uint64_t body_len = msg->u.req_start.body_len;
	unsigned retries = r->wc->ad->conf->agents.retries;
	const struct reg_model *m;

	if (retries == 0 || body_len > RETRY_BODY_MAX)
		return;
	m = registry_model(&r->wc->ad->registry, msg->u.req_start.ns.base, msg->u.req_start.ns.len,
	    msg->u.req_start.model.base, msg->u.req_start.model.len);
	if (m == NULL || m->nlocal < 2)
		return; /* nowhere else to go */
	if (retry_bytes + body_len + IPC_MAX_PAYLOAD > RETRY_BYTES_MAX)
		return;
	buf_init(&r->start, IPC_HEADER_SIZE + IPC_MAX_PAYLOAD);
	if (req_store_encode(&r->start, msg) != 0) {
		buf_free(&r->start);
		return;
	}
	buf_init(&r->body, RETRY_BODY_MAX);
	r->reserved = (size_t)body_len + r->start.len;
	retry_bytes += r->reserved;
	r->retries_left = retries < MAX_TRIES - 1 ? retries : MAX_TRIES - 1;
}

void
relay_start(struct worker_conn *wc, const struct ipc_msg *msg, struct reg_agent *agent)
{
	struct agent_link *link = agent->link;
	struct req_parts parts;
	struct link_task_req req;
	struct relay *r;
	size_t b;

	if (agent->node_url != NULL) {
		/* an agent of another node: forward.c carries the request there */
		forward_start(wc, msg, agent->node, agent->node_url);
		return;
	}
	r = xcalloc(1, sizeof(*r));
	/* at most 128 bytes of it, as the worker's ids are */
	ipc_str_copy(r->request_id, 128 + 1, msg->u.req_start.request_id);
	if (req_from_msg(msg, r->request_id, &parts, &req) != 0) {
		free(r);
		route_task_done(wc->ad, agent, -1);
		agentd_request_fail(wc, msg, 400, "invalid_request_error", "invalid_request",
		    "request method or path too long");
		return;
	}
	r->wc = wc;
	r->id = msg->u.req_start.id;
	r->agent = agent;
	r->verdict = 1;
	r->started_ms = h2o_now(wc->ad->loop);
	r->tried[r->ntried++] = agent;
	/* both checked against REG_MAX_NAME by agentd_request_start */
	ipc_str_copy(r->ns, sizeof(r->ns), msg->u.req_start.ns);
	ipc_str_copy(r->model, sizeof(r->model), msg->u.req_start.model);
	r->task = link_task_offer(link, &req, &relay_cbs, r);
	if (r->task == NULL) {
		char text[REG_MAX_NAME + 96];

		free(r);
		route_task_done(wc->ad, agent, -1);
		snprintf(text, sizeof(text), "agent %s cannot take requests right now",
		    agent->name);
		agentd_request_fail(wc, msg, 503, "service_unavailable", "no_agent", text);
		return;
	}
	retry_keep(r, msg);
	if (wc->nrelays + 1 > wc->relays_cap)
		table_grow(wc);
	b = bucket(wc, r->id);
	r->next = wc->relays[b];
	wc->relays[b] = r;
	wc->nrelays++;
	log_debug("request %s: %s %s for %.*s:%s offered to agent %s", r->request_id,
	    parts.method, parts.path, (int)msg->u.req_start.ns.len, msg->u.req_start.ns.base,
	    parts.model, agent->name);
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
	if (r->start.len != 0 && r->retries_left == 0)
		retry_forget(r); /* the last retry is on its way: no copy needed */
	if (r->start.len != 0) {
		/* a copy for a retry; past its bound, no retry */
		if (buf_append(&r->body, msg->u.req_body.data.base, msg->u.req_body.data.len) != 0)
			retry_forget(r);
		r->body_last = msg->u.req_body.last;
	}
	if (link_task_body(r->task, (const uint8_t *)msg->u.req_body.data.base,
	    msg->u.req_body.data.len, msg->u.req_body.last) != 0) {
		/* the worker sent past its credit: our own bug, said loudly */
		log_warnx("%s: request %s sent body past its credit; cancelling it", wc->ipc.name,
		    r->request_id);
		link_task_cancel(r->task);
		r->task = NULL;
		task_done(r, -1, NULL);
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
	if (r->task != NULL) {
		link_task_cancel(r->task);
		task_done(r, -1, NULL);
	}
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
			if (r->task != NULL) {
				link_task_cancel(r->task);
				task_done(r, -1, NULL);
			}
			retry_forget(r);
			free(r);
		}
	}
	free(wc->relays);
	wc->relays = NULL;
	wc->relays_cap = wc->nrelays = 0;
}
