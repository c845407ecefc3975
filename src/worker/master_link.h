/*
 * master_link: the worker's side of its socketpair with the master.
 *
 * At start the worker says HELLO; once its listeners accept it says
 * READY; about once a second it reports STATUS{served, active} when the
 * numbers changed. The master may send SHUTDOWN (graceful or fast),
 * LOG_REOPEN and, in PostgreSQL mode, KEYS (the end-user API keys of the
 * database, in frames; the whole table replaces the worker's through
 * wk_auth_set_keys() once the last frame is in). EOF means the master is gone: the worker stops gracefully.
 * A malformed frame from the master is a bug in our own code: the worker
 * logs it and stops.
 */
#ifndef TL_WORKER_MASTER_LINK_H
#define TL_WORKER_MASTER_LINK_H

void wk_master_start(void);    /* wrap ctx->master_fd, send HELLO */
void wk_master_ready(void);    /* send READY */
void wk_master_status(void);   /* send STATUS if the counters changed */
void wk_master_stop(void);

#endif
