/*
 * link_stream: one gRPC call on an agent connection: request headers,
 * message reassembly (grpc_reader), the response data provider and the
 * trailers. What a call means is decided by link_connect.c (Connect) and
 * link_task.c (Serve); this file only speaks gRPC.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "link_internal.h"
#include "log.h"
#include "xmalloc.h"

#define MAX_HEADERS 64
#define STREAM_OUT_MAX (8 * 1024 * 1024)

static const char PATH_CONNECT[] = "/tokilake.v1.AgentLink/Connect";
static const char PATH_SERVE[] = "/tokilake.v1.AgentLink/Serve";

struct link_stream *
link_stream_new(struct link_conn *c, int32_t id)
{
	struct link_stream *s = xcalloc(1, sizeof(*s));

	s->conn = c;
	s->id = id;
	grpc_reader_init(&s->in, link_conf()->agents.max_message_size);
	buf_init(&s->out, STREAM_OUT_MAX);
	h2o_linklist_insert(&c->streams, &s->link);
	c->nstreams++;
	return s;
}

void
link_stream_consume(struct link_stream *s, size_t n)
{
	if (n > s->held)
		n = (size_t)s->held; /* never give back more than arrived */
	if (n == 0 || s->conn->h2 == NULL)
		return;
	s->held -= n;
	nghttp2_session_consume(s->conn->h2, s->id, n);
}

void
link_stream_release(struct link_stream *s)
{
	link_stream_consume(s, (size_t)s->held);
}

static void
drop_lazy(struct link_stream *s)
{
	if (h2o_linklist_is_linked(&s->lazy_link))
		h2o_linklist_unlink(&s->lazy_link);
}

void
link_stream_free(struct link_stream *s)
{
	struct link_conn *c = s->conn;

	if (s->task != NULL)
		link_serve_stream_closed(s, NGHTTP2_CANCEL);
	/* bytes of a task that ended or was cancelled before they were read
	 * (partial messages included) still count against the connection
	 * window: without this, a link stalls after enough cancels */
	if (!c->failed)
		link_stream_release(s);
	if (c->connect == s)
		c->connect = NULL;
	if (c->h2 != NULL && nghttp2_session_get_stream_user_data(c->h2, s->id) == s)
		nghttp2_session_set_stream_user_data(c->h2, s->id, NULL);
	if (s->bearer != NULL) {
		secure_wipe(s->bearer, strlen(s->bearer));
		free(s->bearer);
	}
	drop_lazy(s);
	grpc_reader_free(&s->in);
	buf_free(&s->out);
	h2o_linklist_unlink(&s->link);
	c->nstreams--;
	free(s);
}

static int
name_is(const uint8_t *name, size_t len, const char *lit)
{
	return len == strlen(lit) && memcmp(name, lit, len) == 0;
}

int
link_stream_header(struct link_stream *s, const uint8_t *name, size_t namelen,
    const uint8_t *value, size_t valuelen)
{
	if (++s->hdr_count > MAX_HEADERS)
		return -1;
	if (name_is(name, namelen, ":method")) {
		s->method_post = valuelen == 4 && memcmp(value, "POST", 4) == 0;
	} else if (name_is(name, namelen, ":path")) {
		if (valuelen >= sizeof(s->path))
			valuelen = sizeof(s->path) - 1;
		memcpy(s->path, value, valuelen);
		s->path[valuelen] = '\0';
	} else if (name_is(name, namelen, "content-type")) {
		s->ct_grpc = valuelen >= 16 && memcmp(value, "application/grpc", 16) == 0 &&
		    (valuelen == 16 || value[16] == '+' || value[16] == ';');
	} else if (name_is(name, namelen, "grpc-encoding")) {
		s->bad_encoding = !(valuelen == 8 && memcmp(value, "identity", 8) == 0);
	} else if (name_is(name, namelen, "authorization")) {
		if (s->bearer == NULL && valuelen > 7 && strncasecmp((const char *)value,
		    "Bearer ", 7) == 0 && valuelen < 1024)
			s->bearer = xstrndup((const char *)value + 7, valuelen - 7);
	} else if (name_is(name, namelen, "tokilake-namespace")) {
		if (valuelen < sizeof(s->ns)) {
			memcpy(s->ns, value, valuelen);
			s->ns[valuelen] = '\0';
		}
	} else if (name_is(name, namelen, "grpc-timeout")) {
		if (grpc_timeout_parse((const char *)value, valuelen, &s->timeout_ms) != 0)
			s->timeout_ms = 0;
	}
	return 0;
}

void
link_stream_begin(struct link_stream *s)
{
	if (!s->method_post) {
		link_stream_reset(s, NGHTTP2_PROTOCOL_ERROR);
		return;
	}
	if (!s->ct_grpc) {
		/* not gRPC at all: a plain HTTP answer is what such a client understands */
		nghttp2_nv nv[] = { { (uint8_t *)":status", (uint8_t *)"415", 7, 3,
			NGHTTP2_NV_FLAG_NONE } };
		nghttp2_submit_response(s->conn->h2, s->id, nv, 1, NULL);
		s->responded = s->trailers_sent = 1;
		return;
	}
	if (s->bad_encoding) {
		link_stream_finish(s, GRPC_UNIMPLEMENTED, "compression is not supported");
		return;
	}
	if (strcmp(s->path, PATH_CONNECT) == 0) {
		s->kind = LS_CONNECT;
		link_connect_begin(s);
	} else if (strcmp(s->path, PATH_SERVE) == 0) {
		s->kind = LS_SERVE;
		link_serve_begin(s);
	} else
		link_stream_finish(s, GRPC_UNIMPLEMENTED, "unknown method");
}

void
link_stream_data(struct link_stream *s, const uint8_t *data, size_t len)
{
	struct link_conn *c = s->conn;
	const uint8_t *msg;
	size_t mlen;
	const char *why;
	int r;

	s->held += len;
	if (s->kind == LS_UNKNOWN || s->trailers_sent) {
		link_stream_release(s);
		return;
	}
	if (grpc_reader_feed(&s->in, data, len) != 0) {
		link_stream_finish(s, GRPC_RESOURCE_EXHAUSTED, "message larger than allowed");
		link_stream_release(s);
		if (s->kind == LS_CONNECT) /* the link lives as long as its Connect call */
			link_conn_close_gracefully(c);
		return;
	}
	/* Connect messages are small and handled at once; Serve bodies are
	 * consumed by link_task.c when the worker side took them */
	if (s->kind == LS_CONNECT)
		link_stream_consume(s, len);
	while (!c->failed && !s->trailers_sent &&
	    (r = grpc_reader_next(&s->in, &msg, &mlen, &why)) != 0) {
		if (r < 0) {
			log_warnx("agent link %s: stream %d: %s", c->peer, s->id, why);
			link_stream_finish(s, GRPC_RESOURCE_EXHAUSTED, why);
			if (s->kind == LS_CONNECT) /* the link lives as long as its Connect call */
				link_conn_close_gracefully(c);
			return;
		}
		if (s->kind == LS_CONNECT)
			link_connect_message(s, msg, mlen);
		else
			link_serve_message(s, msg, mlen);
	}
	/* the loop may stop early: keep what is left past this callback */
	if (grpc_reader_settle(&s->in) == -1 && !s->trailers_sent)
		link_stream_finish(s, GRPC_RESOURCE_EXHAUSTED, "message larger than allowed");
	if (grpc_reader_buffered(&s->in) == 0)
		grpc_reader_release(&s->in);
}

void
link_stream_peer_closed(struct link_stream *s)
{
	s->peer_closed = 1;
	if (grpc_reader_buffered(&s->in) > 0 && !s->trailers_sent) {
		link_stream_finish(s, GRPC_INVALID_ARGUMENT, "stream ended inside a message");
		return;
	}
	if (s->kind == LS_CONNECT)
		link_connect_peer_closed(s);
	else if (s->kind == LS_SERVE)
		link_serve_peer_closed(s);
}

/* grpc-status and grpc-message as text; must outlive the submit call */
struct status_text {
	char st[12];
	char msg[sizeof(((struct link_stream *)0)->message) * 3 + 1];
};

/* the codes gRPC defines (0..16) without printf; anything else printed */
static const char *
status_digits(int status, struct status_text *t)
{
	static const char codes[][3] = { "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
		"10", "11", "12", "13", "14", "15", "16" };

	if (status >= 0 && status < (int)(sizeof(codes) / sizeof(codes[0])))
		return codes[status];
	snprintf(t->st, sizeof(t->st), "%d", status);
	return t->st;
}

/* grpc-status and (when set) grpc-message, into nv; returns how many */
static size_t
status_nv(const struct link_stream *s, nghttp2_nv *nv, struct status_text *t)
{
	const char *st = status_digits(s->status, t);
	size_t n = 0;

	nv[n++] = (nghttp2_nv){ (uint8_t *)"grpc-status", (uint8_t *)st, 11, strlen(st),
		NGHTTP2_NV_FLAG_NONE };
	if (s->message[0] != '\0') {
		grpc_message_encode(s->message, t->msg, sizeof(t->msg));
		nv[n++] = (nghttp2_nv){ (uint8_t *)"grpc-message", (uint8_t *)t->msg, 12,
			strlen(t->msg), NGHTTP2_NV_FLAG_NONE };
	}
	return n;
}

static void
submit_trailers(struct link_stream *s)
{
	struct status_text t;
	nghttp2_nv nv[2];
	size_t n = status_nv(s, nv, &t);

	nghttp2_submit_trailer(s->conn->h2, s->id, nv, n);
	s->trailers_sent = 1;
}

static ssize_t
read_out(nghttp2_session *h2, int32_t id, uint8_t *dst, size_t length, uint32_t *flags,
    nghttp2_data_source *source, void *user)
{
	struct link_stream *s = source->ptr;
	size_t n = s->out.len < length ? s->out.len : length;

	if (n > 0) {
		memcpy(dst, buf_head(&s->out), n);
		buf_consume(&s->out, n);
		if (s->out.len == 0)
			buf_free(&s->out); /* idle streams keep no buffer */
		if (s->task != NULL)
			link_serve_out_drained(s);
		return (ssize_t)n;
	}
	if (s->finishing) {
		*flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
		submit_trailers(s);
		return 0;
	}
	s->deferred = 1;
	return NGHTTP2_ERR_DEFERRED;
}

int
link_stream_respond(struct link_stream *s)
{
	nghttp2_nv nv[] = {
		{ (uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE },
		{ (uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16,
		    NGHTTP2_NV_FLAG_NONE },
	};
	nghttp2_data_provider prd;

	if (s->responded)
		return 0;
	prd.source.ptr = s;
	prd.read_callback = read_out;
	if (nghttp2_submit_response(s->conn->h2, s->id, nv, 2, &prd) != 0)
		return -1;
	s->responded = 1;
	return 0;
}

static void
wake(struct link_stream *s)
{
	if (s->deferred) {
		s->deferred = 0;
		nghttp2_session_resume_data(s->conn->h2, s->id);
	}
	link_conn_flush(s->conn);
}

void
link_stream_kick(struct link_stream *s)
{
	if (s->trailers_sent || s->finishing || link_stream_respond(s) != 0)
		return;
	wake(s);
}

int
link_stream_send(struct link_stream *s, const ProtobufCMessage *msg)
{
	if (s->trailers_sent || s->finishing)
		return -1;
	if (link_stream_respond(s) != 0 || grpc_append_message(&s->out, msg) != 0)
		return -1;
	wake(s);
	return 0;
}

int
link_stream_send_parts(struct link_stream *s, const struct iovec *parts, size_t nparts)
{
	size_t len = 0;
	uint8_t *p;

	for (size_t i = 0; i < nparts; i++)
		len += parts[i].iov_len;
	if (s->trailers_sent || s->finishing || len > UINT32_MAX)
		return -1;
	if (link_stream_respond(s) != 0 || (p = buf_reserve(&s->out, GRPC_PREFIX_SIZE + len)) == NULL)
		return -1;
	grpc_put_prefix(p, (uint32_t)len);
	p += GRPC_PREFIX_SIZE;
	for (size_t i = 0; i < nparts; i++) {
		memcpy(p, parts[i].iov_base, parts[i].iov_len);
		p += parts[i].iov_len;
	}
	buf_commit(&s->out, GRPC_PREFIX_SIZE + len);
	wake(s);
	return 0;
}

/* Trailers-Only: one HEADERS frame with END_STREAM */
static void
submit_trailers_only(struct link_stream *s)
{
	struct status_text t;
	nghttp2_nv nv[4] = {
		{ (uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE },
		{ (uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16,
		    NGHTTP2_NV_FLAG_NONE },
	};
	size_t n = 2 + status_nv(s, nv + 2, &t);

	nghttp2_submit_response(s->conn->h2, s->id, nv, n, NULL);
	s->responded = s->trailers_sent = 1;
}

void
link_stream_finish(struct link_stream *s, int status, const char *message)
{
	if (s->trailers_sent || s->finishing)
		return;
	s->status = status;
	snprintf(s->message, sizeof(s->message), "%s", message ? message : "");
	if (!s->responded) {
		submit_trailers_only(s);
		link_conn_flush(s->conn);
		return;
	}
	s->finishing = 1;
	wake(s);
}

void
link_stream_finish_lazy(struct link_stream *s)
{
	if (s->trailers_sent || s->finishing)
		return;
	if (s->responded || s->conn->failed) {
		link_stream_finish(s, GRPC_OK, NULL);
		return;
	}
	s->status = GRPC_OK;
	s->message[0] = '\0';
	s->trailers_sent = 1; /* decided: nothing else goes out on it */
	h2o_linklist_insert(&s->conn->lazy_finish, &s->lazy_link);
	link_conn_hold(s->conn);
}

void
link_stream_submit_lazy(struct link_stream *s)
{
	if (!h2o_linklist_is_linked(&s->lazy_link))
		return;
	h2o_linklist_unlink(&s->lazy_link);
	submit_trailers_only(s);
}

void
link_stream_reset(struct link_stream *s, uint32_t error_code)
{
	drop_lazy(s);
	nghttp2_submit_rst_stream(s->conn->h2, NGHTTP2_FLAG_NONE, s->id, error_code);
	s->trailers_sent = 1;
	link_conn_flush(s->conn);
}
