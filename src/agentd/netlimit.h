/*
 * netlimit: a key's limits hold for the network as a whole (PostgreSQL
 * mode), agentd's end of the exchange.
 *
 * Every NETLIMIT_INTERVAL_MS agentd sends its master one KEY_LOAD: this
 * node's own counts (limiter_each: requests and tokens of the last 60 s,
 * in flight, tokens of the UTC day and month) of every key with any.
 * The frame goes even when it is empty: the master answers each one
 * (src/master/pg_keyload.c) with KEY_REMOTE, the sums of the OTHER live
 * nodes (and, for budgets, what usage_rollups hold beyond this node's own
 * count), which agentd sets with limiter_set_remote(); admission then
 * counts local + remote against each limit. A key missing from a complete
 * KEY_REMOTE gets remote counts of zero (its other nodes went quiet or
 * away); if no KEY_REMOTE comes at all (the master or the database is
 * away) the last remote counts fade after LIMITER_REMOTE_TTL_MS and each
 * node limits on its own counts.
 *
 * Tolerance: a node learns what the others admitted within about one to
 * two intervals (their report, the statement, this node's next answer),
 * so a key may exceed a limit by what the other nodes admitted in that
 * time.
 *
 * Standalone (no database.url) nothing is sent. Bounds: one KEY_LOAD
 * frame per interval; keys past what one frame holds are left out of the
 * report (logged once; LIMITER_MAX_KEYS names fit, with names of up to
 * APIKEY_NAME_MAX bytes); the names of the last KEY_REMOTE are kept (at
 * most LIMITER_MAX_KEYS, each APIKEY_NAME_MAX bytes).
 */
#ifndef TL_AGENTD_NETLIMIT_H
#define TL_AGENTD_NETLIMIT_H

#include "ipc.h"

#define NETLIMIT_INTERVAL_MS 500

struct agentd;

void netlimit_init(struct agentd *ad);
/* A KEY_REMOTE frame from the master. */
void netlimit_remote(struct agentd *ad, const struct ipc_msg *msg);
void netlimit_free(void);

#endif
