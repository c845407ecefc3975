/*
 * tl-mock-openai: a small, fast OpenAI-compatible backend that stands in
 * for Ollama or vLLM in tests, the quick start and benchmarks.
 *
 * One process, HTTP/1.1 only, one h2o event loop per thread (--threads),
 * all sharing one listening socket. Answers are deterministic and carry
 * digests of what the mock received, so tests can check that bodies,
 * credentials and request ids reached the backend as they should. State
 * shared by the threads (model list, request counts, abort records) lives
 * in state.c behind one mutex; everything else is per thread or per
 * request (in the request's h2o pool).
 *
 * Files: main.c (command line), listen.c (the socket), server.c (h2o
 * setup, threads, timers), route.c (dispatch), admin.c (/healthz,
 * /mock/...), knobs.c (per-request knobs and digests), reply.c (the
 * answer engine: pauses, failures, streaming), watch.c (noticing a client
 * that hung up), chat.c, embed.c, audio.c, echo.c (the endpoints).
 */
#ifndef TL_MOCK_H
#define TL_MOCK_H

#include <signal.h>
#include <stdint.h>

#include <h2o.h>

#define MOCK_PROGNAME "tl-mock-openai"
/* Largest request body accepted (413 above) and answer built. */
#define MOCK_MAX_BODY ((size_t)64 << 20)
#define MOCK_MAX_OUT ((size_t)80 << 20)
/* Distinct timer durations per thread (h2o 2.2.5 timers have one fixed
 * duration per list): pauses and slow-first-byte values share them. */
#define MOCK_MAX_TIMEOUTS 64
#define MOCK_MAX_PAUSE_MS 600000u
#define MOCK_MAX_CHUNKS 1000000u
/* How often a watch whose connection had pipelined bytes is re-checked. */
#define MOCK_WATCH_POLL_MS 10

/* The command line; read-only once the threads run. */
struct mock_opts {
	const char *listen;    /* -l HOST:PORT */
	const char *models;    /* -m a,b,c */
	unsigned chunks;       /* --chunks: default stream chunks */
	unsigned pause_ms;     /* --pause-ms: default pause between events */
	const char *abort_log; /* --abort-log FILE, or NULL */
	unsigned threads;      /* --threads */
	int verbose;           /* -v: one log line per request */
	int strict_models;     /* --strict-models: 404 for models not listed */
};
extern struct mock_opts mopts;
/* Set by SIGTERM/SIGINT; every loop checks it at least every 100 ms. */
extern volatile sig_atomic_t mock_quit;

struct mock_timeout {
	uint64_t ms;
	h2o_timeout_t t;
};

/* One event loop. Allocated once, never moved (h2o links into it). */
struct mock_thread {
	unsigned id;
	int listen_fd;
	h2o_globalconf_t *gc;
	h2o_evloop_t *loop;
	h2o_context_t ctx;
	h2o_accept_ctx_t accept_ctx;
	h2o_socket_t *listener;
	struct mock_timeout timeouts[MOCK_MAX_TIMEOUTS];
	size_t ntimeouts;
};

/* listen.c: a bound, listening, non-blocking socket; `shown` gets
 * "HOST:PORT" with the real port (for -l HOST:0). -1 and a message on
 * stderr on failure. */
int mock_listen(const char *hostport, char *shown, size_t shownlen);

/* server.c */
h2o_globalconf_t *mock_server_config(void);
void *mock_thread_main(void *arg);
/* The timer list of `ms` milliseconds on this thread; NULL when the
 * table of distinct durations is full. */
h2o_timeout_t *mock_timeout(struct mock_thread *t, uint64_t ms);
struct mock_thread *mock_thread_of(h2o_req_t *req);
/* Wall-clock milliseconds since the epoch (what abort records carry). */
uint64_t mock_now_ms(void);

/* route.c: the one h2o handler. */
int mock_route(h2o_handler_t *self, h2o_req_t *req);

/* admin.c: answers that never fail on purpose. */
void admin_healthz(h2o_req_t *req);
void admin_requests(h2o_req_t *req);
void admin_aborts(h2o_req_t *req);
void admin_reset(h2o_req_t *req);
void admin_models_get(h2o_req_t *req);
void admin_models_set(h2o_req_t *req);
/* an OpenAI-shaped invalid_request_error with msg */
void admin_error(h2o_req_t *req, int status, const char *msg);
/* load.c: the backend's own load endpoints and their knob */
void load_metrics(h2o_req_t *req);     /* GET /metrics */
void load_slots(h2o_req_t *req);       /* GET /slots */
void load_ps(h2o_req_t *req);          /* GET /api/ps */
void load_get(h2o_req_t *req);         /* GET /mock/load */
void load_set(h2o_req_t *req);         /* POST /mock/load */
void load_reset(void);

#endif
