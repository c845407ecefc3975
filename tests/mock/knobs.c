/*
 * knobs: read one /v1/... request into a struct mreq (see mreq.h):
 * digests of the exact body bytes, the JSON body, and the per-request
 * knobs. Bad knobs and bodies nested too deep answer 400; a body that is
 * not JSON is left to the endpoint (transcriptions take multipart).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnv.h"
#include "log.h"
#include "mreq.h"
#include "xmalloc.h"


static void
mreq_dispose(void *p)
{
	struct mreq *m = p;

	if (h2o_timeout_is_linked(&m->timer))
		h2o_timeout_unlink(&m->timer);
	watch_stop(&m->watch);
	if (m->root != NULL)
		yajl_tree_free(m->root);
	buf_free(&m->out);
}

static h2o_iovec_t
header(h2o_req_t *req, const char *name)
{
	ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);

	if (i == -1)
		return h2o_iovec_init(NULL, 0);
	return req->headers.entries[i].value;
}

struct mreq *
mreq_new(h2o_req_t *req, h2o_iovec_t path, int is_post)
{
	struct mreq *m = h2o_mem_alloc_shared(&req->pool, sizeof(*m), mreq_dispose);
	h2o_iovec_t v;
	ssize_t i;

	memset(m, 0, sizeof(*m));
	m->req = req;
	m->thr = mock_thread_of(req);
	m->is_post = is_post;
	m->path = h2o_strdup(&req->pool, path.base, path.len);
	if ((v = header(req, "x-request-id")).base != NULL)
		m->request_id = h2o_strdup(&req->pool, v.base, v.len);
	if ((i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1)) != -1)
		m->authorization = h2o_strdup(&req->pool, req->headers.entries[i].value.base,
		    req->headers.entries[i].value.len);
	m->chunks = mopts.chunks;
	m->pause_ms = mopts.pause_ms;
	m->bytes = 65536;
	m->fail.cut = -1;
	m->fail.slow_ms = -1;
	m->status = 200;
	buf_init(&m->out, MOCK_MAX_OUT);
	m->watch.fd = -1;
	return m;
}

const char *
mreq_json_str(yajl_val obj, const char *key)
{
	const char *path[] = { key, NULL };

	if (!YAJL_IS_OBJECT(obj))
		return NULL;
	return YAJL_GET_STRING(yajl_tree_get(obj, path, yajl_t_string));
}

/* Decimal 0..max; -1 if not that. */
static int
parse_num(const char *s, size_t len, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (len == 0 || len > 12)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* "status:503", "cut:3", "hang", "slow-first-byte:200", comma-separated. */
static int
parse_fail(struct mreq *m, const char *s, size_t len)
{
	struct mock_fail *f = &m->fail;
	size_t i = 0;

	while (i < len) {
		const char *tok = s + i, *comma = memchr(tok, ',', len - i);
		size_t toklen = comma != NULL ? (size_t)(comma - tok) : len - i;
		unsigned long v;

		i += toklen + 1;
		while (toklen > 0 && *tok == ' ')
			tok++, toklen--;
		while (toklen > 0 && tok[toklen - 1] == ' ')
			toklen--;
#define IS(prefix) (toklen > sizeof(prefix) - 1 && memcmp(tok, prefix, sizeof(prefix) - 1) == 0)
#define ARG(prefix, max) parse_num(tok + sizeof(prefix) - 1, toklen - (sizeof(prefix) - 1), max, &v)
		if (toklen == 4 && memcmp(tok, "hang", 4) == 0)
			f->hang = 1;
		else if (IS("status:") && ARG("status:", 599) == 0 && v >= 200)
			f->status = (int)v;
		else if (IS("cut:") && ARG("cut:", MOCK_MAX_CHUNKS) == 0)
			f->cut = (int)v;
		else if (IS("slow-first-byte:") && ARG("slow-first-byte:", MOCK_MAX_PAUSE_MS) == 0)
			f->slow_ms = (int)v;
		else {
			reply_error(m, 400, "invalid_request_error", "mock_bad_knob",
			    "mock failure \"%.*s\": want status:200..599, cut:N, hang or slow-first-byte:MS",
			    (int)(toklen > 60 ? 60 : toklen), tok);
			return -1;
		}
#undef IS
#undef ARG
	}
	return 0;
}

static int
knob_num(struct mreq *m, const char *name, const char *s, size_t len, unsigned long max,
    unsigned long *out)
{
	if (parse_num(s, len, max, out) == 0)
		return 0;
	reply_error(m, 400, "invalid_request_error", "mock_bad_knob",
	    "%s: want a whole number from 0 to %lu", name, max);
	return -1;
}

int
mreq_json_depth_ok(const char *s, size_t n)
{
	int depth = 0, in_str = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"')
			in_str = 1;
		else if (c == '[' || c == '{') {
			if (++depth > MREQ_MAX_JSON_DEPTH)
				return 0;
		} else if (c == ']' || c == '}')
			depth--;
	}
	return 1;
}

/* m->root, or NULL with json_err. -1 only for a body nested too deep. */
static int
parse_json(struct mreq *m, h2o_iovec_t body)
{
	char *copy;

	if (body.len == 0) {
		snprintf(m->json_err, sizeof(m->json_err), "empty body");
		return 0;
	}
	if (!mreq_json_depth_ok(body.base, body.len)) {
		reply_error(m, 400, "invalid_request_error", "invalid_json",
		    "JSON nested deeper than %d levels", MREQ_MAX_JSON_DEPTH);
		return -1;
	}
	/* yajl_tree_parse wants a NUL-terminated string */
	copy = xmalloc(body.len + 1);
	memcpy(copy, body.base, body.len);
	copy[body.len] = '\0';
	m->root = yajl_tree_parse(copy, m->json_err, sizeof(m->json_err));
	free(copy);
	if (m->root == NULL) {
		/* yajl's message spans lines: keep the first */
		m->json_err[strcspn(m->json_err, "\r\n")] = '\0';
		if (m->json_err[0] == '\0')
			snprintf(m->json_err, sizeof(m->json_err), "not JSON");
	} else if (!YAJL_IS_OBJECT(m->root))
		snprintf(m->json_err, sizeof(m->json_err), "the body is JSON but not an object");
	return 0;
}

static int
body_knobs(struct mreq *m)
{
	yajl_val r = m->root, v;
	const char *s;

	if (!YAJL_IS_OBJECT(r))
		return 0;
	for (size_t i = 0; i < r->u.object.len; i++) {
		const char *k = r->u.object.keys[i];

		v = r->u.object.values[i];
		if (strcmp(k, "model") == 0 && (s = YAJL_GET_STRING(v)) != NULL)
			m->model = h2o_strdup(&m->req->pool, s, strlen(s));
		else if (strcmp(k, "stream") == 0)
			m->stream = YAJL_IS_TRUE(v);
		else if (strcmp(k, "stream_options") == 0 && YAJL_IS_OBJECT(v)) {
			const char *iu[] = { "include_usage", NULL };

			m->include_usage = YAJL_IS_TRUE(yajl_tree_get(v, iu, yajl_t_any));
		}
		else if (strcmp(k, "mock_fail") == 0) {
			if ((s = YAJL_GET_STRING(v)) == NULL) {
				reply_error(m, 400, "invalid_request_error", "mock_bad_knob",
				    "mock_fail: want a string");
				return -1;
			}
			if (parse_fail(m, s, strlen(s)) == -1)
				return -1;
		} else if (strcmp(k, "mock_chunks") == 0 || strcmp(k, "mock_pause_ms") == 0 ||
		    strcmp(k, "mock_bytes") == 0) {
			unsigned long max = k[5] == 'c' ? MOCK_MAX_CHUNKS :
			    k[5] == 'p'                 ? MOCK_MAX_PAUSE_MS :
							  MOCK_MAX_BODY;

			if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 0 ||
			    (unsigned long long)YAJL_GET_INTEGER(v) > max) {
				reply_error(m, 400, "invalid_request_error", "mock_bad_knob",
				    "%s: want a whole number from 0 to %lu", k, max);
				return -1;
			}
			if (k[5] == 'c')
				m->chunks = (unsigned)YAJL_GET_INTEGER(v);
			else if (k[5] == 'p')
				m->pause_ms = (unsigned)YAJL_GET_INTEGER(v);
			else
				m->bytes = (size_t)YAJL_GET_INTEGER(v);
		}
	}
	return 0;
}

static int
header_knobs(struct mreq *m)
{
	h2o_iovec_t v;
	unsigned long n;

	if ((v = header(m->req, "x-mock-fail")).base != NULL) {
		/* the header replaces whatever the body asked for */
		memset(&m->fail, 0, sizeof(m->fail));
		m->fail.cut = m->fail.slow_ms = -1;
		if (parse_fail(m, v.base, v.len) == -1)
			return -1;
	}
	if ((v = header(m->req, "x-mock-chunks")).base != NULL) {
		if (knob_num(m, "x-mock-chunks", v.base, v.len, MOCK_MAX_CHUNKS, &n) == -1)
			return -1;
		m->chunks = (unsigned)n;
	}
	if ((v = header(m->req, "x-mock-pause-ms")).base != NULL) {
		if (knob_num(m, "x-mock-pause-ms", v.base, v.len, MOCK_MAX_PAUSE_MS, &n) == -1)
			return -1;
		m->pause_ms = (unsigned)n;
	}
	if ((v = header(m->req, "x-mock-usage")).base != NULL) {
		if (h2o_memis(v.base, v.len, H2O_STRLIT("openai")))
			m->usage = MUSAGE_OPENAI;
		else if (h2o_memis(v.base, v.len, H2O_STRLIT("last")))
			m->usage = MUSAGE_LAST;
		else if (h2o_memis(v.base, v.len, H2O_STRLIT("none")))
			m->usage = MUSAGE_NONE;
		else {
			reply_error(m, 400, "invalid_request_error", "mock_bad_knob",
			    "x-mock-usage: want openai, last or none");
			return -1;
		}
	}
	if ((v = header(m->req, "x-mock-fixed-id")).base != NULL) {
		if (knob_num(m, "x-mock-fixed-id", v.base, v.len, 4000000000UL, &n) == -1)
			return -1;
		m->has_fixed_id = 1;
		m->fixed_id = n;
	}
	if ((v = header(m->req, "x-mock-bytes")).base != NULL) {
		if (knob_num(m, "x-mock-bytes", v.base, v.len, MOCK_MAX_BODY, &n) == -1)
			return -1;
		m->bytes = n;
	}
	return 0;
}

/* The timer lists the answer will need exist (or the table is full). */
static int
timers_ok(struct mreq *m)
{
	if ((m->stream && m->pause_ms > 0 && mock_timeout(m->thr, m->pause_ms) == NULL) ||
	    (m->fail.slow_ms > 0 && mock_timeout(m->thr, (uint64_t)m->fail.slow_ms) == NULL)) {
		reply_error(m, 400, "invalid_request_error", "mock_bad_knob",
		    "too many distinct pause and delay values (at most %d per thread)",
		    MOCK_MAX_TIMEOUTS - 1);
		return -1;
	}
	return 0;
}

int
mreq_parse(struct mreq *m)
{
	h2o_iovec_t body = m->req->entity;

	if (m->is_post) {
		if (body.base == NULL)
			body = h2o_iovec_init("", 0);
		m->body_len = body.len;
		m->body_fnv = fnv1a64(body.base, body.len);
		/* multipart is digested, not parsed */
		if (!h2o_memis(m->path.base, m->path.len, H2O_STRLIT("/v1/audio/transcriptions"))) {
			if (parse_json(m, body) == -1 || body_knobs(m) == -1)
				return -1;
		}
	}
	if (header_knobs(m) == -1 || timers_ok(m) == -1)
		return -1;
	return 0;
}
