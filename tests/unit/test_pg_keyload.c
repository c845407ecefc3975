/*
 * test_pg_keyload: the master's part of the network-wide key limits
 * (src/master/pg_keyload.c) against stubs of the connection (pg_query,
 * pg_connected, pg_enabled), of libpq's result accessors, of the clock and
 * of the agentd channel.
 *
 * A KEY_LOAD becomes one statement whose parameters are this node's name,
 * the key names and counts as array literals (names that are not key
 * names are left out, counts capped) and the report's UTC day and month;
 * one statement is in flight at a time and the newest report waits; the
 * answer goes to agentd as KEY_REMOTE frames (full replace: more = 1 on
 * all but the last, names that are not key names left out); a failed
 * statement pauses the exchange, a lost connection frees it; standalone,
 * nothing happens.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "master.h"
#include "pg.h"
#include "tl_config.h"
#include "xmalloc.h"

static uint64_t now_ms = 1000000;
static int enabled = 1, connected = 1;
static char *params[9];
static int nqueries;
static pg_done_fn *last_done;
static struct child agentd_child;

/* the KEY_REMOTE frames agentd got, and their entries */
static int nframes, nmore;
static size_t nentries;
static char first_name[80], last_name[80];
static uint64_t first_day, first_requests;

uint64_t master_now_ms(void) { return now_ms; }
int pg_connected(void) { return connected; }
int pg_enabled(void) { return enabled; }
struct child *child_agentd(struct master *m) { (void)m; return &agentd_child; }

int
pg_query(const char *what, const char *sql, int nparams, const char *const *p,
    pg_done_fn *done, void *arg)
{
	(void)what, (void)sql, (void)arg;
	if (!connected)
		return 0;
	CHECK(nparams == 9);
	for (int i = 0; i < 9; i++) {
		free(params[i]);
		params[i] = xstrdup(p[i]);
	}
	last_done = done;
	nqueries++;
	return 1;
}

int
child_ipc_send_lists(struct child *c, const struct ipc_msg *msg,
    const struct ipc_encode_lists *lists)
{
	struct ipc_msg out;
	struct ipc_list_iter it;
	struct ipc_key_load k;
	struct buf b;

	CHECK(c == &agentd_child && msg->type == IPC_KEY_REMOTE);
	buf_init(&b, 0);
	CHECK(ipc_encode(&b, msg, lists) == 0);
	CHECK(ipc_decode(buf_head(&b), b.len, &out, NULL) == (ssize_t)b.len);
	nframes++;
	nmore += out.u.key_remote.more;
	ipc_list_begin(&it, &out.u.key_remote.loads);
	while (ipc_key_load_next(&it, &k)) {
		if (nentries == 0) {
			ipc_str_copy(first_name, sizeof(first_name), k.key);
			first_day = k.tokens_day;
			first_requests = k.requests;
		}
		ipc_str_copy(last_name, sizeof(last_name), k.key);
		nentries++;
	}
	buf_free(&b);
	return 0;
}

/* A fake result: rows of (name, five counts). */
static int res_rows;
static const char *const *res_names;
static char num[8][24];

int PQntuples(const PGresult *r) { (void)r; return res_rows; }
int PQnfields(const PGresult *r) { (void)r; return 6; }
char *
PQgetvalue(const PGresult *r, int row, int col)
{
	(void)r;
	if (col == 0)
		return (char *)res_names[row];
	snprintf(num[col], sizeof(num[col]), "%d", row * 10 + col);
	return num[col];
}

static struct master m;
static struct tl_config conf;

static void
report(uint64_t unix_ms, const char *const *names, size_t n, uint64_t v)
{
	struct ipc_key_load loads[8];
	struct ipc_encode_lists lists = { .key_loads = loads, .nkey_loads = n };
	struct ipc_msg msg = { .type = IPC_KEY_LOAD }, out;
	struct buf b;

	for (size_t i = 0; i < n; i++)
		loads[i] = (struct ipc_key_load){ { names[i], strlen(names[i]) }, v, v + 1, v + 2,
			v + 3, v + 4 };
	msg.u.key_load.unix_ms = unix_ms;
	buf_init(&b, 0);
	CHECK(ipc_encode(&b, &msg, &lists) == 0);
	CHECK(ipc_decode(buf_head(&b), b.len, &out, NULL) == (ssize_t)b.len);
	pg_keyload_report(&m, &out);
	buf_free(&b);
}

static void
answer(const char *const *names, int rows)
{
	res_names = names;
	res_rows = rows;
	nframes = nmore = 0;
	nentries = 0;
	last_done(&m, rows >= 0 ? (PGresult *)(uintptr_t)1 : NULL, NULL);
}

int
main(void)
{
	static const char *const two[] = { "alice", "ci.bot-2" };
	static const char *const bad[] = { "alice", "has space", "" };
	static const char *const rows3[] = { "alice", "not a key", "bob" };
	static char big[5000][70];
	static const char *bigp[5000];
	const uint64_t t0 = 1796000000123ULL;
	int before;

	conf.node.name = "node-a";
	m.conf = &conf;
	agentd_child.ipc.fd = 3;

	/* one report, one statement */
	report(t0, two, 2, 5);
	CHECK(nqueries == 1);
	CHECK(strcmp(params[0], "node-a") == 0);
	CHECK(strcmp(params[1], "{alice,ci.bot-2}") == 0);
	CHECK(strcmp(params[2], "{5,5}") == 0 && strcmp(params[3], "{6,6}") == 0);
	CHECK(strcmp(params[6], "{9,9}") == 0);
	CHECK(strcmp(params[7], "1795996800") == 0); /* 2026-12-01 + 21 days, 00:00 UTC */
	CHECK(strcmp(params[8], "1793491200") == 0); /* 2026-11-01 00:00 UTC */

	/* in flight: reports wait, only the newest is sent after the answer */
	report(t0 + 500, two, 1, 7);
	report(t0 + 1000, bad, 3, UINT64_MAX);
	CHECK(nqueries == 1);
	answer(rows3, 3);
	CHECK(nframes == 1 && nmore == 0 && nentries == 2);
	CHECK(strcmp(first_name, "alice") == 0 && strcmp(last_name, "bob") == 0);
	CHECK(first_requests == 1 && first_day == 4);
	CHECK(nqueries == 2);
	CHECK(strcmp(params[1], "{alice}") == 0); /* names that are not key names: out */
	CHECK(strcmp(params[2], "{4611686018427387904}") == 0); /* capped at 2^62 */

	/* an empty report still asks (the others' counts) and an empty answer
	 * still reaches agentd (it zeroes what it had) */
	report(t0 + 1500, NULL, 0, 0);
	answer(NULL, 0);
	CHECK(nframes == 1 && nentries == 0 && nqueries == 3);
	CHECK(strcmp(params[1], "{}") == 0 && strcmp(params[2], "{}") == 0);

	/* many keys: several frames, more = 1 on all but the last */
	for (int i = 0; i < 5000; i++) {
		snprintf(big[i], sizeof(big[i]), "k%063d", i);
		bigp[i] = big[i];
	}
	answer(bigp, 5000);
	CHECK(nframes >= 2 && nmore == nframes - 1 && nentries == 5000);

	/* a failed statement pauses the exchange */
	report(t0 + 2000, two, 2, 1);
	CHECK(nqueries == 4);
	answer(NULL, -1);
	before = nqueries;
	report(t0 + 2500, two, 2, 1);
	CHECK(nqueries == before);
	now_ms += 31000;
	report(t0 + 3000, two, 2, 1);
	CHECK(nqueries == before + 1);

	/* a lost connection frees the exchange */
	pg_keyload_lost();
	report(t0 + 3500, two, 2, 1);
	CHECK(nqueries == before + 2);

	/* disconnected: nothing is queued; standalone: nothing at all */
	pg_keyload_lost();
	connected = 0;
	report(t0 + 4000, two, 2, 1);
	CHECK(nqueries == before + 2);
	connected = 1;
	enabled = 0;
	report(t0 + 4500, two, 2, 1);
	CHECK(nqueries == before + 2);

	pg_keyload_free();
	for (int i = 0; i < 9; i++)
		free(params[i]);
	if (failures > 0) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("test_pg_keyload: all checks passed\n");
	return 0;
}
