/*
 * link_tls: the byte stream under the agent link. A non-blocking TCP
 * connection to the tokilake node, wrapped in TLS (OpenSSL, ALPN "h2")
 * unless the config asks for plaintext h2c.
 *
 * Verification is on by default: the chain against tls.ca_file or the
 * system store, and the host name (or IP address) against the
 * certificate, with SNI. insecure_skip_verify turns both off; the caller
 * warns at every connect. A server that does not select ALPN "h2" fails
 * the handshake: gRPC is HTTP/2 only.
 *
 * Everything here is non-blocking: tc_progress() is called when the
 * socket is ready until it reports the stream open; tc_read()/tc_write()
 * return 0 when they would block. Errors come back as text for the log
 * and /status.
 */
#ifndef TM_LINK_TLS_H
#define TM_LINK_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

struct tm_config;
struct addrinfo;

enum tc_state { TC_CLOSED, TC_CONNECTING, TC_HANDSHAKE, TC_OPEN };

struct tls_conn {
	enum tc_state state;
	int fd;
	SSL *ssl;                /* NULL for h2c */
	SSL_CTX *ctx;            /* not owned; NULL for h2c */
	const char *verify_name; /* not owned: SNI and the name checked */
	int insecure;
	struct addrinfo *ai;     /* resolved addresses, tried in turn */
	struct addrinfo *ai_cur;
	short hs_events;         /* what the handshake waits for */
	int rd_wants_write;      /* SSL_read needs the socket writable */
	int wr_wants_read;       /* SSL_write needs the socket readable */
	char peer[80];           /* address being tried, for logs */
};

/* The client context for every connection of this process run. NULL with
 * err if tls.ca_file cannot be loaded. */
SSL_CTX *tls_client_ctx(const struct tm_config *conf, char *err, size_t errlen);

void tc_init(struct tls_conn *tc);
/* Resolve and start connecting. ctx NULL = plaintext. -1 with err. */
int tc_start(struct tls_conn *tc, const char *host, const char *port, SSL_CTX *ctx,
    const char *verify_name, int insecure, char *err, size_t errlen);
/* Drive the TCP connect and the handshake: 1 when open, 0 in progress,
 * -1 with err. */
int tc_progress(struct tls_conn *tc, short revents, char *err, size_t errlen);
/* Poll events: want_write when the caller has bytes to send. */
short tc_events(const struct tls_conn *tc, int want_write);
/* >0 bytes, 0 would block, -1 with err (including an orderly close). */
ssize_t tc_read(struct tls_conn *tc, void *buf, size_t len, char *err, size_t errlen);
/* 1 if TLS holds decrypted or read-ahead bytes that poll() cannot see. */
int tc_pending(const struct tls_conn *tc);
ssize_t tc_write(struct tls_conn *tc, const void *buf, size_t len, char *err, size_t errlen);
/* "TLSv1.3" or "h2c", for the log. */
const char *tc_describe(const struct tls_conn *tc);
/* Send close_notify if we can without blocking, then close. */
void tc_close(struct tls_conn *tc, int graceful);

#endif
