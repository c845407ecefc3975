/*
 * framing: how an HTTP/1 request says where its body ends, checked again
 * behind h2o (RFC 9112 6.1, 6.3).
 *
 * h2o 2.2.5 frames a body by the LAST Transfer-Encoding header if there is
 * one, else by the FIRST Content-Length, and keeps the connection open: a
 * request with both, or with two different lengths, is read one way here
 * and possibly another way by a proxy in front, and the bytes in between
 * become a second, smuggled request. h2o leaves Content-Length and
 * Transfer-Encoding out of req->headers, so the check reads the request
 * head itself, where it still is: at the start of the socket's input
 * buffer (h2o consumes a request only after answering it, and lowers the
 * header names in place).
 *
 * Refused, with 400 and the connection closed:
 *   - Content-Length and Transfer-Encoding together;
 *   - more than one Content-Length line, even with equal values (RFC 9110
 *     8.6 allows either; no real client sends two, so none is accepted);
 *   - more than one Transfer-Encoding line, or one whose value is not
 *     exactly "chunked" (we decode no other coding: "gzip, chunked",
 *     "chunked, gzip", "identity" are all refused);
 *   - Transfer-Encoding on an HTTP/1.0 request (6.1: faulty framing);
 *   - obsolete line folding anywhere in the head (5.2).
 * A head longer than http.max_header_size gets 431.
 *
 * The check runs when h2o hands the router a request (body complete) and,
 * from the connection sweep, while a body is still arriving (conns.c), so
 * that a request framed two ways is not left waiting for a body that the
 * other reading says it has already sent.
 */
#ifndef TL_WORKER_FRAMING_H
#define TL_WORKER_FRAMING_H

#include <stddef.h>
#include <stdint.h>

#include <h2o.h>

struct head_verdict {
	int status;          /* 0 when sound; else 400 or 431 */
	const char *code;    /* OpenAI error code */
	const char *message; /* for the client and the log */
	/* how a sound, complete head frames its body (read_guard.c) */
	int chunked;         /* Transfer-Encoding: chunked */
	int has_length;      /* one Content-Length of digits only */
	uint64_t length;     /* its value, when has_length */
	int h2_preface;      /* the request line is "PRI * HTTP/2...": HTTP/2 follows */
	size_t head_len;     /* bytes up to the end of the blank line; 0: incomplete */
};

/*
 * Check the request head at the start of buf (size bytes, possibly more
 * than the head, possibly an incomplete head). max: http.max_header_size.
 * An incomplete head is only judged on its size.
 */
void wk_head_check(const char *buf, size_t size, size_t max, struct head_verdict *v);

/*
 * Whether h2o's own HTTP/1 parser (picohttpparser, inside libh2o) accepts
 * the request head at buf (len bytes from the request line on): 1 when it
 * does or cannot tell yet (incomplete), 0 when it refuses it (a bad
 * request line, version, header name or value, more than H2O_MAX_HEADERS
 * headers). h2o answers those with a plain-text 400 of its own; the read
 * guard asks first, so that the client gets an OpenAI-shaped one. An
 * HTTP/2 preface ("PRI * HTTP/2") is h2o's to judge: 1.
 */
int wk_head_parses(const char *buf, size_t len);

/*
 * Router: for an HTTP/1 request, check its head; when it is refused, the
 * answer is sent (the connection closes after it) and 1 is returned.
 */
int wk_framing_refused(h2o_req_t *req);

#endif
