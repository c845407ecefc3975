/* request_rewrite: see request_rewrite.h. */
#include "config.h"

#include <string.h>

#include "request_rewrite.h"

/*
 * When the raw bytes start with the namespace literally (the usual case)
 * this is a cut with no copy; when the name was written with JSON
 * escapes, the bytes before it are copied and the name re-encoded.
 */
void
wk_request_model_rewrite(h2o_mem_pool_t *pool, h2o_iovec_t body, const struct request_json *rj,
    size_t ns_len, const char *model, size_t model_len, h2o_iovec_t *a, h2o_iovec_t *b)
{
	size_t off = rj->model_off, raw = rj->model_raw_len;
	char *p;

	if (raw > ns_len && memcmp(body.base + off, rj->model, ns_len) == 0 &&
	    body.base[off + ns_len] == ':') {
		*a = h2o_iovec_init(body.base, off);
		*b = h2o_iovec_init(body.base + off + ns_len + 1, body.len - off - ns_len - 1);
		return;
	}
	p = h2o_mem_alloc_pool(pool, off + 2 * model_len);
	memcpy(p, body.base, off);
	a->base = p;
	a->len = off;
	for (size_t i = 0; i < model_len; i++) {
		if (model[i] == '"' || model[i] == '\\')
			p[a->len++] = '\\';
		p[a->len++] = model[i];
	}
	*b = h2o_iovec_init(body.base + off + raw, body.len - off - raw);
}
