/*
 * listeners: the HTTP listening sockets the master opened before forking.
 *
 * Each inherited descriptor (ctx->http_fds[i], configured by
 * conf->http.listen[i]) is wrapped as an h2o socket that is only watched
 * for readability; connections are accepted here and handed to h2o.
 * A listener with tls_cert gets its own SSL_CTX: TLS 1.2 or later, and
 * ALPN that offers h2 only when the operator enabled HTTP/2.
 *
 * http.max_connections is per worker: at the limit the listeners stop
 * being watched (the kernel queues new connections, and other workers
 * take them); they are watched again when a connection closes. When the
 * process runs out of descriptors, accepting pauses for 100 ms instead
 * of spinning on a listener that stays readable.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <h2o.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "log.h"
#include "node_listener.h"
#include "read_guard.h"
#include "tl_config.h"
#include "worker.h"
#include "xmalloc.h"

/* Connections taken per readiness event: keeps one worker from hogging. */
#define ACCEPT_BURST 32

struct listener {
	h2o_socket_t *sock;
	h2o_accept_ctx_t accept_ctx;
	SSL_CTX *ssl_ctx;
	const struct tl_http_listen *conf;
};

/* ALPN when HTTP/2 is off: say http/1.1 explicitly, never h2. */
static const h2o_iovec_t alpn_http1_only[] = { { "http/1.1", 8 }, { NULL, 0 } };

static int watching;            /* listeners polled for new connections */
static int emfile_pause;        /* out of descriptors: waiting 100 ms */
static uint64_t emfile_warned;  /* h2o_now() of the last warning about it */
static h2o_timeout_entry_t emfile_entry;

static const char *
ssl_reason(void)
{
	static char buf[256];
	unsigned long e = ERR_get_error();

	if (e == 0)
		return "unknown error";
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

static SSL_CTX *
tls_context(const struct tl_http_listen *l)
{
	SSL_CTX *ctx;
	const char *file = wk.conf->path != NULL ? wk.conf->path : "tokilake.yaml";

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		log_warnx("%s:%d: http.listen: cannot load certificate %s: %s", file, l->line, l->tls_cert,
		    ssl_reason());
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	if (SSL_CTX_use_certificate_chain_file(ctx, l->tls_cert) != 1) {
		log_warnx("%s:%d: http.listen: cannot load certificate %s: %s", file, l->line, l->tls_cert,
		    ssl_reason());
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, l->tls_key != NULL ? l->tls_key : l->tls_cert,
	    SSL_FILETYPE_PEM) != 1) {
		log_warnx("%s:%d: http.listen: cannot load certificate %s: key %s: %s", file, l->line,
		    l->tls_cert, l->tls_key != NULL ? l->tls_key : l->tls_cert, ssl_reason());
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		log_warnx("%s:%d: http.listen: cannot load certificate %s: key %s does not match: %s",
		    file, l->line, l->tls_cert, l->tls_key != NULL ? l->tls_key : l->tls_cert,
		    ssl_reason());
		goto fail;
	}
	if (wk.conf->http.http2)
		h2o_ssl_register_alpn_protocols(ctx, h2o_alpn_protocols); /* h2, then http/1.1 */
	else
		h2o_ssl_register_alpn_protocols(ctx, alpn_http1_only);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static void on_accept(h2o_socket_t *listener, const char *err);

static void
set_watching(int on)
{
	if (on == watching)
		return;
	watching = on;
	for (size_t i = 0; i < wk.nlisteners; i++) {
		h2o_socket_t *s = wk.listeners[i].sock;

		if (s == NULL)
			continue;
		if (on)
			h2o_socket_read_start(s, on_accept);
		else
			h2o_socket_read_stop(s);
	}
}

void
wk_listeners_throttle(void)
{
	if (wk.state != WORKER_RUNNING || emfile_pause)
		return;
	set_watching(wk_conns_count() < wk.conf->http.max_connections);
}

static void
on_emfile_over(h2o_timeout_entry_t *entry)
{
	emfile_pause = 0;
	wk_listeners_throttle();
}

static void
on_accept(h2o_socket_t *listener, const char *err)
{
	struct listener *l = listener->data;

	if (err != NULL) {
		log_warnx("accept on %s: %s", l->conf->address, err);
		return;
	}
	for (int i = 0; i < ACCEPT_BURST; i++) {
		h2o_socket_t *sock;

		if (wk_conns_count() >= wk.conf->http.max_connections) {
			log_debug("at http.max_connections (%u): not accepting for now",
			    wk.conf->http.max_connections);
			set_watching(0);
			return;
		}
		if ((sock = h2o_evloop_socket_accept(listener)) == NULL) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				if (h2o_now(wk.loop) - emfile_warned >= 1000) {
					log_warn("accept on %s (pausing 100 ms)", l->conf->address);
					emfile_warned = h2o_now(wk.loop);
				}
				set_watching(0);
				emfile_pause = 1;
				h2o_timeout_link(wk.loop, &wk.ctx.hundred_ms_timeout, &emfile_entry);
			}
			return; /* EAGAIN: another worker took it, or the queue is empty */
		}
		wk_conns_track(sock);
		h2o_accept(&l->accept_ctx, sock);
		if (l->ssl_ctx == NULL)
			wk_read_guard_check(sock); /* plain HTTP/1: the guard is on it now */
	}
}

int
wk_listeners_open(void)
{
	const struct tl_config *conf = wk.conf;

	emfile_entry.cb = on_emfile_over;
	if (wk.cctx->nhttp_fds != conf->http.nlisten) {
		log_warnx("master passed %zu HTTP listeners for %zu configured", wk.cctx->nhttp_fds,
		    conf->http.nlisten);
		return EXIT_CONFIG;
	}
	wk.listeners = xcalloc(conf->http.nlisten ? conf->http.nlisten : 1, sizeof(*wk.listeners));
	wk.nlisteners = conf->http.nlisten;
	for (size_t i = 0; i < conf->http.nlisten; i++) {
		struct listener *l = &wk.listeners[i];

		l->conf = &conf->http.listen[i];
		if (l->conf->tls_cert != NULL && (l->ssl_ctx = tls_context(l->conf)) == NULL)
			return EXIT_CONFIG;
	}
	for (size_t i = 0; i < conf->http.nlisten; i++) {
		struct listener *l = &wk.listeners[i];

		l->accept_ctx.ctx = &wk.ctx;
		l->accept_ctx.hosts = wk.globalconf.hosts;
		l->accept_ctx.ssl_ctx = l->ssl_ctx;
		l->sock = h2o_evloop_socket_create(wk.loop, wk.cctx->http_fds[i], H2O_SOCKET_FLAG_DONT_READ);
		l->sock->data = l;
	}
	return wk_node_listener_open();
}

void
wk_listeners_start(void)
{
	set_watching(1);
	wk_listeners_throttle();
	wk_node_listener_start();
	for (size_t i = 0; i < wk.nlisteners; i++)
		log_debug("listening on %s%s", wk.listeners[i].conf->address,
		    wk.listeners[i].ssl_ctx != NULL ? " (TLS)" : "");
}

void
wk_listeners_close(void)
{
	h2o_timeout_unlink(&emfile_entry);
	watching = 0;
	wk_node_listener_close();
	for (size_t i = 0; i < wk.nlisteners; i++) {
		if (wk.listeners[i].sock != NULL) {
			/* closes our copy of the descriptor; the master and other workers keep theirs */
			h2o_socket_close(wk.listeners[i].sock);
			wk.listeners[i].sock = NULL;
		}
	}
}

void
wk_listeners_free(void)
{
	wk_listeners_close();
	wk_node_listener_free();
	for (size_t i = 0; i < wk.nlisteners; i++)
		if (wk.listeners[i].ssl_ctx != NULL)
			SSL_CTX_free(wk.listeners[i].ssl_ctx);
	free(wk.listeners);
	wk.listeners = NULL;
	wk.nlisteners = 0;
}
