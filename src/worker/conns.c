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
 * Graceful stop. 2.2.5's HTTP/1 has no request_shutdown hook, and an
 * idle keep-alive connection would otherwise stay until req_timeout.
 * On a drain the worker marks every HTTP/1 request in progress as not
 * persistent (the connection closes after its response; requests parsed
 * later get that from h2o itself once shutdown_requested is set) and
 * cuts idle ones at once, and again at each sweep while draining.
 */
#include "config.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <h2o.h>

#include "log.h"
#include "tl_config.h"
#include "worker.h"
#include "xmalloc.h"

struct conn_track {
	h2o_linklist_t link;
	h2o_socket_t *sock;
	uint64_t idle_since; /* h2o_now() ms when it last became idle (HTTP/1) */
	uint64_t requests;   /* HTTP/1 requests answered on it */
	int cut;             /* shutdown(2) done; h2o will close it */
};

static h2o_linklist_t all = { &all, &all };
static size_t count;

static void
on_conn_close(void *data)
{
	struct conn_track *t = data;

	h2o_linklist_unlink(&t->link);
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

/* One HTTP/1 connection, seen through its current request. */
static int
sweep_one(h2o_req_t *req, void *arg)
{
	struct sweep *sw = arg;
	const struct tl_config *conf = wk.conf;
	struct conn_track *t = track_of(req->conn);
	h2o_socket_t *sock;

	if (t == NULL || t->cut)
		return 0;
	sock = t->sock;
	if (req->version != 0) {
		/* a request is being received or answered: let it finish */
		if (sw->draining)
			req->http1_is_persistent = 0;
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
