/*
 * link: the gRPC server side of the agent link, inside agentd.
 *
 * Each tokiame holds one HTTP/2 connection (TLS with ALPN h2, or h2c when
 * agents.plaintext is set) carrying its Connect call and one Serve call per
 * task; see proto/tokilake.proto for the wire conventions. This module
 * owns those connections: it authenticates them against the namespaces of
 * the current config, keeps them alive with PINGs, and tells the rest of
 * agentd about agents through the hooks below. It never blocks and bounds
 * what it buffers per connection and per stream.
 *
 * Ownership: a struct agent_link lives from a successful Register until
 * the connection ends; hooks.agent_down() is the last call that sees it.
 */
#ifndef TL_AGENTD_LINK_H
#define TL_AGENTD_LINK_H

#include <stddef.h>
#include <stdint.h>

#include <h2o.h>

#include "tl_config.h"

struct link_model {
	char *id;          /* as the backend knows it */
	int kind;          /* Tokilake__V1__ModelKind */
	uint32_t context_length;
	char *backend;
};

struct agent_link {
	char *ns;          /* namespace it registered */
	char *agent_id;    /* unique on this node: "<agent's id>#<seq>" */
	char *instance;    /* Register.agent_id: the same on every link of one
	                    * tokiame (which may link to several nodes) */
	uint32_t links;    /* links the agent keeps to nodes (0 = one, or unknown) */
	char *version;
	char peer[64];     /* "ip:port" for logs */
	struct link_model *models;
	size_t nmodels;
	uint32_t capacity;
	uint32_t in_flight;   /* as the agent last reported it */
	uint32_t tasks;       /* tasks this node has open on the link */
	uint64_t linked_at;   /* unix seconds */
	int draining;         /* said Goodbye: offer no new tasks */
	int inline_body;      /* takes small bodies inside TaskOffer (Register) */
	/* missed an accept deadline at this time (link_now_ms): offered no
	 * new task until a frame from it arrives after it; 0 = responsive */
	uint64_t unresponsive_since_ms;
	void *registry_data;  /* for the registry's own use */
	struct link_conn *conn;
	/* per model load from the agent's heartbeats (agent_load.h); NULL
	 * until one carries models. Freed with the link. */
	struct agent_load *load;
	/* the link's round-trip time, smoothed over HTTP/2 PING -> ACK
	 * (link_conn.c); 0 = not measured yet */
	uint32_t rtt_us;
};

struct link_hooks {
	/* registered: the agent and its models are usable */
	void (*agent_up)(struct agent_link *agent, void *data);
	/* its model list was replaced */
	void (*agent_models)(struct agent_link *agent, void *data);
	/* gone; reason is for the log. The pointer is freed after this. */
	void (*agent_down)(struct agent_link *agent, const char *reason, void *data);
	void *data;
};

/* Start accepting on the inherited agent listener. -1 (logged) if the TLS
 * material cannot be loaded: the caller exits with EXIT_CONFIG. */
int link_server_start(h2o_loop_t *loop, int listen_fd, const struct tl_config *conf,
    const struct link_hooks *hooks);
/* A new config (reload): new limits apply to new links; agents whose
 * namespace is gone or whose token no longer matches are disconnected. */
void link_server_reconfigure(const struct tl_config *conf);
/* Stop accepting (graceful shutdown). Existing links stay until closed. */
void link_server_stop_accepting(void);
/* Graceful stop: send every linked agent Control.Drain with reason and
 * offer it no new task, so an agent linked to other nodes too moves its
 * new traffic there; the tasks open here finish. Returns how many. */
size_t link_server_drain_all(const char *reason);
/* Close every link (fast shutdown). */
void link_server_close_all(const char *reason);
size_t link_server_count(void);
/* agentd exits: tear every link down now and release the module's
 * timers, so the event loop can be destroyed. */
void link_server_destroy(void);

/*
 * Tasks: one request relayed to an agent. The callbacks report what the
 * agent sends; after on_end or on_error the task is finished and freed by
 * this module (do not touch it again).
 */
struct link_task_header {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

struct link_task_cbs {
	void (*on_head)(void *ctx, unsigned status, const struct link_task_header *h, size_t n);
	void (*on_data)(void *ctx, const uint8_t *data, size_t len);
	void (*on_end)(void *ctx);
	/* status is the HTTP status to show the client */
	void (*on_error)(void *ctx, unsigned status, const char *type, const char *code,
	    const char *message);
	/* n request body bytes left for the agent: room for n more */
	void (*on_body_sent)(void *ctx, size_t n);
	/* The offer was not accepted within agents.accept_timeout (its agent,
	 * `from`, is now marked unresponsive): another agent to offer it to,
	 * or NULL to leave it with `from`. May be NULL. */
	struct agent_link *(*on_unaccepted)(void *ctx, struct agent_link *from);
};

struct link_task_req {
	const char *request_id;
	const char *method;
	const char *path;
	const char *model; /* the backend's own name */
	const struct link_task_header *headers;
	size_t nheaders;
	uint64_t body_size;
	/* first-byte budget the worker gave, 0 = none; the offer carries what
	 * is left of it and of http.first_byte_timeout, whichever is less */
	uint32_t deadline_ms;
};

/*
 * Routing policy, in order (the router asks link_agent_usable):
 *  1. a task goes to an agent that is linked, not draining and not marked
 *     unresponsive;
 *  2. an offer not accepted within agents.accept_timeout is withdrawn from
 *     its agent, which is marked unresponsive (logged once per mark), and
 *     offered to another usable agent (on_unaccepted): nothing reached a
 *     backend yet, so nothing runs twice; a late TaskAccept for it gets
 *     NOT_FOUND;
 *  3. with no other agent, the offer stays where it is and is looked at
 *     again every accept_timeout, until the first-byte budget is spent
 *     (504) or the link drops (502): a slow agent is still better than a
 *     503 for a namespace with one replica;
 *  4. the mark goes when any frame arrives from the agent (PING ACK,
 *     heartbeat, a TaskAccept...); marking sends a PING to ask.
 */
int link_agent_usable(struct agent_link *agent);

struct link_task;
/* Offer a task to an agent. NULL if the link cannot take one now. */
struct link_task *link_task_offer(struct agent_link *agent, const struct link_task_req *req,
    const struct link_task_cbs *cbs, void *ctx);
/* Request body bytes, in order; last = 1 with the final piece. -1 if the
 * task's body buffer would pass LINK_TASK_BODY_MAX: the caller grants its
 * producer credit only as on_body_sent reports bytes leaving. */
#define LINK_TASK_BODY_MAX (1024 * 1024)
/* Bodies up to this size go to agents that can take them inside the
 * offer: the offer then waits here until the body is complete. */
#define LINK_INLINE_BODY_MAX (64 * 1024)
int link_task_body(struct link_task *t, const uint8_t *data, size_t len, int last);
/* The client side consumed n bytes of response data: let more in. */
void link_task_consumed(struct link_task *t, size_t n);
/* The client went away: reset the stream; no callbacks follow. */
void link_task_cancel(struct link_task *t);

#endif
