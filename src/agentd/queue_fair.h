/*
 * queue_fair: the waiting line of one model, fair between API keys.
 *
 * Items wait per key (the API key's name; "" = anonymous is one key like
 * the others), first in first out within a key. The keys that have items
 * form a ring: the next item served is the oldest of the key at the
 * ring's head, and that key then goes to the ring's tail. A key sending
 * 100 requests at once and one sending 1 alternate: the 1 waits for at
 * most one of the 100. A key that joins goes to the tail of the ring.
 *
 * Items are the caller's (embedded, struct fairq_item); the queue owns
 * its per-key records (a key with no item left is freed). Key names are
 * copied, at most FAIRQ_KEY_MAX bytes (longer ones are cut: the worker
 * checks key names long before this).
 */
#ifndef TL_AGENTD_QUEUE_FAIR_H
#define TL_AGENTD_QUEUE_FAIR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#define FAIRQ_KEY_MAX 256

struct fairq_key;

struct fairq_item {
	TAILQ_ENTRY(fairq_item) entry; /* in its key's line */
	struct fairq_key *key;
};

struct fairq_key {
	TAILQ_ENTRY(fairq_key) ring;
	TAILQ_HEAD(, fairq_item) items;
	size_t count;
	size_t namelen;
	char name[FAIRQ_KEY_MAX];
};

struct fairq {
	TAILQ_HEAD(, fairq_key) ring; /* keys with items; head = served next */
	size_t count;                 /* items */
	size_t nkeys;
};

void fairq_init(struct fairq *q);
/* Queue it at the end of its key's line. */
void fairq_push(struct fairq *q, struct fairq_item *it, const char *key, size_t keylen);
/* The item served next, NULL if none (it stays queued). */
struct fairq_item *fairq_peek(const struct fairq *q);
/* Take the item served next out, and move its key to the ring's tail. */
struct fairq_item *fairq_pop(struct fairq *q);
/* Take any queued item out (cancelled, timed out); the ring keeps its order. */
void fairq_remove(struct fairq *q, struct fairq_item *it);

/*
 * How fast a line drains: items served per second, averaged over windows
 * of at least FAIRQ_RATE_WINDOW_MS, each new window weighing half (an
 * EWMA that forgets a burst within a few seconds).
 */
#define FAIRQ_RATE_WINDOW_MS 1000
struct fairq_rate {
	double per_s;       /* 0 = not measured yet (or nothing served) */
	int64_t window_ms;  /* the current window started then */
	unsigned count;     /* served in it */
	int started;
};
/* n items were served at now_ms (monotonic); n = 0 just lets time pass. */
void fairq_rate_note(struct fairq_rate *r, int64_t now_ms, unsigned n);
/* Seconds for `waiting` items to drain at that rate, rounded up, within
 * lo..hi; fallback_s (within the same bounds) with no rate measured. */
unsigned fairq_retry_after(const struct fairq_rate *r, size_t waiting, double fallback_s,
    unsigned lo, unsigned hi);

#endif
