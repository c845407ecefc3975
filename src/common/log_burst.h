/*
 * log_burst: a bound on the log lines a stranger can make us write.
 *
 * Events anyone on the network can cause at will (a connection closed
 * before its handshake, say) are each worth a line, but not a thousand
 * lines a second. A log_burst lets the first `per_window` events of each
 * window through and counts the rest; the owner asks for that count once
 * the window is over (from a timer of its own: this module keeps no
 * timer and no clock) and writes one summary line. The struct is the
 * caller's, usually static; zero the counters with LOG_BURST_INIT.
 */
#ifndef TL_LOG_BURST_H
#define TL_LOG_BURST_H

#include <stdint.h>

struct log_burst {
	unsigned per_window;
	uint32_t window_ms;
	uint64_t window_start;     /* ms, the caller's clock */
	unsigned used;             /* lines let through in this window */
	unsigned long suppressed;  /* events counted, not logged, not yet summarised */
};

#define LOG_BURST_INIT(per_window, window_ms) { (per_window), (window_ms), 0, 0, 0 }

/* 1: log this event. 0: it was counted for the summary instead. */
int log_burst_allow(struct log_burst *b, uint64_t now_ms);
/* Events held back, once their window is over (0 before that, or if
 * none); the count starts again from zero. */
unsigned long log_burst_take(struct log_burst *b, uint64_t now_ms);

#endif
