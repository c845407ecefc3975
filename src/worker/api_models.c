/*
 * api_models: GET /v1/models and GET /v1/models/{id}.
 *
 * Both ask agentd (MODELS_QUERY) and read its MODELS_LIST pages until
 * one says more=0. The list is answered in OpenAI's format:
 *     {"object":"list","data":[{"id":"ns:model","object":"model",
 *      "created":N,"owned_by":"ns"},...]}
 * and a single model as one such object, or 404 model_not_found. A
 * request with an API key sees only the models the key may use (auth.h):
 * one it may not use is not listed and is "not found".
 * agentd down: the query waits for the link (agentd_link's FIFO, bounded
 * by http.agentd_wait), then 503; no complete answer within 5 s: 504.
 */
#include "config.h"

#include <string.h>

#include <h2o.h>

#include "agentd_link.h"
#include "api.h"
#include "apikey.h"
#include "auth.h"
#include "buf.h"
#include "json_out.h"
#include "log.h"
#include "master_link.h"
#include "oai_error.h"
#include "request_id.h"
#include "worker.h"

/* Bound of the answer being built. */
#define MODELS_MAX_BYTES (4 * 1024 * 1024)
/* Longest model id quoted back in an error. */
#define QUOTE_MAX 200
/* agentd's bound on a namespace or model name (REG_MAX_NAME) */
#define MODEL_NAME_MAX 256

struct models_req {
	struct agentd_pending p;
	struct agentd_waiter wait; /* queued while the agentd link is down */
	h2o_req_t *req;
	h2o_timeout_entry_t timer;
	struct buf out;
	const char *want;   /* the id asked for, NULL for the whole list */
	size_t want_len;
	size_t nmodels;
	int done;
};

static int
write_model(struct buf *b, const struct ipc_model *m)
{
	return wk_json_out_raw(b, "{\"id\":\"") | wk_json_out_esc(b, m->ns.base, m->ns.len) |
	    wk_json_out_raw(b, ":") | wk_json_out_esc(b, m->name.base, m->name.len) |
	    wk_json_out_raw(b, "\",\"object\":\"model\",\"created\":") | wk_json_out_u64(b, m->created) |
	    wk_json_out_raw(b, ",\"owned_by\":") | wk_json_out_str(b, m->ns.base, m->ns.len) |
	    wk_json_out_raw(b, "}");
}

static int
is_wanted(const struct models_req *mr, const struct ipc_model *m)
{
	return mr->want_len == m->ns.len + 1 + m->name.len &&
	    memcmp(mr->want, m->ns.base, m->ns.len) == 0 && mr->want[m->ns.len] == ':' &&
	    memcmp(mr->want + m->ns.len + 1, m->name.base, m->name.len) == 0;
}

/* Stop waiting: no more messages, no timer. */
static void
finish(struct models_req *mr)
{
	mr->done = 1;
	h2o_timeout_unlink(&mr->timer);
	wk_agentd_link_unregister(&mr->p);
}

static void
fail(struct models_req *mr, int status, const char *code, const char *msg)
{
	finish(mr);
	log_warnx("req %s: models: %s", wk_request_id(mr->req), msg);
	wk_oai_send_error(mr->req, status, wk_oai_error_type(status), NULL, code, "%s", msg);
}

static void
answer(struct models_req *mr)
{
	h2o_req_t *req = mr->req;

	finish(mr);
	if (mr->want != NULL && mr->nmodels == 0) {
		wk_oai_send_error(req, 404, "invalid_request_error", "model", "model_not_found",
		    "The model '%.*s' does not exist or no agent serving it is connected",
		    (int)(mr->want_len > QUOTE_MAX ? QUOTE_MAX : mr->want_len), mr->want);
		return;
	}
	if (mr->want == NULL && wk_json_out_raw(&mr->out, "]}") != 0) {
		fail(mr, 502, "models_too_large", "the model list is too large");
		return;
	}
	wk_http_send_json(req, 200, h2o_strdup(&req->pool, (const char *)buf_head(&mr->out), mr->out.len));
	buf_free(&mr->out);
}

/* 1 if the request's key may use m. */
static int
allowed(const struct apikey *key, const struct ipc_model *m)
{
	char id[2 * MODEL_NAME_MAX + 2];

	if (key == NULL)
		return 1;
	if (m->ns.len > MODEL_NAME_MAX || m->name.len > MODEL_NAME_MAX)
		return 0;
	memcpy(id, m->ns.base, m->ns.len);
	id[m->ns.len] = ':';
	memcpy(id + m->ns.len + 1, m->name.base, m->name.len);
	return wk_auth_key_allows(key, id, m->ns.len + 1 + m->name.len);
}

static void
on_page(struct models_req *mr, const struct ipc_msg *msg)
{
	const struct apikey *key = wk_auth_key(mr->req);
	struct ipc_list_iter it;
	struct ipc_model m;

	ipc_list_begin(&it, &msg->u.models_list.models);
	while (ipc_model_next(&it, &m)) {
		if (!allowed(key, &m))
			continue;
		if (mr->want != NULL) {
			if (mr->nmodels == 0 && is_wanted(mr, &m)) {
				if (write_model(&mr->out, &m) != 0)
					goto too_large;
				mr->nmodels = 1;
			}
			continue;
		}
		if (mr->nmodels != 0 && wk_json_out_raw(&mr->out, ",") != 0)
			goto too_large;
		if (write_model(&mr->out, &m) != 0)
			goto too_large;
		mr->nmodels++;
	}
	if (!msg->u.models_list.more)
		answer(mr);
	return;
too_large:
	fail(mr, 502, "models_too_large", "the model list is too large");
}

static void
on_msg(struct agentd_pending *p, const struct ipc_msg *msg)
{
	struct models_req *mr = H2O_STRUCT_FROM_MEMBER(struct models_req, p, p);

	switch (msg->type) {
	case IPC_MODELS_LIST:
		on_page(mr, msg);
		break;
	case IPC_RESP_ERROR: {
		const struct ipc_str *m = &msg->u.resp_error.message;
		int status = msg->u.resp_error.status;

		finish(mr);
		if (status < 400 || status > 599)
			status = 502;
		wk_http_send_json(mr->req, status, wk_oai_error_json(&mr->req->pool, m->base, m->len,
		    wk_oai_error_type(status), NULL, "agentd_error"));
		break;
	}
	default:
		fail(mr, 502, "agentd_protocol_error", "agentd answered a model query with nonsense");
		break;
	}
}

static void
on_down(struct agentd_pending *p)
{
	struct models_req *mr = H2O_STRUCT_FROM_MEMBER(struct models_req, p, p);

	fail(mr, 503, "agentd_unavailable", "the connection to the agent broker was lost; retry");
}

static void
on_timeout(h2o_timeout_entry_t *entry)
{
	struct models_req *mr = H2O_STRUCT_FROM_MEMBER(struct models_req, timer, entry);

	fail(mr, 504, "agentd_timeout", "the agent broker did not list the models within 5 s");
}

static void
on_dispose(void *data)
{
	struct models_req *mr = data;

	h2o_timeout_unlink(&mr->timer);
	wk_agentd_link_unwait(&mr->wait);
	wk_agentd_link_unregister(&mr->p);
	buf_free(&mr->out);
}

/* Send MODELS_QUERY (the link is up). */
static void
query(struct models_req *mr)
{
	struct ipc_msg q;

	wk_agentd_link_register(&mr->p);
	memset(&q, 0, sizeof(q));
	q.type = IPC_MODELS_QUERY;
	q.u.models_query.id = mr->p.id;
	if (wk_agentd_link_send(&q, NULL) != 0) {
		fail(mr, 503, "agentd_unavailable", "no agent broker available right now; retry");
		return;
	}
	h2o_timeout_link(wk.loop, &wk.five_sec, &mr->timer);
}

static void
on_link_up(struct agentd_waiter *w)
{
	query(H2O_STRUCT_FROM_MEMBER(struct models_req, wait, w));
}

static void
on_link_wait_expired(struct agentd_waiter *w)
{
	struct models_req *mr = H2O_STRUCT_FROM_MEMBER(struct models_req, wait, w);

	fail(mr, 503, "agentd_unavailable", "no agent broker available right now; retry");
}

static void
start(h2o_req_t *req, const char *want, size_t want_len)
{
	struct models_req *mr;

	if (wk_node_refuse_models(req))
		return;
	mr = h2o_mem_alloc_shared(&req->pool, sizeof(*mr), on_dispose);
	memset(mr, 0, sizeof(*mr));
	mr->req = req;
	mr->want = want;
	mr->want_len = want_len;
	mr->timer.cb = on_timeout;
	mr->p.on_msg = on_msg;
	mr->p.on_down = on_down;
	buf_init(&mr->out, MODELS_MAX_BYTES);
	if (want == NULL)
		wk_json_out_raw(&mr->out, "{\"object\":\"list\",\"data\":[");
	if (wk_agentd_link_is_up()) {
		query(mr);
		return;
	}
	/* agentd is (re)starting: wait for it, bounded */
	mr->wait.on_up = on_link_up;
	mr->wait.on_expired = on_link_wait_expired;
	if (wk_agentd_link_wait(&mr->wait) != 0)
		fail(mr, 503, "agentd_unavailable", "no agent broker available right now; retry");
}

void
wk_api_models_list(h2o_req_t *req)
{
	start(req, NULL, 0);
}

void
wk_api_models_get(h2o_req_t *req, const char *id, size_t id_len)
{
	start(req, id, id_len);
}
