/*
 * master_link: the worker's side of its socketpair with the master.
 *
 * At start the worker says HELLO; once its listeners accept it says
 * READY; about once a second it reports STATUS{served, active} when the
 * numbers changed. The master may send SHUTDOWN (graceful or fast),
 * LOG_REOPEN, NODE_STATE (kept for /healthz) and, in PostgreSQL mode,
 * KEYS (the end-user API keys of the database, in frames; the whole
 * table replaces the worker's through wk_auth_set_keys() once the last
 * frame is in). EOF means the master is gone: the worker stops gracefully.
 * A malformed frame from the master is a bug in our own code: the worker
 * logs it and stops.
 */
#ifndef TL_WORKER_MASTER_LINK_H
#define TL_WORKER_MASTER_LINK_H

#include <stdint.h>

void wk_master_start(void);    /* wrap ctx->master_fd, send HELLO */
void wk_master_ready(void);    /* send READY */
void wk_master_status(void);   /* send STATUS if the counters changed */
void wk_master_stop(void);

/*
 * The node's state as the master last told it (NODE_STATE): whether the
 * node can serve, and why not. known = 0 until the first NODE_STATE.
 */
struct wk_node_state {
	int known;
	uint8_t database, snapshot, name; /* IPC_DB_*, 0/1, IPC_NAME_* */
	uint64_t since;                   /* unix seconds of the last change */
};
const struct wk_node_state *wk_master_node_state(void);
/* NULL when the node can serve; else why not, for /healthz. */
const char *wk_node_unavailable(void);
/*
 * PostgreSQL mode and no snapshot was ever loaded: nothing this node
 * could say about models is true. Then answer req with 503
 * node_unavailable and the reason, and return 1; else 0. (A node whose
 * name was taken still serves its own agents.)
 */
struct st_h2o_req_t;
int wk_node_refuse_models(struct st_h2o_req_t *req);

#endif
