/*
 * watch: notice at once that an HTTP/1 client hung up while the mock
 * holds its request (a pause between events, a hang, a slow first byte).
 *
 * h2o 2.2.5 stops reading an HTTP/1 connection once the request is in,
 * and only stops the generator at the next failed write: for a stream
 * paused for seconds, or a request that never gets an answer, that is
 * too late for tests that check cancellation within 100 ms. A watch
 * polls a duplicate of the connection's descriptor for readability
 * (DONT_READ: not a byte is consumed, h2o's buffers stay untouched) and
 * tells a hang-up (POLLRDHUP) from pipelined bytes; after pipelined bytes
 * it re-checks every MOCK_WATCH_POLL_MS instead.
 *
 * The duplicate keeps the TCP connection open: the owner stops the watch
 * before h2o is done with the request (from its pool dispose callback at
 * the latest). A watch lives inside its owner; no allocation.
 */
#ifndef TL_MOCK_WATCH_H
#define TL_MOCK_WATCH_H

#include <h2o.h>

struct watch {
	int fd;                   /* h2o's descriptor; -1 when not watching */
	h2o_socket_t *dup;        /* ours, polled for readability */
	h2o_timeout_entry_t poll; /* re-checks after pipelined bytes */
	h2o_timeout_t *every;
	h2o_evloop_t *loop;
	void (*gone)(struct watch *w);
};

/* `gone` runs once, from the loop, with the watch already stopped.
 * -1 when the connection cannot be watched (then only h2o notices). */
int watch_start(struct watch *w, h2o_req_t *req, h2o_evloop_t *loop, h2o_timeout_t *every,
    void (*gone)(struct watch *w));
/* Safe on a watch that is not running. */
void watch_stop(struct watch *w);
/* The connection's descriptor, or -1. */
int watch_conn_fd(h2o_req_t *req);

#endif
