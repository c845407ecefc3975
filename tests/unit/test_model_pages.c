/*
 * test_model_pages: agentd's MODELS_LIST paging. Every page must decode,
 * stay under IPC_MAX_PAYLOAD, carry more = 1 except the last, and the
 * pages together must list every model once, in registry order.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ipc.h"
#include "model_pages.h"
#include "registry.h"
#include "check.h"

struct sink {
	struct buf out;
	int pages;
	int fail_at; /* emit fails on this page (1-based); 0 = never */
};

static int
emit(void *arg, const struct ipc_msg *msg, const struct ipc_encode_lists *lists)
{
	struct sink *s = arg;

	if (++s->pages == s->fail_at)
		return -1;
	return ipc_encode(&s->out, msg, lists);
}

/* Decode every page in s->out; return the number of models seen. */
static size_t
check_pages(struct sink *s, uint64_t id, const struct registry *reg)
{
	const uint8_t *p = buf_head(&s->out);
	size_t left = s->out.len, models = 0;
	int pages = 0, last_more = 1;
	char prev[2 * REG_MAX_NAME + 2] = "";

	while (left > 0) {
		struct ipc_msg msg;
		struct ipc_list_iter it;
		struct ipc_model m;
		const char *why = NULL;
		ssize_t n = ipc_decode(p, left, &msg, &why);

		CHECK(n > 0);
		if (n <= 0) {
			fprintf(stderr, "decode: %s\n", why ? why : "incomplete");
			return 0;
		}
		CHECK((size_t)n - IPC_HEADER_SIZE < IPC_MAX_PAYLOAD);
		CHECK(msg.type == IPC_MODELS_LIST);
		CHECK(msg.u.models_list.id == id);
		CHECK(last_more == 1); /* nothing after the last page */
		last_more = msg.u.models_list.more;
		ipc_list_begin(&it, &msg.u.models_list.models);
		while (ipc_model_next(&it, &m)) {
			char key[sizeof(prev)];

			snprintf(key, sizeof(key), "%.*s\x01%.*s", (int)m.ns.len, m.ns.base,
			    (int)m.name.len, m.name.base);
			CHECK(strcmp(prev, key) < 0); /* sorted, no duplicates */
			snprintf(prev, sizeof(prev), "%s", key);
			CHECK(registry_model(reg, m.ns.base, m.ns.len, m.name.base,
			    m.name.len) != NULL);
			models++;
		}
		pages++;
		p += n;
		left -= (size_t)n;
	}
	CHECK(last_more == 0);
	CHECK(pages == s->pages);
	return models;
}

static void
test_empty(void)
{
	struct registry reg;
	struct sink s = { .pages = 0 };

	registry_init(&reg);
	buf_init(&s.out, 0);
	CHECK(models_pages(&reg, 7, emit, &s) == 0);
	CHECK(s.pages == 1);
	CHECK(check_pages(&s, 7, &reg) == 0);
	buf_free(&s.out);
	registry_clear(&reg);
}

static void
test_many_pages(void)
{
	struct registry reg;
	struct sink s = { .pages = 0 };
	char name[REG_MAX_NAME + 1];
	size_t total = 0;

	registry_init(&reg);
	/* 4 namespaces x 1000 models of ~250 bytes: about 1 MB, 4 pages */
	for (int n = 0; n < 4; n++) {
		char ns[16];
		struct reg_agent *a;
		struct reg_model_info *info = calloc(1000, sizeof(*info));
		char (*names)[REG_MAX_NAME + 1] = calloc(1000, sizeof(*names));

		snprintf(ns, sizeof(ns), "ns%d", n);
		a = registry_agent_add(&reg, ns, "agent", NULL);
		for (int i = 0; i < 1000; i++) {
			memset(name, 'm', 240);
			snprintf(name + 240, sizeof(name) - 240, "-%05d", i);
			memcpy(names[i], name, sizeof(name));
			info[i].name = names[i];
			info[i].kind = "chat";
			info[i].context_length = 4096;
		}
		CHECK(registry_agent_set_models(&reg, a, info, 1000, 1700000000) == 0);
		free(info);
		free(names);
	}
	CHECK(reg.nmodels == 4000);
	buf_init(&s.out, 0);
	CHECK(models_pages(&reg, 42, emit, &s) == 0);
	CHECK(s.pages >= 4);
	total = check_pages(&s, 42, &reg);
	CHECK(total == 4000);
	buf_free(&s.out);

	/* a failing emit stops at once and says so */
	memset(&s, 0, sizeof(s));
	s.fail_at = 2;
	buf_init(&s.out, 0);
	CHECK(models_pages(&reg, 43, emit, &s) == -1);
	CHECK(s.pages == 2);
	buf_free(&s.out);
	registry_clear(&reg);
}

int
main(void)
{
	test_empty();
	test_many_pages();
	if (failures) {
		fprintf(stderr, "test_model_pages: %d check(s) failed\n", failures);
		return 1;
	}
	printf("test_model_pages: all checks passed\n");
	return 0;
}
