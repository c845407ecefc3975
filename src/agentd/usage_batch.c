/*
 * usage_batch: USAGE from the workers, charged, and sent on to the master
 * in batches (see usage_batch.h for the contract).
 *
 * Each record held is one allocation: the ipc_usage with its strings
 * copied behind it (the decoded frame points into the worker
 * connection's input, which moves on). The held records are an array in
 * arrival order; a flush sends them from the front in frames of at most
 * a payload's worth, and keeps what the master's queue did not take for
 * the next tick.
 */
#include "config.h"

#include <string.h>

#include "admission.h"
#include "agentd.h"
#include "log.h"
#include "usage_batch.h"
#include "xmalloc.h"

/* Room left in a frame for USAGE_BATCH's own fields and the list count. */
#define FRAME_ROOM (IPC_MAX_PAYLOAD - 64)

struct rec {
	struct ipc_usage u;
	char mem[]; /* the six strings, each cut at USAGE_STR_MAX */
};

static struct {
	struct agentd *ad;
	struct rec **recs;
	size_t n, cap;
	uint64_t dropped;        /* since the last batch the master took */
	uint64_t dropped_total;
	int logged_drop;         /* the drop was logged in this batch */
	h2o_timeout_t tick;
	h2o_timeout_entry_t tick_entry;
	int inited;
} B;

static void
on_tick(h2o_timeout_entry_t *entry)
{
	(void)entry;
	usage_batch_flush();
}

static void
arm(void)
{
	if (B.inited && !h2o_timeout_is_linked(&B.tick_entry))
		h2o_timeout_link(B.ad->loop, &B.tick, &B.tick_entry);
}

void
usage_batch_init(struct agentd *ad)
{
	memset(&B, 0, sizeof(B));
	B.ad = ad;
	h2o_timeout_init(ad->loop, &B.tick, USAGE_BATCH_INTERVAL_MS);
	B.tick_entry.cb = on_tick;
	B.inited = 1;
}

static size_t
cut(size_t len)
{
	return len < USAGE_STR_MAX ? len : USAGE_STR_MAX;
}

/* Copy s into *at and point *dst at the copy. */
static void
keep_str(struct ipc_str *dst, struct ipc_str s, char **at)
{
	size_t n = cut(s.len);

	if (n > 0)
		memcpy(*at, s.base, n);
	*dst = (struct ipc_str){ *at, n };
	*at += n;
}

static void
hold(const struct ipc_usage *u)
{
	size_t need = cut(u->key.len) + cut(u->ns.len) + cut(u->model.len) + cut(u->node.len) +
	    cut(u->request_id.len) + cut(u->end.len);
	struct rec *r;
	char *at;

	if (B.n >= USAGE_BATCH_MAX) {
		B.dropped++;
		B.dropped_total++;
		if (!B.logged_drop) {
			log_warnx("usage: %d records wait for the master: dropping new ones "
			    "(%llu dropped so far)", USAGE_BATCH_MAX,
			    (unsigned long long)B.dropped_total);
			B.logged_drop = 1;
		}
		return;
	}
	if (B.n == B.cap) {
		B.cap = B.cap ? B.cap * 2 : 256;
		B.recs = xrealloc(B.recs, B.cap * sizeof(*B.recs)); /* cap <= 2 * USAGE_BATCH_MAX */
	}
	r = xmalloc(sizeof(*r) + need);
	r->u = *u;
	at = r->mem;
	keep_str(&r->u.key, u->key, &at);
	keep_str(&r->u.ns, u->ns, &at);
	keep_str(&r->u.model, u->model, &at);
	keep_str(&r->u.node, u->node, &at);
	keep_str(&r->u.request_id, u->request_id, &at);
	keep_str(&r->u.end, u->end, &at);
	B.recs[B.n++] = r;
	arm();
}

void
usage_batch_usage(struct worker_conn *wc, const struct ipc_msg *msg)
{
	struct ipc_list_iter it;
	struct ipc_usage u;

	ipc_list_begin(&it, &msg->u.usage.records);
	while (ipc_usage_next(&it, &u)) {
		if (u.flags & IPC_USAGE_F_FORWARDED)
			continue;
		if (u.key.len > 0 && (u.flags & IPC_USAGE_F_KNOWN)) {
			uint64_t t = u.prompt_tokens + u.completion_tokens;

			if (t < u.prompt_tokens) /* a sum that wraps: the most there is */
				t = UINT64_MAX;
			admission_charge(wc->ad, u.key.base, u.key.len, t);
		}
		hold(&u);
	}
}

/* How many records from index from on fit one frame. */
static size_t
fit(size_t from)
{
	size_t size = 0, i;

	for (i = from; i < B.n; i++) {
		size_t s = ipc_usage_size(&B.recs[i]->u);

		if (s > FRAME_ROOM - size)
			break;
		size += s;
	}
	return i - from;
}

void
usage_batch_flush(void)
{
	struct ipc_usage *arr = NULL;
	size_t sent = 0;

	if (B.ad == NULL || !B.ad->master_open || (B.n == 0 && B.dropped == 0))
		goto out;
	while (sent < B.n || B.dropped > 0) {
		struct ipc_encode_lists lists;
		struct ipc_msg msg;
		size_t k = fit(sent);

		/* half the master's queue stays for the agent reports (AGENT_UP...):
		 * usage may wait a tick, they should not */
		if (B.ad->master.queue.len > AGENTD_MASTER_OUT_MAX / 2)
			break;
		arr = xrealloc(arr, (k ? k : 1) * sizeof(*arr)); /* k < a frame's records */
		for (size_t i = 0; i < k; i++)
			arr[i] = B.recs[sent + i]->u;
		memset(&msg, 0, sizeof(msg));
		memset(&lists, 0, sizeof(lists));
		msg.type = IPC_USAGE_BATCH;
		msg.u.usage_batch.dropped = B.dropped;
		lists.usages = arr;
		lists.nusages = k;
		/* the master's queue is full: the rest waits for the next tick */
		if (ipc_conn_send(&B.ad->master, &msg, &lists) == -1)
			break;
		for (size_t i = 0; i < k; i++)
			free(B.recs[sent + i]);
		sent += k;
		B.dropped = 0;
		B.logged_drop = 0;
	}
	free(arr);
	memmove(B.recs, B.recs + sent, (B.n - sent) * sizeof(*B.recs));
	B.n -= sent;
out:
	if (B.n > 0 || B.dropped > 0)
		arm();
}

size_t
usage_batch_held(void)
{
	return B.n;
}

void
usage_batch_free(void)
{
	if (B.n > 0 || B.dropped > 0)
		log_warnx("usage: %zu records not sent to the master at exit (%llu dropped before)",
		    B.n, (unsigned long long)B.dropped);
	for (size_t i = 0; i < B.n; i++)
		free(B.recs[i]);
	free(B.recs);
	if (B.inited) {
		if (h2o_timeout_is_linked(&B.tick_entry))
			h2o_timeout_unlink(&B.tick_entry);
		h2o_timeout_dispose(B.ad->loop, &B.tick);
	}
	memset(&B, 0, sizeof(B));
}
