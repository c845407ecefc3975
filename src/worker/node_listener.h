/*
 * node_listener: the worker's side of node.listen, the INTERNAL listener
 * where other nodes of the network forward requests for agents linked
 * here (see src/agentd/forward.h for the sending side).
 *
 * It speaks HTTP/2 only, whatever http.http2 says: h2c with prior
 * knowledge (h2o 2.2.5's h2o_http2_accept on the raw socket: no
 * HTTP/1.1 Upgrade dance, no HTTP/1 at all), or TLS with ALPN h2 when
 * node.tls is set. Every request on it must present
 *     authorization: Bearer <node.secret>
 * (compared in constant time, as hashes); anything else gets 401. A
 * request that passes names its route in tokilake-namespace and
 * tokilake-model: the sending node already parsed the body and cut the
 * namespace out of its "model" field, so the body goes to agentd
 * unchanged, flagged IPC_REQ_F_NO_FORWARD (local agents only: no loops).
 *
 * Requests on it are recognised by their connection's host list: the
 * listener hands h2o its own copy of the list, so req->conn->hosts tells
 * the internal listener from the public ones without a lookup.
 */
#ifndef TL_WORKER_NODE_LISTENER_H
#define TL_WORKER_NODE_LISTENER_H

#include <stddef.h>

#include <h2o.h>

#include "request_json.h"

/* Wrap ctx->node_fd (if any). 0, or EXIT_CONFIG after logging why. */
int wk_node_listener_open(void);
void wk_node_listener_start(void);
void wk_node_listener_close(void);
void wk_node_listener_free(void);

/* 1 if req came in on node.listen. */
int wk_node_request(h2o_req_t *req);
/* For a request on node.listen without the node secret: answer 401 and
 * return 1. 0 otherwise (any public request, or a good secret). */
int wk_node_refused(h2o_req_t *req);
/* The route a forwarding node named (tokilake-namespace, tokilake-model)
 * as if the client had asked for "namespace:model": body->model is set,
 * nothing else (the body needs no rewrite). The node's own headers and
 * the secret are removed from req. 0, or -1 after answering 400. */
int wk_node_route(h2o_req_t *req, struct request_json *body);

#endif
