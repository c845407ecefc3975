/* link_tls: see link_tls.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "hostport.h"
#include "link_tls.h"
#include "log.h"
#include "tm_config.h"

static const unsigned char alpn_h2[] = { 2, 'h', '2' };

/* The first OpenSSL error of the queue as text, or fallback. */
static void
ssl_err(char *out, size_t outlen, const char *fallback)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(out, outlen, "%s", fallback);
	else
		ERR_error_string_n(e, out, outlen);
	ERR_clear_error();
}

SSL_CTX *
tls_client_ctx(const struct tm_config *conf, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	char why[256];

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		ssl_err(why, sizeof(why), "SSL_CTX_new failed");
		snprintf(err, errlen, "TLS: %s", why);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	/* our output buffer may move between retries of one SSL_write */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* one read(2) takes what the socket has, not a record header and then
	 * its body; tc_pending() sees what was read ahead (SSL_has_pending) */
	SSL_CTX_set_read_ahead(ctx, 1);
	if (SSL_CTX_set_alpn_protos(ctx, alpn_h2, sizeof(alpn_h2)) != 0) {
		snprintf(err, errlen, "TLS: cannot set ALPN");
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (conf->tls.insecure_skip_verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		return ctx;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (conf->tls.ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, conf->tls.ca_file, NULL) != 1) {
			ssl_err(why, sizeof(why), "cannot load");
			snprintf(err, errlen, "tls.ca_file: %s: %s", conf->tls.ca_file, why);
			SSL_CTX_free(ctx);
			return NULL;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		ssl_err(why, sizeof(why), "cannot load");
		snprintf(err, errlen, "TLS: system CA store: %s", why);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

void
tc_init(struct tls_conn *tc)
{
	memset(tc, 0, sizeof(*tc));
	tc->fd = -1;
	tc->state = TC_CLOSED;
}

static void
describe_addr(const struct addrinfo *ai, char *out, size_t outlen)
{
	char host[INET6_ADDRSTRLEN];
	unsigned port = 0;
	const void *a = NULL;

	if (ai->ai_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ai->ai_addr;
		a = &s->sin_addr;
		port = ntohs(s->sin_port);
	} else if (ai->ai_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ai->ai_addr;
		a = &s->sin6_addr;
		port = ntohs(s->sin6_port);
	}
	if (a == NULL || inet_ntop(ai->ai_family, a, host, sizeof(host)) == NULL)
		snprintf(out, outlen, "?");
	else if (ai->ai_family == AF_INET6)
		snprintf(out, outlen, "[%s]:%u", host, port);
	else
		snprintf(out, outlen, "%s:%u", host, port);
}

/* Start a non-blocking connect to the next resolved address. */
static int
connect_next(struct tls_conn *tc, char *err, size_t errlen)
{
	int saved = 0;

	for (; tc->ai_cur != NULL; tc->ai_cur = tc->ai_cur->ai_next) {
		struct addrinfo *ai = tc->ai_cur;
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		describe_addr(ai, tc->peer, sizeof(tc->peer));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
			tc->fd = fd;
			tc->state = TC_CONNECTING;
			return 0;
		}
		saved = errno;
		close(fd);
		snprintf(err, errlen, "connect to %s: %s", tc->peer, strerror(saved));
	}
	if (saved == 0)
		snprintf(err, errlen, "no address to connect to");
	return -1;
}

int
tc_start(struct tls_conn *tc, const char *host, const char *port, SSL_CTX *ctx,
    const char *verify_name, int insecure, char *err, size_t errlen)
{
	struct addrinfo hints;
	int rc;

	tc_init(tc);
	tc->ctx = ctx;
	tc->verify_name = verify_name;
	tc->insecure = insecure;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	/* Blocking resolution: while it runs there is no link, so no task can
	 * be waiting on us; only the local API pauses for as long. */
	if ((rc = getaddrinfo(host, port, &hints, &tc->ai)) != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(rc));
		tc->ai = NULL;
		return -1;
	}
	tc->ai_cur = tc->ai;
	return connect_next(tc, err, errlen);
}

static int
start_tls(struct tls_conn *tc, char *err, size_t errlen)
{
	char why[256];
	const char *name = tc->verify_name;

	if ((tc->ssl = SSL_new(tc->ctx)) == NULL) {
		ssl_err(why, sizeof(why), "SSL_new failed");
		snprintf(err, errlen, "TLS: %s", why);
		return -1;
	}
	/* RFC 6066: no IP literals in SNI */
	if (!host_is_ip(name))
		SSL_set_tlsext_host_name(tc->ssl, name);
	if (!tc->insecure) {
		X509_VERIFY_PARAM *param = SSL_get0_param(tc->ssl);
		int ok;
		X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (host_is_ip(name))
			ok = X509_VERIFY_PARAM_set1_ip_asc(param, name);
		else
			ok = SSL_set1_host(tc->ssl, name);
		if (ok != 1) {
			snprintf(err, errlen, "TLS: cannot verify against the name \"%s\"", name);
			return -1;
		}
	}
	SSL_set_fd(tc->ssl, tc->fd);
	SSL_set_connect_state(tc->ssl);
	tc->state = TC_HANDSHAKE;
	tc->hs_events = POLLOUT;
	return 0;
}

static int
handshake(struct tls_conn *tc, char *err, size_t errlen)
{
	const unsigned char *proto = NULL;
	unsigned int plen = 0;
	char why[256];
	long vr;
	int r;

	ERR_clear_error();
	r = SSL_do_handshake(tc->ssl);
	if (r == 1) {
		SSL_get0_alpn_selected(tc->ssl, &proto, &plen);
		if (plen != 2 || memcmp(proto, "h2", 2) != 0) {
			snprintf(err, errlen, "TLS with %s: the server did not select ALPN \"h2\" "
			    "(is it a gRPC endpoint?)", tc->peer);
			return -1;
		}
		tc->state = TC_OPEN;
		return 1;
	}
	switch (SSL_get_error(tc->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		tc->hs_events = POLLIN;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		tc->hs_events = POLLOUT;
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno != 0 && ERR_peek_error() == 0) {
			snprintf(err, errlen, "TLS handshake with %s: %s", tc->peer, strerror(errno));
			return -1;
		}
		break;
	default:
		break;
	}
	vr = SSL_get_verify_result(tc->ssl);
	if (vr != X509_V_OK) {
		snprintf(err, errlen, "TLS handshake with %s: certificate verify failed: %s "
		    "(checked name \"%s\")", tc->peer, X509_verify_cert_error_string(vr),
		    tc->verify_name);
		ERR_clear_error();
		return -1;
	}
	ssl_err(why, sizeof(why), "connection closed during the handshake");
	snprintf(err, errlen, "TLS handshake with %s: %s", tc->peer, why);
	return -1;
}

int
tc_progress(struct tls_conn *tc, short revents, char *err, size_t errlen)
{
	int soerr = 0, one = 1;
	socklen_t sl = sizeof(soerr);

	switch (tc->state) {
	case TC_CONNECTING:
		if ((revents & (POLLOUT | POLLERR | POLLHUP)) == 0)
			return 0;
		if (getsockopt(tc->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
			soerr = errno;
		if (soerr == EINPROGRESS)
			return 0;
		if (soerr != 0) {
			snprintf(err, errlen, "connect to %s: %s", tc->peer, strerror(soerr));
			close(tc->fd);
			tc->fd = -1;
			tc->ai_cur = tc->ai_cur->ai_next;
			if (tc->ai_cur == NULL)
				return -1;
			log_debug("link: %s, trying the next address", err);
			return connect_next(tc, err, errlen);
		}
		/* small gRPC messages should not wait for Nagle */
		setsockopt(tc->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (tc->ctx == NULL) {
			tc->state = TC_OPEN;
			return 1;
		}
		if (start_tls(tc, err, errlen) == -1)
			return -1;
		/* FALLTHROUGH */
	case TC_HANDSHAKE:
		return handshake(tc, err, errlen);
	case TC_OPEN:
		return 1;
	default:
		snprintf(err, errlen, "not connected");
		return -1;
	}
}

short
tc_events(const struct tls_conn *tc, int want_write)
{
	switch (tc->state) {
	case TC_CONNECTING:
		return POLLOUT;
	case TC_HANDSHAKE:
		return tc->hs_events;
	case TC_OPEN:
		return POLLIN | ((want_write || tc->rd_wants_write) ? POLLOUT : 0);
	default:
		return 0;
	}
}

/* Map an SSL_read/SSL_write failure. 0 = retry later, -1 = fatal. */
static int
ssl_failure(struct tls_conn *tc, int r, int reading, char *err, size_t errlen)
{
	char why[256];

	switch (SSL_get_error(tc->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		if (!reading)
			tc->wr_wants_read = 1;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		if (reading)
			tc->rd_wants_write = 1;
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		snprintf(err, errlen, "the server closed the TLS session");
		return -1;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			if (errno == 0 || r == 0)
				snprintf(err, errlen, "the server closed the connection");
			else
				snprintf(err, errlen, "%s: %s", reading ? "read" : "write",
				    strerror(errno));
			return -1;
		}
		/* FALLTHROUGH */
	default:
		if (ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			ERR_clear_error();
			snprintf(err, errlen, "the server closed the connection (without TLS "
			    "close_notify)");
			return -1;
		}
		ssl_err(why, sizeof(why), "TLS error");
		snprintf(err, errlen, "TLS: %s", why);
		return -1;
	}
}

ssize_t
tc_read(struct tls_conn *tc, void *buf, size_t len, char *err, size_t errlen)
{
	ssize_t n;
	int r;

	if (tc->ssl == NULL) {
		n = read(tc->fd, buf, len);
		if (n > 0)
			return n;
		if (n == 0) {
			snprintf(err, errlen, "the server closed the connection");
			return -1;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		snprintf(err, errlen, "read: %s", strerror(errno));
		return -1;
	}
	tc->rd_wants_write = 0;
	ERR_clear_error();
	errno = 0;
	r = SSL_read(tc->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (r > 0)
		return r;
	return ssl_failure(tc, r, 1, err, errlen);
}

int
tc_pending(const struct tls_conn *tc)
{
	return tc->ssl != NULL && SSL_has_pending(tc->ssl);
}

ssize_t
tc_write(struct tls_conn *tc, const void *buf, size_t len, char *err, size_t errlen)
{
	ssize_t n;
	int r;

	if (tc->ssl == NULL) {
		n = send(tc->fd, buf, len, MSG_NOSIGNAL);
		if (n >= 0)
			return n;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		snprintf(err, errlen, "write: %s", strerror(errno));
		return -1;
	}
	tc->wr_wants_read = 0;
	ERR_clear_error();
	errno = 0;
	r = SSL_write(tc->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (r > 0)
		return r;
	return ssl_failure(tc, r, 0, err, errlen);
}

const char *
tc_describe(const struct tls_conn *tc)
{
	return tc->ssl != NULL ? SSL_get_version(tc->ssl) : "h2c, no TLS";
}

void
tc_close(struct tls_conn *tc, int graceful)
{
	if (tc->ssl != NULL) {
		if (graceful && tc->state == TC_OPEN) {
			ERR_clear_error();
			(void)SSL_shutdown(tc->ssl); /* one try: never wait for it */
		}
		SSL_free(tc->ssl);
		tc->ssl = NULL;
	}
	if (tc->fd != -1)
		close(tc->fd);
	tc->fd = -1;
	if (tc->ai != NULL)
		freeaddrinfo(tc->ai);
	tc->ai = tc->ai_cur = NULL;
	tc->state = TC_CLOSED;
}
