/* log_burst: see log_burst.h. */
#include "config.h"

#include "log_burst.h"

int
log_burst_allow(struct log_burst *b, uint64_t now_ms)
{
	if (b->used == 0 || now_ms - b->window_start >= b->window_ms) {
		/* a new window; what the old one held back waits for take */
		b->window_start = now_ms;
		b->used = 0;
	}
	if (b->used < b->per_window) {
		b->used++;
		return 1;
	}
	b->suppressed++;
	return 0;
}

unsigned long
log_burst_take(struct log_burst *b, uint64_t now_ms)
{
	unsigned long n = b->suppressed;

	if (n == 0 || now_ms - b->window_start < b->window_ms)
		return 0;
	b->suppressed = 0;
	return n;
}
