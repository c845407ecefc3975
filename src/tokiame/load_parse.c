/* load_parse: see load_parse.h. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "load_parse.h"

enum field { F_WAITING, F_RUNNING, F_KV };

static const struct {
	const char *name;
	enum load_kind kind;
	enum field field;
} metrics[] = {
	{ "vllm:num_requests_waiting", LOAD_KIND_VLLM, F_WAITING },
	{ "vllm:num_requests_running", LOAD_KIND_VLLM, F_RUNNING },
	{ "vllm:gpu_cache_usage_perc", LOAD_KIND_VLLM, F_KV },
	{ "vllm:kv_cache_usage_perc", LOAD_KIND_VLLM, F_KV },
	{ "sglang:num_queue_reqs", LOAD_KIND_SGLANG, F_WAITING },
	{ "sglang:num_running_reqs", LOAD_KIND_SGLANG, F_RUNNING },
	{ "sglang:token_usage", LOAD_KIND_SGLANG, F_KV },
	{ "llamacpp:requests_deferred", LOAD_KIND_LLAMACPP, F_WAITING },
	{ "llamacpp:requests_processing", LOAD_KIND_LLAMACPP, F_RUNNING },
	{ "llamacpp:kv_cache_usage_ratio", LOAD_KIND_LLAMACPP, F_KV },
};

const char *
load_kind_name(enum load_kind k)
{
	switch (k) {
	case LOAD_KIND_VLLM: return "vllm";
	case LOAD_KIND_SGLANG: return "sglang";
	case LOAD_KIND_LLAMACPP: return "llamacpp";
	case LOAD_KIND_OLLAMA: return "ollama";
	case LOAD_KIND_NONE: break;
	}
	return "none";
}

static void
report_init(struct load_report *r, enum load_kind kind)
{
	r->kind = kind;
	r->truncated = 0;
	r->n = 0;
}

/* The sample of model (len bytes, no NUL inside), added if new; NULL when
 * the report is full or the name too long. */
static struct load_sample *
sample_of(struct load_report *r, const char *model, size_t len)
{
	struct load_sample *s;

	if (len > LOAD_MODEL_MAX || memchr(model, '\0', len) != NULL)
		return NULL;
	for (size_t i = 0; i < r->n; i++)
		if (strlen(r->s[i].model) == len && memcmp(r->s[i].model, model, len) == 0)
			return &r->s[i];
	if (r->n == LOAD_MAX_MODELS) {
		r->truncated = 1;
		return NULL;
	}
	s = &r->s[r->n++];
	memset(s, 0, sizeof(*s));
	memcpy(s->model, model, len);
	s->model[len] = '\0';
	return s;
}

const struct load_sample *
load_report_find(const struct load_report *r, const char *model)
{
	const struct load_sample *whole = NULL;

	for (size_t i = 0; i < r->n; i++) {
		if (strcmp(r->s[i].model, model) == 0)
			return &r->s[i];
		if (r->s[i].model[0] == '\0')
			whole = &r->s[i];
	}
	return whole;
}

static uint32_t
count_of(double v)
{
	if (v <= 0)
		return 0;
	if (v >= (double)UINT32_MAX)
		return UINT32_MAX;
	return (uint32_t)(v + 0.5);
}

static uint32_t
permille_of(double fraction)
{
	if (fraction <= 0)
		return 0;
	if (fraction >= 1)
		return 1000;
	return (uint32_t)(fraction * 1000 + 0.5);
}

static void
add_value(struct load_sample *s, enum field f, double v)
{
	uint32_t c;

	switch (f) {
	case F_WAITING:
		c = count_of(v);
		s->waiting = s->waiting > UINT32_MAX - c ? UINT32_MAX : s->waiting + c;
		s->has_waiting = 1;
		break;
	case F_RUNNING:
		c = count_of(v);
		s->running = s->running > UINT32_MAX - c ? UINT32_MAX : s->running + c;
		s->has_running = 1;
		break;
	case F_KV:
		c = permille_of(v);
		if (!s->has_kv || c > s->kv_permille)
			s->kv_permille = c;
		s->has_kv = 1;
		break;
	}
}

/*
 * Prometheus text, one line: name, optional {labels}, value, optional
 * timestamp. The line is p..end (no newline). Returns 1 and fills the
 * outputs for a sample of one of our metrics, else 0 (skipped).
 */
struct prom_line {
	size_t metric;             /* index in metrics[] */
	const char *model;         /* the label's raw value (escapes kept) */
	size_t model_len;
	int model_escaped;
	int model_is_fallback;     /* from "name", not "model_name" */
	double value;
};

static int
is_name_char(char c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	    (!first && c >= '0' && c <= '9');
}

static const char *
skip_sp(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* labels after '{' up to and past '}'; NULL if malformed */
static const char *
parse_labels(const char *p, const char *end, struct prom_line *l)
{
	for (;;) {
		const char *name, *val;
		size_t nlen;
		int esc = 0;

		p = skip_sp(p, end);
		if (p < end && *p == '}')
			return p + 1;
		name = p;
		while (p < end && is_name_char(*p, p == name) && *p != ':')
			p++;
		nlen = (size_t)(p - name);
		if (nlen == 0)
			return NULL;
		p = skip_sp(p, end);
		if (p >= end || *p != '=')
			return NULL;
		p = skip_sp(p + 1, end);
		if (p >= end || *p != '"')
			return NULL;
		val = ++p;
		while (p < end && *p != '"') {
			if (*p == '\\') {
				esc = 1;
				if (++p >= end)
					return NULL;
			}
			p++;
		}
		if (p >= end)
			return NULL;
		if (nlen == 10 && memcmp(name, "model_name", 10) == 0) {
			l->model = val;
			l->model_len = (size_t)(p - val);
			l->model_escaped = esc;
			l->model_is_fallback = 0;
		} else if (nlen == 4 && memcmp(name, "name", 4) == 0 &&
		    (l->model == NULL || l->model_is_fallback)) {
			l->model = val;
			l->model_len = (size_t)(p - val);
			l->model_escaped = esc;
			l->model_is_fallback = 1;
		}
		p = skip_sp(p + 1, end);
		if (p < end && *p == ',')
			p++;
		else if (p < end && *p == '}')
			return p + 1;
		else
			return NULL;
	}
}

static int
parse_prom_line(const char *p, const char *end, struct prom_line *l)
{
	const char *name;
	char num[64];
	size_t nlen, i;
	char *numend;

	p = skip_sp(p, end);
	if (p >= end || *p == '#')
		return 0;
	name = p;
	while (p < end && is_name_char(*p, p == name))
		p++;
	nlen = (size_t)(p - name);
	for (i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
		if (strlen(metrics[i].name) == nlen && memcmp(metrics[i].name, name, nlen) == 0)
			break;
	if (i == sizeof(metrics) / sizeof(metrics[0]))
		return 0;
	l->metric = i;
	l->model = NULL;
	l->model_len = 0;
	l->model_escaped = 0;
	l->model_is_fallback = 0;
	if (p < end && *p == '{' && (p = parse_labels(p + 1, end, l)) == NULL)
		return 0;
	if (p >= end || (*p != ' ' && *p != '\t'))
		return 0;
	p = skip_sp(p, end);
	for (nlen = 0; p + nlen < end && p[nlen] != ' ' && p[nlen] != '\t'; nlen++)
		;
	if (nlen == 0 || nlen >= sizeof(num))
		return 0;
	memcpy(num, p, nlen);
	num[nlen] = '\0';
	l->value = strtod(num, &numend);
	if (numend != num + nlen || isnan(l->value))
		return 0;
	return 1;
}

/* an escaped label value, unescaped into out (at most LOAD_MODEL_MAX) */
static size_t
unescape(const char *v, size_t len, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n < LOAD_MODEL_MAX + 1; i++) {
		char c = v[i];
		if (c == '\\' && i + 1 < len) {
			c = v[++i];
			if (c == 'n')
				c = '\n';
		}
		out[n++] = c;
	}
	return n;
}

int
load_parse_metrics(const char *text, size_t len, struct load_report *r, char *why,
    size_t whylen)
{
	const char *p = text, *end = text + len;
	char model[LOAD_MODEL_MAX + 1];
	int seen = 0;

	report_init(r, LOAD_KIND_NONE);
	if (len > LOAD_BODY_MAX) {
		snprintf(why, whylen, "the metrics are larger than %d bytes", LOAD_BODY_MAX);
		return -1;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;
		struct prom_line l;

		if (le > p && le[-1] == '\r')
			le--;
		if (parse_prom_line(p, le, &l)) {
			enum load_kind k = metrics[l.metric].kind;
			/* one family per backend: the first one seen */
			if (r->kind == LOAD_KIND_NONE)
				r->kind = k;
			if (k == r->kind) {
				struct load_sample *s;
				const char *m = l.model != NULL ? l.model : "";
				size_t mlen = l.model_len;

				if (l.model_escaped) {
					mlen = unescape(l.model, l.model_len, model);
					m = model;
				}
				if ((s = sample_of(r, m, mlen)) != NULL) {
					add_value(s, metrics[l.metric].field, l.value);
					seen = 1;
				}
			}
		}
		p = nl != NULL ? nl + 1 : end;
	}
	if (!seen) {
		snprintf(why, whylen, "no vLLM, SGLang or llama.cpp load metrics found");
		return -1;
	}
	return 0;
}

/*
 * JSON bodies (/slots, /api/ps) through yajl's event parser: no tree, no
 * recursion, our own depth bound. One context for both shapes.
 */
enum json_shape { SHAPE_SLOTS, SHAPE_OLLAMA };
enum json_key { K_OTHER, K_IS_PROCESSING, K_STATE, K_MODELS, K_NAME, K_MODEL };

struct json_ctx {
	enum json_shape shape;
	struct load_report *r;
	int depth;
	int top_ok;            /* the top value has the expected type */
	int in_models;         /* ollama: inside the "models" array (depth 2) */
	enum json_key key;     /* the last key at the depth we read */
	/* the current slot or model entry */
	int has_proc, proc;
	long long state;
	int has_state;
	char name[LOAD_MODEL_MAX + 1], model[LOAD_MODEL_MAX + 1];
	size_t name_len, model_len;
	int has_name, has_model;
	uint32_t busy, slots;
	char err[96];
};

static int
j_push(struct json_ctx *c, int is_array)
{
	if (++c->depth > LOAD_MAX_DEPTH) {
		snprintf(c->err, sizeof(c->err), "nested deeper than %d", LOAD_MAX_DEPTH);
		return 0;
	}
	if (c->depth == 1)
		c->top_ok = c->shape == SHAPE_SLOTS ? is_array : !is_array;
	if (c->shape == SHAPE_SLOTS && c->depth == 2 && !is_array) {
		c->has_proc = c->proc = c->has_state = 0;
		c->state = 0;
	}
	if (c->shape == SHAPE_OLLAMA) {
		if (c->depth == 2 && is_array && c->key == K_MODELS)
			c->in_models = 1;
		if (c->depth == 3 && c->in_models && !is_array)
			c->has_name = c->has_model = 0;
	}
	c->key = K_OTHER;
	return 1;
}

static int
j_start_map(void *ud)
{
	return j_push(ud, 0);
}

static int
j_start_array(void *ud)
{
	return j_push(ud, 1);
}

static int
j_end(struct json_ctx *c, int is_array)
{
	if (c->shape == SHAPE_SLOTS && c->depth == 2 && !is_array) {
		c->slots++;
		if (c->has_proc ? c->proc : (c->has_state && c->state != 0))
			c->busy++;
	}
	if (c->shape == SHAPE_OLLAMA && c->depth == 3 && c->in_models && !is_array &&
	    (c->has_name || c->has_model)) {
		struct load_sample *s = c->has_name ? sample_of(c->r, c->name, c->name_len)
		    : sample_of(c->r, c->model, c->model_len);
		(void)s; /* loaded: no figures (Ollama has no queue metric) */
	}
	if (c->shape == SHAPE_OLLAMA && c->depth == 2)
		c->in_models = 0;
	c->depth--;
	c->key = K_OTHER;
	return 1;
}

static int
j_end_map(void *ud)
{
	return j_end(ud, 0);
}

static int
j_end_array(void *ud)
{
	return j_end(ud, 1);
}

/* the depth where the keys we read live */
static int
key_depth(const struct json_ctx *c)
{
	if (c->shape == SHAPE_SLOTS)
		return c->depth == 2;
	return c->depth == 1 || (c->depth == 3 && c->in_models);
}

static int
j_key(void *ud, const unsigned char *k, size_t len)
{
	struct json_ctx *c = ud;

	c->key = K_OTHER;
	if (!key_depth(c))
		return 1;
#define IS(s) (len == sizeof(s) - 1 && memcmp(k, s, len) == 0)
	if (c->shape == SHAPE_SLOTS) {
		if (IS("is_processing"))
			c->key = K_IS_PROCESSING;
		else if (IS("state"))
			c->key = K_STATE;
	} else if (c->depth == 1) {
		if (IS("models"))
			c->key = K_MODELS;
	} else if (IS("name"))
		c->key = K_NAME;
	else if (IS("model"))
		c->key = K_MODEL;
#undef IS
	return 1;
}

static int
j_bool(void *ud, int v)
{
	struct json_ctx *c = ud;

	if (key_depth(c) && c->key == K_IS_PROCESSING) {
		c->has_proc = 1;
		c->proc = v != 0;
	}
	c->key = K_OTHER;
	return 1;
}

static int
j_int(void *ud, long long v)
{
	struct json_ctx *c = ud;

	if (key_depth(c) && c->key == K_STATE) {
		c->has_state = 1;
		c->state = v;
	}
	c->key = K_OTHER;
	return 1;
}

static int
j_double(void *ud, double v)
{
	(void)v;
	((struct json_ctx *)ud)->key = K_OTHER;
	return 1;
}

static int
j_string(void *ud, const unsigned char *s, size_t len)
{
	struct json_ctx *c = ud;

	if (key_depth(c) && c->shape == SHAPE_OLLAMA && len > 0 && len <= LOAD_MODEL_MAX &&
	    memchr(s, '\0', len) == NULL) {
		if (c->key == K_NAME) {
			memcpy(c->name, s, len);
			c->name_len = len;
			c->has_name = 1;
		} else if (c->key == K_MODEL) {
			memcpy(c->model, s, len);
			c->model_len = len;
			c->has_model = 1;
		}
	}
	c->key = K_OTHER;
	return 1;
}

static int
j_null(void *ud)
{
	((struct json_ctx *)ud)->key = K_OTHER;
	return 1;
}

static const yajl_callbacks json_cbs = {
	.yajl_null = j_null,
	.yajl_boolean = j_bool,
	.yajl_integer = j_int,
	.yajl_double = j_double,
	.yajl_string = j_string,
	.yajl_start_map = j_start_map,
	.yajl_map_key = j_key,
	.yajl_end_map = j_end_map,
	.yajl_start_array = j_start_array,
	.yajl_end_array = j_end_array,
};

static int
parse_json(struct json_ctx *c, const char *what, const char *text, size_t len, char *why,
    size_t whylen)
{
	yajl_handle h;
	yajl_status st;

	if (len > LOAD_BODY_MAX) {
		snprintf(why, whylen, "%s is larger than %d bytes", what, LOAD_BODY_MAX);
		return -1;
	}
	if ((h = yajl_alloc(&json_cbs, NULL, c)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	st = yajl_parse(h, (const unsigned char *)text, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	yajl_free(h);
	if (st != yajl_status_ok) {
		snprintf(why, whylen, "%s is not JSON%s%s", what, c->err[0] ? ": " : "", c->err);
		return -1;
	}
	if (!c->top_ok) {
		snprintf(why, whylen, "%s is not a JSON %s", what,
		    c->shape == SHAPE_SLOTS ? "array" : "object");
		return -1;
	}
	return 0;
}

int
load_parse_slots(const char *text, size_t len, struct load_report *r, char *why,
    size_t whylen)
{
	struct json_ctx *c = calloc(1, sizeof(*c));
	struct load_sample *s;
	int rc;

	report_init(r, LOAD_KIND_LLAMACPP);
	if (c == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	c->shape = SHAPE_SLOTS;
	c->r = r;
	rc = parse_json(c, "the slots", text, len, why, whylen);
	if (rc == 0) {
		s = sample_of(r, "", 0);
		s->running = c->busy;
		s->has_running = 1;
	}
	free(c);
	return rc;
}

int
load_parse_ollama_ps(const char *text, size_t len, struct load_report *r, char *why,
    size_t whylen)
{
	struct json_ctx *c = calloc(1, sizeof(*c));
	int rc;

	report_init(r, LOAD_KIND_OLLAMA);
	if (c == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	c->shape = SHAPE_OLLAMA;
	c->r = r;
	rc = parse_json(c, "the model list", text, len, why, whylen);
	free(c);
	if (rc != 0)
		r->n = 0;
	return rc;
}
