/*
 * access_log: one debug line per finished request, with its request id;
 * also counts served requests and tells conns.c when an HTTP/1
 * connection goes idle (h2o runs loggers exactly when it disposes of a
 * request, before waiting for the next one on the connection). The line
 * names the API key the request was admitted with (key=NAME, "-" for
 * none), never its secret.
 *
 * Errors worth a warning are logged where they happen (agentd lost, a
 * timeout...); client mistakes (400, 404) stay at debug so that clients
 * cannot flood the log.
 */
#include "config.h"

#include <stdio.h>
#include <sys/time.h>

#include <h2o.h>

#include "api.h"
#include "apikey.h"
#include "auth.h"
#include "log.h"
#include "worker.h"

#define PATH_MAX_LOGGED 200

/* Copy for the log: bounded, control characters replaced. */
static void
printable(char *dst, size_t dstlen, const char *s, size_t len)
{
	size_t n = len < dstlen - 1 ? len : dstlen - 1;

	for (size_t i = 0; i < n; i++)
		dst[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	dst[n] = '\0';
}

static void
log_access(h2o_logger_t *self, h2o_req_t *req)
{
	char method[16], path[PATH_MAX_LOGGED + 1], rid[130];
	const struct apikey *key = wk_auth_key(req);
	ssize_t i;
	struct timeval now;
	long ms = 0;

	wk.served++;
	wk_conns_request_done(req);

	i = h2o_find_header_by_str(&req->res.headers, H2O_STRLIT("x-request-id"), -1);
	if (i != -1)
		printable(rid, sizeof(rid), req->res.headers.entries[i].value.base,
		    req->res.headers.entries[i].value.len);
	else
		snprintf(rid, sizeof(rid), "-");
	printable(method, sizeof(method), req->input.method.base, req->input.method.len);
	printable(path, sizeof(path), req->input.path.base, req->input.path.len);
	if (req->timestamps.request_begin_at.tv_sec != 0) {
		gettimeofday(&now, NULL);
		ms = (now.tv_sec - req->timestamps.request_begin_at.tv_sec) * 1000L +
		    (now.tv_usec - req->timestamps.request_begin_at.tv_usec) / 1000;
	}
	log_debug("req %s: %s %s HTTP/%s -> %d, %zu bytes, %ld ms, key=%s", rid, method, path,
	    req->version >= 0x200 ? "2" : req->version == 0x100 ? "1.0" : "1.1", req->res.status,
	    req->bytes_sent, ms, key != NULL ? key->name : "-");
}

void
wk_access_log_register(h2o_pathconf_t *pathconf)
{
	h2o_logger_t *l = h2o_create_logger(pathconf, sizeof(*l));

	l->log_access = log_access;
}
