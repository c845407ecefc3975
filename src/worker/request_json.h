/*
 * request_json: check that a request body is one JSON object and find the
 * fields the worker routes on.
 *
 * The whole body is in memory (h2o 2.2.5 buffers it, bounded by
 * http.max_body_size). It is parsed with yajl's callback parser, nesting
 * capped at REQUEST_JSON_MAX_DEPTH, numbers kept as text (so big numbers
 * are not errors). Only top-level keys matter:
 *   "model"  must be a string; its raw bytes in the body are recorded
 *            (offset and length between the quotes) so that a later stage
 *            can rewrite the name in place;
 *   "stream" true marks a streamed answer; false or null do not; any
 *            other type is RJ_STREAM_NOT_BOOL.
 *   "stream_options" where "include_usage" sits: what it would take to
 *            make it true (asking for a stream's usage on the client's
 *            behalf, request_rewrite.c). Only a plain shape is edited: an
 *            absent or null "stream_options", an object without
 *            "include_usage" or with it false or null. A repeated key or
 *            a value of another type is RJ_USAGE_LEAVE: not ours to fix.
 * An empty "model" ("") is RJ_MODEL_MISSING: RJ_OK always has a model.
 * A second top-level "model" is an error: the worker and the backend
 * must not disagree on which one counts.
 */
#ifndef TL_WORKER_REQUEST_JSON_H
#define TL_WORKER_REQUEST_JSON_H

#include <stddef.h>

#include <h2o.h>

#define REQUEST_JSON_MAX_DEPTH 64

enum request_json_status {
	RJ_OK,
	RJ_EMPTY,             /* no body at all */
	RJ_BAD_JSON,          /* not JSON, or truncated */
	RJ_NOT_OBJECT,        /* valid JSON but not an object */
	RJ_TOO_DEEP,          /* nested deeper than the cap */
	RJ_MODEL_MISSING,
	RJ_MODEL_NOT_STRING,
	RJ_MODEL_DUPLICATE,
	RJ_STREAM_NOT_BOOL,   /* "stream" neither a boolean nor null */
};

/* How to make "stream_options":{"include_usage":true} hold. */
enum rj_usage_op {
	RJ_USAGE_NONE,           /* not a JSON body (multipart, another node's) */
	RJ_USAGE_INSERT_TOP,     /* no "stream_options": insert one after the top '{' */
	RJ_USAGE_ASKED,          /* the client asked already */
	RJ_USAGE_REPLACE,        /* replace usage_at..+usage_len (a null options, or a
	                          * false or null include_usage) */
	RJ_USAGE_INSERT_IN,      /* an options object without the flag: insert it first */
	RJ_USAGE_LEAVE,          /* a shape we do not edit */
};

struct request_json {
	/* the model, JSON-decoded, NUL-terminated, in the request's pool */
	const char *model;
	size_t model_len;
	/* where the model's raw bytes are in the body (between the quotes) */
	size_t model_off;
	size_t model_raw_len;
	int stream; /* "stream": true */
	/* asking for a stream's usage (see above) */
	enum rj_usage_op usage_op;
	size_t usage_at, usage_len; /* the bytes to replace, or (len 0) where to insert */
	int usage_options_null;     /* REPLACE replaces a null "stream_options" */
	int usage_comma;            /* INSERT_IN: the object has members, a comma follows */
};

/* On anything but RJ_OK, err holds a message for the client. */
enum request_json_status wk_request_json_parse(h2o_mem_pool_t *pool, const char *body, size_t len,
    struct request_json *out, char *err, size_t errlen);

/* request_multipart.c: the "model" field of a multipart/form-data body,
 * with its raw position, in the same struct. 0, or -1 with err set. */
int wk_request_multipart_model(h2o_mem_pool_t *pool, const char *body, size_t len,
    const char *ct, size_t ctlen, struct request_json *out, char *err, size_t errlen);

#endif
