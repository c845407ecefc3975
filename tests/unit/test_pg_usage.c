/*
 * test_pg_usage: the master's usage rollups (src/master/pg_usage.c)
 * against stubs of the connection (pg_query, pg_connected) and the clock.
 *
 * Records of the same key, namespace, model, node and minute add up in
 * one row; a batch goes out as one statement whose JSON parameter holds
 * every row; a failed statement or a lost connection puts its rows back
 * (summed with what came meanwhile), so nothing is lost or doubled; past
 * PG_USAGE_MAX_ROWS a record that needs a new row is dropped; control
 * characters never reach the JSON; a stopping master drains.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "master.h"
#include "pg.h"
#include "usage.h"
#include "xmalloc.h"

static uint64_t now_ms = 1000000;
static int connected = 1, accept_queries = 1;
static char *last_param;
static pg_done_fn *last_done;
static void *last_arg;
static int nqueries;

uint64_t master_now_ms(void) { return now_ms; }
int pg_connected(void) { return connected; }

int
pg_query(const char *what, const char *sql, int nparams, const char *const *params,
    pg_done_fn *done, void *arg)
{
	(void)what, (void)sql;
	if (!accept_queries)
		return 0;
	CHECK(nparams == 1);
	free(last_param);
	last_param = xstrdup(params[0]);
	last_done = done;
	last_arg = arg;
	nqueries++;
	return 1;
}

static struct ipc_usage
rec(const char *key, const char *model, uint64_t ms, uint64_t p, uint64_t c, int known)
{
	struct ipc_usage u;

	memset(&u, 0, sizeof(u));
	u.key = (struct ipc_str){ key, strlen(key) };
	u.ns = (struct ipc_str){ "lab", 3 };
	u.model = (struct ipc_str){ model, strlen(model) };
	u.node = (struct ipc_str){ "n1", 2 };
	u.end = (struct ipc_str){ "ok", 2 };
	u.status = 200;
	u.flags = known ? IPC_USAGE_F_KNOWN : 0;
	u.prompt_tokens = p;
	u.completion_tokens = c;
	u.ttfb_ms = 5;
	u.duration_ms = 10;
	u.unix_ms = ms;
	return u;
}

/* Run the flush timer; 1 if a statement went out. */
static int
flush(void)
{
	int before = nqueries;

	now_ms += PG_USAGE_INTERVAL_MS;
	pg_usage_run(now_ms);
	return nqueries > before;
}

static void
answer(int ok)
{
	last_done(NULL, ok ? (PGresult *)(uintptr_t)1 : NULL, last_arg);
}

static int
has(const char *needle)
{
	return last_param != NULL && strstr(last_param, needle) != NULL;
}

int
main(void)
{
	struct ipc_usage u;
	const uint64_t t0 = 1796000000000ULL; /* 20 s into a minute */

	/* three records, two rows (the third in another minute) */
	u = rec("alice", "m1", t0, 10, 3, 1);
	pg_usage_add(&u);
	u = rec("alice", "m1", t0 + 1000, 7, 2, 1);
	pg_usage_add(&u);
	u = rec("alice", "m1", t0 + 60000, 0, 0, 0);
	pg_usage_add(&u);
	CHECK(pg_usage_rows() == 2);
	CHECK(flush());
	CHECK(has("\"k\":\"alice\",\"n\":\"lab\",\"m\":\"m1\",\"o\":\"n1\""));
	CHECK(has("\"r\":2,\"e\":0,\"p\":17,\"c\":5,\"x\":0,\"ts\":10,\"tc\":2,\"d\":20}"));
	CHECK(has("\"r\":1,\"e\":0,\"p\":0,\"c\":0,\"x\":1,"));
	CHECK(pg_usage_next_timer() == 0); /* one statement in flight at a time */
	CHECK(!flush());
	answer(1);
	CHECK(pg_usage_rows() == 0);

	/* a failed statement: the rows wait, summed with newer ones */
	u = rec("bob", "m2", t0, 1, 1, 1);
	pg_usage_add(&u);
	CHECK(flush());
	u = rec("bob", "m2", t0, 2, 2, 1);
	pg_usage_add(&u);
	answer(0);
	CHECK(pg_usage_rows() == 1);
	now_ms += PG_USAGE_RETRY_MS;
	CHECK(flush());
	CHECK(has("\"r\":2,\"e\":0,\"p\":3,\"c\":3,"));
	/* the connection is lost with it in flight: back again */
	pg_usage_lost();
	CHECK(pg_usage_rows() == 1);
	connected = 0;
	CHECK(!flush());
	connected = 1;
	CHECK(flush());
	CHECK(has("\"r\":2,\"e\":0,\"p\":3,\"c\":3,"));
	answer(1);
	CHECK(pg_usage_rows() == 0);

	/* an error status or an end other than ok counts as an error; control
	 * characters and NULs in names become '?' */
	u = rec("a\001b", "m\0x", t0, 1, 1, 1);
	u.model.len = 3;
	u.status = 503;
	pg_usage_add(&u);
	CHECK(flush());
	CHECK(has("\"k\":\"a?b\",\"n\":\"lab\",\"m\":\"m?x\""));
	CHECK(has("\"e\":1,"));
	answer(1);

	/* the bound: new rows past it are dropped, existing ones still add up */
	accept_queries = 0;
	for (unsigned i = 0; i < PG_USAGE_MAX_ROWS + 10; i++) {
		u = rec("k", "m", t0 + (uint64_t)i * 60000, 1, 1, 1);
		pg_usage_add(&u);
	}
	CHECK(pg_usage_rows() == PG_USAGE_MAX_ROWS);
	u = rec("k", "m", t0, 1, 1, 1);
	pg_usage_add(&u);
	CHECK(pg_usage_rows() == PG_USAGE_MAX_ROWS);
	CHECK(!flush()); /* not queued: the rows stay */
	CHECK(pg_usage_rows() == PG_USAGE_MAX_ROWS);
	accept_queries = 1;

	/* stopping: drains while rows wait and the database answers */
	CHECK(pg_usage_drain(now_ms) == 1);
	pg_usage_run(now_ms);
	CHECK(nqueries > 0 && pg_usage_rows() == PG_USAGE_MAX_ROWS);
	answer(1);
	CHECK(pg_usage_rows() == PG_USAGE_MAX_ROWS - PG_USAGE_BATCH_ROWS);
	CHECK(pg_usage_drain(now_ms + PG_USAGE_DRAIN_MS) == 0); /* not forever */

	pg_usage_free();
	free(last_param);
	if (failures > 0) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("test_pg_usage: all checks passed\n");
	return 0;
}
