/*
 * pg_keys: the end-user API keys of the network (table api_keys of
 * sql/003_api_keys.sql), loaded from the database and pushed to every
 * worker (PostgreSQL mode only).
 *
 * One statement loads every key that is not revoked, one row per allow
 * pattern (a key without any still has its row), and whether api_keys
 * has any row at all, revoked ones included (KEYS' keyed): a network
 * whose operator ever made a key keeps asking for one when the last is
 * revoked, on loopback-only nodes too (auth.h). A NOTIFY 'api_keys'
 * reloads it (pg.c, reload kind 3). The result is kept as it came and
 * sent whole to every running worker as KEYS frames (full replace, more
 * = 1 on all frames but the last; a key and its patterns always share a
 * frame); a worker that says HELLO gets the last one at once. A worker
 * answers 503 keys_not_loaded until its first KEYS, so a freshly forked
 * worker must never miss it.
 *
 * A worker that cannot be sent the whole table (its queue is full: it has
 * stopped reading) is killed: it would otherwise keep a table that may
 * hold a revoked key; the one respawned gets the keys on its HELLO. A
 * row no worker could take (a name, owner or pattern past apikey.h's
 * bounds: the table's constraints do not bound everything) is skipped
 * here with a warning, so one key always fits one frame.
 *
 * While the database is away the last snapshot stays: a key revoked then
 * is refused once the database is back. A failed load keeps the previous
 * snapshot too (failing open would hand out what was revoked). A database
 * not yet migrated to 003 has no table: that is said once and served as
 * "no keys" (what the node did before keys existed).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "apikey.h"
#include "log.h"
#include "master.h"
#include "pg.h"
#include "xmalloc.h"

#define PAGE_BUDGET (IPC_MAX_PAYLOAD - 256)

/* 0 name, 1 owner, 2 hash, 3 rpm, 4 tpm, 5 max_in_flight, 6 tokens_per_day,
 * 7 tokens_per_month, 8 expires_at (unix s, 0 never), 9 disabled, 10 pattern,
 * 11 keyed: 1 if api_keys has any row, revoked ones included. With no live
 * key at all the answer is one row of NULLs but for keyed (the outer
 * join), so that one statement says both. */
static const char sql_keys[] =
    "SELECT k.name, k.owner, k.hash, k.rpm, k.tpm, k.max_in_flight, k.tokens_per_day, "
    "k.tokens_per_month, CASE WHEN k.expires_at IS NULL THEN 0 "
    "ELSE greatest(ceil(extract(epoch FROM k.expires_at)), 1)::bigint END, "
    "k.disabled::int, a.pattern, e.keyed::int "
    "FROM (SELECT EXISTS (SELECT 1 FROM api_keys) AS keyed) e "
    "LEFT JOIN (api_keys k LEFT JOIN LATERAL unnest(k.allow) WITH ORDINALITY "
    "AS a(pattern, ord) ON true) ON k.revoked_at IS NULL ORDER BY k.name, a.ord";

static const char sql_has_table[] = "SELECT to_regclass('api_keys') IS NOT NULL";

static PGresult *keys_res;  /* see sql_keys */
static int keys_rows;       /* its rows that are keys (not the row of NULLs) */
static int keys_none;       /* loaded: the database has no api_keys table */
static int keys_keyed;      /* api_keys has a row, revoked or not */

static struct ipc_str
cell(int row, int col)
{
	const char *v = PQgetvalue(keys_res, row, col);

	return (struct ipc_str){ v, strlen(v) };
}

static void
key_of_row(int r, struct ipc_key *k)
{
	k->name = cell(r, 0);
	k->owner = cell(r, 1);
	k->hash = cell(r, 2);
	k->rpm = (uint32_t)strtoul(PQgetvalue(keys_res, r, 3), NULL, 10);
	k->tpm = (uint32_t)strtoul(PQgetvalue(keys_res, r, 4), NULL, 10);
	k->max_in_flight = (uint32_t)strtoul(PQgetvalue(keys_res, r, 5), NULL, 10);
	k->tokens_per_day = strtoull(PQgetvalue(keys_res, r, 6), NULL, 10);
	k->tokens_per_month = strtoull(PQgetvalue(keys_res, r, 7), NULL, 10);
	k->expires_at = strtoull(PQgetvalue(keys_res, r, 8), NULL, 10);
	k->disabled = strcmp(PQgetvalue(keys_res, r, 9), "0") != 0;
}

static int
send_page(struct child *c, struct ipc_msg *msg, struct ipc_encode_lists *lists, int more)
{
	msg->u.keys.more = (uint8_t)more;
	if (child_ipc_send_lists(c, msg, lists) == 0)
		return 0;
	child_kill(c, "it could not be sent the API keys (its IPC queue is full); "
	    "the worker started in its place gets them");
	return -1;
}

/* The row after the key that starts at row r. */
static int
key_end(int r, int rows)
{
	const char *name = PQgetvalue(keys_res, r, 0);
	int end = r + 1;

	while (end < rows && strcmp(PQgetvalue(keys_res, end, 0), name) == 0)
		end++;
	return end;
}

/* Rows [r, end) are one key; 1 if a worker could take it. */
static int
key_fits(const struct ipc_key *k, int r, int end)
{
	int n = 0;

	if (k->name.len > APIKEY_NAME_MAX || k->owner.len > APIKEY_OWNER_MAX ||
	    k->hash.len != TOKEN_HASH_LEN)
		return 0;
	for (; r < end; r++)
		if (!PQgetisnull(keys_res, r, 10) &&
		    (++n > APIKEY_PATTERNS_MAX ||
		    strlen(PQgetvalue(keys_res, r, 10)) > APIKEY_PATTERN_MAX))
			return 0;
	return 1;
}

/* The whole snapshot to one worker. */
static void
push_to(struct child *c)
{
	int rows = keys_res != NULL ? keys_rows : 0;
	struct ipc_key *keys = xcalloc((size_t)rows + 1, sizeof(*keys));
	struct ipc_key_allow *allow = xcalloc((size_t)rows + 1, sizeof(*allow));
	struct ipc_encode_lists lists;
	struct ipc_msg msg;
	size_t bytes = 0;

	memset(&msg, 0, sizeof(msg));
	memset(&lists, 0, sizeof(lists));
	msg.type = IPC_KEYS;
	msg.u.keys.keyed = (uint8_t)keys_keyed;
	lists.keys = keys;
	lists.key_allow = allow;
	for (int r = 0; r < rows;) {
		struct ipc_key k;
		size_t need, first = lists.nkey_allow;
		int end;

		key_of_row(r, &k);
		need = ipc_key_size(&k);
		/* the key's rows: one per pattern, or one with a NULL pattern */
		end = key_end(r, rows);
		if (!key_fits(&k, r, end)) {
			r = end; /* said so when it was loaded */
			continue;
		}
		for (int p = r; p < end; p++)
			if (!PQgetisnull(keys_res, p, 10)) {
				struct ipc_key_allow a = { k.name, cell(p, 10) };

				need += ipc_key_allow_size(&a);
				allow[lists.nkey_allow++] = a;
			}
		if (bytes + need > PAGE_BUDGET && lists.nkeys > 0) {
			/* send what came before this key; its patterns move to the front */
			size_t mine = lists.nkey_allow - first;

			lists.nkey_allow = first;
			if (send_page(c, &msg, &lists, 1) == -1)
				goto out;
			memmove(allow, allow + first, mine * sizeof(*allow));
			lists.nkey_allow = mine;
			lists.nkeys = 0;
			bytes = 0;
		}
		keys[lists.nkeys++] = k;
		bytes += need;
		r = end;
	}
	send_page(c, &msg, &lists, 0);
out:
	free(keys);
	free(allow);
}

static int
worker_ready_for_keys(const struct child *c)
{
	return c->role == CHILD_WORKER && c->state == CHILD_RUNNING && c->hello &&
	    c->ipc.fd != -1;
}

static void
push_all(struct master *m)
{
	for (size_t i = 0; i < m->nchildren; i++)
		if (worker_ready_for_keys(m->children[i]))
			push_to(m->children[i]);
}

static void
on_has_table(struct master *m, PGresult *res, void *arg)
{
	(void)arg;
	if (res == NULL || PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "f") != 0)
		return; /* the table is there: the failure was logged, the snapshot stays */
	if (!keys_none)
		log_warnx("database: no table api_keys (run tokilakectl db migrate): no end-user "
		    "API keys; without keys only loopback listeners serve requests");
	keys_none = 1;
	keys_keyed = 0;
	PQclear(keys_res);
	keys_res = NULL;
	push_all(m);
}

static void
on_keys(struct master *m, PGresult *res, void *arg)
{
	(void)arg;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != 12 ||
	    PQntuples(res) < 1) {
		/* is it only that the schema predates keys? */
		pg_query_reload(3, "looking for table api_keys", sql_has_table, 0, NULL,
		    on_has_table, NULL);
		return;
	}
	PQclear(keys_res);
	keys_res = PQcopyResult(res, PG_COPYRES_ATTRS | PG_COPYRES_TUPLES);
	keys_none = 0;
	/* every row says keyed; the row of NULLs comes alone */
	keys_keyed = strcmp(PQgetvalue(keys_res, 0, 11), "0") != 0;
	keys_rows = PQgetisnull(keys_res, 0, 0) ? 0 : PQntuples(keys_res);
	for (int r = 0, rows = keys_rows, end; r < rows; r = end) {
		struct ipc_key k;

		end = key_end(r, rows);
		key_of_row(r, &k);
		if (!key_fits(&k, r, end))
			log_warnx("database: API key %.64s is out of bounds (more than %d allow "
			    "patterns, or one longer than %d characters); not loaded", k.name.base,
			    APIKEY_PATTERNS_MAX, APIKEY_PATTERN_MAX);
	}
	log_debug("database: snapshot of API keys (%d rows%s)", keys_rows,
	    keys_keyed ? "" : ", the network never had one");
	push_all(m);
}

void
pg_keys_load(void)
{
	pg_query_reload(3, "loading API keys", sql_keys, 0, NULL, on_keys, NULL);
}

void
pg_keys_worker_started(struct master *m, struct child *c)
{
	(void)m;
	if (pg_enabled() && (keys_res != NULL || keys_none) && worker_ready_for_keys(c))
		push_to(c);
}

void
pg_keys_free(void)
{
	PQclear(keys_res);
	keys_res = NULL;
	keys_rows = 0;
	keys_none = 0;
	keys_keyed = 0;
}
