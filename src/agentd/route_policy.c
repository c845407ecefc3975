/*
 * route_policy: the choice of a replica, without agentd around it (see
 * route.h for the policy). Everything it reads comes through struct
 * route_ctx, so the unit test and the bench drive it with made-up loads.
 */
#include "config.h"

#include "route.h"

#define SCORE_FULL UINT32_MAX

static uint32_t
rnd(uint32_t *s)
{
	/* xorshift32: the draw needs to be cheap and spread, not secret */
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

uint32_t
route_score(const struct route_load *l)
{
	uint64_t cap = l->capacity ? l->capacity : 1;
	/* in thousandths of "one full round of the replica's capacity" */
	uint64_t s = ((uint64_t)l->open + l->waiting + 1) * 1000 / cap;

	/* the round trip is paid once per request, a queue slot a whole
	 * service time: a millisecond of it weighs one thousandth */
	s += l->rtt_us / 1000;
	return s >= SCORE_FULL ? SCORE_FULL - 1 : (uint32_t)s;
}

static int
excluded(const struct reg_agent *a, struct reg_agent *const *ex, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ex[i] == a)
			return 1;
	return 0;
}

/* 1 and its score if a may take a task now, 0 if out (unusable, open
 * breaker, full), -1 if excluded. */
static int
candidate(struct route_ctx *rc, struct reg_agent *a, const char *model, size_t mlen,
    struct reg_agent *const *ex, size_t nex, uint32_t *score)
{
	struct route_load l = { 0, 0, 0, 0 };

	if (nex != 0 && excluded(a, ex, nex))
		return -1;
	if (a->node == NULL && rc->reg->usable != NULL && !rc->reg->usable(a))
		return 0;
	if (!breaker_allows(&a->breaker, rc->now_ms, rc->cooldown_ms))
		return 0;
	if (rc->load != NULL)
		rc->load(a, model, mlen, &l, rc->arg);
	if (l.capacity != 0 && l.open >= l.capacity)
		return 0;
	*score = route_score(&l);
	return 1;
}

static int
better(const struct reg_agent *a, uint32_t sa, const struct reg_agent *b, uint32_t sb)
{
	return b == NULL || sa < sb || (sa == sb && a->picked < b->picked);
}

/*
 * Power of two choices over list[0..n): *out counts replicas that exist
 * but cannot take it (for ROUTE_FULL).
 */
static struct reg_agent *
choose_in(struct route_ctx *rc, struct reg_agent **list, size_t n, const char *model,
    size_t mlen, struct reg_agent *const *ex, size_t nex, size_t *out)
{
	struct reg_agent *best = NULL;
	uint32_t best_score = SCORE_FULL, s;
	size_t i, j, start;
	int c;

	if (n > 2) {
		i = rnd(rc->rng) % n;
		j = rnd(rc->rng) % (n - 1);
		if (j >= i)
			j++;
		if (candidate(rc, list[i], model, mlen, ex, nex, &s) == 1) {
			best = list[i];
			best_score = s;
		}
		if (candidate(rc, list[j], model, mlen, ex, nex, &s) == 1 &&
		    better(list[j], s, best, best_score)) {
			best = list[j];
			best_score = s;
		}
		if (best != NULL)
			return best;
		start = i;
	} else
		start = 0;
	/* few replicas, or both drawn ones out: look at all */
	for (size_t k = 0; k < n; k++) {
		struct reg_agent *a = list[(start + k) % n];

		c = candidate(rc, a, model, mlen, ex, nex, &s);
		if (c == 0)
			(*out)++;
		else if (c == 1 && better(a, s, best, best_score)) {
			best = a;
			best_score = s;
		}
	}
	return best;
}

static struct reg_agent *
taken(struct route_ctx *rc, struct reg_agent *a)
{
	a->picked = ++rc->reg->pick_seq;
	breaker_taken(&a->breaker, rc->now_ms, rc->cooldown_ms);
	return a;
}

struct reg_agent *
route_choose(struct route_ctx *rc, const char *ns, size_t nslen, const char *model, size_t mlen,
    int local_only, struct reg_agent *const *ex, size_t nex, enum route_why *why)
{
	struct reg_model *m = registry_model(rc->reg, ns, nslen, model, mlen);
	struct reg_agent *a;
	size_t out = 0;

	if (m == NULL) {
		/* a namespace exists while one of its agents is linked */
		*why = registry_namespace(rc->reg, ns, nslen) == NULL ? ROUTE_NO_AGENT :
		    ROUTE_NO_MODEL;
		return NULL;
	}
	*why = ROUTE_OK;
	if ((a = choose_in(rc, m->local, m->nlocal, model, mlen, ex, nex, &out)) != NULL)
		return taken(rc, a);
	if (!local_only &&
	    (a = choose_in(rc, m->remote, m->nremote, model, mlen, ex, nex, &out)) != NULL)
		return taken(rc, a);
	*why = out != 0 ? ROUTE_FULL : ROUTE_NO_AGENT;
	return NULL;
}

/* Overflow tiers: 0 takes tasks but for its capacity, 1 breaker open
 * (both: wait for them), 2 not usable (unresponsive: its link decides,
 * see link.h), 3 draining (never). */
static int
overflow_tier(struct route_ctx *rc, struct reg_agent *a)
{
	if (rc->draining != NULL && rc->draining(a))
		return 3;
	if (rc->reg->usable != NULL && !rc->reg->usable(a))
		return 2;
	return breaker_allows(&a->breaker, rc->now_ms, rc->cooldown_ms) ? 0 : 1;
}

struct reg_agent *
route_choose_overflow(struct route_ctx *rc, const char *ns, size_t nslen, const char *model,
    size_t mlen, int *wait)
{
	struct reg_model *m = registry_model(rc->reg, ns, nslen, model, mlen);
	struct reg_agent *best = NULL;
	uint32_t best_score = SCORE_FULL;
	int best_tier = 3;

	*wait = 0;
	if (m == NULL)
		return NULL;
	for (size_t i = 0; i < m->nlocal; i++) {
		struct reg_agent *a = m->local[i];
		struct route_load l = { 0, 0, 0, 0 };
		int tier = overflow_tier(rc, a);
		uint32_t s;

		if (tier == 3)
			continue;
		if (rc->load != NULL)
			rc->load(a, model, mlen, &l, rc->arg);
		s = route_score(&l);
		if (tier < best_tier || (tier == best_tier && better(a, s, best, best_score))) {
			best = a;
			best_score = s;
			best_tier = tier;
		}
	}
	if (best == NULL)
		return NULL;
	if (best_tier < 2) {
		*wait = 1;
		return NULL;
	}
	return taken(rc, best);
}
