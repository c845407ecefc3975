/*
 * ctl_key: end-user API keys (src/common/apikey.h; table api_keys of
 * sql/003_api_keys.sql).
 *
 *   key new NAME [options] | key list | key show NAME | key set NAME options
 *   key revoke NAME | key disable NAME | key enable NAME
 *
 * options: --owner O, --allow PATTERN (repeated; on set it replaces the
 * list), --rpm N, --tpm N, --max-in-flight N, --tokens-per-day N,
 * --tokens-per-month N, --expires DATE|RFC3339|Nd|never.
 *
 * A new key is shown once, on stdout alone (KEY=$(tokilakectl key new
 * bob)), or in the --json object; only its hash is stored. In standalone
 * mode `key new` prints the key and the lines of tokilake.yaml (keys:)
 * that hold its hash and settings; the other subcommands need a database
 * (in standalone mode the keys are those of tokilake.yaml), as ctl_token.
 *
 * A change and its line in events are one statement; the trigger of
 * api_keys announces it, and every node loads the keys again. Revoked
 * rows stay (usage history keeps their names), so a name is never reused.
 * Checks here only give clear messages early: the table's constraints
 * hold the same rules.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apikey.h"
#include "ctl.h"
#include "token.h"
#include "xmalloc.h"

#define I32_MAX 2147483647ULL
#define I64_MAX 9223372036854775807ULL
#define EXPIRES_MAX 40
#define ARRAY_MAX (APIKEY_PATTERNS_MAX * (2 * APIKEY_PATTERN_MAX + 3) + 3)

/* An --expires value as SQL gets it: NULL (not given), "never", "<N>d"
 * (days from the database's now) or an RFC 3339 UTC time. */
static const char sql_expires[] =
    "CASE WHEN $%d::text = 'never' THEN NULL"
    " WHEN $%d::text ~ '^[0-9]+d$' THEN now() + make_interval(days => left($%d::text, -1)::int)"
    " ELSE $%d::text::timestamptz END";

static const char sql_new_fmt[] =
    "WITH k AS (INSERT INTO api_keys (name, hash, owner, allow, rpm, tpm, max_in_flight,"
    "  tokens_per_day, tokens_per_month, expires_at)"
    "  VALUES ($1, $2, coalesce($3, ''), coalesce($4::text[], '{*}'), coalesce($5::int, 0),"
    "  coalesce($6::int, 0), coalesce($7::int, 0), coalesce($8::bigint, 0),"
    "  coalesce($9::bigint, 0), CASE WHEN $10::text IS NULL THEN NULL ELSE %s END)"
    "  ON CONFLICT DO NOTHING RETURNING id, name),"
    " e AS (INSERT INTO events (kind, detail) SELECT 'key_added', 'key ' || name FROM k)"
    " SELECT id FROM k";

static const char sql_set_fmt[] =
    "WITH k AS (UPDATE api_keys SET owner = coalesce($2, owner),"
    "  allow = coalesce($3::text[], allow), rpm = coalesce($4::int, rpm),"
    "  tpm = coalesce($5::int, tpm), max_in_flight = coalesce($6::int, max_in_flight),"
    "  tokens_per_day = coalesce($7::bigint, tokens_per_day),"
    "  tokens_per_month = coalesce($8::bigint, tokens_per_month),"
    "  expires_at = CASE WHEN $9::text IS NULL THEN expires_at ELSE %s END"
    "  WHERE name = $1 AND revoked_at IS NULL RETURNING name),"
    " e AS (INSERT INTO events (kind, detail) SELECT 'key_changed', 'key ' || name FROM k)"
    " SELECT name FROM k";

static const char sql_revoke[] =
    "WITH k AS (UPDATE api_keys SET revoked_at = now()"
    "  WHERE name = $1 AND revoked_at IS NULL RETURNING name),"
    " e AS (INSERT INTO events (kind, detail) SELECT 'key_revoked', 'key ' || name FROM k)"
    " SELECT name FROM k";

static const char sql_switch[] =
    "WITH k AS (UPDATE api_keys SET disabled = $2::bool"
    "  WHERE name = $1 AND revoked_at IS NULL AND disabled <> $2::bool RETURNING name),"
    " e AS (INSERT INTO events (kind, detail)"
    "  SELECT CASE WHEN $2::bool THEN 'key_disabled' ELSE 'key_enabled' END,"
    "  'key ' || name FROM k)"
    " SELECT name FROM k";

static const char sql_state[] =
    "SELECT date_trunc('second', revoked_at), disabled FROM api_keys WHERE name = $1";

/* What list and show print; allow is a JSON array with --json, words else. */
#define KEY_COLUMNS(allow)                                                               \
	"SELECT id, name, owner, " allow " AS allow, rpm, tpm, max_in_flight,"              \
	" tokens_per_day, tokens_per_month, date_trunc('second', expires_at) AS expires,"   \
	" CASE WHEN revoked_at IS NOT NULL THEN 'revoked' WHEN disabled THEN 'disabled'"   \
	"  WHEN expires_at <= now() THEN 'expired' ELSE 'active' END AS state,"             \
	" date_trunc('second', created_at) AS created,"                                      \
	" date_trunc('second', revoked_at) AS revoked FROM api_keys"
static const char sql_list_text[] = KEY_COLUMNS("array_to_string(allow, ' ')") " ORDER BY name";
static const char sql_list_json[] = KEY_COLUMNS("allow") " ORDER BY name";
static const char sql_show_text[] = KEY_COLUMNS("array_to_string(allow, ' ')") " WHERE name = $1";
static const char sql_show_json[] =
    "SELECT row_to_json(q) FROM (" KEY_COLUMNS("allow") " WHERE name = $1) q";

static const char standalone_hint[] = "in standalone mode the keys are those under keys: in "
    "tokilake.yaml: edit them there and reload tokilake (SIGHUP)";

void
ctl_key_option(struct ctl *ctl, int opt, const char *arg)
{
	struct ctl_key_opts *o = &ctl->key;

	o->given = 1;
	switch (opt) {
	case CTL_OPT_OWNER:
		o->owner = arg;
		break;
	case CTL_OPT_ALLOW:
		/* one more than the bound is kept so that the check can say so */
		if (o->nallow <= APIKEY_PATTERNS_MAX)
			o->allow[o->nallow++] = arg;
		break;
	case CTL_OPT_RPM:
		o->num[KEY_RPM] = arg;
		break;
	case CTL_OPT_TPM:
		o->num[KEY_TPM] = arg;
		break;
	case CTL_OPT_IN_FLIGHT:
		o->num[KEY_IN_FLIGHT] = arg;
		break;
	case CTL_OPT_PER_DAY:
		o->num[KEY_PER_DAY] = arg;
		break;
	case CTL_OPT_PER_MONTH:
		o->num[KEY_PER_MONTH] = arg;
		break;
	case CTL_OPT_EXPIRES:
		o->expires = arg;
		break;
	}
}

static int
check_name(const char *name)
{
	if (apikey_name_valid(name))
		return CTL_OK;
	ctl_err("bad key name: 1 to %d characters of A-Z a-z 0-9 . _ -", APIKEY_NAME_MAX);
	return CTL_USAGE;
}

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* The digits of a limit, at most max. */
static int
check_number(const char *opt, const char *s, unsigned long long max)
{
	unsigned long long v;
	char *end;

	if (s == NULL)
		return CTL_OK;
	if (s[0] >= '0' && s[0] <= '9' && strlen(s) <= 19) {
		v = strtoull(s, &end, 10);
		if (*end == '\0' && v <= max)
			return CTL_OK;
	}
	ctl_err("--%s: a whole number from 0 (no limit) to %llu", opt, max);
	return CTL_USAGE;
}

static int
digits(const char *s, size_t n)
{
	return strspn(s, "0123456789") >= n;
}

/*
 * --expires: "never", "<N>d" (1..36500 days from now), "YYYY-MM-DD" (its
 * midnight UTC) or "YYYY-MM-DDTHH:MM:SSZ". out gets the form sql_expires
 * takes; for standalone mode, days are turned into a time here.
 */
static int
check_expires(const char *s, int standalone, char *out, size_t outlen)
{
	size_t n = strlen(s);
	unsigned long days;

	if (strcmp(s, "never") == 0 && !standalone) {
		snprintf(out, outlen, "never");
		return CTL_OK;
	}
	if (n >= 2 && n <= 6 && s[n - 1] == 'd' && digits(s, n - 1)) {
		days = strtoul(s, NULL, 10);
		if (days < 1 || days > 36500)
			goto bad;
		if (standalone) {
			time_t t = time(NULL) + (time_t)days * 86400;
			struct tm tm;

			gmtime_r(&t, &tm);
			strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
		} else
			snprintf(out, outlen, "%s", s);
		return CTL_OK;
	}
	if (n == 10 && digits(s, 4) && s[4] == '-' && digits(s + 5, 2) && s[7] == '-' &&
	    digits(s + 8, 2)) {
		snprintf(out, outlen, "%sT00:00:00Z", s);
		return CTL_OK;
	}
	if (n == 20 && digits(s, 4) && s[4] == '-' && digits(s + 5, 2) && s[7] == '-' &&
	    digits(s + 8, 2) && s[10] == 'T' && digits(s + 11, 2) && s[13] == ':' &&
	    digits(s + 14, 2) && s[16] == ':' && digits(s + 17, 2) && s[19] == 'Z') {
		snprintf(out, outlen, "%s", s);
		return CTL_OK;
	}
bad:
	ctl_err("--expires: a date (2027-06-30), a UTC time (2027-06-30T12:00:00Z), a number "
	    "of days from now (90d)%s", standalone ? "" : " or never");
	return CTL_USAGE;
}

/* Append s to a PostgreSQL array literal or a YAML flow list, quoted. */
static void
put_quoted(char *out, size_t outlen, const char *s)
{
	size_t n = strlen(out);

	if (n + 1 < outlen)
		out[n++] = '"';
	for (; *s != '\0' && n + 3 < outlen; s++) {
		if (*s == '"' || *s == '\\')
			out[n++] = '\\';
		out[n++] = *s;
	}
	if (n + 1 < outlen)
		out[n++] = '"';
	out[n] = '\0';
}

/* Every option of new and set, checked; arrays filled in for PostgreSQL
 * ('{"a","b"}') and YAML ('["a", "b"]'), expires normalised. */
static int
check_options(const struct ctl_key_opts *o, int standalone, char *array, char *yaml,
    char *expires)
{
	static const char *const names[KEY_NUMS] = { "rpm", "tpm", "max-in-flight",
		"tokens-per-day", "tokens-per-month" };
	static const unsigned long long max[KEY_NUMS] = { I32_MAX, I32_MAX, I32_MAX, I64_MAX,
		I64_MAX };

	array[0] = yaml[0] = expires[0] = '\0';
	if (o->owner != NULL && (strlen(o->owner) > APIKEY_OWNER_MAX || !printable(o->owner))) {
		ctl_err("--owner: at most %d bytes, no control characters", APIKEY_OWNER_MAX);
		return CTL_USAGE;
	}
	if (o->nallow > APIKEY_PATTERNS_MAX) {
		ctl_err("--allow: at most %d patterns per key", APIKEY_PATTERNS_MAX);
		return CTL_USAGE;
	}
	for (size_t i = 0; i < o->nallow; i++)
		if (!apikey_pattern_valid(o->allow[i])) {
			ctl_err("--allow: a pattern is 1 to %d printable characters (no spaces) over "
			    "\"namespace:model\", '*' for any run of them (\"lab:*\", \"*:llama3*\", "
			    "\"*\")", APIKEY_PATTERN_MAX);
			return CTL_USAGE;
		}
	for (int i = 0; i < KEY_NUMS; i++)
		if (check_number(names[i], o->num[i], max[i]) != CTL_OK)
			return CTL_USAGE;
	if (o->expires != NULL &&
	    check_expires(o->expires, standalone, expires, EXPIRES_MAX) != CTL_OK)
		return CTL_USAGE;
	if (o->nallow > 0) {
		snprintf(array, ARRAY_MAX, "{");
		snprintf(yaml, ARRAY_MAX, "[");
		for (size_t i = 0; i < o->nallow; i++) {
			if (i > 0) {
				strcat(array, ",");
				strcat(yaml, ", ");
			}
			put_quoted(array, ARRAY_MAX, o->allow[i]);
			put_quoted(yaml, ARRAY_MAX, o->allow[i]);
		}
		strcat(array, "}");
		strcat(yaml, "]");
	}
	return CTL_OK;
}

static int
make_key(char key[APIKEY_LEN + 1], char hash[TOKEN_HASH_LEN + 1])
{
	if (apikey_generate(key) != 0) {
		ctl_err("cannot get random bytes for a key");
		return CTL_FAIL;
	}
	token_hash(key, strlen(key), hash);
	return CTL_OK;
}

/* Standalone: the key once, and its lines for tokilake.yaml; with --json
 * the object of a database's key new, with an id of null (no row). */
static int
print_yaml(const char *name, const struct ctl_key_opts *o, const char *yaml_allow,
    const char *expires, int json)
{
	static const char *const fields[KEY_NUMS] = { "rpm", "tpm", "max_in_flight",
		"tokens_per_day", "tokens_per_month" };
	char key[APIKEY_LEN + 1], hash[TOKEN_HASH_LEN + 1], owner[2 * APIKEY_OWNER_MAX + 3] = "";

	if (make_key(key, hash) != CTL_OK)
		return CTL_FAIL;
	if (json) {
		/* the name passed apikey_name_valid, key and hash are hex: no escaping */
		printf("{\"id\":null,\"name\":\"%s\",\"key\":\"%s\",\"hash\":\"%s\"}\n", name, key,
		    hash);
		goto out;
	}
	printf("# standalone mode (no database): keys live in tokilake.yaml\n"
	    "# key %s (shown once; give it to its user as the API key):\n"
	    "#   %s\n"
	    "# add under keys: in tokilake.yaml (only the hash is stored), then reload (SIGHUP):\n"
	    "keys:\n"
	    "  %s:\n"
	    "    hash: \"%s\"\n", name, key, name, hash);
	if (o->owner != NULL) {
		put_quoted(owner, sizeof(owner), o->owner);
		printf("    owner: %s\n", owner);
	}
	if (yaml_allow[0] != '\0')
		printf("    allow: %s\n", yaml_allow);
	for (int i = 0; i < KEY_NUMS; i++)
		if (o->num[i] != NULL)
			printf("    %s: %s\n", fields[i], o->num[i]);
	if (expires[0] != '\0')
		printf("    expires: \"%s\"\n", expires);
out:
	secure_wipe(key, sizeof(key));
	return fflush(stdout) == 0 ? CTL_OK : CTL_FAIL;
}

/* The 10 parameters of sql_new / 9 of sql_set after the name: owner,
 * allow, the limits, expires (NULL when not given). */
static void
fill_params(const char **p, const struct ctl_key_opts *o, const char *array,
    const char *expires)
{
	p[0] = o->owner;
	p[1] = array[0] != '\0' ? array : NULL;
	for (int i = 0; i < KEY_NUMS; i++)
		p[2 + i] = o->num[i];
	p[2 + KEY_NUMS] = expires[0] != '\0' ? expires : NULL;
}

/* An expires value PostgreSQL refused (2027-02-30): the command line's fault. */
static int
db_rc(const char *sqlstate)
{
	return strncmp(sqlstate, "22", 2) == 0 ? CTL_USAGE : CTL_FAIL;
}

static char *
with_expires(const char *fmt, int n)
{
	char expr[512], *sql;
	size_t len;

	snprintf(expr, sizeof(expr), sql_expires, n, n, n, n);
	len = strlen(fmt) + strlen(expr) + 1;
	sql = xmalloc(len);
	snprintf(sql, len, fmt, expr);
	return sql;
}

static int
key_new(struct ctl *ctl, const char *name)
{
	char key[APIKEY_LEN + 1], hash[TOKEN_HASH_LEN + 1], expires[EXPIRES_MAX], sqlstate[6];
	char *array = xmalloc(ARRAY_MAX), *yaml = xmalloc(ARRAY_MAX), *sql = NULL;
	const char *params[10];
	PGresult *res;
	int rc = CTL_USAGE;

	key[0] = '\0';
	if (check_name(name) != CTL_OK ||
	    check_options(&ctl->key, ctl->url == NULL, array, yaml, expires) != CTL_OK)
		goto out;
	if (ctl->url == NULL) {
		rc = print_yaml(name, &ctl->key, yaml, expires, ctl->json);
		goto out;
	}
	rc = CTL_FAIL;
	if (ctl_db_open(ctl) != CTL_OK || make_key(key, hash) != CTL_OK)
		goto out;
	params[0] = name;
	params[1] = hash;
	fill_params(params + 2, &ctl->key, array, expires);
	sql = with_expires(sql_new_fmt, 10);
	if ((res = ctl_db_exec(ctl, "key new", sql, 10, params, sqlstate)) == NULL) {
		rc = db_rc(sqlstate);
		goto out;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		ctl_err("a key named %s exists already (names are never reused, even revoked "
		    "ones: tokilakectl key show %s)", name, name);
		goto out;
	}
	if (ctl->json)
		printf("{\"id\":%s,\"name\":\"%s\",\"key\":\"%s\",\"hash\":\"%s\"}\n",
		    PQgetvalue(res, 0, 0), name, key, hash);
	else {
		printf("%s\n", key);
		fprintf(stderr, "key %s added (id %s, hash %s): the key above is shown only this "
		    "once; give it to its user as the API key (Authorization: Bearer)\n", name,
		    PQgetvalue(res, 0, 0), hash);
	}
	PQclear(res);
	rc = fflush(stdout) == 0 ? CTL_OK : CTL_FAIL;
out:
	secure_wipe(key, sizeof(key));
	free(array);
	free(yaml);
	free(sql);
	return rc;
}

/* A change matched no row: why. Always CTL_FAIL but for what is done already. */
static int
why_unchanged(struct ctl *ctl, const char *what, const char *name, int disabling)
{
	const char *params[] = { name };
	PGresult *res;
	int rc = CTL_FAIL;

	if ((res = ctl_db_exec(ctl, what, sql_state, 1, params, NULL)) == NULL)
		return CTL_FAIL;
	if (PQntuples(res) == 0)
		ctl_err("no key named %s", name);
	else if (!PQgetisnull(res, 0, 0)) {
		if (strcmp(what, "key revoke") == 0) {
			printf("key %s was already revoked (at %s)\n", name, PQgetvalue(res, 0, 0));
			rc = CTL_OK;
		} else
			ctl_err("key %s is revoked (at %s): it cannot be changed", name,
			    PQgetvalue(res, 0, 0));
	} else {
		printf("key %s was already %s\n", name, disabling ? "disabled" : "enabled");
		rc = CTL_OK;
	}
	PQclear(res);
	return rc;
}

static int
key_set(struct ctl *ctl, const char *name)
{
	char expires[EXPIRES_MAX], sqlstate[6];
	char *array = xmalloc(ARRAY_MAX), *yaml = xmalloc(ARRAY_MAX), *sql = NULL;
	const char *params[9];
	PGresult *res;
	int rc = CTL_USAGE;

	if (check_name(name) != CTL_OK ||
	    check_options(&ctl->key, ctl->url == NULL, array, yaml, expires) != CTL_OK)
		goto out;
	if (!ctl->key.given) {
		ctl_err("key set %s: nothing to change (give --owner, --allow, --rpm, --tpm, "
		    "--max-in-flight, --tokens-per-day, --tokens-per-month or --expires)", name);
		goto out;
	}
	if (ctl->url == NULL) {
		rc = ctl_needs_database("key set", standalone_hint);
		goto out;
	}
	rc = CTL_FAIL;
	if (ctl_db_open(ctl) != CTL_OK)
		goto out;
	params[0] = name;
	fill_params(params + 1, &ctl->key, array, expires);
	sql = with_expires(sql_set_fmt, 9);
	if ((res = ctl_db_exec(ctl, "key set", sql, 9, params, sqlstate)) == NULL) {
		rc = db_rc(sqlstate);
		goto out;
	}
	if (PQntuples(res) == 1) {
		printf("key %s changed\n", name);
		rc = CTL_OK;
	} else
		rc = why_unchanged(ctl, "key set", name, 0);
	PQclear(res);
out:
	free(array);
	free(yaml);
	free(sql);
	return rc;
}

/* revoke, disable, enable: one statement on one row, then why not. */
static int
key_change(struct ctl *ctl, const char *what, const char *name, const char *sql,
    const char *flag, const char *done)
{
	const char *params[] = { name, flag };
	PGresult *res;
	int changed;

	if (check_name(name) != CTL_OK)
		return CTL_USAGE;
	if (ctl->url == NULL)
		return ctl_needs_database(what, standalone_hint);
	if (ctl_db_open(ctl) != CTL_OK)
		return CTL_FAIL;
	if ((res = ctl_db_exec(ctl, what, sql, flag != NULL ? 2 : 1, params, NULL)) == NULL)
		return CTL_FAIL;
	changed = PQntuples(res) == 1;
	PQclear(res);
	if (!changed)
		return why_unchanged(ctl, what, name, flag != NULL && strcmp(flag, "true") == 0);
	printf("key %s %s\n", name, done);
	return fflush(stdout) == 0 ? CTL_OK : CTL_FAIL;
}

static void
put_cell(const char *s)
{
	for (; *s != '\0'; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static int
key_show(struct ctl *ctl, const char *name)
{
	const char *params[] = { name };
	PGresult *res;
	int found;

	if (check_name(name) != CTL_OK)
		return CTL_USAGE;
	if (ctl->url == NULL)
		return ctl_needs_database("key show", standalone_hint);
	if (ctl_db_open(ctl) != CTL_OK)
		return CTL_FAIL;
	res = ctl_db_exec(ctl, "key show", ctl->json ? sql_show_json : sql_show_text, 1, params,
	    NULL);
	if (res == NULL)
		return CTL_FAIL;
	if ((found = PQntuples(res) == 1) == 0)
		ctl_err("no key named %s", name);
	else if (ctl->json)
		printf("%s\n", PQgetvalue(res, 0, 0));
	else
		for (int c = 0; c < PQnfields(res); c++) {
			printf("%-17s ", PQfname(res, c));
			put_cell(PQgetisnull(res, 0, c) ? "-" : PQgetvalue(res, 0, c));
			putchar('\n');
		}
	PQclear(res);
	if (!found)
		return CTL_FAIL;
	return fflush(stdout) == 0 ? CTL_OK : CTL_FAIL;
}

int
ctl_key(struct ctl *ctl, int argc, char **argv)
{
	static const char synopsis[] = "key new NAME [options] | key list | key show NAME | "
	    "key set NAME options | key revoke NAME | key disable NAME | key enable NAME "
	    "(options: tokilakectl -h)";
	const char *sub = argc > 1 ? argv[1] : "";
	int with_options = strcmp(sub, "new") == 0 || strcmp(sub, "set") == 0;

	if (ctl->key.given && !with_options) {
		ctl_err("--owner, --allow, the limits and --expires only go with \"key new\" and "
		    "\"key set\"");
		return CTL_USAGE;
	}
	if (argc == 2 && strcmp(sub, "list") == 0) {
		if (ctl->url == NULL)
			return ctl_needs_database("key list", standalone_hint);
		if (ctl_db_open(ctl) != CTL_OK)
			return CTL_FAIL;
		return ctl_print_query(ctl, "key list", ctl->json ? sql_list_json : sql_list_text,
		    0, NULL);
	}
	if (argc != 3)
		return ctl_usage(synopsis);
	if (strcmp(sub, "new") == 0)
		return key_new(ctl, argv[2]);
	if (strcmp(sub, "set") == 0)
		return key_set(ctl, argv[2]);
	if (strcmp(sub, "show") == 0)
		return key_show(ctl, argv[2]);
	if (strcmp(sub, "revoke") == 0)
		return key_change(ctl, "key revoke", argv[2], sql_revoke, NULL,
		    "revoked; every node refuses it within a second");
	if (strcmp(sub, "disable") == 0)
		return key_change(ctl, "key disable", argv[2], sql_switch, "true",
		    "disabled; every node refuses it (403) within a second");
	if (strcmp(sub, "enable") == 0)
		return key_change(ctl, "key enable", argv[2], sql_switch, "false", "enabled");
	return ctl_usage(synopsis);
}
