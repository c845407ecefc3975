/*
 * fuzz_load: tokiame's readers of a backend's own load (load_parse.c):
 * Prometheus /metrics text, llama.cpp /slots and Ollama /api/ps JSON, on
 * any bytes. The first byte picks the reader (so one corpus covers all
 * three), the rest is the body. The backend is reached over the network
 * and need not be well-formed.
 *
 * Checked:
 *  - a refusal says why;
 *  - an accepted report holds at most LOAD_MAX_MODELS samples, each name
 *    at most LOAD_MODEL_MAX bytes, NUL-terminated, without duplicates;
 *  - KV use is at most 1000 permille; /slots reports one whole-backend
 *    sample whose running is at most the number of '{' in the body;
 *  - the report's kind matches the reader.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "load_parse.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct load_report r;
	char why[256] = "";
	const char *text;
	size_t len;
	int rc, which;

	if (size == 0)
		return 0;
	which = data[0] % 3;
	text = (const char *)data + 1;
	len = size - 1;
	if (which == 0)
		rc = load_parse_metrics(text, len, &r, why, sizeof(why));
	else if (which == 1)
		rc = load_parse_slots(text, len, &r, why, sizeof(why));
	else
		rc = load_parse_ollama_ps(text, len, &r, why, sizeof(why));
	if (rc != 0) {
		REQUIRE(why[0] != '\0');
		return 0;
	}
	REQUIRE(r.n <= LOAD_MAX_MODELS);
	for (size_t i = 0; i < r.n; i++) {
		REQUIRE(memchr(r.s[i].model, '\0', LOAD_MODEL_MAX + 1) != NULL);
		REQUIRE(r.s[i].kv_permille <= 1000);
		for (size_t j = 0; j < i; j++)
			REQUIRE(strcmp(r.s[i].model, r.s[j].model) != 0);
		REQUIRE(load_report_find(&r, r.s[i].model) == &r.s[i]);
	}
	if (which == 0)
		REQUIRE(r.kind == LOAD_KIND_VLLM || r.kind == LOAD_KIND_SGLANG ||
		    r.kind == LOAD_KIND_LLAMACPP);
	if (which == 1) {
		size_t opens = 0;
		for (size_t i = 0; i < len; i++)
			opens += text[i] == '{';
		REQUIRE(r.kind == LOAD_KIND_LLAMACPP && r.n == 1 && r.s[0].model[0] == '\0');
		REQUIRE(r.s[0].running <= opens);
	}
	if (which == 2)
		REQUIRE(r.kind == LOAD_KIND_OLLAMA);
	return 0;
}
