/*
 * route_state: the router's view of this node's agents (tasks in flight,
 * capacity, backend queue, round trip, breaker), reported to the master
 * in PostgreSQL mode for `tokilakectl agents` (sql/007_agent_state.sql).
 *
 * Every ROUTE_STATE_INTERVAL_MS a tick compares each local agent with
 * what the master was last told (reg_agent.shown) and sends one
 * AGENT_STATE with the agents that changed, nothing when none did. A
 * report the master's queue refuses is tried again at the next tick.
 */
#ifndef TL_AGENTD_ROUTE_STATE_H
#define TL_AGENTD_ROUTE_STATE_H

#define ROUTE_STATE_INTERVAL_MS 2000

struct agentd;

void route_state_init(struct agentd *ad);
void route_state_free(void);

#endif
