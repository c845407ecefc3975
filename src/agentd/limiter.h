/*
 * limiter: per-key rate limits and token budgets, counted in agentd.
 *
 * A key is known here only by its name; its limits come with every
 * request (REQ_START carries them), so agentd needs no key table and a
 * changed limit applies from the next request on. Per name the limiter
 * keeps:
 *
 *   - requests and tokens of the last 60 s, in 60 buckets of one second
 *     (a sliding window: at time t it holds the seconds t-59 .. t);
 *   - requests in flight (admitted, not yet done);
 *   - tokens of the current UTC day and UTC month (reset at midnight UTC
 *     and on the 1st at 00:00 UTC);
 *   - what the other nodes of a network report for the key (set_remote),
 *     added to the local counts while it is fresh (LIMITER_REMOTE_TTL_MS).
 *
 * Admission (limiter_admit), in this order, refuses when
 *   tokens this month >= tokens_per_month, tokens today >= tokens_per_day
 *     -> budget spent; Retry-After is the time until the period ends;
 *   in flight >= max_in_flight -> Retry-After 1 s (a request ends any time);
 *   requests in the window >= rpm -> Retry-After: until enough of the
 *     window's oldest requests leave it for one more;
 *   tokens in the window >= tpm -> Retry-After: until enough of the
 *     window's oldest tokens leave it to be under tpm again (the tokens a
 *     request will use are not known before it runs, so one request is
 *     admitted whenever the window is under the limit).
 * Every count is local + remote. When the remote part alone keeps a
 * window full (the local buckets cannot free enough), Retry-After is 1 s:
 * the remote counts are refreshed about twice a second. Retry-After is
 * always a whole number of seconds, >= 1. An admitted request counts in
 * the request window at once and in flight until limiter_done().
 *
 * Bounds: at most max_keys names, all allocated by limiter_new(); a known
 * name costs no allocation. A new name in a full table takes the place of
 * the least recently used name with nothing in flight (its counts start
 * again from zero: the bound should exceed the number of keys, and past
 * it this is logged by the caller). If every name has a request in
 * flight, the new one is refused (LIMITER_FULL, Retry-After 1 s).
 *
 * Time is the caller's: unix milliseconds (the tests use a fake clock). A
 * clock that steps back counts into the newest bucket.
 */
#ifndef TL_LIMITER_H
#define TL_LIMITER_H

#include <stddef.h>
#include <stdint.h>

#include "apikey.h"
#include "ratelimit.h"

#define LIMITER_WINDOW_S 60
#define LIMITER_MAX_KEYS 4096
/* Remote counts older than this are ignored (their node or master is
 * gone; local limits still hold). */
#define LIMITER_REMOTE_TTL_MS 5000
#define LIMITER_NO_REF UINT32_MAX

enum limiter_which {
	LIMITER_OK = 0,
	LIMITER_RPM,        /* rate_limit_exceeded, type requests */
	LIMITER_TPM,        /* rate_limit_exceeded, type tokens */
	LIMITER_IN_FLIGHT,  /* rate_limit_exceeded, type requests */
	LIMITER_DAY,        /* insufficient_quota */
	LIMITER_MONTH,      /* insufficient_quota */
	LIMITER_FULL,       /* no room to track another key: as requests */
};

struct limiter_refusal {
	enum limiter_which which;
	uint32_t retry_after_s; /* >= 1 */
	uint64_t limit;         /* the limit that was reached */
	uint64_t used;          /* local + remote */
};

/* What the other nodes of the network count for a key. */
struct limiter_remote {
	uint32_t requests;      /* in their last 60 s */
	uint32_t tokens;        /* in their last 60 s */
	uint32_t in_flight;
	uint64_t tokens_day;    /* this UTC day */
	uint64_t tokens_month;  /* this UTC month */
};

struct limiter;

struct limiter *limiter_new(size_t max_keys);
void limiter_free(struct limiter *l);

/*
 * Admit one request of key name[0..len) (1..APIKEY_NAME_MAX bytes) with
 * limits lim. Admitted: returns 0 and *ref names the key for done() and
 * ratelimit() (valid until done(), which must come exactly once).
 * Refused: returns -1 with *why filled; nothing is counted.
 */
int limiter_admit(struct limiter *l, const char *name, size_t len,
    const struct apikey_limits *lim, int64_t now_ms, uint32_t *ref,
    struct limiter_refusal *why);
/* The ref of a tracked name (for ratelimit() of a refused request), or
 * LIMITER_NO_REF. */
uint32_t limiter_ref(struct limiter *l, const char *name, size_t len);
/* The admitted request ended (any way). */
void limiter_done(struct limiter *l, uint32_t ref);
/* Add tokens a request of key name used (its usage, reported when it
 * ends). A name not tracked yet gets an entry. */
void limiter_charge(struct limiter *l, const char *name, size_t len, uint64_t tokens,
    int64_t now_ms);
/* The other nodes' counts for name, replacing what was set before. */
void limiter_set_remote(struct limiter *l, const char *name, size_t len,
    const struct limiter_remote *remote, int64_t now_ms);
/* The x-ratelimit-* values for an answer to an admitted request (ref
 * from admit); the worker writes them as headers (ratelimit.h). */
void limiter_ratelimit(struct limiter *l, uint32_t ref, const struct apikey_limits *lim,
    int64_t now_ms, struct ratelimit *out);
/* Local counts of a key, for tests and the later network report: 0 if
 * the name is not tracked. */
struct limiter_counts {
	uint64_t requests, tokens, in_flight;
	uint64_t tokens_day, tokens_month;
};
int limiter_counts(struct limiter *l, const char *name, size_t len, int64_t now_ms,
    struct limiter_counts *out);
/* Call fn for every tracked name whose local counts are not all zero (the
 * report to the master of the network slice). Returns how many. */
size_t limiter_each(struct limiter *l, int64_t now_ms,
    void (*fn)(void *arg, const char *name, size_t len, const struct limiter_counts *c),
    void *arg);
/* Names tracked now (the eviction bound). */
size_t limiter_size(const struct limiter *l);

/* Short name of a limit for logs ("rpm", "tokens_per_day"...). */
const char *limiter_which_name(enum limiter_which which);

#endif
