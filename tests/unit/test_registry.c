/*
 * test_registry: the agentd registry (namespace -> agents -> models):
 * add/remove, model union and reference counting, sorted listing,
 * lookups with counted strings, the router's per-model replica lists
 * (the choice itself: test_route), and refusal
 * of names an agent must not be able to register.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "check.h"

struct listing {
	char text[4096];
	size_t n;
};

static int
collect(const struct reg_model *m, void *arg)
{
	struct listing *l = arg;
	size_t off = strlen(l->text);

	snprintf(l->text + off, sizeof(l->text) - off, "%s%s:%s(%u)", off ? " " : "", m->ns->name,
	    m->name, m->refs);
	l->n++;
	return 0;
}

static const char *
list(const struct registry *reg)
{
	static struct listing l;

	memset(&l, 0, sizeof(l));
	registry_foreach_model(reg, collect, &l);
	return l.text;
}

static int
stop_after_two(const struct reg_model *m, void *arg)
{
	int *seen = arg;

	(void)m;
	return ++*seen == 2 ? 42 : 0;
}

static void
test_empty(void)
{
	struct registry reg;
	int seen = 0;

	registry_init(&reg);
	CHECK(reg.nnamespaces == 0 && reg.nagents == 0 && reg.nmodels == 0);
	CHECK(strcmp(list(&reg), "") == 0);
	CHECK(registry_namespace(&reg, "lab", 3) == NULL);
	CHECK(registry_model(&reg, "lab", 3, "m", 1) == NULL);
	CHECK(registry_foreach_model(&reg, stop_after_two, &seen) == 0 && seen == 0);
	registry_clear(&reg);
}

static void
test_add_list_remove(void)
{
	struct registry reg;
	struct reg_agent *a, *b, *c;
	struct reg_model *m;
	int dummy;
	const struct reg_model_info ma[] = {
		{ "qwen3:0.6b", NULL, 0 }, { "llama3", "chat", 8192 }, { "llama3", "chat", 8192 },
	};
	const struct reg_model_info mb[] = {
		{ "llama3", "chat", 0 }, { "bge-m3", "embedding", 0 },
	};
	const struct reg_model_info mc[] = { { "zeta", NULL, 0 } };
	int seen = 0;

	registry_init(&reg);
	a = registry_agent_add(&reg, "my-lan", "agent-a", &dummy);
	b = registry_agent_add(&reg, "my-lan", "agent-b", NULL);
	c = registry_agent_add(&reg, "alpha", "agent-c", NULL);
	CHECK(a != NULL && b != NULL && c != NULL);
	CHECK(a->id != b->id && b->id != c->id);
	CHECK(a->link == &dummy);
	CHECK(reg.nnamespaces == 2 && reg.nagents == 3);
	CHECK(a->ns == b->ns && a->ns != c->ns);

	CHECK(registry_agent_set_models(&reg, a, ma, 3, 1000) == 0);
	CHECK(a->nmodels == 2); /* the duplicate counts once */
	CHECK(registry_agent_set_models(&reg, b, mb, 2, 2000) == 0);
	CHECK(registry_agent_set_models(&reg, c, mc, 1, 3000) == 0);
	/* namespaces sorted, models sorted, llama3 shared by two agents */
	CHECK(strcmp(list(&reg), "alpha:zeta(1) my-lan:bge-m3(1) my-lan:llama3(2) "
	    "my-lan:qwen3:0.6b(1)") == 0);
	CHECK(reg.nmodels == 4);

	m = registry_model(&reg, "my-lan", 6, "llama3", 6);
	CHECK(m != NULL && m->created == 1000 && m->context_length == 8192);
	CHECK(strcmp(m->kind, "chat") == 0);
	m = registry_model(&reg, "my-lan", 6, "qwen3:0.6b", 10);
	CHECK(m != NULL && strcmp(m->kind, "chat") == 0); /* default kind */
	m = registry_model(&reg, "my-lan", 6, "bge-m3", 6);
	CHECK(m != NULL && strcmp(m->kind, "embedding") == 0);
	/* counted strings: a prefix is not a match */
	CHECK(registry_model(&reg, "my-lan", 6, "llama", 5) == NULL);
	CHECK(registry_model(&reg, "my-la", 5, "llama3", 6) == NULL);
	CHECK(registry_model(&reg, "my-lan:x", 6, "llama3:8b", 6) != NULL);
	CHECK(registry_agent_has_model(a, "qwen3:0.6b", 10));
	CHECK(!registry_agent_has_model(a, "bge-m3", 6));
	CHECK(registry_agent_has_model(b, "bge-m3", 6));

	CHECK(registry_foreach_model(&reg, stop_after_two, &seen) == 42 && seen == 2);

	/* replacing a list keeps the created time of models that stay */
	CHECK(registry_agent_set_models(&reg, a, ma + 1, 1, 5000) == 0);
	CHECK(strcmp(list(&reg), "alpha:zeta(1) my-lan:bge-m3(1) my-lan:llama3(2)") == 0);
	CHECK(registry_model(&reg, "my-lan", 6, "llama3", 6)->created == 1000);

	/* removing agent b: llama3 stays (a has it), bge-m3 goes */
	registry_agent_remove(&reg, b);
	CHECK(strcmp(list(&reg), "alpha:zeta(1) my-lan:llama3(1)") == 0);
	CHECK(reg.nagents == 2 && reg.nnamespaces == 2);

	/* the last agent of a namespace takes the namespace with it */
	registry_agent_remove(&reg, c);
	CHECK(registry_namespace(&reg, "alpha", 5) == NULL);
	CHECK(reg.nnamespaces == 1);
	CHECK(strcmp(list(&reg), "my-lan:llama3(1)") == 0);

	/* an empty model list is fine */
	CHECK(registry_agent_set_models(&reg, a, NULL, 0, 6000) == 0);
	CHECK(strcmp(list(&reg), "") == 0 && reg.nmodels == 0);
	CHECK(registry_namespace(&reg, "my-lan", 6) != NULL);

	registry_clear(&reg);
	CHECK(reg.nnamespaces == 0 && reg.nagents == 0 && reg.nmodels == 0);
}

static void
test_refused_names(void)
{
	struct registry reg;
	struct reg_agent *a;
	char long_name[REG_MAX_NAME + 2];
	struct reg_model_info bad[] = { { "ok", NULL, 0 }, { "bad\nname", NULL, 0 } };
	struct reg_model_info badkind[] = {
		{ "ok", "a-kind-name-that-is-far-too-long-to-keep", 0 },
	};
	struct reg_model_info empty[] = { { "", NULL, 0 } };
	struct reg_model_info good[] = { { "kept", NULL, 0 } };

	registry_init(&reg);
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	CHECK(registry_agent_add(&reg, "", "a", NULL) == NULL);
	CHECK(registry_agent_add(&reg, "ns", "", NULL) == NULL);
	CHECK(registry_agent_add(&reg, long_name, "a", NULL) == NULL);
	CHECK(registry_agent_add(&reg, "n\x01s", "a", NULL) == NULL);
	CHECK(reg.nnamespaces == 0);

	a = registry_agent_add(&reg, "ns", "a", NULL);
	CHECK(a != NULL);
	CHECK(registry_agent_set_models(&reg, a, good, 1, 1) == 0);
	/* a refused update changes nothing */
	CHECK(registry_agent_set_models(&reg, a, bad, 2, 2) == -1);
	CHECK(registry_agent_set_models(&reg, a, badkind, 1, 2) == -1);
	CHECK(registry_agent_set_models(&reg, a, empty, 1, 2) == -1);
	CHECK(strcmp(list(&reg), "ns:kept(1)") == 0);
	long_name[REG_MAX_NAME] = '\0'; /* exactly the limit is fine */
	good[0].name = long_name;
	CHECK(registry_agent_set_models(&reg, a, good, 1, 3) == 0);
	CHECK(reg.nmodels == 1);
	registry_clear(&reg);
}

/* The models_published hook (agentd's hold.c routes held requests
 * again): once per list that publishes something, local or remote, after
 * the registry has it; never for an empty list or a refused one. */
static int published;
static struct registry *published_reg;

static void
count_published(void *data)
{
	published++;
	/* the registry is consistent when it is called */
	CHECK(registry_model(published_reg, "lab", 3, "llama3", 6) != NULL);
	CHECK(data == &published);
}

static void
test_models_published(void)
{
	struct registry reg;
	struct reg_agent *a, *r;
	const struct reg_model_info m[] = { { "llama3", NULL, 0 } };
	const struct reg_model_info bad[] = { { "", NULL, 0 } };

	registry_init(&reg);
	published = 0;
	published_reg = &reg;
	reg.models_published = count_published;
	reg.hook_data = &published;
	a = registry_agent_add(&reg, "lab", "a", NULL);
	CHECK(published == 0);
	CHECK(registry_agent_set_models(&reg, a, m, 0, 1) == 0);
	CHECK(published == 0);
	CHECK(registry_agent_set_models(&reg, a, bad, 1, 1) == -1);
	CHECK(published == 0);
	CHECK(registry_agent_set_models(&reg, a, m, 1, 1) == 0);
	CHECK(published == 1);
	r = registry_remote_add(&reg, "lab", "gpu#1", "eu-1/00ff/1", "eu-1", "h2c://10.0.0.5:7741");
	CHECK(registry_agent_set_models(&reg, r, m, 1, 1) == 0);
	CHECK(published == 2);
	registry_clear(&reg);
}

static void
test_remote(void)
{
	struct registry reg;
	struct reg_agent *l, *r1, *r2;
	const struct reg_model_info m[] = { { "llama3", NULL, 0 } };
	const struct reg_model_info both[] = { { "llama3", NULL, 0 }, { "qwen", "embedding", 512 } };

	registry_init(&reg);
	r1 = registry_remote_add(&reg, "lab", "gpu#1", "eu-1/00ff/1", "eu-1", "h2c://10.0.0.5:7741");
	CHECK(r1 != NULL && r1->link == NULL && registry_agent_is_remote(r1));
	CHECK(registry_remote_add(&reg, "lab", "x", "", "eu-1", "h2c://a:1") == NULL);
	CHECK(registry_remote_add(&reg, "lab", "x", "g", "eu-1", NULL) == NULL);
	registry_agent_set_models(&reg, r1, both, 2, 1700000000);
	CHECK(reg.nremote == 1 && reg.nagents == 1 && reg.nmodels == 2);
	CHECK(registry_model(&reg, "lab", 3, "qwen", 4) != NULL);
	CHECK(registry_model(&reg, "lab", 3, "qwen", 4)->created == 1700000000);
	CHECK(registry_model(&reg, "lab", 3, "llama3", 6)->nremote == 1);
	CHECK(registry_model(&reg, "lab", 3, "llama3", 6)->nlocal == 0);

	l = registry_agent_add(&reg, "lab", "local#1", (void *)&reg);
	registry_agent_set_gid(l, "us-1/abcd/1");
	CHECK(!registry_agent_is_remote(l) && strcmp(l->gid, "us-1/abcd/1") == 0);
	registry_agent_set_models(&reg, l, m, 1, 1);
	CHECK(reg.nmodels == 2); /* llama3 listed once for two agents */
	CHECK(registry_model(&reg, "lab", 3, "llama3", 6)->nlocal == 1);
	CHECK(registry_model(&reg, "lab", 3, "llama3", 6)->local[0] == l);
	CHECK(registry_model(&reg, "lab", 3, "qwen", 4)->nlocal == 0);

	r2 = registry_remote_add(&reg, "lab", "gpu#2", "eu-2/01/1", "eu-2", "https://eu-2:7741");
	registry_agent_set_models(&reg, r2, both, 2, 1);
	CHECK(registry_agent_by_gid(&reg, "eu-2/01/1") == r2);
	CHECK(registry_agent_by_gid(&reg, "us-1/abcd/1") == l);
	CHECK(registry_agent_by_gid(&reg, "nope") == NULL);
	CHECK(registry_model(&reg, "lab", 3, "qwen", 4)->nremote == 2);
	registry_agent_remove(&reg, r1);
	CHECK(reg.nremote == 1);
	CHECK(registry_model(&reg, "lab", 3, "qwen", 4)->nremote == 1);
	CHECK(registry_model(&reg, "lab", 3, "qwen", 4)->remote[0] == r2);
	registry_agent_remove(&reg, l);
	CHECK(registry_model(&reg, "lab", 3, "llama3", 6)->nlocal == 0);
	CHECK(registry_model(&reg, "lab", 3, "llama3", 6)->remote[0] == r2);
	registry_clear(&reg);
	CHECK(reg.nremote == 0 && reg.nagents == 0 && reg.nnamespaces == 0);
}

static void
test_many(void)
{
	struct registry reg;
	struct reg_agent *agents[50];
	struct reg_model_info models[20];
	char names[20][16];
	struct listing l;

	registry_init(&reg);
	for (int i = 0; i < 20; i++) {
		snprintf(names[i], sizeof(names[i]), "model-%02d", 19 - i);
		models[i].name = names[i];
		models[i].kind = NULL;
		models[i].context_length = 0;
	}
	for (int i = 0; i < 50; i++) {
		char ns[16], name[16];

		snprintf(ns, sizeof(ns), "ns-%02d", i % 10);
		snprintf(name, sizeof(name), "agent-%02d", i);
		agents[i] = registry_agent_add(&reg, ns, name, NULL);
		CHECK(registry_agent_set_models(&reg, agents[i], models, 20, 1) == 0);
	}
	CHECK(reg.nnamespaces == 10 && reg.nagents == 50 && reg.nmodels == 200);
	memset(&l, 0, sizeof(l));
	registry_foreach_model(&reg, collect, &l);
	CHECK(l.n == 200);
	CHECK(strncmp(l.text, "ns-00:model-00(5) ns-00:model-01(5)", 35) == 0);
	for (int i = 0; i < 50; i += 2)
		registry_agent_remove(&reg, agents[i]);
	CHECK(reg.nnamespaces == 5 && reg.nagents == 25 && reg.nmodels == 100);
	registry_clear(&reg);
	CHECK(reg.nnamespaces == 0);
}

int
main(void)
{
	test_empty();
	test_add_list_remove();
	test_refused_names();
	test_models_published();
	test_remote();
	test_many();
	if (failures) {
		fprintf(stderr, "test_registry: %d check(s) failed\n", failures);
		return 1;
	}
	printf("test_registry: all checks passed\n");
	return 0;
}
