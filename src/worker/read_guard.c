/* read_guard: see read_guard.h. */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <h2o.h>

#include "framing.h"
#include "log.h"
#include "read_guard.h"
#include "tl_config.h"
#include "worker.h"

/* Longest chunk line (size and extensions) accepted. */
#define CHUNK_LINE_MAX 1024
/* A chunk size has at most this many hex digits (h2o's own bound). */
#define CHUNK_DIGITS_MAX 16

/* Where the scan is; S_HEAD0 (0) is a fresh connection. */
enum {
	S_HEAD0,      /* before the first byte of a head (blank lines skipped) */
	S_HEAD,       /* inside a head line */
	S_HEAD_LF,    /* just after a LF of the head */
	S_HEAD_LFCR,  /* a LF, then CR: a LF ends the head */
	S_LENGTH,     /* Content-Length bytes to skip */
	S_SIZE,       /* a chunk size's hex digits */
	S_EXT,        /* after the size: blanks, extensions, up to CR */
	S_SIZE_LF,    /* the LF after a chunk line's CR */
	S_DATA,       /* chunk data to skip */
	S_DATA_CR,    /* the CRLF after chunk data */
	S_DATA_LF,
	S_TRAILER,    /* the start of a trailer line, or the final CRLF */
	S_TRAILER_LINE,
	S_END_LF,     /* the LF of the final CRLF */
	S_PASS,       /* not HTTP/1 any more (HTTP/2 preface), or refused: h2o's alone */
};

/* What a scan found. */
struct scan {
	int status;           /* 0, or the refusal's status */
	const char *code, *message;
	int crossed;          /* a request ended within the scanned bytes */
	size_t cut;           /* where the last request that began in them began */
};

static void (*real_read_start)(h2o_socket_t *, h2o_socket_cb);
static void (*real_http1_accept)(h2o_accept_ctx_t *, h2o_socket_t *, struct timeval);

static h2o_socket_cb http1_reader;   /* h2o's HTTP/1 reader, learned at the first accept */
static h2o_socket_t *accepting;      /* inside h2o_http1_accept for this socket */
static h2o_socket_t *guarded_last;   /* the last socket the guard was installed on */
static int inactive;                 /* the self-test failed: never guard */

static void on_guard_read(h2o_socket_t *sock, const char *err);

/*
 * Before main, in every role: the library's definitions, or no start at
 * all (a libh2o without them is not the one this was built for).
 */
__attribute__((constructor)) static void
resolve(void)
{
	void *rs = dlsym(RTLD_NEXT, "h2o_socket_read_start");
	void *ha = dlsym(RTLD_NEXT, "h2o_http1_accept");

	if (rs == NULL || ha == NULL) {
		fprintf(stderr, "tokilake: libh2o-evloop has no h2o_socket_read_start or "
		    "h2o_http1_accept to forward to\n");
		_exit(1);
	}
	memcpy(&real_read_start, &rs, sizeof(rs));
	memcpy(&real_http1_accept, &ha, sizeof(ha));
}

static int
fail(struct scan *r, int status, const char *code, const char *message)
{
	r->status = status;
	r->code = code;
	r->message = message;
	return -1;
}

static int
fail_size(struct scan *r)
{
	static char msg[96];

	snprintf(msg, sizeof(msg), "request body is larger than the limit of %zu bytes",
	    wk.conf->http.max_body_size);
	return fail(r, 413, "request_too_large", msg);
}

static int
fail_chunk(struct scan *r, const char *message)
{
	return fail(r, 400, "invalid_chunked_encoding", message);
}

/* What h2o would answer with its own plain-text 400, in the API's shape. */
static int
fail_syntax(struct scan *r)
{
	return fail(r, 400, "invalid_request_head",
	    "the request head is not valid HTTP/1.1 (its request line, a header name or "
	    "value, or more than 100 header lines)");
}

/* A request ended just before p: the next one starts there. */
static void
next_request(struct read_guard *g, const char *buf, const char *p, struct scan *r)
{
	g->state = S_HEAD0;
	g->count = 0;
	r->crossed = 1;
	r->cut = (size_t)(p - buf);
}

/* A sound, complete head ended just before p: follow its body. */
static void
follow_body(struct read_guard *g, const char *buf, const char *p, const struct head_verdict *v,
    struct scan *r)
{
	g->count = 0;
	if (v->h2_preface && wk.globalconf.http1.upgrade_to_http2) {
		/* HTTP/2 with prior knowledge: frames follow at once, h2o takes
		 * the socket to HTTP/2 and reads it unguarded. (An h2c Upgrade
		 * needs no such care: the client waits for the 101.) */
		g->state = S_PASS;
	} else if (v->chunked) {
		g->state = S_SIZE;
		g->total = g->size = 0;
		g->digits = 0;
	} else if (v->has_length && v->length != 0) {
		g->state = S_LENGTH;
		g->left = v->length; /* above max_body_size h2o answers 413 at once */
	} else {
		next_request(g, buf, p, r);
	}
}

/* The blank line of a head read in pieces ends at p: check it all. */
static int
head_done(struct read_guard *g, const char *buf, const char *p, struct scan *r)
{
	struct head_verdict v;

	if (g->count > (size_t)(p - buf)) {
		/* cannot happen: the head in progress is at the buffer's tail */
		log_warnx("read guard lost a request head; leaving the connection to h2o");
		g->state = S_PASS;
		return 0;
	}
	if (!wk_head_parses(p - g->count, g->count))
		return fail_syntax(r);
	wk_head_check(p - g->count, g->count, wk.conf->http.max_header_size, &v);
	if (v.status != 0)
		return fail(r, v.status, v.code, v.message);
	follow_body(g, buf, p, &v, r);
	return 0;
}

/*
 * A head starting at p, all of it in this read (the usual case): one
 * pass of framing.c finds its end and checks it. Returns where the scan
 * goes on, or NULL when refused. An incomplete head is read in pieces.
 */
static const char *
whole_head(struct read_guard *g, const char *buf, const char *p, const char *end,
    struct scan *r)
{
	struct head_verdict v;

	size_t max = wk.conf->http.max_header_size, n = (size_t)(end - p);

	wk_head_check(p, n, max, &v);
	/* syntax first, within the bytes a head may have (as read in pieces) */
	if (!wk_head_parses(p, v.head_len != 0 ? v.head_len : n > max + 1 ? max + 1 : n)) {
		fail_syntax(r);
		return NULL;
	}
	if (v.status != 0) {
		fail(r, v.status, v.code, v.message);
		return NULL;
	}
	if (v.head_len == 0) {
		g->state = S_HEAD;
		return p;
	}
	follow_body(g, buf, p + v.head_len, &v, r);
	return p + v.head_len;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One byte of a chunk line, trailer or CRLF: 0 to go on, -1 refused. */
static int
chunk_byte(struct read_guard *g, char c, struct scan *r)
{
	size_t max = wk.conf->http.max_body_size;
	int v;

	switch (g->state) {
	case S_SIZE:
		if ((v = hex_value(c)) >= 0) {
			if (++g->digits > CHUNK_DIGITS_MAX)
				return fail_chunk(r, "a chunk size has too many digits");
			g->size = g->size * 16 + (uint64_t)v;
			if (g->size > max || g->total + g->size > max)
				return fail_size(r);
			break;
		}
		if (g->digits == 0)
			return fail_chunk(r, "a chunk line must start with its size in hexadecimal");
		if (c != ';' && c != ' ' && c != '\t' && c != '\r')
			return fail_chunk(r, "a chunk size must be followed by CRLF or an extension");
		g->state = S_EXT;
		/* FALLTHROUGH */
	case S_EXT:
		if (c == '\r')
			g->state = S_SIZE_LF;
		else if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail_chunk(r, "a chunk line must end with CRLF");
		else if (++g->count > CHUNK_LINE_MAX)
			return fail_chunk(r, "a chunk line is longer than 1 KiB");
		break;
	case S_SIZE_LF:
		if (c != '\n')
			return fail_chunk(r, "a chunk line must end with CRLF");
		g->count = 0;
		if (g->size == 0) {
			g->state = S_TRAILER;
		} else {
			g->total += g->size;
			g->left = g->size;
			g->state = S_DATA;
		}
		break;
	case S_DATA_CR:
		if (c != '\r')
			return fail_chunk(r, "chunk data must be followed by CRLF");
		g->state = S_DATA_LF;
		break;
	case S_DATA_LF:
		if (c != '\n')
			return fail_chunk(r, "chunk data must be followed by CRLF");
		g->state = S_SIZE;
		g->size = 0;
		g->digits = 0;
		g->count = 0;
		break;
	case S_TRAILER:
		if (c == '\r')
			g->state = S_END_LF;
		else if (c == '\n')
			return fail_chunk(r, "the chunked body must end with CRLF");
		else
			g->state = S_TRAILER_LINE;
		break;
	case S_END_LF:
		if (c != '\n')
			return fail_chunk(r, "the chunked body must end with CRLF");
		break; /* the caller ends the request */
	}
	return 0;
}

/* Past the end of the line at p (then state next), or to end; counted. */
static const char *
line_end(struct read_guard *g, const char *p, const char *end, int next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	if (nl == NULL) {
		g->count += (size_t)(end - p);
		return end;
	}
	g->count += (size_t)(nl + 1 - p);
	g->state = next;
	return nl + 1;
}

/* Scan buf[from, to): the bytes h2o has not been given yet. */
static void
scan(struct read_guard *g, const char *buf, size_t from, size_t to, struct scan *r)
{
	const char *p = buf + from, *end = buf + to;
	size_t max_head = wk.conf->http.max_header_size;
	uint64_t n;

	r->status = 0;
	r->crossed = 0;
	r->cut = 0;
	while (p < end) {
		switch (g->state) {
		case S_HEAD0:
			/* blank lines before a request: h2o's to judge (it closes or 400s) */
			if (*p == '\r' || *p == '\n') {
				p++;
				continue;
			}
			if ((p = whole_head(g, buf, p, end, r)) == NULL)
				return;
			continue;
		case S_HEAD:
			p = line_end(g, p, end, S_HEAD_LF);
			break;
		case S_HEAD_LF:
		case S_HEAD_LFCR:
			g->count++;
			if (*p == '\n') {
				if (head_done(g, buf, ++p, r) != 0)
					return;
				continue;
			}
			g->state = *p == '\r' && g->state == S_HEAD_LF ? S_HEAD_LFCR : S_HEAD;
			p++;
			break;
		case S_LENGTH:
		case S_DATA:
			n = (uint64_t)(end - p) < g->left ? (uint64_t)(end - p) : g->left;
			p += n;
			if ((g->left -= n) == 0) {
				if (g->state == S_LENGTH) {
					next_request(g, buf, p, r);
					continue;
				}
				g->state = S_DATA_CR;
			}
			continue;
		case S_TRAILER_LINE:
			/* a trailer line: only its end matters; all of them within max_header_size */
			p = line_end(g, p, end, S_TRAILER);
			if (g->count > max_head) {
				fail_chunk(r, "the chunked trailer section is larger than http.max_header_size");
				return;
			}
			continue;
		case S_PASS:
			return;
		default:
			if (chunk_byte(g, *p, r) != 0)
				return;
			p++;
			if (g->state == S_END_LF && p[-1] == '\n')
				next_request(g, buf, p, r);
			continue;
		}
		/* head states */
		if (g->count > max_head) {
			/* the syntax of the bytes a head may have, as whole_head() sees it */
			if (g->count <= (size_t)(p - buf) &&
			    !wk_head_parses(p - g->count, max_head + 1))
				fail_syntax(r);
			else
				fail(r, 431, "headers_too_large",
				    "the request head is larger than http.max_header_size");
			return;
		}
	}
	/* a head still arriving: refused as soon as h2o's parser would */
	if ((g->state == S_HEAD || g->state == S_HEAD_LF || g->state == S_HEAD_LFCR) &&
	    g->count <= (size_t)(end - buf) && !wk_head_parses(end - g->count, g->count))
		fail_syntax(r);
}

/* Refuse at once, in h2o's place: h2o never sees the request. */
static void
refuse_now(h2o_socket_t *sock, struct read_guard *g, int status, const char *code,
    const char *message)
{
	h2o_socket_cb reader = g->h2o_read;

	g->h2o_read = NULL;
	g->state = S_PASS;
	g->refused = 0;
	if (wk_conns_refuse(sock, reader, status, code, message) != 0)
		g->h2o_read = reader; /* already being cut: h2o gets its end of input */
}

/*
 * A refusal found in the scan. In the first request h2o is still reading:
 * at once. After complete pipelined requests: the buffer ends before the
 * refused one, and the refusal waits until h2o has answered the others.
 */
static int
refused(h2o_socket_t *sock, struct read_guard *g, struct scan *r)
{
	if (!r->crossed) {
		h2o_buffer_consume(&sock->input, sock->input->size);
		refuse_now(sock, g, r->status, r->code, r->message);
		return 1;
	}
	sock->input->size = r->cut;
	g->refused = r->status;
	g->code = r->code;
	g->message = r->message;
	g->state = S_PASS;
	return 0;
}

/*
 * h2o's evloop sets sock->bytes_read to what this read appended at the
 * tail of sock->input (after TLS decryption): those are the new bytes,
 * wherever h2o's consuming and in-place decoding left the rest.
 */
static void
on_guard_read(h2o_socket_t *sock, const char *err)
{
	struct read_guard *g = wk_conns_guard(sock);
	size_t n = sock->bytes_read, size = sock->input->size;
	h2o_socket_cb reader;
	struct scan r;

	if (g == NULL || (reader = g->h2o_read) == NULL)
		return; /* cannot happen: installed only with both */
	if (err == NULL && n != 0) {
		if (n > size) {
			log_warnx("read guard: h2o reports more new bytes than it holds; guard off");
			inactive = 1;
			g->state = S_PASS;
		} else if (g->refused != 0) {
			sock->input->size -= n; /* a refusal is due: nothing more is read */
		} else {
			scan(g, sock->input->bytes, size - n, size, &r);
			if (r.status != 0 && refused(sock, g, &r))
				return;
		}
	}
	reader(sock, err);
}

static void
guard_read_start(h2o_socket_t *sock, struct read_guard *g, h2o_socket_cb cb)
{
	struct scan r;

	if (sock == accepting && http1_reader == NULL)
		http1_reader = cb; /* h2o_http1_accept's first act is to start its reader */
	if (inactive || cb != http1_reader) {
		g->h2o_read = NULL; /* TLS handshake, HTTP/2, the worker's own readers */
		real_read_start(sock, cb);
		return;
	}
	real_read_start(sock, on_guard_read);
	g->h2o_read = cb;
	if (g->refused != 0) {
		/* h2o answered a request before the refused one; when all are, refuse */
		if (sock->input->size == 0)
			refuse_now(sock, g, g->refused, g->code, g->message);
		return;
	}
	if (sock == accepting) {
		/* a new HTTP/1 connection: after TLS, bytes may be waiting already */
		guarded_last = sock;
		scan(g, sock->input->bytes, 0, sock->input->size, &r);
		if (r.status != 0)
			refused(sock, g, &r);
	}
	/* else h2o reads on (the next request, or a body after 100): what is
	 * left in the buffer came through the guard already */
}

void
h2o_socket_read_start(h2o_socket_t *sock, h2o_socket_cb cb)
{
	struct read_guard *g;

	if ((g = wk_conns_guard(sock)) == NULL)
		real_read_start(sock, cb);
	else
		guard_read_start(sock, g, cb);
}

void
h2o_http1_accept(h2o_accept_ctx_t *ctx, h2o_socket_t *sock, struct timeval connected_at)
{
	h2o_socket_t *outer = accepting;

	accepting = sock;
	real_http1_accept(ctx, sock, connected_at);
	accepting = outer;
}

h2o_socket_cb
wk_read_guard_reader(h2o_socket_t *sock, struct read_guard *g)
{
	return sock->_cb.read == on_guard_read ? g->h2o_read : sock->_cb.read;
}

int
wk_read_guard_checked(h2o_socket_t *sock)
{
	struct read_guard *g = wk_conns_guard(sock);

	return g != NULL && g->h2o_read != NULL;
}

void
wk_read_guard_check(h2o_socket_t *sock)
{
	static int checked;

	if (checked || inactive)
		return;
	checked = 1;
	if (guarded_last == sock && sock->_cb.read == on_guard_read) {
		log_debug("HTTP/1 read guard active");
		return;
	}
	inactive = 1;
	log_warnx("the HTTP/1 read guard did not take effect (h2o_socket_read_start not "
	    "interposed?): impossible chunk sizes are refused only at http.body_timeout");
}
