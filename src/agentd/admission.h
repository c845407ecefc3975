/*
 * admission: agentd applies a key's limits (limiter.h) to workers'
 * requests.
 *
 * At REQ_START, before any routing, a request that names a key with
 * limits is admitted or answered 429 at once:
 *
 *   budget spent (day or month)  -> 429 insufficient_quota (type and code)
 *   max_in_flight, rpm, or the
 *   table of keys full           -> 429 rate_limit_exceeded, type requests
 *   tpm                          -> 429 rate_limit_exceeded, type tokens
 *
 * with Retry-After (whole seconds, >= 1) and, when the key has rpm or
 * tpm, OpenAI's x-ratelimit-* headers. Not limited: anonymous requests
 * (no key name), keys without limits, and requests another node
 * forwarded here (IPC_REQ_F_NO_FORWARD: the node that took them from the
 * client admitted them).
 *
 * An admitted request is in flight until it ends, whichever way: every
 * RESP_END and RESP_ERROR agentd sends a worker passes through
 * admission_outgoing() (from worker_conn_send, the one way out), a CANCEL
 * from the worker ends it, and so does the worker's connection closing.
 * RESP_HEAD and RESP_ERROR of an admitted request of a key with rpm or
 * tpm carry the values of the six headers (packed, ratelimit.h); the
 * worker writes them and drops the backend's of the same names.
 *
 * Per worker connection the admitted ids live in an open-addressing table
 * that grows with the requests in flight and is freed with the connection;
 * the limiter is made at the first limited request and lives as long as
 * agentd. Its rate counts start from zero when agentd restarts; in
 * PostgreSQL mode the budgets do not (netlimit.c seeds them from the
 * usage rollups).
 */
#ifndef TL_ADMISSION_H
#define TL_ADMISSION_H

#include <stdint.h>

#include "ipc.h"

struct agentd;
struct worker_conn;
struct limiter;

/* 1 if req was refused (a 429 is on its way), 0 to serve it. */
int admission_start(struct worker_conn *wc, const struct ipc_msg *req);
/* Every message to a worker: may end an admitted request and returns the
 * message to encode (msg itself, or tmp: a copy with the x-ratelimit
 * values, valid until the next call). */
const struct ipc_msg *admission_outgoing(struct worker_conn *wc, const struct ipc_msg *msg,
    struct ipc_msg *tmp);
/* The worker cancelled id. */
void admission_cancel(struct worker_conn *wc, uint64_t id);
/* The worker's connection is gone: its admitted requests end. */
void admission_conn_closed(struct worker_conn *wc);
/* Requests of wc admitted and not ended (tests, logs). */
size_t admission_in_flight(const struct worker_conn *wc);
/* Charge tokens a request of key name used (the usage it reported when it
 * ended; a request another node forwarded here is charged there, not
 * here: its worker reports no key). */
void admission_charge(struct agentd *ad, const char *name, size_t len, uint64_t tokens);
/* The limiter, made on first use (the usage and network slices charge
 * and feed it). */
struct limiter *admission_limiter(struct agentd *ad);
void admission_free(struct agentd *ad);

#endif
