/*
 * queue: the admission queue. When every replica that could serve a
 * model is at capacity, a request waits here, per model, fair between
 * API keys, instead of being offered to a busy agent (policy in queue.c
 * and tokilake(8), "Admission queue").
 *
 * Ownership: a waiting request is stored here (req_store.h) until it is
 * dispatched to an agent, answered (429, 503, 404) or dropped (CANCEL,
 * its worker connection closing).
 */
#ifndef TL_AGENTD_QUEUE_H
#define TL_AGENTD_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "route.h"

struct agentd;
struct ipc_msg;
struct reg_agent;
struct worker_conn;

void queue_init(struct agentd *ad);
/* agentd exits: every worker connection is closed already. */
void queue_free(void);

/*
 * The replica for a new (or waiting) task of ns/model: route_pick()
 * (route.h); when it says ROUTE_FULL, route_pick_overflow() decides:
 * NULL with *full = 1 when a replica that takes tasks is at capacity or
 * its breaker is open (the request waits), else an unusable local one
 * (unresponsive: its link decides) or NULL with *why (ROUTE_NO_MODEL:
 * 404, else 503). Never a draining agent.
 */
struct reg_agent *queue_pick(struct agentd *ad, const char *ns, size_t nslen,
    const char *model, size_t mlen, int local_only, int *full, enum route_why *why);
/* 1 if requests wait for msg's (a REQ_START) model: it goes behind them. */
int queue_waiting(const struct ipc_msg *msg);

/* REQ_START after the pick (requests.c): full = every replica is at
 * capacity. 1 if the queue took it (it waits, or was answered 429),
 * 0 if the caller relays it now (not full and nobody waits before it). */
int queue_request(struct worker_conn *wc, const struct ipc_msg *msg, int full);
/* REQ_BODY / CANCEL for a waiting request: 1 if it was one (handled). */
int queue_body(struct worker_conn *wc, const struct ipc_msg *msg);
int queue_cancel(struct worker_conn *wc, uint64_t id);
/* The worker connection is gone: forget its waiting requests. */
void queue_conn_closed(struct worker_conn *wc);
/* A task ended (route_task_done): a slot may be free; the queue looks on the
 * next loop turn, never from inside the caller. */
void queue_kick(void);

#endif
