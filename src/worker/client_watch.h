/*
 * client_watch: notice an HTTP/1 client hanging up while the worker waits.
 *
 * h2o 2.2.5 stops reading an HTTP/1 connection once the request is in,
 * so a client that gives up while the agent is still thinking goes
 * unnoticed until the next write, maybe minutes later, and the GPU keeps
 * working for nobody. A watch looks at the connection for h2o: a
 * duplicate of its descriptor is polled for readability only (nothing is
 * read, h2o's buffers are untouched), and POLLRDHUP tells a hang-up from
 * a pipelined request. If bytes arrive without a hang-up (pipelining, a
 * TLS alert) the watch falls back to checking at each sweep.
 *
 * Most answers from a fast backend are done within a millisecond, and a
 * watch costs 4 to 5 system calls, so it is armed only once the request
 * has lasted WK_WATCH_DELAY_MS (or at once with wk_client_watch_now, for
 * a stream). A client that left earlier is seen when it is armed.
 *
 * HTTP/2 needs none of this: h2o stops the generator when a stream is
 * reset. wk_client_watch_start() returns NULL for it.
 *
 * The duplicate descriptor keeps the TCP connection open: a watch must be
 * stopped before h2o is done with the request (the owner does it from its
 * pool dispose callback, which h2o runs before closing the socket).
 */
#ifndef TL_WORKER_CLIENT_WATCH_H
#define TL_WORKER_CLIENT_WATCH_H

#include <h2o.h>

struct client_watch;

#define WK_WATCH_DELAY_MS 20

/* on_gone runs once, from the loop; the watch is stopped by then. */
struct client_watch *wk_client_watch_start(h2o_req_t *req, void (*on_gone)(void *data),
    void *data);
/* Arm it now (the answer is a stream: it will last). Safe on NULL. */
void wk_client_watch_now(struct client_watch *w);
/* Safe on NULL. */
void wk_client_watch_stop(struct client_watch *w);
/* Check the watches that fell back to polling. */
void wk_client_watch_sweep(void);

#endif
