/*
 * route_state: see route_state.h.
 *
 * The report is a JSON array built here (see ipc.h, AGENT_STATE): the
 * master hands it to PostgreSQL as it is. Agent ids are the registry's
 * network-wide ids, which name_ok() keeps free of control characters;
 * quotes and backslashes are escaped. A report larger than a frame goes
 * in several frames.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_load.h"
#include "agentd.h"
#include "link.h"
#include "log.h"
#include "network.h"
#include "route_state.h"
#include "xmalloc.h"

/* Room for one agent's object: its id and the numbers. */
#define ENTRY_MAX (2 * REG_MAX_NAME * 2 + 160)
#define REPORT_MAX (IPC_MAX_PAYLOAD - 64)

static struct {
	struct agentd *ad;
	h2o_timeout_t tick;
	h2o_timeout_entry_t entry;
	int inited;
} S;

static void
json_id(struct buf *b, const char *s)
{
	buf_append(b, "\"", 1);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			buf_append(b, "\\", 1);
		buf_append(b, s, 1);
	}
	buf_append(b, "\"", 1);
}

/* 1 if sent (or nothing to send), 0 if the master's queue refused it. */
static int
send_report(struct buf *b)
{
	struct ipc_msg msg;

	buf_append(b, "]", 1);
	memset(&msg, 0, sizeof(msg));
	msg.type = IPC_AGENT_STATE;
	msg.u.agent_state.states.base = (const char *)buf_head(b);
	msg.u.agent_state.states.len = b->len;
	if (!S.ad->master_open || ipc_conn_send(&S.ad->master, &msg, NULL) == -1)
		return 0;
	return 1;
}

/* The requests waiting in a's backends' own queues, over the models it
 * reports load for (agent_load.h); 0 for an older agent. */
static uint32_t
backend_waiting(const struct agent_link *l)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < l->nmodels; i++) {
		const char *id = l->models[i].id;
		const struct model_load *ml = agent_load_model(l, id, strlen(id));

		if (ml != NULL && ml->backend_known)
			sum += ml->waiting;
	}
	return sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
}

/* The round trip moves a little with every PING: a change of a quarter
 * (and half a millisecond) is worth a report, less is not. */
static int
rtt_moved(uint32_t shown, uint32_t now)
{
	uint32_t d = shown > now ? shown - now : now - shown;

	return d > shown / 4 + 500;
}

static void
report(void)
{
	struct registry *reg = &S.ad->registry;
	struct reg_namespace *ns;
	struct reg_agent *a, **pending = NULL;
	size_t npending = 0, cap = 0;
	struct buf b;
	char num[160];

	buf_init(&b, REPORT_MAX + ENTRY_MAX);
	buf_append(&b, "[", 1);
	TAILQ_FOREACH(ns, &reg->namespaces, entry)
		TAILQ_FOREACH(a, &ns->agents, entry) {
			const struct agent_link *l = a->link;
			uint32_t in_flight, capacity, waiting, rtt_us;

			if (l == NULL || a->gid == NULL)
				continue; /* remote, or not known to the network yet */
			in_flight = l->tasks;
			capacity = l->capacity;
			waiting = backend_waiting(l);
			rtt_us = l->rtt_us;
			if (a->shown.valid && a->shown.in_flight == in_flight &&
			    a->shown.capacity == capacity && a->shown.waiting == waiting &&
			    !rtt_moved(a->shown.rtt_us, rtt_us) && a->shown.breaker == a->breaker.state)
				continue;
			if (b.len > REPORT_MAX - ENTRY_MAX) {
				if (!send_report(&b))
					goto out;
				for (size_t i = 0; i < npending; i++)
					pending[i]->shown.valid = 1;
				npending = 0;
				buf_reset(&b);
				buf_append(&b, "[", 1);
			}
			if (b.len > 1)
				buf_append(&b, ",", 1);
			buf_append(&b, "{\"agent_id\":", 12);
			json_id(&b, a->gid);
			snprintf(num, sizeof(num), ",\"in_flight\":%u,\"capacity\":%u,\"waiting\":%u,"
			    "\"rtt_us\":%u,\"breaker\":\"%s\"}", (unsigned)in_flight,
			    (unsigned)capacity, (unsigned)waiting, (unsigned)rtt_us,
			    breaker_state_name(&a->breaker));
			buf_append(&b, num, strlen(num));
			/* marked shown once the frame is queued */
			a->shown.in_flight = in_flight;
			a->shown.capacity = capacity;
			a->shown.waiting = waiting;
			a->shown.rtt_us = rtt_us;
			a->shown.breaker = a->breaker.state;
			a->shown.valid = 0;
			if (npending == cap) {
				cap = cap ? cap * 2 : 16;
				pending = xrealloc(pending, cap * sizeof(*pending));
			}
			pending[npending++] = a;
		}
	if (npending > 0 && send_report(&b))
		for (size_t i = 0; i < npending; i++)
			pending[i]->shown.valid = 1;
out:
	free(pending);
	buf_free(&b);
}

static void
on_tick(h2o_timeout_entry_t *entry)
{
	(void)entry;
	if (network_pg_mode(S.ad))
		report();
	h2o_timeout_link(S.ad->loop, &S.tick, &S.entry);
}

void
route_state_init(struct agentd *ad)
{
	memset(&S, 0, sizeof(S));
	S.ad = ad;
	h2o_timeout_init(ad->loop, &S.tick, ROUTE_STATE_INTERVAL_MS);
	S.entry.cb = on_tick;
	h2o_timeout_link(ad->loop, &S.tick, &S.entry);
	S.inited = 1;
}

void
route_state_free(void)
{
	if (!S.inited)
		return;
	if (h2o_timeout_is_linked(&S.entry))
		h2o_timeout_unlink(&S.entry);
	h2o_timeout_dispose(S.ad->loop, &S.tick);
	memset(&S, 0, sizeof(S));
}
