/*
 * route: which replica (agent) of a namespace's model gets a new task.
 *
 * Policy, in order (documented in tokilake(8), "Choosing a replica"):
 *  1. candidates are the agents publishing ns/model that the request may
 *     use: not excluded (tried already for this request), linked and
 *     usable (not draining, not marked unresponsive: link.h), breaker not
 *     open (breaker.h; half-open lets its one probe through), and not
 *     full (tasks in flight >= a known capacity);
 *  2. local agents first: a remote one (linked to another node, the
 *     request is forwarded) only when no local candidate exists, and
 *     never for local_only (a request another node forwarded here);
 *  3. among candidates, power of two choices: two drawn at random, the
 *     one with the lower expected wait wins -- score = (tasks in flight +
 *     the backend's own queue + 1) / capacity, plus the link's round trip
 *     as a small term; equal scores go to the one picked longest ago.
 *     When neither drawn one is a candidate, every replica is looked at
 *     (the rare case: most are full or out of rotation);
 *  4. none: ROUTE_FULL when replicas exist but are full, out of rotation
 *     or unusable: route_pick_overflow says whether the caller waits (a
 *     replica that takes tasks is full or its breaker open: the admission
 *     queue, queue.h) or offers it to an unusable one anyway,
 *     ROUTE_NO_AGENT when every replica was excluded or the namespace has
 *     no agent, ROUTE_NO_MODEL when no agent publishes the model.
 *
 * Cost: a pick finds the model (registry lookups) and reads two entries
 * of its replica arrays (registry.h reg_model.local/remote), whatever the
 * number of replicas, unless both drawn ones are out.
 *
 * route_policy.c holds the pure choice (unit-tested, benchmarked); route.c
 * ties it to agentd: the links' load, the clock, the config, the logs.
 */
#ifndef TL_AGENTD_ROUTE_H
#define TL_AGENTD_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"

enum route_why { ROUTE_OK, ROUTE_NO_AGENT, ROUTE_NO_MODEL, ROUTE_FULL };

/* What the router knows of one replica's load for one model. */
struct route_load {
	uint32_t open;     /* tasks in flight on it */
	uint32_t waiting;  /* the backend's own queue (0 = none or unknown) */
	uint32_t capacity; /* tasks at once; 0 = unknown: never full */
	uint32_t rtt_us;   /* the link's round trip; 0 = unknown */
};

/* Everything a choice reads besides the registry. */
struct route_ctx {
	struct registry *reg;
	/* the load of a replica (local or remote) for model */
	void (*load)(const struct reg_agent *a, const char *model, size_t mlen,
	    struct route_load *out, void *arg);
	void *arg;
	uint64_t now_ms;       /* monotonic, for the breakers */
	uint32_t cooldown_ms;  /* agents.breaker_cooldown */
	uint32_t *rng;         /* xorshift state, never 0 */
	/* 1 if a local replica said Goodbye or was told to drain: never
	 * chosen, not even by the overflow pick. May be NULL. */
	int (*draining)(const struct reg_agent *a);
};

/* route_policy.c: the pure choice (policy above). */
struct reg_agent *route_choose(struct route_ctx *rc, const char *ns, size_t nslen,
    const char *model, size_t mlen, int local_only, struct reg_agent *const *exclude,
    size_t nexclude, enum route_why *why);
/* Lower is better; UINT32_MAX-ish when full. */
uint32_t route_score(const struct route_load *l);
/* What to do with a ROUTE_FULL task: NULL with *wait = 1 when a local
 * replica that takes tasks is full or its breaker open (one frees up:
 * the caller waits); else the least loaded local replica out of rotation
 * (marked unresponsive: its link decides, link.h), NULL if none. */
struct reg_agent *route_choose_overflow(struct route_ctx *rc, const char *ns, size_t nslen,
    const char *model, size_t mlen, int *wait);

/* route.c: agentd's side. */
struct agentd;
/* The replica for a new task of ns/model, or NULL with why. exclude:
 * replicas already tried for this request (may be NULL/0). local_only:
 * IPC_REQ_F_NO_FORWARD. ROUTE_FULL: replicas exist but every one is at
 * capacity or its breaker is open: the caller queues. */
struct reg_agent *route_pick(struct agentd *ad, const char *ns, size_t nslen,
    const char *model, size_t mlen, int local_only, struct reg_agent *const *exclude,
    size_t nexclude, enum route_why *why);
/* After ROUTE_FULL (route_choose_overflow): NULL and *wait = 1 when the
 * task should wait in the admission queue, else the unusable local
 * replica to offer it to anyway, NULL if none. */
struct reg_agent *route_pick_overflow(struct agentd *ad, const char *ns, size_t nslen,
    const char *model, size_t mlen, int *wait);
/* A task on agent ended: ok 1 = it worked, 0 = failed in a way that
 * counts for the breaker (backend unreachable, 502/503/504 from the
 * agent's side, accept timeout), -1 = no verdict (cancelled, 429). */
void route_task_done(struct agentd *ad, struct reg_agent *agent, int ok);
/* The same with the reason a failure is logged with when it opens the
 * breaker. */
void route_task_done_why(struct agentd *ad, struct reg_agent *agent, int ok, const char *why);

#endif
