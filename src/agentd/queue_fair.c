/*
 * queue_fair: see queue_fair.h. Finding a key on push is a walk over the
 * keys that have items: at most as many as the model's queue bound
 * (http.queue_max), and usually a handful.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "queue_fair.h"
#include "xmalloc.h"

void
fairq_init(struct fairq *q)
{
	memset(q, 0, sizeof(*q));
	TAILQ_INIT(&q->ring);
}

void
fairq_push(struct fairq *q, struct fairq_item *it, const char *key, size_t keylen)
{
	struct fairq_key *k;

	if (keylen > FAIRQ_KEY_MAX)
		keylen = FAIRQ_KEY_MAX;
	TAILQ_FOREACH(k, &q->ring, ring)
		if (k->namelen == keylen && memcmp(k->name, key, keylen) == 0)
			break;
	if (k == NULL) {
		k = xcalloc(1, sizeof(*k));
		TAILQ_INIT(&k->items);
		memcpy(k->name, key, keylen);
		k->namelen = keylen;
		TAILQ_INSERT_TAIL(&q->ring, k, ring);
		q->nkeys++;
	}
	it->key = k;
	TAILQ_INSERT_TAIL(&k->items, it, entry);
	k->count++;
	q->count++;
}

struct fairq_item *
fairq_peek(const struct fairq *q)
{
	struct fairq_key *k = TAILQ_FIRST(&q->ring);

	return k != NULL ? TAILQ_FIRST(&k->items) : NULL;
}

/* Unlink it; a key left without items leaves the ring. */
static void
take(struct fairq *q, struct fairq_item *it)
{
	struct fairq_key *k = it->key;

	TAILQ_REMOVE(&k->items, it, entry);
	k->count--;
	q->count--;
	it->key = NULL;
	if (k->count == 0) {
		TAILQ_REMOVE(&q->ring, k, ring);
		q->nkeys--;
		free(k);
	}
}

struct fairq_item *
fairq_pop(struct fairq *q)
{
	struct fairq_key *k = TAILQ_FIRST(&q->ring);
	struct fairq_item *it;

	if (k == NULL)
		return NULL;
	it = TAILQ_FIRST(&k->items);
	if (k->count > 1) {
		/* its turn is over: the other keys first */
		TAILQ_REMOVE(&q->ring, k, ring);
		TAILQ_INSERT_TAIL(&q->ring, k, ring);
	}
	take(q, it);
	return it;
}

void
fairq_remove(struct fairq *q, struct fairq_item *it)
{
	take(q, it);
}

void
fairq_rate_note(struct fairq_rate *r, int64_t now_ms, unsigned n)
{
	int64_t elapsed;
	double inst;

	if (!r->started) {
		r->started = 1;
		r->window_ms = now_ms;
	}
	r->count += n;
	elapsed = now_ms - r->window_ms;
	if (elapsed < FAIRQ_RATE_WINDOW_MS)
		return;
	inst = r->count * 1000.0 / (double)elapsed;
	r->per_s = r->per_s == 0 ? inst : (r->per_s + inst) / 2;
	r->window_ms = now_ms;
	r->count = 0;
}

unsigned
fairq_retry_after(const struct fairq_rate *r, size_t waiting, double fallback_s, unsigned lo,
    unsigned hi)
{
	double s = r != NULL && r->per_s > 0 ? (double)waiting / r->per_s : fallback_s;

	if (s <= lo)
		return lo;
	if (s >= hi)
		return hi;
	return (unsigned)s + (s > (unsigned)s);
}
