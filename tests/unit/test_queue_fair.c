/*
 * test_queue_fair: the admission queue's line (queue_fair.c): FIFO
 * within a key, round robin over keys, a greedy key with 100 waiting
 * does not starve one with 1, the anonymous key "" is a key like the
 * others, removal from anywhere keeps the order, keys are freed when
 * empty; the drain rate and the Retry-After it gives.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "queue_fair.h"

struct item {
	struct fairq_item fq; /* first: the queue hands back &fq */
	char key[16];
	int n;
};

static struct item *
push(struct fairq *q, const char *key, int n)
{
	struct item *it = calloc(1, sizeof(*it));

	snprintf(it->key, sizeof(it->key), "%s", key);
	it->n = n;
	fairq_push(q, &it->fq, key, strlen(key));
	return it;
}

static struct item *
pop(struct fairq *q)
{
	return (struct item *)fairq_pop(q);
}

/* Pop everything: "key:n key:n ..." */
static const char *
drain(struct fairq *q)
{
	static char out[8192];
	struct item *it;
	size_t off = 0;

	out[0] = '\0';
	while ((it = pop(q)) != NULL) {
		off += snprintf(out + off, sizeof(out) - off, "%s%s:%d", off ? " " : "", it->key,
		    it->n);
		free(it);
	}
	return out;
}

static void
test_fifo_one_key(void)
{
	struct fairq q;

	fairq_init(&q);
	CHECK(fairq_peek(&q) == NULL && fairq_pop(&q) == NULL);
	push(&q, "a", 1);
	push(&q, "a", 2);
	push(&q, "a", 3);
	CHECK(q.count == 3 && q.nkeys == 1);
	CHECK(((struct item *)fairq_peek(&q))->n == 1);
	CHECK(strcmp(drain(&q), "a:1 a:2 a:3") == 0);
	CHECK(q.count == 0 && q.nkeys == 0 && fairq_peek(&q) == NULL);
}

static void
test_round_robin(void)
{
	struct fairq q;

	fairq_init(&q);
	push(&q, "a", 1);
	push(&q, "a", 2);
	push(&q, "a", 3);
	push(&q, "b", 1);
	push(&q, "", 1); /* anonymous */
	push(&q, "b", 2);
	CHECK(q.nkeys == 3);
	CHECK(strcmp(drain(&q), "a:1 b:1 :1 a:2 b:2 a:3") == 0);
}

/* A key sending 100 at once, then one sending 1: the one is served
 * after at most one of the 100, and again for each new one it sends. */
static void
test_greedy_and_polite(void)
{
	struct fairq q;
	struct item *it;
	int served_greedy = 0;

	fairq_init(&q);
	for (int i = 1; i <= 100; i++)
		push(&q, "greedy", i);
	it = pop(&q); /* one slot frees before the polite key comes */
	CHECK(strcmp(it->key, "greedy") == 0 && it->n == 1);
	free(it);
	for (int round = 1; round <= 10; round++) {
		int before = 0;

		push(&q, "polite", round);
		while ((it = pop(&q)) != NULL && strcmp(it->key, "polite") != 0) {
			before++;
			served_greedy++;
			free(it);
		}
		CHECK(it != NULL && it->n == round);
		CHECK(before <= 1);
		free(it);
	}
	CHECK(served_greedy <= 10);
	CHECK(q.count == 99 - (size_t)served_greedy && q.nkeys == 1);
	drain(&q);
}

static void
test_remove(void)
{
	struct fairq q;
	struct item *a1, *a2, *b1, *c1;

	fairq_init(&q);
	a1 = push(&q, "a", 1);
	a2 = push(&q, "a", 2);
	b1 = push(&q, "b", 1);
	c1 = push(&q, "c", 1);
	/* the head of the head key: the next is a's next */
	fairq_remove(&q, &a1->fq);
	free(a1);
	CHECK(((struct item *)fairq_peek(&q))->n == 2);
	/* a key's only item: the key goes */
	fairq_remove(&q, &b1->fq);
	free(b1);
	CHECK(q.nkeys == 2 && q.count == 2);
	fairq_remove(&q, &a2->fq);
	free(a2);
	CHECK(((struct item *)fairq_peek(&q)) == c1);
	/* a key that comes back after leaving goes to the tail */
	push(&q, "a", 3);
	push(&q, "c", 2);
	CHECK(strcmp(drain(&q), "c:1 a:3 c:2") == 0);
	CHECK(q.count == 0 && q.nkeys == 0);
}

static void
test_long_key(void)
{
	struct fairq q;
	char k1[FAIRQ_KEY_MAX + 10], k2[FAIRQ_KEY_MAX + 10];
	struct fairq_item i1, i2;

	fairq_init(&q);
	memset(k1, 'x', sizeof(k1));
	memcpy(k2, k1, sizeof(k2));
	k2[sizeof(k2) - 1] = 'y'; /* differs past the bound: the same key */
	fairq_push(&q, &i1, k1, sizeof(k1));
	fairq_push(&q, &i2, k2, sizeof(k2));
	CHECK(q.nkeys == 1 && q.count == 2);
	CHECK(fairq_pop(&q) == &i1 && fairq_pop(&q) == &i2);
	CHECK(q.nkeys == 0);
}

static void
test_rate(void)
{
	struct fairq_rate r;

	memset(&r, 0, sizeof(r));
	/* nothing measured: the fallback, within the bounds */
	CHECK(fairq_retry_after(&r, 10, 30, 1, 60) == 30);
	CHECK(fairq_retry_after(&r, 10, 0, 1, 60) == 1);
	CHECK(fairq_retry_after(&r, 10, 600, 1, 60) == 60);
	CHECK(fairq_retry_after(NULL, 10, 2.5, 1, 60) == 3);
	/* less than a window: no rate yet */
	fairq_rate_note(&r, 5000, 0);
	fairq_rate_note(&r, 5500, 3);
	CHECK(r.per_s == 0);
	/* 4 in the first second: 4/s; 10 waiting drain in 2.5 s -> 3 */
	fairq_rate_note(&r, 6000, 1);
	CHECK(r.per_s == 4);
	CHECK(fairq_retry_after(&r, 10, 30, 1, 60) == 3);
	CHECK(fairq_retry_after(&r, 8, 30, 1, 60) == 2);
	CHECK(fairq_retry_after(&r, 0, 30, 1, 60) == 1);
	CHECK(fairq_retry_after(&r, 1000, 30, 1, 60) == 60);
	/* then 1 in the next second: the new window weighs half -> 2.5/s */
	fairq_rate_note(&r, 6500, 0);
	fairq_rate_note(&r, 7000, 1);
	CHECK(r.per_s == 2.5);
	/* a stalled line: the rate halves per window */
	fairq_rate_note(&r, 8000, 0);
	CHECK(r.per_s == 1.25);
	CHECK(fairq_retry_after(&r, 5, 30, 1, 60) == 4);
}

int
main(void)
{
	test_fifo_one_key();
	test_round_robin();
	test_greedy_and_polite();
	test_remove();
	test_long_key();
	test_rate();
	if (failures)
		fprintf(stderr, "test_queue_fair: %d failure(s)\n", failures);
	return failures != 0;
}
