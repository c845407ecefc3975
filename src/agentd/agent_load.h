/*
 * agent_load: per agent and model, the load its tokiame reported in its
 * last heartbeat (Heartbeat.models, issue 15), for the pick (route.c)
 * and the admission queue to read.
 *
 * The table hangs off struct agent_link (its `load` member) and dies with
 * it (link_agent_free). Each heartbeat that carries models replaces it
 * whole: the agent sends every model each time, so a model it stops
 * reporting stops being known. Bounds: only ids the agent publishes
 * (Register/ModelUpdate) are kept, so the table never has more entries
 * than the agent has models; other ids are ignored. A heartbeat without
 * models (an older tokiame) leaves no table: agent_load_model() is then
 * NULL for every model, and the pick falls back to the agent-wide
 * in_flight/capacity.
 *
 * Lookups are a binary search over the ids, sorted when the table is
 * built, so a pick over many replicas stays cheap.
 */
#ifndef TL_AGENTD_AGENT_LOAD_H
#define TL_AGENTD_AGENT_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "tokilake.pb-c.h"

struct agent_link;
struct agent_load;

struct model_load {            /* one model of one local agent */
	uint32_t in_flight, capacity;     /* as the agent reported; capacity 0 = unknown */
	uint32_t waiting, running, kv_permille; /* the backend's own, if backend_known */
	uint8_t backend_known;
	int64_t at_ms;                    /* when reported (monotonic ms); 0 = never */
};

/* NULL when the agent never reported load for that model (older agent). */
const struct model_load *agent_load_model(const struct agent_link *a,
    const char *model, size_t len);

/* A heartbeat arrived with n ModelLoad entries (n may be 0): replace a's
 * table. now_ms is the monotonic time it arrived. Logs each model whose
 * load changed at debug level:
 *   load agent A model M: in_flight I/C waiting W running R kv K
 * (W, R, K are "-" when the backend's own figures are unknown). */
void agent_load_update(struct agent_link *a, Tokilake__V1__ModelLoad *const *m, size_t n,
    int64_t now_ms);
/* Free a table (NULL is fine). */
void agent_load_free(struct agent_load *l);
/* Entries in a's table (0 without one). */
size_t agent_load_count(const struct agent_link *a);

#endif
