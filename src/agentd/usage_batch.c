/*
 * usage_batch: USAGE from the workers, charged, and sent on to the master
 * in batches (see usage_batch.h for the contract).
 *
 * The records held are kept encoded, as the entries of a USAGE_BATCH
 * list, one after the other in arrival order (held), with each entry's
 * size beside (sizes): a record is copied as the worker encoded it, and a
 * flush sends them from the front as raw lists of at most a payload's
 * worth, without decoding or encoding them again. A record with a string
 * over USAGE_STR_MAX is encoded again with its strings cut. What the
 * master's queue did not take waits for the next tick.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "agentd.h"
#include "log.h"
#include "usage_batch.h"
#include "xmalloc.h"

/* Room left in a frame for USAGE_BATCH's own fields and the list count. */
#define FRAME_ROOM (IPC_MAX_PAYLOAD - 64)

/* The largest entry held: six strings of USAGE_STR_MAX and their lengths,
 * and the numbers (2 + 1 + 8 + 8 + 4 + 4 + 8 bytes). */
#define ENTRY_MAX (6 * (4 + USAGE_STR_MAX) + 35)
/* The held buffer's room kept between batches: a second's records of a
 * busy node; more, after a backlog, is given back. */
#define HELD_KEEP (1024 * 1024)

static struct {
	struct agentd *ad;
	struct buf held;         /* the entries, bound USAGE_BATCH_MAX * ENTRY_MAX */
	uint32_t *sizes;         /* each held entry's size, in order */
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
	buf_init(&B.held, (size_t)USAGE_BATCH_MAX * ENTRY_MAX);
	h2o_timeout_init(ad->loop, &B.tick, USAGE_BATCH_INTERVAL_MS);
	B.tick_entry.cb = on_tick;
	B.inited = 1;
}

static size_t
cut(size_t len)
{
	return len < USAGE_STR_MAX ? len : USAGE_STR_MAX;
}

static void
drop(void)
{
	B.dropped++;
	B.dropped_total++;
	if (!B.logged_drop) {
		log_warnx("usage: %d records wait for the master: dropping new ones "
		    "(%llu dropped so far)", USAGE_BATCH_MAX, (unsigned long long)B.dropped_total);
		B.logged_drop = 1;
	}
}

/* Keep record u, whose encoded entry (as the worker sent it) is raw. */
static void
hold(const struct ipc_usage *u, const uint8_t *raw, size_t len)
{
	size_t before = B.held.len;

	if (B.n >= USAGE_BATCH_MAX) {
		drop();
		return;
	}
	if (u->key.len > USAGE_STR_MAX || u->ns.len > USAGE_STR_MAX ||
	    u->model.len > USAGE_STR_MAX || u->node.len > USAGE_STR_MAX ||
	    u->request_id.len > USAGE_STR_MAX || u->end.len > USAGE_STR_MAX) {
		struct ipc_usage c = *u;

		c.key.len = cut(c.key.len);
		c.ns.len = cut(c.ns.len);
		c.model.len = cut(c.model.len);
		c.node.len = cut(c.node.len);
		c.request_id.len = cut(c.request_id.len);
		c.end.len = cut(c.end.len);
		if (ipc_usage_encode(&B.held, &c) == -1) {
			drop(); /* cannot be: ENTRY_MAX bounds it */
			return;
		}
	} else if (buf_append(&B.held, raw, len) == -1) {
		drop();
		return;
	}
	if (B.n == B.cap) {
		B.cap = B.cap ? B.cap * 2 : 256;
		B.sizes = xrealloc(B.sizes, B.cap * sizeof(*B.sizes)); /* cap <= 2 * USAGE_BATCH_MAX */
	}
	B.sizes[B.n++] = (uint32_t)(B.held.len - before);
	arm();
}

void
usage_batch_usage(struct worker_conn *wc, const struct ipc_msg *msg)
{
	struct ipc_list_iter it;
	struct ipc_usage u;
	const uint8_t *from;

	ipc_list_begin(&it, &msg->u.usage.records);
	for (from = it.p; ipc_usage_next(&it, &u); from = it.p) {
		if (u.flags & IPC_USAGE_F_FORWARDED)
			continue;
		if (u.key.len > 0 && (u.flags & IPC_USAGE_F_KNOWN)) {
			uint64_t t = u.prompt_tokens + u.completion_tokens;

			if (t < u.prompt_tokens) /* a sum that wraps: the most there is */
				t = UINT64_MAX;
			admission_charge(wc->ad, u.key.base, u.key.len, t);
		}
		hold(&u, from, (size_t)(it.p - from));
	}
}

/* How many records from index from on fit one frame, and their bytes. */
static size_t
fit(size_t from, size_t *bytes)
{
	size_t size = 0, i;

	for (i = from; i < B.n; i++) {
		if (B.sizes[i] > FRAME_ROOM - size)
			break;
		size += B.sizes[i];
	}
	*bytes = size;
	return i - from;
}

void
usage_batch_flush(void)
{
	size_t sent = 0;

	if (B.ad == NULL || !B.ad->master_open || (B.n == 0 && B.dropped == 0))
		goto out;
	while (sent < B.n || B.dropped > 0) {
		struct ipc_msg msg;
		size_t bytes, k = fit(sent, &bytes);

		/* half the master's queue stays for the agent reports (AGENT_UP...):
		 * usage may wait a tick, they should not */
		if (B.ad->master.queue.len > AGENTD_MASTER_OUT_MAX / 2)
			break;
		memset(&msg, 0, sizeof(msg));
		msg.type = IPC_USAGE_BATCH;
		msg.u.usage_batch.dropped = B.dropped;
		msg.u.usage_batch.records = (struct ipc_list){ (uint32_t)k, buf_head(&B.held), bytes };
		/* the master's queue is full: the rest waits for the next tick */
		if (ipc_conn_send(&B.ad->master, &msg, NULL) == -1)
			break;
		buf_consume(&B.held, bytes);
		sent += k;
		B.dropped = 0;
		B.logged_drop = 0;
	}
	memmove(B.sizes, B.sizes + sent, (B.n - sent) * sizeof(*B.sizes));
	B.n -= sent;
	/* a backlog (the master away) is not kept in memory once sent */
	if (B.n == 0 && B.held.cap > HELD_KEEP) {
		buf_free(&B.held);
		buf_init(&B.held, (size_t)USAGE_BATCH_MAX * ENTRY_MAX);
	}
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
	buf_free(&B.held);
	free(B.sizes);
	if (B.inited) {
		if (h2o_timeout_is_linked(&B.tick_entry))
			h2o_timeout_unlink(&B.tick_entry);
		h2o_timeout_dispose(B.ad->loop, &B.tick);
	}
	memset(&B, 0, sizeof(B));
}
