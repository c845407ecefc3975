/* load_probe: see load_probe.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_priv.h"
#include "backend.h"
#include "buf.h"
#include "load_parse.h"
#include "load_probe.h"
#include "log.h"
#include "xmalloc.h"

#define LOAD_CONNECT_TIMEOUT_MS LOAD_PROBE_TIMEOUT_MS

enum endpoint { EP_METRICS, EP_API_PS, EP_SLOTS, EP_NONE };

static const char *const ep_path[] = { "/metrics", "/api/ps", "/slots" };

/* Where each load_probe value looks, in order (EP_NONE ends). */
static const enum endpoint order[][4] = {
	[TM_PROBE_AUTO] = { EP_METRICS, EP_API_PS, EP_SLOTS, EP_NONE },
	[TM_PROBE_OFF] = { EP_NONE },
	[TM_PROBE_VLLM] = { EP_METRICS, EP_NONE },
	[TM_PROBE_SGLANG] = { EP_METRICS, EP_NONE },
	[TM_PROBE_LLAMACPP] = { EP_METRICS, EP_SLOTS, EP_NONE },
	[TM_PROBE_OLLAMA] = { EP_API_PS, EP_NONE },
};

struct load_state {
	struct curl_owner owner;    /* first: CURLOPT_PRIVATE points here */
	struct agent *ag;
	struct backend *b;
	int mode;                   /* enum tm_load_probe */
	/* the request out, if any */
	CURL *easy;
	struct curl_slist *hdrs;
	struct buf body;
	int cut;                    /* the body passed LOAD_BODY_MAX */
	char errbuf[CURL_ERROR_SIZE];
	/* which endpoint: order[mode][idx]; found = it answered before */
	size_t idx;
	int found;
	int started;                /* the start probe went out */
	int failing;                /* logged as failing */
	uint64_t next_ms;           /* not before */
	uint64_t traffic_ms;        /* when the backend last had a task */
	struct load_report report;  /* the last good one */
	uint64_t report_ms;         /* when; 0 = none */
};

static size_t
on_body(char *p, size_t size, size_t n, void *ud)
{
	struct load_state *st = ud;

	if (buf_append(&st->body, p, size * n) == -1) {
		st->cut = 1;
		return 0; /* abort the transfer: the body is ignored */
	}
	return size * n;
}

/* The backend's URL without a trailing "/v1" (and slashes), + path. */
static char *
probe_url(const char *base, const char *path)
{
	size_t bl = strlen(base);
	char *out;

	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	if (bl >= 3 && memcmp(base + bl - 3, "/v1", 3) == 0)
		bl -= 3;
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	out = xmalloc(bl + strlen(path) + 1);
	memcpy(out, base, bl);
	strcpy(out + bl, path);
	return out;
}

static enum endpoint
cur_ep(const struct load_state *st)
{
	return order[st->mode][st->idx];
}

static void
start(struct load_state *st, uint64_t now)
{
	struct backend *b = st->b;
	char *url = probe_url(b->conf->url, ep_path[cur_ep(st)]);

	st->started = 1;
	st->next_ms = now + LOAD_PROBE_INTERVAL_MS;
	st->cut = 0;
	st->errbuf[0] = '\0';
	buf_init(&st->body, LOAD_BODY_MAX);
	st->easy = backend_side_get(b, url, NULL, on_body, st, &st->owner, st->errbuf,
	    LOAD_PROBE_TIMEOUT_MS, LOAD_CONNECT_TIMEOUT_MS, &st->hdrs);
	free(url);
	if (curl_multi_add_handle(st->ag->multi, st->easy) != CURLM_OK)
		fatalx("curl_multi_add_handle failed");
}

static void
finish(struct load_state *st)
{
	if (st->easy == NULL)
		return;
	curl_multi_remove_handle(st->ag->multi, st->easy);
	curl_easy_cleanup(st->easy);
	st->easy = NULL;
	curl_slist_free_all(st->hdrs);
	st->hdrs = NULL;
	buf_free(&st->body);
}

static int
parse(struct load_state *st, enum endpoint ep, struct load_report *r, char *why, size_t wl)
{
	const char *text = (const char *)buf_head(&st->body);
	size_t len = st->body.len;

	if (text == NULL)
		text = "";
	switch (ep) {
	case EP_METRICS:
		return load_parse_metrics(text, len, r, why, wl);
	case EP_API_PS:
		return load_parse_ollama_ps(text, len, r, why, wl);
	case EP_SLOTS:
		return load_parse_slots(text, len, r, why, wl);
	case EP_NONE:
		break;
	}
	snprintf(why, wl, "no endpoint");
	return -1;
}

/* The endpoint is not there (or not in a known format): the next one of
 * the order, or all of them again after LOAD_MISSING_RETRY_MS. */
static void
missing(struct load_state *st, const char *why)
{
	const char *path = ep_path[cur_ep(st)];

	st->found = 0;
	st->report_ms = 0;
	if (order[st->mode][st->idx + 1] != EP_NONE) {
		log_debug("backend %s: no load at %s (%s); trying %s", st->b->name, path, why,
		    ep_path[order[st->mode][st->idx + 1]]);
		st->idx++;
		st->next_ms = 0; /* at once, if there is traffic */
		return;
	}
	if (!st->failing)
		log_info("backend %s: cannot read its load (%s: %s); asking again in %d s",
		    st->b->name, path, why, LOAD_MISSING_RETRY_MS / 1000);
	st->failing = 1;
	st->idx = 0;
	st->next_ms = now_ms() + LOAD_MISSING_RETRY_MS;
}

/* A failure that says nothing about the endpoint: the load is unknown
 * until the next good answer; logged once. */
static void
failed(struct load_state *st, enum endpoint ep, const char *why)
{
	st->report_ms = 0;
	if (!st->failing)
		log_info("backend %s: reading its load fails: GET %s: %s", st->b->name,
		    ep_path[ep], why);
	st->failing = 1;
}

void
load_probe_done(struct load_state *st, CURLcode rc)
{
	struct load_report *r;
	enum endpoint ep = cur_ep(st);
	char why[256] = "";
	long status = 0;

	curl_easy_getinfo(st->easy, CURLINFO_RESPONSE_CODE, &status);
	if (st->cut) {
		snprintf(why, sizeof(why), "the answer is larger than %d bytes", LOAD_BODY_MAX);
		finish(st);
		missing(st, why);
		return;
	}
	if (rc != CURLE_OK || status == 0) {
		/* down or slow: unknown for now, same endpoint next time */
		snprintf(why, sizeof(why), "%.200s", st->errbuf[0] ? st->errbuf
		    : curl_easy_strerror(rc));
		finish(st);
		failed(st, ep, why);
		return;
	}
	if (status == 404 || status == 405 || status == 501) {
		snprintf(why, sizeof(why), "HTTP status %ld", status);
		finish(st);
		missing(st, why);
		return;
	}
	r = xmalloc(sizeof(*r));
	if (status != 200)
		snprintf(why, sizeof(why), "HTTP status %ld", status);
	else
		parse(st, ep, r, why, sizeof(why));
	finish(st);
	if (why[0] != '\0') {
		free(r);
		if (status == 200 && !st->found) {
			missing(st, why); /* some other format: not this endpoint */
			return;
		}
		failed(st, ep, why);
		return;
	}
	if (!st->found || st->failing)
		log_info("backend %s: reading its load from %s (%s)", st->b->name, ep_path[ep],
		    load_kind_name(r->kind));
	st->found = 1;
	st->failing = 0;
	st->report = *r;
	st->report_ms = now_ms();
	free(r);
}

static int
has_traffic(const struct backend *b)
{
	return b->running > 0 || b->nqueued > 0;
}

uint64_t
load_probe_tick(struct agent *ag, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < ag->nbackends; i++) {
		struct backend *b = &ag->backends[i];
		struct load_state *st = b->probe;

		if (b->conf->load_probe == TM_PROBE_OFF || ag->stopping)
			continue;
		if (st == NULL) {
			st = b->probe = xcalloc(1, sizeof(*st));
			st->owner.kind = OWNER_LOAD_PROBE;
			st->ag = ag;
			st->b = b;
			st->mode = b->conf->load_probe;
		}
		if (has_traffic(b))
			st->traffic_ms = now;
		if (st->easy != NULL)
			continue;
		/* idle (a task starting wakes the loop, and us), unless still
		 * finding the endpoint after the start probe */
		if (st->started && (st->found || st->idx == 0) && (st->traffic_ms == 0 ||
		    now - st->traffic_ms > LOAD_TRAFFIC_WINDOW_MS))
			continue;
		if (now >= st->next_ms)
			start(st, now);
		else if (st->next_ms < next)
			next = st->next_ms;
	}
	return next;
}

void
load_probe_free(struct agent *ag)
{
	for (size_t i = 0; i < ag->nbackends; i++) {
		struct load_state *st = ag->backends[i].probe;
		if (st == NULL)
			continue;
		finish(st);
		free(st);
		ag->backends[i].probe = NULL;
	}
}

/* The backend's fresh figures for model, or NULL. */
static const struct load_sample *
sample_for(const struct backend *b, const char *model, uint64_t now)
{
	const struct load_state *st = b->probe;
	const struct load_sample *s;

	if (st == NULL || st->report_ms == 0 || now - st->report_ms > LOAD_FRESH_MS)
		return NULL;
	if (st->report.kind == LOAD_KIND_OLLAMA) {
		for (size_t i = 0; i < st->report.n; i++)
			if (strcmp(st->report.s[i].model, model) == 0)
				return &st->report.s[i];
		return NULL;
	}
	if ((s = load_report_find(&st->report, model)) != NULL)
		return s;
	/* one model served under another name (vLLM's --served-model-name
	 * lists aliases; the metrics carry the first) */
	if (st->report.n == 1 && b->conf->nmodels + b->ndiscovered == 1)
		return &st->report.s[0];
	return NULL;
}

static uint32_t
sat_add(uint32_t a, uint32_t b)
{
	return a > UINT32_MAX - b ? UINT32_MAX : a + b;
}

void
load_probe_fill(struct agent *ag, Tokilake__V1__ModelLoad *store,
    Tokilake__V1__ModelLoad **ptrs, uint64_t now)
{
	for (size_t i = 0; i < ag->nmodels; i++) {
		Tokilake__V1__ModelLoad *m = &store[i];
		const char *id = ag->models[i].id;
		int known = 1, any = 0;

		tokilake__v1__model_load__init(m);
		m->id = ag->models[i].id;
		for (size_t k = 0; k < ag->nbackends; k++) {
			const struct backend *b = &ag->backends[k];
			const struct load_sample *s;

			/* the published entry names its first backend: skip the
			 * model search for the others only when there is one */
			if (b != ag->models[i].be && (ag->nbackends == 1 || !backend_has_model(b, id)))
				continue;
			any = 1;
			m->in_flight = sat_add(m->in_flight, sat_add(b->running, b->nqueued));
			m->capacity = sat_add(m->capacity, b->conf->concurrency);
			if (!known || (s = sample_for(b, id, now)) == NULL) {
				known = 0;
				continue;
			}
			if (b->probe->report.kind == LOAD_KIND_OLLAMA) {
				/* no queue metric: what tokiame runs there */
				m->running = sat_add(m->running, b->running);
				continue;
			}
			m->waiting = sat_add(m->waiting, s->waiting);
			m->running = sat_add(m->running, s->running);
			if (s->kv_permille > m->kv_permille)
				m->kv_permille = s->kv_permille;
		}
		m->backend_known = known && any;
		if (!m->backend_known)
			m->waiting = m->running = m->kv_permille = 0;
		ptrs[i] = m;
	}
}

void
load_probe_view(const struct backend *b, uint64_t now, struct load_view *v)
{
	const struct load_state *st = b->probe;

	memset(v, 0, sizeof(*v));
	if (st == NULL || !st->found)
		return;
	v->from = ep_path[cur_ep(st)];
	v->kind = load_kind_name(st->report.kind);
	if (st->report_ms == 0 || now - st->report_ms > LOAD_FRESH_MS)
		return;
	v->known = 1;
	for (size_t i = 0; i < st->report.n; i++) {
		v->waiting = sat_add(v->waiting, st->report.s[i].waiting);
		v->running = sat_add(v->running, st->report.s[i].running);
		if (st->report.s[i].kv_permille > v->kv_permille)
			v->kv_permille = st->report.s[i].kv_permille;
	}
	if (st->report.kind == LOAD_KIND_OLLAMA)
		v->running = b->running; /* no queue metric: what tokiame runs there */
}
