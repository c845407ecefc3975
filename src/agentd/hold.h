/*
 * hold: requests held while agentd has just started and the agents of
 * their namespace have not relinked yet (see hold.c).
 */
#ifndef TL_AGENTD_HOLD_H
#define TL_AGENTD_HOLD_H

#include <stdint.h>

struct agentd;
struct worker_conn;
struct ipc_msg;

/* At start: the grace (agents.relink_grace) counts from now. */
void hold_init(struct agentd *ad);
void hold_free(void);
/* REQ_START for a known namespace with no agent: 1 if held (answered later),
 * 0 if the caller answers now (grace over, or a bound reached). */
int hold_request(struct worker_conn *wc, const struct ipc_msg *msg);
/* REQ_BODY / CANCEL for a held request: 1 if it was one (handled). */
int hold_body(struct worker_conn *wc, const struct ipc_msg *msg);
int hold_cancel(struct worker_conn *wc, uint64_t id);
/* The worker connection is gone: forget its held requests. */
void hold_conn_closed(struct worker_conn *wc);

#endif
