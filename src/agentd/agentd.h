/*
 * agentd: the one process of a node that holds every agent link.
 *
 * One h2o event loop (the same loop type as the workers, so the gRPC link
 * can use h2o sockets with an nghttp2 session each). Files:
 *
 *   agentd.c          agentd_main, config swaps, stopping
 *   signals.c         signals through a self-pipe read by the loop
 *   master_link.c     the socketpair to the master (HELLO, READY, CONFIG...)
 *   workers.c         worker connections on agentd.sock
 *   requests.c        REQ_START/REQ_BODY/CANCEL/WINDOW from workers
 *   admission.c       a key's limits at REQ_START (limiter.c counts)
 *   model_pages.c     the model list as MODELS_LIST pages (MODELS_QUERY)
 *   registry.c        namespace -> agents -> models, in memory
 *   route.c           which replica gets a task (route_policy.c, breaker.c)
 *   relay.c           a request handed to an agent's link, both ways
 *   agent_listener.c  where the agent links plug in (the gRPC listener)
 *   ipc_conn.c        IPC framing over an h2o socket
 *
 * The agent link code (link_*.c) adds agents to ad->registry when they
 * register and removes them when they leave; requests.c hands a request
 * to the replica route_pick() chose (route.h).
 */
#ifndef TL_AGENTD_H
#define TL_AGENTD_H

#include <stdint.h>
#include <sys/queue.h>

#include <h2o.h>

#include "child.h"
#include "ipc_conn.h"
#include "registry.h"
#include "tl_config.h"

/* Output bound of one worker connection: MODELS_LIST pages, errors and,
 * later, response chunks (the WINDOW credit keeps those far below it). */
#define AGENTD_WORKER_OUT_MAX (8 * 1024 * 1024)
#define AGENTD_MASTER_OUT_MAX (1024 * 1024)
/* Failed requests whose body is still arriving, per worker connection. */
#define AGENTD_MAX_DRAINING 4096

enum agentd_state { AGENTD_RUNNING, AGENTD_DRAINING, AGENTD_DONE };

struct worker_conn {
	TAILQ_ENTRY(worker_conn) entry;
	struct agentd *ad;
	struct ipc_conn ipc;
	int hello;
	unsigned slot;
	long pid;
	/* ids of requests agentd failed while their body still arrives:
	 * REQ_BODY for them is dropped quietly */
	uint64_t *draining;
	size_t ndraining;
	size_t draining_cap;
	/* requests relayed to agents, by id (relay.c) */
	struct relay **relays;
	size_t relays_cap; /* buckets, a power of two */
	size_t nrelays;
	size_t nheld;      /* requests held for agents to relink (hold.c) */
	size_t nqueued;    /* requests waiting for a free replica (queue.c) */
	/* requests admitted under their key's limits (admission.c) */
	struct admitted *admitted;
	size_t admitted_cap; /* slots, a power of two */
	size_t nadmitted;
};

struct agentd {
	h2o_evloop_t *loop;
	struct child_ctx *ctx;
	struct tl_config *conf; /* current configuration */
	int conf_owned;         /* 0 while it is the copy inherited from the master */
	uint64_t generation;
	struct registry registry;
	struct limiter *limiter; /* per-key counts (admission.c), made on first use */

	struct ipc_conn master;
	int master_open;
	h2o_socket_t *worker_listener;
	TAILQ_HEAD(, worker_conn) workers;
	size_t nworkers;

	enum agentd_state state;
	int exit_code;
	h2o_timeout_t stop_timeout;
	h2o_timeout_entry_t stop_entry;
	int stop_timer_armed;
};

/* agentd.c */
void agentd_stop(struct agentd *ad, int fast, uint32_t timeout_ms, const char *why);
void agentd_check_done(struct agentd *ad);
/* CONFIG from the master: parse, swap, answer CONFIG_ACK. */
void agentd_apply_config(struct agentd *ad, uint64_t generation, struct ipc_str path,
    struct ipc_str yaml);

/* signals.c */
int agentd_signals_init(struct agentd *ad);
void agentd_signals_close(void);

/* master_link.c */
void agentd_master_open(struct agentd *ad, int fd);
void agentd_master_send(struct agentd *ad, const struct ipc_msg *msg);
void agentd_master_close(struct agentd *ad);

/* workers.c */
void worker_conns_listen(struct agentd *ad, int fd);
void worker_conns_stop_accepting(struct agentd *ad);
/* Graceful: close each connection once idle and flushed. Fast: now. */
void worker_conns_close_all(struct agentd *ad, int fast, const char *why);
/* Send to a worker; a worker whose queue is full is closed (-1). */
int worker_conn_send(struct worker_conn *wc, const struct ipc_msg *msg,
    const struct ipc_encode_lists *lists);
void worker_conn_protocol_error(struct worker_conn *wc, const char *why);

/* requests.c */
void agentd_request_start(struct worker_conn *wc, const struct ipc_msg *msg);
void agentd_request_body(struct worker_conn *wc, const struct ipc_msg *msg);
void agentd_request_cancel(struct worker_conn *wc, const struct ipc_msg *msg);
void agentd_request_window(struct worker_conn *wc, const struct ipc_msg *msg);
/* Answer a REQ_START with an OpenAI error; its body chunks are then dropped. */
void agentd_request_fail(struct worker_conn *wc, const struct ipc_msg *req, uint16_t status,
    const char *type, const char *code, const char *message);
/* The same with headers for the answer (lists->headers) and, when not
 * empty, the packed x-ratelimit values (ratelimit.h). */
void agentd_request_fail_lists(struct worker_conn *wc, const struct ipc_msg *req,
    uint16_t status, const char *type, const char *code, const char *message,
    const struct ipc_encode_lists *lists, struct ipc_str ratelimit);
/* No request of this worker is in flight (graceful stop may close it). */
int agentd_requests_idle(const struct worker_conn *wc);
void agentd_requests_conn_closed(struct worker_conn *wc);

/* relay.c: a request handed to an agent's link */
struct reg_agent;
void relay_start(struct worker_conn *wc, const struct ipc_msg *msg, struct reg_agent *agent);
/* 1 if the message was for a relayed request (and handled). */
int relay_body(struct worker_conn *wc, const struct ipc_msg *msg);
int relay_cancel(struct worker_conn *wc, uint64_t id);
int relay_window(struct worker_conn *wc, uint64_t id, uint32_t credit);
/* The worker is gone: cancel every task it had (agents stop at once). */
void relay_conn_closed(struct worker_conn *wc);

/* agent_listener.c */
int agent_listener_start(struct agentd *ad, int fd);
void agent_listener_stop(struct agentd *ad);

#endif
