/* request_json: see request_json.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <h2o.h>
#include <yajl/yajl_parse.h>

#include "request_json.h"

enum pending_key { KEY_OTHER, KEY_MODEL, KEY_STREAM };

struct parse_state {
	yajl_handle yh;
	h2o_mem_pool_t *pool;
	const char *body;
	size_t len;
	struct request_json *out;
	unsigned depth;
	enum pending_key pending; /* the top-level key whose value comes next */
	size_t key_end;           /* body offset just past that key */
	int seen_model;
	enum request_json_status verdict; /* first problem found, RJ_OK if none */
};

/*
 * A value is starting (or is complete, for scalars). Returns 0 to stop.
 * stream_ok: the value may stand for "stream" (a boolean, or null for
 * "not given"); anything else there is refused rather than guessed.
 */
static int
value_as(struct parse_state *st, int stream_ok)
{
	if (st->depth == 0) {
		st->verdict = RJ_NOT_OBJECT;
		return 0;
	}
	if (st->depth == 1) {
		if (st->pending == KEY_MODEL && st->verdict == RJ_OK)
			st->verdict = RJ_MODEL_NOT_STRING;
		if (st->pending == KEY_STREAM && !stream_ok && st->verdict == RJ_OK)
			st->verdict = RJ_STREAM_NOT_BOOL;
		st->pending = KEY_OTHER;
	}
	return 1;
}

static int
on_value(struct parse_state *st)
{
	return value_as(st, 0);
}

static int
cb_null(void *ctx)
{
	return value_as(ctx, 1);
}

static int
cb_boolean(void *ctx, int val)
{
	struct parse_state *st = ctx;

	if (st->depth == 1 && st->pending == KEY_STREAM)
		st->out->stream = val != 0;
	return value_as(st, 1);
}

static int
cb_number(void *ctx, const char *s, size_t len)
{
	return on_value(ctx);
}

static int
cb_string(void *ctx, const unsigned char *s, size_t len)
{
	struct parse_state *st = ctx;

	if (st->depth == 1 && st->pending == KEY_MODEL) {
		/* yajl has consumed up to just past the closing quote */
		size_t end = yajl_get_bytes_consumed(st->yh);
		size_t start = st->key_end;

		/* only blanks and the colon lie between the key and the value */
		while (start < end && st->body[start] != '"')
			start++;
		if (end == 0 || start >= end - 1)
			return 0; /* cannot happen with valid JSON: fail safe */
		st->out->model_off = start + 1;
		st->out->model_raw_len = end - 1 - (start + 1);
		st->out->model = h2o_strdup(st->pool, (const char *)s, len).base;
		st->out->model_len = len;
		st->pending = KEY_OTHER;
		return 1;
	}
	return on_value(st);
}

static int
cb_map_key(void *ctx, const unsigned char *s, size_t len)
{
	struct parse_state *st = ctx;

	if (st->depth != 1)
		return 1;
	st->pending = KEY_OTHER;
	if (len == 5 && memcmp(s, "model", 5) == 0) {
		if (st->seen_model) {
			st->verdict = RJ_MODEL_DUPLICATE;
			return 0;
		}
		st->seen_model = 1;
		st->pending = KEY_MODEL;
		st->key_end = yajl_get_bytes_consumed(st->yh);
	} else if (len == 6 && memcmp(s, "stream", 6) == 0)
		st->pending = KEY_STREAM;
	return 1;
}

static int
open_container(struct parse_state *st, int is_map)
{
	if (st->depth == 0 && !is_map) {
		st->verdict = RJ_NOT_OBJECT;
		return 0;
	}
	if (st->depth >= 1 && !on_value(st))
		return 0;
	if (++st->depth > REQUEST_JSON_MAX_DEPTH) {
		st->verdict = RJ_TOO_DEEP;
		return 0;
	}
	return 1;
}

static int
cb_start_map(void *ctx)
{
	return open_container(ctx, 1);
}

static int
cb_start_array(void *ctx)
{
	return open_container(ctx, 0);
}

static int
cb_end(void *ctx)
{
	struct parse_state *st = ctx;

	st->depth--;
	return 1;
}

static const yajl_callbacks callbacks = {
	.yajl_null = cb_null,
	.yajl_boolean = cb_boolean,
	.yajl_number = cb_number,
	.yajl_string = cb_string,
	.yajl_start_map = cb_start_map,
	.yajl_map_key = cb_map_key,
	.yajl_end_map = cb_end,
	.yajl_start_array = cb_start_array,
	.yajl_end_array = cb_end,
};

/* yajl's message without its trailing newline. */
static void
yajl_message(yajl_handle yh, size_t at, char *err, size_t errlen)
{
	unsigned char *m = yajl_get_error(yh, 0, NULL, 0);
	size_t n = m != NULL ? strlen((char *)m) : 0;

	while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' ' || m[n - 1] == '.'))
		n--;
	snprintf(err, errlen, "the request body is not valid JSON (byte %zu): %.*s", at, (int)n,
	    m != NULL ? (char *)m : "parse error");
	if (m != NULL)
		yajl_free_error(yh, m);
}

enum request_json_status
wk_request_json_parse(h2o_mem_pool_t *pool, const char *body, size_t len, struct request_json *out,
    char *err, size_t errlen)
{
	struct parse_state st;
	yajl_status ys;

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	if (body == NULL || len == 0) {
		snprintf(err, errlen, "the request body is empty: expected a JSON object");
		return RJ_EMPTY;
	}
	memset(&st, 0, sizeof(st));
	st.pool = pool;
	st.body = body;
	st.len = len;
	st.out = out;
	st.verdict = RJ_OK;
	/* defaults: strict JSON, UTF-8 validated, no comments, no trailing garbage */
	if ((st.yh = yajl_alloc(&callbacks, NULL, &st)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return RJ_BAD_JSON;
	}
	ys = yajl_parse(st.yh, (const unsigned char *)body, len);
	if (ys == yajl_status_ok)
		ys = yajl_complete_parse(st.yh);

	if (ys == yajl_status_error) {
		size_t at = yajl_get_bytes_consumed(st.yh);

		yajl_message(st.yh, at, err, errlen);
		yajl_free(st.yh);
		return RJ_BAD_JSON;
	}
	yajl_free(st.yh);
	switch (st.verdict) {
	case RJ_NOT_OBJECT:
		snprintf(err, errlen, "the request body must be a JSON object");
		return RJ_NOT_OBJECT;
	case RJ_TOO_DEEP:
		snprintf(err, errlen, "the request body nests JSON deeper than %d levels",
		    REQUEST_JSON_MAX_DEPTH);
		return RJ_TOO_DEEP;
	case RJ_MODEL_DUPLICATE:
		snprintf(err, errlen, "the request body has more than one \"model\"");
		return RJ_MODEL_DUPLICATE;
	case RJ_MODEL_NOT_STRING:
		snprintf(err, errlen, "\"model\" must be a string such as \"namespace:model\"");
		return RJ_MODEL_NOT_STRING;
	case RJ_STREAM_NOT_BOOL:
		snprintf(err, errlen, "\"stream\" must be a boolean");
		return RJ_STREAM_NOT_BOOL;
	default:
		break;
	}
	if (ys != yajl_status_ok) {
		/* canceled without a verdict: treat as malformed */
		snprintf(err, errlen, "the request body is not valid JSON");
		return RJ_BAD_JSON;
	}
	if (out->model == NULL || out->model_len == 0) {
		/* "" names nothing: the same answer as no model at all */
		snprintf(err, errlen, "you must provide a model parameter");
		return RJ_MODEL_MISSING;
	}
	return RJ_OK;
}
