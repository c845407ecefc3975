/*
 * limiter: the counts behind limiter.h.
 *
 * All entries are allocated by limiter_new(): a fixed array indexed by a
 * chained hash of the name (chains are entry indexes, so nothing moves).
 * Windows are rings of 60 one-second buckets with running sums; moving a
 * window forward clears the seconds it skipped (at most 60), so admit,
 * charge and headers cost a hash lookup and a few dozen additions.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "limiter.h"
#include "xmalloc.h"

#define NONE UINT32_MAX
#define MS_PER_DAY 86400000LL

struct entry {
	uint32_t next;            /* hash chain */
	uint8_t name_len;
	char name[APIKEY_NAME_MAX + 1];
	int64_t last_ms;          /* last admit or charge: for eviction */
	int64_t sec;              /* newest second of the window */
	uint32_t req[LIMITER_WINDOW_S], tok[LIMITER_WINDOW_S];
	uint64_t req_sum, tok_sum;
	int64_t req_last, tok_last; /* newest second counted in (for resets) */
	uint32_t in_flight;
	int64_t day;              /* days since the epoch (UTC) of tok_day */
	int32_t month;            /* year * 12 + month - 1 of tok_month */
	uint64_t tok_day, tok_month;
	struct limiter_remote remote;
	int64_t remote_ms;        /* when set; INT64_MIN: never */
	int64_t remote_day;
	int32_t remote_month;
};

struct limiter {
	struct entry *e;
	size_t cap, n;
	uint32_t *heads;
	size_t nheads;            /* a power of two */
};

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static size_t
ring(int64_t sec)
{
	int64_t r = sec % LIMITER_WINDOW_S;

	return (size_t)(r < 0 ? r + LIMITER_WINDOW_S : r);
}

static uint32_t
hash_name(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

/* Civil month of a day number: gmtime_r, once per key per day. */
static int32_t
month_of_day(int64_t day, int *mday, int *mdays)
{
	static const int len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	time_t t = (time_t)(day * 86400);
	struct tm tm;
	int y;

	if (gmtime_r(&t, &tm) == NULL) {
		*mday = 1, *mdays = 31;
		return 0;
	}
	y = tm.tm_year + 1900;
	*mday = tm.tm_mday;
	*mdays = len[tm.tm_mon];
	if (tm.tm_mon == 1 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		*mdays = 29;
	return (int32_t)(y * 12 + tm.tm_mon);
}

struct limiter *
limiter_new(size_t max_keys)
{
	struct limiter *l = xcalloc(1, sizeof(*l));

	if (max_keys == 0)
		max_keys = 1;
	l->cap = max_keys;
	l->e = xcalloc(max_keys, sizeof(*l->e));
	for (l->nheads = 16; l->nheads < max_keys; l->nheads *= 2)
		;
	l->heads = xcalloc(l->nheads, sizeof(*l->heads));
	memset(l->heads, 0xff, l->nheads * sizeof(*l->heads));
	return l;
}

void
limiter_free(struct limiter *l)
{
	if (l == NULL)
		return;
	free(l->e);
	free(l->heads);
	free(l);
}

size_t
limiter_size(const struct limiter *l)
{
	return l->n;
}

static uint32_t
find(const struct limiter *l, const char *name, size_t len, uint32_t h)
{
	for (uint32_t i = l->heads[h & (l->nheads - 1)]; i != NONE; i = l->e[i].next)
		if (l->e[i].name_len == len && memcmp(l->e[i].name, name, len) == 0)
			return i;
	return NONE;
}

static void
unlink_entry(struct limiter *l, uint32_t i)
{
	struct entry *e = &l->e[i];
	uint32_t *pp = &l->heads[hash_name(e->name, e->name_len) & (l->nheads - 1)];

	while (*pp != NONE && *pp != i)
		pp = &l->e[*pp].next;
	if (*pp == i)
		*pp = e->next;
}

/* The entry of name, made if needed (evicting the least recently used
 * idle one when full). NONE if the name is invalid or all are busy. */
static uint32_t
lookup(struct limiter *l, const char *name, size_t len, int64_t now_ms, int create)
{
	uint32_t h, i;
	struct entry *e;

	if (len == 0 || len > APIKEY_NAME_MAX)
		return NONE;
	h = hash_name(name, len);
	if ((i = find(l, name, len, h)) != NONE || !create)
		return i;
	if (l->n < l->cap) {
		i = (uint32_t)l->n++;
	} else {
		int64_t oldest = INT64_MAX;

		/* a new name in a full table: rare, so a scan is fine */
		for (uint32_t j = 0; j < l->cap; j++)
			if (l->e[j].in_flight == 0 && l->e[j].last_ms < oldest)
				oldest = l->e[j].last_ms, i = j;
		if (i == NONE)
			return NONE;
		unlink_entry(l, i);
	}
	e = &l->e[i];
	memset(e, 0, sizeof(*e));
	memcpy(e->name, name, len);
	e->name_len = (uint8_t)len;
	e->sec = floor_div(now_ms, 1000);
	e->day = INT64_MIN;
	e->remote_ms = INT64_MIN;
	e->last_ms = now_ms;
	e->next = l->heads[h & (l->nheads - 1)];
	l->heads[h & (l->nheads - 1)] = i;
	return i;
}

/* Move e's window to now: seconds it skipped are emptied. */
static void
advance(struct entry *e, int64_t now_ms)
{
	int64_t sec = floor_div(now_ms, 1000);

	if (sec <= e->sec)
		return; /* same second, or the clock stepped back */
	if (sec - e->sec >= LIMITER_WINDOW_S) {
		memset(e->req, 0, sizeof(e->req));
		memset(e->tok, 0, sizeof(e->tok));
		e->req_sum = e->tok_sum = 0;
	} else {
		for (int64_t s = e->sec + 1; s <= sec; s++) {
			size_t k = ring(s);

			e->req_sum -= e->req[k];
			e->tok_sum -= e->tok[k];
			e->req[k] = e->tok[k] = 0;
		}
	}
	e->sec = sec;
}

/* Start a new day or month for e's budgets when now is in another. */
static void
roll_periods(struct entry *e, int64_t now_ms)
{
	int64_t day = floor_div(now_ms, MS_PER_DAY);
	int mday, mdays;
	int32_t month;

	if (day == e->day)
		return;
	month = month_of_day(day, &mday, &mdays);
	e->day = day;
	e->tok_day = 0;
	if (month != e->month) {
		e->month = month;
		e->tok_month = 0;
	}
}

static void
touch(struct entry *e, int64_t now_ms)
{
	advance(e, now_ms);
	roll_periods(e, now_ms);
	if (now_ms > e->last_ms)
		e->last_ms = now_ms;
}

static int
remote_fresh(const struct entry *e, int64_t now_ms)
{
	return e->remote_ms != INT64_MIN && now_ms - e->remote_ms <= LIMITER_REMOTE_TTL_MS &&
	    e->remote_ms - now_ms <= LIMITER_REMOTE_TTL_MS;
}

/* Local + remote counts of e (touched at now). */
static void
totals(const struct entry *e, int64_t now_ms, struct limiter_counts *c)
{
	c->requests = e->req_sum;
	c->tokens = e->tok_sum;
	c->in_flight = e->in_flight;
	c->tokens_day = e->tok_day;
	c->tokens_month = e->tok_month;
	if (!remote_fresh(e, now_ms))
		return;
	c->requests += e->remote.requests;
	c->tokens += e->remote.tokens;
	c->in_flight += e->remote.in_flight;
	if (e->remote_day == e->day)
		c->tokens_day += e->remote.tokens_day;
	if (e->remote_month == e->month)
		c->tokens_month += e->remote.tokens_month;
}

/* ms until the window's oldest local entries add up to needed; 1 s when
 * they cannot (the rest is the other nodes', refreshed often). */
static uint64_t
window_wait_ms(const uint32_t *b, int64_t sec, int64_t now_ms, uint64_t needed)
{
	uint64_t freed = 0;

	for (int64_t s = sec - LIMITER_WINDOW_S + 1; s <= sec; s++) {
		freed += b[ring(s)];
		if (freed >= needed)
			return (uint64_t)((s + LIMITER_WINDOW_S) * 1000 - now_ms);
	}
	return 1000;
}

static uint32_t
whole_seconds(uint64_t ms)
{
	uint64_t s = (ms + 999) / 1000;

	return s < 1 ? 1 : s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

static int
refuse(struct limiter_refusal *why, enum limiter_which which, uint64_t limit, uint64_t used,
    uint64_t wait_ms)
{
	why->which = which;
	why->limit = limit;
	why->used = used;
	why->retry_after_s = whole_seconds(wait_ms);
	return -1;
}

int
limiter_admit(struct limiter *l, const char *name, size_t len, const struct apikey_limits *lim,
    int64_t now_ms, uint32_t *ref, struct limiter_refusal *why)
{
	uint32_t i = lookup(l, name, len, now_ms, 1);
	struct limiter_counts c;
	struct entry *e;

	memset(why, 0, sizeof(*why));
	*ref = NONE;
	if (i == NONE)
		return refuse(why, LIMITER_FULL, l->cap, l->cap, 1000);
	e = &l->e[i];
	touch(e, now_ms);
	totals(e, now_ms, &c);
	if (lim->tokens_per_month != 0 && c.tokens_month >= lim->tokens_per_month) {
		int mday, mdays;

		(void)month_of_day(e->day, &mday, &mdays);
		return refuse(why, LIMITER_MONTH, lim->tokens_per_month, c.tokens_month,
		    (uint64_t)((e->day + mdays - mday + 1) * MS_PER_DAY - now_ms));
	}
	if (lim->tokens_per_day != 0 && c.tokens_day >= lim->tokens_per_day)
		return refuse(why, LIMITER_DAY, lim->tokens_per_day, c.tokens_day,
		    (uint64_t)((e->day + 1) * MS_PER_DAY - now_ms));
	if (lim->max_in_flight != 0 && c.in_flight >= lim->max_in_flight)
		return refuse(why, LIMITER_IN_FLIGHT, lim->max_in_flight, c.in_flight, 1000);
	if (lim->rpm != 0 && c.requests >= lim->rpm)
		return refuse(why, LIMITER_RPM, lim->rpm, c.requests,
		    window_wait_ms(e->req, e->sec, now_ms, (uint64_t)c.requests - lim->rpm + 1));
	if (lim->tpm != 0 && c.tokens >= lim->tpm)
		return refuse(why, LIMITER_TPM, lim->tpm, c.tokens,
		    window_wait_ms(e->tok, e->sec, now_ms, (uint64_t)c.tokens - lim->tpm + 1));
	if (e->req[ring(e->sec)] != UINT32_MAX) {
		e->req[ring(e->sec)]++;
		e->req_sum++;
		e->req_last = e->sec;
	}
	e->in_flight++;
	*ref = i;
	return 0;
}

uint32_t
limiter_ref(struct limiter *l, const char *name, size_t len)
{
	if (len == 0 || len > APIKEY_NAME_MAX)
		return NONE;
	return find(l, name, len, hash_name(name, len));
}

void
limiter_done(struct limiter *l, uint32_t ref)
{
	if (ref < l->n && l->e[ref].in_flight > 0)
		l->e[ref].in_flight--;
}

void
limiter_charge(struct limiter *l, const char *name, size_t len, uint64_t tokens, int64_t now_ms)
{
	uint32_t i = lookup(l, name, len, now_ms, 1);
	struct entry *e;
	size_t k;

	if (i == NONE || tokens == 0)
		return;
	e = &l->e[i];
	touch(e, now_ms);
	k = ring(e->sec);
	if (tokens > UINT32_MAX - e->tok[k])
		tokens = UINT32_MAX - e->tok[k];
	e->tok[k] += (uint32_t)tokens;
	e->tok_sum += tokens;
	e->tok_last = e->sec;
	e->tok_day += tokens;
	e->tok_month += tokens;
}

void
limiter_set_remote(struct limiter *l, const char *name, size_t len,
    const struct limiter_remote *remote, int64_t now_ms)
{
	uint32_t i = lookup(l, name, len, now_ms, 1);
	struct entry *e;

	if (i == NONE)
		return;
	e = &l->e[i];
	touch(e, now_ms);
	e->remote = *remote;
	e->remote_ms = now_ms;
	e->remote_day = e->day;
	e->remote_month = e->month;
}

int
limiter_counts(struct limiter *l, const char *name, size_t len, int64_t now_ms,
    struct limiter_counts *out)
{
	uint32_t i = lookup(l, name, len, now_ms, 0);

	memset(out, 0, sizeof(*out));
	if (i == NONE)
		return 0;
	advance(&l->e[i], now_ms);
	roll_periods(&l->e[i], now_ms);
	out->requests = l->e[i].req_sum;
	out->tokens = l->e[i].tok_sum;
	out->in_flight = l->e[i].in_flight;
	out->tokens_day = l->e[i].tok_day;
	out->tokens_month = l->e[i].tok_month;
	return 1;
}

size_t
limiter_each(struct limiter *l, int64_t now_ms,
    void (*fn)(void *arg, const char *name, size_t len, const struct limiter_counts *c),
    void *arg)
{
	struct limiter_counts c;
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++) {
		struct entry *e = &l->e[i];

		(void)limiter_counts(l, e->name, e->name_len, now_ms, &c);
		if (c.requests == 0 && c.tokens == 0 && c.in_flight == 0 && c.tokens_day == 0 &&
		    c.tokens_month == 0)
			continue;
		fn(arg, e->name, e->name_len, &c);
		n++;
	}
	return n;
}

/* ms until the newest local entry of a window (counted in second last)
 * leaves it: the window is back to its initial state then (OpenAI's
 * "reset"). sum: what the window holds. */
static uint64_t
reset_ms(uint64_t sum, int64_t last, int64_t now_ms)
{
	int64_t ms = (last + LIMITER_WINDOW_S) * 1000 - now_ms;

	return sum == 0 || ms <= 0 ? 0 : (uint64_t)ms;
}

void
limiter_ratelimit(struct limiter *l, uint32_t ref, const struct apikey_limits *lim, int64_t now_ms,
    struct ratelimit *out)
{
	struct limiter_counts c;
	struct entry *e;

	out->have = 0;
	if (ref >= l->n)
		return;
	e = &l->e[ref];
	touch(e, now_ms);
	totals(e, now_ms, &c);
	if (lim->rpm != 0) {
		out->have |= RATELIMIT_REQUESTS;
		out->limit_req = lim->rpm;
		out->remaining_req = c.requests >= lim->rpm ? 0 : lim->rpm - (uint32_t)c.requests;
		out->reset_req_ms = (uint32_t)reset_ms(e->req_sum, e->req_last, now_ms);
	}
	if (lim->tpm != 0) {
		out->have |= RATELIMIT_TOKENS;
		out->limit_tok = lim->tpm;
		out->remaining_tok = c.tokens >= lim->tpm ? 0 : lim->tpm - (uint32_t)c.tokens;
		out->reset_tok_ms = (uint32_t)reset_ms(e->tok_sum, e->tok_last, now_ms);
	}
}

const char *
limiter_which_name(enum limiter_which which)
{
	switch (which) {
	case LIMITER_OK:
		return "ok";
	case LIMITER_RPM:
		return "rpm";
	case LIMITER_TPM:
		return "tpm";
	case LIMITER_IN_FLIGHT:
		return "max_in_flight";
	case LIMITER_DAY:
		return "tokens_per_day";
	case LIMITER_MONTH:
		return "tokens_per_month";
	case LIMITER_FULL:
		return "keys tracked";
	}
	return "?";
}
