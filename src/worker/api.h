/*
 * api: the worker's HTTP surface.
 *
 * One h2o path (the host's fallback path, which every request reaches)
 * carries one handler, the router, which dispatches on method and path to
 * the api_* functions; one filter, which turns every error h2o writes
 * itself into an OpenAI-shaped JSON error and adds X-Request-Id to every
 * response; and one logger, which writes a debug line per request.
 *
 * Each api_* function answers the request (now or later) and returns.
 */
#ifndef TL_WORKER_API_H
#define TL_WORKER_API_H

#include <stddef.h>

#include <h2o.h>

void wk_router_register(h2o_pathconf_t *pathconf);
void wk_error_filter_register(h2o_pathconf_t *pathconf);
void wk_access_log_register(h2o_pathconf_t *pathconf);

/* GET /healthz */
void wk_api_health(h2o_req_t *req);
/* GET /v1/models */
void wk_api_models_list(h2o_req_t *req);
/* GET /v1/models/{id} */
void wk_api_models_get(h2o_req_t *req, const char *id, size_t id_len);
/* POST /v1/... : validated and relayed to agentd */
void wk_api_proxy(h2o_req_t *req);

/* Count a request as active until req is disposed (STATUS.active). */
void wk_api_track_active(h2o_req_t *req);

#endif
