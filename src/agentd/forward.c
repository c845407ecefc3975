/*
 * forward: one forwarded request = one HTTP/2 stream to the node that
 * holds the agent (see forward.h for the wire contract and the flow
 * control, forward_peer.c for the connections).
 *
 * A stream is found by (worker connection, request id) in a small hash
 * table: the worker's REQ_BODY, CANCEL and WINDOW come here by id. It is
 * freed when the answer ends (RESP_END or RESP_ERROR sent), when the
 * worker cancels or goes away, or when its connection is lost.
 *
 * Sending to a worker can close that worker's connection (its queue is
 * full), which frees every stream of that worker at once
 * (forward_conn_closed): after worker_send() fails the stream is gone.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "agentd.h"
#include "forward.h"
#include "forward_internal.h"
#include "log.h"
#include "xmalloc.h"

#define MAX_REQ_HEADERS 128
#define MAX_RESP_HEADERS 64
#define RESP_HEADERS_MAX_BYTES (32 * 1024)

struct fwd_stream {
	struct fwd_stream *hnext;   /* hash chain */
	h2o_linklist_t link;        /* in peer->streams */
	h2o_linklist_t credit_link; /* in peer->credit while credit_due > 0 */
	struct fwd_peer *peer;
	struct worker_conn *wc;
	uint64_t id;
	int32_t sid;                /* HTTP/2 stream id, > 0 once submitted */
	char request_id[136];

	struct buf body;            /* from the worker, waiting for the data provider */
	int body_last;              /* the worker sent its last piece */
	int deferred;               /* the data provider waits for body */
	size_t credit_due;          /* body bytes taken, not yet credited to the worker */

	unsigned status;            /* :status of the final response head */
	struct buf hdrs;            /* response header fields: u16 len, name, u16 len, value */
	unsigned nhdrs;
	int head_sent;              /* RESP_HEAD went to the worker */
	uint64_t resp_unacked;      /* response bytes given to the worker, not credited */
	uint64_t rx_unconsumed;     /* received bytes not yet given back to the stream window */
};

static struct {
	struct fwd_stream **b;
	size_t cap; /* power of two */
	size_t n;
} tab;

/* ---- the table ---- */

static size_t
bucket(const struct worker_conn *wc, uint64_t id, size_t cap)
{
	uint64_t h = (id ^ (uint64_t)(uintptr_t)wc) * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 32) & (cap - 1);
}

static struct fwd_stream **
slot_of(struct worker_conn *wc, uint64_t id)
{
	struct fwd_stream **pp;

	if (tab.cap == 0)
		return NULL;
	for (pp = &tab.b[bucket(wc, id, tab.cap)]; *pp != NULL; pp = &(*pp)->hnext)
		if ((*pp)->wc == wc && (*pp)->id == id)
			return pp;
	return NULL;
}

static void
tab_insert(struct fwd_stream *s)
{
	size_t b;

	if (tab.n + 1 > tab.cap) {
		size_t cap = tab.cap ? tab.cap * 2 : 64;
		struct fwd_stream **nb = xcalloc(cap, sizeof(*nb));

		for (size_t i = 0; i < tab.cap; i++) {
			struct fwd_stream *x, *next;
			for (x = tab.b[i]; x != NULL; x = next) {
				next = x->hnext;
				b = bucket(x->wc, x->id, cap);
				x->hnext = nb[b];
				nb[b] = x;
			}
		}
		free(tab.b);
		tab.b = nb;
		tab.cap = cap;
	}
	b = bucket(s->wc, s->id, tab.cap);
	s->hnext = tab.b[b];
	tab.b[b] = s;
	tab.n++;
}

static struct fwd_stream *
find(struct worker_conn *wc, uint64_t id)
{
	struct fwd_stream **pp = slot_of(wc, id);

	return pp != NULL ? *pp : NULL;
}

/* Forget s everywhere (table, peer, session) and free it. The caller has
 * already told the worker and the peer whatever they need to know. */
static void
stream_free(struct fwd_stream *s)
{
	struct fwd_stream **pp = slot_of(s->wc, s->id);
	struct fwd_peer *p = s->peer;

	if (pp != NULL && *pp == s) {
		*pp = s->hnext;
		tab.n--;
	}
	if (s->wc->nrelays > 0)
		s->wc->nrelays--;
	if (h2o_linklist_is_linked(&s->credit_link))
		h2o_linklist_unlink(&s->credit_link);
	h2o_linklist_unlink(&s->link);
	if (s->sid > 0 && p->h2 != NULL &&
	    nghttp2_session_get_stream_user_data(p->h2, s->sid) == s)
		nghttp2_session_set_stream_user_data(p->h2, s->sid, NULL);
	buf_free(&s->body);
	buf_free(&s->hdrs);
	free(s);
	fwd_peer_stream_removed(p);
}

/* ---- to the worker ---- */

static int
worker_send(struct worker_conn *wc, const struct ipc_msg *msg, const struct ipc_encode_lists *l)
{
	/* -1: the worker connection was closed, and its streams freed */
	return worker_conn_send(wc, msg, l);
}

/* Fail s towards its worker and free it. Before the head: an OpenAI
 * error with this status; after it the worker ends the stream itself
 * (SSE error event or a broken transfer). */
static void
stream_error(struct fwd_stream *s, unsigned status, const char *type, const char *code,
    const char *message)
{
	struct worker_conn *wc = s->wc;
	struct ipc_msg msg;

	log_info("request %s: %u %s", s->request_id, status, message);
	memset(&msg, 0, sizeof(msg));
	msg.type = IPC_RESP_ERROR;
	msg.u.resp_error.id = s->id;
	msg.u.resp_error.status = (uint16_t)status;
	msg.u.resp_error.type = (struct ipc_str){ type, strlen(type) };
	msg.u.resp_error.code = (struct ipc_str){ code, strlen(code) };
	msg.u.resp_error.message = (struct ipc_str){ message, strlen(message) };
	stream_free(s);
	(void)worker_send(wc, &msg, NULL);
}

static void
stream_end(struct fwd_stream *s)
{
	struct worker_conn *wc = s->wc;
	struct ipc_msg msg;

	memset(&msg, 0, sizeof(msg));
	msg.type = IPC_RESP_END;
	msg.u.resp_end.id = s->id;
	stream_free(s);
	(void)worker_send(wc, &msg, NULL);
}

/* Response headers the worker or h2o sets itself, or that describe our hop.
 * content-length goes on: the worker gives it to h2o (api_proxy.c), so a
 * forwarded answer is framed as the local one would be. */
static int
skip_resp_header(const char *n, size_t len)
{
	static const char *const skip[] = {
		"connection", "keep-alive", "proxy-connection", "te", "trailer",
		"transfer-encoding", "upgrade", "date", "server", "x-request-id",
	};

	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (len == strlen(skip[i]) && memcmp(n, skip[i], len) == 0)
			return 1;
	return 0;
}

static int
send_head(struct fwd_stream *s)
{
	struct ipc_header_in hin[MAX_RESP_HEADERS];
	struct ipc_encode_lists lists = { hin, 0, NULL, 0 };
	const uint8_t *q = buf_head(&s->hdrs), *end = q + s->hdrs.len;
	struct ipc_msg msg;

	while (q != NULL && q < end && lists.nheaders < MAX_RESP_HEADERS) {
		struct ipc_header_in *h = &hin[lists.nheaders];

		h->name_len = (size_t)q[0] << 8 | q[1];
		h->name = (const char *)q + 2;
		q += 2 + h->name_len;
		h->value_len = (size_t)q[0] << 8 | q[1];
		h->value = (const char *)q + 2;
		q += 2 + h->value_len;
		lists.nheaders++;
	}
	memset(&msg, 0, sizeof(msg));
	msg.type = IPC_RESP_HEAD;
	msg.u.resp_head.id = s->id;
	msg.u.resp_head.status = (uint16_t)s->status;
	s->head_sent = 1;
	return worker_send(s->wc, &msg, &lists);
}

/* ---- the session's callbacks ---- */

static struct fwd_stream *
stream_of(nghttp2_session *h2, int32_t sid)
{
	return nghttp2_session_get_stream_user_data(h2, sid);
}

int
fwd_on_header(nghttp2_session *h2, const nghttp2_frame *frame, const uint8_t *name,
    size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *user)
{
	struct fwd_stream *s;
	uint8_t *w;

	if (frame->hd.type != NGHTTP2_HEADERS ||
	    (s = stream_of(h2, frame->hd.stream_id)) == NULL || s->head_sent)
		return 0; /* trailers carry nothing we pass on */
	if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
		unsigned st = 0;

		for (size_t i = 0; i < valuelen && i < 4; i++)
			st = st * 10 + (unsigned)(value[i] - '0');
		s->status = valuelen == 3 ? st : 0;
		/* an interim (1xx) head is followed by the real one */
		if (s->status >= 100 && s->status < 200) {
			buf_reset(&s->hdrs);
			s->nhdrs = 0;
		}
		return 0;
	}
	if (namelen == 0 || name[0] == ':' || skip_resp_header((const char *)name, namelen))
		return 0;
	if (s->nhdrs >= MAX_RESP_HEADERS || namelen > 0xffff || valuelen > 0xffff ||
	    s->hdrs.len + namelen + valuelen + 4 > RESP_HEADERS_MAX_BYTES)
		return 0; /* beyond what we pass on: dropped */
	if ((w = buf_reserve(&s->hdrs, namelen + valuelen + 4)) == NULL)
		return 0;
	w[0] = (uint8_t)(namelen >> 8);
	w[1] = (uint8_t)namelen;
	memcpy(w + 2, name, namelen);
	w += 2 + namelen;
	w[0] = (uint8_t)(valuelen >> 8);
	w[1] = (uint8_t)valuelen;
	memcpy(w + 2, value, valuelen);
	buf_commit(&s->hdrs, namelen + valuelen + 4);
	s->nhdrs++;
	return 0;
}

/* The response is complete, but our half may still be open (B answered
 * before the whole body was sent, e.g. an error): close it quietly. */
static void
close_our_half(struct fwd_peer *p, int32_t sid)
{
	if (nghttp2_session_get_stream_local_close(p->h2, sid) == 0)
		nghttp2_submit_rst_stream(p->h2, NGHTTP2_FLAG_NONE, sid, NGHTTP2_NO_ERROR);
}

static void
on_response_head(struct fwd_stream *s, int end_stream)
{
	struct fwd_peer *p = s->peer;
	int32_t sid = s->sid;

	if (s->status < 200 || s->status > 599) {
		nghttp2_submit_rst_stream(p->h2, NGHTTP2_FLAG_NONE, sid, NGHTTP2_PROTOCOL_ERROR);
		stream_error(s, 502, "api_error", "forward_error",
		    "the node holding the agent sent an invalid answer");
		return;
	}
	if (s->status == 401) {
		/* not the client's fault: the nodes disagree on node.secret */
		log_warnx("node %s refused our node secret (401): check node.secret on both nodes",
		    p->node);
		if (!end_stream)
			nghttp2_submit_rst_stream(p->h2, NGHTTP2_FLAG_NONE, sid, NGHTTP2_CANCEL);
		stream_error(s, 502, "api_error", "forward_refused",
		    "the node holding the agent refused this node's credentials");
		return;
	}
	if (send_head(s) != 0)
		return; /* the worker is gone, and s with it */
	buf_free(&s->hdrs);
	if (end_stream) {
		close_our_half(p, sid);
		stream_end(s);
	}
}

int
fwd_on_frame_recv_stream(struct fwd_peer *p, const nghttp2_frame *frame)
{
	struct fwd_stream *s = stream_of(p->h2, frame->hd.stream_id);
	int end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;

	if (s == NULL)
		return 0;
	switch (frame->hd.type) {
	case NGHTTP2_HEADERS:
		if (!s->head_sent) {
			if (s->status >= 100 && s->status < 200 && !end)
				return 0; /* interim: wait for the final head */
			on_response_head(s, end);
		} else if (end) {
			/* trailers end the answer */
			close_our_half(p, s->sid);
			stream_end(s);
		}
		break;
	case NGHTTP2_DATA:
		if (end) {
			if (!s->head_sent) {
				stream_error(s, 502, "api_error", "forward_error",
				    "the node holding the agent sent data before a head");
				return 0;
			}
			close_our_half(p, s->sid);
			stream_end(s);
		}
		break;
	default:
		break;
	}
	return 0;
}

static void
give_back_window(struct fwd_stream *s)
{
	if (s->rx_unconsumed == 0 || s->resp_unacked >= FWD_RESP_UNACKED_MAX)
		return;
	nghttp2_session_consume_stream(s->peer->h2, s->sid, (size_t)s->rx_unconsumed);
	s->rx_unconsumed = 0;
}

int
fwd_on_data_chunk(nghttp2_session *h2, uint8_t flags, int32_t stream_id, const uint8_t *data,
    size_t len, void *user)
{
	struct fwd_stream *s = stream_of(h2, stream_id);
	struct ipc_msg msg;

	/* the connection window never waits for one slow stream */
	nghttp2_session_consume_connection(h2, len);
	if (s == NULL) {
		nghttp2_session_consume_stream(h2, stream_id, len);
		return 0;
	}
	if (!s->head_sent) {
		nghttp2_submit_rst_stream(h2, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_PROTOCOL_ERROR);
		stream_error(s, 502, "api_error", "forward_error",
		    "the node holding the agent sent data before a head");
		return 0;
	}
	s->rx_unconsumed += len;
	s->resp_unacked += len;
	if (len == 0)
		return 0;
	give_back_window(s);
	memset(&msg, 0, sizeof(msg));
	msg.type = IPC_RESP_DATA;
	msg.u.resp_data.id = s->id;
	msg.u.resp_data.data = (struct ipc_str){ (const char *)data, len };
	(void)worker_send(s->wc, &msg, NULL); /* on failure s is gone */
	return 0;
}

int
fwd_on_stream_close(nghttp2_session *h2, int32_t stream_id, uint32_t error_code, void *user)
{
	struct fwd_stream *s = stream_of(h2, stream_id);
	char text[200];

	if (s == NULL)
		return 0;
	nghttp2_session_set_stream_user_data(h2, stream_id, NULL);
	s->sid = -1; /* closed: nothing more to submit on it */
	if (error_code == NGHTTP2_REFUSED_STREAM && !s->head_sent) {
		snprintf(text, sizeof(text), "node %s did not take the request (refused)",
		    s->peer->node);
		stream_error(s, 503, "service_unavailable", "node_unavailable", text);
		return 0;
	}
	snprintf(text, sizeof(text), "node %s %s the request (%s)", s->peer->node,
	    error_code == NGHTTP2_NO_ERROR ? "ended" : "reset",
	    nghttp2_http2_strerror(error_code));
	stream_error(s, 502, "api_error", "forward_error", text);
	return 0;
}

/* A request whose HEADERS never left (the peer's GOAWAY came first): the
 * stream was never opened, so nothing else would report it. */
int
fwd_on_frame_not_send(nghttp2_session *h2, const nghttp2_frame *frame, int lib_error,
    void *user)
{
	struct fwd_peer *p = user;
	char text[200];

	if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	for (h2o_linklist_t *n = p->streams.next; n != &p->streams; n = n->next) {
		struct fwd_stream *s = H2O_STRUCT_FROM_MEMBER(struct fwd_stream, link, n);

		if (s->sid != frame->hd.stream_id)
			continue;
		s->sid = -1;
		snprintf(text, sizeof(text), "node %s did not take the request (%s)", p->node,
		    nghttp2_strerror(lib_error));
		stream_error(s, 503, "service_unavailable", "node_unavailable", text);
		break;
	}
	return 0;
}

/* ---- the request body: the data provider and the worker's credit ---- */

static void
owe_credit(struct fwd_stream *s, size_t n)
{
	s->credit_due += n;
	if (!h2o_linklist_is_linked(&s->credit_link))
		h2o_linklist_insert(&s->peer->credit, &s->credit_link);
}

static ssize_t
body_read(nghttp2_session *h2, int32_t sid, uint8_t *out, size_t len, uint32_t *flags,
    nghttp2_data_source *src, void *user)
{
	struct fwd_stream *s = stream_of(h2, sid);
	size_t n;

	if (s == NULL)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* gone: reset it */
	n = s->body.len < len ? s->body.len : len;
	if (n > 0) {
		memcpy(out, buf_head(&s->body), n);
		buf_consume(&s->body, n);
		owe_credit(s, n);
	}
	if (s->body.len == 0 && s->body_last) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		buf_free(&s->body);
		return (ssize_t)n;
	}
	if (n == 0) {
		s->deferred = 1;
		return NGHTTP2_ERR_DEFERRED;
	}
	return (ssize_t)n;
}

void
fwd_pay_credits(struct fwd_peer *p)
{
	if (p->paying)
		return;
	p->paying = 1;
	/* one at a time from the head: a failed send frees streams of the list */
	while (!h2o_linklist_is_empty(&p->credit)) {
		struct fwd_stream *s =
		    H2O_STRUCT_FROM_MEMBER(struct fwd_stream, credit_link, p->credit.next);
		struct ipc_msg msg;

		h2o_linklist_unlink(&s->credit_link);
		memset(&msg, 0, sizeof(msg));
		msg.type = IPC_WINDOW;
		msg.u.window.id = s->id;
		msg.u.window.credit = (uint32_t)s->credit_due;
		s->credit_due = 0;
		(void)worker_send(s->wc, &msg, NULL);
	}
	p->paying = 0;
}

/* ---- from relay.c ---- */

static int
is_hop_or_ours(const char *n, size_t len)
{
	static const char *const skip[] = {
		"connection", "keep-alive", "proxy-connection", "te", "trailer",
		"transfer-encoding", "upgrade", "host", "content-length", "authorization",
		"x-request-id", "http2-settings",
	};

	if (len == 0 || n[0] == ':')
		return 1;
	/* ours: a client must not speak for a node */
	if (len >= 9 && strncmp(n, "tokilake-", 9) == 0)
		return 1;
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (len == strlen(skip[i]) && memcmp(n, skip[i], len) == 0)
			return 1;
	return 0;
}

#define NV(n, nl, v, vl) \
	((nghttp2_nv){ (uint8_t *)(n), (uint8_t *)(v), (nl), (vl), NGHTTP2_NV_FLAG_NONE })
#define NVS(n, v) NV(n, strlen(n), v, strlen(v))

void
forward_start(struct worker_conn *wc, const struct ipc_msg *msg, const char *node,
    const char *node_url)
{
	const struct tl_config *conf = wc->ad->conf;
	nghttp2_nv nv[MAX_REQ_HEADERS + 12];
	nghttp2_data_provider prd;
	struct ipc_list_iter it;
	struct ipc_str name, value;
	struct fwd_stream *s;
	struct fwd_peer *p;
	char why[300], bearer[1100], clen[24];
	const char *secret = conf->node.secret;
	size_t n = 0;
	int32_t sid;

	if (msg->u.req_start.flags & IPC_REQ_F_NO_FORWARD) {
		/* it came from another node: serve it here or not at all (no loops) */
		snprintf(why, sizeof(why), "no agent of namespace %.*s on this node serves %.*s",
		    (int)msg->u.req_start.ns.len, msg->u.req_start.ns.base,
		    (int)msg->u.req_start.model.len, msg->u.req_start.model.base);
		agentd_request_fail(wc, msg, 503, "service_unavailable", "no_agent", why);
		return;
	}
	if (secret == NULL || strlen(secret) + 8 > sizeof(bearer)) {
		agentd_request_fail(wc, msg, 503, "service_unavailable", "node_unavailable",
		    "this node has no usable node secret to forward the request with");
		return;
	}
	if (find(wc, msg->u.req_start.id) != NULL) {
		worker_conn_protocol_error(wc, "REQ_START for an id already in flight");
		return;
	}
	if ((p = fwd_peer_get(wc->ad->loop, node, node_url, conf->http.idle_timeout_ms,
	    conf->node.handshake_timeout_ms, why, sizeof(why))) == NULL ||
	    p->h2 == NULL) {
		log_warnx("cannot forward to node %s: %s", node ? node : "?",
		    p == NULL ? why : "no HTTP/2 session");
		agentd_request_fail(wc, msg, 503, "service_unavailable", "node_unavailable",
		    "the node holding the agent cannot be reached");
		return;
	}

	s = xcalloc(1, sizeof(*s));
	s->peer = p;
	s->wc = wc;
	s->id = msg->u.req_start.id;
	snprintf(s->request_id, sizeof(s->request_id), "%.*s",
	    (int)(msg->u.req_start.request_id.len < 128 ? msg->u.req_start.request_id.len : 128),
	    msg->u.req_start.request_id.base);
	buf_init(&s->body, IPC_BODY_WINDOW);
	buf_init(&s->hdrs, 0);
	h2o_linklist_insert(&p->streams, &s->link);
	fwd_peer_stream_added(p);
	tab_insert(s);
	wc->nrelays++;

	snprintf(bearer, sizeof(bearer), "Bearer %s", secret);
	snprintf(clen, sizeof(clen), "%" PRIu64, msg->u.req_start.body_len);
	nv[n++] = NV(":method", 7, msg->u.req_start.method.base, msg->u.req_start.method.len);
	nv[n++] = NVS(":scheme", p->tls ? "https" : "http");
	nv[n++] = NVS(":authority", p->authority);
	nv[n++] = NV(":path", 5, msg->u.req_start.path.base, msg->u.req_start.path.len);
	nv[n] = NVS("authorization", bearer);
	nv[n++].flags = NGHTTP2_NV_FLAG_NO_INDEX; /* the secret stays out of HPACK tables */
	nv[n++] = NVS("tokilake-forwarded-by", conf->node.name != NULL ? conf->node.name : "");
	nv[n++] = NV("tokilake-namespace", 18, msg->u.req_start.ns.base, msg->u.req_start.ns.len);
	nv[n++] = NV("tokilake-model", 14, msg->u.req_start.model.base,
	    msg->u.req_start.model.len);
	nv[n++] = NVS("x-request-id", s->request_id);
	nv[n++] = NVS("content-length", clen);
	ipc_list_begin(&it, &msg->u.req_start.headers);
	while (n < sizeof(nv) / sizeof(nv[0]) && ipc_header_next(&it, &name, &value))
		if (!is_hop_or_ours(name.base, name.len))
			nv[n++] = NV(name.base, name.len, value.base, value.len);

	memset(&prd, 0, sizeof(prd));
	prd.read_callback = body_read;
	sid = nghttp2_submit_request(p->h2, NULL, nv, n, &prd, s);
	secure_wipe(bearer, sizeof(bearer));
	if (sid < 0) {
		snprintf(why, sizeof(why), "cannot start a request to node %s: %s", p->node,
		    nghttp2_strerror(sid));
		stream_error(s, 503, "service_unavailable", "node_unavailable", why);
		return;
	}
	s->sid = sid;
	log_debug("request %s: %.*s %.*s for %.*s:%.*s forwarded to node %s (stream %d)",
	    s->request_id, (int)msg->u.req_start.method.len, msg->u.req_start.method.base,
	    (int)msg->u.req_start.path.len, msg->u.req_start.path.base,
	    (int)msg->u.req_start.ns.len, msg->u.req_start.ns.base,
	    (int)msg->u.req_start.model.len, msg->u.req_start.model.base, p->node, sid);
	fwd_peer_flush(p);
}

int
forward_body(struct worker_conn *wc, const struct ipc_msg *msg)
{
	struct fwd_stream *s = find(wc, msg->u.req_body.id);
	struct fwd_peer *p;

	if (s == NULL)
		return 0;
	p = s->peer;
	if (s->body_last || buf_append(&s->body, msg->u.req_body.data.base,
	    msg->u.req_body.data.len) != 0) {
		/* the worker sent past its credit: our own bug, said loudly */
		log_warnx("%s: request %s sent body past its credit; cancelling it", wc->ipc.name,
		    s->request_id);
		if (s->sid > 0)
			nghttp2_submit_rst_stream(p->h2, NGHTTP2_FLAG_NONE, s->sid, NGHTTP2_CANCEL);
		stream_error(s, 500, "api_error", "internal_error", "request body flow control broke");
		fwd_peer_flush(p);
		return 1;
	}
	s->body_last = msg->u.req_body.last;
	if (s->deferred && s->sid > 0 && (s->body.len > 0 || s->body_last)) {
		s->deferred = 0;
		nghttp2_session_resume_data(p->h2, s->sid);
	}
	fwd_peer_flush(p);
	return 1;
}

int
forward_cancel(struct worker_conn *wc, uint64_t id)
{
	struct fwd_stream *s = find(wc, id);
	struct fwd_peer *p;

	if (s == NULL)
		return 0;
	p = s->peer;
	log_debug("request %s: cancelled by the client; resetting its stream to node %s",
	    s->request_id, p->node);
	if (s->sid > 0 && !p->failed) {
		/* the window it held comes back with the stream's close */
		nghttp2_submit_rst_stream(p->h2, NGHTTP2_FLAG_NONE, s->sid, NGHTTP2_CANCEL);
		stream_free(s);
		fwd_peer_flush(p);
	} else
		stream_free(s);
	return 1;
}

int
forward_window(struct worker_conn *wc, uint64_t id, uint32_t credit)
{
	struct fwd_stream *s = find(wc, id);

	if (s == NULL)
		return 0;
	s->resp_unacked = credit > s->resp_unacked ? 0 : s->resp_unacked - credit;
	if (s->sid > 0 && s->rx_unconsumed > 0 && s->resp_unacked < FWD_RESP_UNACKED_MAX) {
		give_back_window(s);
		fwd_peer_flush(s->peer);
	}
	return 1;
}

void
forward_conn_closed(struct worker_conn *wc)
{
	if (tab.n == 0)
		return;
	for (size_t i = 0; i < tab.cap; i++) {
		struct fwd_stream *s = tab.b[i], *next;

		for (; s != NULL; s = next) {
			next = s->hnext;
			if (s->wc != wc)
				continue;
			/* the reset goes out from the loop: flushing here could
			 * close another worker and change the table under us */
			if (s->sid > 0 && !s->peer->failed) {
				nghttp2_submit_rst_stream(s->peer->h2, NGHTTP2_FLAG_NONE, s->sid,
				    NGHTTP2_CANCEL);
				fwd_peer_kick(s->peer);
			}
			stream_free(s);
		}
	}
}

void
fwd_streams_fail_all(struct fwd_peer *p, int reached)
{
	char text[300];

	while (!h2o_linklist_is_empty(&p->streams)) {
		struct fwd_stream *s = H2O_STRUCT_FROM_MEMBER(struct fwd_stream, link, p->streams.next);

		/* the reason is in our log; the client learns what failed, not how */
		if (!reached) {
			snprintf(text, sizeof(text), "the node holding the agent (%s) cannot be "
			    "reached", p->node);
			stream_error(s, 503, "service_unavailable", "node_unavailable", text);
		} else {
			snprintf(text, sizeof(text), "the connection to node %s was lost", p->node);
			stream_error(s, 502, "api_error", "node_lost", text);
		}
	}
}

void
forward_shutdown(void)
{
	fwd_peers_shutdown();
	free(tab.b);
	tab.b = NULL;
	tab.cap = tab.n = 0;
}
