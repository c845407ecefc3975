/*
 * breaker: a circuit breaker per agent, so a replica that keeps failing
 * is taken out of rotation for a cool-down and brought back by a probe.
 *
 *   closed     every task may go; `threshold` consecutive failures open it
 *   open       no task, until `cooldown_ms` has passed: then half-open
 *   half-open  ONE task goes through as a probe; its success closes the
 *              breaker, its failure opens it again for another cool-down
 *
 * A success resets the count; a task with no verdict (cancelled by its
 * client, a 429) changes nothing but frees the probe slot. A probe whose
 * verdict never comes (a bug elsewhere) does not wedge the breaker: after
 * one more cool-down another probe may go.
 *
 * Pure state, no clock of its own: callers pass monotonic milliseconds,
 * so the unit test drives it with made-up times.
 */
#ifndef TL_AGENTD_BREAKER_H
#define TL_AGENTD_BREAKER_H

#include <stdint.h>

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

struct breaker {
	uint8_t state;          /* enum breaker_state */
	uint8_t probing;        /* half-open: the probe is out */
	uint32_t failures;      /* consecutive, while closed */
	uint64_t until_ms;      /* open: the cool-down ends; half-open: the probe's deadline */
};

/* What a verdict did, for the caller's log line. */
enum breaker_change { BREAKER_SAME, BREAKER_OPENED, BREAKER_CLOSED_AGAIN, BREAKER_REOPENED };

/* May a new task go to this replica now? (An open breaker whose
 * cool-down has passed turns half-open here.) */
int breaker_allows(struct breaker *b, uint64_t now_ms, uint32_t cooldown_ms);
/* A task was given to it (after breaker_allows said yes): in half-open
 * it is the probe. */
void breaker_taken(struct breaker *b, uint64_t now_ms, uint32_t cooldown_ms);
/* A task ended: ok 1 success, 0 failure that counts, -1 no verdict.
 * threshold 0 = the breaker never opens. */
enum breaker_change breaker_result(struct breaker *b, int ok, uint64_t now_ms,
    uint32_t threshold, uint32_t cooldown_ms);
const char *breaker_state_name(const struct breaker *b);

#endif
