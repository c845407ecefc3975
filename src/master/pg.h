/*
 * pg: the master's one PostgreSQL connection (PostgreSQL mode only).
 *
 * Files:
 *   pg.c           the connection: non-blocking connect, back-off,
 *                  LISTEN/NOTIFY, one query in flight and a FIFO of the
 *                  rest, heartbeat and TTL sweep timers
 *   pg_snapshot.c  the snapshot (namespaces + tokens; agents and models
 *                  of the other live nodes) and pushing it to agentd
 *   pg_agents.c    this node's agents as agentd reports them, written to
 *                  the database (and written again after a reconnect)
 *   pg_keys.c      the end-user API keys, loaded and pushed to every worker
 *   pg_keyload.c   per-key counts of every node (KEY_LOAD in, KEY_REMOTE
 *                  out): network-wide limits
 *
 * Nothing here ever blocks the master's loop: the socket joins its
 * poll() set, and no request of a client waits on the database (agentd
 * serves from the last snapshot it was sent). When PostgreSQL is
 * unreachable the node keeps that snapshot, logs the outage once, and
 * reconnects with back-off; on reconnect it upserts its node row, clears
 * and rewrites its agents, re-LISTENs and reloads the snapshot.
 * Every statement is parameterised.
 */
#ifndef TL_MASTER_PG_H
#define TL_MASTER_PG_H

#include <stdint.h>

#include <libpq-fe.h>

struct master;

#define PG_BACKOFF_MIN_MS 250
#define PG_BACKOFF_MAX_MS 10000
#define PG_CONNECT_TIMEOUT_MS 10000
/* A query without an answer this long means the server is gone. */
#define PG_QUERY_TIMEOUT_MS 15000

/* A query's outcome: res is the last result (NULL when the statement
 * failed; the failure was logged). Called only while connected. */
typedef void pg_done_fn(struct master *m, PGresult *res, void *arg);

/* pg.c */
int pg_enabled(void);
int pg_connected(void);
/* Queue a statement; params are copied. Dropped (0) when disconnected. */
int pg_query(const char *what, const char *sql, int nparams, const char *const *params,
    pg_done_fn *done, void *arg);
/* The same for a snapshot load: kind 1 = namespaces, 2 = agents, 3 = API
 * keys (at most one of each waits in the queue; see pg.c). */
int pg_query_reload(int kind, const char *what, const char *sql, int nparams,
    const char *const *params, pg_done_fn *done, void *arg);
/* The database changed (NOTIFY) or a node may have expired: reload. */
void pg_want_reload(int namespaces, int agents);
/* The agents snapshot says the first remote node expires in ms. */
void pg_expiry_in(int64_t ms);
/* node.ttl, stretched for a while after an outage; *grace_left_ms > 0 then. */
uint32_t pg_live_ttl_ms(uint64_t *grace_left_ms);
/* The heartbeat gap after which the other nodes may have expired us. */
uint32_t pg_heartbeat_stale_ms(const struct master *m);

/* node.name: IPC_NAME_UNCLAIMED, IPC_NAME_HELD or IPC_NAME_LOST */
int pg_name_state(void);

/* pg_snapshot.c */
void pg_snapshot_load_namespaces(void);
void pg_snapshot_load_agents(void);
/* Send the last snapshot to agentd (it restarted, or the snapshot changed). */
void pg_snapshot_push(struct master *m);
void pg_snapshot_free(void);
/* A snapshot of the namespaces was ever loaded (agentd has one). */
int pg_snapshot_loaded(void);

/* pg_keys.c */
void pg_keys_load(void);
void pg_keys_free(void);

/* pg_keyload.c */
struct ipc_msg;
/* agentd's KEY_LOAD: written, and answered with the other nodes' counts. */
void pg_keyload_report(struct master *m, const struct ipc_msg *msg);
/* The connection was lost with the exchange's statement in flight. */
void pg_keyload_lost(void);
void pg_keyload_free(void);

/* pg_agents.c */
/* Connected again: rewrite this node's row and agents. */
void pg_agents_resync(struct master *m, int first);
void pg_agents_clear(void);
/* How many agents are linked here (each has, or will have, its row). */
size_t pg_agents_count(void);
void pg_agents_free(void);

#endif
