/*
 * hold: requests that arrive while agentd has just started and the agents
 * of their namespace have not relinked yet.
 *
 * After a start (a respawn after a crash is a start), the agents come
 * back within their reconnect backoff, a few seconds. For
 * agents.relink_grace from the start, a request for a namespace that is
 * known (configured, or in the network's snapshot) but has no agent
 * linked yet is held here instead of being refused with no_agent; when an
 * agent publishes models (the registry's models_published hook, local or
 * remote), the held requests of namespaces that have an agent now are
 * routed again, oldest first, on the next loop turn (never from inside
 * the registry's update): as usual, an agent publishing the model gets
 * it, and none gives 404. At the end of the grace, the ones left are
 * routed once more with holding over: 503 no_agent, as without the grace.
 *
 * What is held: the REQ_START and the body bytes the worker sends
 * meanwhile (req_store.h), at most IPC_BODY_WINDOW bytes of body per
 * request; the whole hold is bounded by
 * HOLD_MAX requests and HOLD_BYTES_MAX body bytes. Past a bound, the
 * request is answered at once as before. A CANCEL or the worker's
 * connection closing drops its held requests.
 */
#include "config.h"

#include <string.h>
#include <sys/queue.h>

#include "agentd.h"
#include "hold.h"
#include "log.h"
#include "req_store.h"
#include "xmalloc.h"

#define HOLD_MAX 4096
#define HOLD_BYTES_MAX (64 * 1024 * 1024)

struct held {
	TAILQ_ENTRY(held) entry;
	struct worker_conn *wc;
	struct req_store rs; /* rs.reserved counts in HOLD_BYTES_MAX */
};

static struct {
	struct agentd *ad;
	TAILQ_HEAD(, held) list;
	size_t count, bytes;
	int over;                    /* the grace has ended: hold nothing more */
	unsigned closed_gen;         /* worker connections closed while routing */
	h2o_timeout_t grace;         /* agents.relink_grace from the start */
	h2o_timeout_entry_t grace_entry;
	h2o_timeout_t soon;          /* zero: a retry after a registry change */
	h2o_timeout_entry_t soon_entry;
} H;

static void
held_free(struct held *h)
{
	TAILQ_REMOVE(&H.list, h, entry);
	H.count--;
	H.bytes -= h->rs.reserved;
	req_store_free(&h->rs);
	free(h);
}

/* Take h out and route it as if it had just arrived, then its body. */
static void
release(struct held *h)
{
	struct worker_conn *wc = h->wc;
	struct ipc_msg start;
	const char *why;

	TAILQ_REMOVE(&H.list, h, entry);
	H.count--;
	H.bytes -= h->rs.reserved;
	wc->nheld--;
	if (req_store_start(&h->rs, &start, &why) != 0) {
		/* we encoded it ourselves: cannot happen, said loudly */
		log_warnx("%s: held request %llu cannot be decoded again (%s); dropped",
		    wc->ipc.name, (unsigned long long)h->rs.id, why);
		goto done;
	}
	/* a close while we route (the worker's queue full) waits for the
	 * end, as it does during a read: wc stays valid until then */
	ipc_conn_pin(&wc->ipc);
	agentd_request_start(wc, &start);
	req_store_replay_body(&h->rs, wc);
	if (wc->ipc.closed)
		H.closed_gen++;
	ipc_conn_unpin(&wc->ipc); /* may free wc */
done:
	req_store_free(&h->rs);
	free(h);
}

/* Route every held request whose namespace has an agent now. */
static void
on_soon(h2o_timeout_entry_t *entry)
{
	struct held *h, *next;

	for (h = TAILQ_FIRST(&H.list); h != NULL; h = next) {
		struct ipc_msg m;
		struct reg_namespace *rns;
		const char *why;
		unsigned gen = H.closed_gen;

		next = TAILQ_NEXT(h, entry);
		if (req_store_start(&h->rs, &m, &why) != 0 ||
		    (rns = registry_namespace(&H.ad->registry, m.u.req_start.ns.base,
		    m.u.req_start.ns.len)) == NULL || rns->nagents == 0)
			continue;
		release(h);
		/* a worker connection closed meanwhile took its held requests,
		 * maybe next among them: start over */
		if (gen != H.closed_gen)
			next = TAILQ_FIRST(&H.list);
	}
}

static void
on_models_published(void *data)
{
	if (H.count != 0 && !h2o_timeout_is_linked(&H.soon_entry))
		h2o_timeout_link(H.ad->loop, &H.soon, &H.soon_entry);
}

static void
on_grace_end(h2o_timeout_entry_t *entry)
{
	H.over = 1;
	if (H.count != 0)
		log_warnx("relink grace over: %zu held request(s) still have no agent", H.count);
	while (!TAILQ_EMPTY(&H.list))
		release(TAILQ_FIRST(&H.list));
}

void
hold_init(struct agentd *ad)
{
	memset(&H, 0, sizeof(H));
	H.ad = ad;
	TAILQ_INIT(&H.list);
	ad->registry.models_published = on_models_published;
	ad->registry.hook_data = ad;
	h2o_timeout_init(ad->loop, &H.soon, 0);
	H.soon_entry.cb = on_soon;
	h2o_timeout_init(ad->loop, &H.grace, ad->conf->agents.relink_grace_ms);
	H.grace_entry.cb = on_grace_end;
	if (ad->conf->agents.relink_grace_ms == 0)
		H.over = 1;
	else
		h2o_timeout_link(ad->loop, &H.grace, &H.grace_entry);
}

void
hold_free(void)
{
	struct held *h;

	if (H.ad == NULL)
		return;
	while ((h = TAILQ_FIRST(&H.list)) != NULL) {
		h->wc->nheld--;
		held_free(h);
	}
	if (h2o_timeout_is_linked(&H.grace_entry))
		h2o_timeout_unlink(&H.grace_entry);
	if (h2o_timeout_is_linked(&H.soon_entry))
		h2o_timeout_unlink(&H.soon_entry);
	h2o_timeout_dispose(H.ad->loop, &H.grace);
	h2o_timeout_dispose(H.ad->loop, &H.soon);
	H.ad = NULL;
}

int
hold_request(struct worker_conn *wc, const struct ipc_msg *msg)
{
	size_t reserve = msg->u.req_start.body_len < IPC_BODY_WINDOW ?
	    (size_t)msg->u.req_start.body_len : IPC_BODY_WINDOW;
	struct held *h;

	if (H.over || H.ad == NULL || H.count >= HOLD_MAX || H.bytes + reserve > HOLD_BYTES_MAX)
		return 0;
	h = xcalloc(1, sizeof(*h));
	if (req_store_init(&h->rs, msg) != 0) {
		free(h);
		return 0;
	}
	h->wc = wc;
	TAILQ_INSERT_TAIL(&H.list, h, entry);
	H.count++;
	H.bytes += h->rs.reserved;
	wc->nheld++;
	log_debug("%s: request %llu (%.*s) held until an agent of %.*s links", wc->ipc.name,
	    (unsigned long long)h->rs.id, (int)msg->u.req_start.request_id.len,
	    msg->u.req_start.request_id.base, (int)msg->u.req_start.ns.len,
	    msg->u.req_start.ns.base);
	return 1;
}

static struct held *
find(const struct worker_conn *wc, uint64_t id)
{
	struct held *h;

	if (wc->nheld == 0)
		return NULL;
	TAILQ_FOREACH(h, &H.list, entry)
		if (h->wc == wc && h->rs.id == id)
			return h;
	return NULL;
}

int
hold_body(struct worker_conn *wc, const struct ipc_msg *msg)
{
	struct held *h = find(wc, msg->u.req_body.id);

	if (h == NULL)
		return 0;
	if (req_store_body(&h->rs, msg) != 0) {
		/* past the window we never granted: the worker's bug */
		log_warnx("%s: held request %llu sent body past its credit; dropped", wc->ipc.name,
		    (unsigned long long)h->rs.id);
		wc->nheld--;
		held_free(h);
		agentd_request_fail(wc, &(struct ipc_msg){ .type = IPC_REQ_START,
		    .u.req_start.id = msg->u.req_body.id }, 500, "api_error", "internal_error",
		    "request body flow control broke");
		return 1;
	}
	return 1;
}

int
hold_cancel(struct worker_conn *wc, uint64_t id)
{
	struct held *h = find(wc, id);

	if (h == NULL)
		return 0;
	log_debug("%s: held request %llu cancelled by the client", wc->ipc.name,
	    (unsigned long long)id);
	wc->nheld--;
	held_free(h);
	return 1;
}

void
hold_conn_closed(struct worker_conn *wc)
{
	struct held *h, *next;

	if (wc->nheld == 0)
		return;
	for (h = TAILQ_FIRST(&H.list); h != NULL; h = next) {
		next = TAILQ_NEXT(h, entry);
		if (h->wc == wc) {
			wc->nheld--;
			held_free(h);
		}
	}
}
