/* backoff: see backoff.h. */
#include "config.h"

#include <openssl/rand.h>

#include "backoff.h"

void
backoff_init(struct backoff *b, uint32_t initial_ms, uint32_t max_ms)
{
	if (initial_ms == 0)
		initial_ms = 1;
	if (max_ms < initial_ms)
		max_ms = initial_ms;
	b->initial_ms = initial_ms;
	b->max_ms = max_ms;
	b->current_ms = initial_ms;
}

uint32_t
backoff_jitter(uint32_t d)
{
	uint32_t r;

	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = 0; /* no randomness: no jitter, still correct */
	return d - (uint32_t)((uint64_t)(d / 5) * r / UINT32_MAX);
}

uint32_t
backoff_next(struct backoff *b)
{
	uint32_t d = b->current_ms;

	b->current_ms = d > b->max_ms / 2 ? b->max_ms : d * 2;
	return backoff_jitter(d);
}

uint32_t
backoff_at_max(struct backoff *b)
{
	b->current_ms = b->max_ms;
	return backoff_jitter(b->max_ms);
}

void
backoff_reset(struct backoff *b)
{
	b->current_ms = b->initial_ms;
}
