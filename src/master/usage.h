/*
 * usage: the master's end of usage accounting (issue 14).
 *
 * agentd sends USAGE_BATCH frames about once a second: the records of the
 * requests that ended, one per request. The master keeps them:
 *
 *   usage_log.c  standalone: one JSON line per request appended to
 *                usage.log_file (opened lazily, reopened on SIGUSR1 and
 *                when a reload changes the path)
 *   pg_usage.c   PostgreSQL mode: rollups per (key, namespace, model,
 *                node, minute) in memory, written in batches with
 *                INSERT ... ON CONFLICT DO UPDATE (adding up) through the
 *                master's non-blocking connection; kept while the
 *                database is away, bounded by PG_USAGE_MAX_ROWS
 *
 * Nothing here is in a request's path: the workers and agentd never wait
 * for the master, and the master never waits for the disk or the
 * database beyond one write(2) of a batch's lines.
 */
#ifndef TL_MASTER_USAGE_H
#define TL_MASTER_USAGE_H

#include <stdint.h>

#include "ipc.h"

struct master;
struct tl_config;

/* Rows the PostgreSQL rollup keeps while they wait to be written. */
#define PG_USAGE_MAX_ROWS 100000
/* Rows per INSERT statement. */
#define PG_USAGE_BATCH_ROWS 1000
#define PG_USAGE_INTERVAL_MS 1000
/* After a statement failed on a live connection (no table: migration
 * 004 not applied), wait this long before trying again. */
#define PG_USAGE_RETRY_MS 30000
/* A count larger than this in one record is not a real answer's. */
#define USAGE_TOKENS_MAX (UINT64_C(1) << 40)
/* How long a stopping master waits to write its last rows. */
#define PG_USAGE_DRAIN_MS 5000

/* usage_log.c */
/* USAGE_BATCH from agentd: to the log (standalone) or the rollups. */
void usage_batch_message(struct master *m, const struct ipc_msg *msg);
/* The config (start, reload): a changed usage.log_file is reopened. */
void usage_log_config(const struct tl_config *conf);
/* SIGUSR1: reopen the file (rotation). */
void usage_log_reopen(void);
void usage_log_close(void);

/* pg_usage.c */
void pg_usage_add(const struct ipc_usage *u);
/* The connection is ready: write what waits, at most every
 * PG_USAGE_INTERVAL_MS, one statement in flight at a time. */
void pg_usage_run(uint64_t now);
/* When pg_usage_run wants to run next (0 = nothing waits). */
uint64_t pg_usage_next_timer(void);
/* Stopping, every child gone: 1 while rows are still being written (the
 * connection up, at most PG_USAGE_DRAIN_MS from the first call), so that
 * the master waits for them before it exits; 0 when it may exit. */
int pg_usage_drain(uint64_t now);
/* The connection was lost: the rows of the statement in flight wait again. */
void pg_usage_lost(void);
size_t pg_usage_rows(void);
void pg_usage_free(void);

#endif
