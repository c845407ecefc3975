/*
 * api_proxy: POST /v1/... relayed to an agent through agentd.
 *
 * The body (already complete: h2o 2.2.5 buffers it) must be one JSON
 * object with a string "model" of the form "namespace:model". The worker
 * then sends REQ_START and the body as REQ_BODY chunks, and relays what
 * comes back: RESP_HEAD starts the response, RESP_DATA is streamed to
 * the client as it arrives, RESP_END finishes it, RESP_ERROR becomes an
 * OpenAI error (or, once the response has started, the end of it).
 *
 * Streaming follows h2o's rule: one h2o_send at a time, the next only
 * after proceed(). Data that arrives in between waits in a second buffer
 * (two buffers swap roles, so h2o's buffer never moves under it); the
 * waiting data is bounded, and a client that stops reading for too long
 * loses its request instead of growing the worker's memory. After each
 * proceed() the worker gives agentd WINDOW credit for the bytes the
 * client took.
 *
 * The answer passes through usage_relay.c on its way: it counts the
 * tokens the backend reports and, for a stream whose client did not ask
 * for them (the worker asked on its behalf), takes out what asking
 * added. When the request ends (on_dispose) its usage record goes to
 * usage_record.c.
 *
 * While the worker's agentd link is down (agentd respawning), a request
 * waits for it in agentd_link's FIFO (pr->wait), bounded by count and
 * http.agentd_wait, and is sent when it comes up; past the bound it gets
 * 503 agentd_unavailable. A client that leaves meanwhile (dispose, or
 * client_watch for HTTP/1) takes it out of the FIFO.
 *
 * The client leaving (generator stop, the request disposed before a
 * response started, or an HTTP/1 hang-up seen by client_watch) sends
 * CANCEL so that the agent stops working for nobody. If the agentd link
 * dies, a request still waiting gets 503; one already streaming is
 * ended: with an error event for server-sent events, with a broken
 * stream (H2O_SEND_STATE_ERROR) otherwise.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <h2o.h>

#include "agentd_link.h"
#include "api.h"
#include "auth.h"
#include "buf.h"
#include "client_watch.h"
#include "cred_headers.h"
#include "ipc.h"
#include "log.h"
#include "node_listener.h"
#include "master_link.h"
#include "oai_error.h"
#include "ratelimit.h"
#include "request_id.h"
#include "request_json.h"
#include "request_rewrite.h"
#include "usage_record.h"
#include "usage_relay.h"
#include "worker.h"

/* Answer bytes allowed to wait for a slow client. */
#define RESP_QUEUE_MAX (8 * 1024 * 1024)
/* Request headers forwarded to agentd, names and values together. */
#define FWD_HEADERS_MAX (64 * 1024)
/* Longest "namespace:model". */
#define MODEL_MAX 512
/* Longest model name quoted back in an error. */
#define QUOTE_MAX 200

enum proxy_state { PX_WAIT_HEAD, PX_STREAMING, PX_DONE };

struct proxy_req {
	struct agentd_pending p;
	struct agentd_waiter wait; /* queued while the agentd link is down */
	size_t ns_len;             /* "namespace" of body.model */
	h2o_generator_t gen;
	h2o_req_t *req;
	const char *rid;
	struct request_json body;
	enum proxy_state state;
	struct buf sending;   /* held by h2o until proceed() */
	struct buf receiving; /* arrived since */
	int inflight;
	int end_pending;      /* finish after what is queued */
	int error_pending;    /* break the stream after what is queued */
	size_t credit;        /* bytes the client took, not yet credited to agentd */
	int is_sse;
	int has_clen;         /* the answer went out with the backend's Content-Length, */
	size_t clen_left;     /* and owes this many more bytes: no more, no fewer */
	struct client_watch *watch; /* HTTP/1: notices the client hanging up */
	h2o_timeout_entry_t timer;  /* first byte, then idle gap between chunks */
	h2o_timeout_entry_t flush_soon; /* data goes out at the loop turn's end */
	/* usage */
	struct usage_relay usage;
	int ask_usage;        /* we asked for a stream's usage: strip it */
	uint64_t t_start, t_head, t_first; /* ms: the request came, the answer's head, its first data */
	const char *end;      /* how it ended (the first reason wins) */
};

static void
set_end(struct proxy_req *pr, const char *how)
{
	if (pr->end == NULL)
		pr->end = how;
}

/* A header name with its length, measured at compile time: the lists
 * below are read for every header of every request. */
struct hname {
	const char *s;
	size_t len;
};
#define HN(lit) { lit, sizeof(lit) - 1 }

/* Request headers that are ours or the connection's, not the backend's
 * (credentials are in cred_headers.c, shared with tokiame). */
static const struct hname drop_request_headers[] = {
	HN("connection"), HN("keep-alive"), HN("proxy-connection"), HN("te"), HN("trailer"),
	HN("transfer-encoding"), HN("upgrade"), HN("host"), HN("content-length"), HN("expect"),
	HN("http2-settings"), HN("x-request-id"),
};

/* Response headers h2o or the worker sets itself. */
static const struct hname drop_response_headers[] = {
	HN("connection"), HN("keep-alive"), HN("proxy-connection"), HN("te"), HN("trailer"),
	HN("transfer-encoding"), HN("upgrade"), HN("content-length"), HN("date"), HN("server"),
	HN("x-request-id"),
};

static int
in_list(const struct hname *list, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (len == list[i].len && memcmp(s, list[i].s, len) == 0)
			return 1;
	return 0;
}

#define IN_LIST(list, s, len) in_list(list, sizeof(list) / sizeof(list[0]), s, len)

/* ---- time limits: to the answer's head, then between its chunks ---- */

static void stream_fail(struct proxy_req *pr, const char *message, const char *type,
    const char *code);

static void
timer_stop(struct proxy_req *pr)
{
	if (h2o_timeout_is_linked(&pr->timer))
		h2o_timeout_unlink(&pr->timer);
}

static void
timer_arm(struct proxy_req *pr, h2o_timeout_t *which)
{
	timer_stop(pr);
	h2o_timeout_link(wk.loop, which, &pr->timer);
}

static void
on_timer(h2o_timeout_entry_t *entry)
{
	struct proxy_req *pr = H2O_STRUCT_FROM_MEMBER(struct proxy_req, timer, entry);

	if (pr->state == PX_WAIT_HEAD) {
		log_warnx("req %s: no answer from the agent within %u ms", pr->rid,
		    wk.conf->http.first_byte_timeout_ms);
		wk_agentd_link_cancel(&pr->p);
		pr->state = PX_DONE;
		set_end(pr, "first_byte_timeout");
		wk_oai_send_error(pr->req, 504, "timeout", NULL, "first_byte_timeout",
		    "the model did not start answering within %u ms",
		    wk.conf->http.first_byte_timeout_ms);
	} else if (pr->state == PX_STREAMING) {
		char msg[128];

		log_warnx("req %s: the answer stalled for %u ms", pr->rid,
		    wk.conf->http.stream_idle_timeout_ms);
		snprintf(msg, sizeof(msg), "the answer stalled for more than %u ms",
		    wk.conf->http.stream_idle_timeout_ms);
		stream_fail(pr, msg, "timeout", "stream_idle_timeout");
	}
}

/* ---- streaming to the client ---- */

static void
flush(struct proxy_req *pr)
{
	struct buf tmp;
	h2o_iovec_t vec;
	h2o_send_state_t st;

	if (h2o_timeout_is_linked(&pr->flush_soon))
		h2o_timeout_unlink(&pr->flush_soon);
	if (pr->inflight || pr->state != PX_STREAMING)
		return;
	if (pr->receiving.len == 0 && !pr->end_pending && !pr->error_pending)
		return;
	tmp = pr->sending;
	pr->sending = pr->receiving;
	pr->receiving = tmp;
	vec = h2o_iovec_init(buf_head(&pr->sending), pr->sending.len);
	pr->credit += vec.len;
	st = pr->error_pending ? H2O_SEND_STATE_ERROR :
	    pr->end_pending ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS;
	if (st != H2O_SEND_STATE_IN_PROGRESS) {
		pr->state = PX_DONE;
		timer_stop(pr);
		wk_agentd_link_unregister(&pr->p);
	}
	pr->inflight = 1;
	h2o_send(pr->req, &vec, vec.len != 0 ? 1 : 0, st);
}

static void
on_flush_soon(h2o_timeout_entry_t *entry)
{
	struct proxy_req *pr = H2O_STRUCT_FROM_MEMBER(struct proxy_req, flush_soon, entry);

	if (pr->is_sse && pr->state == PX_STREAMING && !pr->end_pending && !pr->error_pending)
		wk_client_watch_now(pr->watch);
	flush(pr);
}

/*
 * agentd sends a short answer's head, data and end in one batch: sending
 * the data at once would make the end wait for h2o's next proceed, a
 * second write to the client. Data waits for the end of the loop turn
 * (no delay) and leaves with whatever else the turn brought.
 */
static void
flush_soon(struct proxy_req *pr)
{
	if (!pr->inflight && !h2o_timeout_is_linked(&pr->flush_soon))
		h2o_timeout_link(wk.loop, &wk.ctx.zero_timeout, &pr->flush_soon);
}

static void
on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
	struct proxy_req *pr = H2O_STRUCT_FROM_MEMBER(struct proxy_req, gen, gen);

	pr->inflight = 0;
	buf_reset(&pr->sending);
	/* a slow client holds the agent back: its progress is not the agent stalling */
	if (pr->state == PX_STREAMING && !pr->end_pending && !pr->error_pending)
		timer_arm(pr, &wk.stream_idle);
	if (pr->credit != 0) {
		wk_agentd_link_window(&pr->p, pr->credit > UINT32_MAX ? UINT32_MAX : (uint32_t)pr->credit);
		pr->credit = 0;
	}
	flush(pr);
}

static void
on_stop(h2o_generator_t *gen, h2o_req_t *req)
{
	struct proxy_req *pr = H2O_STRUCT_FROM_MEMBER(struct proxy_req, gen, gen);

	if (pr->p.id != 0)
		log_debug("req %s: client went away; cancelling", pr->rid);
	if (pr->state != PX_DONE)
		set_end(pr, "client_gone");
	wk_agentd_link_cancel(&pr->p);
	timer_stop(pr);
	pr->state = PX_DONE;
}

/* The response started; end it with an error the client can see. */
static void
stream_fail(struct proxy_req *pr, const char *message, const char *type, const char *code)
{
	if (pr->state != PX_STREAMING || pr->end_pending || pr->error_pending)
		return;
	set_end(pr, code != NULL ? code : type);
	wk_agentd_link_cancel(&pr->p);
	if (pr->is_sse) {
		h2o_iovec_t ev = wk_oai_error_sse_event(&pr->req->pool, message, type, code);

		/* the event goes out even past the queue bound: it is small */
		pr->receiving.max = 0;
		buf_append(&pr->receiving, ev.base, ev.len);
		pr->end_pending = 1;
	} else
		pr->error_pending = 1;
	flush(pr);
}

/* Something went wrong between us and agentd: 502 or a broken stream. */
static void
proxy_fail(struct proxy_req *pr, int status, const char *code, const char *message)
{
	log_warnx("req %s: %s", pr->rid, message);
	if (pr->state == PX_WAIT_HEAD) {
		wk_agentd_link_cancel(&pr->p);
		pr->state = PX_DONE;
		set_end(pr, code);
		wk_oai_send_error(pr->req, status, wk_oai_error_type(status), NULL, code, "%s", message);
	} else
		stream_fail(pr, message, wk_oai_error_type(status), code);
}

/* ---- messages from agentd ---- */

/* RFC 9110 tchar, lower case only (h2o and HTTP/2 want lower-case names):
 * a table, as every relayed header's every byte is looked up. */
static uint8_t tchar_lc[256];

static int
header_name_ok(const char *s, size_t len)
{
	if (!tchar_lc['a']) {
		for (int c = 'a'; c <= 'z'; c++)
			tchar_lc[c] = 1;
		for (int c = '0'; c <= '9'; c++)
			tchar_lc[c] = 1;
		for (const char *t = "!#$%&'*+-.^_`|~"; *t != '\0'; t++)
			tchar_lc[(unsigned char)*t] = 1;
	}
	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!tchar_lc[(unsigned char)s[i]])
			return 0;
	return 1;
}

/* No control byte but HTAB, no DEL. Eight bytes at a time first (most
 * values have none: one test a word), then byte by byte from the first
 * word that may have one. */
static int
header_value_ok(const char *s, size_t len)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t v, del;

		memcpy(&v, s + i, sizeof(v));
		del = v ^ (0x7f * ones);
		/* nonzero iff a byte is below 0x20, or a byte is 0x7f */
		if (((v - 0x20 * ones) & ~v & highs) != 0 || ((del - ones) & ~del & highs) != 0)
			break;
	}
	for (; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 0;
	}
	return 1;
}

/*
 * The x-ratelimit-* headers of a key with limits: agentd sends their
 * values packed (src/common/ratelimit.h), written here into one pool
 * buffer under static names, none an h2o token (so no lookup), with no
 * per-byte check: they are our own numbers.
 */
static void
add_ratelimit_headers(h2o_req_t *req, const struct ratelimit *rl)
{
	struct ratelimit_headers h;
	char *buf;

	ratelimit_headers(rl, &h);
	buf = h2o_mem_alloc_pool(&req->pool, sizeof(h.value));
	for (size_t i = 0; i < h.n; i++) {
		memcpy(buf, h.value[i], h.value_len[i]);
		h2o_add_header_by_str(&req->pool, &req->res.headers, h.name[i], h.name_len[i], 0,
		    NULL, buf, h.value_len[i]);
		buf += h.value_len[i];
	}
}

/* The packed values of a message, have = 0 when there are none (or they
 * are not well formed: agentd is ours, but a frame is not trusted). */
static void
ratelimit_of(const struct ipc_str *packed, struct ratelimit *rl)
{
	if (packed->len == 0 || ratelimit_unpack(packed->base, packed->len, rl) == -1)
		rl->have = 0;
}

/* Content-Length's digits, or SIZE_MAX when absent or not a plain number */
static size_t
content_length_parse(const char *s, size_t len)
{
	size_t v = 0;

	if (len == 0 || len > 15)
		return SIZE_MAX;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return SIZE_MAX;
		v = v * 10 + (size_t)(s[i] - '0');
	}
	return v;
}

static void
on_resp_head(struct proxy_req *pr, const struct ipc_msg *msg)
{
	h2o_req_t *req = pr->req;
	struct ipc_list_iter it;
	struct ipc_str name, value;
	int status = msg->u.resp_head.status;
	size_t clen = SIZE_MAX;
	int is_json = 0;
	struct ratelimit rl;

	if (status < 200 || status > 599) {
		proxy_fail(pr, 502, "agent_protocol_error", "the agent answered with an invalid status");
		return;
	}
	req->res.status = status;
	req->res.reason = wk_http_reason(status);
	ratelimit_of(&msg->u.resp_head.ratelimit, &rl);
	ipc_list_begin(&it, &msg->u.resp_head.headers);
	while (ipc_header_next(&it, &name, &value)) {
		h2o_iovec_t n, v;

		if (rl.have && ratelimit_header_name(name.base, name.len))
			continue; /* ours replace the backend's */
		if (!header_name_ok(name.base, name.len) || !header_value_ok(value.base, value.len)) {
			log_debug("req %s: dropping a malformed response header from the agent", pr->rid);
			continue;
		}
		if (IN_LIST(drop_response_headers, name.base, name.len)) {
			if (h2o_memis(name.base, name.len, H2O_STRLIT("content-length")))
				clen = content_length_parse(value.base, value.len);
			continue;
		}
		n = h2o_strdup(&req->pool, name.base, name.len);
		v = h2o_strdup(&req->pool, value.base, value.len);
		h2o_add_header_by_str(&req->pool, &req->res.headers, n.base, n.len, 1, NULL, v.base, v.len);
		if (h2o_memis(n.base, n.len, H2O_STRLIT("content-type")) && v.len >= 17 &&
		    h2o_lcstris(v.base, 17, H2O_STRLIT("text/event-stream")))
			pr->is_sse = 1;
		if (h2o_memis(n.base, n.len, H2O_STRLIT("content-type")) &&
		    h2o_strstr(v.base, v.len, H2O_STRLIT("json")) != SIZE_MAX)
			is_json = 1;
	}
	if (rl.have)
		add_ratelimit_headers(req, &rl);
	usage_relay_init(&pr->usage, pr->is_sse ? USCAN_SSE : is_json ? USCAN_JSON : USCAN_OFF,
	    pr->ask_usage);
	pr->t_head = h2o_now(wk.loop);
	/*
	 * The backend's length, when it gave one, is the client's: no chunked
	 * encoding. curl delivers exactly that many bytes; an answer cut short
	 * ends in H2O_SEND_STATE_ERROR, a closed connection, as it must.
	 */
	if (clen != SIZE_MAX && !pr->is_sse && status != 204 && status != 304 &&
	    !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
		req->res.content_length = clen;
		pr->has_clen = 1;
		pr->clen_left = clen;
	}
	pr->state = PX_STREAMING;
	timer_arm(pr, &wk.stream_idle);
	/* a stream lasts: its watch is armed at this turn's end, unless the
	 * whole stream came in this turn (a fast backend), which needs none */
	if (pr->is_sse)
		flush_soon(pr);
	h2o_start_response(req, &pr->gen);
}

/* agentd's headers for an error answer (x-ratelimit-*, Retry-After). */
static void
add_error_headers(struct proxy_req *pr, const struct ipc_msg *msg)
{
	h2o_req_t *req = pr->req;
	struct ipc_list_iter it;
	struct ipc_str name, value;
	struct ratelimit rl;

	ratelimit_of(&msg->u.resp_error.ratelimit, &rl);
	if (rl.have)
		add_ratelimit_headers(req, &rl);
	ipc_list_begin(&it, &msg->u.resp_error.headers);
	while (ipc_header_next(&it, &name, &value)) {
		h2o_iovec_t n, v;

		if (!header_name_ok(name.base, name.len) || !header_value_ok(value.base, value.len) ||
		    IN_LIST(drop_response_headers, name.base, name.len))
			continue;
		n = h2o_strdup(&req->pool, name.base, name.len);
		v = h2o_strdup(&req->pool, value.base, value.len);
		h2o_add_header_by_str(&req->pool, &req->res.headers, n.base, n.len, 1, NULL, v.base,
		    v.len);
	}
}

static void
on_resp_error(struct proxy_req *pr, const struct ipc_msg *msg)
{
	const struct ipc_str *m = &msg->u.resp_error.message;
	char type[64], code[64];
	int status = msg->u.resp_error.status;

	wk_agentd_link_unregister(&pr->p);
	snprintf(type, sizeof(type), "%.*s", (int)msg->u.resp_error.type.len, msg->u.resp_error.type.base);
	snprintf(code, sizeof(code), "%.*s", (int)msg->u.resp_error.code.len, msg->u.resp_error.code.base);
	for (char *c = code; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	if (status < 400 || status > 599)
		status = 502;
	if (type[0] == '\0')
		snprintf(type, sizeof(type), "%s", wk_oai_error_type(status));
	if (status >= 500) {
		char logged[301];
		size_t n = m->len < sizeof(logged) - 1 ? m->len : sizeof(logged) - 1;

		/* the agent wrote it: no control characters into our log */
		for (size_t i = 0; i < n; i++)
			logged[i] = ((unsigned char)m->base[i] < 0x20 || m->base[i] == 0x7f) ? '?' :
			    m->base[i];
		logged[n] = '\0';
		log_warnx("req %s: %d %s: %s", pr->rid, status, code, logged);
	}
	if (pr->state == PX_WAIT_HEAD) {
		pr->state = PX_DONE;
		add_error_headers(pr, msg);
		set_end(pr, h2o_strdup(&pr->req->pool, code[0] != '\0' ? code : type, SIZE_MAX).base);
		wk_http_send_json(pr->req, status, wk_oai_error_json(&pr->req->pool, m->base, m->len, type,
		    NULL, code[0] != '\0' ? code : NULL));
		return;
	}
	{
		char msgbuf[1024];

		snprintf(msgbuf, sizeof(msgbuf), "%.*s", (int)m->len, m->base);
		set_end(pr, h2o_strdup(&pr->req->pool, code[0] != '\0' ? code : type, SIZE_MAX).base);
		stream_fail(pr, msgbuf, type, code[0] != '\0' ? code : NULL);
	}
}

static void
on_msg(struct agentd_pending *p, const struct ipc_msg *msg)
{
	struct proxy_req *pr = H2O_STRUCT_FROM_MEMBER(struct proxy_req, p, p);

	switch (msg->type) {
	case IPC_RESP_HEAD:
		if (pr->state != PX_WAIT_HEAD)
			proxy_fail(pr, 502, "agent_protocol_error", "the agent sent a second response head");
		else
			on_resp_head(pr, msg);
		break;
	case IPC_RESP_DATA:
		if (pr->state != PX_STREAMING) {
			proxy_fail(pr, 502, "agent_protocol_error", "the agent sent data before a response head");
			break;
		}
		/* h2o trusts Content-Length: a byte more would be read by the
		 * client as the start of its next answer */
		if (pr->has_clen && msg->u.resp_data.data.len > pr->clen_left) {
			proxy_fail(pr, 502, "agent_protocol_error",
			    "the agent sent more than its Content-Length; answer cut");
			break;
		}
		pr->clen_left -= pr->has_clen ? msg->u.resp_data.data.len : 0;
		if (pr->t_first == 0)
			pr->t_first = h2o_now(wk.loop);
		if (usage_relay_data(&pr->usage, msg->u.resp_data.data.base, msg->u.resp_data.data.len,
		    &pr->receiving) != 0) {
			proxy_fail(pr, 502, "client_too_slow",
			    "the client reads the answer too slowly; answer cut");
			break;
		}
		timer_arm(pr, &wk.stream_idle);
		flush_soon(pr);
		break;
	case IPC_RESP_END:
		if (pr->state != PX_STREAMING) {
			proxy_fail(pr, 502, "agent_protocol_error", "the agent ended an answer it never started");
			break;
		}
		if (pr->has_clen && pr->clen_left != 0) {
			proxy_fail(pr, 502, "agent_protocol_error",
			    "the agent's answer ended short of its Content-Length; answer cut");
			break;
		}
		if (usage_relay_end(&pr->usage, &pr->receiving) != 0) {
			proxy_fail(pr, 502, "client_too_slow",
			    "the client reads the answer too slowly; answer cut");
			break;
		}
		wk_agentd_link_unregister(&pr->p);
		timer_stop(pr);
		set_end(pr, "ok");
		pr->end_pending = 1;
		flush(pr);
		break;
	case IPC_RESP_ERROR:
		on_resp_error(pr, msg);
		break;
	case IPC_WINDOW:
		/* body credit is taken by agentd_link.c before on_msg */
		break;
	default:
		proxy_fail(pr, 502, "agentd_protocol_error", "agentd sent an unexpected message");
		break;
	}
}

static void
on_down(struct agentd_pending *p)
{
	struct proxy_req *pr = H2O_STRUCT_FROM_MEMBER(struct proxy_req, p, p);

	if (pr->state == PX_WAIT_HEAD) {
		pr->state = PX_DONE;
		set_end(pr, "agentd_unavailable");
		log_warnx("req %s: agentd link lost before the answer started", pr->rid);
		wk_oai_send_error(pr->req, 503, "service_unavailable", NULL, "agentd_unavailable",
		    "the connection to the agent broker was lost; retry");
	} else if (pr->state == PX_STREAMING) {
		log_warnx("req %s: agentd link lost in the middle of the answer", pr->rid);
		stream_fail(pr, "the connection to the agent broker was lost", "service_unavailable",
		    "agentd_unavailable");
	}
}

/* An HTTP/1 client hung up while h2o was not reading its connection. */
static void
on_client_gone(void *data)
{
	struct proxy_req *pr = data;

	pr->watch = NULL;
	log_debug("req %s: client went away; cancelling", pr->rid);
	set_end(pr, "client_gone");
	wk_agentd_link_unwait(&pr->wait);
	wk_agentd_link_cancel(&pr->p);
	pr->req->http1_is_persistent = 0;
	if (pr->state == PX_WAIT_HEAD) {
		/* nobody reads it: the write fails and h2o closes the connection */
		pr->state = PX_DONE;
		wk_oai_send_error(pr->req, 499, "invalid_request_error", NULL, "client_closed_request",
		    "the client closed the request");
	} else if (pr->state == PX_STREAMING && !pr->end_pending) {
		pr->error_pending = 1;
		flush(pr);
	}
}

/* The request is over, however it ended: what it used. */
static void
usage_done(struct proxy_req *pr)
{
	struct usage_record u;
	uint64_t now = h2o_now(wk.loop);

	const struct apikey *key = wk_auth_key(pr->req);

	memset(&u, 0, sizeof(u));
	u.request_id = pr->rid;
	u.key = key != NULL ? key->name : ""; /* "" anonymous */
	u.ns = pr->body.model;
	u.ns_len = pr->ns_len;
	u.model = pr->body.model + pr->ns_len + 1;
	u.model_len = pr->body.model_len - pr->ns_len - 1;
	u.status = pr->req->res.status;
	u.stream = pr->body.stream;
	u.known = usage_scan_result(&pr->usage.scan, &u.prompt_tokens, &u.completion_tokens);
	/* the first data (a stream's first token), else the head of an empty answer */
	u.ttfb_ms = pr->t_first != 0 ? pr->t_first - pr->t_start :
	    pr->t_head != 0 ? pr->t_head - pr->t_start : USAGE_NO_TIME;
	u.duration_ms = now - pr->t_start;
	u.end = pr->end;
	u.forwarded = wk_node_request(pr->req);
	wk_usage_record_done(&u);
}

static void
on_dispose(void *data)
{
	struct proxy_req *pr = data;

	usage_done(pr);
	usage_relay_free(&pr->usage);

	wk_client_watch_stop(pr->watch);
	wk_agentd_link_unwait(&pr->wait);
	timer_stop(pr);
	if (h2o_timeout_is_linked(&pr->flush_soon))
		h2o_timeout_unlink(&pr->flush_soon);
	/* the client left before the answer started: tell the agent */
	if (pr->p.id != 0)
		log_debug("req %s: client went away before the answer; cancelling", pr->rid);
	wk_agentd_link_cancel(&pr->p);
	buf_free(&pr->sending);
	buf_free(&pr->receiving);
}

/* ---- the request ---- */

static int
model_chars_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* The path agentd forwards: normalised, with the query string if any. */
static h2o_iovec_t
forward_path(h2o_req_t *req)
{
	h2o_iovec_t q = { NULL, 0 }, out;

	if (req->query_at != SIZE_MAX && req->query_at < req->path.len)
		q = h2o_iovec_init(req->path.base + req->query_at, req->path.len - req->query_at);
	out.len = req->path_normalized.len + q.len;
	out.base = h2o_mem_alloc_pool(&req->pool, out.len + 1);
	memcpy(out.base, req->path_normalized.base, req->path_normalized.len);
	if (q.len != 0)
		memcpy(out.base + req->path_normalized.len, q.base, q.len);
	out.base[out.len] = '\0';
	return out;
}

/* The backend must see its own model name: cut "namespace:" out of the
 * body's "model" string, changing nothing else (request_rewrite.c). */
static void
rewrite_model(struct proxy_req *pr, size_t ns_len, const char *model, size_t model_len,
    h2o_iovec_t *a, h2o_iovec_t *b)
{
	wk_request_rewrite(&pr->req->pool, pr->req->entity, &pr->body, ns_len, model, model_len,
	    pr->ask_usage, a, b);
}

/* Headers the client named in Connection are hop-by-hop too (RFC 9110 7.6.1). */
static int
named_in_connection(h2o_req_t *req, const char *name, size_t len)
{
	ssize_t i = -1;

	while ((i = h2o_find_header(&req->headers, H2O_TOKEN_CONNECTION, i)) != -1) {
		const char *p = req->headers.entries[i].value.base;
		const char *end = p + req->headers.entries[i].value.len;

		while (p < end) {
			const char *tok, *tend;

			while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
				p++;
			tok = p;
			while (p < end && *p != ',')
				p++;
			tend = p;
			while (tend > tok && (tend[-1] == ' ' || tend[-1] == '\t'))
				tend--;
			if ((size_t)(tend - tok) == len && h2o_lcstris(tok, len, name, len))
				return 1;
		}
	}
	return 0;
}

/* Send REQ_START and the body. -1 with an answer already sent on failure. */
static int
send_request(struct proxy_req *pr, const char *ns, size_t ns_len, const char *model,
    size_t model_len)
{
	h2o_req_t *req = pr->req;
	const struct apikey *key;
	struct ipc_header_in *hdrs;
	struct ipc_encode_lists lists;
	struct ipc_msg m;
	h2o_iovec_t path = forward_path(req);
	h2o_iovec_t seg_a, seg_b;
	size_t n = 0, total = 0;

	hdrs = h2o_mem_alloc_pool(&req->pool, sizeof(*hdrs) * (req->headers.size + 1));
	for (size_t i = 0; i < req->headers.size; i++) {
		const h2o_header_t *h = &req->headers.entries[i];

		if (IN_LIST(drop_request_headers, h->name->base, h->name->len) ||
		    cred_header_is(h->name->base, h->name->len) ||
		    named_in_connection(req, h->name->base, h->name->len))
			continue;
		total += h->name->len + h->value.len;
		hdrs[n].name = h->name->base;
		hdrs[n].name_len = h->name->len;
		hdrs[n].value = h->value.base;
		hdrs[n].value_len = h->value.len;
		n++;
	}
	if (total > FWD_HEADERS_MAX) {
		pr->state = PX_DONE;
		set_end(pr, "headers_too_large");
		wk_oai_send_error(req, 431, "invalid_request_error", NULL, "headers_too_large",
		    "the request headers are larger than %d bytes", FWD_HEADERS_MAX);
		return -1;
	}

	if (wk_node_request(req)) { /* the sending node cut the namespace out already */
		seg_a = req->entity;
		seg_b = h2o_iovec_init(NULL, 0);
	} else
		rewrite_model(pr, ns_len, model, model_len, &seg_a, &seg_b);
	wk_agentd_link_register(&pr->p);
	memset(&m, 0, sizeof(m));
	m.type = IPC_REQ_START;
	m.u.req_start.id = pr->p.id;
	m.u.req_start.method = (struct ipc_str){ req->method.base, req->method.len };
	m.u.req_start.path = (struct ipc_str){ path.base, path.len };
	m.u.req_start.ns = (struct ipc_str){ ns, ns_len };
	m.u.req_start.model = (struct ipc_str){ model, model_len };
	m.u.req_start.request_id = (struct ipc_str){ pr->rid, strlen(pr->rid) };
	m.u.req_start.body_len = seg_a.len + seg_b.len;
	m.u.req_start.deadline_ms = 0;
	m.u.req_start.flags = pr->body.stream ? IPC_REQ_F_STREAM : 0;
	if (wk_node_request(req)) /* from another node: local agents only, no loops */
		m.u.req_start.flags |= IPC_REQ_F_NO_FORWARD;
	if ((key = wk_auth_key(req)) != NULL) { /* agentd applies its limits */
		m.u.req_start.key = (struct ipc_str){ key->name, strlen(key->name) };
		m.u.req_start.limits = key->limits;
	}
	memset(&lists, 0, sizeof(lists));
	lists.headers = hdrs;
	lists.nheaders = n;
	if (wk_agentd_link_send(&m, &lists) != 0) {
		wk_agentd_link_unregister(&pr->p);
		pr->state = PX_DONE;
		set_end(pr, "agentd_unavailable");
		log_warnx("req %s: cannot queue the request for agentd", pr->rid);
		wk_oai_send_error(req, 503, "service_unavailable", NULL, "agentd_unavailable",
		    "no agent broker available right now; retry");
		return -1;
	}
	wk_agentd_link_send_body2(&pr->p, seg_a.base, seg_a.len, seg_b.base, seg_b.len);
	return 0;
}

/* Hand the request to agentd (the link is up). -1 with an answer sent. */
static int
relay(struct proxy_req *pr)
{
	h2o_req_t *req = pr->req;
	const char *model = pr->body.model;
	size_t ns_len = pr->ns_len;

	if (send_request(pr, model, ns_len, model + ns_len + 1, pr->body.model_len - ns_len - 1) != 0)
		return -1;
	timer_arm(pr, &wk.first_byte);
	log_debug("req %s: %.*s %.*s for %s relayed to agentd", pr->rid, (int)req->method.len,
	    req->method.base, (int)req->path_normalized.len, req->path_normalized.base, model);
	return 0;
}

static void
on_link_up(struct agentd_waiter *w)
{
	struct proxy_req *pr = H2O_STRUCT_FROM_MEMBER(struct proxy_req, wait, w);

	(void)relay(pr);
}

static void
on_link_wait_expired(struct agentd_waiter *w)
{
	struct proxy_req *pr = H2O_STRUCT_FROM_MEMBER(struct proxy_req, wait, w);

	pr->state = PX_DONE;
	set_end(pr, "agentd_unavailable");
	wk_oai_send_error(pr->req, 503, "service_unavailable", NULL, "agentd_unavailable",
	    "no agent broker available right now; retry");
}

void
wk_api_proxy(h2o_req_t *req)
{
	struct proxy_req *pr;
	struct request_json body;
	char err[512];
	const char *colon;

	ssize_t cti = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);

	if (wk_node_request(req)) {
		/* forwarded by another node, which parsed the body: the route is in headers */
		if (wk_node_route(req, &body) != 0)
			return;
	} else if (cti != -1 && req->headers.entries[cti].value.len >= 19 &&
	    h2o_lcstris(req->headers.entries[cti].value.base, 19, H2O_STRLIT("multipart/form-data"))) {
		/* e.g. audio transcriptions: the model is a form field */
		if (wk_request_multipart_model(&req->pool, req->entity.base, req->entity.len,
		    req->headers.entries[cti].value.base, req->headers.entries[cti].value.len, &body,
		    err, sizeof(err)) != 0) {
			wk_oai_send_error(req, 400, "invalid_request_error", "model", "missing_model",
			    "%s", err);
			return;
		}
	} else switch (wk_request_json_parse(&req->pool, req->entity.base, req->entity.len, &body,
	    err, sizeof(err))) {
	case RJ_OK:
		break;
	case RJ_MODEL_MISSING:
		wk_oai_send_error(req, 400, "invalid_request_error", "model", "missing_model", "%s", err);
		return;
	case RJ_MODEL_NOT_STRING:
	case RJ_MODEL_DUPLICATE:
		wk_oai_send_error(req, 400, "invalid_request_error", "model", "invalid_model", "%s", err);
		return;
	case RJ_STREAM_NOT_BOOL:
		wk_oai_send_error(req, 400, "invalid_request_error", "stream", "invalid_type", "%s", err);
		return;
	default:
		wk_oai_send_error(req, 400, "invalid_request_error", NULL, "invalid_json", "%s", err);
		return;
	}
	if (body.model_len == 0) { /* a multipart "model" field left empty */
		wk_oai_send_error(req, 400, "invalid_request_error", "model", "missing_model",
		    "you must provide a model parameter");
		return;
	}
	if (body.model_len > MODEL_MAX || !model_chars_ok(body.model, body.model_len)) {
		wk_oai_send_error(req, 400, "invalid_request_error", "model", "invalid_model",
		    "\"model\" must be at most %d printable characters", MODEL_MAX);
		return;
	}
	colon = memchr(body.model, ':', body.model_len);
	if (colon == NULL || colon == body.model || colon == body.model + body.model_len - 1) {
		wk_oai_send_error(req, 404, "invalid_request_error", "model", "model_not_found",
		    "The model '%.*s' does not exist: models are named \"namespace:model\", "
		    "for example \"my-lan:llama3\"",
		    (int)(body.model_len > QUOTE_MAX ? QUOTE_MAX : body.model_len), body.model);
		return;
	}
	if (wk_node_refuse_models(req))
		return;
	if (wk_auth_model_refused(req, body.model, body.model_len, (size_t)(colon - body.model)))
		return; /* the key may not use it: the 404 of an unknown model */
	pr = h2o_mem_alloc_shared(&req->pool, sizeof(*pr), on_dispose);
	memset(pr, 0, sizeof(*pr));
	pr->req = req;
	pr->rid = wk_request_id(req);
	pr->body = body;
	pr->ns_len = (size_t)(colon - body.model);
	pr->state = PX_WAIT_HEAD;
	pr->t_start = h2o_now(wk.loop);
	/* another node asked already, for a client it strips for */
	pr->ask_usage = !wk_node_request(req) && wk_request_usage_askable(&pr->body);
	pr->gen.proceed = on_proceed;
	pr->gen.stop = on_stop;
	pr->flush_soon.cb = on_flush_soon;
	pr->timer.cb = on_timer;
	pr->p.on_msg = on_msg;
	pr->p.on_down = on_down;
	buf_init(&pr->sending, RESP_QUEUE_MAX);
	buf_init(&pr->receiving, RESP_QUEUE_MAX);

	if (!wk_agentd_link_is_up()) {
		/* agentd is (re)starting: wait for it, bounded */
		pr->wait.on_up = on_link_up;
		pr->wait.on_expired = on_link_wait_expired;
		if (wk_agentd_link_wait(&pr->wait) != 0) {
			pr->state = PX_DONE;
			set_end(pr, "agentd_unavailable");
			wk_oai_send_error(req, 503, "service_unavailable", NULL, "agentd_unavailable",
			    "no agent broker available right now; retry");
			return;
		}
		log_debug("req %s: waiting for the agentd link", pr->rid);
		pr->watch = wk_client_watch_start(req, on_client_gone, pr);
		return;
	}
	if (relay(pr) == 0)
		pr->watch = wk_client_watch_start(req, on_client_gone, pr);
}
