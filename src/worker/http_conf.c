/*
 * http_conf: the h2o configuration of a worker, from tl_config.
 *
 * Every request lands on the host's fallback path (no other path is
 * registered), so the router sees all of them and errors h2o raises
 * before routing (413, broken chunked encoding) pass the same filter.
 * See conns.c for how the timeouts map onto what 2.2.5 offers.
 */
#include "config.h"

#include <h2o.h>

#include "api.h"
#include "tl_config.h"
#include "worker.h"

/* Streams one HTTP/2 connection may run at once (also what h2o advertises). */
#define HTTP2_MAX_STREAMS 100

void
wk_http_conf_init(void)
{
	const struct tl_config *conf = wk.conf;
	h2o_globalconf_t *gc = &wk.globalconf;
	h2o_pathconf_t *pathconf;

	h2o_config_init(gc);
	gc->server_name = h2o_iovec_init(H2O_STRLIT("tokilake"));
	gc->max_request_entity_size = conf->http.max_body_size;
	/* the TLS handshake is part of getting the request head in */
	gc->handshake_timeout = conf->http.header_timeout_ms;
	/* the outer bound for idle or body, + head; conns.c enforces the parts */
	gc->http1.req_timeout = (uint64_t)conf->http.header_timeout_ms +
	    (conf->http.idle_timeout_ms > conf->http.body_timeout_ms ? conf->http.idle_timeout_ms :
	    conf->http.body_timeout_ms) + 1000;
	/* HTTP/1.1 only unless the operator opted in: no h2c upgrade, no prior knowledge */
	gc->http1.upgrade_to_http2 = conf->http.http2 ? 1 : 0;
	gc->http2.idle_timeout = conf->http.idle_timeout_ms;
	gc->http2.max_concurrent_requests_per_connection = HTTP2_MAX_STREAMS;
	/* the worker bounds the whole drain itself (shutdown_timeout_ms) */
	gc->http2.graceful_shutdown_timeout = 0;

	wk.hostconf = h2o_config_register_host(gc, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	pathconf = &wk.hostconf->fallback_path;
	pathconf->error_log.emit_request_errors = 0;
	wk_router_register(pathconf);
	/* filters are prepended: registered last, it runs first (before chunked) */
	wk_error_filter_register(pathconf);
	wk_access_log_register(pathconf);
}
