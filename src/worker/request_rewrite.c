/* request_rewrite: see request_rewrite.h. */
#include "config.h"

#include <string.h>

#include "request_rewrite.h"

/* Bytes at..at+len of the body become text. */
struct edit {
	size_t at, len;
	const char *text;
	size_t text_len;
};

#define EDIT_TEXT(e, lit) ((e)->text = (lit), (e)->text_len = sizeof(lit) - 1)

/*
 * When the raw bytes start with the namespace literally (the usual case)
 * this is a cut; when the name was written with JSON escapes, the name
 * is re-encoded.
 */
static void
model_edit(h2o_mem_pool_t *pool, h2o_iovec_t body, const struct request_json *rj, size_t ns_len,
    const char *model, size_t model_len, struct edit *e)
{
	size_t off = rj->model_off, raw = rj->model_raw_len;
	char *p;

	e->at = off;
	if (raw > ns_len && memcmp(body.base + off, rj->model, ns_len) == 0 &&
	    body.base[off + ns_len] == ':') {
		e->len = ns_len + 1;
		e->text = "";
		e->text_len = 0;
		return;
	}
	e->len = raw;
	p = h2o_mem_alloc_pool(pool, 2 * model_len + 1);
	e->text = p;
	e->text_len = 0;
	for (size_t i = 0; i < model_len; i++) {
		if (model[i] == '"' || model[i] == '\\')
			p[e->text_len++] = '\\';
		p[e->text_len++] = model[i];
	}
}

/* The edit that makes include_usage true; 0 when there is none to make. */
static int
usage_edit(const struct request_json *rj, struct edit *e)
{
	e->at = rj->usage_at;
	e->len = rj->usage_len;
	switch (rj->usage_op) {
	case RJ_USAGE_INSERT_TOP:
		/* the object has a "model" after it: the comma is right */
		EDIT_TEXT(e, "\"stream_options\":{\"include_usage\":true},");
		return 1;
	case RJ_USAGE_REPLACE:
		if (rj->usage_options_null)
			EDIT_TEXT(e, "{\"include_usage\":true}");
		else
			EDIT_TEXT(e, "true");
		return 1;
	case RJ_USAGE_INSERT_IN:
		if (rj->usage_comma)
			EDIT_TEXT(e, "\"include_usage\":true,");
		else
			EDIT_TEXT(e, "\"include_usage\":true");
		return 1;
	default:
		return 0;
	}
}

int
wk_request_usage_askable(const struct request_json *rj)
{
	struct edit e;

	return rj->stream && usage_edit(rj, &e);
}

/*
 * *a is the body up to the last edit, with the edits made (copied into
 * pool, unless it is one cut: then no copy); *b the rest, in place.
 */
void
wk_request_rewrite(h2o_mem_pool_t *pool, h2o_iovec_t body, const struct request_json *rj,
    size_t ns_len, const char *model, size_t model_len, int ask_usage, h2o_iovec_t *a,
    h2o_iovec_t *b)
{
	struct edit e[2], *last;
	size_t n = 1, size, from = 0;
	char *p;

	model_edit(pool, body, rj, ns_len, model, model_len, &e[0]);
	if (ask_usage && usage_edit(rj, &e[1]))
		n = 2;
	if (n == 2 && e[1].at < e[0].at) {
		struct edit t = e[0];

		e[0] = e[1];
		e[1] = t;
	}
	last = &e[n - 1];
	*b = h2o_iovec_init(body.base + last->at + last->len, body.len - last->at - last->len);
	if (n == 1 && last->text_len == 0) {
		*a = h2o_iovec_init(body.base, last->at);
		return;
	}
	size = last->at;
	for (size_t i = 0; i < n; i++)
		size += e[i].text_len;
	p = h2o_mem_alloc_pool(pool, size);
	a->base = p;
	a->len = 0;
	for (size_t i = 0; i < n; i++) {
		memcpy(p + a->len, body.base + from, e[i].at - from);
		a->len += e[i].at - from;
		memcpy(p + a->len, e[i].text, e[i].text_len);
		a->len += e[i].text_len;
		from = e[i].at + e[i].len;
	}
}

void
wk_request_model_rewrite(h2o_mem_pool_t *pool, h2o_iovec_t body, const struct request_json *rj,
    size_t ns_len, const char *model, size_t model_len, h2o_iovec_t *a, h2o_iovec_t *b)
{
	wk_request_rewrite(pool, body, rj, ns_len, model, model_len, 0, a, b);
}
