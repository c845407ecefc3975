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

#include "apikey.h"

#define CTL_OK 0
#define CTL_FAIL 1
#define CTL_USAGE 2

/* The advisory lock every migrator takes (see sql/001_initial.sql). */
#define CTL_MIGRATE_LOCK "7417"

/* key new / key set options (ctl_key.c); NULL = not given. */
enum { KEY_RPM, KEY_TPM, KEY_IN_FLIGHT, KEY_PER_DAY, KEY_PER_MONTH, KEY_NUMS };
struct ctl_key_opts {
	int given;               /* any of them */
	const char *owner, *expires;
	const char *num[KEY_NUMS];
	const char *allow[APIKEY_PATTERNS_MAX + 1]; /* one more to say "too many" */
	size_t nallow;
};
/* Their getopt codes (past every short option) and long options. */
enum { CTL_OPT_OWNER = 0x100, CTL_OPT_ALLOW, CTL_OPT_RPM, CTL_OPT_TPM, CTL_OPT_IN_FLIGHT,
	CTL_OPT_PER_DAY, CTL_OPT_PER_MONTH, CTL_OPT_EXPIRES, CTL_OPT_KEY_LAST = CTL_OPT_EXPIRES };
#define CTL_KEY_LONGOPTS                                                                  \
	{ "owner", required_argument, NULL, CTL_OPT_OWNER },                               \
	{ "allow", required_argument, NULL, CTL_OPT_ALLOW },                               \
	{ "rpm", required_argument, NULL, CTL_OPT_RPM },                                   \
	{ "tpm", required_argument, NULL, CTL_OPT_TPM },                                   \
	{ "max-in-flight", required_argument, NULL, CTL_OPT_IN_FLIGHT },                   \
	{ "tokens-per-day", required_argument, NULL, CTL_OPT_PER_DAY },                    \
	{ "tokens-per-month", required_argument, NULL, CTL_OPT_PER_MONTH },                \
	{ "expires", required_argument, NULL, CTL_OPT_EXPIRES }
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
	struct ctl_key_opts key; /* key new / key set */
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
int ctl_key(struct ctl *ctl, int argc, char **argv);
/* ctl_key.c: take one of the options of CTL_KEY_LONGOPTS. */
void ctl_key_option(struct ctl *ctl, int opt, const char *arg);
int ctl_usage_cmd(struct ctl *ctl, int argc, char **argv);

/* ctl_yaml.c: standalone mode, a new token for NAMESPACE and the lines
 * of tokilake.yaml that hold its hash (json: one object instead). */
int ctl_print_token_yaml(const char *ns, const char *label, int new_namespace, int json);

#endif
