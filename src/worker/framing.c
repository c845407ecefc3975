/* framing: see framing.h. */
#include "config.h"

#include <string.h>

#include <h2o.h>

#include "framing.h"
#include "log.h"
#include "oai_error.h"
#include "read_guard.h"
#include "request_id.h"
#include "tl_config.h"
#include "worker.h"

static void
refuse(struct head_verdict *v, int status, const char *code, const char *message)
{
	v->status = status;
	v->code = code;
	v->message = message;
}

/*
 * A Content-Length value after the colon: digits only, blanks around.
 * Anything else leaves has_length 0 (h2o refuses it with 400 itself).
 */
static void
parse_length(const char *p, const char *end, struct head_verdict *v)
{
	uint64_t n = 0;
	int digits = 0;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	for (; p < end; p++, digits++) {
		if (*p < '0' || *p > '9' || digits == 18)
			return;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	v->has_length = digits != 0;
	v->length = n;
}

/*
 * The line [p, end) starts with name (lower case) and a colon. h2o has
 * lowered the names already; folding again costs nothing and does not
 * rely on it. '|0x20' folds A-Z and keeps '-' (a name has no CR).
 */
static int
is_field(const char *p, const char *end, const char *name, size_t len)
{
	if ((size_t)(end - p) <= len || p[len] != ':')
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((p[i] | 0x20) != name[i])
			return 0;
	return 1;
}

/* The field value after the colon, without surrounding blanks, is "chunked". */
static int
value_is_chunked(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return h2o_lcstris(p, (size_t)(end - p), H2O_STRLIT("chunked"));
}

/*
 * libh2o exports picohttpparser, the parser h2o reads HTTP/1 with, but
 * Debian ships no header for it: its interface, as picohttpparser.h
 * declares it (stable since 2014).
 */
struct phr_header {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};
int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len,
    const char **path, size_t *path_len, int *minor_version, struct phr_header *headers,
    size_t *num_headers, size_t last_len);

int
wk_head_parses(const char *buf, size_t len)
{
	struct phr_header headers[H2O_MAX_HEADERS];
	size_t nheaders = H2O_MAX_HEADERS, method_len, path_len;
	const char *method, *path;
	int minor;

	/* HTTP/2 with prior knowledge: h2o's parser refuses it, then h2o
	 * itself takes the connection to HTTP/2 (or refuses it) */
	if (len >= 12 && memcmp(buf, "PRI * HTTP/2", 12) == 0)
		return 1;
	/* h2o's own call: the same limit on headers, the same verdict */
	return phr_parse_request(buf, len, &method, &method_len, &path, &path_len, &minor,
	    headers, &nheaders, 0) != -1;
}

void
wk_head_check(const char *buf, size_t size, size_t max, struct head_verdict *v)
{
	const char *p = buf, *end, *nl, *line_end;
	int ncl = 0, nte = 0, te_bad = 0, fold = 0, http10 = 0, first = 1;

	refuse(v, 0, NULL, NULL);
	v->chunked = v->has_length = v->h2_preface = 0;
	v->length = 0;
	v->head_len = 0;
	/* h2o skips empty lines before a request line; so does this */
	while (p < buf + size && (*p == '\r' || *p == '\n'))
		p++;
	/* look one byte past the limit: a head that fills it is too long */
	end = size - (size_t)(p - buf) > max ? p + max + 1 : buf + size;
	for (;; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			if (end < buf + size || (size_t)(end - buf) > max)
				refuse(v, 431, "headers_too_large",
				    "the request head is larger than http.max_header_size");
			return; /* incomplete: only its size counts yet */
		}
		line_end = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		if (line_end == p) {
			v->head_len = (size_t)(nl + 1 - buf);
			break; /* the blank line: the head is complete */
		}
		if (first) {
			first = 0;
			http10 = line_end - p >= 8 && memcmp(line_end - 8, "HTTP/1.0", 8) == 0;
			v->h2_preface = line_end - p >= 12 && memcmp(p, "PRI * HTTP/2", 12) == 0;
			continue;
		}
		switch (*p) {
		case ' ':
		case '\t':
			fold = 1;
			break;
		case 'c':
		case 'C':
			if (is_field(p, line_end, H2O_STRLIT("content-length")) && ncl++ == 0)
				parse_length(p + sizeof("content-length"), line_end, v);
			break;
		case 't':
		case 'T':
			if (is_field(p, line_end, H2O_STRLIT("transfer-encoding"))) {
				nte++;
				if (!value_is_chunked(p + sizeof("transfer-encoding"), line_end))
					te_bad = 1;
			}
			break;
		}
	}
	v->chunked = nte == 1 && !te_bad;
	if (fold)
		refuse(v, 400, "invalid_header",
		    "obsolete line folding in the request head is not accepted");
	else if (ncl != 0 && nte != 0)
		refuse(v, 400, "invalid_framing",
		    "a request must not have both Content-Length and Transfer-Encoding");
	else if (ncl > 1)
		refuse(v, 400, "invalid_framing", "a request must have at most one Content-Length");
	else if (nte > 1 || te_bad)
		refuse(v, 400, "invalid_framing",
		    "Transfer-Encoding must be exactly \"chunked\", once");
	else if (nte != 0 && http10)
		refuse(v, 400, "invalid_framing", "Transfer-Encoding is not allowed in HTTP/1.0");
}

int
wk_framing_refused(h2o_req_t *req)
{
	struct head_verdict v;
	h2o_socket_t *sock;

	if (req->version >= 0x200 || req->conn->callbacks->get_socket == NULL ||
	    (sock = req->conn->callbacks->get_socket(req->conn)) == NULL ||
	    wk_read_guard_checked(sock))
		return 0;
	wk_head_check(sock->input->bytes, sock->input->size, wk.conf->http.max_header_size, &v);
	if (v.status == 0)
		return 0;
	log_info("req %s: refused (%d): %s; closing the connection", wk_request_id(req), v.status,
	    v.message);
	/* nothing more is read from this connection: no smuggled second request */
	req->http1_is_persistent = 0;
	wk_oai_send_error(req, v.status, "invalid_request_error", NULL, v.code, "%s", v.message);
	return 1;
}
