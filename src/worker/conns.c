/*
 * conns: every connection this worker accepted, from accept to close.
 *
 * h2o 2.2.5 keeps its connection lists private, so the worker keeps its
 * own: each accepted socket gets a small record, freed by the socket's
 * on_close hook (h2o leaves that hook to applications on server
 * sockets). The count drives http.max_connections and tells a graceful
 * stop when the last connection, including one still uploading a body,
 * is gone.
 *
 * Timeouts. In 2.2.5 an HTTP/1 connection has ONE timer, req_timeout,
 * armed when the connection becomes ready for a request (after accept or
 * after the previous response) and disarmed only when the whole request,
 * head and body, has arrived. So it is at once the keep-alive idle
 * timeout, the header timeout and the body timeout. To give
 * http.idle_timeout and http.header_timeout their own meaning, h2o's
 * req_timeout is set to their sum (the outer bound, which also bounds the
 * body upload), and a sweep every second closes:
 *   - idle keep-alive connections (no request, no byte of one) after
 *     idle_timeout, counted from the end of the previous response;
 *   - connections whose request head started but did not complete
 *     within header_timeout, counted from its first byte.
 * HTTP/2 has its own idle timer (http2.idle_timeout, reset on every read
 * and armed while no request is being processed): idle_timeout goes
 * there, and HTTP/2 has no header timeout in 2.2.5.
 * A new connection that has not sent its first byte yet gets
 * header_timeout, not idle_timeout: it has no keep-alive to honour, and
 * holding silent sockets open is a cheap attack.
 *
 * Closing a connection h2o owns must go through h2o: the worker only
 * shutdown(2)s the socket, h2o reads EOF and closes it the normal way.
 *
 * Refusals h2o cannot make (issue 12). The sweep also answers, while h2o
 * is still reading a request:
 *   - a request head over http.max_header_size: 431 (h2o's own cap is
 *     about 408KiB, answered with a plain 400);
 *   - a head whose framing framing.c refuses, while its body arrives:
 *     400 (h2o would wait for a body framed the other way);
 *   - a body not complete within http.body_timeout of its head: 408.
 * h2o has no request to answer yet, so the worker writes the answer on
 * the socket itself (nothing else is being written: h2o is reading),
 * after stopping h2o's reading so that no later byte becomes a request.
 * Then it shuts down its side and discards what the client still sends
 * until the client closes (a lingering close: closing with unread bytes
 * would reset the connection and could lose the answer), handing the
 * end of input to h2o, which closes the connection. A client that does
 * not close is cut at the next sweep after LINGER_MS.
 *
 * Graceful stop. 2.2.5's HTTP/1 has no request_shutdown hook, and an
 * idle keep-alive connection would otherwise stay until req_timeout.
 * On a drain the worker marks every HTTP/1 request in progress as not
 * persistent (the connection closes after its response; requests parsed
 * later get that from h2o itself once shutdown_requested is set) and
 * cuts idle ones at once, and again at each sweep while draining.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <h2o.h>

#include "framing.h"
#include "log.h"
#include "oai_error.h"
#include "read_guard.h"
#include "tl_config.h"
#include "worker.h"
#include "xmalloc.h"

struct conn_track {
	h2o_linklist_t link;
	h2o_socket_t *sock;
	uint64_t idle_since; /* h2o_now() ms when it last became idle (HTTP/1) */
	uint64_t requests;   /* HTTP/1 requests answered on it */
	int cut;             /* shutdown(2) done; h2o will close it */
	h2o_socket_cb h2o_read; /* h2o's reader, while the worker answers in its place */
	uint64_t refused_at; /* h2o_now() of that answer, 0 when none */
	char *answer;        /* the answer being written; owned here */
	struct read_guard guard; /* HTTP/1 framing read as it arrives (read_guard.c) */
};

/* How long a refused client may keep sending before it is cut. */
#define LINGER_MS 2000
/* Room for an error answer: status line, headers and a short JSON body. */
#define ANSWER_MAX 1024

static h2o_linklist_t all = { &all, &all };
static size_t count;

static void
on_conn_close(void *data)
{
	struct conn_track *t = data;

	h2o_linklist_unlink(&t->link);
	free(t->answer);
	free(t);
	count--;
	wk_listeners_throttle();
	wk_check_drained();
}

void
wk_conns_track(h2o_socket_t *sock)
{
	struct conn_track *t = xcalloc(1, sizeof(*t));

	t->sock = sock;
	t->idle_since = h2o_now(wk.loop);
	h2o_linklist_insert(&all, &t->link);
	count++;
	sock->on_close.cb = on_conn_close;
	sock->on_close.data = t;
}

struct read_guard *
wk_conns_guard(h2o_socket_t *sock)
{
	if (sock->on_close.cb != on_conn_close)
		return NULL;
	return &((struct conn_track *)sock->on_close.data)->guard;
}

size_t
wk_conns_count(void)
{
	return count;
}

static struct conn_track *
track_of(h2o_conn_t *conn)
{
	h2o_socket_t *sock;

	if (conn->callbacks->get_socket == NULL || (sock = conn->callbacks->get_socket(conn)) == NULL)
		return NULL;
	if (sock->on_close.cb != on_conn_close)
		return NULL;
	return sock->on_close.data;
}

static void
cut(struct conn_track *t, const char *why)
{
	if (t->cut)
		return;
	t->cut = 1;
	log_debug("closing connection: %s", why);
	shutdown(h2o_socket_get_fd(t->sock), SHUT_RDWR);
}

/* The client's remaining bytes are dropped; its end of input goes to h2o. */
static void
on_linger_read(h2o_socket_t *sock, const char *err)
{
	struct conn_track *t = sock->on_close.data;

	if (err == NULL) {
		h2o_buffer_consume(&sock->input, sock->input->size);
		return;
	}
	t->h2o_read(sock, err); /* h2o closes the connection */
}

static void
on_answer_sent(h2o_socket_t *sock, const char *err)
{
	struct conn_track *t = sock->on_close.data;

	if (err != NULL) {
		t->h2o_read(sock, err);
		return;
	}
	shutdown(h2o_socket_get_fd(sock), SHUT_WR);
	h2o_buffer_consume(&sock->input, sock->input->size);
	h2o_socket_read_start(sock, on_linger_read);
}

/*
 * Answer in h2o's place while it reads a request, then close (see
 * above). reader: h2o's reader of the socket, NULL when h2o is not reading.
 */
static void
answer_and_close(struct conn_track *t, h2o_socket_cb reader, int status, const char *code,
    const char *message)
{
	h2o_socket_t *sock = t->sock;
	h2o_mem_pool_t pool;
	h2o_iovec_t body, out;
	int n;

	log_info("request refused (%d): %s; closing the connection", status, message);
	t->h2o_read = reader;
	if (t->h2o_read == NULL) { /* h2o is not reading: nothing to answer in its place */
		cut(t, message);
		return;
	}
	h2o_socket_read_stop(sock);
	t->cut = 1;
	t->refused_at = h2o_now(wk.loop);
	h2o_mem_init_pool(&pool);
	body = wk_oai_error_json(&pool, message, strlen(message), wk_oai_error_type(status), NULL,
	    code);
	t->answer = xmalloc(ANSWER_MAX);
	n = snprintf(t->answer, ANSWER_MAX, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	    "Connection: close\r\nContent-Length: %zu\r\n\r\n%.*s", status, wk_http_reason(status),
	    body.len, (int)body.len, body.base);
	h2o_mem_clear_pool(&pool);
	out = h2o_iovec_init(t->answer, n > 0 && n < ANSWER_MAX ? (size_t)n : 0);
	h2o_socket_write(sock, &out, 1, on_answer_sent);
}

int
wk_conns_refuse(h2o_socket_t *sock, h2o_socket_cb reader, int status, const char *code,
    const char *message)
{
	struct conn_track *t = sock->on_close.data;

	if (t->cut)
		return -1;
	answer_and_close(t, reader, status, code, message);
	return 0;
}

/* From the sweep: h2o's reader is behind the guard when it is there. */
static void
sweep_refuse(struct conn_track *t, int status, const char *code, const char *message)
{
	answer_and_close(t, wk_read_guard_reader(t->sock, &t->guard), status, code, message);
}

void
wk_conns_request_done(h2o_req_t *req)
{
	struct conn_track *t;

	if (req->version >= 0x200 || (t = track_of(req->conn)) == NULL)
		return;
	t->idle_since = h2o_now(wk.loop);
	t->requests++;
}

struct sweep {
	uint64_t now;       /* loop time, ms */
	struct timeval tv;  /* wall time, to compare with h2o's timestamps */
	int draining;
};

static uint64_t
ms_since(const struct timeval *then, const struct timeval *now)
{
	int64_t d = (int64_t)(now->tv_sec - then->tv_sec) * 1000 +
	    (now->tv_usec - then->tv_usec) / 1000;

	return d > 0 ? (uint64_t)d : 0;
}

/* A request whose body is still arriving: its framing, then its time. */
static int
sweep_body(struct conn_track *t, h2o_req_t *req, struct sweep *sw)
{
	h2o_socket_t *sock = t->sock;
	struct head_verdict v;

	wk_head_check(sock->input->bytes, sock->input->size, wk.conf->http.max_header_size, &v);
	if (v.status != 0)
		sweep_refuse(t, v.status, v.code, v.message);
	else if (ms_since(&req->timestamps.request_body_begin_at, &sw->tv) >=
	    wk.conf->http.body_timeout_ms)
		sweep_refuse(t, 408, "request_timeout",
		    "the request body did not arrive within http.body_timeout");
	return 0;
}

/* One HTTP/1 connection, seen through its current request. */
static int
sweep_one(h2o_req_t *req, void *arg)
{
	struct sweep *sw = arg;
	const struct tl_config *conf = wk.conf;
	struct conn_track *t = track_of(req->conn);
	h2o_socket_t *sock;

	if (t == NULL)
		return 0;
	if (t->cut) {
		if (t->refused_at != 0 && sw->now - t->refused_at >= LINGER_MS) {
			t->refused_at = 0;
			shutdown(h2o_socket_get_fd(t->sock), SHUT_RDWR);
		}
		return 0;
	}
	sock = t->sock;
	if (req->version != 0) {
		/* a request is being received or answered: let it finish, unless
		 * its body (head parsed with a body to come, not yet handed to the
		 * router) is framed two ways or late */
		if (sw->draining)
			req->http1_is_persistent = 0;
		if (req->timestamps.request_body_begin_at.tv_sec != 0 && req->processed_at.at.tv_sec == 0)
			return sweep_body(t, req, sw);
		return 0;
	}
	if (sock->input->size > conf->http.max_header_size) {
		sweep_refuse(t, 431, "headers_too_large",
		    "the request head is larger than http.max_header_size");
		return 0;
	}
	if (sock->input->size == 0) {
		if (sw->draining)
			cut(t, "idle, worker stopping");
		else if (t->requests == 0 && sw->now - t->idle_since >= conf->http.header_timeout_ms)
			cut(t, "no request within header_timeout");
		else if (sw->now - t->idle_since >= conf->http.idle_timeout_ms)
			cut(t, "idle timeout");
	} else if (req->timestamps.request_begin_at.tv_sec != 0 &&
	    ms_since(&req->timestamps.request_begin_at, &sw->tv) >= conf->http.header_timeout_ms) {
		cut(t, "request head not complete within header_timeout");
	}
	return 0;
}

static void
sweep(int draining)
{
	struct sweep sw;

	if (!wk.ctx_ready || wk.globalconf.http1.callbacks.foreach_request == NULL)
		return;
	sw.now = h2o_now(wk.loop);
	gettimeofday(&sw.tv, NULL);
	sw.draining = draining;
	wk.globalconf.http1.callbacks.foreach_request(&wk.ctx, sweep_one, &sw);
}

void
wk_conns_sweep(void)
{
	sweep(wk.state == WORKER_DRAINING);
}

void
wk_conns_drain(void)
{
	sweep(1);
}

void
wk_conns_cut_all(void)
{
	h2o_linklist_t *n;

	for (n = all.next; n != &all; n = n->next)
		cut(H2O_STRUCT_FROM_MEMBER(struct conn_track, link, n), "worker stop timed out");
}
