/*
 * ctl_migrate: db migrate [--dir DIR].
 *
 * The schema is a list of files NNN_name.sql (sql/ in the source tree,
 * installed in DATADIR/sql; TOKILAKE_SQL_DIR or --dir name another
 * directory). A tokilakectl run from its build tree (not installed)
 * takes its own source tree's sql/ by default: a new user trying the
 * README from a build has no DATADIR/sql, or an older one. Migrations
 * that cannot be found or read are exit 1 (CTL_FAIL): the command line
 * was right, the installation is not. They are applied in the order of their numbers, each in
 * its own transaction that first takes pg_advisory_xact_lock(7417): two
 * migrators started at once (two nodes being deployed) wait for each
 * other, and the second finds the version recorded in schema_migrations
 * and skips it. A file is applied whole or not at all, so running the
 * command again after a failure is always safe. The files must not hold
 * BEGIN or COMMIT themselves.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "xmalloc.h"

#define MIGRATION_MAX_SIZE (4 * 1024 * 1024)
#define MIGRATIONS_MAX 1000

struct migration {
	long version;
	char *name; /* the file name without ".sql": "001_initial" */
};

static const char sql_bookkeeping[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY, name text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

/*
 * The directory when neither --dir nor TOKILAKE_SQL_DIR names one: the
 * source tree's sql/ for a binary that runs from the build tree it was
 * built in, else the installed one. TL_BUILDDIR and TL_SRCDIR come from
 * src/ctl/local.mk.
 */
static const char *
default_dir(void)
{
	char exe[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL)
			*slash = '\0';
		if (strcmp(exe, TL_BUILDDIR) == 0)
			return TL_SRCDIR "/sql";
	}
	return DATADIR "/sql";
}

/* "NNN_name.sql": 1 and the version, else 0 (other files are ignored). */
static int
migration_file(const char *file, long *version)
{
	size_t digits = strspn(file, "0123456789"), len = strlen(file);

	if (digits == 0 || digits > 9 || file[digits] != '_' || len < digits + 6 ||
	    strcmp(file + len - 4, ".sql") != 0)
		return 0;
	*version = strtol(file, NULL, 10);
	return 1;
}

static int
by_version(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;

	return (x->version > y->version) - (x->version < y->version);
}

static void
free_migrations(struct migration *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(m[i].name);
	free(m);
}

/* The migrations in dir, sorted. CTL_OK or CTL_FAIL (said why; named
 * says whether the user named dir). */
static int
list_migrations(const char *dir, int named, struct migration **out, size_t *nout)
{
	struct migration *m = NULL;
	struct dirent *de;
	size_t n = 0;
	long version;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		ctl_err("db migrate: cannot open the schema directory %s: %s%s", dir,
		    strerror(errno), named ? "" : " (name it with --dir DIR or TOKILAKE_SQL_DIR: "
		    "it is sql/ in the source tree)");
		return CTL_FAIL;
	}
	while ((de = readdir(d)) != NULL) {
		if (!migration_file(de->d_name, &version))
			continue;
		if (n == MIGRATIONS_MAX) {
			ctl_err("db migrate: more than %d migrations in %s", MIGRATIONS_MAX, dir);
			closedir(d);
			free_migrations(m, n);
			return CTL_FAIL;
		}
		m = xrealloc(m, (n + 1) * sizeof(*m));
		m[n].version = version;
		m[n].name = xstrndup(de->d_name, strlen(de->d_name) - 4);
		n++;
	}
	closedir(d);
	if (n == 0) {
		ctl_err("db migrate: no migration (NNN_name.sql) in %s", dir);
		free(m);
		return CTL_FAIL;
	}
	qsort(m, n, sizeof(*m), by_version);
	for (size_t i = 1; i < n; i++)
		if (m[i].version == m[i - 1].version) {
			ctl_err("db migrate: %s and %s in %s have the same number", m[i - 1].name,
			    m[i].name, dir);
			free_migrations(m, n);
			return CTL_FAIL;
		}
	*out = m;
	*nout = n;
	return CTL_OK;
}

/* The whole file, NUL-terminated; NULL after saying why. */
static char *
read_sql(const char *path)
{
	struct stat st;
	char *text = NULL;
	size_t got;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL || fstat(fileno(fp), &st) != 0) {
		ctl_err("db migrate: cannot read %s: %s", path, strerror(errno));
		goto fail;
	}
	if (st.st_size > MIGRATION_MAX_SIZE) {
		ctl_err("db migrate: %s is larger than %d bytes", path, MIGRATION_MAX_SIZE);
		goto fail;
	}
	text = xmalloc((size_t)st.st_size + 1);
	got = fread(text, 1, (size_t)st.st_size, fp);
	if (got != (size_t)st.st_size || ferror(fp)) {
		ctl_err("db migrate: cannot read %s", path);
		goto fail;
	}
	text[got] = '\0';
	if (strlen(text) != got) {
		ctl_err("db migrate: %s holds a NUL byte", path);
		goto fail;
	}
	fclose(fp);
	return text;
fail:
	if (fp != NULL)
		fclose(fp);
	free(text);
	return NULL;
}

/* The line of a 1-based character position in text, for error messages. */
static int
line_of(const char *text, long position)
{
	int line = 1;

	for (const char *p = text; *p != '\0' && position > 0; p++) {
		if (((unsigned char)*p & 0xc0) != 0x80)
			position--;
		if (*p == '\n' && position > 0)
			line++;
	}
	return line;
}

/* Run the text of a file inside the open transaction. 0 or -1 (said why). */
static int
exec_file(struct ctl *ctl, const char *path, const char *text)
{
	PGresult *res = PQexec(ctl->conn, text);
	const char *msg, *pos;
	int rc = 0;

	if (res == NULL || (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK)) {
		msg = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
		pos = res != NULL ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
		if (msg == NULL)
			msg = PQerrorMessage(ctl->conn);
		if (pos != NULL)
			ctl_err("db migrate: %s:%d: %s", path, line_of(text, atol(pos)), msg);
		else
			ctl_err("db migrate: %s: %s", path, msg);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/* Apply one migration unless it is recorded. 1 applied, 0 skipped, -1 failed. */
static int
apply(struct ctl *ctl, const char *dir, const struct migration *m)
{
	char version[16], path[4096], *text = NULL;
	const char *params[2] = { version, m->name };
	PGresult *res;
	int done;

	snprintf(version, sizeof(version), "%ld", m->version);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.sql", dir, m->name) >= sizeof(path)) {
		ctl_err("db migrate: %s: path too long", dir);
		return -1;
	}
	if (ctl_db_run(ctl, "db migrate", "BEGIN", 0, NULL) != 0)
		return -1;
	if (ctl_db_run(ctl, "db migrate", "SELECT pg_advisory_xact_lock(" CTL_MIGRATE_LOCK ")",
	    0, NULL) != 0 ||
	    ctl_db_run(ctl, "db migrate", sql_bookkeeping, 0, NULL) != 0)
		goto fail;
	res = ctl_db_exec(ctl, "db migrate", "SELECT 1 FROM schema_migrations WHERE version = $1",
	    1, params, NULL);
	if (res == NULL)
		goto fail;
	done = PQntuples(res) > 0;
	PQclear(res);
	if (done) {
		PQclear(PQexec(ctl->conn, "ROLLBACK"));
		return 0;
	}
	if ((text = read_sql(path)) == NULL || exec_file(ctl, path, text) != 0)
		goto fail;
	free(text);
	text = NULL;
	if (ctl_db_run(ctl, "db migrate",
	    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2, params) != 0 ||
	    ctl_db_run(ctl, "db migrate", "COMMIT", 0, NULL) != 0)
		goto fail;
	printf("applied %s\n", m->name);
	fflush(stdout);
	return 1;
fail:
	free(text);
	PQclear(PQexec(ctl->conn, "ROLLBACK"));
	return -1;
}

/* A database newer than our files is worth a warning, not a failure. */
static void
check_newer(struct ctl *ctl, long last)
{
	PGresult *res = ctl_db_exec(ctl, "db migrate", "SELECT max(version) FROM schema_migrations",
	    0, NULL, NULL);

	if (res == NULL)
		return;
	if (!PQgetisnull(res, 0, 0) && atol(PQgetvalue(res, 0, 0)) > last)
		ctl_err("warning: the database has schema version %s, newer than the last "
		    "migration here (%ld): is this tokilakectl older than the nodes?",
		    PQgetvalue(res, 0, 0), last);
	PQclear(res);
}

static int
migrate(struct ctl *ctl)
{
	const char *dir = ctl->sql_dir;
	struct migration *m;
	size_t n, applied = 0;
	int named, r, rc = CTL_OK;

	if (dir == NULL && (dir = getenv("TOKILAKE_SQL_DIR")) != NULL && dir[0] == '\0')
		dir = NULL;
	if ((named = dir != NULL) == 0)
		dir = default_dir();
	if (list_migrations(dir, named, &m, &n) != CTL_OK)
		return CTL_FAIL;
	if (ctl->url == NULL) {
		free_migrations(m, n);
		return ctl_needs_database("db migrate", NULL);
	}
	if (ctl_db_open(ctl) != CTL_OK) {
		free_migrations(m, n);
		return CTL_FAIL;
	}
	for (size_t i = 0; i < n; i++) {
		if ((r = apply(ctl, dir, &m[i])) < 0) {
			rc = CTL_FAIL;
			break;
		}
		applied += (size_t)r;
	}
	if (rc == CTL_OK) {
		check_newer(ctl, m[n - 1].version);
		if (applied == 0)
			printf("up to date (schema version %ld)\n", m[n - 1].version);
	}
	free_migrations(m, n);
	return rc;
}

int
ctl_db(struct ctl *ctl, int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "migrate") == 0)
		return migrate(ctl);
	return ctl_usage("db migrate [--dir DIR]");
}
