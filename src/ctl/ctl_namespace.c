/*
 * ctl_namespace: namespace add NAME | list | disable NAME | enable NAME.
 *
 * A change and its line in events are one statement (a CTE), so they
 * commit together; the triggers of sql/001_initial.sql announce it to
 * every node. A namespace is disabled, never deleted: its tokens and its
 * history stay, and every node disconnects its agents at once. Enabling
 * it again lets its agents (with tokens not revoked) link again.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ctl.h"

static const char sql_add[] =
    "WITH n AS (INSERT INTO namespaces (name) VALUES ($1)"
    "  ON CONFLICT (name) DO NOTHING RETURNING name)"
    " INSERT INTO events (namespace, kind) SELECT name, 'namespace_added' FROM n"
    " RETURNING namespace";

static const char sql_disable[] =
    "WITH n AS (UPDATE namespaces SET disabled_at = now()"
    "  WHERE name = $1 AND disabled_at IS NULL RETURNING name)"
    " INSERT INTO events (namespace, kind) SELECT name, 'namespace_disabled' FROM n"
    " RETURNING namespace";

static const char sql_enable[] =
    "WITH n AS (UPDATE namespaces SET disabled_at = NULL"
    "  WHERE name = $1 AND disabled_at IS NOT NULL RETURNING name)"
    " INSERT INTO events (namespace, kind) SELECT name, 'namespace_enabled' FROM n"
    " RETURNING namespace";

static const char sql_state[] =
    "SELECT date_trunc('second', disabled_at) FROM namespaces WHERE name = $1";

static const char sql_list[] =
    "SELECT n.name, date_trunc('second', n.created_at) AS created,"
    "  date_trunc('second', n.disabled_at) AS disabled,"
    "  (SELECT count(*) FROM namespace_tokens t"
    "    WHERE t.namespace = n.name AND t.revoked_at IS NULL) AS tokens,"
    "  (SELECT count(*) FROM agents a WHERE a.namespace = n.name) AS agents"
    " FROM namespaces n ORDER BY n.name";

/* After a change matched no row: why. CTL_FAIL (no such namespace, or
 * the query failed) or CTL_OK with *disabled set to "" or the time. */
static int
namespace_state(struct ctl *ctl, const char *name, char *disabled, size_t len)
{
	const char *params[] = { name };
	PGresult *res;

	if ((res = ctl_db_exec(ctl, "namespace", sql_state, 1, params, NULL)) == NULL)
		return CTL_FAIL;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return CTL_FAIL;
	}
	snprintf(disabled, len, "%s", PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0));
	PQclear(res);
	return CTL_OK;
}

static int
namespace_add(struct ctl *ctl, const char *name)
{
	const char *params[] = { name };
	char disabled[64];
	PGresult *res;
	int added;

	if (ctl_check_namespace(name) != CTL_OK)
		return CTL_USAGE;
	if (ctl->url == NULL)
		return ctl_print_token_yaml(name, NULL, 1, ctl->json);
	if (ctl_db_open(ctl) != CTL_OK)
		return CTL_FAIL;
	if ((res = ctl_db_exec(ctl, "namespace add", sql_add, 1, params, NULL)) == NULL)
		return CTL_FAIL;
	added = PQntuples(res) == 1;
	PQclear(res);
	if (added) {
		printf("namespace %s added; make a token for its agents with: "
		    "tokilakectl token new %s\n", name, name);
		return CTL_OK;
	}
	if (namespace_state(ctl, name, disabled, sizeof(disabled)) != CTL_OK)
		ctl_err("namespace %s: could not be added", name);
	else if (disabled[0] != '\0')
		ctl_err("namespace %s already exists, disabled since %s", name, disabled);
	else
		ctl_err("namespace %s already exists", name);
	return CTL_FAIL;
}

/* disable and enable: the same steps, their own statement and words */
struct switch_op {
	const char *what;       /* "namespace disable" */
	const char *sql;
	const char *done;       /* printf format, name */
	const char *standalone; /* hint in standalone mode */
	int disabling;
};

static const struct switch_op op_disable = {
	"namespace disable", sql_disable, "namespace %s disabled; its agents are disconnected\n",
	"in standalone mode remove the namespace from tokilake.yaml and reload tokilake (SIGHUP)", 1,
};
static const struct switch_op op_enable = {
	"namespace enable", sql_enable, "namespace %s enabled; its agents may link again\n",
	"in standalone mode add the namespace to tokilake.yaml and reload tokilake (SIGHUP)", 0,
};

static int
namespace_switch(struct ctl *ctl, const char *name, const struct switch_op *op)
{
	const char *params[] = { name };
	char disabled[64];
	PGresult *res;
	int done;

	if (ctl_check_namespace(name) != CTL_OK)
		return CTL_USAGE;
	if (ctl->url == NULL)
		return ctl_needs_database(op->what, op->standalone);
	if (ctl_db_open(ctl) != CTL_OK)
		return CTL_FAIL;
	if ((res = ctl_db_exec(ctl, op->what, op->sql, 1, params, NULL)) == NULL)
		return CTL_FAIL;
	done = PQntuples(res) == 1;
	PQclear(res);
	if (done) {
		printf(op->done, name);
		return CTL_OK;
	}
	/* nothing changed: say why */
	if (namespace_state(ctl, name, disabled, sizeof(disabled)) != CTL_OK) {
		ctl_err("no namespace %s", name);
		return CTL_FAIL;
	}
	if (op->disabling)
		printf("namespace %s was already disabled (since %s)\n", name, disabled);
	else
		printf("namespace %s was not disabled\n", name);
	return CTL_OK;
}

int
ctl_namespace(struct ctl *ctl, int argc, char **argv)
{
	static const char synopsis[] = "namespace add NAME | namespace list | "
	    "namespace disable NAME | namespace enable NAME";

	if (argc == 3 && strcmp(argv[1], "add") == 0)
		return namespace_add(ctl, argv[2]);
	if (argc == 3 && strcmp(argv[1], "disable") == 0)
		return namespace_switch(ctl, argv[2], &op_disable);
	if (argc == 3 && strcmp(argv[1], "enable") == 0)
		return namespace_switch(ctl, argv[2], &op_enable);
	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		if (ctl->url == NULL)
			return ctl_needs_database("namespace list",
			    "in standalone mode the namespaces are those of tokilake.yaml");
		if (ctl_db_open(ctl) != CTL_OK)
			return CTL_FAIL;
		return ctl_print_query(ctl, "namespace list", sql_list, 0, NULL);
	}
	return ctl_usage(synopsis);
}
