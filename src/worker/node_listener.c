/*
 * node_listener: see node_listener.h.
 *
 * Accepting: h2o's h2o_accept() bounds a TLS handshake with the context's
 * one handshake_timeout (http.header_timeout, shared by every listener of
 * the worker) and h2o_http2_accept() waits for the preface as long as
 * http2.idle_timeout. Neither is per listener in 2.2.5, so this listener
 * runs its connections' first steps itself: the TLS handshake (node.tls)
 * and the peer's 24-byte HTTP/2 preface, both within
 * node.handshake_timeout of the accept (our own timer list), and only
 * then hands the socket to h2o_http2_accept() with the preface still in
 * its input. A connection that misses the deadline, fails the handshake
 * or sends anything but the preface is closed with one log line, through
 * a log_burst: strangers can open such connections by the thousand.
 */
#include "config.h"

#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <h2o.h>
#include <h2o/http2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "log.h"
#include "log_burst.h"
#include "node_listener.h"
#include "oai_error.h"
#include "request_id.h"
#include "tl_config.h"
#include "token.h"
#include "worker.h"
#include "xmalloc.h"

#define ACCEPT_BURST 32
/* Longest namespace or model a forwarding node may name. */
#define ROUTE_MAX 512
/* lines about refused connections and requests: 10 a second, then a count */
#define REFUSED_LOG_PER_WINDOW 10
#define REFUSED_LOG_WINDOW_MS 1000

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define PREFACE_LEN (sizeof(preface) - 1)

/* a connection between accept and h2o_http2_accept */
struct node_hs {
	h2o_linklist_t link; /* in nl.pending */
	h2o_socket_t *sock;
	h2o_timeout_entry_t timeout;
	struct timeval connected_at;
	int tls_done;
	char peer[64];
};

static const h2o_iovec_t alpn_h2_only[] = { { "h2", 2 }, { NULL, 0 } };

static struct {
	h2o_socket_t *sock;
	h2o_accept_ctx_t accept_ctx;
	SSL_CTX *ssl_ctx;
	h2o_hostconf_t **hosts; /* our own copy: marks requests as internal */
	char *secret_hash;      /* token_hash of node.secret: one constant-time compare */
	h2o_linklist_t pending; /* struct node_hs */
	h2o_timeout_t hs_timeout;   /* node.handshake_timeout */
	h2o_timeout_t refused_log;  /* REFUSED_LOG_WINDOW_MS: the summary */
	h2o_timeout_entry_t refused_summary;
	struct log_burst refused;
	int timers_ready;
} nl;

static SSL_CTX *
tls_context(const struct tl_config *conf)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL)
		goto fail;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	if (SSL_CTX_use_certificate_chain_file(ctx, conf->node.tls_cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, conf->node.tls_key != NULL ? conf->node.tls_key :
	    conf->node.tls_cert, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1)
		goto fail;
	h2o_ssl_register_alpn_protocols(ctx, alpn_h2_only);
	return ctx;
fail:
	{
		char e[256];

		ERR_error_string_n(ERR_get_error(), e, sizeof(e));
		log_warnx("%s: node.tls: cannot load %s: %s", conf->path, conf->node.tls_cert, e);
	}
	if (ctx != NULL)
		SSL_CTX_free(ctx);
	return NULL;
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
on_refused_summary(h2o_timeout_entry_t *entry)
{
	unsigned long n = log_burst_take(&nl.refused, mono_ms());

	(void)entry;
	if (n > 0)
		log_warnx("node listener: %lu more refused connections or requests (not logged "
		    "one by one)", n);
	if (nl.refused.suppressed > 0)
		h2o_timeout_link(wk.loop, &nl.refused_log, &nl.refused_summary);
}

/* 1: write the line now; 0: it is counted for the next summary */
static int
refused_may_log(void)
{
	if (log_burst_allow(&nl.refused, mono_ms()))
		return 1;
	if (!h2o_timeout_is_linked(&nl.refused_summary))
		h2o_timeout_link(wk.loop, &nl.refused_log, &nl.refused_summary);
	return 0;
}

static void
hs_free(struct node_hs *hs)
{
	if (h2o_timeout_is_linked(&hs->timeout))
		h2o_timeout_unlink(&hs->timeout);
	h2o_linklist_unlink(&hs->link);
	free(hs);
}

/* Not a node, or not in time: close before h2o ever sees it. */
static void __attribute__((format(printf, 2, 3)))
hs_close(struct node_hs *hs, const char *fmt, ...)
{
	h2o_socket_t *sock = hs->sock;
	va_list ap;

	if (refused_may_log()) {
		char why[200];

		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
		log_warnx("node listener: connection from %s closed before its handshake: %s",
		    hs->peer, why);
	}
	hs_free(hs);
	sock->data = NULL;
	h2o_socket_close(sock);
}

static void
on_hs_timeout(h2o_timeout_entry_t *entry)
{
	struct node_hs *hs = H2O_STRUCT_FROM_MEMBER(struct node_hs, timeout, entry);

	hs_close(hs, "no %s within %u ms (node.handshake_timeout)",
	    hs->tls_done || nl.ssl_ctx == NULL ? "HTTP/2 preface" : "TLS handshake",
	    wk.conf->node.handshake_timeout_ms);
}

/* The preface so far: hand over once whole, refuse at the first wrong byte.
 * 1 while more is awaited; 0 once hs is gone (handed to h2o or closed). */
static int
check_preface(struct node_hs *hs)
{
	h2o_socket_t *sock = hs->sock;
	size_t n = sock->input->size < PREFACE_LEN ? sock->input->size : PREFACE_LEN;
	struct timeval at = hs->connected_at;

	if (memcmp(sock->input->bytes, preface, n) != 0) {
		hs_close(hs, "not an HTTP/2 connection preface");
		return 0;
	}
	if (n < PREFACE_LEN)
		return 1; /* more to come, within the deadline */
	if (wk.state != WORKER_RUNNING) {
		/* a connection h2o takes now would miss the drain's GOAWAY and
		 * hold the worker until its drain timeout */
		hs_close(hs, "the worker is stopping");
		return 0;
	}
	h2o_socket_read_stop(sock);
	hs_free(hs);
	sock->data = NULL;
	/* h2o reads the preface (and whatever followed) from sock->input */
	h2o_http2_accept(&nl.accept_ctx, sock, at);
	return 0;
}

static void
on_preface_read(h2o_socket_t *sock, const char *err)
{
	struct node_hs *hs = sock->data;

	if (err != NULL) {
		hs_close(hs, "%s", strcmp(err, h2o_socket_error_closed) == 0 ?
		    "closed by the peer" : err);
		return;
	}
	(void)check_preface(hs);
}

static void
wait_preface(struct node_hs *hs)
{
	if (hs->sock->input->size > 0 && !check_preface(hs))
		return;
	h2o_socket_read_start(hs->sock, on_preface_read);
}

static void
on_tls_done(h2o_socket_t *sock, const char *err)
{
	struct node_hs *hs = sock->data;
	h2o_iovec_t proto;

	if (err != NULL) {
		hs_close(hs, "TLS handshake failed: %s", err);
		return;
	}
	proto = h2o_socket_ssl_get_selected_protocol(sock);
	if (!h2o_memis(proto.base, proto.len, H2O_STRLIT("h2"))) {
		hs_close(hs, "the peer did not negotiate ALPN h2");
		return;
	}
	hs->tls_done = 1;
	wait_preface(hs);
}

static void
hs_start(h2o_socket_t *sock)
{
	struct node_hs *hs = xcalloc(1, sizeof(*hs));
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[NI_MAXHOST];
	size_t hl;

	hs->sock = sock;
	hs->connected_at = *h2o_get_timestamp(&wk.ctx, NULL, NULL);
	sl = h2o_socket_getpeername(sock, (struct sockaddr *)&ss);
	hl = sl ? h2o_socket_getnumerichost((struct sockaddr *)&ss, sl, host) : SIZE_MAX;
	if (hl == SIZE_MAX)
		snprintf(hs->peer, sizeof(hs->peer), "unknown");
	else
		snprintf(hs->peer, sizeof(hs->peer), "%.*s:%d", (int)hl, host,
		    h2o_socket_getport((struct sockaddr *)&ss));
	h2o_linklist_insert(&nl.pending, &hs->link);
	hs->timeout.cb = on_hs_timeout;
	h2o_timeout_link(wk.loop, &nl.hs_timeout, &hs->timeout);
	sock->data = hs;
	if (nl.ssl_ctx != NULL)
		h2o_socket_ssl_handshake(sock, nl.ssl_ctx, NULL, on_tls_done);
	else
		wait_preface(hs);
}

static void
on_accept(h2o_socket_t *listener, const char *err)
{
	if (err != NULL) {
		log_warnx("accept on node.listen %s: %s", wk.conf->node.listen, err);
		return;
	}
	for (int i = 0; i < ACCEPT_BURST; i++) {
		h2o_socket_t *sock = h2o_evloop_socket_accept(listener);

		if (sock == NULL)
			return; /* EAGAIN, another worker took it, or out of descriptors */
		wk_conns_track(sock);
		/* TLS (ALPN h2 only) and the preface, then h2o's HTTP/2 */
		hs_start(sock);
	}
}

int
wk_node_listener_open(void)
{
	const struct tl_config *conf = wk.conf;
	size_t n = 0;

	if (wk.cctx->node_fd < 0)
		return 0;
	if (conf->node.secret == NULL || conf->node.secret[0] == '\0') {
		log_warnx("%s: node.listen is set but no node secret: refusing to serve it",
		    conf->path);
		return EXIT_CONFIG;
	}
	if (conf->node.tls_cert != NULL && (nl.ssl_ctx = tls_context(conf)) == NULL)
		return EXIT_CONFIG;
	nl.secret_hash = xmalloc(TOKEN_HASH_LEN + 1);
	token_hash(conf->node.secret, strlen(conf->node.secret), nl.secret_hash);
	while (wk.globalconf.hosts[n] != NULL)
		n++;
	nl.hosts = xcalloc(n + 1, sizeof(*nl.hosts));
	memcpy(nl.hosts, wk.globalconf.hosts, n * sizeof(*nl.hosts));
	nl.accept_ctx.ctx = &wk.ctx;
	nl.accept_ctx.hosts = nl.hosts;
	nl.accept_ctx.ssl_ctx = nl.ssl_ctx;
	nl.sock = h2o_evloop_socket_create(wk.loop, wk.cctx->node_fd, H2O_SOCKET_FLAG_DONT_READ);
	h2o_linklist_init_anchor(&nl.pending);
	h2o_timeout_init(wk.loop, &nl.hs_timeout, conf->node.handshake_timeout_ms);
	h2o_timeout_init(wk.loop, &nl.refused_log, REFUSED_LOG_WINDOW_MS);
	nl.refused_summary.cb = on_refused_summary;
	nl.refused = (struct log_burst)LOG_BURST_INIT(REFUSED_LOG_PER_WINDOW,
	    REFUSED_LOG_WINDOW_MS);
	nl.timers_ready = 1;
	return 0;
}

void
wk_node_listener_start(void)
{
	if (nl.sock == NULL)
		return;
	h2o_socket_read_start(nl.sock, on_accept);
	log_debug("listening on %s for other nodes (%s)", wk.conf->node.listen,
	    nl.ssl_ctx != NULL ? "TLS, ALPN h2" : "h2c");
}

void
wk_node_listener_close(void)
{
	if (nl.sock != NULL) {
		/* our copy of the descriptor; the master and other workers keep theirs */
		h2o_socket_close(nl.sock);
		nl.sock = NULL;
	}
}

void
wk_node_listener_free(void)
{
	wk_node_listener_close();
	if (nl.timers_ready) {
		/* the worker frees only once no connection is left: none pending */
		while (!h2o_linklist_is_empty(&nl.pending))
			hs_close(H2O_STRUCT_FROM_MEMBER(struct node_hs, link, nl.pending.next),
			    "worker exiting");
		if (h2o_timeout_is_linked(&nl.refused_summary))
			h2o_timeout_unlink(&nl.refused_summary);
		h2o_timeout_dispose(wk.loop, &nl.hs_timeout);
		h2o_timeout_dispose(wk.loop, &nl.refused_log);
		nl.timers_ready = 0;
	}
	if (nl.ssl_ctx != NULL)
		SSL_CTX_free(nl.ssl_ctx);
	nl.ssl_ctx = NULL;
	free(nl.hosts);
	nl.hosts = NULL;
	free(nl.secret_hash);
	nl.secret_hash = NULL;
}

int
wk_node_request(h2o_req_t *req)
{
	return nl.hosts != NULL && req->conn->hosts == nl.hosts;
}

int
wk_node_refused(h2o_req_t *req)
{
	ssize_t i;
	h2o_iovec_t v;

	if (!wk_node_request(req))
		return 0;
	i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
	if (i != -1) {
		v = req->headers.entries[i].value;
		if (v.len > 7 && h2o_lcstris(v.base, 7, H2O_STRLIT("bearer ")) &&
		    token_verify(v.base + 7, v.len - 7, &nl.secret_hash, 1))
			return 0;
	}
	if (refused_may_log())
		log_warnx("req %s from another node refused: %s node secret", wk_request_id(req),
		    i == -1 ? "no" : "wrong");
	wk_oai_send_error(req, 401, "invalid_request_error", NULL, "invalid_node_secret",
	    "this listener is for other tokilake nodes: a valid node secret is required");
	return 1;
}

static int
route_header(h2o_req_t *req, const char *name, size_t len, h2o_iovec_t *out)
{
	ssize_t i = h2o_find_header_by_str(&req->headers, name, len, -1);

	if (i == -1)
		return -1;
	*out = req->headers.entries[i].value;
	if (out->len == 0 || out->len > ROUTE_MAX)
		return -1;
	for (size_t k = 0; k < out->len; k++)
		if ((unsigned char)out->base[k] < 0x20 || out->base[k] == 0x7f)
			return -1;
	return 0;
}

/* The nodes' own headers (and the secret) go no further than here. */
static void
strip_node_headers(h2o_req_t *req)
{
	size_t w = 0;

	for (size_t r = 0; r < req->headers.size; r++) {
		const h2o_iovec_t *n = req->headers.entries[r].name;

		if ((n->len >= 9 && h2o_lcstris(n->base, 9, H2O_STRLIT("tokilake-"))) ||
		    h2o_lcstris(n->base, n->len, H2O_STRLIT("authorization")))
			continue;
		req->headers.entries[w++] = req->headers.entries[r];
	}
	req->headers.size = w;
}

int
wk_node_route(h2o_req_t *req, struct request_json *body)
{
	h2o_iovec_t ns, model;
	char *full;

	if (route_header(req, H2O_STRLIT("tokilake-namespace"), &ns) != 0 ||
	    route_header(req, H2O_STRLIT("tokilake-model"), &model) != 0 ||
	    memchr(ns.base, ':', ns.len) != NULL) {
		wk_oai_send_error(req, 400, "invalid_request_error", NULL, "invalid_forward",
		    "a forwarded request names its namespace and model in tokilake-namespace "
		    "and tokilake-model");
		return -1;
	}
	/* "namespace:model" as a client would have written it; the body
	 * itself already holds the agent's model name and is not rewritten */
	full = h2o_mem_alloc_pool(&req->pool, ns.len + model.len + 2);
	memcpy(full, ns.base, ns.len);
	full[ns.len] = ':';
	memcpy(full + ns.len + 1, model.base, model.len);
	full[ns.len + 1 + model.len] = '\0';
	memset(body, 0, sizeof(*body));
	body->model = full;
	body->model_len = ns.len + 1 + model.len;
	{
		ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("tokilake-forwarded-by"),
		    -1);
		h2o_iovec_t by = i != -1 ? req->headers.entries[i].value : h2o_iovec_init("?", 1);

		log_debug("req %s: %s forwarded by node %.*s", wk_request_id(req), full,
		    (int)(by.len > 64 ? 64 : by.len), by.base);
	}
	strip_node_headers(req);
	return 0;
}
