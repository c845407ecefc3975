/*
 * req_store: a worker's request kept inside agentd before it goes to an
 * agent (held for a relink, hold.c; waiting in a model's queue, queue.c).
 *
 * The decoded REQ_START points into the worker connection's input, which
 * moves on: it is re-encoded into a buffer owned here, with the body
 * bytes the worker sends meanwhile. Without our WINDOW credit a worker
 * sends at most IPC_BODY_WINDOW bytes of a body, so a stored request
 * holds at most that much body (a chunk past it is the worker's bug:
 * req_store_body fails). The owner bounds how many it keeps.
 */
#ifndef TL_AGENTD_REQ_STORE_H
#define TL_AGENTD_REQ_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct ipc_msg;
struct worker_conn;

struct req_store {
	uint64_t id;
	size_t reserved;  /* the body it may bring: min(body_len, IPC_BODY_WINDOW) */
	struct buf start; /* the REQ_START frame */
	struct buf body;  /* body bytes so far */
	int body_last;    /* the last chunk came */
};

/* msg (a REQ_START) re-encoded into out (buf_init'ed by the caller,
 * bound IPC_HEADER_SIZE + IPC_MAX_PAYLOAD), to be decoded again when the
 * worker's input has moved on (also relay.c's copy for a retry): 0, or
 * -1 if it does not fit. */
int req_store_encode(struct buf *out, const struct ipc_msg *msg);
/* Copy msg (a REQ_START) in. -1 if it cannot be encoded again. */
int req_store_init(struct req_store *s, const struct ipc_msg *msg);
void req_store_free(struct req_store *s);
/* A REQ_BODY chunk for it. -1 past the window the worker never got. */
int req_store_body(struct req_store *s, const struct ipc_msg *msg);
/* The REQ_START again (points into s). 0, or -1 with why (our own bug). */
int req_store_start(const struct req_store *s, struct ipc_msg *out, const char **why);
/* After the REQ_START went on: its body so far through
 * agentd_request_body() in the worker's chunk size, as if it arrived now
 * (the rest comes from the worker as usual). Stops if wc closes. */
void req_store_replay_body(const struct req_store *s, struct worker_conn *wc);

#endif
