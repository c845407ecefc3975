/*
 * api_health: GET /healthz, the worker's own health.
 *
 * 200 whenever the worker can answer; "agentd" says whether requests for
 * models can be relayed right now. A load balancer that wants both can
 * look at the field; one that restarts unhealthy workers must not restart
 * a worker because agentd is down.
 */
#include "config.h"

#include <h2o.h>

#include "agentd_link.h"
#include "api.h"
#include "oai_error.h"

void
wk_api_health(h2o_req_t *req)
{
	static const char up[] = "{\"status\":\"ok\",\"agentd\":\"up\"}";
	static const char down[] = "{\"status\":\"ok\",\"agentd\":\"down\"}";

	/* never cached: the answer changes with agentd's state */
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, "Cache-Control",
	    H2O_STRLIT("no-store"));
	if (wk_agentd_link_is_up())
		wk_http_send_json(req, 200, h2o_iovec_init(up, sizeof(up) - 1));
	else
		wk_http_send_json(req, 200, h2o_iovec_init(down, sizeof(down) - 1));
}
