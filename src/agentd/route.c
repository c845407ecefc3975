/*
 * route: the router inside agentd (policy in route.h). It feeds
 * route_policy.c with what agentd knows of each replica and keeps the
 * breakers, logging when one opens or closes.
 */
#include "config.h"

#include <time.h>
#include <unistd.h>

#include "agent_load.h"
#include "agentd.h"
#include "link.h"
#include "log.h"
#include "queue.h"
#include "route.h"

#define RTT_STEP_US 10000

static uint32_t rng_state;

/*
 * A replica's load as agentd knows it. Whether it is full: the tasks
 * this node has open on its link against the capacity its agent declared
 * (Register/Heartbeat), both exact here (the agent's own reports lag by a
 * heartbeat). The score also counts what the agent reports per model
 * (agent_load.h): the backend's own queue when the probe reads it; the
 * requests the backend runs beyond the agent's tasks (other clients of
 * the same backend); the tasks waiting inside tokiame beyond the model's
 * capacity; and the link's round trip, in steps of 10 ms. An agent linked to other nodes
 * too (Heartbeat.links) shares its capacity with them: the tasks it
 * reported beyond ours count as queue, so the pick leans to replicas the
 * other nodes use less (the agent itself keeps to its capacity).
 * A remote agent's load is not known here: it competes on equal scores,
 * which leaves its order to "picked longest ago" (round robin).
 */
static void
replica_load(const struct reg_agent *a, const char *model, size_t mlen, struct route_load *out,
    void *arg)
{
	const struct agent_link *l = a->link;
	const struct model_load *ml;

	(void)arg;
	if (l == NULL)
		return;
	out->open = l->tasks;
	out->capacity = l->capacity;
	/* in steps of RTT_STEP_US: the jitter of a local network must not
	 * decide between replicas that are otherwise equal (they take turns) */
	out->rtt_us = l->rtt_us / RTT_STEP_US * RTT_STEP_US;
	if (l->links > 1 && l->in_flight > l->tasks)
		out->waiting = l->in_flight - l->tasks;
	if ((ml = agent_load_model(l, model, mlen)) == NULL)
		return; /* an older agent: its tasks and capacity only */
	if (ml->backend_known) {
		out->waiting += ml->waiting;
		if (ml->running > ml->in_flight)
			out->waiting += ml->running - ml->in_flight;
	}
	if (ml->capacity != 0 && ml->in_flight > ml->capacity)
		out->waiting += ml->in_flight - ml->capacity;
}

static int
replica_draining(const struct reg_agent *a)
{
	const struct agent_link *l = a->link;

	return l != NULL && l->draining;
}

static void
ctx_init(struct agentd *ad, struct route_ctx *rc)
{
	if (rng_state == 0) {
		rng_state = (uint32_t)time(NULL) ^ (uint32_t)getpid() << 16;
		if (rng_state == 0)
			rng_state = 1;
	}
	rc->reg = &ad->registry;
	rc->load = replica_load;
	rc->arg = NULL;
	rc->now_ms = h2o_now(ad->loop);
	rc->cooldown_ms = ad->conf->agents.breaker_cooldown_ms;
	rc->rng = &rng_state;
	rc->draining = replica_draining;
}

struct reg_agent *
route_pick(struct agentd *ad, const char *ns, size_t nslen, const char *model, size_t mlen,
    int local_only, struct reg_agent *const *exclude, size_t nexclude, enum route_why *why)
{
	struct route_ctx rc;

	ctx_init(ad, &rc);
	return route_choose(&rc, ns, nslen, model, mlen, local_only, exclude, nexclude, why);
}

struct reg_agent *
route_pick_overflow(struct agentd *ad, const char *ns, size_t nslen, const char *model,
    size_t mlen, int *wait)
{
	struct route_ctx rc;

	ctx_init(ad, &rc);
	return route_choose_overflow(&rc, ns, nslen, model, mlen, wait);
}

void
route_task_done_why(struct agentd *ad, struct reg_agent *agent, int ok, const char *why)
{
	const struct tl_config *conf = ad->conf;
	uint32_t cooldown = conf->agents.breaker_cooldown_ms;

	switch (breaker_result(&agent->breaker, ok, h2o_now(ad->loop),
	    conf->agents.breaker_failures, cooldown)) {
	case BREAKER_OPENED:
		log_info("agent %s: circuit breaker open for %u ms after %u failures in a row "
		    "(last: %s)", agent->name, (unsigned)cooldown,
		    (unsigned)conf->agents.breaker_failures, why != NULL ? why : "failed");
		break;
	case BREAKER_REOPENED:
		log_info("agent %s: circuit breaker open again for %u ms: the probe failed (%s)",
		    agent->name, (unsigned)cooldown, why != NULL ? why : "failed");
		break;
	case BREAKER_CLOSED_AGAIN:
		log_info("agent %s: circuit breaker closed: the probe succeeded", agent->name);
		break;
	default:
		break;
	}
	/* the one place a task's end is seen: a slot may be free for the
	 * admission queue (it looks on the next loop turn) */
	queue_kick();
}

void
route_task_done(struct agentd *ad, struct reg_agent *agent, int ok)
{
	route_task_done_why(ad, agent, ok, NULL);
}
