/*
 * request_rewrite: the body the backend sees, with "namespace:" cut out
 * of the "model" value that request_json.c or request_multipart.c found.
 * Pure (no request, no I/O) so that tests/fuzz/fuzz_request_json.c can
 * check it: the result must parse to the same JSON with only the model
 * changed.
 */
#ifndef TL_WORKER_REQUEST_REWRITE_H
#define TL_WORKER_REQUEST_REWRITE_H

#include <stddef.h>

#include <h2o.h>

#include "request_json.h"

/*
 * The new body is *a then *b. body is the whole request body, rj what the
 * parser found in it, ns_len the length of the namespace that starts
 * rj->model and is followed by ':', model/model_len the rest of rj->model
 * (the backend's name). *a may be copied into pool; *b points into body.
 */
void wk_request_model_rewrite(h2o_mem_pool_t *pool, h2o_iovec_t body, const struct request_json *rj,
    size_t ns_len, const char *model, size_t model_len, h2o_iovec_t *a, h2o_iovec_t *b);

#endif
