/*
 * tokilakectl: the administration tool of a network of tokilake nodes.
 *
 * Each command lives in its own file and gets the words after its name
 * (argv[0] is the command's own name). In PostgreSQL mode it works on
 * the database; in standalone mode (no database configured) the commands
 * that change something print the lines to paste into tokilake.yaml and
 * the others say that they need a database.
 *
 * Exit status, for every command: CTL_OK, CTL_FAIL (the database failed
 * or refused, or the object does not exist), CTL_USAGE (bad command line
 * or configuration, or a command that needs a database in standalone
 * mode). Messages are one line on stderr, prefixed "tokilakectl: ".
 * The database URL is a secret: it is never printed.
 */
#ifndef TL_CTL_H
#define TL_CTL_H

#include <stddef.h>

#include <libpq-fe.h>

#define CTL_OK 0
#define CTL_FAIL 1
#define CTL_USAGE 2

/* The advisory lock every migrator takes (see sql/001_initial.sql). */
#define CTL_MIGRATE_LOCK "7417"

/* The options of "usage" (ctl_usage.c); NULL = not given. */
struct ctl_usage_opts {
	const char *key, *ns, *model, *since, *until, *by, *file;
};

struct ctl {
	char *url;           /* NULL = standalone; a secret */
	PGconn *conn;        /* opened by ctl_db_open() on first use */
	int json;            /* --json */
	const char *label;   /* --label (token new) */
	const char *sql_dir; /* --dir (db migrate) */
	const char *conf_path; /* -c, or the default */
	struct ctl_usage_opts usage;
	int usage_opts;      /* one of them was given */
};

/* ctl_util.c */
void ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Usage of one command, to stderr; returns CTL_USAGE. */
int ctl_usage(const char *synopsis);
/* In standalone mode: say that COMMAND needs a database, return CTL_USAGE. */
int ctl_needs_database(const char *command, const char *hint);
/* A namespace name given on the command line; CTL_OK or CTL_USAGE (said why). */
int ctl_check_namespace(const char *name);

/* ctl_url.c: where the database is: -d, the config file, $DATABASE_URL.
 * CTL_OK with *url (NULL = standalone) or CTL_USAGE after saying why. */
int ctl_database_url(const char *opt_url, const char *conf_path, int conf_given, char **url);

/* ctl_db.c */
/* Connect on first use; CTL_OK or CTL_FAIL (said why). */
int ctl_db_open(struct ctl *ctl);
void ctl_db_close(struct ctl *ctl);
/* One parameterised statement. The result, or NULL after saying
 * "WHAT: reason" (then *sqlstate, if asked, holds the SQLSTATE or ""). */
PGresult *ctl_db_exec(struct ctl *ctl, const char *what, const char *sql, int nparams,
    const char *const *params, char sqlstate[6]);
/* A statement whose result does not matter: 0 or -1 (said why). */
int ctl_db_run(struct ctl *ctl, const char *what, const char *sql, int nparams,
    const char *const *params);

/* ctl_table.c: print the rows of a query, as aligned columns whose
 * headers are the upper-cased column names (NULL shows as "-"), or with
 * --json as one JSON array of objects. CTL_OK or CTL_FAIL. */
int ctl_print_query(struct ctl *ctl, const char *what, const char *sql, int nparams,
    const char *const *params);

/* The commands. */
int ctl_namespace(struct ctl *ctl, int argc, char **argv);
int ctl_token(struct ctl *ctl, int argc, char **argv);
int ctl_agents(struct ctl *ctl, int argc, char **argv);
int ctl_models(struct ctl *ctl, int argc, char **argv);
int ctl_nodes(struct ctl *ctl, int argc, char **argv);
int ctl_db(struct ctl *ctl, int argc, char **argv);
int ctl_usage_cmd(struct ctl *ctl, int argc, char **argv);

/* ctl_yaml.c: standalone mode, a new token for NAMESPACE and the lines
 * of tokilake.yaml that hold its hash (json: one object instead). */
int ctl_print_token_yaml(const char *ns, const char *label, int new_namespace, int json);

#endif
