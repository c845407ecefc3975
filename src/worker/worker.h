/*
 * worker: the state of one worker process, shared by the files of
 * src/worker/ (one h2o event loop, one h2o context, the listeners, the
 * links to the master and to agentd).
 *
 * There is exactly one worker per process, so the state is one global
 * object (wk). It lives in static storage on purpose: a fast exit leaves
 * everything reachable, which keeps leak checkers quiet without a full
 * teardown of connections we are told to drop.
 */
#ifndef TL_WORKER_H
#define TL_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include <h2o.h>

#include "child.h"

enum worker_state {
	WORKER_RUNNING,  /* accepting and serving */
	WORKER_DRAINING, /* listeners closed, waiting for connections to finish */
	WORKER_CUTTING,  /* drain timed out: connections dropped, waiting for h2o */
	WORKER_STOPPED,  /* leave the loop */
};

struct listener;

struct worker {
	struct child_ctx *cctx;
	const struct tl_config *conf;

	h2o_evloop_t *loop;
	h2o_globalconf_t globalconf;
	h2o_hostconf_t *hostconf;
	h2o_context_t ctx;
	int ctx_ready;

	/* one timeout list per fixed duration we need (h2o timeouts are lists) */
	h2o_timeout_t five_sec; /* agentd answers we wait for, HELLO_ACK */
	h2o_timeout_t first_byte; /* http.first_byte_timeout: relayed request to head */
	h2o_timeout_t stream_idle; /* http.stream_idle_timeout: gap between chunks */
	h2o_timeout_t watch_delay; /* client_watch: arm hang-up watches this late */

	struct listener *listeners;
	size_t nlisteners;

	enum worker_state state;
	int fast_exit;               /* stop without draining */
	uint32_t drain_ms;           /* how long a graceful stop may take */
	h2o_timeout_t drain_timeout; /* initialised when a drain starts */
	int drain_timeout_ready;

	/* counters reported to the master in STATUS */
	uint64_t served;  /* requests finished (any status) */
	uint32_t active;  /* requests being handled now */
};

extern struct worker wk;

/* worker.c: lifecycle */
void wk_begin_drain(uint32_t timeout_ms, const char *why);
void wk_stop_now(const char *why);
/* Called when a connection closes or a request ends: a drain may be done. */
void wk_check_drained(void);

/* listeners.c: inherited listening sockets */
int wk_listeners_open(void);        /* 0, or EXIT_CONFIG after logging why */
void wk_listeners_start(void);      /* begin accepting */
void wk_listeners_close(void);      /* stop accepting for good (drain) */
void wk_listeners_free(void);       /* release TLS contexts (after close) */
void wk_listeners_throttle(void);   /* re-evaluate max_connections: pause or resume */

/* conns.c: every accepted connection, for limits, timeouts and drains */
void wk_conns_track(h2o_socket_t *sock);
size_t wk_conns_count(void);
void wk_conns_request_done(h2o_req_t *req); /* an HTTP/1 connection went idle */
void wk_conns_sweep(void);                  /* header/idle timeouts; idle close when draining */
void wk_conns_drain(void);                  /* at the start of a graceful stop */
void wk_conns_cut_all(void);                /* drop every connection (stop timed out) */

/* http_conf.c: globalconf, host, the one path and its handler/filter/logger */
void wk_http_conf_init(void);

/* signals.c: a self-pipe turned into loop events */
int wk_signals_init(void);
void wk_signals_close(void);

#endif
