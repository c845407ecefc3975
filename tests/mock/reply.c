/*
 * reply: send the answer an endpoint described, the way the knobs say.
 *
 *   hang              never answer; the watch notices the client leaving
 *   slow-first-byte   wait, then answer (the watch runs meanwhile)
 *   stream            event 0 at once with the head, then one event per
 *                     pause_ms; the last event is "data: [DONE]"
 *   cut:N             stream: after N events, FIN without the closing
 *                     chunk; non-stream: Content-Length of the whole body,
 *                     half of it, then FIN
 *   status:S          (set earlier) an OpenAI error with status S
 *
 * h2o rules followed here: h2o_send only after proceed (one write in
 * flight); stop() means h2o noticed the client gone on a failed write.
 * An abort is recorded once, at the first sign the client left before
 * the answer was complete: the watch (at once) or stop() (on HTTP/1 only
 * at the next write).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "fnv.h"
#include "log.h"
#include "mreq.h"
#include "state.h"

const char *
reply_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Payload Too Large";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
	}
}

void
reply_now(h2o_req_t *req, int status, const char *ctype, const char *body, size_t len)
{
	req->res.status = status;
	req->res.reason = reply_reason(status);
	req->res.content_length = len;
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype,
	    strlen(ctype));
	h2o_send_inline(req, body, len);
}

void
reply_error(struct mreq *m, int status, const char *type, const char *code, const char *fmt,
    ...)
{
	struct jw w;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	buf_reset(&m->out);
	jw_init(&w, &m->out);
	jw_raw(&w, "{\"error\":{\"message\":");
	jw_cstr(&w, msg);
	jw_raw(&w, ",\"type\":");
	jw_cstr(&w, type);
	jw_raw(&w, ",\"param\":null,\"code\":");
	jw_str_or_null(&w, code, code != NULL ? strlen(code) : 0);
	jw_raw(&w, "}}");
	m->event = NULL;
	m->has_resp_fnv = 0;
	m->stream = 0;
	reply_json(m, status, &w);
}

void
reply_json(struct mreq *m, int status, struct jw *w)
{
	if (w->err) {
		reply_error(m, 500, "server_error", "mock_too_large", "answer larger than %zu bytes",
		    (size_t)MOCK_MAX_OUT);
		return;
	}
	m->status = status;
	m->ctype = "application/json";
	m->body = h2o_iovec_init(buf_head(&m->out), m->out.len);
}

void
reply_stream(struct mreq *m, mreq_event_fn event, unsigned nevents)
{
	m->status = 200;
	m->ctype = "text/event-stream";
	m->event = event;
	m->nevents = nevents;
}

static void
add_header(h2o_req_t *req, const char *name, const char *value, size_t len)
{
	h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 0, NULL, value, len);
}

static void
add_hex_header(h2o_req_t *req, const char *name, uint64_t h)
{
	char *hex = h2o_mem_alloc_pool(&req->pool, 17);

	fnv_hex(h, hex);
	add_header(req, name, hex, 16);
}

static void
add_headers(struct mreq *m)
{
	h2o_req_t *req = m->req;

	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, m->ctype,
	    strlen(m->ctype));
	if (m->event != NULL)
		h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
		    H2O_STRLIT("no-cache"));
	if (m->is_post) {
		char *len = h2o_mem_alloc_pool(&req->pool, 24);

		add_hex_header(req, "x-mock-body-fnv", m->body_fnv);
		add_header(req, "x-mock-body-len", len, (size_t)snprintf(len, 24, "%zu", m->body_len));
	}
	if (m->has_resp_fnv)
		add_hex_header(req, "x-mock-response-fnv", m->resp_fnv);
	if (m->authorization.base != NULL)
		add_header(req, "x-mock-saw-authorization", m->authorization.base, m->authorization.len);
	else
		add_header(req, "x-mock-saw-authorization", H2O_STRLIT("none"));
	if (m->request_id.base != NULL)
		add_header(req, "x-mock-saw-request-id", m->request_id.base, m->request_id.len);
	else
		add_header(req, "x-mock-saw-request-id", H2O_STRLIT("none"));
}

static void
note_abort(struct mreq *m, const char *how)
{
	if (m->aborted || m->finished)
		return;
	m->aborted = 1;
	state_abort(mock_now_ms(), m->request_id.base, m->request_id.len, m->path.base, m->path.len,
	    m->sent);
	log_debug("%.*s: client gone (%s) after %u events", (int)m->path.len, m->path.base, how,
	    m->sent);
}

static void
arm(struct mreq *m, unsigned ms, h2o_timeout_cb cb)
{
	/* knobs.c made sure the list exists */
	m->timer.cb = cb;
	h2o_timeout_link(m->thr->loop, mock_timeout(m->thr, ms), &m->timer);
}

/* Last send of an answer: nothing of m is touched after h2o_send. */
static void
send_final(struct mreq *m, h2o_iovec_t *bufs, size_t n, h2o_send_state_t state)
{
	m->finished = 1;
	watch_stop(&m->watch);
	if (h2o_timeout_is_linked(&m->timer))
		h2o_timeout_unlink(&m->timer);
	h2o_send(m->req, bufs, n, state);
}

/* Injected cut: FIN now, without the rest of the body. */
static void
cut(struct mreq *m)
{
	int fd = watch_conn_fd(m->req);

	log_debug("%.*s: cut after %u events", (int)m->path.len, m->path.base, m->sent);
	if (fd != -1)
		shutdown(fd, SHUT_WR);
	send_final(m, NULL, 0, H2O_SEND_STATE_ERROR);
}

static void
send_next_event(struct mreq *m)
{
	h2o_iovec_t ev;

	if (m->fail.cut >= 0 && m->sent == (unsigned)m->fail.cut) {
		cut(m);
		return;
	}
	ev = m->event(m, m->sent);
	m->sent++;
	if (m->sent == m->nevents) {
		send_final(m, &ev, 1, H2O_SEND_STATE_FINAL);
		return;
	}
	m->writing = 1;
	h2o_send(m->req, &ev, 1, H2O_SEND_STATE_IN_PROGRESS);
}

static void
on_pause_done(h2o_timeout_entry_t *entry)
{
	send_next_event(H2O_STRUCT_FROM_MEMBER(struct mreq, timer, entry));
}

static void
on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
	struct mreq *m = (struct mreq *)gen;

	m->writing = 0;
	if (m->gone)
		send_final(m, NULL, 0, H2O_SEND_STATE_ERROR);
	else if (m->cut_pending)
		cut(m);
	else if (m->event != NULL && m->pause_ms > 0)
		arm(m, m->pause_ms, on_pause_done);
	else if (m->event != NULL)
		send_next_event(m);
}

static void
on_stop(h2o_generator_t *gen, h2o_req_t *req)
{
	struct mreq *m = (struct mreq *)gen;

	note_abort(m, "failed write");
	m->finished = 1;
	watch_stop(&m->watch);
	if (h2o_timeout_is_linked(&m->timer))
		h2o_timeout_unlink(&m->timer);
}

static void
begin(struct mreq *m)
{
	h2o_req_t *req = m->req;

	m->started = 1;
	req->res.status = m->status;
	req->res.reason = reply_reason(m->status);
	m->gen.proceed = on_proceed;
	m->gen.stop = on_stop;
	if (m->event != NULL) {
		h2o_start_response(req, &m->gen);
		send_next_event(m);
		return;
	}
	req->res.content_length = m->body.len;
	h2o_start_response(req, &m->gen);
	if (m->fail.cut >= 0 && m->body.len >= 2) {
		h2o_iovec_t half = h2o_iovec_init(m->body.base, m->body.len / 2);

		m->cut_pending = 1;
		m->writing = 1;
		m->sent = 1;
		h2o_send(req, &half, 1, H2O_SEND_STATE_IN_PROGRESS);
		return;
	}
	m->sent = 1;
	send_final(m, &m->body, 1, H2O_SEND_STATE_FINAL);
}

static void
on_slow_done(h2o_timeout_entry_t *entry)
{
	begin(H2O_STRUCT_FROM_MEMBER(struct mreq, timer, entry));
}

static void
on_gone(struct watch *w)
{
	struct mreq *m = H2O_STRUCT_FROM_MEMBER(struct mreq, watch, w);

	m->gone = 1;
	note_abort(m, "hang-up");
	if (!m->started) {
		/* hang or slow first byte: end it; the write goes nowhere */
		if (h2o_timeout_is_linked(&m->timer))
			h2o_timeout_unlink(&m->timer);
		m->finished = 1;
		h2o_send_error_generic(m->req, 503, "Service Unavailable", "client gone",
		    H2O_SEND_ERROR_HTTP1_CLOSE_CONNECTION);
	} else if (!m->writing)
		send_final(m, NULL, 0, H2O_SEND_STATE_ERROR); /* paused between events */
	/* else: on_proceed or on_stop comes next */
}

void
reply_run(struct mreq *m)
{
	int wait = m->fail.hang || m->fail.slow_ms > 0;

	if (m->event == NULL && m->ctype == NULL)
		reply_error(m, 500, "server_error", NULL, "no answer (mock bug)");
	if (mopts.verbose)
		log_info("%.*s %.*s -> %d%s%s%s", (int)m->req->method.len, m->req->method.base,
		    (int)m->path.len, m->path.base, m->status, m->event != NULL ? " stream" : "",
		    m->fail.hang ? " hang" : "", m->fail.cut >= 0 ? " cut" : "");
	add_headers(m);
	if (wait || (m->event != NULL && m->nevents > 1))
		watch_start(&m->watch, m->req, m->thr->loop,
		    mock_timeout(m->thr, MOCK_WATCH_POLL_MS), on_gone);
	if (m->fail.hang)
		return;
	if (m->fail.slow_ms > 0) {
		arm(m, (unsigned)m->fail.slow_ms, on_slow_done);
		return;
	}
	begin(m);
}
