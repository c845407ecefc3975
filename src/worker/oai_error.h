/*
 * oai_error: OpenAI-shaped error bodies and whole JSON responses.
 *
 *     {"error":{"message":"...","type":"...","param":null,"code":"..."}}
 *
 * Every error a client of the worker sees goes through here, including
 * the ones h2o makes itself (see error_filter.c). Messages may quote
 * client input (a model name): it is escaped, never trusted.
 */
#ifndef TL_WORKER_OAI_ERROR_H
#define TL_WORKER_OAI_ERROR_H

#include <stddef.h>

#include <h2o.h>

/* The error document in req's pool. param and code may be NULL (null). */
h2o_iovec_t wk_oai_error_json(h2o_mem_pool_t *pool, const char *message, size_t message_len,
    const char *type, const char *param, const char *code);

/* The usual type for a status: invalid_request_error, service_unavailable... */
const char *wk_oai_error_type(int status);

/*
 * Answer req with status and an error document; the message is a printf
 * format. Use only before a response started. The X-Request-Id header is
 * added by the error filter if the caller did not.
 */
void wk_oai_send_error(h2o_req_t *req, int status, const char *type, const char *param,
    const char *code, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Answer req with a complete JSON body (HEAD gets the headers only). */
void wk_http_send_json(h2o_req_t *req, int status, h2o_iovec_t body);

/* Reason phrase for HTTP/1 status lines. */
const char *wk_http_reason(int status);

/* One server-sent event carrying an error, for streams already started. */
h2o_iovec_t wk_oai_error_sse_event(h2o_mem_pool_t *pool, const char *message, const char *type,
    const char *code);

#endif
