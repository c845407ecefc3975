/*
 * backoff: delays between link attempts.
 *
 * The n-th retry waits min(max, initial * 2^n), minus up to 20% of random
 * jitter: the delay stays in [0.8 d, d], so it never exceeds the
 * configured maximum (an operator can count on "relinked within max")
 * while agents that lost the same node at the same moment spread out.
 * backoff_reset() after a link reached "registered".
 */
#ifndef TM_BACKOFF_H
#define TM_BACKOFF_H

#include <stdint.h>

struct backoff {
	uint32_t initial_ms;
	uint32_t max_ms;
	uint32_t current_ms; /* undithered delay of the next attempt */
};

void backoff_init(struct backoff *b, uint32_t initial_ms, uint32_t max_ms);
/* The delay to wait now; the following one doubles (up to max). */
uint32_t backoff_next(struct backoff *b);
/* Go straight to the maximum (a failure that retrying soon cannot fix). */
uint32_t backoff_at_max(struct backoff *b);
void backoff_reset(struct backoff *b);
/* d minus a random 0-20%: exposed for the unit test. */
uint32_t backoff_jitter(uint32_t d);

#endif
