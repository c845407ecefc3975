/*
 * router: the worker's one h2o handler; dispatches on method and path.
 *
 *   GET  /healthz            worker health (and whether agentd is up)
 *
 * Every other path needs an API key when keys are required (auth.h): the
 * check comes before dispatching, so a refused request reaches nothing.
 *
 *   GET  /v1/models          models agentd knows, OpenAI list format
 *   GET  /v1/models/{id}     one of them
 *   POST /v1/chat/completions, /v1/completions, /v1/embeddings and any
 *        other POST /v1/...  relayed to an agent through agentd
 *
 * A known path with another method gets 405 and an Allow header; any
 * other path gets 404 with code unknown_url. HEAD is allowed where GET is.
 */
#include "config.h"

#include <string.h>

#include <h2o.h>

#include "api.h"
#include "auth.h"
#include "framing.h"
#include "node_listener.h"
#include "oai_error.h"
#include "request_id.h"
#include "worker.h"

/* Longest path quoted back in an error message. */
#define QUOTE_MAX 200
/* Longest request target accepted (it must fit an IPC frame with room). */
#define TARGET_MAX 8192

static const char *const post_endpoints[] = {
	"/v1/chat/completions",
	"/v1/completions",
	"/v1/embeddings",
};

static int
path_is(h2o_iovec_t path, const char *s)
{
	return h2o_memis(path.base, path.len, s, strlen(s));
}

static int
path_has_prefix(h2o_iovec_t path, const char *s)
{
	size_t n = strlen(s);

	return path.len >= n && memcmp(path.base, s, n) == 0;
}

static int
method_is(h2o_req_t *req, const char *m)
{
	return h2o_memis(req->method.base, req->method.len, m, strlen(m));
}

static int
is_get(h2o_req_t *req)
{
	return method_is(req, "GET") || method_is(req, "HEAD");
}

/* Lengths of the method and path quoted in error messages. */
#define QUOTED(v, max) (int)((v).len > (max) ? (max) : (v).len), (v).base

static void
method_not_allowed(h2o_req_t *req, const char *allow)
{
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, "Allow", allow,
	    strlen(allow));
	wk_oai_send_error(req, 405, "invalid_request_error", NULL, "method_not_allowed",
	    "Method %.*s is not allowed on %.*s; use %s", QUOTED(req->method, 32),
	    QUOTED(req->path_normalized, QUOTE_MAX), allow);
}

static void
unknown_url(h2o_req_t *req)
{
	wk_oai_send_error(req, 404, "invalid_request_error", NULL, "unknown_url",
	    "Invalid URL (%.*s %.*s)", QUOTED(req->method, 32),
	    QUOTED(req->path_normalized, QUOTE_MAX));
}

static int
on_req(h2o_handler_t *self, h2o_req_t *req)
{
	h2o_iovec_t path = req->path_normalized;

	(void)wk_request_id(req); /* chosen now: every later log line can use it */
	wk_api_track_active(req);
	if (wk_framing_refused(req)) /* HTTP/1 framing h2o should have refused */
		return 0;
	if (wk_node_refused(req)) /* node.listen: the node secret first */
		return 0;

	if (req->path.len > TARGET_MAX) {
		wk_oai_send_error(req, 414, "invalid_request_error", NULL, "uri_too_long",
		    "the request target is longer than %d bytes", TARGET_MAX);
		return 0;
	}
	if (path_is(path, "/healthz")) {
		if (is_get(req))
			wk_api_health(req);
		else
			method_not_allowed(req, "GET, HEAD");
		return 0;
	}
	if (wk_auth_refused(req)) /* 401, 403 (or 503 before the keys are loaded) */
		return 0;
	if (path_is(path, "/v1/models") || path_is(path, "/v1/models/")) {
		if (is_get(req))
			wk_api_models_list(req);
		else
			method_not_allowed(req, "GET, HEAD");
		return 0;
	}
	if (path_has_prefix(path, "/v1/models/")) {
		size_t skip = sizeof("/v1/models/") - 1;

		if (is_get(req))
			wk_api_models_get(req, path.base + skip, path.len - skip);
		else
			method_not_allowed(req, "GET, HEAD");
		return 0;
	}
	for (size_t i = 0; i < sizeof(post_endpoints) / sizeof(post_endpoints[0]); i++) {
		if (path_is(path, post_endpoints[i])) {
			if (method_is(req, "POST"))
				wk_api_proxy(req);
			else
				method_not_allowed(req, "POST");
			return 0;
		}
	}
	if (path_has_prefix(path, "/v1/") && method_is(req, "POST")) {
		wk_api_proxy(req);
		return 0;
	}
	unknown_url(req);
	return 0;
}

void
wk_router_register(h2o_pathconf_t *pathconf)
{
	h2o_handler_t *h = h2o_create_handler(pathconf, sizeof(*h));

	h->on_req = on_req;
}
