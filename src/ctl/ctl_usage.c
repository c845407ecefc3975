/*
 * ctl_usage: usage [--key K] [--namespace NS] [--model M] [--since T]
 *                  [--until T] [--by key|namespace|model|hour|day]
 *                  [--file F] [--json]
 *
 * Sums what the gateway used: requests, errors, prompt and completion
 * tokens, requests whose usage is unknown, average time to first byte
 * and duration; one row in all, or one per key, namespace, model, UTC
 * hour or UTC day (--by). PostgreSQL mode reads the table usage_rollups
 * (whose time unit is the minute); standalone mode reads the usage log
 * (usage.log_file of the configuration, or --file), one JSON object per
 * line, and skips lines it cannot read (counted on stderr). The columns
 * and JSON members are the same in both modes.
 *
 * T is a UTC date (2026-12-07), a UTC time (2026-12-07T22:00:00Z), or a
 * time ago: 90m, 24h, 7d. --since is inclusive, --until exclusive.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <yajl/yajl_tree.h>

#include "../worker/json_out.h"
#include "ctl.h"
#include "tl_config.h"
#include "xmalloc.h"

#define SYNOPSIS "usage [--key K] [--namespace NS] [--model M] [--since T] [--until T] " \
	"[--by key|namespace|model|hour|day] [--file F] [--json]"
/* A usage line is a few hundred bytes; a longer one is not ours. */
#define LINE_MAX_BYTES 16384

enum by { BY_ALL, BY_KEY, BY_NS, BY_MODEL, BY_HOUR, BY_DAY };
static const char *const by_names[] = { "", "key", "namespace", "model", "hour", "day" };

/* A time given on the command line: unix seconds; -1 after saying why. */
static int64_t
parse_when(const char *opt, const char *s)
{
	struct tm tm;
	char *end;
	long long n;
	int used = 0;

	memset(&tm, 0, sizeof(tm));
	n = strtoll(s, &end, 10);
	if (end != s && n >= 0 && end[0] != '\0' && end[1] == '\0' && strchr("mhd", end[0])) {
		int64_t unit = end[0] == 'm' ? 60 : end[0] == 'h' ? 3600 : 86400;

		if (n <= 100LL * 366 * 86400 / unit)
			return (int64_t)time(NULL) - n * unit;
	}
	if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &used) == 3 &&
	    (s[used] == '\0' ||
	    (sscanf(s + used, "T%2d:%2d:%2dZ%n", &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) == 3 &&
	    s[strlen(s) - 1] == 'Z' && strlen(s) == (size_t)used + 10))) {
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		if (tm.tm_mon >= 0 && tm.tm_mon < 12 && tm.tm_mday >= 1 && tm.tm_mday <= 31 &&
		    tm.tm_hour < 24 && tm.tm_min < 60 && tm.tm_sec < 61)
			return (int64_t)timegm(&tm);
	}
	ctl_err("%s %s: not a time (2026-12-07, 2026-12-07T22:00:00Z, or ago: 90m, 24h, 7d)",
	    opt, s);
	return -1;
}

struct opts {
	const char *key, *ns, *model, *file;
	int64_t since, until; /* -1 = none */
	enum by by;
};

/* ---- PostgreSQL ---- */

static int
usage_pg(struct ctl *ctl, const struct opts *o)
{
	static const char *const group[] = {
		[BY_KEY] = "key_name AS key",
		[BY_NS] = "namespace",
		[BY_MODEL] = "namespace || ':' || model AS model",
		[BY_HOUR] = "to_char(date_trunc('hour', minute AT TIME ZONE 'UTC'), "
		            "'YYYY-MM-DD\"T\"HH24:00:00\"Z\"') AS hour",
		[BY_DAY] = "to_char(minute AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day",
	};
	char sql[2048], since[32], until[32];
	const char *params[5];

	snprintf(since, sizeof(since), "%" PRId64, o->since);
	snprintf(until, sizeof(until), "%" PRId64, o->until);
	params[0] = o->key;
	params[1] = o->ns;
	params[2] = o->model;
	params[3] = o->since >= 0 ? since : NULL;
	params[4] = o->until >= 0 ? until : NULL;
	snprintf(sql, sizeof(sql),
	    "SELECT %s%scoalesce(sum(requests), 0)::bigint AS requests, "
	    "coalesce(sum(errors), 0)::bigint AS errors, "
	    "coalesce(sum(prompt_tokens), 0)::bigint AS prompt_tokens, "
	    "coalesce(sum(completion_tokens), 0)::bigint AS completion_tokens, "
	    "coalesce(sum(unknown_usage), 0)::bigint AS unknown_usage, "
	    "round(sum(ttfb_ms_sum)::numeric / nullif(sum(ttfb_count), 0))::bigint AS avg_ttfb_ms, "
	    "round(sum(duration_ms_sum)::numeric / nullif(sum(requests), 0))::bigint "
	    "AS avg_duration_ms "
	    "FROM usage_rollups WHERE ($1::text IS NULL OR key_name = $1) "
	    "AND ($2::text IS NULL OR namespace = $2) AND ($3::text IS NULL OR model = $3) "
	    "AND ($4::bigint IS NULL OR minute >= to_timestamp($4::bigint)) "
	    "AND ($5::bigint IS NULL OR minute < to_timestamp($5::bigint))%s",
	    o->by == BY_ALL ? "" : group[o->by], o->by == BY_ALL ? "" : ", ",
	    o->by == BY_ALL ? "" : " GROUP BY 1 ORDER BY 1");
	if (ctl_db_open(ctl) != CTL_OK)
		return CTL_FAIL;
	return ctl_print_query(ctl, "usage", sql, 5, params);
}

/* ---- the standalone usage log ---- */

struct sum {
	char *group;
	uint64_t requests, errors, prompt, completion, unknown;
	uint64_t ttfb_sum, ttfb_count, duration_sum;
};

struct sums {
	struct sum *v;
	size_t n, cap;
	size_t last; /* lines come in time order: the last group is the likely one */
};

static struct sum *
sum_of(struct sums *s, const char *group)
{
	if (s->last < s->n && strcmp(s->v[s->last].group, group) == 0)
		return &s->v[s->last];
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].group, group) == 0)
			return &s->v[s->last = i];
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	memset(&s->v[s->n], 0, sizeof(s->v[s->n]));
	s->v[s->n].group = xstrdup(group);
	s->last = s->n;
	return &s->v[s->n++];
}

static const char *
jstr(yajl_val v, const char *name)
{
	const char *path[] = { name, NULL };
	yajl_val x = yajl_tree_get(v, path, yajl_t_string);

	return x != NULL ? YAJL_GET_STRING(x) : NULL;
}

/* A member that is an unsigned integer: 1 with *out; 0 when null or absent. */
static int
jnum(yajl_val v, const char *name, uint64_t *out)
{
	const char *path[] = { name, NULL };
	yajl_val x = yajl_tree_get(v, path, yajl_t_number);

	if (x == NULL || !YAJL_IS_INTEGER(x) || YAJL_GET_INTEGER(x) < 0)
		return 0;
	*out = (uint64_t)YAJL_GET_INTEGER(x);
	return 1;
}

/* "2026-12-07T22:55:06.123Z" -> unix seconds; -1 if not that shape. */
static int64_t
line_time(const char *s)
{
	struct tm tm;
	unsigned ms;
	int used = 0;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3uZ%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &used) != 7 || s[used] != '\0')
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

/* One line into the sums: 0, or -1 when it is not a usage line. */
static int
add_line(struct sums *s, const struct opts *o, const char *line)
{
	const char *key, *ns, *model, *status_end, *when;
	char group[600];
	uint64_t status, v;
	int64_t t;
	yajl_val j = yajl_tree_parse(line, NULL, 0);
	struct sum *sum;

	if (j == NULL || !YAJL_IS_OBJECT(j))
		goto bad;
	key = jstr(j, "key");
	ns = jstr(j, "namespace");
	model = jstr(j, "model");
	status_end = jstr(j, "end");
	when = jstr(j, "time");
	if (key == NULL || ns == NULL || model == NULL || status_end == NULL ||
	    !jnum(j, "status", &status) || (t = line_time(when)) < 0)
		goto bad;
	if ((o->key != NULL && strcmp(o->key, key) != 0) ||
	    (o->ns != NULL && strcmp(o->ns, ns) != 0) ||
	    (o->model != NULL && strcmp(o->model, model) != 0) ||
	    (o->since >= 0 && t < o->since) || (o->until >= 0 && t >= o->until)) {
		yajl_tree_free(j);
		return 0;
	}
	switch (o->by) {
	case BY_ALL:
		group[0] = '\0';
		break;
	case BY_KEY:
		snprintf(group, sizeof(group), "%s", key);
		break;
	case BY_NS:
		snprintf(group, sizeof(group), "%s", ns);
		break;
	case BY_MODEL:
		snprintf(group, sizeof(group), "%s:%s", ns, model);
		break;
	case BY_HOUR:
		snprintf(group, sizeof(group), "%.13s:00:00Z", when);
		break;
	case BY_DAY:
		snprintf(group, sizeof(group), "%.10s", when);
		break;
	}
	sum = sum_of(s, group);
	sum->requests++;
	if (status >= 400 || strcmp(status_end, "ok") != 0)
		sum->errors++;
	if (jstr(j, "usage") != NULL && strcmp(jstr(j, "usage"), "known") == 0) {
		if (jnum(j, "prompt_tokens", &v))
			sum->prompt += v;
		if (jnum(j, "completion_tokens", &v))
			sum->completion += v;
	} else
		sum->unknown++;
	if (jnum(j, "ttfb_ms", &v)) {
		sum->ttfb_sum += v;
		sum->ttfb_count++;
	}
	if (jnum(j, "duration_ms", &v))
		sum->duration_sum += v;
	yajl_tree_free(j);
	return 0;
bad:
	yajl_tree_free(j);
	return -1;
}

static int
cmp_group(const void *a, const void *b)
{
	return strcmp(((const struct sum *)a)->group, ((const struct sum *)b)->group);
}

/* The average of sum over n, rounded, or "-" / null without any. */
static void
avg(char *out, size_t size, uint64_t sum, uint64_t n, int json)
{
	if (n == 0)
		snprintf(out, size, "%s", json ? "null" : "-");
	else
		snprintf(out, size, "%" PRIu64, (sum + n / 2) / n);
}

#define NCOLS 8 /* the group, then the sums */
static const char *const cols[NCOLS] = { NULL, "requests", "errors", "prompt_tokens",
	"completion_tokens", "unknown_usage", "avg_ttfb_ms", "avg_duration_ms" };

/* The cells of one row: [0] the group, [1..] the numbers. */
static void
row_cells(const struct sum *x, int json, char cells[NCOLS][32])
{
	snprintf(cells[1], 32, "%" PRIu64, x->requests);
	snprintf(cells[2], 32, "%" PRIu64, x->errors);
	snprintf(cells[3], 32, "%" PRIu64, x->prompt);
	snprintf(cells[4], 32, "%" PRIu64, x->completion);
	snprintf(cells[5], 32, "%" PRIu64, x->unknown);
	avg(cells[6], 32, x->ttfb_sum, x->ttfb_count, json);
	avg(cells[7], 32, x->duration_sum, x->requests, json);
}

static void
print_json(const struct sums *s, const struct opts *o, struct buf *b)
{
	char cells[NCOLS][32], name[40];

	wk_json_out_raw(b, "[");
	for (size_t i = 0; i < s->n; i++) {
		row_cells(&s->v[i], 1, cells);
		wk_json_out_raw(b, i ? ",{" : "{");
		if (o->by != BY_ALL) {
			wk_json_out_cstr(b, by_names[o->by]);
			wk_json_out_raw(b, ":");
			wk_json_out_cstr(b, s->v[i].group);
			wk_json_out_raw(b, ",");
		}
		for (int c = 1; c < NCOLS; c++) {
			snprintf(name, sizeof(name), "\"%s\":", cols[c]);
			wk_json_out_raw(b, name);
			wk_json_out_raw(b, cells[c]);
			wk_json_out_raw(b, c + 1 < NCOLS ? "," : "}");
		}
	}
	wk_json_out_raw(b, "]\n");
}

/* Aligned columns with upper-case headers, as the PostgreSQL mode prints. */
static void
print_text(const struct sums *s, const struct opts *o, struct buf *b)
{
	char cells[NCOLS][32], head[NCOLS][32];
	size_t width[NCOLS] = { 0 };
	int first = o->by == BY_ALL ? 1 : 0;

	for (int c = 0; c < NCOLS; c++) {
		snprintf(head[c], sizeof(head[c]), "%s", c == 0 ? by_names[o->by] : cols[c]);
		for (char *p = head[c]; *p != '\0'; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		width[c] = strlen(head[c]);
	}
	for (size_t i = 0; i < s->n; i++) {
		row_cells(&s->v[i], 0, cells);
		if (strlen(s->v[i].group) > width[0])
			width[0] = strlen(s->v[i].group);
		for (int c = 1; c < NCOLS; c++)
			if (strlen(cells[c]) > width[c])
				width[c] = strlen(cells[c]);
	}
	for (size_t i = 0; i <= s->n; i++) {
		if (i > 0)
			row_cells(&s->v[i - 1], 0, cells);
		for (int c = first; c < NCOLS; c++) {
			const char *t = i == 0 ? head[c] : c == 0 ? s->v[i - 1].group : cells[c];
			size_t w = 0;

			for (; *t != '\0'; t++, w++)
				buf_append(b, (unsigned char)*t < 0x20 || *t == 0x7f ? "?" : t, 1);
			if (c + 1 < NCOLS)
				for (; w < width[c] + 2; w++)
					buf_append(b, " ", 1);
		}
		buf_append(b, "\n", 1);
	}
}

static void
print_sums(const struct sums *s, const struct opts *o, int json)
{
	struct buf b;

	buf_init(&b, 0);
	if (json)
		print_json(s, o, &b);
	else
		print_text(s, o, &b);
	fwrite(buf_head(&b), 1, b.len, stdout);
	buf_free(&b);
}

static int
usage_file(struct ctl *ctl, const struct opts *o)
{
	struct tl_config *conf = NULL;
	const char *path = o->file;
	struct sums s = { 0 };
	size_t bad = 0, lineno = 0;
	char err[1024], *line;
	FILE *fp;
	int rc = CTL_OK;

	if (path == NULL) {
		if ((conf = tl_config_load(ctl->conf_path, err, sizeof(err))) == NULL) {
			ctl_err("%s (or name the usage log with --file)", err);
			return CTL_USAGE;
		}
		path = conf->usage.log_file;
	}
	if ((fp = fopen(path, "r")) == NULL) {
		ctl_err("usage log %s: %s", path, strerror(errno));
		tl_config_free(conf);
		return CTL_FAIL;
	}
	line = xmalloc(LINE_MAX_BYTES);
	while (fgets(line, LINE_MAX_BYTES, fp) != NULL) {
		size_t len = strlen(line);

		lineno++;
		if (len > 0 && line[len - 1] != '\n' && !feof(fp)) {
			int ch;

			while ((ch = getc(fp)) != EOF && ch != '\n')
				;
			bad++;
			continue;
		}
		if (add_line(&s, o, line) == -1)
			bad++;
	}
	if (ferror(fp)) {
		ctl_err("usage log %s: %s", path, strerror(errno));
		rc = CTL_FAIL;
	}
	fclose(fp);
	free(line);
	if (bad > 0)
		ctl_err("usage log %s: %zu of %zu lines are not usage records (skipped)", path,
		    bad, lineno);
	if (o->by == BY_ALL && s.n == 0)
		sum_of(&s, "");
	qsort(s.v, s.n, sizeof(*s.v), cmp_group);
	if (rc == CTL_OK)
		print_sums(&s, o, ctl->json);
	for (size_t i = 0; i < s.n; i++)
		free(s.v[i].group);
	free(s.v);
	tl_config_free(conf);
	if (rc == CTL_OK && fflush(stdout) != 0)
		rc = CTL_FAIL;
	return rc;
}

int
ctl_usage_cmd(struct ctl *ctl, int argc, char **argv)
{
	const struct ctl_usage_opts *u = &ctl->usage;
	struct opts o;

	(void)argv;
	if (argc != 1)
		return ctl_usage(SYNOPSIS);
	memset(&o, 0, sizeof(o));
	o.key = u->key;
	o.ns = u->ns;
	o.model = u->model;
	o.file = u->file;
	o.since = o.until = -1;
	if (u->since != NULL && (o.since = parse_when("--since", u->since)) < 0)
		return CTL_USAGE;
	if (u->until != NULL && (o.until = parse_when("--until", u->until)) < 0)
		return CTL_USAGE;
	o.by = BY_ALL;
	if (u->by != NULL) {
		for (o.by = BY_KEY; o.by <= BY_DAY; o.by++)
			if (strcmp(u->by, by_names[o.by]) == 0)
				break;
		if (o.by > BY_DAY) {
			ctl_err("--by %s: one of key, namespace, model, hour, day", u->by);
			return CTL_USAGE;
		}
	}
	if (o.file != NULL || ctl->url == NULL)
		return usage_file(ctl, &o);
	return usage_pg(ctl, &o);
}
