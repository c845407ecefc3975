/*
 * test_route: the router's choice (route_policy.c) and the circuit
 * breaker's state machine (breaker.c), with made-up loads and times:
 * local before remote, the least loaded of the two drawn, full replicas
 * and open breakers skipped (ROUTE_FULL when nothing is left), exclusion
 * of tried replicas, the round robin among equals, the overflow pick, and
 * a breaker opening, probing once, closing and opening again.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "check.h"

/* made-up load per agent, indexed by the agent's id */
static struct route_load loads[256];

static void
fake_load(const struct reg_agent *a, const char *model, size_t mlen, struct route_load *out,
    void *arg)
{
	(void)model;
	(void)mlen;
	(void)arg;
	*out = loads[a->id % 256];
}

static struct reg_agent *unusable_one;

static int
usable_but_one(struct reg_agent *a)
{
	return a != unusable_one;
}

static const struct reg_agent *draining_one;

static int
is_draining(const struct reg_agent *a)
{
	return a == draining_one;
}

static uint32_t rng = 12345;

static void
ctx(struct route_ctx *rc, struct registry *reg, uint64_t now)
{
	memset(rc, 0, sizeof(*rc));
	rc->reg = reg;
	rc->load = fake_load;
	rc->now_ms = now;
	rc->cooldown_ms = 1000;
	rc->rng = &rng;
}

static struct reg_agent *
pick(struct registry *reg, const char *model, int local_only, enum route_why *why)
{
	struct route_ctx rc;
	enum route_why w;

	ctx(&rc, reg, 1);
	return route_choose(&rc, "lab", 3, model, strlen(model), local_only, NULL, 0,
	    why != NULL ? why : &w);
}

static const struct reg_model_info llama[] = { { "llama3", NULL, 0 } };

static void
test_score(void)
{
	struct route_load idle = { 0, 0, 4, 0 }, half = { 2, 0, 4, 0 }, queued = { 2, 3, 4, 0 };
	struct route_load far = { 0, 0, 4, 80000 }, unknown = { 3, 0, 0, 0 };

	CHECK(route_score(&idle) < route_score(&half));
	CHECK(route_score(&half) < route_score(&queued));
	/* 80 ms of round trip weighs less than one task in flight of four */
	CHECK(route_score(&idle) < route_score(&far));
	CHECK(route_score(&far) < route_score(&half));
	CHECK(route_score(&unknown) == 4000);
}

/* equal scores: round robin, surviving agents coming and going */
static void
test_round_robin(void)
{
	struct registry reg;
	struct reg_agent *a, *b, *c, *got;
	const struct reg_model_info other[] = { { "mistral", NULL, 0 } };
	enum route_why why;
	int na = 0, nb = 0;

	memset(loads, 0, sizeof(loads));
	registry_init(&reg);
	a = registry_agent_add(&reg, "lab", "a", NULL);
	b = registry_agent_add(&reg, "lab", "b", NULL);
	c = registry_agent_add(&reg, "lab", "c", NULL);
	registry_agent_set_models(&reg, a, llama, 1, 1);
	registry_agent_set_models(&reg, b, llama, 1, 1);
	registry_agent_set_models(&reg, c, other, 1, 1);
	for (int i = 0; i < 10; i++) {
		got = pick(&reg, "llama3", 0, NULL);
		CHECK(got == a || got == b);
		na += got == a;
		nb += got == b;
	}
	CHECK(na == 5 && nb == 5);
	CHECK(pick(&reg, "mistral", 0, NULL) == c);
	CHECK(pick(&reg, "nothing", 0, &why) == NULL && why == ROUTE_NO_MODEL);
	{
		struct route_ctx rc;

		ctx(&rc, &reg, 1);
		CHECK(route_choose(&rc, "nolab", 5, "llama3", 6, 0, NULL, 0, &why) == NULL &&
		    why == ROUTE_NO_AGENT);
	}
	registry_agent_remove(&reg, a);
	CHECK(pick(&reg, "llama3", 0, NULL) == b);
	a = registry_agent_add(&reg, "lab", "a2", NULL);
	registry_agent_set_models(&reg, a, llama, 1, 1);
	CHECK(pick(&reg, "llama3", 0, NULL) == a);
	CHECK(pick(&reg, "llama3", 0, NULL) == b);
	registry_clear(&reg);
}

/* usable local agents first, then remote ones; unusable local ones only
 * through the overflow pick (rather than nothing) */
static void
test_usable_and_remote(void)
{
	struct registry reg;
	struct reg_agent *a, *b, *r;
	struct route_ctx rc;
	enum route_why why;
	int wait;

	memset(loads, 0, sizeof(loads));
	registry_init(&reg);
	reg.usable = usable_but_one;
	a = registry_agent_add(&reg, "lab", "a", NULL);
	b = registry_agent_add(&reg, "lab", "b", NULL);
	registry_agent_set_models(&reg, a, llama, 1, 1);
	registry_agent_set_models(&reg, b, llama, 1, 1);
	unusable_one = b;
	for (int i = 0; i < 4; i++)
		CHECK(pick(&reg, "llama3", 0, NULL) == a);
	ctx(&rc, &reg, 1);
	CHECK(route_choose(&rc, "lab", 3, "llama3", 6, 1, &b, 1, &why) == a);
	CHECK(route_choose(&rc, "lab", 3, "llama3", 6, 1, &a, 1, &why) == NULL &&
	    why == ROUTE_FULL);
	r = registry_remote_add(&reg, "lab", "gpu#1", "eu-1/00ff/1", "eu-1", "h2c://10.0.0.5:7741");
	registry_agent_set_models(&reg, r, llama, 1, 1);
	unusable_one = a;
	CHECK(pick(&reg, "llama3", 0, NULL) == b);
	registry_agent_remove(&reg, b);
	CHECK(pick(&reg, "llama3", 0, NULL) == r);
	CHECK(pick(&reg, "llama3", 1, &why) == NULL && why == ROUTE_FULL);
	CHECK(route_choose_overflow(&rc, "lab", 3, "llama3", 6, &wait) == a && !wait);
	/* everything excluded: nobody, and not "full" */
	{
		struct reg_agent *both[] = { a, r };

		CHECK(route_choose(&rc, "lab", 3, "llama3", 6, 0, both, 2, &why) == NULL &&
		    why == ROUTE_NO_AGENT);
	}
	registry_agent_remove(&reg, r);
	CHECK(route_choose_overflow(&rc, "lab", 3, "llama3", 6, &wait) == a && !wait);
	/* a draining one is never chosen, not even by the overflow pick */
	draining_one = a;
	rc.draining = is_draining;
	CHECK(route_choose_overflow(&rc, "lab", 3, "llama3", 6, &wait) == NULL && !wait);
	draining_one = NULL;
	registry_clear(&reg);
}

/* load: the idler of two wins; a full local sends it to a remote one;
 * all full is ROUTE_FULL, and the overflow pick takes the least loaded */
static void
test_load(void)
{
	struct registry reg;
	struct reg_agent *a, *b, *r;
	struct route_ctx rc;
	enum route_why why;
	int wait;

	memset(loads, 0, sizeof(loads));
	registry_init(&reg);
	a = registry_agent_add(&reg, "lab", "a", NULL);
	b = registry_agent_add(&reg, "lab", "b", NULL);
	registry_agent_set_models(&reg, a, llama, 1, 1);
	registry_agent_set_models(&reg, b, llama, 1, 1);
	loads[a->id] = (struct route_load){ 3, 0, 4, 0 };
	loads[b->id] = (struct route_load){ 1, 0, 4, 0 };
	for (int i = 0; i < 5; i++)
		CHECK(pick(&reg, "llama3", 0, NULL) == b);
	/* the backend's own queue counts */
	loads[b->id] = (struct route_load){ 1, 5, 4, 0 };
	CHECK(pick(&reg, "llama3", 0, NULL) == a);
	r = registry_remote_add(&reg, "lab", "gpu#1", "eu-1/00ff/1", "eu-1", "h2c://10.0.0.5:7741");
	registry_agent_set_models(&reg, r, llama, 1, 1);
	loads[a->id] = (struct route_load){ 4, 0, 4, 0 };
	loads[b->id] = (struct route_load){ 8, 0, 8, 0 };
	/* a busy local one still beats a remote one, a full one does not */
	CHECK(pick(&reg, "llama3", 0, &why) == r && why == ROUTE_OK);
	CHECK(pick(&reg, "llama3", 1, &why) == NULL && why == ROUTE_FULL);
	ctx(&rc, &reg, 1);
	loads[b->id] = (struct route_load){ 12, 0, 8, 0 };
	/* full ones that take tasks: the task waits (the admission queue) */
	CHECK(route_choose_overflow(&rc, "lab", 3, "llama3", 6, &wait) == NULL && wait);
	loads[a->id] = (struct route_load){ 3, 0, 4, 0 };
	CHECK(pick(&reg, "llama3", 0, NULL) == a);
	registry_clear(&reg);
}

/* 100 replicas: the least loaded of the two drawn; the spread follows the
 * load (power of two choices never sends to the most loaded one), and
 * with all but one full, the scan finds that one */
static void
test_many_replicas(void)
{
	struct registry reg;
	struct reg_agent *ag[100];
	unsigned hits[100];
	enum route_why why;

	memset(loads, 0, sizeof(loads));
	memset(hits, 0, sizeof(hits));
	registry_init(&reg);
	for (int i = 0; i < 100; i++) {
		char name[16];

		snprintf(name, sizeof(name), "gpu-%02d", i);
		ag[i] = registry_agent_add(&reg, "lab", name, NULL);
		registry_agent_set_models(&reg, ag[i], llama, 1, 1);
		loads[ag[i]->id] = (struct route_load){ (uint32_t)i % 10, 0, 10, 0 };
	}
	for (int i = 0; i < 10000; i++) {
		struct reg_agent *got = pick(&reg, "llama3", 0, NULL);

		CHECK(got != NULL);
		for (int k = 0; k < 100; k++)
			if (got == ag[k])
				hits[k]++;
	}
	/* load 9 loses against every other: it wins only against its own kind */
	{
		unsigned idle = 0, busiest = 0;

		for (int k = 0; k < 100; k++) {
			if (k % 10 == 0)
				idle += hits[k];
			if (k % 10 == 9)
				busiest += hits[k];
		}
		CHECK(idle > 1500);
		CHECK(busiest < 250);
	}
	for (int i = 0; i < 100; i++)
		loads[ag[i]->id] = (struct route_load){ 10, 0, 10, 0 };
	loads[ag[57]->id].open = 3;
	for (int i = 0; i < 20; i++)
		CHECK(pick(&reg, "llama3", 0, &why) == ag[57]);
	loads[ag[57]->id].open = 10;
	CHECK(pick(&reg, "llama3", 0, &why) == NULL && why == ROUTE_FULL);
	registry_clear(&reg);
}

static void
test_breaker(void)
{
	struct breaker b;

	memset(&b, 0, sizeof(b));
	/* failures below the threshold, a success resets the count */
	for (int i = 0; i < 2; i++)
		CHECK(breaker_result(&b, 0, 10, 3, 1000) == BREAKER_SAME);
	CHECK(breaker_result(&b, 1, 10, 3, 1000) == BREAKER_SAME);
	CHECK(breaker_result(&b, 0, 10, 3, 1000) == BREAKER_SAME);
	CHECK(breaker_result(&b, 0, 10, 3, 1000) == BREAKER_SAME);
	CHECK(breaker_allows(&b, 10, 1000));
	CHECK(breaker_result(&b, 0, 10, 3, 1000) == BREAKER_OPENED);
	CHECK(strcmp(breaker_state_name(&b), "open") == 0);
	CHECK(!breaker_allows(&b, 500, 1000));
	/* a late success of a task given before it opened changes nothing */
	CHECK(breaker_result(&b, 1, 600, 3, 1000) == BREAKER_SAME);
	CHECK(!breaker_allows(&b, 1009, 1000));
	/* cool-down over: one probe */
	CHECK(breaker_allows(&b, 1010, 1000));
	CHECK(strcmp(breaker_state_name(&b), "half-open") == 0);
	breaker_taken(&b, 1010, 1000);
	CHECK(!breaker_allows(&b, 1011, 1000));
	/* the probe fails: open again */
	CHECK(breaker_result(&b, 0, 1100, 3, 1000) == BREAKER_REOPENED);
	CHECK(!breaker_allows(&b, 1500, 1000));
	CHECK(breaker_allows(&b, 2100, 1000));
	breaker_taken(&b, 2100, 1000);
	/* no verdict (cancelled): the next task probes */
	CHECK(breaker_result(&b, -1, 2200, 3, 1000) == BREAKER_SAME);
	CHECK(breaker_allows(&b, 2200, 1000));
	breaker_taken(&b, 2200, 1000);
	/* a probe that never reports does not wedge it */
	CHECK(!breaker_allows(&b, 2300, 1000));
	CHECK(breaker_allows(&b, 3200, 1000));
	breaker_taken(&b, 3200, 1000);
	CHECK(breaker_result(&b, 1, 3300, 3, 1000) == BREAKER_CLOSED_AGAIN);
	CHECK(strcmp(breaker_state_name(&b), "closed") == 0);
	CHECK(breaker_allows(&b, 3300, 1000) && breaker_allows(&b, 3300, 1000));
	/* threshold 0: never opens */
	for (int i = 0; i < 100; i++)
		CHECK(breaker_result(&b, 0, 4000, 0, 1000) == BREAKER_SAME);
	CHECK(breaker_allows(&b, 4000, 1000));
}

/* the router skips an open breaker and sends the probe after the cool-down */
static void
test_breaker_in_pick(void)
{
	struct registry reg;
	struct reg_agent *a, *b;
	struct route_ctx rc;
	enum route_why why;

	memset(loads, 0, sizeof(loads));
	registry_init(&reg);
	a = registry_agent_add(&reg, "lab", "a", NULL);
	b = registry_agent_add(&reg, "lab", "b", NULL);
	registry_agent_set_models(&reg, a, llama, 1, 1);
	registry_agent_set_models(&reg, b, llama, 1, 1);
	CHECK(breaker_result(&a->breaker, 0, 100, 1, 1000) == BREAKER_OPENED);
	ctx(&rc, &reg, 500);
	for (int i = 0; i < 4; i++)
		CHECK(route_choose(&rc, "lab", 3, "llama3", 6, 0, NULL, 0, &why) == b);
	CHECK(route_choose(&rc, "lab", 3, "llama3", 6, 0, &b, 1, &why) == NULL &&
	    why == ROUTE_FULL);
	/* after the cool-down a is the probe (picked longest ago), once */
	ctx(&rc, &reg, 1200);
	CHECK(route_choose(&rc, "lab", 3, "llama3", 6, 0, NULL, 0, &why) == a);
	for (int i = 0; i < 4; i++)
		CHECK(route_choose(&rc, "lab", 3, "llama3", 6, 0, NULL, 0, &why) == b);
	CHECK(breaker_result(&a->breaker, 1, 1300, 1, 1000) == BREAKER_CLOSED_AGAIN);
	CHECK(route_choose(&rc, "lab", 3, "llama3", 6, 0, NULL, 0, &why) == a);
	registry_clear(&reg);
}

int
main(void)
{
	test_score();
	test_round_robin();
	test_usable_and_remote();
	test_load();
	test_many_replicas();
	test_breaker();
	test_breaker_in_pick();
	if (failures) {
		fprintf(stderr, "test_route: %d check(s) failed\n", failures);
		return 1;
	}
	printf("test_route: all checks passed\n");
	return 0;
}
