/*
 * route_bench: the cost of one pick (route_choose), to run under
 * callgrind: `route_bench N` links N local replicas of one model with
 * made-up loads (a few full), then makes 10000 picks. Instructions per
 * pick = the route_choose inclusive count / 10000 (bench/README.md,
 * "Choosing a replica").
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"

#define PICKS 10000

static struct route_load *loads;

static void
load_of(const struct reg_agent *a, const char *model, size_t mlen, struct route_load *out,
    void *arg)
{
	(void)model;
	(void)mlen;
	(void)arg;
	*out = loads[a->id];
}

int
main(int argc, char **argv)
{
	struct registry reg;
	struct route_ctx rc;
	const struct reg_model_info models[] = { { "llama3", NULL, 0 }, { "qwen", NULL, 0 } };
	uint32_t rng = 42;
	int n = argc > 1 ? atoi(argv[1]) : 1;
	unsigned long found = 0;

	if (n < 1 || n > 100000) {
		fprintf(stderr, "usage: route_bench [replicas]\n");
		return 2;
	}
	loads = calloc((size_t)n + 2, sizeof(*loads));
	registry_init(&reg);
	for (int i = 0; i < n; i++) {
		char name[32];
		struct reg_agent *a;

		snprintf(name, sizeof(name), "gpu-%d", i);
		a = registry_agent_add(&reg, "lab", name, NULL);
		registry_agent_set_models(&reg, a, models, 2, 1);
		/* one in ten full, the others part busy */
		loads[a->id] = (struct route_load){ (uint32_t)(i % 10 == 9 ? 8 : i % 7), 0, 8,
			1000 };
	}
	memset(&rc, 0, sizeof(rc));
	rc.reg = &reg;
	rc.load = load_of;
	rc.now_ms = 1;
	rc.cooldown_ms = 10000;
	rc.rng = &rng;
	for (int i = 0; i < PICKS; i++) {
		enum route_why why;

		found += route_choose(&rc, "lab", 3, "llama3", 6, 0, NULL, 0, &why) != NULL;
	}
	printf("%d replicas: %lu of %d picks found one\n", n, found, PICKS);
	registry_clear(&reg);
	free(loads);
	return 0;
}
