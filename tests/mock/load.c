/*
 * load: the mock's own load, as inference servers expose theirs, so that
 * tests can make a backend look busy to tokiame's load probe.
 *
 *   GET  /metrics     Prometheus text: vLLM's names by default, with one
 *                     sample per listed model (model_name label); SGLang's
 *                     or llama.cpp's (no model label) when told; 404 "off"
 *   GET  /slots       llama.cpp: an array of `slots` slots, the first
 *                     `running` of them "is_processing":true (404 off)
 *   GET  /api/ps      Ollama: every listed model as loaded (404 off)
 *   GET  /mock/load   the settings and how often each endpoint was asked
 *   POST /mock/load   {"waiting":N,"running":N,"kv":F,"metrics":"vllm|sglang|
 *                     llamacpp|off","slots":N,"slots_on":B,"ps_on":B,
 *                     "hang":B} (hang: the three never answer)
 *                     (any subset) changes them; /mock/reset zeroes the
 *                     counts only
 *
 * These three endpoints are not counted in /mock/requests: a test that
 * counts its own requests does not see tokiame's probes there.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "buf.h"
#include "jsonw.h"
#include "mock.h"
#include "mreq.h"
#include "state.h"
#include "xmalloc.h"

enum style { STYLE_VLLM, STYLE_SGLANG, STYLE_LLAMACPP, STYLE_OFF };
static const char *const style_names[] = { "vllm", "sglang", "llamacpp", "off" };

static struct {
	pthread_mutex_t mu;
	uint64_t waiting, running;
	double kv;
	enum style style;
	uint64_t slots;
	int slots_on, ps_on;
	int hang;                 /* the three endpoints never answer */
	uint64_t n_metrics, n_slots, n_ps;
} ld = { .mu = PTHREAD_MUTEX_INITIALIZER, .slots = 4, .slots_on = 1, .ps_on = 1 };

#define MAX_SLOTS 1024

static void
send_buf(h2o_req_t *req, const char *ctype, struct buf *b)
{
	reply_now(req, 200, ctype, (const char *)buf_head(b), b->len);
	buf_free(b);
}

static void
off(h2o_req_t *req)
{
	static const char body[] = "{\"error\":{\"message\":\"no such endpoint in the mock\","
	    "\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"not_found\"}}";

	reply_now(req, 404, "application/json", body, sizeof(body) - 1);
}

/* "hang": hold the request unanswered (reply.c's hang knob: the client
 * leaving is recorded in /mock/aborts) */
static int
hung(h2o_req_t *req, int hang)
{
	struct mreq *m;

	if (!hang)
		return 0;
	m = mreq_new(req, req->path_normalized, 0);
	m->fail.hang = 1;
	reply_run(m);
	return 1;
}

struct prom {
	struct jw *w;
	const char *name;
	const char *value;
};

/* one sample line per model; the label value is escaped as Prometheus
 * wants (backslash, quote, newline) */
static void
prom_model(const char *id, void *arg)
{
	struct prom *p = arg;

	jw_raw(p->w, p->name);
	jw_raw(p->w, "{model_name=\"");
	for (const char *c = id; *c != '\0'; c++) {
		if (*c == '\\' || *c == '"')
			jw_raw(p->w, "\\");
		if (*c == '\n')
			jw_raw(p->w, "\\n");
		else
			jw_rawn(p->w, c, 1);
	}
	jw_raw(p->w, "\"} ");
	jw_raw(p->w, p->value);
	jw_raw(p->w, "\n");
}

static void
prom_metric(struct jw *w, const char *name, const char *help, const char *value, int per_model)
{
	struct prom p = { w, name, value };

	jw_fmt(w, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
	if (per_model)
		state_models_each(prom_model, &p);
	else
		jw_fmt(w, "%s %s\n", name, value);
}

void
load_metrics(h2o_req_t *req)
{
	char wv[32], rv[32], kv[32];
	enum style style;
	int hang;
	struct buf b;
	struct jw w;

	pthread_mutex_lock(&ld.mu);
	ld.n_metrics++;
	style = ld.style;
	hang = ld.hang;
	snprintf(wv, sizeof(wv), "%llu.0", (unsigned long long)ld.waiting);
	snprintf(rv, sizeof(rv), "%llu.0", (unsigned long long)ld.running);
	snprintf(kv, sizeof(kv), "%.4f", ld.kv);
	pthread_mutex_unlock(&ld.mu);
	if (hung(req, hang))
		return;
	if (style == STYLE_OFF) {
		off(req);
		return;
	}
	buf_init(&b, MOCK_MAX_OUT);
	jw_init(&w, &b);
	/* noise first, as real servers have: other metrics to skip */
	jw_raw(&w, "# HELP process_cpu_seconds_total Total user and system CPU time.\n"
	    "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.25\n");
	switch (style) {
	case STYLE_VLLM:
		prom_metric(&w, "vllm:num_requests_running", "Number of requests running.", rv, 1);
		prom_metric(&w, "vllm:num_requests_waiting", "Number of requests waiting.", wv, 1);
		prom_metric(&w, "vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent.",
		    kv, 1);
		break;
	case STYLE_SGLANG:
		prom_metric(&w, "sglang:num_running_reqs", "The number of running requests.", rv, 1);
		prom_metric(&w, "sglang:num_queue_reqs", "The number of requests in the queue.", wv,
		    1);
		prom_metric(&w, "sglang:token_usage", "The token usage.", kv, 1);
		break;
	case STYLE_LLAMACPP:
		prom_metric(&w, "llamacpp:requests_processing", "Requests processing.", rv, 0);
		prom_metric(&w, "llamacpp:requests_deferred", "Requests deferred.", wv, 0);
		prom_metric(&w, "llamacpp:kv_cache_usage_ratio", "KV-cache usage.", kv, 0);
		break;
	case STYLE_OFF:
		break;
	}
	send_buf(req, "text/plain; version=0.0.4; charset=utf-8", &b);
}

void
load_slots(h2o_req_t *req)
{
	uint64_t slots, running;
	int on, hang;
	struct buf b;
	struct jw w;

	pthread_mutex_lock(&ld.mu);
	ld.n_slots++;
	slots = ld.slots;
	running = ld.running;
	on = ld.slots_on;
	hang = ld.hang;
	pthread_mutex_unlock(&ld.mu);
	if (hung(req, hang))
		return;
	if (!on) {
		off(req);
		return;
	}
	buf_init(&b, MOCK_MAX_OUT);
	jw_init(&w, &b);
	jw_raw(&w, "[");
	for (uint64_t i = 0; i < slots; i++)
		jw_fmt(&w, "%s{\"id\":%llu,\"n_ctx\":4096,\"is_processing\":%s,"
		    "\"params\":{\"n_predict\":-1},\"next_token\":{\"has_next_token\":true}}",
		    i ? "," : "", (unsigned long long)i, i < running ? "true" : "false");
	jw_raw(&w, "]");
	send_buf(req, "application/json", &b);
}

static void
ps_model(const char *id, void *arg)
{
	struct jw *w = arg;

	if (buf_head(w->b)[w->b->len - 1] != '[')
		jw_raw(w, ",");
	jw_raw(w, "{\"name\":");
	jw_cstr(w, id);
	jw_raw(w, ",\"model\":");
	jw_cstr(w, id);
	jw_raw(w, ",\"size\":1000000,\"digest\":\"0\",\"details\":{\"family\":\"mock\"},"
	    "\"expires_at\":\"2099-01-01T00:00:00Z\",\"size_vram\":1000000}");
}

void
load_ps(h2o_req_t *req)
{
	int on, hang;
	struct buf b;
	struct jw w;

	pthread_mutex_lock(&ld.mu);
	ld.n_ps++;
	on = ld.ps_on;
	hang = ld.hang;
	pthread_mutex_unlock(&ld.mu);
	if (hung(req, hang))
		return;
	if (!on) {
		off(req);
		return;
	}
	buf_init(&b, MOCK_MAX_OUT);
	jw_init(&w, &b);
	jw_raw(&w, "{\"models\":[");
	state_models_each(ps_model, &w);
	jw_raw(&w, "]}");
	send_buf(req, "application/json", &b);
}

static void
load_json(struct jw *w)
{
	pthread_mutex_lock(&ld.mu);
	jw_fmt(w, "{\"waiting\":%llu,\"running\":%llu,\"kv\":%.4f,\"metrics\":\"%s\","
	    "\"slots\":%llu,\"slots_on\":%s,\"ps_on\":%s,\"hang\":%s,"
	    "\"asked\":{\"metrics\":%llu,\"slots\":%llu,\"ps\":%llu}}",
	    (unsigned long long)ld.waiting, (unsigned long long)ld.running, ld.kv,
	    style_names[ld.style], (unsigned long long)ld.slots, ld.slots_on ? "true" : "false",
	    ld.ps_on ? "true" : "false", ld.hang ? "true" : "false",
	    (unsigned long long)ld.n_metrics,
	    (unsigned long long)ld.n_slots, (unsigned long long)ld.n_ps);
	pthread_mutex_unlock(&ld.mu);
}

void
load_get(h2o_req_t *req)
{
	struct buf b;
	struct jw w;

	buf_init(&b, 4096);
	jw_init(&w, &b);
	load_json(&w);
	send_buf(req, "application/json", &b);
}

/* a non-negative integer field, if present: 1 set, 0 absent, -1 bad */
static int
get_count(yajl_val root, const char *key, uint64_t max, uint64_t *out)
{
	const char *path[] = { key, NULL };
	yajl_val v = yajl_tree_get(root, path, yajl_t_any);

	if (v == NULL)
		return 0;
	if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 0 ||
	    (uint64_t)YAJL_GET_INTEGER(v) > max)
		return -1;
	*out = (uint64_t)YAJL_GET_INTEGER(v);
	return 1;
}

static int
get_bool(yajl_val root, const char *key, int *out)
{
	const char *path[] = { key, NULL };
	yajl_val v = yajl_tree_get(root, path, yajl_t_any);

	if (v == NULL)
		return 0;
	if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
		return -1;
	*out = YAJL_IS_TRUE(v);
	return 1;
}

void
load_set(h2o_req_t *req)
{
	const char *kv_path[] = { "kv", NULL }, *style_path[] = { "metrics", NULL };
	uint64_t waiting = 0, running = 0, slots = 0;
	int hw, hr, hs, hso, hpo, hh, slots_on = 0, ps_on = 0, hang = 0, style = -1;
	double kv = -1;
	char err[256] = "", *copy;
	yajl_val root, v;
	struct buf b;
	struct jw w;

	if (req->entity.base == NULL || req->entity.len == 0 || req->entity.len > 65536 ||
	    !mreq_json_depth_ok(req->entity.base, req->entity.len)) {
		admin_error(req, 400, "want a small JSON object");
		return;
	}
	copy = xstrndup(req->entity.base, req->entity.len);
	root = yajl_tree_parse(copy, err, sizeof(err));
	free(copy);
	if (root == NULL || !YAJL_IS_OBJECT(root)) {
		admin_error(req, 400, "want a JSON object");
		yajl_tree_free(root);
		return;
	}
	hw = get_count(root, "waiting", UINT32_MAX, &waiting);
	hr = get_count(root, "running", UINT32_MAX, &running);
	hs = get_count(root, "slots", MAX_SLOTS, &slots);
	hso = get_bool(root, "slots_on", &slots_on);
	hpo = get_bool(root, "ps_on", &ps_on);
	hh = get_bool(root, "hang", &hang);
	if ((v = yajl_tree_get(root, kv_path, yajl_t_any)) != NULL) {
		if (!YAJL_IS_NUMBER(v) || YAJL_GET_DOUBLE(v) < 0 || YAJL_GET_DOUBLE(v) > 1)
			hw = -1;
		else
			kv = YAJL_GET_DOUBLE(v);
	}
	if ((v = yajl_tree_get(root, style_path, yajl_t_any)) != NULL) {
		const char *sv = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
		for (int i = 0; i < 4 && sv != NULL; i++)
			if (strcmp(sv, style_names[i]) == 0)
				style = i;
		if (style < 0)
			hw = -1;
	}
	yajl_tree_free(root);
	if (hw < 0 || hr < 0 || hs < 0 || hso < 0 || hpo < 0 || hh < 0) {
		admin_error(req, 400, "waiting, running: integers >= 0; kv: 0..1; slots: "
		    "0..1024; metrics: vllm, sglang, llamacpp or off; slots_on, ps_on, hang: "
		    "booleans");
		return;
	}
	pthread_mutex_lock(&ld.mu);
	if (hw)
		ld.waiting = waiting;
	if (hr)
		ld.running = running;
	if (hs)
		ld.slots = slots;
	if (hso)
		ld.slots_on = slots_on;
	if (hpo)
		ld.ps_on = ps_on;
	if (hh)
		ld.hang = hang;
	if (kv >= 0)
		ld.kv = kv;
	if (style >= 0)
		ld.style = (enum style)style;
	pthread_mutex_unlock(&ld.mu);
	buf_init(&b, 4096);
	jw_init(&w, &b);
	load_json(&w);
	send_buf(req, "application/json", &b);
}

void
load_reset(void)
{
	pthread_mutex_lock(&ld.mu);
	ld.n_metrics = ld.n_slots = ld.n_ps = 0;
	pthread_mutex_unlock(&ld.mu);
}
