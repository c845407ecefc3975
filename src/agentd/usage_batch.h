/*
 * usage_batch: what finished requests used, on its way from the workers
 * to the master.
 *
 * A worker sends one USAGE frame per finished request. agentd charges the
 * key's tokens at once (admission_charge: TPM and budgets) and keeps
 * the record; about once a second (USAGE_BATCH_INTERVAL_MS after the
 * first record of a batch) the records go to the master as USAGE_BATCH
 * frames, as many per frame as fit. The master writes them (usage log or
 * PostgreSQL rollups); nothing here waits for that.
 *
 * Bounds: at most USAGE_BATCH_MAX records are held (the master not
 * reading, or gone while agentd stops). Past it a record is dropped: the
 * drop is counted, logged at most once per batch, and the count travels in
 * the next USAGE_BATCH (dropped) so the master logs it too. A record's
 * strings are cut at USAGE_STR_MAX bytes each.
 *
 * agentd stopping sends what it holds before it exits (agentd.c); an
 * agentd that crashes loses what it held, at most a second's records.
 *
 * Records of requests that came from another node (IPC_USAGE_F_FORWARDED)
 * are neither charged nor kept: the node whose client sent the request
 * records and charges it.
 */
#ifndef TL_AGENTD_USAGE_BATCH_H
#define TL_AGENTD_USAGE_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

#define USAGE_BATCH_MAX 65536
#define USAGE_BATCH_INTERVAL_MS 1000
#define USAGE_STR_MAX 256

struct agentd;
struct worker_conn;

void usage_batch_init(struct agentd *ad);
/* A USAGE frame from a worker. */
void usage_batch_usage(struct worker_conn *wc, const struct ipc_msg *msg);
/* Queue every record held for the master now (the timer, and stopping). */
void usage_batch_flush(void);
size_t usage_batch_held(void);
void usage_batch_free(void);

#endif
