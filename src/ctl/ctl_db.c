/*
 * ctl_db: tokilakectl's one blocking libpq connection.
 *
 * Every statement goes through PQexecParams (values are never spliced
 * into SQL), except the text of a migration file (ctl_migrate.c).
 * Errors are reduced to one line: libpq's messages may span several.
 * The URL is never printed: it may hold a password.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ctl.h"

/* Copy msg into out as one line: newlines become "; ", the end is trimmed. */
static void
one_line(const char *msg, char *out, size_t outlen)
{
	size_t n = 0;

	for (const char *p = msg; *p != '\0' && n + 3 < outlen; p++) {
		if (*p == '\n' || *p == '\r') {
			while (p[1] == '\n' || p[1] == '\r' || p[1] == ' ' || p[1] == '\t')
				p++;
			if (p[1] != '\0' && n > 0) {
				out[n++] = ';';
				out[n++] = ' ';
			}
			continue;
		}
		out[n++] = (*p == '\t') ? ' ' : *p;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

int
ctl_db_open(struct ctl *ctl)
{
	/* ours first, so that the URL can override them (later wins) */
	static const char *const keys[] = { "connect_timeout", "application_name", "dbname", NULL };
	const char *values[] = { "10", "tokilakectl", ctl->url, NULL };
	char msg[512];

	if (ctl->conn != NULL)
		return CTL_OK;
	ctl->conn = PQconnectdbParams(keys, values, 1);
	if (ctl->conn == NULL) {
		ctl_err("cannot connect to the database: out of memory");
		return CTL_FAIL;
	}
	if (PQstatus(ctl->conn) != CONNECTION_OK) {
		one_line(PQerrorMessage(ctl->conn), msg, sizeof(msg));
		ctl_err("cannot connect to the database: %s", msg);
		ctl_db_close(ctl);
		return CTL_FAIL;
	}
	/* "relation already exists, skipping" and the like are not news */
	if (ctl_db_run(ctl, "database setup", "SET client_min_messages TO warning", 0, NULL) != 0) {
		ctl_db_close(ctl);
		return CTL_FAIL;
	}
	return CTL_OK;
}

void
ctl_db_close(struct ctl *ctl)
{
	if (ctl->conn != NULL)
		PQfinish(ctl->conn);
	ctl->conn = NULL;
}

PGresult *
ctl_db_exec(struct ctl *ctl, const char *what, const char *sql, int nparams,
    const char *const *params, char sqlstate[6])
{
	PGresult *res;
	const char *state, *primary;
	char msg[512];

	if (sqlstate != NULL)
		sqlstate[0] = '\0';
	res = PQexecParams(ctl->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (res != NULL &&
	    (PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK))
		return res;
	state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	primary = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	one_line(primary != NULL ? primary : PQerrorMessage(ctl->conn), msg, sizeof(msg));
	if (state != NULL && sqlstate != NULL)
		snprintf(sqlstate, 6, "%s", state);
	if (state != NULL && strcmp(state, "42P01") == 0) /* undefined_table */
		ctl_err("%s: %s (has \"tokilakectl db migrate\" been run on this database?)",
		    what, msg);
	else
		ctl_err("%s: %s", what, msg);
	PQclear(res);
	return NULL;
}

int
ctl_db_run(struct ctl *ctl, const char *what, const char *sql, int nparams,
    const char *const *params)
{
	PGresult *res = ctl_db_exec(ctl, what, sql, nparams, params, NULL);

	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}
