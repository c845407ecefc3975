/*
 * echo: the model endpoints and every other POST /v1/... with a JSON
 * body (images, rerank, ...), which answers what it saw:
 * {"object":"mock.echo","path":..,"model":..,"bytes":..}.
 */
#include "config.h"

#include "mreq.h"
#include "state.h"

void
ep_models(struct mreq *m)
{
	struct jw w;

	buf_reset(&m->out);
	jw_init(&w, &m->out);
	state_models_json(&w);
	reply_json(m, 200, &w);
}

void
ep_model(struct mreq *m, h2o_iovec_t id)
{
	struct jw w;

	buf_reset(&m->out);
	jw_init(&w, &m->out);
	if (state_model_json(&w, id.base, id.len) == -1) {
		reply_error(m, 404, "invalid_request_error", "model_not_found",
		    "the model '%.*s' does not exist", (int)(id.len > 200 ? 200 : id.len), id.base);
		return;
	}
	reply_json(m, 200, &w);
}

void
ep_echo(struct mreq *m)
{
	struct jw w;

	buf_reset(&m->out);
	jw_init(&w, &m->out);
	jw_raw(&w, "{\"object\":\"mock.echo\",\"path\":");
	jw_str(&w, m->path.base, m->path.len);
	jw_raw(&w, ",\"model\":");
	jw_str_or_null(&w, m->model.base, m->model.len);
	jw_raw(&w, ",\"bytes\":");
	jw_u64(&w, m->body_len);
	jw_raw(&w, "}");
	reply_json(m, 200, &w);
}
