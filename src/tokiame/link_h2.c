/* link_h2: see link_h2.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "link_h2.h"
#include "log.h"

#define H2_READ_CHUNK 16384
#define H2_READ_BUDGET (1024 * 1024)   /* per h2_read, so one busy link cannot starve the loop */
#define H2_OUT_MAX (H2_OUT_HIGH + 256 * 1024)

void
h2_fail(struct h2session *h2, const char *fmt, ...)
{
	va_list ap;

	if (h2->failed)
		return;
	h2->failed = 1;
	va_start(ap, fmt);
	vsnprintf(h2->why, sizeof(h2->why), fmt, ap);
	va_end(ap);
}

void
h2_call_init(struct grpc_call *call, const struct grpc_call_ops *ops, size_t out_max)
{
	memset(call, 0, sizeof(*call));
	call->ops = ops;
	grpc_reader_init(&call->in, H2_MAX_MESSAGE);
	buf_init(&call->out, out_max);
	call->grpc_status = -1;
}

void
h2_call_free(struct grpc_call *call)
{
	grpc_reader_free(&call->in);
	buf_free(&call->out);
}

/* The gRPC status a client derives from a non-200 HTTP status
 * (grpc/doc/http-grpc-status-mapping.md). */
static int
status_from_http(int http)
{
	switch (http) {
	case 400: return GRPC_INTERNAL;
	case 401: return GRPC_UNAUTHENTICATED;
	case 403: return GRPC_PERMISSION_DENIED;
	case 404: return GRPC_UNIMPLEMENTED;
	case 429: case 502: case 503: case 504: return GRPC_UNAVAILABLE;
	default: return GRPC_UNKNOWN;
	}
}

static int
parse_status(const uint8_t *v, size_t len)
{
	int n = 0;

	if (len == 0 || len > 3)
		return GRPC_UNKNOWN;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return GRPC_UNKNOWN;
		n = n * 10 + (v[i] - '0');
	}
	return n;
}

static int
name_is(const uint8_t *name, size_t len, const char *s)
{
	return len == strlen(s) && memcmp(name, s, len) == 0;
}

static int
on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
	struct grpc_call *call = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);

	if (call != NULL)
		call->nheaders = 0;
	return 0;
}

static int
on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
    const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
	struct h2session *h2 = ud;
	struct grpc_call *call;

	if (frame->hd.type != NGHTTP2_HEADERS)
		return 0;
	call = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
	if (call == NULL)
		return 0;
	if (++call->nheaders > H2_MAX_HEADERS) {
		h2_fail(h2, "stream %d: more than %d header fields", frame->hd.stream_id,
		    H2_MAX_HEADERS);
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	if (name_is(name, namelen, ":status")) {
		call->http_status = parse_status(value, valuelen);
	} else if (name_is(name, namelen, "content-type")) {
		call->ctype_ok = valuelen >= 16 && memcmp(value, "application/grpc", 16) == 0 &&
		    (valuelen == 16 || value[16] == '+' || value[16] == ';');
	} else if (name_is(name, namelen, "grpc-status")) {
		call->grpc_status = parse_status(value, valuelen);
	} else if (name_is(name, namelen, "grpc-message")) {
		grpc_message_decode((const char *)value, valuelen, call->grpc_message,
		    sizeof(call->grpc_message));
	}
	return 0;
}

/*
 * The server ended the call (its status is in): a gRPC call is over then,
 * even if we were still sending. Reset our half so the stream closes and
 * the owner's closed() runs now; NO_ERROR, since nothing failed on our
 * side (CANCEL would read as "the agent gave the task up").
 */
static void
end_call(nghttp2_session *ng, int32_t stream_id)
{
	if (nghttp2_session_get_stream_local_close(ng, stream_id) == 0)
		nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_NO_ERROR);
}

static int
on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
	struct h2session *h2 = ud;
	struct grpc_call *call;

	switch (frame->hd.type) {
	case NGHTTP2_HEADERS:
		call = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
		if (call == NULL)
			break;
		if (frame->headers.cat == NGHTTP2_HCAT_RESPONSE) {
			call->got_head = 1;
			if (call->http_status != 200) {
				call->grpc_status = status_from_http(call->http_status);
				snprintf(call->grpc_message, sizeof(call->grpc_message),
				    "HTTP status %d", call->http_status);
			} else if (!call->ctype_ok &&
			    !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
				/* a Trailers-Only answer may omit it; a call may not */
				call->grpc_status = GRPC_UNKNOWN;
				snprintf(call->grpc_message, sizeof(call->grpc_message),
				    "the answer is not application/grpc");
			}
			if (call->grpc_status != -1 &&
			    !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
				nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
				    NGHTTP2_CANCEL);
				break;
			}
		}
		if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && call->grpc_status == -1) {
			call->grpc_status = GRPC_UNKNOWN;
			snprintf(call->grpc_message, sizeof(call->grpc_message),
			    "the call ended without grpc-status");
		}
		if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
			end_call(ng, frame->hd.stream_id);
		break;
	case NGHTTP2_DATA:
		if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
			call = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
			if (call != NULL && call->grpc_status == -1) {
				call->grpc_status = GRPC_UNKNOWN;
				snprintf(call->grpc_message, sizeof(call->grpc_message),
				    "the call ended without trailers");
			}
			end_call(ng, frame->hd.stream_id);
		}
		break;
	case NGHTTP2_PING:
		if (frame->hd.flags & NGHTTP2_FLAG_ACK)
			h2->ping_outstanding = 0;
		break;
	case NGHTTP2_GOAWAY:
		h2->goaway_received = 1;
		log_info("link: the server sent GOAWAY (%s, last stream %d)%s%.*s",
		    nghttp2_http2_strerror(frame->goaway.error_code), frame->goaway.last_stream_id,
		    frame->goaway.opaque_data_len ? ": " : "",
		    (int)(frame->goaway.opaque_data_len > 200 ? 200 : frame->goaway.opaque_data_len),
		    frame->goaway.opaque_data_len ? (const char *)frame->goaway.opaque_data : "");
		break;
	default:
		break;
	}
	return 0;
}

static int
on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t stream_id, const uint8_t *data,
    size_t len, void *ud)
{
	struct h2session *h2 = ud;
	struct grpc_call *call;
	const uint8_t *msg;
	const char *why;
	size_t mlen;
	int r;

	/* the connection window never waits for a slow stream */
	nghttp2_session_consume_connection(ng, len);
	call = nghttp2_session_get_stream_user_data(ng, stream_id);
	if (call == NULL) {
		nghttp2_session_consume_stream(ng, stream_id, len);
		return 0;
	}
	if (grpc_reader_feed(&call->in, data, len) == -1) {
		h2_fail(h2, "stream %d: message larger than %u bytes", stream_id, H2_MAX_MESSAGE);
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	call->unconsumed += len;
	while ((r = grpc_reader_next(&call->in, &msg, &mlen, &why)) == 1) {
		if (call->ops->message(call, msg, mlen) == -1) {
			grpc_reader_settle(&call->in); /* never keep a pointer into this frame */
			h2_fail(h2, "stream %d: bad message", stream_id);
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		}
	}
	if (r == -1) {
		h2_fail(h2, "stream %d: %s", stream_id, why);
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	if (call->ops->received != NULL)
		call->ops->received(call, len);
	else
		h2_call_consume(call, len);
	return 0;
}

static int
on_stream_close(nghttp2_session *ng, int32_t stream_id, uint32_t error_code, void *ud)
{
	struct grpc_call *call = nghttp2_session_get_stream_user_data(ng, stream_id);

	if (call == NULL)
		return 0;
	nghttp2_session_set_stream_user_data(ng, stream_id, NULL);
	call->stream_id = 0;
	call->deferred = 0;
	call->ops->closed(call, error_code); /* may free call */
	return 0;
}

static int
on_error(nghttp2_session *ng, int code, const char *msg, size_t len, void *ud)
{
	struct h2session *h2 = ud;

	/* kept as the reason if the session then dies */
	snprintf(h2->ngerr, sizeof(h2->ngerr), "%.*s", (int)len, msg);
	log_debug("link: HTTP/2: %.*s", (int)len, msg);
	return 0;
}

static ssize_t
read_call_data(nghttp2_session *ng, int32_t stream_id, uint8_t *dst, size_t length,
    uint32_t *flags, nghttp2_data_source *src, void *ud)
{
	struct grpc_call *call = src->ptr;
	size_t n = call->out.len < length ? call->out.len : length;

	if (n > 0) {
		memcpy(dst, buf_head(&call->out), n);
		buf_consume(&call->out, n);
	}
	if (call->out.len == 0 && call->out_eof) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		return (ssize_t)n;
	}
	if (n == 0) {
		call->deferred = 1;
		return NGHTTP2_ERR_DEFERRED;
	}
	return (ssize_t)n;
}

int
h2_init(struct h2session *h2, struct tls_conn *tc, const char *scheme, const char *authority,
    char *err, size_t errlen)
{
	nghttp2_session_callbacks *cbs;
	nghttp2_option *opt;
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_STREAM_WINDOW },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 64 * 1024 },
	};
	int rv;

	memset(h2, 0, sizeof(*h2));
	h2->tc = tc;
	h2->scheme = scheme;
	h2->authority = authority;
	buf_init(&h2->out, H2_OUT_MAX);

	if (nghttp2_session_callbacks_new(&cbs) != 0 || nghttp2_option_new(&opt) != 0)
		fatalx("nghttp2: out of memory");
	nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
	nghttp2_session_callbacks_set_error_callback2(cbs, on_error);
	nghttp2_option_set_no_auto_window_update(opt, 1);
	/* the server cannot push; refuse reserving streams for it */
	nghttp2_option_set_max_reserved_remote_streams(opt, 0);
	rv = nghttp2_session_client_new2(&h2->ng, cbs, h2, opt);
	nghttp2_session_callbacks_del(cbs);
	nghttp2_option_del(opt);
	if (rv != 0) {
		snprintf(err, errlen, "nghttp2: %s", nghttp2_strerror(rv));
		buf_free(&h2->out);
		return -1;
	}
	if ((rv = nghttp2_submit_settings(h2->ng, NGHTTP2_FLAG_NONE, iv,
	    sizeof(iv) / sizeof(iv[0]))) != 0 ||
	    (rv = nghttp2_session_set_local_window_size(h2->ng, NGHTTP2_FLAG_NONE, 0,
	    H2_CONN_WINDOW)) != 0) {
		snprintf(err, errlen, "nghttp2: %s", nghttp2_strerror(rv));
		h2_free(h2);
		return -1;
	}
	return 0;
}

void
h2_free(struct h2session *h2)
{
	if (h2->ng != NULL)
		nghttp2_session_del(h2->ng);
	h2->ng = NULL;
	buf_free(&h2->out);
}

#define NV(n, v, f) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), (f) }

int
h2_call_start(struct h2session *h2, struct grpc_call *call, const char *path,
    const nghttp2_nv *meta, size_t nmeta)
{
	nghttp2_nv nva[16];
	size_t n = 0;
	nghttp2_data_provider prd;
	int32_t id;

	nghttp2_nv fixed[] = {
		NV(":method", "POST", NGHTTP2_NV_FLAG_NONE),
		NV(":scheme", h2->scheme, NGHTTP2_NV_FLAG_NONE),
		NV(":authority", h2->authority, NGHTTP2_NV_FLAG_NONE),
		NV(":path", path, NGHTTP2_NV_FLAG_NONE),
		NV("content-type", "application/grpc", NGHTTP2_NV_FLAG_NONE),
		NV("te", "trailers", NGHTTP2_NV_FLAG_NONE),
		NV("user-agent", "tokiame/" PACKAGE_VERSION, NGHTTP2_NV_FLAG_NONE),
	};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		nva[n++] = fixed[i];
	for (size_t i = 0; i < nmeta && n < sizeof(nva) / sizeof(nva[0]); i++)
		nva[n++] = meta[i];

	call->h2 = h2;
	prd.source.ptr = call;
	prd.read_callback = read_call_data;
	id = nghttp2_submit_request(h2->ng, NULL, nva, n, &prd, call);
	if (id < 0)
		return id;
	call->stream_id = id;
	return 0;
}

int
h2_call_send(struct grpc_call *call, const ProtobufCMessage *msg)
{
	if (grpc_append_message(&call->out, msg) == -1)
		return -1;
	h2_call_wake(call);
	return 0;
}

void
h2_call_wake(struct grpc_call *call)
{
	if (call->deferred && call->stream_id > 0 && call->h2 != NULL && call->h2->ng != NULL) {
		call->deferred = 0;
		nghttp2_session_resume_data(call->h2->ng, call->stream_id);
	}
}

void
h2_call_close_send(struct grpc_call *call)
{
	call->out_eof = 1;
	h2_call_wake(call);
}

void
h2_call_cancel(struct grpc_call *call)
{
	if (call->stream_id > 0 && call->h2 != NULL && call->h2->ng != NULL)
		nghttp2_submit_rst_stream(call->h2->ng, NGHTTP2_FLAG_NONE, call->stream_id,
		    NGHTTP2_CANCEL);
}

void
h2_call_consume(struct grpc_call *call, size_t n)
{
	if (n > call->unconsumed)
		n = call->unconsumed;
	if (n == 0)
		return;
	call->unconsumed -= n;
	if (call->stream_id > 0 && call->h2 != NULL && call->h2->ng != NULL)
		nghttp2_session_consume_stream(call->h2->ng, call->stream_id, n);
}

int
h2_read(struct h2session *h2)
{
	uint8_t buf[H2_READ_CHUNK];
	size_t total = 0;
	char err[256];
	ssize_t n, rv;

	while (total < H2_READ_BUDGET) {
		n = tc_read(h2->tc, buf, sizeof(buf), err, sizeof(err));
		if (n < 0) {
			h2_fail(h2, "%s", err);
			return -1;
		}
		if (n == 0)
			return 0;
		total += (size_t)n;
		rv = nghttp2_session_mem_recv(h2->ng, buf, (size_t)n);
		if (h2->failed)
			return -1;
		if (rv < 0) {
			h2_fail(h2, "HTTP/2 protocol error: %s", nghttp2_strerror((int)rv));
			return -1;
		}
		/* a short read drained the socket; what arrives later wakes
		 * poll() again, so asking once more would only cost an EAGAIN */
		if ((size_t)n < sizeof(buf) && !tc_pending(h2->tc))
			return 0;
	}
	return 1; /* more may be waiting, even inside the TLS buffers */
}

int
h2_flush(struct h2session *h2)
{
	char err[256];
	ssize_t n;

	for (;;) {
		while (h2->out.len < H2_OUT_HIGH) {
			const uint8_t *p;
			n = nghttp2_session_mem_send(h2->ng, &p);
			if (h2->failed)
				return -1;
			if (n < 0) {
				h2_fail(h2, "HTTP/2: %s", nghttp2_strerror((int)n));
				return -1;
			}
			if (n == 0)
				break;
			/* copy now: p is only valid until the next mem_send */
			if (buf_append(&h2->out, p, (size_t)n) == -1) {
				h2_fail(h2, "output buffer overflow");
				return -1;
			}
		}
		if (h2->out.len == 0)
			return 0;
		n = tc_write(h2->tc, buf_head(&h2->out), h2->out.len, err, sizeof(err));
		if (n < 0) {
			h2_fail(h2, "%s", err);
			return -1;
		}
		if (n == 0)
			return 0;
		buf_consume(&h2->out, (size_t)n);
	}
}

int
h2_want_write(const struct h2session *h2)
{
	return h2->out.len > 0;
}

int
h2_finished(const struct h2session *h2)
{
	return h2->out.len == 0 && !nghttp2_session_want_read(h2->ng) &&
	    !nghttp2_session_want_write(h2->ng);
}

void
h2_ping(struct h2session *h2, uint64_t now_ms)
{
	if (h2->ping_outstanding)
		return;
	if (nghttp2_submit_ping(h2->ng, NGHTTP2_FLAG_NONE, NULL) == 0) {
		h2->ping_outstanding = 1;
		h2->ping_sent_ms = now_ms;
	}
}

void
h2_goaway(struct h2session *h2)
{
	nghttp2_session_terminate_session(h2->ng, NGHTTP2_NO_ERROR);
}
