/* request_json: see request_json.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <h2o.h>
#include <yajl/yajl_parse.h>

#include "request_json.h"

enum pending_key { KEY_OTHER, KEY_MODEL, KEY_STREAM, KEY_STREAM_OPTIONS, KEY_INCLUDE_USAGE };

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
	int seen_options, seen_include, in_options;
	enum request_json_status verdict; /* first problem found, RJ_OK if none */
};

/* Where include_usage would go; a shape we leave alone stays left alone. */
static void
usage_op(struct parse_state *st, enum rj_usage_op op, size_t at, size_t len)
{
	if (st->out->usage_op == RJ_USAGE_LEAVE)
		return;
	st->out->usage_op = op;
	st->out->usage_at = at;
	st->out->usage_len = len;
}

/* A value of "stream_options" (depth 1) or of its "include_usage"
 * (depth 2) is starting: anything but what the callers handle is left. */
static void
usage_value_other(struct parse_state *st)
{
	if ((st->depth == 1 && st->pending == KEY_STREAM_OPTIONS) ||
	    (st->depth == 2 && st->in_options && st->pending == KEY_INCLUDE_USAGE))
		usage_op(st, RJ_USAGE_LEAVE, 0, 0);
}

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
	usage_value_other(st);
	if (st->depth == 2 && st->in_options)
		st->pending = KEY_OTHER;
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
	struct parse_state *st = ctx;
	size_t end = yajl_get_bytes_consumed(st->yh);

	/* null options or flag: both read as "not asked" by OpenAI */
	if (end >= 4 && ((st->depth == 1 && st->pending == KEY_STREAM_OPTIONS) ||
	    (st->depth == 2 && st->in_options && st->pending == KEY_INCLUDE_USAGE))) {
		usage_op(st, RJ_USAGE_REPLACE, end - 4, 4);
		st->out->usage_options_null = st->depth == 1;
		st->pending = KEY_OTHER;
	}
	return value_as(st, 1);
}

static int
cb_boolean(void *ctx, int val)
{
	struct parse_state *st = ctx;

	if (st->depth == 1 && st->pending == KEY_STREAM)
		st->out->stream = val != 0;
	if (st->depth == 2 && st->in_options && st->pending == KEY_INCLUDE_USAGE) {
		size_t end = yajl_get_bytes_consumed(st->yh);

		if (val)
			usage_op(st, RJ_USAGE_ASKED, 0, 0);
		else if (end >= 5)
			usage_op(st, RJ_USAGE_REPLACE, end - 5, 5);
		st->pending = KEY_OTHER;
	}
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

	if (st->depth == 2 && st->in_options) {
		st->pending = KEY_OTHER;
		if (st->out->usage_op == RJ_USAGE_INSERT_IN)
			st->out->usage_comma = 1;
		if (len == 13 && memcmp(s, "include_usage", 13) == 0) {
			if (st->seen_include)
				usage_op(st, RJ_USAGE_LEAVE, 0, 0);
			st->seen_include = 1;
			st->pending = KEY_INCLUDE_USAGE;
		}
		return 1;
	}
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
	else if (len == 14 && memcmp(s, "stream_options", 14) == 0) {
		if (st->seen_options)
			usage_op(st, RJ_USAGE_LEAVE, 0, 0);
		st->seen_options = 1;
		st->pending = KEY_STREAM_OPTIONS;
	}
	return 1;
}

static int
open_container(struct parse_state *st, int is_map)
{
	int options = is_map && st->depth == 1 && st->pending == KEY_STREAM_OPTIONS;

	if (st->depth == 0 && !is_map) {
		st->verdict = RJ_NOT_OBJECT;
		return 0;
	}
	if (st->depth == 0) /* no "stream_options" yet: one would go first */
		usage_op(st, RJ_USAGE_INSERT_TOP, yajl_get_bytes_consumed(st->yh), 0);
	if (options)
		st->pending = KEY_OTHER; /* an object is what we want there */
	if (st->depth >= 1 && !on_value(st))
		return 0;
	if (options) {
		st->in_options = 1;
		usage_op(st, RJ_USAGE_INSERT_IN, yajl_get_bytes_consumed(st->yh), 0);
	}
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

	if (st->depth == 2)
		st->in_options = 0;
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
