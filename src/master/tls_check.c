/*
 * tls_check: load every certificate and key a config names, the way the
 * children will, so that `tokilake -n`, startup and a reload catch a
 * missing file, a broken PEM or a key that does not match its
 * certificate, instead of a child failing later.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cfg_table.h" /* cfg_line(): where a key was set */
#include "master.h"

static void
openssl_reason(char *out, size_t outlen)
{
	unsigned long e, last = 0;

	while ((e = ERR_get_error()) != 0)
		last = e; /* the last one is usually the most specific */
	if (last == 0)
		snprintf(out, outlen, "unknown OpenSSL error");
	else
		ERR_error_string_n(last, out, outlen);
}

static int
readable(const char *path, const char *where, const char *key, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1) {
		snprintf(err, errlen, "%s: %s: cannot open %s: %s", where, key, path,
		    strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/* The cert and key of one TLS block; key_prefix is its dotted name
 * ("http.listen.tls", "agents.tls"), cert_line/key_line where they are. */
static int
check_pair(const struct tl_config *conf, const char *cert, int cert_line, const char *key,
    int key_line, const char *key_prefix, char *err, size_t errlen)
{
	char cw[1024], kw[1024], ck[64], kk[64], reason[256];
	SSL_CTX *ctx;
	int rv = -1;

	snprintf(cw, sizeof(cw), "%s:%d", conf->path, cert_line);
	snprintf(kw, sizeof(kw), "%s:%d", conf->path, key_line);
	snprintf(ck, sizeof(ck), "%s.cert", key_prefix);
	snprintf(kk, sizeof(kk), "%s.key", key_prefix);
	if (readable(cert, cw, ck, err, errlen) == -1 || readable(key, kw, kk, err, errlen) == -1)
		return -1;
	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		openssl_reason(reason, sizeof(reason));
		snprintf(err, errlen, "%s: %s: SSL_CTX_new: %s", cw, key_prefix, reason);
		return -1;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		openssl_reason(reason, sizeof(reason));
		snprintf(err, errlen, "%s: %s: cannot load certificate %s: %s", cw, ck, cert,
		    reason);
	} else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		openssl_reason(reason, sizeof(reason));
		snprintf(err, errlen, "%s: %s: cannot load key %s: %s", kw, kk, key, reason);
	} else if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "%s: %s: %s does not match the certificate %s", kw, kk, key,
		    cert);
	} else
		rv = 0;
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return rv;
}

int
tls_check_config(const struct tl_config *conf, char *err, size_t errlen)
{
	/* the parser already made sure cert and key come together */
	for (size_t i = 0; i < conf->http.nlisten; i++) {
		const struct tl_http_listen *l = &conf->http.listen[i];

		if (l->tls_cert == NULL || l->tls_key == NULL)
			continue;
		if (check_pair(conf, l->tls_cert, l->line, l->tls_key, l->line, "http.listen.tls",
		    err, errlen) == -1)
			return -1;
	}
	if (!conf->agents.plaintext && conf->agents.tls_cert != NULL &&
	    conf->agents.tls_key != NULL &&
	    check_pair(conf, conf->agents.tls_cert, cfg_line(conf->lines, "agents.tls.cert"),
	    conf->agents.tls_key, cfg_line(conf->lines, "agents.tls.key"), "agents.tls", err,
	    errlen) == -1)
		return -1;
	return 0;
}
