/*
 * request_rewrite: the body the backend sees, with "namespace:" cut out
 * of the "model" value that request_json.c or request_multipart.c found,
 * and, for a stream whose client did not ask for usage, with
 * "stream_options":{"include_usage":true} made to hold (usage_relay.c
 * takes out of the answer what that adds). Every other byte is kept.
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

/*
 * The same, and with ask_usage (only when wk_request_usage_askable())
 * include_usage made true, in the same pass.
 */
void wk_request_rewrite(h2o_mem_pool_t *pool, h2o_iovec_t body, const struct request_json *rj,
    size_t ns_len, const char *model, size_t model_len, int ask_usage, h2o_iovec_t *a,
    h2o_iovec_t *b);
/* A stream whose body we can edit to ask for its usage. */
int wk_request_usage_askable(const struct request_json *rj);

#endif
