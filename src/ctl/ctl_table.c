/*
 * ctl_table: the rows of a query for people (aligned columns) or for
 * programs (--json).
 *
 * The column names of the query are the headers, so each command's SQL
 * says what it shows. JSON is made by PostgreSQL itself (json_agg over
 * the same query), so quoting, numbers and NULLs are right without a
 * JSON writer here. Cells are labels an operator typed: control
 * characters are shown as '?' so that one row stays one line.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "xmalloc.h"

/* Width on a terminal, counting UTF-8 characters, not bytes. */
static size_t
text_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static const char *
cell(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? "-" : PQgetvalue(res, row, col);
}

static void
put_text(const char *s)
{
	for (; *s != '\0'; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static void
put_row(const char **cells, const size_t *width, int ncols)
{
	for (int c = 0; c < ncols; c++) {
		put_text(cells[c]);
		if (c + 1 < ncols)
			for (size_t w = text_width(cells[c]); w < width[c] + 2; w++)
				putchar(' ');
	}
	putchar('\n');
}

static void
print_table(const PGresult *res)
{
	int ncols = PQnfields(res), nrows = PQntuples(res);
	size_t *width = xcalloc(ncols, sizeof(*width));
	const char **cells = xcalloc(ncols, sizeof(*cells));
	char **headers = xcalloc(ncols, sizeof(*headers));

	for (int c = 0; c < ncols; c++) {
		headers[c] = xstrdup(PQfname(res, c));
		for (char *p = headers[c]; *p != '\0'; p++)
			*p = toupper((unsigned char)*p);
		width[c] = text_width(headers[c]);
		for (int r = 0; r < nrows; r++) {
			size_t w = text_width(cell(res, r, c));
			if (w > width[c])
				width[c] = w;
		}
	}
	put_row((const char **)headers, width, ncols);
	for (int r = 0; r < nrows; r++) {
		for (int c = 0; c < ncols; c++)
			cells[c] = cell(res, r, c);
		put_row(cells, width, ncols);
	}
	for (int c = 0; c < ncols; c++)
		free(headers[c]);
	free(headers);
	free(cells);
	free(width);
}

int
ctl_print_query(struct ctl *ctl, const char *what, const char *sql, int nparams,
    const char *const *params)
{
	static const char pre[] = "SELECT coalesce(json_agg(q), '[]'::json) FROM (";
	static const char post[] = ") q";
	PGresult *res;
	char *json_sql = NULL;

	if (ctl->json) {
		size_t n = sizeof(pre) + strlen(sql) + sizeof(post);
		json_sql = xmalloc(n);
		snprintf(json_sql, n, "%s%s%s", pre, sql, post);
		sql = json_sql;
	}
	res = ctl_db_exec(ctl, what, sql, nparams, params, NULL);
	free(json_sql);
	if (res == NULL)
		return CTL_FAIL;
	if (ctl->json)
		printf("%s\n", PQgetvalue(res, 0, 0));
	else
		print_table(res);
	PQclear(res);
	return fflush(stdout) == 0 ? CTL_OK : CTL_FAIL;
}
