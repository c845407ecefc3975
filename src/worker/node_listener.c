/* node_listener: see node_listener.h. */
#include "config.h"

#include <string.h>

#include <h2o.h>
#include <h2o/http2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "log.h"
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

static const h2o_iovec_t alpn_h2_only[] = { { "h2", 2 }, { NULL, 0 } };

static struct {
	h2o_socket_t *sock;
	h2o_accept_ctx_t accept_ctx;
	SSL_CTX *ssl_ctx;
	h2o_hostconf_t **hosts; /* our own copy: marks requests as internal */
	char *secret_hash;      /* token_hash of node.secret: one constant-time compare */
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
		if (nl.ssl_ctx != NULL) {
			h2o_accept(&nl.accept_ctx, sock); /* TLS, then h2 by ALPN */
		} else {
			/* h2c with prior knowledge: the client starts with the preface */
			h2o_http2_accept(&nl.accept_ctx, sock,
			    *h2o_get_timestamp(&wk.ctx, NULL, NULL));
		}
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
	log_warnx("req from another node refused: %s node secret", i == -1 ? "no" : "wrong");
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
