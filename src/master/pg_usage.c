/*
 * pg_usage: usage rolled up per (key, namespace, model, node, minute) and
 * written to usage_rollups in batches (see usage.h and sql/004_usage.sql).
 *
 * Rows live in a hash table until a statement that holds them succeeds:
 * a flush moves up to PG_USAGE_BATCH_ROWS rows to the in-flight list and
 * queues one INSERT ... SELECT FROM json_to_recordset($1) ON CONFLICT DO
 * UPDATE that adds them up. Success frees them; a failed statement or a
 * lost connection adds them back into the table (the counts of rows that
 * came meanwhile for the same key are summed), so an outage loses
 * nothing within PG_USAGE_MAX_ROWS. Past the bound a record that needs a
 * new row is dropped, counted and logged once until there is room again.
 *
 * One ambiguity is left: a connection lost after the server committed a
 * batch but before its answer arrived makes that batch count twice. The
 * window is a round trip; a server that is stopped aborts the statements
 * it has not answered.
 *
 * Strings go into the JSON parameter through the workers' JSON writer
 * (valid UTF-8 out, whatever came in); control characters are replaced
 * first, since PostgreSQL refuses \u0000 in text and one bad row would
 * otherwise block every batch behind it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../worker/json_out.h"
#include "log.h"
#include "master.h"
#include "pg.h"
#include "usage.h"
#include "xmalloc.h"

#define NBUCKETS 4096
#define STR_MAX 256

struct row {
	struct row *next;  /* hash chain, or the in-flight list */
	char *k[4];        /* key name, namespace, model, node */
	int64_t minute;    /* unix seconds, a multiple of 60 */
	uint64_t requests, errors, prompt, completion, unknown;
	uint64_t ttfb_sum, ttfb_count, duration_sum;
};

static struct {
	struct row *buckets[NBUCKETS];
	size_t nrows;
	struct row *inflight;
	uint64_t next_at;        /* next flush */
	uint64_t dropped;        /* since the table was last full */
	int full_logged;
	uint64_t drain_until;    /* stopping: the last rows until then */
} P;

static const char sql_upsert[] =
    "INSERT INTO usage_rollups AS u (key_name, namespace, model, node, minute, requests, "
    "errors, prompt_tokens, completion_tokens, unknown_usage, ttfb_ms_sum, ttfb_count, "
    "duration_ms_sum) "
    "SELECT k, n, m, o, to_timestamp(t), r, e, p, c, x, ts, tc, d "
    "FROM json_to_recordset($1::json) AS j(k text, n text, m text, o text, t bigint, "
    "r bigint, e bigint, p bigint, c bigint, x bigint, ts bigint, tc bigint, d bigint) "
    "ON CONFLICT (key_name, namespace, model, node, minute) DO UPDATE SET "
    "requests = u.requests + EXCLUDED.requests, errors = u.errors + EXCLUDED.errors, "
    "prompt_tokens = u.prompt_tokens + EXCLUDED.prompt_tokens, "
    "completion_tokens = u.completion_tokens + EXCLUDED.completion_tokens, "
    "unknown_usage = u.unknown_usage + EXCLUDED.unknown_usage, "
    "ttfb_ms_sum = u.ttfb_ms_sum + EXCLUDED.ttfb_ms_sum, "
    "ttfb_count = u.ttfb_count + EXCLUDED.ttfb_count, "
    "duration_ms_sum = u.duration_ms_sum + EXCLUDED.duration_ms_sum";

/* Sums saturate far below bigint's limit: one absurd record must not
 * make the statement fail for every row behind it. */
static void
add(uint64_t *to, uint64_t v)
{
	const uint64_t cap = UINT64_C(1) << 62;

	*to = v > cap - *to ? cap : *to + v;
}

static unsigned
hash_of(char *const k[4], int64_t minute)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)minute;

	for (int i = 0; i < 4; i++)
		for (const unsigned char *p = (const unsigned char *)k[i]; ; p++) {
			h = (h ^ *p) * 1099511628211ULL;
			if (*p == '\0')
				break;
		}
	return (unsigned)(h % NBUCKETS);
}

static struct row *
find(char *const k[4], int64_t minute, unsigned *bucket)
{
	*bucket = hash_of(k, minute);
	for (struct row *r = P.buckets[*bucket]; r != NULL; r = r->next)
		if (r->minute == minute && strcmp(r->k[0], k[0]) == 0 &&
		    strcmp(r->k[1], k[1]) == 0 && strcmp(r->k[2], k[2]) == 0 &&
		    strcmp(r->k[3], k[3]) == 0)
			return r;
	return NULL;
}

static void
merge(struct row *to, const struct row *from)
{
	add(&to->requests, from->requests);
	add(&to->errors, from->errors);
	add(&to->prompt, from->prompt);
	add(&to->completion, from->completion);
	add(&to->unknown, from->unknown);
	add(&to->ttfb_sum, from->ttfb_sum);
	add(&to->ttfb_count, from->ttfb_count);
	add(&to->duration_sum, from->duration_sum);
}

static void
row_free(struct row *r)
{
	for (int i = 0; i < 4; i++)
		free(r->k[i]);
	free(r);
}

/* Put r (owned by the caller until now) into the table: summed into an
 * existing row of the same key, or added. */
static void
put_back(struct row *r)
{
	unsigned b;
	struct row *have = find(r->k, r->minute, &b);

	if (have != NULL) {
		merge(have, r);
		row_free(r);
		return;
	}
	r->next = P.buckets[b];
	P.buckets[b] = r;
	P.nrows++;
}

/* A string for a key column into c (STR_MAX + 1 bytes): cut, control
 * characters made visible. */
static char *
clean(char *c, struct ipc_str s)
{
	size_t n = s.len < STR_MAX ? s.len : STR_MAX;

	for (size_t i = 0; i < n; i++)
		c[i] = (unsigned char)s.base[i] < 0x20 || s.base[i] == 0x7f ? '?' : s.base[i];
	c[n] = '\0';
	return c;
}

void
pg_usage_add(const struct ipc_usage *u)
{
	/* the key columns on the stack: most records add to a row that
	 * exists, only a new row gets copies of its own */
	char keys[4][STR_MAX + 1];
	struct row one, *r;
	unsigned b;
	int known = (u->flags & IPC_USAGE_F_KNOWN) != 0;

	memset(&one, 0, sizeof(one));
	one.k[0] = clean(keys[0], u->key);
	one.k[1] = clean(keys[1], u->ns);
	one.k[2] = clean(keys[2], u->model);
	one.k[3] = clean(keys[3], u->node);
	one.minute = (int64_t)(u->unix_ms / 60000) * 60;
	one.requests = 1;
	one.errors = u->status >= 400 || !ipc_str_eq(u->end, "ok");
	if (known) {
		one.prompt = u->prompt_tokens < USAGE_TOKENS_MAX ? u->prompt_tokens : USAGE_TOKENS_MAX;
		one.completion = u->completion_tokens < USAGE_TOKENS_MAX ? u->completion_tokens
		                                                          : USAGE_TOKENS_MAX;
	} else
		one.unknown = 1;
	if (u->ttfb_ms != IPC_USAGE_NO_TTFB) {
		one.ttfb_sum = u->ttfb_ms;
		one.ttfb_count = 1;
	}
	one.duration_sum = u->duration_ms;

	if ((r = find(one.k, one.minute, &b)) != NULL) {
		merge(r, &one);
	} else if (P.nrows >= PG_USAGE_MAX_ROWS) {
		P.dropped++;
		if (!P.full_logged)
			log_warnx("usage: %d rollup rows wait for the database: dropping records "
			    "that need a new row (counted, logged when there is room)",
			    PG_USAGE_MAX_ROWS);
		P.full_logged = 1;
	} else {
		r = xmalloc(sizeof(*r));
		*r = one;
		for (int i = 0; i < 4; i++)
			r->k[i] = xstrdup(keys[i]);
		r->next = P.buckets[b];
		P.buckets[b] = r;
		P.nrows++;
	}
	if (P.next_at == 0)
		P.next_at = master_now_ms() + PG_USAGE_INTERVAL_MS;
}

/* The rows of the statement in flight wait again. */
static void
restore(void)
{
	struct row *r, *next;

	for (r = P.inflight; r != NULL; r = next) {
		next = r->next;
		put_back(r);
	}
	P.inflight = NULL;
}

void
pg_usage_lost(void)
{
	restore();
	if (P.nrows > 0)
		P.next_at = master_now_ms() + PG_USAGE_INTERVAL_MS;
}

static void
on_written(struct master *m, PGresult *res, void *arg)
{
	struct row *r, *next;
	size_t n = 0;

	(void)m, (void)arg;
	if (res == NULL) {
		/* said by pg.c; most likely migration 004 is missing */
		restore();
		P.next_at = master_now_ms() + PG_USAGE_RETRY_MS;
		return;
	}
	for (r = P.inflight; r != NULL; r = next) {
		next = r->next;
		row_free(r);
		n++;
	}
	P.inflight = NULL;
	log_debug("usage: %zu rollup rows written, %zu wait", n, P.nrows);
	if (P.nrows < PG_USAGE_MAX_ROWS && P.full_logged) {
		log_warnx("usage: room for rollup rows again; %llu records were dropped",
		    (unsigned long long)P.dropped);
		P.full_logged = 0;
		P.dropped = 0;
	}
	/* more waiting: the next batch right away */
	P.next_at = P.nrows > 0 ? master_now_ms() : 0;
}

static int
json_row(struct buf *b, const struct row *r, int first)
{
	char nums[400];
	int rc = 0;

	rc |= wk_json_out_raw(b, first ? "{\"k\":" : ",{\"k\":");
	rc |= wk_json_out_cstr(b, r->k[0]);
	rc |= wk_json_out_raw(b, ",\"n\":");
	rc |= wk_json_out_cstr(b, r->k[1]);
	rc |= wk_json_out_raw(b, ",\"m\":");
	rc |= wk_json_out_cstr(b, r->k[2]);
	rc |= wk_json_out_raw(b, ",\"o\":");
	rc |= wk_json_out_cstr(b, r->k[3]);
	snprintf(nums, sizeof(nums), ",\"t\":%lld,\"r\":%llu,\"e\":%llu,\"p\":%llu,\"c\":%llu,"
	    "\"x\":%llu,\"ts\":%llu,\"tc\":%llu,\"d\":%llu}", (long long)r->minute,
	    (unsigned long long)r->requests, (unsigned long long)r->errors,
	    (unsigned long long)r->prompt, (unsigned long long)r->completion,
	    (unsigned long long)r->unknown, (unsigned long long)r->ttfb_sum,
	    (unsigned long long)r->ttfb_count, (unsigned long long)r->duration_sum);
	rc |= wk_json_out_raw(b, nums);
	return rc;
}

void
pg_usage_run(uint64_t now)
{
	const char *params[1];
	struct buf b;
	size_t n = 0;

	if (P.inflight != NULL || P.nrows == 0 || P.next_at == 0 || now < P.next_at ||
	    !pg_connected())
		return;
	/* no JSON text bound: PG_USAGE_BATCH_ROWS rows of bounded strings */
	buf_init(&b, 0);
	wk_json_out_raw(&b, "[");
	for (unsigned i = 0; i < NBUCKETS && n < PG_USAGE_BATCH_ROWS; i++) {
		while (P.buckets[i] != NULL && n < PG_USAGE_BATCH_ROWS) {
			struct row *r = P.buckets[i];

			P.buckets[i] = r->next;
			P.nrows--;
			json_row(&b, r, n == 0);
			r->next = P.inflight;
			P.inflight = r;
			n++;
		}
	}
	wk_json_out_raw(&b, "]");
	buf_append(&b, "", 1);
	params[0] = (const char *)buf_head(&b);
	P.next_at = now + PG_USAGE_INTERVAL_MS;
	if (!pg_query("usage rollup", sql_upsert, 1, params, on_written, NULL))
		restore(); /* not connected or the name not ours: next time */
	buf_free(&b);
}

int
pg_usage_drain(uint64_t now)
{
	if (P.drain_until == 0) {
		P.drain_until = now + PG_USAGE_DRAIN_MS;
		if (pg_usage_rows() > 0 && pg_connected()) {
			log_info("usage: writing %zu rollup rows before exiting", pg_usage_rows());
			if (P.inflight == NULL)
				P.next_at = now;
		}
	}
	return pg_usage_rows() > 0 && pg_connected() && now < P.drain_until;
}

uint64_t
pg_usage_next_timer(void)
{
	return P.inflight == NULL && P.nrows > 0 ? P.next_at : 0;
}

size_t
pg_usage_rows(void)
{
	size_t n = P.nrows;

	for (struct row *r = P.inflight; r != NULL; r = r->next)
		n++;
	return n;
}

void
pg_usage_free(void)
{
	size_t left;

	restore();
	if ((left = P.nrows) > 0)
		log_warnx("usage: %zu rollup rows not written to the database at exit", left);
	for (unsigned i = 0; i < NBUCKETS; i++) {
		struct row *r, *next;

		for (r = P.buckets[i]; r != NULL; r = next) {
			next = r->next;
			row_free(r);
		}
		P.buckets[i] = NULL;
	}
	P.nrows = 0;
}
