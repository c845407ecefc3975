/*
 * queue: the admission queue (queue.h). Policy, in order:
 *
 *  1. A replica is at capacity when the tasks this node has open on its
 *     link reach the capacity its agent reported (Register, Heartbeat);
 *     an agent that reports none (0) is never at capacity. The pick
 *     (route_pick, route.h) skips replicas at capacity, so no agent is
 *     offered more than its capacity by this node, and never chooses a
 *     draining one.
 *  2. Every local replica of ns/model at capacity or with its breaker
 *     open (and no remote one for a request that may be forwarded; a
 *     replica marked unresponsive is offered the task rather than making
 *     it wait, see queue_pick): the request waits in the model's
 *     queue. A request also waits when others wait for the model already:
 *     nobody passes the line.
 *  3. The line is fair between API keys (queue_fair.h): round robin over
 *     the keys with waiting requests, first in first out within a key.
 *  4. A task ending on this node (route_task_done), and a tick every
 *     QUEUE_TICK_MS while anything waits (capacity reported higher, an
 *     agent linked), dispatch: the request served next is picked for
 *     again; one that finds a replica goes to it with its body, what is
 *     left of its first-byte budget, and the rest of its body as the
 *     worker sends it. One that finds none any more (the agents left)
 *     gets 503 no_agent or 404 as a new request would.
 *  5. Refused with 429 (type "server_error", code "model_overloaded",
 *     OpenAI's wording for an overloaded model, and Retry-After):
 *     past http.queue_timeout of waiting; when the model's queue holds
 *     http.queue_max requests; when the whole queue holds QUEUE_TOTAL_MAX
 *     requests or QUEUE_BYTES_MAX body bytes (each request counts the
 *     body it may bring, up to IPC_BODY_WINDOW); at once when
 *     http.queue_timeout is 0.
 *  6. Retry-After: the model's waiting requests over its recent drain
 *     rate (queue_fair.h: an EWMA of dispatches per second over windows
 *     of about one second, each weighing half), rounded up, within 1..60 s; with no rate
 *     measured yet, http.queue_timeout within the same bounds.
 *  7. A CANCEL drops a waiting request and its body; so does its worker
 *     connection closing. A graceful stop waits for waiting requests as
 *     for relayed ones.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agentd.h"
#include "link.h"
#include "log.h"
#include "queue.h"
#include "queue_fair.h"
#include "req_store.h"
#include "route.h"
#include "xmalloc.h"

#define QUEUE_TICK_MS 200
#define QUEUE_TOTAL_MAX 65536
#define QUEUE_BYTES_MAX (256 * 1024 * 1024)
#define RETRY_AFTER_MIN 1
#define RETRY_AFTER_MAX 60

struct qmodel;

struct qreq {
	struct fairq_item fq;      /* in its model's line */
	TAILQ_ENTRY(qreq) all;     /* every waiting request, oldest first */
	struct qmodel *m;
	struct worker_conn *wc;
	struct req_store rs;
	int64_t queued_ms;
	int64_t expires_ms;
	int local_only;            /* IPC_REQ_F_NO_FORWARD */
};

/* One model's line, while it has waiting requests. */
struct qmodel {
	TAILQ_ENTRY(qmodel) entry;
	struct fairq q;
	char ns[REG_MAX_NAME + 1];
	char model[REG_MAX_NAME + 1];
	size_t nslen, mlen;
	struct fairq_rate rate;    /* how fast it drains (Retry-After) */
};

static struct {
	struct agentd *ad;
	TAILQ_HEAD(, qmodel) models;
	TAILQ_HEAD(, qreq) all;
	size_t count, bytes;
	int dispatching;           /* empty models are freed after the pass */
	unsigned closed_gen;       /* requests dropped by a connection closing */
	h2o_timeout_t soon;        /* zero: a dispatch after a task ended */
	h2o_timeout_entry_t soon_entry;
	h2o_timeout_t tick;
	h2o_timeout_entry_t tick_entry;
} Q;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct reg_agent *
queue_pick(struct agentd *ad, const char *ns, size_t nslen, const char *model, size_t mlen,
    int local_only, int *full, enum route_why *why)
{
	struct reg_agent *a;

	*full = 0;
	a = route_pick(ad, ns, nslen, model, mlen, local_only, NULL, 0, why);
	if (a == NULL && *why == ROUTE_FULL)
		a = route_pick_overflow(ad, ns, nslen, model, mlen, full);
	return a;
}

/* ---- the models' lines ---- */

static struct qmodel *
model_find(const struct ipc_msg *msg)
{
	struct ipc_str ns = msg->u.req_start.ns, model = msg->u.req_start.model;
	struct qmodel *m;

	TAILQ_FOREACH(m, &Q.models, entry)
		if (m->nslen == ns.len && m->mlen == model.len &&
		    memcmp(m->ns, ns.base, ns.len) == 0 && memcmp(m->model, model.base, model.len) == 0)
			return m;
	return NULL;
}

static struct qmodel *
model_get(const struct ipc_msg *msg)
{
	struct qmodel *m = model_find(msg);

	if (m != NULL)
		return m;
	/* both checked against REG_MAX_NAME by agentd_request_start */
	m = xcalloc(1, sizeof(*m));
	fairq_init(&m->q);
	ipc_str_copy(m->ns, sizeof(m->ns), msg->u.req_start.ns);
	ipc_str_copy(m->model, sizeof(m->model), msg->u.req_start.model);
	m->nslen = msg->u.req_start.ns.len;
	m->mlen = msg->u.req_start.model.len;
	TAILQ_INSERT_TAIL(&Q.models, m, entry);
	return m;
}

static void
model_free_if_empty(struct qmodel *m)
{
	if (m->q.count != 0 || Q.dispatching)
		return;
	TAILQ_REMOVE(&Q.models, m, entry);
	free(m);
}

static unsigned
retry_after_s(const struct qmodel *m)
{
	return fairq_retry_after(m != NULL ? &m->rate : NULL, m != NULL ? m->q.count : 0,
	    Q.ad->conf->http.queue_timeout_ms / 1000.0, RETRY_AFTER_MIN, RETRY_AFTER_MAX);
}

/* The 429 for a request the queue cannot take or kept too long. */
static void
refuse(struct worker_conn *wc, const struct ipc_msg *req, const struct qmodel *m,
    const char *why)
{
	struct ipc_header_in h;
	struct ipc_encode_lists lists;
	char text[2 * REG_MAX_NAME + 256], retry[16];
	unsigned s = retry_after_s(m);

	snprintf(retry, sizeof(retry), "%u", s);
	h = (struct ipc_header_in){ "retry-after", 11, retry, strlen(retry) };
	memset(&lists, 0, sizeof(lists));
	lists.headers = &h;
	lists.nheaders = 1;
	snprintf(text, sizeof(text), "That model is currently overloaded with other requests "
	    "(%.*s:%.*s: %s). Please try again in %u s.", (int)req->u.req_start.ns.len,
	    req->u.req_start.ns.base, (int)req->u.req_start.model.len,
	    req->u.req_start.model.base, why, s);
	log_info("request %.*s: 429 %s", (int)req->u.req_start.request_id.len,
	    req->u.req_start.request_id.base, text);
	agentd_request_fail_lists(wc, req, 429, "server_error", "model_overloaded", text, &lists,
	    (struct ipc_str){ NULL, 0 });
}

/* Take r out of the counts and of the list of all (its line: the caller). */
static void
unlist(struct qreq *r)
{
	TAILQ_REMOVE(&Q.all, r, all);
	Q.count--;
	Q.bytes -= r->rs.reserved;
	r->wc->nqueued--;
}

/* Take r out of the queue (cancelled, timed out, its worker gone). */
static void
detach(struct qreq *r)
{
	struct qmodel *m = r->m;

	fairq_remove(&m->q, &r->fq);
	unlist(r);
	model_free_if_empty(m);
}

static void
qreq_free(struct qreq *r)
{
	req_store_free(&r->rs);
	free(r);
}

static void
arm_tick(void)
{
	if (!h2o_timeout_is_linked(&Q.tick_entry))
		h2o_timeout_link(Q.ad->loop, &Q.tick, &Q.tick_entry);
}

/*
 * r, taken out of the queue, goes on: to agent, or (agent NULL) an answer
 * as a new request would get (rwhy: route_pick's), or (why != NULL) a 429; then its body so
 * far. A worker connection that closes meanwhile (its output full) waits
 * for the end, as during a read.
 */
static void
release(struct qreq *r, struct qmodel *m, struct reg_agent *agent, enum route_why rwhy,
    const char *why)
{
	struct worker_conn *wc = r->wc;
	struct agentd *ad = Q.ad;
	struct ipc_msg start;
	const char *bad;
	char text[2 * REG_MAX_NAME + 128];

	if (req_store_start(&r->rs, &start, &bad) != 0) {
		/* we encoded it ourselves: cannot happen, said loudly */
		log_warnx("%s: queued request %llu cannot be decoded again (%s); dropped",
		    wc->ipc.name, (unsigned long long)r->rs.id, bad);
		qreq_free(r);
		return;
	}
	ipc_conn_pin(&wc->ipc);
	if (why != NULL)
		refuse(wc, &start, m, why);
	else if (agent != NULL) {
		int64_t waited = now_ms() - r->queued_ms;
		uint32_t *dl = &start.u.req_start.deadline_ms;

		/* the wait came out of the worker's first-byte budget */
		if (*dl != 0)
			*dl = (int64_t)*dl > waited ? *dl - (uint32_t)waited : 1;
		log_debug("request %.*s: waited %lld ms for %s:%s", (int)start.u.req_start.request_id.len,
		    start.u.req_start.request_id.base, (long long)waited, m->ns, m->model);
		relay_start(wc, &start, agent);
	} else {
		struct reg_namespace *rns = registry_namespace(&ad->registry, m->ns, m->nslen);

		if (rns == NULL || rns->nagents == 0) {
			snprintf(text, sizeof(text), "no agent of namespace %s is linked", m->ns);
			agentd_request_fail(wc, &start, 503, "service_unavailable", "no_agent", text);
		} else if (rwhy != ROUTE_NO_MODEL) {
			/* its replicas are draining (a node's graceful stop, their
			 * Goodbye), or only other nodes' serve it and it came from one */
			snprintf(text, sizeof(text), "no agent of namespace %s on this node can serve "
			    "%s now", m->ns, m->model);
			agentd_request_fail(wc, &start, 503, "service_unavailable", "no_agent", text);
		} else {
			snprintf(text, sizeof(text), "model %s is not published by any agent of "
			    "namespace %s", m->model, m->ns);
			agentd_request_fail(wc, &start, 404, "invalid_request_error",
			    "model_not_found", text);
		}
	}
	req_store_replay_body(&r->rs, wc);
	qreq_free(r);
	ipc_conn_unpin(&wc->ipc); /* may free wc */
}

/* Dispatch m's line while its next request finds a replica with room. */
static void
dispatch_model(struct qmodel *m)
{
	struct fairq_item *it;
	unsigned n = 0;

	while ((it = fairq_peek(&m->q)) != NULL) {
		struct qreq *r = (struct qreq *)it;
		struct reg_agent *agent;
		enum route_why why;
		int full;

		agent = queue_pick(Q.ad, m->ns, m->nslen, m->model, m->mlen, r->local_only, &full,
		    &why);
		if (agent == NULL && full)
			break;
		(void)fairq_pop(&m->q); /* r: its key's turn moves on */
		unlist(r);
		n++;
		release(r, m, agent, why, NULL);
	}
	fairq_rate_note(&m->rate, now_ms(), n);
}

/* Lines emptied while Q.dispatching kept them. */
static void
models_gc(void)
{
	struct qmodel *m, *next;

	for (m = TAILQ_FIRST(&Q.models); m != NULL; m = next) {
		next = TAILQ_NEXT(m, entry);
		model_free_if_empty(m);
	}
}

/* One pass over every line; lines stay until the pass is over. */
static void
dispatch_all(void)
{
	struct qmodel *m;

	Q.dispatching = 1;
	TAILQ_FOREACH(m, &Q.models, entry)
		dispatch_model(m);
	Q.dispatching = 0;
	models_gc();
}

static void
on_soon(h2o_timeout_entry_t *entry)
{
	(void)entry;
	dispatch_all();
}

/* Slots freed by what route_task_done does not see (a higher capacity, a new
 * agent), then the requests that waited too long. */
static void
on_tick(h2o_timeout_entry_t *entry)
{
	struct qreq *r, *next;
	int64_t now;

	(void)entry;
	dispatch_all();
	now = now_ms();
	/* lines (their rates say Retry-After) stay until the answers are out */
	Q.dispatching = 1;
	for (r = TAILQ_FIRST(&Q.all); r != NULL; r = next) {
		struct qmodel *m = r->m;
		unsigned gen = Q.closed_gen;

		next = TAILQ_NEXT(r, all);
		if (now < r->expires_ms)
			continue;
		detach(r);
		release(r, m, NULL, ROUTE_FULL, "it waited for a free replica as long as http.queue_timeout "
		    "allows");
		/* a worker connection closed meanwhile took its requests, maybe
		 * next among them: start over */
		if (gen != Q.closed_gen)
			next = TAILQ_FIRST(&Q.all);
	}
	Q.dispatching = 0;
	models_gc();
	if (Q.count != 0)
		arm_tick();
}

void
queue_init(struct agentd *ad)
{
	memset(&Q, 0, sizeof(Q));
	Q.ad = ad;
	TAILQ_INIT(&Q.models);
	TAILQ_INIT(&Q.all);
	h2o_timeout_init(ad->loop, &Q.soon, 0);
	Q.soon_entry.cb = on_soon;
	h2o_timeout_init(ad->loop, &Q.tick, QUEUE_TICK_MS);
	Q.tick_entry.cb = on_tick;
}

void
queue_free(void)
{
	struct qreq *r;

	if (Q.ad == NULL)
		return;
	while ((r = TAILQ_FIRST(&Q.all)) != NULL) {
		detach(r);
		qreq_free(r);
	}
	models_gc();
	if (h2o_timeout_is_linked(&Q.soon_entry))
		h2o_timeout_unlink(&Q.soon_entry);
	if (h2o_timeout_is_linked(&Q.tick_entry))
		h2o_timeout_unlink(&Q.tick_entry);
	h2o_timeout_dispose(Q.ad->loop, &Q.soon);
	h2o_timeout_dispose(Q.ad->loop, &Q.tick);
	Q.ad = NULL;
}

int
queue_waiting(const struct ipc_msg *msg)
{
	const struct qmodel *m = model_find(msg);

	return m != NULL && m->q.count != 0;
}

int
queue_request(struct worker_conn *wc, const struct ipc_msg *msg, int full)
{
	const struct tl_config *conf = Q.ad->conf;
	size_t reserve = msg->u.req_start.body_len < IPC_BODY_WINDOW ?
	    (size_t)msg->u.req_start.body_len : IPC_BODY_WINDOW;
	struct qmodel *m = model_find(msg);
	struct qreq *r;
	char why[128];

	if (!full && (m == NULL || m->q.count == 0))
		return 0;
	if (conf->http.queue_timeout_ms == 0) {
		refuse(wc, msg, m, "every replica is busy and http.queue_timeout is 0");
		return 1;
	}
	if (m != NULL && m->q.count >= conf->http.queue_max) {
		snprintf(why, sizeof(why), "%zu requests wait for it, http.queue_max", m->q.count);
		refuse(wc, msg, m, why);
		return 1;
	}
	if (Q.count >= QUEUE_TOTAL_MAX || Q.bytes + reserve > QUEUE_BYTES_MAX) {
		snprintf(why, sizeof(why), "%zu requests wait on this node", Q.count);
		refuse(wc, msg, m, why);
		return 1;
	}
	r = xcalloc(1, sizeof(*r));
	if (req_store_init(&r->rs, msg) != 0) {
		free(r);
		agentd_request_fail(wc, msg, 500, "api_error", "internal_error",
		    "the request could not be queued");
		return 1;
	}
	m = model_get(msg);
	r->m = m;
	r->wc = wc;
	r->queued_ms = now_ms();
	r->expires_ms = r->queued_ms + conf->http.queue_timeout_ms;
	r->local_only = (msg->u.req_start.flags & IPC_REQ_F_NO_FORWARD) != 0;
	fairq_push(&m->q, &r->fq, msg->u.req_start.key.base, msg->u.req_start.key.len);
	TAILQ_INSERT_TAIL(&Q.all, r, all);
	Q.count++;
	Q.bytes += r->rs.reserved;
	wc->nqueued++;
	log_debug("%s: request %.*s (key \"%.*s\") waits for %s:%s, %zu waiting", wc->ipc.name,
	    (int)msg->u.req_start.request_id.len, msg->u.req_start.request_id.base,
	    (int)msg->u.req_start.key.len, msg->u.req_start.key.base, m->ns, m->model,
	    m->q.count);
	if (!full)
		queue_kick(); /* a slot is free: the line moves on the next turn */
	arm_tick();
	return 1;
}

static struct qreq *
find(const struct worker_conn *wc, uint64_t id)
{
	struct qreq *r;

	if (wc->nqueued == 0)
		return NULL;
	TAILQ_FOREACH(r, &Q.all, all)
		if (r->wc == wc && r->rs.id == id)
			return r;
	return NULL;
}

int
queue_body(struct worker_conn *wc, const struct ipc_msg *msg)
{
	struct qreq *r = find(wc, msg->u.req_body.id);

	if (r == NULL)
		return 0;
	if (req_store_body(&r->rs, msg) != 0) {
		/* past the window we never granted: the worker's bug */
		log_warnx("%s: queued request %llu sent body past its credit; dropped",
		    wc->ipc.name, (unsigned long long)r->rs.id);
		detach(r);
		qreq_free(r);
		agentd_request_fail(wc, &(struct ipc_msg){ .type = IPC_REQ_START,
		    .u.req_start.id = msg->u.req_body.id }, 500, "api_error", "internal_error",
		    "request body flow control broke");
	}
	return 1;
}

int
queue_cancel(struct worker_conn *wc, uint64_t id)
{
	struct qreq *r = find(wc, id);

	if (r == NULL)
		return 0;
	log_debug("%s: queued request %llu cancelled by the client", wc->ipc.name,
	    (unsigned long long)id);
	detach(r);
	qreq_free(r);
	return 1;
}

void
queue_conn_closed(struct worker_conn *wc)
{
	struct qreq *r, *next;

	if (wc->nqueued == 0)
		return;
	log_info("%s: closed with %zu request(s) waiting for a replica: dropped", wc->ipc.name,
	    wc->nqueued);
	for (r = TAILQ_FIRST(&Q.all); r != NULL; r = next) {
		next = TAILQ_NEXT(r, all);
		if (r->wc == wc) {
			detach(r);
			qreq_free(r);
		}
	}
	Q.closed_gen++;
}

void
queue_kick(void)
{
	if (Q.ad != NULL && Q.count != 0 && !h2o_timeout_is_linked(&Q.soon_entry))
		h2o_timeout_link(Q.ad->loop, &Q.soon, &Q.soon_entry);
}
