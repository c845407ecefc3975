/*
 * load_parse: what a backend says about its own load, read from the
 * bodies its load endpoints answer. Pure (no curl, no agent, no I/O) so
 * that tests/unit/test_load_parse.c and tests/fuzz/fuzz_load.c can feed
 * it any bytes: the backend is not trusted to be well-formed.
 *
 *  - Prometheus text (GET /metrics) of vLLM, SGLang or llama.cpp server:
 *      vllm:num_requests_waiting, vllm:num_requests_running,
 *      vllm:gpu_cache_usage_perc or vllm:kv_cache_usage_perc (0..1);
 *      sglang:num_queue_reqs, sglang:num_running_reqs, sglang:token_usage;
 *      llamacpp:requests_deferred, llamacpp:requests_processing,
 *      llamacpp:kv_cache_usage_ratio.
 *    Samples are grouped by their model_name label (SGLang's older
 *    "name" too); a sample without one is the whole backend (model "").
 *    Several samples of one model and metric (vLLM's engine label,
 *    SGLang's tp_rank) add up; KV use takes the largest. Other metrics,
 *    comments and malformed lines are skipped.
 *  - llama.cpp server GET /slots: a JSON array of slots; a slot is busy
 *    when "is_processing" is true (newer servers) or, without it, when
 *    its "state" is not 0 (older ones). One sample for the whole
 *    backend: running = busy slots; waiting is not known there.
 *  - Ollama GET /api/ps: {"models":[{"name":...,"model":...}]}, the
 *    models loaded in memory. Ollama has no queue metric: the samples
 *    only say which models are loaded (no figures).
 *
 * Bounds: a body over LOAD_BODY_MAX is refused whole; at most
 * LOAD_MAX_MODELS models are kept (more are dropped, `truncated` set),
 * model names over LOAD_MODEL_MAX bytes are skipped, JSON nested deeper
 * than LOAD_MAX_DEPTH is refused. Counts are clamped to UINT32_MAX and
 * KV use to 0..1000 permille; NaN is ignored, negatives read as 0.
 */
#ifndef TM_LOAD_PARSE_H
#define TM_LOAD_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define LOAD_BODY_MAX (1024 * 1024)
#define LOAD_MAX_MODELS 64
#define LOAD_MODEL_MAX 512
#define LOAD_MAX_DEPTH 32

/* Where the figures came from. Also the order of load_probe's values. */
enum load_kind { LOAD_KIND_NONE, LOAD_KIND_VLLM, LOAD_KIND_SGLANG, LOAD_KIND_LLAMACPP,
	LOAD_KIND_OLLAMA };

struct load_sample {
	char model[LOAD_MODEL_MAX + 1]; /* "" = the whole backend */
	uint32_t waiting, running, kv_permille;
	uint8_t has_waiting, has_running, has_kv;
};

struct load_report {
	enum load_kind kind;     /* for /metrics: the family the samples came from */
	int truncated;           /* more than LOAD_MAX_MODELS models */
	size_t n;
	struct load_sample s[LOAD_MAX_MODELS];
};

/* Each: 0 with *r filled (r->n may be 0 for /api/ps: nothing loaded), or
 * -1 with why. text need not be NUL-terminated. */
int load_parse_metrics(const char *text, size_t len, struct load_report *r, char *why,
    size_t whylen);
int load_parse_slots(const char *text, size_t len, struct load_report *r, char *why,
    size_t whylen);
int load_parse_ollama_ps(const char *text, size_t len, struct load_report *r, char *why,
    size_t whylen);

/* The sample for model (exact name), else the whole-backend one, else
 * NULL. */
const struct load_sample *load_report_find(const struct load_report *r, const char *model);
const char *load_kind_name(enum load_kind k);

#endif
