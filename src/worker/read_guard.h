/*
 * read_guard: the worker reads each HTTP/1 request's framing as its bytes
 * arrive, before h2o does, and refuses at once what h2o would only notice
 * late (issue 12, defect 2).
 *
 * Why. h2o 2.2.5 decodes a chunked body in place, in sock->input: a chunk
 * size line is consumed, and a size above http.max_body_size is noticed
 * only once that many bytes have arrived, so "ffffffff\r\n" then silence
 * holds the request until http.body_timeout. h2o offers no hook between
 * the socket and its HTTP/1 parser, so the worker makes one.
 *
 * How. The tokilake executable defines h2o_socket_read_start() and
 * h2o_http1_accept() itself. Debian's libh2o-evloop calls both through
 * its PLT (no -Bsymbolic), so the executable's definitions interpose for
 * h2o's own calls too. Both forward to the library's (dlsym RTLD_NEXT,
 * resolved by a constructor before main, fatal if missing). A socket is
 * guarded only when it is one the worker tracks (conns.c) and h2o
 * installs its HTTP/1 request reader on it (the callback h2o passes to
 * read_start during h2o_http1_accept); the guard records that reader and
 * installs its own. Every other socket of every role (agentd is the same
 * binary), a TLS handshake, HTTP/2 (prior knowledge or h2c upgrade), the
 * worker's own readers: untouched, one pointer compare.
 *
 * The guard's reader scans the NEW bytes of sock->input, then calls h2o's.
 * h2o mutates the buffer (it consumes a request after answering it,
 * decodes chunks in place, also outside its reader when it restarts on
 * pipelined bytes), so the new bytes are found from the end: the last
 * sock->bytes_read bytes, which h2o's evloop sets to what the read
 * appended (after TLS; a count larger than the buffer turns the guard
 * off, with a warning). Bytes already in the buffer when the guard is
 * installed (after a TLS handshake) are scanned then. A request head still
 * incomplete always sits at the tail of the buffer, which is how its
 * start is found again. The scan: the end of each head (a blank line,
 * within http.max_header_size, else 431), framing.c's check of the
 * complete head (400), then Content-Length bytes skipped in one step, or
 * the chunked body walked line by line: hex size, optional extensions
 * after ';' or blanks, CRLF, data, CRLF; the last chunk and trailers. A
 * size, or the sum of sizes, above http.max_body_size: 413; a chunk line
 * that is not valid or longer than 1 KiB: 400. A refused request never
 * reaches h2o: conns.c answers it and closes (wk_conns_refuse). If the
 * refused request follows complete pipelined ones in the same read, the
 * buffer is cut before it, those are served, and the refusal is sent
 * when h2o comes back for the next request. A head the guard checked is
 * not checked again by the router (wk_read_guard_checked).
 *
 * If the interposition does not take effect (checked at the first plain
 * accept), a warning is logged once and the worker relies on conns.c's
 * sweep, which refuses the same heads within a second but not chunk sizes.
 */
#ifndef TL_WORKER_READ_GUARD_H
#define TL_WORKER_READ_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include <h2o.h>

/* Per connection, inside conns.c's record; zeroed at accept. */
struct read_guard {
	h2o_socket_cb h2o_read; /* h2o's HTTP/1 reader while guarded, else NULL */
	int state;              /* where the scan is in the request stream */
	int refused;            /* a pending refusal's status (0: none) */
	const char *code, *message; /* its error code and text (static strings) */
	uint64_t left;          /* body bytes or chunk data still to skip */
	uint64_t total;         /* chunk sizes so far in this body */
	uint64_t size;          /* the chunk size being read */
	size_t count;           /* bytes of the head or chunk line or trailers so far */
	int digits;             /* hex digits of the chunk size */
};

/*
 * conns.c: the guard of a socket the worker tracks, else NULL (the one
 * pointer compare); a refusal answered in h2o's place (reader: h2o's).
 */
struct read_guard *wk_conns_guard(h2o_socket_t *sock);
int wk_conns_refuse(h2o_socket_t *sock, h2o_socket_cb reader, int status, const char *code,
    const char *message); /* -1: the connection is being cut already, nothing sent */

/* h2o's reader of a socket, seen through the guard if it is there. */
h2o_socket_cb wk_read_guard_reader(h2o_socket_t *sock, struct read_guard *g);
/* framing.c: the guard has checked this connection's request heads already. */
int wk_read_guard_checked(h2o_socket_t *sock);
/* listeners.c: after h2o_accept of a plain connection: check the guard took. */
void wk_read_guard_check(h2o_socket_t *sock);

#endif
