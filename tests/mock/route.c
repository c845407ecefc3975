/*
 * route: the one h2o handler. /healthz and /mock/... answer at once;
 * every /v1/... request goes through the answer engine (mreq.h), so the
 * failure knobs work on all of them, GET /v1/models included.
 * Requests are counted per path (without the query), /mock/... excepted.
 */
#include "config.h"

#include <string.h>

#include "mreq.h"
#include "state.h"

#define PATH_IS(p, lit) h2o_memis((p).base, (p).len, H2O_STRLIT(lit))
#define HAS_PREFIX(p, lit) \
	((p).len >= sizeof(lit) - 1 && memcmp((p).base, lit, sizeof(lit) - 1) == 0)

static void
not_found(h2o_req_t *req)
{
	static const char body[] =
	    "{\"error\":{\"message\":\"no such endpoint in the mock\","
	    "\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"not_found\"}}";

	reply_now(req, 404, "application/json", body, sizeof(body) - 1);
}

static void
bad_method(h2o_req_t *req)
{
	static const char body[] =
	    "{\"error\":{\"message\":\"method not allowed\",\"type\":\"invalid_request_error\","
	    "\"param\":null,\"code\":\"method_not_allowed\"}}";

	reply_now(req, 405, "application/json", body, sizeof(body) - 1);
}

static void
admin(h2o_req_t *req, h2o_iovec_t path, int get, int post)
{
	if (PATH_IS(path, "/mock/requests") && get)
		admin_requests(req);
	else if (PATH_IS(path, "/mock/aborts") && get)
		admin_aborts(req);
	else if (PATH_IS(path, "/mock/models") && get)
		admin_models_get(req);
	else if (PATH_IS(path, "/mock/models") && post)
		admin_models_set(req);
	else if (PATH_IS(path, "/mock/reset") && post)
		admin_reset(req);
	else if (PATH_IS(path, "/mock/load") && get)
		load_get(req);
	else if (PATH_IS(path, "/mock/load") && post)
		load_set(req);
	else if (PATH_IS(path, "/mock/requests") || PATH_IS(path, "/mock/aborts") ||
	    PATH_IS(path, "/mock/models") || PATH_IS(path, "/mock/reset") ||
	    PATH_IS(path, "/mock/load"))
		bad_method(req);
	else
		not_found(req);
}

/* Every POST /v1/... but transcriptions wants a JSON object. */
static int
need_object(struct mreq *m)
{
	if (YAJL_IS_OBJECT(m->root))
		return 0;
	reply_error(m, 400, "invalid_request_error", "invalid_json", "invalid JSON body: %s",
	    m->json_err);
	return -1;
}

/* The OpenAI endpoints also want a string "model". */
static int
need_model(struct mreq *m)
{
	if (m->model.base == NULL) {
		reply_error(m, 400, "invalid_request_error", "missing_model",
		    "you must provide a model parameter (a string)");
		return -1;
	}
	if (mopts.strict_models && !state_model_known(m->model.base, m->model.len)) {
		reply_error(m, 404, "invalid_request_error", "model_not_found",
		    "the model '%.*s' does not exist", (int)(m->model.len > 200 ? 200 : m->model.len),
		    m->model.base);
		return -1;
	}
	return 0;
}

static void
v1(h2o_req_t *req, h2o_iovec_t path, int get, int post)
{
	struct mreq *m = mreq_new(req, path, post);
	int chat = PATH_IS(path, "/v1/chat/completions"), compl = PATH_IS(path, "/v1/completions"),
	    embed = PATH_IS(path, "/v1/embeddings"), speech = PATH_IS(path, "/v1/audio/speech"),
	    transcr = PATH_IS(path, "/v1/audio/transcriptions"), models = PATH_IS(path, "/v1/models"),
	    model = HAS_PREFIX(path, "/v1/models/") && path.len > sizeof("/v1/models/") - 1;

	if (mreq_parse(m) == -1)
		; /* the error is set */
	else if (m->fail.status != 0)
		reply_error(m, m->fail.status, m->fail.status < 500 ? "invalid_request_error" : "server_error",
		    "mock_injected", "mock failure: status %d (injected)", m->fail.status);
	else if (get && models)
		ep_models(m);
	else if (get && model)
		ep_model(m, h2o_iovec_init(path.base + sizeof("/v1/models/") - 1,
				    path.len - (sizeof("/v1/models/") - 1)));
	else if (!post && (chat || compl || embed || speech || transcr))
		reply_error(m, 405, "invalid_request_error", "method_not_allowed", "use POST");
	else if (!get && (models || model))
		reply_error(m, 405, "invalid_request_error", "method_not_allowed", "use GET");
	else if (!post)
		reply_error(m, 404, "invalid_request_error", "not_found", "no such endpoint in the mock");
	else if (transcr)
		ep_transcriptions(m);
	else if (need_object(m) == -1)
		; /* the error is set */
	else if (!(chat || compl || embed || speech))
		ep_echo(m);
	else if (need_model(m) == -1)
		; /* the error is set */
	else if (chat || compl)
		ep_chat(m, chat ? MREQ_CHAT : MREQ_COMPLETION);
	else if (embed)
		ep_embeddings(m);
	else
		ep_speech(m);
	/* the answer is built: the tree is not needed any more */
	if (m->root != NULL) {
		yajl_tree_free(m->root);
		m->root = NULL;
	}
	reply_run(m);
}

int
mock_route(h2o_handler_t *self, h2o_req_t *req)
{
	h2o_iovec_t path = req->path_normalized;
	int get = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"));
	int post = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"));
	const char *q;

	if ((q = memchr(path.base, '?', path.len)) != NULL)
		path.len = (size_t)(q - path.base);
	if (HAS_PREFIX(path, "/mock/")) {
		admin(req, path, get, post);
		return 0;
	}
	/* the backend's load endpoints (load.c): tokiame's probes, not counted */
	if (PATH_IS(path, "/metrics") || PATH_IS(path, "/slots") || PATH_IS(path, "/api/ps")) {
		if (!get)
			bad_method(req);
		else if (PATH_IS(path, "/metrics"))
			load_metrics(req);
		else if (PATH_IS(path, "/slots"))
			load_slots(req);
		else
			load_ps(req);
		return 0;
	}
	state_count(path.base, path.len);
	if (PATH_IS(path, "/healthz")) {
		if (get)
			admin_healthz(req);
		else
			bad_method(req);
	} else if (HAS_PREFIX(path, "/v1/"))
		v1(req, path, get, post);
	else
		not_found(req);
	return 0;
}
