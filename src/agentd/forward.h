/*
 * forward: requests for an agent linked to ANOTHER node, carried to that
 * node's internal listener (node.listen) as HTTP/2 requests.
 *
 * relay.c hands over a request whose picked agent is remote
 * (agent->node_url != NULL); from then on this module owns it: the
 * worker's REQ_BODY, CANCEL and WINDOW for its id come here (the
 * forward_* calls below answer 1 when the id was a forwarded request),
 * and the peer's answer goes back as RESP_HEAD/RESP_DATA/RESP_END or
 * RESP_ERROR, exactly like an answer from a local agent.
 *
 * On the wire (node A -> node B), one HTTP/2 connection per peer URL,
 * reused by every forwarded request (one stream each):
 *   :method, :path       as the client sent them to A
 *   :scheme, :authority  from B's internal_url (h2c:// or https://)
 *   authorization        Bearer <node.secret>, shared by every node
 *   tokilake-forwarded-by  A's node.name
 *   tokilake-namespace   the namespace (the body's "model" field is the
 *                        agent's own model name: A's worker already cut
 *                        "namespace:" out of it, and B passes the body on
 *                        to its agent unchanged)
 *   tokilake-model       that model name, so B does not parse the body
 *   x-request-id         the request id, kept end to end
 *   content-length       the body's length
 *   and the client's end-to-end headers as A's worker forwarded them.
 *
 * Flow control is kept end to end: the body leaves A at the pace B's
 * stream window allows and A's worker gets WINDOW credit only for bytes
 * handed to nghttp2 (at most IPC_BODY_WINDOW waits here per request);
 * B's response bytes are acknowledged (nghttp2_session_consume on the
 * stream) only while less than FWD_RESP_UNACKED_MAX bytes given to the
 * worker wait for its credit, like link_task.c does for agents.
 * A client that leaves (worker CANCEL) resets the stream with CANCEL, and
 * B cancels its own agent's task in turn.
 *
 * Counting: a forwarded request counts in wc->nrelays while in flight,
 * so agentd_requests_idle() (graceful stop) waits for it like for a
 * request relayed to a local agent.
 */
#ifndef TL_AGENTD_FORWARD_H
#define TL_AGENTD_FORWARD_H

#include <stdint.h>

#include "ipc.h"

struct worker_conn;
struct reg_agent;

/* REQ_START for an agent of another node (agent->node_url). Answers the
 * worker itself on any failure (503 when the peer cannot be reached, or
 * for a request that came from another node: those are never forwarded
 * twice). */
void forward_start(struct worker_conn *wc, const struct ipc_msg *msg, const char *node,
    const char *node_url);
/* 1 if the message was for a forwarded request (and handled), else 0. */
int forward_body(struct worker_conn *wc, const struct ipc_msg *msg);
int forward_cancel(struct worker_conn *wc, uint64_t id);
int forward_window(struct worker_conn *wc, uint64_t id, uint32_t credit);
/* The worker is gone: reset every stream it had. */
void forward_conn_closed(struct worker_conn *wc);
/* agentd exits: close every peer connection and release the timers. */
void forward_shutdown(void);

#endif
