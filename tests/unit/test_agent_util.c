/*
 * test_agent_util: the pure parts of tokiame's agent: back-off delays,
 * backend URL joining, the parsed-URL cache, model kind guesses,
 * host:port parsing.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "backoff.h"
#include "hostport.h"
#include "tokilake.pb-c.h"
#include "url_cache.h"
#include "check.h"

static void
url(const char *base, const char *path, const char *want)
{
	char *got = backend_url(base, path);

	if (strcmp(got, want) != 0) {
		fprintf(stderr, "FAIL: backend_url(%s, %s) = %s, want %s\n", base, path, got, want);
		failures++;
	}
	free(got);
}

/* The same URL shares a slot; held slots are never replaced; a free one
 * is reused least recently used first; curl's own parser decides. */
static void
test_url_cache(void)
{
	struct url_cache c = { 0 };
	struct url_slot *held[URL_CACHE_SLOTS], *a, *b;
	char u[64];
	char *part = NULL;

	a = url_cache_get(&c, "http://127.0.0.1:8000/v1/chat/completions");
	b = url_cache_get(&c, "http://127.0.0.1:8000/v1/chat/completions");
	CHECK(a != NULL && a == b && a->refs == 2);
	CHECK(curl_url_get(a->uh, CURLUPART_PATH, &part, 0) == CURLUE_OK &&
	    strcmp(part, "/v1/chat/completions") == 0);
	curl_free(part);
	url_cache_put(a);
	url_cache_put(b);
	CHECK(a->refs == 0);
	CHECK(url_cache_get(&c, "http://[::1") == NULL);

	for (int i = 0; i < URL_CACHE_SLOTS; i++) {
		snprintf(u, sizeof(u), "http://127.0.0.1:8000/p%d", i);
		held[i] = url_cache_get(&c, u);
		CHECK(held[i] != NULL && held[i]->refs == 1);
	}
	/* every slot held: the transfer goes without one */
	CHECK(url_cache_get(&c, "http://127.0.0.1:8000/other") == NULL);
	CHECK(strcmp(held[3]->url, "http://127.0.0.1:8000/p3") == 0);
	url_cache_put(held[5]);
	url_cache_put(held[2]);
	a = url_cache_get(&c, "http://127.0.0.1:8000/other");
	CHECK(a == held[2]); /* p2 was used before p5 */
	CHECK(a != NULL && strcmp(a->url, "http://127.0.0.1:8000/other") == 0);
	url_cache_put(a);
	for (int i = 0; i < URL_CACHE_SLOTS; i++)
		if (i != 2 && i != 5)
			url_cache_put(held[i]);
	url_cache_free(&c);
	for (int i = 0; i < URL_CACHE_SLOTS; i++)
		CHECK(c.slot[i].url == NULL && c.slot[i].uh == NULL);
}

static void
test_url(void)
{
	url("http://h:11434/v1", "/v1/chat/completions", "http://h:11434/v1/chat/completions");
	url("http://h:11434/v1/", "/v1/chat/completions", "http://h:11434/v1/chat/completions");
	url("http://h:8000", "/v1/chat/completions", "http://h:8000/v1/chat/completions");
	url("http://h:8000/", "/v1/models", "http://h:8000/v1/models");
	url("http://h/openai/v1", "/v1/models", "http://h/openai/v1/models");
	url("http://h/v1", "/v1/models?x=1", "http://h/v1/models?x=1");
	url("http://h/v1", "/v10/x", "http://h/v1/v10/x");
	url("http://h/api", "/v1/embeddings", "http://h/api/v1/embeddings");
}

static void
test_kind(void)
{
	CHECK(model_kind_guess("nomic-embed-text") == TOKILAKE__V1__MODEL_KIND__MODEL_KIND_EMBEDDING);
	CHECK(model_kind_guess("text-EMBEDDING-3-small") ==
	    TOKILAKE__V1__MODEL_KIND__MODEL_KIND_EMBEDDING);
	CHECK(model_kind_guess("whisper-1") == TOKILAKE__V1__MODEL_KIND__MODEL_KIND_AUDIO);
	CHECK(model_kind_guess("tts-1-hd") == TOKILAKE__V1__MODEL_KIND__MODEL_KIND_AUDIO);
	CHECK(model_kind_guess("qwen3:0.6b") == TOKILAKE__V1__MODEL_KIND__MODEL_KIND_CHAT);
	CHECK(strcmp(model_kind_name(TOKILAKE__V1__MODEL_KIND__MODEL_KIND_CHAT), "chat") == 0);
}

static void
test_hostport(void)
{
	char h[64], p[8];

	CHECK(hostport_split("localhost:7749", h, sizeof(h), p, sizeof(p)) == 0 &&
	    strcmp(h, "localhost") == 0 && strcmp(p, "7749") == 0);
	CHECK(hostport_split("[::1]:443", h, sizeof(h), p, sizeof(p)) == 0 &&
	    strcmp(h, "::1") == 0 && strcmp(p, "443") == 0);
	CHECK(hostport_split(":7749", h, sizeof(h), p, sizeof(p)) == 0 && h[0] == '\0');
	CHECK(hostport_split("host", h, sizeof(h), p, sizeof(p)) == -1);
	CHECK(hostport_split("host:0", h, sizeof(h), p, sizeof(p)) == -1);
	CHECK(hostport_split("host:65536", h, sizeof(h), p, sizeof(p)) == -1);
	CHECK(hostport_split("host:12x", h, sizeof(h), p, sizeof(p)) == -1);
	CHECK(hostport_split("::1:443", h, sizeof(h), p, sizeof(p)) == -1);
	CHECK(hostport_split("[::1]443", h, sizeof(h), p, sizeof(p)) == -1);
	CHECK(host_is_ip("127.0.0.1") && host_is_ip("::1") && !host_is_ip("localhost"));
}

static void
test_backoff(void)
{
	static const uint32_t want[] = { 200, 400, 800, 1600, 2000, 2000, 2000 };
	struct backoff b;

	for (int round = 0; round < 50; round++) {
		backoff_init(&b, 200, 2000);
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			uint32_t d = backoff_next(&b);
			CHECK(d <= want[i] && d >= want[i] - want[i] / 5);
		}
		backoff_reset(&b);
		uint32_t d = backoff_next(&b);
		CHECK(d <= 200 && d >= 160);
		d = backoff_at_max(&b);
		CHECK(d <= 2000 && d >= 1600);
		d = backoff_next(&b);
		CHECK(d <= 2000 && d >= 1600);
	}
	backoff_init(&b, 0, 0); /* degenerate config: still sane */
	CHECK(backoff_next(&b) <= 1);
}

int
main(void)
{
	test_url();
	test_url_cache();
	test_kind();
	test_hostport();
	test_backoff();
	if (failures == 0)
		printf("test_agent_util: all passed\n");
	return failures == 0 ? 0 : 1;
}
