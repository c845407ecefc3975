/* oai_error: see oai_error.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <h2o.h>

#include "buf.h"
#include "json_out.h"
#include "oai_error.h"

/* Longest message we put in an error (agents and backends write them too). */
#define MAX_MESSAGE 2048
/* Longest type, param or code. */
#define MAX_WORD 64
/* Room for a whole error document, escaping included. */
#define MAX_DOC (6 * (MAX_MESSAGE + 3 * MAX_WORD) + 128)

static h2o_iovec_t
to_pool(h2o_mem_pool_t *pool, struct buf *b)
{
	h2o_iovec_t v = h2o_strdup(pool, (const char *)buf_head(b), b->len);

	buf_free(b);
	return v;
}

static int
word(struct buf *b, const char *s)
{
	if (s == NULL)
		return wk_json_out_raw(b, "null");
	return wk_json_out_str(b, s, strnlen(s, MAX_WORD));
}

static int
write_error(struct buf *b, const char *message, size_t message_len, const char *type,
    const char *param, const char *code)
{
	if (message_len > MAX_MESSAGE)
		message_len = MAX_MESSAGE;
	return wk_json_out_raw(b, "{\"error\":{\"message\":") | wk_json_out_str(b, message, message_len) |
	    wk_json_out_raw(b, ",\"type\":") | word(b, type) | wk_json_out_raw(b, ",\"param\":") |
	    word(b, param) | wk_json_out_raw(b, ",\"code\":") | word(b, code) | wk_json_out_raw(b, "}}");
}

h2o_iovec_t
wk_oai_error_json(h2o_mem_pool_t *pool, const char *message, size_t message_len, const char *type,
    const char *param, const char *code)
{
	struct buf b;

	buf_init(&b, MAX_DOC);
	write_error(&b, message, message_len, type, param, code);
	return to_pool(pool, &b);
}

h2o_iovec_t
wk_oai_error_sse_event(h2o_mem_pool_t *pool, const char *message, const char *type,
    const char *code)
{
	struct buf b;

	buf_init(&b, MAX_DOC + 16);
	wk_json_out_raw(&b, "data: ");
	write_error(&b, message, strlen(message), type, NULL, code);
	wk_json_out_raw(&b, "\n\n");
	return to_pool(pool, &b);
}

const char *
wk_oai_error_type(int status)
{
	switch (status) {
	case 401:
		return "authentication_error";
	case 403:
		return "permission_error";
	case 429:
		return "rate_limit_error";
	case 503:
		return "service_unavailable";
	case 504:
		return "timeout_error";
	default:
		return status >= 500 ? "api_error" : "invalid_request_error";
	}
}

const char *
wk_http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
	}
}

void
wk_http_send_json(h2o_req_t *req, int status, h2o_iovec_t body)
{
	ssize_t i;

	req->res.status = status;
	req->res.reason = wk_http_reason(status);
	req->res.content_length = body.len;
	i = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
	if (i != -1)
		req->res.headers.entries[i].value = h2o_iovec_init(H2O_STRLIT("application/json"));
	else
		h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, "Content-Type",
		    H2O_STRLIT("application/json"));
	/* h2o_send_inline leaves the body out for HEAD */
	h2o_send_inline(req, body.base, body.len);
}

void
wk_oai_send_error(h2o_req_t *req, int status, const char *type, const char *param, const char *code,
    const char *fmt, ...)
{
	char msg[MAX_MESSAGE + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	wk_http_send_json(req, status, wk_oai_error_json(&req->pool, msg, (size_t)n, type, param, code));
}
