/*
 * test_agent_load: agentd's per model load table (agent_load.c): only
 * published ids are kept, at most as many as the agent has models, the
 * first of duplicates, kv clamped, backend figures only when known, a
 * heartbeat without models drops the table, lookups by (bytes, length),
 * and a big agent (4096 models) is handled in reasonable time.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent_load.h"
#include "link.h"
#include "log.h"
#include "xmalloc.h"
#include "check.h"

static struct agent_link *
agent(size_t n, char **ids)
{
	struct agent_link *a = xcalloc(1, sizeof(*a));

	a->agent_id = "test#1";
	a->models = xcalloc(n ? n : 1, sizeof(*a->models));
	for (size_t i = 0; i < n; i++)
		a->models[i].id = ids[i];
	a->nmodels = n;
	return a;
}

static Tokilake__V1__ModelLoad *
ml(const char *id, uint32_t inf, uint32_t cap, uint32_t w, uint32_t r, uint32_t kv, int known)
{
	Tokilake__V1__ModelLoad *m = xcalloc(1, sizeof(*m));

	tokilake__v1__model_load__init(m);
	m->id = xstrdup(id);
	m->in_flight = inf;
	m->capacity = cap;
	m->waiting = w;
	m->running = r;
	m->kv_permille = kv;
	m->backend_known = known;
	return m;
}

static void
free_ml(Tokilake__V1__ModelLoad **m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i]->id);
		free(m[i]);
	}
}

static void
test_basic(void)
{
	char *ids[] = { "alpha", "beta", "gamma" };
	struct agent_link *a = agent(3, ids);
	Tokilake__V1__ModelLoad *m[5];
	const struct model_load *l;

	CHECK(agent_load_model(a, "alpha", 5) == NULL); /* never reported */
	m[0] = ml("beta", 2, 4, 7, 3, 420, 1);
	m[1] = ml("unknown", 1, 1, 1, 1, 1, 1);   /* not published: ignored */
	m[2] = ml("alpha", 1, 8, 99, 99, 5000, 0); /* backend unknown */
	m[3] = ml("beta", 9, 9, 9, 9, 9, 1);      /* a duplicate */
	m[4] = ml("gamma", 0, 2, 0, 0, 2000, 1);  /* past n = nmodels: dropped */
	agent_load_update(a, m, 5, 1234);
	CHECK(agent_load_count(a) == 2);
	l = agent_load_model(a, "beta", 4);
	CHECK(l != NULL && l->in_flight + l->capacity + l->waiting + l->running > 0);
	CHECK(l != NULL && l->backend_known && l->waiting + l->running == 10 &&
	    l->kv_permille == 420 && l->at_ms == 1234);
	l = agent_load_model(a, "alpha", 5);
	CHECK(l != NULL && !l->backend_known && l->waiting == 0 && l->running == 0 &&
	    l->kv_permille == 0 && l->in_flight == 1 && l->capacity == 8);
	CHECK(agent_load_model(a, "alph", 4) == NULL);
	CHECK(agent_load_model(a, "alphabet", 8) == NULL);
	CHECK(agent_load_model(a, "unknown", 7) == NULL);
	CHECK(agent_load_model(a, "gamma", 5) == NULL);
	/* lookups take a length: "betaX" cut at 4 is beta */
	CHECK(agent_load_model(a, "betaX", 4) != NULL);
	free_ml(m, 5);

	/* kv is clamped; the next heartbeat replaces the table */
	m[0] = ml("gamma", 0, 2, 0, 0, 2000, 1);
	agent_load_update(a, m, 1, 2000);
	CHECK(agent_load_count(a) == 1);
	CHECK(agent_load_model(a, "beta", 4) == NULL);
	l = agent_load_model(a, "gamma", 5);
	CHECK(l != NULL && l->kv_permille == 1000);
	free_ml(m, 1);

	/* a heartbeat without models (an older tokiame): no table */
	agent_load_update(a, NULL, 0, 3000);
	CHECK(a->load == NULL && agent_load_model(a, "gamma", 5) == NULL);
	agent_load_free(a->load);
	free(a->models);
	free(a);
}

static void
test_big(void)
{
	enum { N = 4096 };
	char **ids = xcalloc(N, sizeof(*ids));
	Tokilake__V1__ModelLoad **m = xcalloc(2 * N, sizeof(*m));
	struct agent_link *a;
	clock_t t0;
	char id[32];

	for (size_t i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "model-%05zu", i);
		ids[i] = xstrdup(id);
	}
	a = agent(N, ids);
	for (size_t i = 0; i < 2 * N; i++) {
		snprintf(id, sizeof(id), "model-%05zu", (i * 7919) % (2 * N));
		m[i] = ml(id, (uint32_t)i, 4, 0, 0, 0, 0);
	}
	t0 = clock();
	for (int r = 0; r < 20; r++)
		agent_load_update(a, m, 2 * N, r + 1);
	/* 20 heartbeats of 4096 models: well under a second (sorted, not
	 * quadratic) */
	CHECK((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0);
	CHECK(agent_load_count(a) <= N);
	for (size_t i = 0; i < N; i += 97) {
		const struct model_load *l = agent_load_model(a, ids[i], strlen(ids[i]));
		/* only the first N entries were read: those with (i*7919)%2N < N */
		(void)l;
	}
	{
		size_t found = 0;
		for (size_t i = 0; i < N; i++)
			found += agent_load_model(a, ids[i], strlen(ids[i])) != NULL;
		CHECK(found == agent_load_count(a) && found > 0);
	}
	free_ml(m, 2 * N);
	free(m);
	agent_load_free(a->load);
	for (size_t i = 0; i < N; i++)
		free(ids[i]);
	free(ids);
	free(a->models);
	free(a);
}

int
main(void)
{
	log_init("test_agent_load", LOG_LEVEL_WARN, 0, NULL);
	test_basic();
	test_big();
	if (failures)
		fprintf(stderr, "%d failure(s)\n", failures);
	return failures != 0;
}
