/*
 * forward_peer: agentd's HTTP/2 client connections to other nodes'
 * internal listeners, one per internal_url, shared by every request
 * forwarded there.
 *
 * The nghttp2 client session exists from the moment the connection is
 * wanted: requests are submitted at once and their frames wait in
 * wpending until the socket (and TLS) is up. Output is pulled from
 * nghttp2 only below WRITE_HIGH_WATER and written one h2o_socket_write at
 * a time, as in link_conn.c. Teardown is deferred to a zero timer: a
 * session is never deleted from inside its own callbacks.
 *
 * h2c:// is HTTP/2 with prior knowledge over TCP. https:// is TLS with
 * ALPN h2; the peer's certificate must chain to the system trust store
 * (OpenSSL's default paths: SSL_CERT_FILE / SSL_CERT_DIR override them)
 * and name the URL's host. h2o's own client-side check is not relied on
 * (it skips the host name under TLS 1.3): the name goes into the
 * context's verify parameters, so OpenSSL fails the handshake itself.
 *
 * Stages: connecting (TCP; CONNECT_TIMEOUT_MS), handshaking (TLS for
 * https://, then the peer's first SETTINGS: both within
 * node.handshake_timeout of the TCP connect, so a peer that accepts and
 * then says nothing cannot hold requests until the PING timeout), and
 * up. Until the peer's SETTINGS came, its requests count as never having
 * reached it (503, like a refused connection).
 *
 * Liveness: a connection silent for PING_EVERY_MS (or half our own
 * http.idle_timeout, if shorter: the peers usually share it) gets a PING
 * and fails when no answer comes within PING_TIMEOUT_MS. The PINGs also
 * keep the peer's idle timer from closing the connection just as a new
 * request goes out on it; one without streams for IDLE_CLOSE_MS is
 * closed by us, the side that knows when it is unused. A peer that
 * sends GOAWAY keeps its streams but gets no new ones: the next request
 * opens a new connection.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "forward_internal.h"
#include "log.h"
#include "xmalloc.h"

#define WRITE_HIGH_WATER (256 * 1024)
#define TICK_MS 500
#define CONNECT_TIMEOUT_MS 5000
#define PING_EVERY_MS 5000
#define PING_TIMEOUT_MS 5000
#define IDLE_CLOSE_MS 60000
#define STREAM_WINDOW (1024 * 1024)
#define CONN_WINDOW (16 * 1024 * 1024)

static struct {
	h2o_loop_t *loop;
	int ready;
	h2o_linklist_t peers;   /* every peer object, listed or not */
	h2o_timeout_t tick;
	h2o_timeout_t reap;
	nghttp2_session_callbacks *cbs;
	nghttp2_option *opt;
} fp;

uint64_t
fwd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

h2o_loop_t *
fwd_loop(void)
{
	return fp.loop;
}

static void peer_teardown(struct fwd_peer *p);

static void
unlist(struct fwd_peer *p)
{
	/* the peer stays in fp.peers until teardown; it only stops taking streams */
	p->listed = 0;
}

void
fwd_peer_fail(struct fwd_peer *p, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;
	p->failed = 1;
	unlist(p);
	va_start(ap, fmt);
	vsnprintf(p->fail_reason, sizeof(p->fail_reason), fmt, ap);
	va_end(ap);
	if (p->sock != NULL && p->connected)
		h2o_socket_read_stop(p->sock);
	if (h2o_timeout_is_linked(&p->tick))
		h2o_timeout_unlink(&p->tick);
	h2o_timeout_link(fp.loop, &fp.reap, &p->reap);
}

static void
on_reap(h2o_timeout_entry_t *entry)
{
	peer_teardown(H2O_STRUCT_FROM_MEMBER(struct fwd_peer, reap, entry));
}

static void
on_kick(h2o_timeout_entry_t *entry)
{
	fwd_peer_flush(H2O_STRUCT_FROM_MEMBER(struct fwd_peer, kick, entry));
}

void
fwd_peer_kick(struct fwd_peer *p)
{
	if (!p->failed && !h2o_timeout_is_linked(&p->kick))
		h2o_timeout_link(fp.loop, &fp.reap, &p->kick);
}

static void
on_write_done(h2o_socket_t *sock, const char *err)
{
	struct fwd_peer *p = sock->data;

	p->writing = 0;
	if (p->failed)
		return;
	buf_free(&p->winflight);
	if (err != NULL) {
		fwd_peer_fail(p, "write failed: %s", err);
		return;
	}
	fwd_peer_flush(p);
}

void
fwd_peer_flush(struct fwd_peer *p)
{
	if (p->failed || p->in_recv)
		return;
	if (p->flushing) {
		p->flush_again = 1;
		return;
	}
	p->flushing = 1;
	do {
		p->flush_again = 0;
		while (p->wpending.len < WRITE_HIGH_WATER) {
			const uint8_t *data;
			ssize_t n = nghttp2_session_mem_send(p->h2, &data);

			if (n < 0) {
				p->flushing = 0;
				fwd_peer_fail(p, "HTTP/2 send error: %s", nghttp2_strerror((int)n));
				return;
			}
			if (n == 0)
				break;
			/* copy before the next mem_send call invalidates data */
			buf_append(&p->wpending, data, (size_t)n);
		}
	} while (p->flush_again && !p->failed);
	p->flushing = 0;
	if (p->failed)
		return;
	/* body bytes taken by the data providers: the workers may send more */
	fwd_pay_credits(p);
	if (p->failed || p->writing || !p->connected || p->wpending.len == 0)
		return;
	{
		struct buf tmp = p->winflight;
		h2o_iovec_t v;

		p->winflight = p->wpending;
		p->wpending = tmp;
		buf_reset(&p->wpending);
		v = h2o_iovec_init(buf_head(&p->winflight), p->winflight.len);
		p->writing = 1;
		h2o_socket_write(p->sock, &v, 1, on_write_done);
	}
}

static void
on_read(h2o_socket_t *sock, const char *err)
{
	struct fwd_peer *p = sock->data;
	ssize_t n;

	if (p->failed)
		return;
	if (err != NULL) {
		fwd_peer_fail(p, "connection %s", strcmp(err, h2o_socket_error_closed) == 0 ?
		    "closed by the peer" : err);
		return;
	}
	p->last_rx_ms = fwd_now_ms();
	p->ping_outstanding = 0; /* anything from the peer proves it alive */
	p->in_recv = 1;
	n = nghttp2_session_mem_recv(p->h2, (const uint8_t *)sock->input->bytes, sock->input->size);
	p->in_recv = 0;
	if (p->failed)
		return;
	if (n < 0) {
		fwd_peer_fail(p, "HTTP/2 protocol error: %s", nghttp2_strerror((int)n));
		return;
	}
	h2o_buffer_consume(&sock->input, sock->input->size);
	fwd_peer_flush(p);
	if (!p->failed && !nghttp2_session_want_read(p->h2) && !nghttp2_session_want_write(p->h2))
		fwd_peer_fail(p, "session finished");
}

/* nghttp2 callbacks that concern the connection */

static int
on_frame_recv(nghttp2_session *h2, const nghttp2_frame *frame, void *user)
{
	struct fwd_peer *p = user;

	if (frame->hd.type == NGHTTP2_SETTINGS && !(frame->hd.flags & NGHTTP2_FLAG_ACK))
		p->ever_connected = 1; /* the handshake is over */
	switch (frame->hd.type) {
	case NGHTTP2_GOAWAY:
		if (p->goaway)
			return 0; /* a graceful close sends two */
		p->goaway = 1;
		unlist(p);
		log_info("node %s (%s) sent GOAWAY (%s); new requests use a new connection",
		    p->node, p->url, nghttp2_http2_strerror(frame->goaway.error_code));
		return 0;
	case NGHTTP2_PING:
		return 0;
	default:
		return fwd_on_frame_recv_stream(p, frame);
	}
}

static int
on_invalid_frame(nghttp2_session *h2, const nghttp2_frame *frame, int lib_error, void *user)
{
	struct fwd_peer *p = user;

	log_debug("node %s: invalid frame type %u: %s", p->node, frame->hd.type,
	    nghttp2_strerror(lib_error));
	return 0;
}

static void
init_callbacks(void)
{
	nghttp2_session_callbacks_new(&fp.cbs);
	nghttp2_session_callbacks_set_on_header_callback(fp.cbs, fwd_on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(fp.cbs, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(fp.cbs, fwd_on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(fp.cbs, fwd_on_stream_close);
	nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(fp.cbs, on_invalid_frame);
	nghttp2_session_callbacks_set_on_frame_not_send_callback(fp.cbs, fwd_on_frame_not_send);

	nghttp2_option_new(&fp.opt);
	/* per-request back-pressure: we consume only what the worker took */
	nghttp2_option_set_no_auto_window_update(fp.opt, 1);
	nghttp2_option_set_max_outbound_ack(fp.opt, 1000);
	/* a peer may run many requests at once; nghttp2 queues the rest */
	nghttp2_option_set_peer_max_concurrent_streams(fp.opt, 100);
}

static void
on_tick(h2o_timeout_entry_t *entry)
{
	struct fwd_peer *p = H2O_STRUCT_FROM_MEMBER(struct fwd_peer, tick, entry);
	uint64_t now = fwd_now_ms();

	if (p->tcp_up_ms != 0 && !p->ever_connected) {
		if (now - p->tcp_up_ms >= p->handshake_ms) {
			fwd_peer_fail(p, "no %s within %u ms of connecting (node.handshake_timeout)",
			    p->connected ? "HTTP/2 SETTINGS from the peer" : "TLS handshake",
			    p->handshake_ms);
			return;
		}
	} else if (!p->connected) {
		if (now - p->created_ms >= CONNECT_TIMEOUT_MS) {
			fwd_peer_fail(p, "could not connect within %d ms", CONNECT_TIMEOUT_MS);
			return;
		}
	} else if (p->nstreams == 0 && now - p->idle_since_ms >= IDLE_CLOSE_MS) {
		fwd_peer_fail(p, "idle for %d s", IDLE_CLOSE_MS / 1000);
		return;
	} else if (p->ping_outstanding) {
		if (now - p->ping_sent_ms >= PING_TIMEOUT_MS) {
			fwd_peer_fail(p, "no answer to PING within %d ms", PING_TIMEOUT_MS);
			return;
		}
	} else if (now - p->last_rx_ms >= p->ping_every_ms) {
		/* also while idle: the peer's idle timer (http.idle_timeout) must
		 * not close a connection we are about to use; we close it first */
		nghttp2_submit_ping(p->h2, NGHTTP2_FLAG_NONE, NULL);
		p->ping_outstanding = 1;
		p->ping_sent_ms = now;
		fwd_peer_flush(p);
		if (p->failed)
			return;
	}
	h2o_timeout_link(fp.loop, &fp.tick, &p->tick);
}

static void
session_up(struct fwd_peer *p)
{
	p->connected = 1;
	p->last_rx_ms = fwd_now_ms();
	log_debug("node %s: connected to %s", p->node, p->url);
	h2o_socket_read_start(p->sock, on_read);
	fwd_peer_flush(p);
	/* bytes that came with the TLS handshake are already in input */
	if (!p->failed && p->sock->input->size > 0)
		on_read(p->sock, NULL);
}

static void
on_handshake(h2o_socket_t *sock, const char *err)
{
	struct fwd_peer *p = sock->data;
	h2o_iovec_t proto;

	if (p->failed)
		return;
	if (err != NULL) {
		fwd_peer_fail(p, "TLS handshake failed: %s", err);
		return;
	}
	proto = h2o_socket_ssl_get_selected_protocol(sock);
	if (!h2o_memis(proto.base, proto.len, H2O_STRLIT("h2"))) {
		fwd_peer_fail(p, "the peer did not select ALPN h2");
		return;
	}
	session_up(p);
}

static void
on_connect(h2o_socket_t *sock, const char *err)
{
	struct fwd_peer *p = sock->data;

	if (p->failed)
		return;
	if (err != NULL) {
		fwd_peer_fail(p, "cannot connect: %s", err);
		return;
	}
	p->tcp_up_ms = fwd_now_ms();
	if (p->tls)
		h2o_socket_ssl_handshake(sock, p->ssl_ctx, p->host, on_handshake);
	else
		session_up(p);
}

static void
peer_teardown(struct fwd_peer *p)
{
	const char *reason = p->fail_reason[0] ? p->fail_reason : "closed";

	if (p->nstreams > 0)
		log_warnx("node %s (%s): %s with %u request%s waiting: %s", p->node, p->url,
		    p->ever_connected ? "connection lost" : "cannot connect", p->nstreams,
		    p->nstreams == 1 ? "" : "s", reason);
	else
		log_debug("node %s (%s): connection closed: %s", p->node, p->url, reason);
	fwd_streams_fail_all(p, p->ever_connected);
	if (p->h2 != NULL)
		nghttp2_session_del(p->h2);
	if (h2o_timeout_is_linked(&p->tick))
		h2o_timeout_unlink(&p->tick);
	if (h2o_timeout_is_linked(&p->reap))
		h2o_timeout_unlink(&p->reap);
	if (h2o_timeout_is_linked(&p->kick))
		h2o_timeout_unlink(&p->kick);
	if (p->sock != NULL)
		h2o_socket_close(p->sock);
	if (p->ssl_ctx != NULL)
		SSL_CTX_free(p->ssl_ctx);
	buf_free(&p->wpending);
	buf_free(&p->winflight);
	h2o_linklist_unlink(&p->link);
	free(p->url);
	free(p->node);
	free(p);
}

/* "h2c://host:port[/]" or "https://host:port[/]"; host may be [v6]. */
static int
parse_url(struct fwd_peer *p, const char *url, char *why, size_t whylen)
{
	const char *rest, *end, *colon;
	size_t hl;
	long port;
	char *e;

	if (strncmp(url, "h2c://", 6) == 0) {
		rest = url + 6;
	} else if (strncmp(url, "https://", 8) == 0) {
		rest = url + 8;
		p->tls = 1;
	} else {
		snprintf(why, whylen, "internal_url %s: must start with h2c:// or https://", url);
		return -1;
	}
	end = rest + strcspn(rest, "/");
	if (*rest == '[') {
		const char *rb = memchr(rest, ']', (size_t)(end - rest));
		if (rb == NULL || rb[1] != ':')
			goto bad;
		hl = (size_t)(rb - rest - 1);
		if (hl == 0 || hl >= sizeof(p->host))
			goto bad;
		memcpy(p->host, rest + 1, hl);
		colon = rb + 1;
	} else {
		colon = NULL;
		for (const char *c = rest; c < end; c++)
			if (*c == ':')
				colon = c;
		if (colon == NULL)
			goto bad;
		hl = (size_t)(colon - rest);
		if (hl == 0 || hl >= sizeof(p->host))
			goto bad;
		memcpy(p->host, rest, hl);
	}
	p->host[hl] = '\0';
	port = strtol(colon + 1, &e, 10);
	if (e != end || port < 1 || port > 65535)
		goto bad;
	p->port = (uint16_t)port;
	snprintf(p->authority, sizeof(p->authority), "%.*s", (int)(end - rest), rest);
	return 0;
bad:
	snprintf(why, whylen, "internal_url %s: expected scheme://host:port", url);
	return -1;
}

static SSL_CTX *
client_tls(const struct fwd_peer *p, char *why, size_t whylen)
{
	static const unsigned char alpn[] = { 2, 'h', '2' };
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	X509_VERIFY_PARAM *param;
	unsigned char ip[16];
	int ok;

	if (ctx == NULL)
		goto fail;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_set_default_verify_paths(ctx) != 1 ||
	    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn)) != 0)
		goto fail;
	param = SSL_CTX_get0_param(ctx);
	if (inet_pton(AF_INET, p->host, ip) == 1 || inet_pton(AF_INET6, p->host, ip) == 1)
		ok = X509_VERIFY_PARAM_set1_ip_asc(param, p->host);
	else
		ok = X509_VERIFY_PARAM_set1_host(param, p->host, 0);
	if (ok != 1)
		goto fail;
	return ctx;
fail:
	{
		char e[200];

		ERR_error_string_n(ERR_get_error(), e, sizeof(e));
		snprintf(why, whylen, "TLS client context for %s: %s", p->url, e);
	}
	if (ctx != NULL)
		SSL_CTX_free(ctx);
	return NULL;
}

static void
ensure_ready(h2o_loop_t *loop)
{
	if (fp.ready)
		return;
	fp.loop = loop;
	h2o_linklist_init_anchor(&fp.peers);
	h2o_timeout_init(loop, &fp.tick, TICK_MS);
	h2o_timeout_init(loop, &fp.reap, 0);
	init_callbacks();
	fp.ready = 1;
}

static struct fwd_peer *
peer_new(const char *node, const char *url, uint32_t idle_timeout_ms, uint32_t handshake_ms,
    char *why, size_t whylen)
{
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 65536 },
	};
	struct fwd_peer *p = xcalloc(1, sizeof(*p));
	struct addrinfo hints, *res = NULL;
	char port[8];
	int rc;

	if (parse_url(p, url, why, whylen) != 0 ||
	    (p->tls && (p->ssl_ctx = client_tls(p, why, whylen)) == NULL)) {
		free(p);
		return NULL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", p->port);
	if ((rc = getaddrinfo(p->host, port, &hints, &res)) == EAI_NONAME) {
		/* a name: resolved here, blocking, once per connection; use an
		 * address in internal_url to keep agentd's loop from waiting */
		hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
		rc = getaddrinfo(p->host, port, &hints, &res);
	}
	if (rc != 0 || res == NULL) {
		snprintf(why, whylen, "cannot resolve %s: %s", p->host, gai_strerror(rc));
		if (res != NULL)
			freeaddrinfo(res);
		if (p->ssl_ctx != NULL)
			SSL_CTX_free(p->ssl_ctx);
		free(p);
		return NULL;
	}
	p->url = xstrdup(url);
	p->node = xstrdup(node != NULL ? node : p->authority);
	h2o_linklist_init_anchor(&p->streams);
	h2o_linklist_init_anchor(&p->credit);
	buf_init(&p->wpending, 0);
	buf_init(&p->winflight, 0);
	p->created_ms = p->idle_since_ms = p->last_rx_ms = fwd_now_ms();
	p->ping_every_ms = PING_EVERY_MS;
	p->handshake_ms = handshake_ms;
	if (idle_timeout_ms / 2 < p->ping_every_ms)
		p->ping_every_ms = idle_timeout_ms / 2 > TICK_MS ? idle_timeout_ms / 2 : TICK_MS;
	p->tick.cb = on_tick;
	p->reap.cb = on_reap;
	p->kick.cb = on_kick;
	h2o_linklist_insert(&fp.peers, &p->link);
	p->listed = 1;

	if (nghttp2_session_client_new2(&p->h2, fp.cbs, p, fp.opt) != 0) {
		freeaddrinfo(res);
		p->h2 = NULL;
		fwd_peer_fail(p, "cannot create an HTTP/2 session");
		return p;
	}
	nghttp2_submit_settings(p->h2, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0]));
	nghttp2_session_set_local_window_size(p->h2, NGHTTP2_FLAG_NONE, 0, CONN_WINDOW);
	h2o_timeout_link(fp.loop, &fp.tick, &p->tick);
	p->sock = h2o_socket_connect(fp.loop, res->ai_addr, res->ai_addrlen, on_connect);
	freeaddrinfo(res);
	if (p->sock == NULL) {
		fwd_peer_fail(p, "cannot connect to %s", p->authority);
		return p;
	}
	p->sock->data = p;
	{
		/* h2o sets this on accepted sockets only: without it a small
		 * frame waits for the peer's delayed ACK (measured: +0.7 ms a
		 * forwarded request) */
		int one = 1;

		setsockopt(h2o_socket_get_fd(p->sock), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	log_debug("node %s: connecting to %s", p->node, p->url);
	return p;
}

struct fwd_peer *
fwd_peer_get(h2o_loop_t *loop, const char *node, const char *url, uint32_t idle_timeout_ms,
    uint32_t handshake_ms, char *why, size_t whylen)
{
	ensure_ready(loop);
	for (h2o_linklist_t *n = fp.peers.next; n != &fp.peers; n = n->next) {
		struct fwd_peer *p = H2O_STRUCT_FROM_MEMBER(struct fwd_peer, link, n);

		if (p->listed && !p->failed && !p->goaway && strcmp(p->url, url) == 0)
			return p;
	}
	return peer_new(node, url, idle_timeout_ms, handshake_ms, why, whylen);
}

void
fwd_peer_stream_added(struct fwd_peer *p)
{
	p->nstreams++;
}

void
fwd_peer_stream_removed(struct fwd_peer *p)
{
	if (p->nstreams > 0 && --p->nstreams == 0) {
		p->idle_since_ms = fwd_now_ms();
		/* a connection the peer is closing has no further use */
		if (p->goaway)
			fwd_peer_fail(p, "GOAWAY and no request left");
	}
}

void
fwd_peers_shutdown(void)
{
	if (!fp.ready)
		return;
	while (!h2o_linklist_is_empty(&fp.peers)) {
		struct fwd_peer *p = H2O_STRUCT_FROM_MEMBER(struct fwd_peer, link, fp.peers.next);

		if (!p->failed) {
			p->failed = 1;
			snprintf(p->fail_reason, sizeof(p->fail_reason), "agentd exiting");
		}
		peer_teardown(p);
	}
	h2o_timeout_dispose(fp.loop, &fp.tick);
	h2o_timeout_dispose(fp.loop, &fp.reap);
	nghttp2_session_callbacks_del(fp.cbs);
	nghttp2_option_del(fp.opt);
	fp.ready = 0;
}
