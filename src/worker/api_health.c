/*
 * api_health: GET /healthz, the node's health as this worker sees it.
 *
 * 200 with "status":"ok" whenever the node can serve; "agentd" says
 * whether requests for models can be relayed right now (a load balancer
 * that restarts unhealthy workers must not restart one because agentd is
 * down). 503 with "status":"unavailable" and a "reason" when the node
 * cannot tell the truth about models: PostgreSQL mode without any
 * snapshot of the database, or node.name held by another instance. The
 * database fields come from the master (NODE_STATE); a node serving from
 * an old snapshot while reconnecting stays 200 and says so.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include <h2o.h>

#include "agentd_link.h"
#include "api.h"
#include "ipc.h"
#include "master_link.h"
#include "oai_error.h"

static const char *
db_name(uint8_t v)
{
	switch (v) {
	case IPC_DB_STANDALONE:
		return "standalone";
	case IPC_DB_CONNECTED:
		return "connected";
	case IPC_DB_RECONNECTING:
		return "reconnecting";
	default:
		return "unknown";
	}
}

static const char *
name_name(uint8_t v)
{
	switch (v) {
	case IPC_NAME_UNCLAIMED:
		return "unclaimed";
	case IPC_NAME_HELD:
		return "held";
	case IPC_NAME_LOST:
		return "lost";
	default:
		return "unknown";
	}
}

void
wk_api_health(h2o_req_t *req)
{
	const struct wk_node_state *st = wk_master_node_state();
	const char *why = wk_node_unavailable();
	const char *agentd = wk_agentd_link_is_up() ? "up" : "down";
	char *body;
	int n;

	/* never cached: the answer changes with the node's state */
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, "Cache-Control",
	    H2O_STRLIT("no-store"));
	body = h2o_mem_alloc_pool(&req->pool, 512);
	if (!st->known && why != NULL)
		n = snprintf(body, 512, "{\"status\":\"unavailable\",\"reason\":\"%s\","
		    "\"agentd\":\"%s\"}", why, agentd);
	else if (!st->known || st->database == IPC_DB_STANDALONE)
		n = snprintf(body, 512, "{\"status\":\"ok\",\"agentd\":\"%s\"%s}", agentd,
		    st->known ? ",\"database\":\"standalone\"" : "");
	else
		/* every string here is one of ours: nothing to escape */
		n = snprintf(body, 512, "{\"status\":\"%s\",%s%s%s\"agentd\":\"%s\","
		    "\"database\":\"%s\",\"snapshot\":\"%s\",\"name\":\"%s\",\"since\":%" PRIu64 "}",
		    why != NULL ? "unavailable" : "ok", why != NULL ? "\"reason\":\"" : "",
		    why != NULL ? why : "", why != NULL ? "\"," : "", agentd, db_name(st->database),
		    st->snapshot ? "loaded" : "none", name_name(st->name), st->since);
	if (n < 0 || n >= 512)
		n = 0;
	wk_http_send_json(req, why != NULL ? 503 : 200, h2o_iovec_init(body, (size_t)n));
}
