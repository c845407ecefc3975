/*
 * breaker: see breaker.h.
 */
#include "config.h"

#include "breaker.h"

int
breaker_allows(struct breaker *b, uint64_t now, uint32_t cooldown_ms)
{
	switch (b->state) {
	case BREAKER_CLOSED:
		return 1;
	case BREAKER_OPEN:
		if (now < b->until_ms)
			return 0;
		b->state = BREAKER_HALF_OPEN;
		b->probing = 0;
		return 1;
	default:
		/* a probe that never reported back: let another one go */
		if (b->probing && now >= b->until_ms)
			b->probing = 0;
		(void)cooldown_ms;
		return !b->probing;
	}
}

void
breaker_taken(struct breaker *b, uint64_t now, uint32_t cooldown_ms)
{
	if (b->state != BREAKER_HALF_OPEN)
		return;
	b->probing = 1;
	b->until_ms = now + cooldown_ms;
}

enum breaker_change
breaker_result(struct breaker *b, int ok, uint64_t now, uint32_t threshold, uint32_t cooldown_ms)
{
	if (ok < 0) {
		if (b->state == BREAKER_HALF_OPEN)
			b->probing = 0; /* no verdict: the next task probes */
		return BREAKER_SAME;
	}
	if (ok) {
		b->failures = 0;
		/* a success while open is a task given before it opened (a long
		 * stream): it says nothing of the replica now */
		if (b->state != BREAKER_HALF_OPEN)
			return BREAKER_SAME;
		b->state = BREAKER_CLOSED;
		b->probing = 0;
		return BREAKER_CLOSED_AGAIN;
	}
	switch (b->state) {
	case BREAKER_CLOSED:
		if (threshold == 0 || ++b->failures < threshold)
			return BREAKER_SAME;
		b->state = BREAKER_OPEN;
		b->until_ms = now + cooldown_ms;
		return BREAKER_OPENED;
	case BREAKER_OPEN:
		/* failures of tasks given before it opened: the cool-down stands */
		return BREAKER_SAME;
	default:
		b->state = BREAKER_OPEN;
		b->probing = 0;
		b->until_ms = now + cooldown_ms;
		return BREAKER_REOPENED;
	}
}

const char *
breaker_state_name(const struct breaker *b)
{
	switch (b->state) {
	case BREAKER_CLOSED:
		return "closed";
	case BREAKER_OPEN:
		return "open";
	default:
		return "half-open";
	}
}
