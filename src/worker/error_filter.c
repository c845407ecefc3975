/*
 * error_filter: no error leaves the worker as anything but OpenAI JSON.
 *
 * h2o 2.2.5 writes some errors itself, with text/plain bodies: 413 when
 * an HTTP/1 body is over max_request_entity_size, 400 for broken chunked
 * encoding or Content-Length, 417 for an unknown Expect, 400 for bad
 * HTTP/2 header characters. They all pass through the filters of the
 * fallback path (h2o binds it when it errors before routing), so this
 * filter sees every response. When the status is 400 or more and the
 * body is not JSON, it replaces the body with an error document (keeping
 * what h2o said as the message) and sets Content-Type and the length.
 * It also gives every response its X-Request-Id.
 *
 * Out of reach: when an HTTP/1 request head cannot be parsed at all,
 * h2o writes a fixed "400 Bad Request" straight to the socket, and an
 * HTTP/2 body over the limit resets the stream; no filter runs then.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <h2o.h>

#include "api.h"
#include "oai_error.h"
#include "request_id.h"
#include "worker.h"

/* How much of the replaced body is kept for the message. */
#define TEXT_MAX 400

struct err_ostream {
	h2o_ostream_t super;
	size_t text_len;
	char text[TEXT_MAX];
};

static int
is_json(h2o_req_t *req)
{
	ssize_t i = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
	const h2o_iovec_t *v;

	if (i == -1)
		return 0;
	v = &req->res.headers.entries[i].value;
	for (size_t j = 0; j + 4 <= v->len; j++)
		if (h2o_lcstris(v->base + j, 4, H2O_STRLIT("json")))
			return 1;
	return 0;
}

static h2o_iovec_t
replacement(h2o_req_t *req, struct err_ostream *self)
{
	int status = req->res.status;
	char msg[TEXT_MAX + 64];
	const char *code = NULL;
	size_t n = self->text_len;

	while (n > 0 && (self->text[n - 1] == '\n' || self->text[n - 1] == '\r' ||
	    self->text[n - 1] == ' '))
		n--;
	switch (status) {
	case 413:
		snprintf(msg, sizeof(msg), "request body is larger than the limit of %zu bytes",
		    req->conn->ctx->globalconf->max_request_entity_size);
		code = "request_too_large";
		break;
	case 417:
		snprintf(msg, sizeof(msg), "unsupported Expect header: only 100-continue is understood");
		code = "expectation_failed";
		break;
	case 400:
		snprintf(msg, sizeof(msg), "bad request: %.*s", (int)n, n != 0 ? self->text : "malformed");
		code = "bad_request";
		break;
	default:
		if (n != 0)
			snprintf(msg, sizeof(msg), "%.*s", (int)n, self->text);
		else
			snprintf(msg, sizeof(msg), "%s", wk_http_reason(status));
		break;
	}
	return wk_oai_error_json(&req->pool, msg, strlen(msg), wk_oai_error_type(status), NULL, code);
}

static void
on_send(h2o_ostream_t *super, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt,
    h2o_send_state_t state)
{
	struct err_ostream *self = (struct err_ostream *)super;
	h2o_iovec_t body;

	for (size_t i = 0; i < bufcnt; i++) {
		size_t room = TEXT_MAX - self->text_len;
		size_t n = bufs[i].len < room ? bufs[i].len : room;

		memcpy(self->text + self->text_len, bufs[i].base, n);
		self->text_len += n;
	}
	if (h2o_send_state_is_in_progress(state)) {
		/* swallowed: ask the generator for more */
		h2o_ostream_send_next(super, req, NULL, 0, state);
		return;
	}
	body = replacement(req, self);
	req->res.content_length = body.len;
	if (h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD")))
		h2o_ostream_send_next(super, req, NULL, 0, H2O_SEND_STATE_FINAL);
	else
		h2o_ostream_send_next(super, req, &body, 1, H2O_SEND_STATE_FINAL);
}

static void
on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
	(void)wk_request_id(req);
	if (req->res.status >= 400 && !is_json(req)) {
		struct err_ostream *o;

		h2o_set_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE,
		    H2O_STRLIT("application/json"), 1);
		o = (struct err_ostream *)h2o_add_ostream(req, sizeof(*o), slot);
		o->super.do_send = on_send;
		o->text_len = 0;
		slot = &o->super.next;
	}
	h2o_setup_next_ostream(req, slot);
}

void
wk_error_filter_register(h2o_pathconf_t *pathconf)
{
	h2o_filter_t *f = h2o_create_filter(pathconf, sizeof(*f));

	f->on_setup_ostream = on_setup_ostream;
}
