/*
 * ctl_token: token new NAMESPACE [--label L] | list [NAMESPACE] |
 * revoke ID-or-HASH-prefix.
 *
 * A new token is shown once, on stdout alone (so that scripts can take
 * it: TOKEN=$(tokilakectl token new lab)); only its hash is stored.
 * Revoking sets revoked_at: the row stays for the record, the NOTIFY of
 * sql/001_initial.sql makes every node drop the hash and disconnect the
 * agents that linked with it.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "token.h"
#include "xmalloc.h"

#define LABEL_MAX 200

/* Insert the token only if the namespace exists and is enabled. */
static const char sql_new[] =
    "WITH ns AS (SELECT name FROM namespaces WHERE name = $1 AND disabled_at IS NULL FOR SHARE),"
    " t AS (INSERT INTO namespace_tokens (namespace, token_hash, label)"
    "  SELECT name, $2, $3 FROM ns RETURNING id, namespace, token_hash),"
    " e AS (INSERT INTO events (namespace, kind, detail)"
    "  SELECT namespace, 'token_added', 'id ' || id || ' ' || left(token_hash, 19) FROM t)"
    " SELECT id FROM t";

static const char sql_ns_state[] =
    "SELECT date_trunc('second', disabled_at) FROM namespaces WHERE name = $1";

static const char sql_list[] =
    "SELECT id, namespace, label, token_hash AS hash,"
    "  date_trunc('second', created_at) AS created,"
    "  date_trunc('second', revoked_at) AS revoked"
    " FROM namespace_tokens WHERE $1::text IS NULL OR namespace = $1"
    " ORDER BY namespace, id";

static const char sql_match[] =
    "SELECT id FROM namespace_tokens WHERE left(token_hash, length($1)) = $1 ORDER BY id LIMIT 6";

static const char sql_revoke[] =
    "WITH r AS (UPDATE namespace_tokens SET revoked_at = now()"
    "  WHERE id = $1 AND revoked_at IS NULL RETURNING id, namespace, token_hash),"
    " e AS (INSERT INTO events (namespace, kind, detail)"
    "  SELECT namespace, 'token_revoked', 'id ' || id || ' ' || left(token_hash, 19) FROM r)"
    " SELECT namespace FROM r";

static const char sql_token_state[] =
    "SELECT namespace, date_trunc('second', revoked_at) FROM namespace_tokens WHERE id = $1";

static int
check_label(const char *label)
{
	if (label == NULL)
		return CTL_OK;
	if (strlen(label) > LABEL_MAX) {
		ctl_err("--label: at most %d bytes", LABEL_MAX);
		return CTL_USAGE;
	}
	for (const char *p = label; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			ctl_err("--label: no control characters");
			return CTL_USAGE;
		}
	return CTL_OK;
}

/* The token was not inserted: say why (no such namespace, or disabled). */
static void
why_not_added(struct ctl *ctl, const char *ns)
{
	const char *params[] = { ns };
	PGresult *res;

	if ((res = ctl_db_exec(ctl, "token new", sql_ns_state, 1, params, NULL)) == NULL)
		return;
	if (PQntuples(res) == 0)
		ctl_err("no namespace %s (add it with: tokilakectl namespace add %s)", ns, ns);
	else if (!PQgetisnull(res, 0, 0))
		ctl_err("namespace %s is disabled (since %s): no new token", ns,
		    PQgetvalue(res, 0, 0));
	else
		ctl_err("namespace %s: the token could not be added", ns);
	PQclear(res);
}

static int
token_new(struct ctl *ctl, const char *ns)
{
	char token[TOKEN_LEN + 1], hash[TOKEN_HASH_LEN + 1];
	const char *params[3];
	PGresult *res;
	int rc = CTL_FAIL;

	if (ctl_check_namespace(ns) != CTL_OK || check_label(ctl->label) != CTL_OK)
		return CTL_USAGE;
	if (ctl->url == NULL)
		return ctl_print_token_yaml(ns, ctl->label, 0, ctl->json);
	if (ctl_db_open(ctl) != CTL_OK)
		return CTL_FAIL;
	if (token_generate(token) != 0) {
		ctl_err("cannot get random bytes for a token");
		return CTL_FAIL;
	}
	token_hash(token, strlen(token), hash);
	params[0] = ns;
	params[1] = hash;
	params[2] = ctl->label;
	if ((res = ctl_db_exec(ctl, "token new", sql_new, 3, params, NULL)) == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		PQclear(res);
		why_not_added(ctl, ns);
		goto out;
	}
	if (ctl->json)
		printf("{\"id\":%s,\"namespace\":\"%s\",\"token\":\"%s\",\"hash\":\"%s\"}\n",
		    PQgetvalue(res, 0, 0), ns, token, hash);
	else {
		printf("%s\n", token);
		fprintf(stderr, "token %s added to namespace %s, hash %s: the token above is "
		    "shown only this once; give it to tokiame as its token\n",
		    PQgetvalue(res, 0, 0), ns, hash);
	}
	PQclear(res);
	rc = fflush(stdout) == 0 ? CTL_OK : CTL_FAIL;
out:
	secure_wipe(token, sizeof(token));
	return rc;
}

/* "42" is an id; "sha256:0a1b..." or "0a1b2c3d..." (8+ hex digits) a
 * hash prefix. Fills id (digits) or prefix ("sha256:" + lower hex). */
static int
parse_token_ref(const char *arg, char *id, size_t idlen, char *prefix, size_t prelen)
{
	size_t n = strspn(arg, "0123456789"), hex;
	const char *h = arg;

	id[0] = prefix[0] = '\0';
	if (n > 0 && arg[n] == '\0') {
		if (n > 18 || n >= idlen)
			goto bad;
		memcpy(id, arg, n + 1);
		return CTL_OK;
	}
	if (strncmp(h, "sha256:", 7) == 0)
		h += 7;
	hex = strspn(h, "0123456789abcdefABCDEF");
	if (h[hex] != '\0' || hex < 8 || hex > 64 || 7 + hex >= prelen)
		goto bad;
	memcpy(prefix, "sha256:", 7);
	for (size_t i = 0; i <= hex; i++)
		prefix[7 + i] = (h[i] >= 'A' && h[i] <= 'F') ? h[i] - 'A' + 'a' : h[i];
	return CTL_OK;
bad:
	ctl_err("token revoke: give a token id (a number, as \"token list\" shows) or at "
	    "least 8 hex digits of its hash (\"sha256:\" is optional)");
	return CTL_USAGE;
}

/* A hash prefix that names exactly one token: its id in id. */
static int
resolve_prefix(struct ctl *ctl, const char *prefix, char *id, size_t idlen)
{
	const char *params[] = { prefix };
	PGresult *res;
	char list[128] = "";
	int n;

	if ((res = ctl_db_exec(ctl, "token revoke", sql_match, 1, params, NULL)) == NULL)
		return CTL_FAIL;
	n = PQntuples(res);
	if (n == 1)
		snprintf(id, idlen, "%s", PQgetvalue(res, 0, 0));
	else if (n == 0)
		ctl_err("no token has a hash that starts with %s", prefix);
	else {
		for (int i = 0; i < n && i < 5; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
			    i > 0 ? ", " : "", PQgetvalue(res, i, 0));
		ctl_err("%s matches several tokens (ids %s%s): give more of the hash or the id",
		    prefix, list, n > 5 ? ", ..." : "");
	}
	PQclear(res);
	return n == 1 ? CTL_OK : CTL_FAIL;
}

static int
token_revoke(struct ctl *ctl, const char *arg)
{
	char id[32], prefix[TOKEN_HASH_LEN + 1];
	const char *params[1];
	PGresult *res;
	int rc;

	if (parse_token_ref(arg, id, sizeof(id), prefix, sizeof(prefix)) != CTL_OK)
		return CTL_USAGE;
	if (ctl->url == NULL)
		return ctl_needs_database("token revoke", "in standalone mode remove the token's "
		    "hash from tokilake.yaml and reload tokilake (SIGHUP)");
	if (ctl_db_open(ctl) != CTL_OK)
		return CTL_FAIL;
	if (prefix[0] != '\0' && resolve_prefix(ctl, prefix, id, sizeof(id)) != CTL_OK)
		return CTL_FAIL;
	params[0] = id;
	if ((res = ctl_db_exec(ctl, "token revoke", sql_revoke, 1, params, NULL)) == NULL)
		return CTL_FAIL;
	if (PQntuples(res) == 1) {
		printf("token %s of namespace %s revoked; its agents are disconnected\n", id,
		    PQgetvalue(res, 0, 0));
		PQclear(res);
		return CTL_OK;
	}
	PQclear(res);
	if ((res = ctl_db_exec(ctl, "token revoke", sql_token_state, 1, params, NULL)) == NULL)
		return CTL_FAIL;
	if (PQntuples(res) == 0) {
		ctl_err("no token with id %s", id);
		rc = CTL_FAIL;
	} else {
		printf("token %s of namespace %s was already revoked (at %s)\n", id,
		    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
		rc = CTL_OK;
	}
	PQclear(res);
	return rc;
}

static int
token_list(struct ctl *ctl, const char *ns)
{
	const char *params[] = { ns };

	if (ns != NULL && ctl_check_namespace(ns) != CTL_OK)
		return CTL_USAGE;
	if (ctl->url == NULL)
		return ctl_needs_database("token list",
		    "in standalone mode the token hashes are those of tokilake.yaml");
	if (ctl_db_open(ctl) != CTL_OK)
		return CTL_FAIL;
	return ctl_print_query(ctl, "token list", sql_list, 1, params);
}

int
ctl_token(struct ctl *ctl, int argc, char **argv)
{
	static const char synopsis[] = "token new NAMESPACE [--label LABEL] | "
	    "token list [NAMESPACE] | token revoke ID | HASH-PREFIX";

	if (argc == 3 && strcmp(argv[1], "new") == 0)
		return token_new(ctl, argv[2]);
	if ((argc == 2 || argc == 3) && strcmp(argv[1], "list") == 0)
		return token_list(ctl, argc == 3 ? argv[2] : NULL);
	if (argc == 3 && strcmp(argv[1], "revoke") == 0)
		return token_revoke(ctl, argv[2]);
	return ctl_usage(synopsis);
}
