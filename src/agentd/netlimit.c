/*
 * netlimit: KEY_LOAD to the master twice a second, KEY_REMOTE into the
 * limiter (see netlimit.h for the contract).
 *
 * The names a KEY_REMOTE snapshot set are kept sorted (one fixed-size
 * slot each) so that the next complete snapshot can find, by binary
 * search, the keys it no longer lists and zero their remote counts.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admission.h"
#include "agentd.h"
#include "limiter.h"
#include "log.h"
#include "netlimit.h"
#include "xmalloc.h"

/* Room in a frame for KEY_LOAD's own fields and the list count. */
#define FRAME_ROOM (IPC_MAX_PAYLOAD - 64)

typedef char name_slot[APIKEY_NAME_MAX + 1];

static struct {
	struct agentd *ad;
	h2o_timeout_t tick;
	h2o_timeout_entry_t tick_entry;
	int inited;
	/* the report being built */
	struct ipc_key_load *loads;
	size_t nloads, room, cap;
	int cut_logged;
	/* names of the last complete KEY_REMOTE (sorted), and of the one
	 * being received */
	name_slot *prev, *next;
	size_t nprev, nnext;
} N;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
arm(void)
{
	if (N.inited && !h2o_timeout_is_linked(&N.tick_entry))
		h2o_timeout_link(N.ad->loop, &N.tick, &N.tick_entry);
}

/* limiter_each: one key's local counts into the report. The name points
 * into the limiter, which does not change until the frame is encoded. */
static void
add_load(void *arg, const char *name, size_t len, const struct limiter_counts *c)
{
	struct ipc_key_load k = { { name, len }, c->requests, c->tokens, c->in_flight,
		c->tokens_day, c->tokens_month };
	size_t s = ipc_key_load_size(&k);

	(void)arg;
	if (s > N.room) {
		if (!N.cut_logged)
			log_warnx("network limits: more keys in use than one report holds; "
			    "some are limited on this node's counts only");
		N.cut_logged = 1;
		return;
	}
	if (N.nloads == N.cap) {
		N.cap = N.cap ? N.cap * 2 : 64;
		N.loads = xrealloc(N.loads, N.cap * sizeof(*N.loads)); /* <= 2 * LIMITER_MAX_KEYS */
	}
	N.loads[N.nloads++] = k;
	N.room -= s;
}

static void
report(void)
{
	struct ipc_encode_lists lists;
	struct ipc_msg msg;
	int64_t now = now_ms();

	/* the master's queue is busy: the counts of the next tick are newer */
	if (!N.ad->master_open || N.ad->master.queue.len > AGENTD_MASTER_OUT_MAX / 2)
		return;
	N.nloads = 0;
	N.room = FRAME_ROOM;
	if (N.ad->limiter != NULL)
		(void)limiter_each(N.ad->limiter, now, add_load, NULL);
	memset(&msg, 0, sizeof(msg));
	memset(&lists, 0, sizeof(lists));
	msg.type = IPC_KEY_LOAD;
	msg.u.key_load.unix_ms = (uint64_t)now;
	lists.key_loads = N.loads;
	lists.nkey_loads = N.nloads;
	if (ipc_conn_send(&N.ad->master, &msg, &lists) == -1)
		log_debug("network limits: the master's queue is full; report skipped");
}

static void
on_tick(h2o_timeout_entry_t *entry)
{
	(void)entry;
	report();
	arm();
}

void
netlimit_init(struct agentd *ad)
{
	memset(&N, 0, sizeof(N));
	N.ad = ad;
	if (ad->conf->database.url == NULL)
		return; /* standalone: one node, nothing to share */
	h2o_timeout_init(ad->loop, &N.tick, NETLIMIT_INTERVAL_MS);
	N.tick_entry.cb = on_tick;
	N.inited = 1;
	N.prev = xcalloc(LIMITER_MAX_KEYS, sizeof(*N.prev));
	N.next = xcalloc(LIMITER_MAX_KEYS, sizeof(*N.next));
	arm();
}

static int
slot_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static uint32_t
clamp32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

void
netlimit_remote(struct agentd *ad, const struct ipc_msg *msg)
{
	struct limiter *l;
	struct ipc_list_iter it;
	struct ipc_key_load k;
	int64_t now = now_ms();
	name_slot *swap;

	if (!N.inited)
		return; /* a standalone agentd: the master has nothing to say */
	l = admission_limiter(ad);
	ipc_list_begin(&it, &msg->u.key_remote.loads);
	while (ipc_key_load_next(&it, &k)) {
		struct limiter_remote r = { clamp32(k.requests), clamp32(k.tokens),
			clamp32(k.in_flight), k.tokens_day, k.tokens_month };

		/* the master read these names from our own database rows;
		 * anything else is not a key name: skip it */
		if (k.key.len == 0 || k.key.len > APIKEY_NAME_MAX ||
		    memchr(k.key.base, '\0', k.key.len) != NULL)
			continue;
		limiter_set_remote(l, k.key.base, k.key.len, &r, now);
		if (N.nnext < LIMITER_MAX_KEYS)
			ipc_str_copy(N.next[N.nnext++], sizeof(name_slot), k.key);
	}
	if (msg->u.key_remote.more)
		return;
	/* complete: a key the last snapshot listed and this one does not has
	 * nothing elsewhere any more */
	qsort(N.next, N.nnext, sizeof(*N.next), slot_cmp);
	for (size_t i = 0; i < N.nprev; i++) {
		static const struct limiter_remote zero;

		if (bsearch(N.prev[i], N.next, N.nnext, sizeof(*N.next), slot_cmp) == NULL)
			limiter_set_remote(l, N.prev[i], strlen(N.prev[i]), &zero, now);
	}
	swap = N.prev;
	N.prev = N.next;
	N.nprev = N.nnext;
	N.next = swap;
	N.nnext = 0;
}

void
netlimit_free(void)
{
	if (N.inited) {
		if (h2o_timeout_is_linked(&N.tick_entry))
			h2o_timeout_unlink(&N.tick_entry);
		h2o_timeout_dispose(N.ad->loop, &N.tick);
	}
	free(N.loads);
	free(N.prev);
	free(N.next);
	memset(&N, 0, sizeof(N));
}
