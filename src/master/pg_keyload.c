/*
 * pg_keyload: network-wide key limits, the master's part (PostgreSQL
 * mode; agentd's part is src/agentd/netlimit.h, the table
 * sql/005_key_load.sql).
 *
 * agentd reports this node's per-key counts about twice a second
 * (KEY_LOAD). Each report becomes ONE statement that
 *   - upserts this node's rows of key_load with those counts and deletes
 *     its rows of keys it no longer reports;
 *   - sums, per key, the rows of the OTHER nodes updated within
 *     FRESH_MS (a node that stopped, or lost the database, drops out:
 *     its part of the network's counts is then simply not counted);
 *   - for keys with a token budget, sums the key's tokens of the UTC day
 *     and month in usage_rollups (every node's history);
 * and its answer goes to agentd as KEY_REMOTE (full replace), which
 * agentd adds to its own counts.
 *
 * Budgets across restarts, without counting twice: usage_rollups hold
 * every node's tokens, but only once the masters have written them (a
 * second or two late); key_load holds each live agentd's tokens since it
 * started (an agentd restarted starts from zero). For a key, with L this
 * node's reported count, O the other nodes' fresh counts and R the
 * rollups' sum, the remote part sent is max(R - L, O): agentd's own count
 * plus it is max(R, L + O), the larger of two counts that each only ever
 * miss tokens, never add any twice. What both miss is what was spent in
 * the last second or two by an agentd that restarted since: the same
 * order as the tolerance of the exchange itself. Right after a start the
 * first answer (within a second) brings R: until then only local counts
 * hold.
 *
 * The statement never runs in a request's path: requests are admitted by
 * agentd from its last KEY_REMOTE. One statement is in flight at a time;
 * a report that arrives meanwhile waits (only the newest is kept). A
 * failed statement (most likely migration 005 not applied) is logged by
 * pg.c and the exchange pauses for RETRY_MS, so the log is not flooded.
 * Standalone: KEY_LOAD is ignored.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apikey.h"
#include "log.h"
#include "master.h"
#include "pg.h"
#include "xmalloc.h"

#define NPARAMS 9
#define RETRY_MS 30000
/* Counts saturate far below bigint's limit (as the usage rollups). */
#define COUNT_CAP (UINT64_C(1) << 62)
#define PAGE_BUDGET (IPC_MAX_PAYLOAD - 256)

/* $1 node, $2 names, $3..$7 requests, tokens, in_flight, tokens_day,
 * tokens_month (arrays in the order of $2), $8 / $9 the unix seconds the
 * report's UTC day / month began. Answer: key, then the five counts. */
static const char sql_exchange[] =
    "WITH mine AS (SELECT * FROM unnest($2::text[], $3::bigint[], $4::bigint[], "
    "$5::bigint[], $6::bigint[], $7::bigint[]) "
    "AS t(key_name, requests, tokens, in_flight, tokens_day, tokens_month)), "
    "up AS (INSERT INTO key_load AS k (node, key_name, requests, tokens, in_flight, "
    "tokens_day, tokens_month, day, month, updated_at) "
    "SELECT $1, key_name, requests, tokens, in_flight, tokens_day, tokens_month, "
    "to_timestamp($8::bigint), to_timestamp($9::bigint), now() FROM mine "
    "ON CONFLICT (node, key_name) DO UPDATE SET requests = EXCLUDED.requests, "
    "tokens = EXCLUDED.tokens, in_flight = EXCLUDED.in_flight, "
    "tokens_day = EXCLUDED.tokens_day, tokens_month = EXCLUDED.tokens_month, "
    "day = EXCLUDED.day, month = EXCLUDED.month, updated_at = EXCLUDED.updated_at), "
    "gone AS (DELETE FROM key_load WHERE node = $1 AND NOT (key_name = ANY ($2::text[]))), "
    "others AS (SELECT key_name, sum(requests) AS requests, sum(tokens) AS tokens, "
    "sum(in_flight) AS in_flight, "
    "coalesce(sum(tokens_day) FILTER (WHERE day = to_timestamp($8::bigint)), 0) AS tokens_day, "
    "coalesce(sum(tokens_month) FILTER (WHERE month = to_timestamp($9::bigint)), 0) "
    "AS tokens_month "
    "FROM key_load WHERE node <> $1 AND updated_at > now() - interval '1500 milliseconds' "
    "GROUP BY key_name), "
    "spent AS (SELECT u.key_name, coalesce(sum(u.prompt_tokens + u.completion_tokens) "
    "FILTER (WHERE u.minute >= to_timestamp($8::bigint)), 0) AS tokens_day, "
    "sum(u.prompt_tokens + u.completion_tokens) AS tokens_month "
    "FROM usage_rollups u JOIN api_keys a ON a.name = u.key_name "
    "WHERE a.revoked_at IS NULL AND (a.tokens_per_day > 0 OR a.tokens_per_month > 0) "
    "AND u.minute >= to_timestamp($9::bigint) GROUP BY u.key_name) "
    "SELECT key_name, coalesce(o.requests, 0), coalesce(o.tokens, 0), "
    "coalesce(o.in_flight, 0), "
    "greatest(coalesce(s.tokens_day, 0) - coalesce(m.tokens_day, 0), coalesce(o.tokens_day, 0)), "
    "greatest(coalesce(s.tokens_month, 0) - coalesce(m.tokens_month, 0), "
    "coalesce(o.tokens_month, 0)) "
    "FROM others o FULL JOIN spent s USING (key_name) LEFT JOIN mine m USING (key_name)";

static struct {
	char *params[NPARAMS]; /* the newest report not yet sent; [0] NULL: none */
	int inflight;
	uint64_t paused_until;
	int bad_logged;
	int said;        /* the first exchange worked: said once per start */
} K;

/* A growing string (arrays and numbers of one report). */
struct str {
	char *p;
	size_t len, cap;
};

static void
str_add(struct str *s, const char *text, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		s->cap = (s->len + n + 1) * 2;
		s->p = xrealloc(s->p, s->cap);
	}
	memcpy(s->p + s->len, text, n);
	s->len += n;
	s->p[s->len] = '\0';
}

static void
str_num(struct str *s, uint64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v < COUNT_CAP ? v : COUNT_CAP);

	str_add(s, tmp, (size_t)n);
}

static void
params_free(char **p)
{
	for (int i = 0; i < NPARAMS; i++) {
		free(p[i]);
		p[i] = NULL;
	}
}

/* The UTC day and month that unix_ms falls in, as the unix seconds they
 * began. */
static void
periods(uint64_t unix_ms, int64_t *day, int64_t *month)
{
	time_t t = (time_t)(unix_ms / 1000);
	struct tm tm;

	*day = (int64_t)(t - t % 86400);
	gmtime_r(&t, &tm);
	tm.tm_mday = 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	*month = (int64_t)timegm(&tm);
}

static void submit(struct master *m);

static void
push_remote(struct master *m, PGresult *res)
{
	struct child *agentd = child_agentd(m);
	int rows = PQntuples(res);
	struct ipc_key_load *loads;
	struct ipc_encode_lists lists;
	struct ipc_msg msg;
	size_t n = 0, bytes = 0;

	if (agentd == NULL || agentd->ipc.fd == -1 || PQnfields(res) != 6)
		return;
	loads = xcalloc((size_t)rows + 1, sizeof(*loads));
	memset(&msg, 0, sizeof(msg));
	msg.type = IPC_KEY_REMOTE;
	for (int r = 0; r <= rows; r++) {
		struct ipc_key_load k;
		size_t need = 0;

		if (r < rows) {
			const char *name = PQgetvalue(res, r, 0);
			uint64_t v[5];

			/* only names agentd could have counted (a usage row may
			 * carry anything a table constraint lets through) */
			if (!apikey_name_valid(name))
				continue;
			for (int c = 0; c < 5; c++)
				v[c] = strtoull(PQgetvalue(res, r, c + 1), NULL, 10);
			k = (struct ipc_key_load){ { name, strlen(name) }, v[0], v[1], v[2], v[3],
				v[4] };
			need = ipc_key_load_size(&k);
		}
		if (r == rows || bytes + need > PAGE_BUDGET) {
			memset(&lists, 0, sizeof(lists));
			lists.key_loads = loads;
			lists.nkey_loads = n;
			msg.u.key_remote.more = r < rows;
			/* agentd's queue is full: it gets the next answer instead
			 * (a half snapshot is never completed: the next one starts
			 * with the full list again) */
			if (child_ipc_send_lists(agentd, &msg, &lists) == -1)
				break;
			n = bytes = 0;
			if (r == rows)
				break;
		}
		loads[n++] = k;
		bytes += need;
	}
	free(loads);
}

static void
on_answer(struct master *m, PGresult *res, void *arg)
{
	(void)arg;
	K.inflight = 0;
	if (res == NULL) {
		/* said by pg.c */
		K.paused_until = master_now_ms() + RETRY_MS;
		if (!K.bad_logged)
			log_warnx("network limits: the key_load exchange failed (run tokilakectl "
			    "db migrate?); keys are limited per node; retrying every %ds",
			    RETRY_MS / 1000);
		K.bad_logged = 1;
		return;
	}
	if (K.bad_logged)
		log_info("network limits: the key_load exchange works again");
	K.bad_logged = 0;
	push_remote(m, res);
	if (!K.said)
		log_info("network limits: sharing key counts with the other nodes (%d key%s "
		    "counted elsewhere)", PQntuples(res), PQntuples(res) == 1 ? "" : "s");
	K.said = 1;
	submit(m);
}

static void
submit(struct master *m)
{
	(void)m;
	if (K.inflight || K.params[0] == NULL || !pg_connected() ||
	    master_now_ms() < K.paused_until)
		return;
	if (!pg_query("key load exchange", sql_exchange, NPARAMS, (const char *const *)K.params,
	    on_answer, NULL)) {
		params_free(K.params); /* not connected or not the name's holder */
		return;
	}
	/* pg_query copied them */
	params_free(K.params);
	K.inflight = 1;
}

void
pg_keyload_report(struct master *m, const struct ipc_msg *msg)
{
	struct str a[6];
	struct ipc_list_iter it;
	struct ipc_key_load k;
	char name[APIKEY_NAME_MAX + 1], tmp[24];
	int64_t day, month;

	if (!pg_enabled())
		return;
	memset(a, 0, sizeof(a));
	for (int i = 0; i < 6; i++)
		str_add(&a[i], "{", 1);
	ipc_list_begin(&it, &msg->u.key_load.loads);
	while (ipc_key_load_next(&it, &k)) {
		uint64_t v[5] = { k.requests, k.tokens, k.in_flight, k.tokens_day,
			k.tokens_month };

		/* agentd counts only names a worker sent it, which are valid:
		 * anything else would break the array literal */
		if (k.key.len <= APIKEY_NAME_MAX)
			ipc_str_copy(name, sizeof(name), k.key);
		if (k.key.len > APIKEY_NAME_MAX || strlen(name) != k.key.len ||
		    !apikey_name_valid(name)) {
			log_warnx("network limits: agentd reported a key name that is not one; "
			    "this is a bug; skipped");
			continue;
		}
		for (int i = 0; i < 6; i++)
			if (a[i].len > 1)
				str_add(&a[i], ",", 1);
		str_add(&a[0], name, strlen(name));
		for (int i = 0; i < 5; i++)
			str_num(&a[i + 1], v[i]);
	}
	params_free(K.params);
	K.params[0] = xstrdup(m->conf->node.name);
	for (int i = 0; i < 6; i++) {
		str_add(&a[i], "}", 1);
		K.params[i + 1] = a[i].p;
	}
	periods(msg->u.key_load.unix_ms, &day, &month);
	snprintf(tmp, sizeof(tmp), "%" PRId64, day);
	K.params[7] = xstrdup(tmp);
	snprintf(tmp, sizeof(tmp), "%" PRId64, month);
	K.params[8] = xstrdup(tmp);
	submit(m);
}

void
pg_keyload_lost(void)
{
	/* the statement in flight was dropped with the connection */
	K.inflight = 0;
}

void
pg_keyload_free(void)
{
	params_free(K.params);
	memset(&K, 0, sizeof(K));
}
