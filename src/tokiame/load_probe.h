/*
 * load_probe: tokiame reads each backend's own load (requests waiting and
 * running, KV-cache use) and reports it, per published model, in its
 * heartbeats (Heartbeat.models, issue 15).
 *
 * Where from (backends[].load_probe): vllm and sglang read GET /metrics;
 * llamacpp reads /metrics (needs the server's --metrics), else /slots;
 * ollama reads /api/ps; auto tries /metrics, then /api/ps, then /slots
 * and keeps the first that answers in a known format; off never asks.
 * The paths hang off the backend's URL without its trailing /v1
 * (http://h:8000/v1 -> http://h:8000/metrics). The bodies are read by
 * load_parse.c.
 *
 * When: once at start, then about once a second (LOAD_PROBE_INTERVAL_MS)
 * while the backend had traffic (a task running or queued on it) in the
 * last LOAD_TRAFFIC_WINDOW_MS. Figures older than LOAD_FRESH_MS are not
 * reported (the backend's own load is then unknown), so an idle
 * backend's last busy figures never keep traffic away from it.
 *
 * Never in a task's path: the requests are plain transfers of the
 * agent's curl multi, one at a time per backend, with their own bounds:
 * LOAD_PROBE_TIMEOUT_MS per request, a body over LOAD_BODY_MAX is cut
 * and ignored. A failure of any kind only makes the backend's load
 * unknown (backend_known = 0); an endpoint answering 404, 405 or 501 is
 * not asked again for LOAD_MISSING_RETRY_MS (auto tries the next one
 * first). Logged once when probing starts failing and once when it works
 * again.
 *
 * Per model in the heartbeat: in_flight and capacity are those of the
 * backends that serve it (tasks holding or waiting for one of their
 * slots; their concurrency), shared by all their models. waiting,
 * running and kv_permille come from the backends' reports (summed over
 * the backends serving the model, KV the largest), backend_known only
 * when every one of them has fresh figures for it. A report without
 * per-model figures (llama.cpp) covers all the backend's models.
 * Ollama has no queue metric: a model /api/ps lists as loaded reports
 * waiting 0 and running = the tasks tokiame runs on it (what tokiame
 * knows, not what Ollama says); a model it does not list is unknown.
 */
#ifndef TM_LOAD_PROBE_H
#define TM_LOAD_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "tokilake.pb-c.h"

#define LOAD_PROBE_INTERVAL_MS 1000
#define LOAD_TRAFFIC_WINDOW_MS 10000
#define LOAD_FRESH_MS 5000
#define LOAD_PROBE_TIMEOUT_MS 500
#define LOAD_MISSING_RETRY_MS 60000

struct agent;
struct backend;
struct load_state;

/* Start the probes that are due; returns the next time one is. */
uint64_t load_probe_tick(struct agent *ag, uint64_t now);
/* curl finished a probe request (CURLOPT_PRIVATE was its owner). */
void load_probe_done(struct load_state *st, CURLcode rc);
/* Drop every request in flight and the state (exit). */
void load_probe_free(struct agent *ag);
/* The heartbeat's per-model entries: store[i] and ptrs[i] for each of
 * ag->nmodels published models (strings point into ag's own). */
void load_probe_fill(struct agent *ag, Tokilake__V1__ModelLoad *store,
    Tokilake__V1__ModelLoad **ptrs, uint64_t now);

/* What /status shows of a backend's probe (api.c). */
struct load_view {
	const char *from;       /* the endpoint read, or NULL (none found yet, off) */
	const char *kind;       /* "vllm", "sglang", "llamacpp", "ollama" */
	int known;              /* fresh figures below */
	uint32_t waiting, running, kv_permille;  /* whole backend: summed, KV largest */
};
void load_probe_view(const struct backend *b, uint64_t now, struct load_view *v);

#endif
