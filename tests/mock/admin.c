/*
 * admin: /healthz and the /mock/... endpoints tests use to steer and
 * inspect the mock. They answer at once and ignore failure knobs.
 *
 *   GET  /mock/requests  {"total":N,"paths":{"/v1/...":N}}
 *   GET  /mock/aborts    {"aborts":[{"at_ms","request_id","path","events_sent"}],"dropped":N}
 *   GET  /mock/models    the model list, as GET /v1/models
 *   POST /mock/models    {"models":["a","b"]} replaces the list
 *   POST /mock/reset     forgets counts and aborts
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "buf.h"
#include "mreq.h"
#include "state.h"
#include "xmalloc.h"

/* Run a JSON writer into a temporary buffer and send it. */
static void
send_built(h2o_req_t *req, int status, void (*build)(struct jw *))
{
	struct buf b;
	struct jw w;

	buf_init(&b, MOCK_MAX_OUT);
	jw_init(&w, &b);
	build(&w);
	reply_now(req, status, "application/json", (const char *)buf_head(&b), b.len);
	buf_free(&b);
}

void
admin_error(h2o_req_t *req, int status, const char *msg)
{
	struct buf b;
	struct jw w;

	buf_init(&b, 4096);
	jw_init(&w, &b);
	jw_raw(&w, "{\"error\":{\"message\":");
	jw_cstr(&w, msg);
	jw_raw(&w, ",\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}");
	reply_now(req, status, "application/json", (const char *)buf_head(&b), b.len);
	buf_free(&b);
}

void
admin_healthz(h2o_req_t *req)
{
	reply_now(req, 200, "application/json", H2O_STRLIT("{\"status\":\"ok\"}"));
}

void
admin_requests(h2o_req_t *req)
{
	send_built(req, 200, state_counts_json);
}

void
admin_aborts(h2o_req_t *req)
{
	send_built(req, 200, state_aborts_json);
}

void
admin_models_get(h2o_req_t *req)
{
	send_built(req, 200, state_models_json);
}

void
admin_reset(h2o_req_t *req)
{
	state_reset();
	load_reset();
	reply_now(req, 200, "application/json", H2O_STRLIT("{\"reset\":true}"));
}

void
admin_models_set(h2o_req_t *req)
{
	const char *path[] = { "models", NULL };
	char err[256] = "", *copy;
	yajl_val root, list;

	if (req->entity.base == NULL || req->entity.len == 0 || req->entity.len > 1 << 20) {
		admin_error(req, 400, "want a JSON body {\"models\":[...]} of at most 1 MiB");
		return;
	}
	if (!mreq_json_depth_ok(req->entity.base, req->entity.len)) {
		admin_error(req, 400, "JSON nested too deep");
		return;
	}
	copy = xstrndup(req->entity.base, req->entity.len);
	root = yajl_tree_parse(copy, err, sizeof(err));
	free(copy);
	if (root == NULL) {
		err[strcspn(err, "\r\n")] = '\0';
		admin_error(req, 400, err[0] != '\0' ? err : "invalid JSON");
		return;
	}
	list = yajl_tree_get(root, path, yajl_t_array);
	if (list == NULL)
		admin_error(req, 400, "want {\"models\":[\"name\",...]}");
	else if (state_models_set(list, err, sizeof(err)) == -1)
		admin_error(req, 400, err);
	else
		send_built(req, 200, state_models_json);
	yajl_tree_free(root);
}
