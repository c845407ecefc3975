/*
 * agentd_link: the worker's one connection to agentd.
 *
 * The link connects to <runtime_dir>/agentd.sock, sends HELLO and is
 * "up" only once agentd answers HELLO_ACK. When it drops, every pending
 * entry is failed at once (its on_down runs) and the link reconnects
 * after 100 ms, backing off to 1 s.
 *
 * While it is down (agentd respawning), a new request need not fail: its
 * caller queues a waiter (wk_agentd_link_wait) in one FIFO per worker,
 * bounded by AGENTD_WAIT_MAX entries and by http.agentd_wait. When the
 * link comes up, the waiters are woken in arrival order (on_up: send
 * now); the ones that waited past the bound, or that find the FIFO full,
 * or that are still waiting when the worker stops, get on_expired (503).
 * A caller whose client leaves takes its waiter out (unwait). Requests
 * already sent when the link dies are another matter: they were in the
 * dead agentd, and fail (on_down).
 *
 * Work in flight is a table of pending entries keyed by a 64-bit id the
 * worker picks (unique per process). Entries are embedded in the
 * caller's per-request state; agentd's answers are routed to on_msg by
 * id. Answers for ids no longer pending (cancelled, timed out) are
 * dropped quietly.
 *
 * Request bodies are sent by a pump: REQ_BODY chunks of at most
 * IPC_MAX_CHUNK are queued only while the output queue is below a mark
 * and the request has credit from agentd (IPC_BODY_WINDOW at first, then
 * WINDOW as its bytes leave for the agent), round-robin between requests,
 * so memory stays bounded however many large uploads run at once.
 */
#ifndef TL_WORKER_AGENTD_LINK_H
#define TL_WORKER_AGENTD_LINK_H

#include <stddef.h>
#include <stdint.h>

#include <h2o.h>

#include "ipc.h"

struct agentd_pending {
	uint64_t id;                   /* 0 while not registered */
	struct agentd_pending *hnext;  /* hash chain */
	/* a message for this id; strings in msg live only during the call */
	void (*on_msg)(struct agentd_pending *p, const struct ipc_msg *msg);
	/* the link died; p is already unregistered */
	void (*on_down)(struct agentd_pending *p);

	/* body pump state */
	h2o_linklist_t pump_link;
	/* the body is up to two segments sent back to back: the request body
	 * with the "namespace:" prefix of the model cut out */
	const uint8_t *body;
	size_t body_len, body_off;
	const uint8_t *body2;
	size_t body2_len;
	size_t body_credit; /* bytes agentd still accepts (IPC_BODY_WINDOW, then WINDOW) */
};

/* A request waiting for the link to come up. */
struct agentd_waiter {
	h2o_linklist_t link;  /* in the FIFO; unlinked before either callback */
	uint64_t since_ms;    /* h2o_now when queued */
	void (*on_up)(struct agentd_waiter *w);      /* the link is up: send now */
	void (*on_expired)(struct agentd_waiter *w); /* no link in time: answer 503 */
};

/* Waiters per worker (each holds a request and its body in memory). */
#define AGENTD_WAIT_MAX 4096

void wk_agentd_link_start(void);
void wk_agentd_link_stop(void);
int wk_agentd_link_is_up(void);
/* The link is down: queue w (its callbacks set). 0, or -1 when it cannot
 * wait (FIFO full, http.agentd_wait is 0, the worker stopping): answer
 * 503 at once. */
int wk_agentd_link_wait(struct agentd_waiter *w);
/* Take w out of the FIFO (its client left). Safe on a waiter not queued. */
void wk_agentd_link_unwait(struct agentd_waiter *w);

/* Assign an id and add p to the table. */
void wk_agentd_link_register(struct agentd_pending *p);
/* Remove p (no message sent). Safe on an unregistered p. */
void wk_agentd_link_unregister(struct agentd_pending *p);
/* Tell agentd to drop p (CANCEL) if it is registered, then unregister. */
void wk_agentd_link_cancel(struct agentd_pending *p);
/* Queue a message. 0, or -1 when the link is down or its queue is full. */
int wk_agentd_link_send(const struct ipc_msg *msg, const struct ipc_encode_lists *lists);
/*
 * Send body[0..len) for p as REQ_BODY frames (the last one with last=1;
 * one empty frame if len is 0). body must stay valid while p is
 * registered.
 */
void wk_agentd_link_send_body(struct agentd_pending *p, const void *body, size_t len);
/* The same for a body in two segments (a then b). */
void wk_agentd_link_send_body2(struct agentd_pending *p, const void *a, size_t alen,
    const void *b, size_t blen);
/* Give credit for bytes of p's answer the client has taken (WINDOW). */
void wk_agentd_link_window(struct agentd_pending *p, uint32_t credit);

size_t wk_agentd_link_npending(void);

/*
 * What a finished request used, to agentd (USAGE, one record per frame):
 * agentd charges the key's tokens and passes the record on to the master.
 * An empty node is filled with node.name, a zero unix_ms with now. The
 * link down (agentd respawning) or its queue full: the record is dropped,
 * counted in wk_usage_dropped(), and logged once until one goes through
 * again. Returns 0 when queued.
 */
int wk_usage_send(const struct ipc_usage *u);
uint64_t wk_usage_dropped(void);

#endif
