/*
 * cfg_table: see cfg_table.h.
 *
 * Every parse step builds its result aside and swaps it into the struct
 * only when it is complete, so that on error the struct holds either the
 * old value or the new one, never half of one, and cfg_free() is always
 * safe.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg_table.h"
#include "cfg_value.h"
#include "log.h"
#include "xmalloc.h"

#define DOTTED_MAX 512

int
cfg_error(struct cfg_ctx *ctx, int line, const char *dotted, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(ctx->err, ctx->errlen, "%s:%d: %s: %s", ctx->path, line,
	    dotted != NULL && dotted[0] != '\0' ? dotted : YTREE_TOP, msg);
	return -1;
}

/* prefix.name into out (DOTTED_MAX bytes); a key that long is cut, which
 * only shortens an error message. */
static void
join(char *out, const char *prefix, const char *name)
{
	size_t n = 0;

	for (const char *p = prefix; p != NULL && *p != '\0' && n < DOTTED_MAX - 1; p++)
		out[n++] = *p;
	if (n > 0 && n < DOTTED_MAX - 1)
		out[n++] = '.';
	for (const char *p = name; *p != '\0' && n < DOTTED_MAX - 1; p++)
		out[n++] = *p;
	out[n] = '\0';
}

static void
record_line(struct cfg_ctx *ctx, const char *dotted, int line)
{
	struct cfg_lines *l = ctx->lines;

	if (l == NULL)
		return;
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n].key = xstrdup(dotted);
	l->v[l->n++].line = line;
}

int
cfg_line(const struct cfg_lines *lines, const char *dotted)
{
	char key[DOTTED_MAX];

	if (lines == NULL)
		return 1;
	snprintf(key, sizeof(key), "%s", dotted);
	for (;;) {
		char *cut;

		for (size_t i = 0; i < lines->n; i++)
			if (strcmp(lines->v[i].key, key) == 0)
				return lines->v[i].line;
		cut = strrchr(key, '.');
		if (strrchr(key, '[') > cut)
			cut = strrchr(key, '[');
		if (cut == NULL)
			return 1;
		*cut = '\0';
	}
}

void
cfg_lines_free(struct cfg_lines *lines)
{
	if (lines == NULL)
		return;
	for (size_t i = 0; i < lines->n; i++)
		free(lines->v[i].key);
	free(lines->v);
	lines->v = NULL;
	lines->n = 0;
}

int
cfg_read_file(const char *path, size_t max, char **text, size_t *len, char *err, size_t errlen)
{
	size_t cap = 4096, n = 0;
	char *buf;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	buf = xmalloc(cap);
	for (;;) {
		ssize_t r;

		if (n + 1 == cap) {
			if (cap > max + 1) {
				snprintf(err, errlen, "%s: cannot read: larger than %zu bytes",
				    path, max);
				goto fail;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > max) {
		snprintf(err, errlen, "%s: cannot read: larger than %zu bytes", path, max);
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
fail:
	close(fd);
	free(buf);
	return -1;
}

/* Fields by offset. */

static void *
field(void *base, size_t off)
{
	return (char *)base + off;
}

static const void *
cfield(const void *base, size_t off)
{
	return (const char *)base + off;
}

static uint64_t
get_uint(const void *base, const struct cfg_key *k)
{
	const void *p = cfield(base, k->off);

	switch (k->size) {
	case 1:
		return *(const uint8_t *)p;
	case 2:
		return *(const uint16_t *)p;
	case 4:
		return *(const uint32_t *)p;
	case 8:
		return *(const uint64_t *)p;
	}
	fatalx("config key %s: bad field size %zu", k->name, k->size);
}

static void
set_uint(void *base, const struct cfg_key *k, uint64_t v)
{
	void *p = field(base, k->off);

	switch (k->size) {
	case 1:
		*(uint8_t *)p = (uint8_t)v;
		return;
	case 2:
		*(uint16_t *)p = (uint16_t)v;
		return;
	case 4:
		*(uint32_t *)p = (uint32_t)v;
		return;
	case 8:
		*(uint64_t *)p = v;
		return;
	}
	fatalx("config key %s: bad field size %zu", k->name, k->size);
}

static char **
str_field(void *base, const struct cfg_key *k)
{
	return field(base, k->off);
}

static size_t *
count_field(void *base, const struct cfg_key *k)
{
	return field(base, k->count_off);
}

static void
free_string(char **p, int secret)
{
	if (*p != NULL && secret)
		secure_wipe(*p, strlen(*p));
	free(*p);
	*p = NULL;
}

static void
free_list(char **items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(items[i]);
	free(items);
}

static void
free_elems(const struct cfg_key *k, char *elems, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *e = elems + i * k->elem_size;
		cfg_free(k->sub, e);
		if (k->type == CFG_NAMED)
			free(*(char **)(e + k->name_off));
	}
	free(elems);
}

void
cfg_free(const struct cfg_key *table, void *base)
{
	for (const struct cfg_key *k = table; k->name != NULL; k++) {
		switch (k->type) {
		case CFG_STRING:
			free_string(str_field(base, k), k->flags & CFG_SECRET);
			break;
		case CFG_LIST:
			free_list(*(char ***)field(base, k->off), *count_field(base, k));
			*(char ***)field(base, k->off) = NULL;
			*count_field(base, k) = 0;
			break;
		case CFG_MAPPING:
			cfg_free(k->sub, base);
			break;
		case CFG_BLOCKS:
		case CFG_NAMED:
			free_elems(k, *(char **)field(base, k->off), *count_field(base, k));
			*(char **)field(base, k->off) = NULL;
			*count_field(base, k) = 0;
			break;
		default:
			break;
		}
	}
}

/* Scalars. */

static const char *
type_desc(const struct cfg_key *k)
{
	switch (k->type) {
	case CFG_STRING:
		return "a string";
	case CFG_BOOL:
		return "true or false";
	case CFG_UINT:
		return "a number";
	case CFG_DURATION:
		return "a duration";
	case CFG_SIZE:
		return "a size";
	case CFG_ENUM:
		return "one word";
	case CFG_LIST:
	case CFG_BLOCKS:
		return "a list";
	case CFG_MAPPING:
	case CFG_NAMED:
		return "a mapping of keys";
	}
	return "?";
}

static void
format_bound(const struct cfg_key *k, uint64_t v, char *out, size_t outlen)
{
	if (k->type == CFG_DURATION)
		cfg_format_duration(v, out, outlen);
	else if (k->type == CFG_SIZE)
		cfg_format_size(v, out, outlen);
	else
		snprintf(out, outlen, "%llu", (unsigned long long)v);
}

static int
bounds_error(struct cfg_ctx *ctx, const struct cfg_key *k, const char *dotted, int line)
{
	char lo[32], hi[32];

	format_bound(k, k->min, lo, sizeof(lo));
	format_bound(k, k->max, hi, sizeof(hi));
	if (k->type == CFG_UINT)
		return cfg_error(ctx, line, dotted, "must be a number between %s and %s", lo, hi);
	return cfg_error(ctx, line, dotted, "must be between %s and %s", lo, hi);
}

static int
parse_number(struct cfg_ctx *ctx, const struct cfg_key *k, const char *dotted,
    const struct ynode *v, void *base)
{
	const char *s = v->u.scalar.s;
	uint64_t n;
	int r;

	if (k->type == CFG_DURATION)
		r = cfg_parse_duration(s, &n);
	else if (k->type == CFG_SIZE)
		r = cfg_parse_size(s, &n);
	else
		r = cfg_parse_uint(s, &n);
	if (r == -1 && k->type == CFG_DURATION)
		return cfg_error(ctx, v->line, dotted,
		    "must be a duration such as 500ms, 10s, 5m or 1h (a bare number is seconds)");
	if (r == -1 && k->type == CFG_SIZE)
		return cfg_error(ctx, v->line, dotted,
		    "must be a size such as 512, 64KiB, 16MiB or 1GiB");
	if (r == -1 || n < k->min || n > k->max)
		return bounds_error(ctx, k, dotted, v->line);
	set_uint(base, k, n);
	return 0;
}

static int
parse_enum(struct cfg_ctx *ctx, const struct cfg_key *k, const char *dotted,
    const struct ynode *v, void *base)
{
	char words[256];
	size_t n = 0;

	for (int i = 0; k->words[i] != NULL; i++)
		if (strcmp(v->u.scalar.s, k->words[i]) == 0) {
			*(int *)field(base, k->off) = i;
			return 0;
		}
	words[0] = '\0';
	for (int i = 0; k->words[i] != NULL && n < sizeof(words); i++) {
		int w = snprintf(words + n, sizeof(words) - n, "%s%s", i ? ", " : "", k->words[i]);
		if (w > 0)
			n += (size_t)w;
	}
	return cfg_error(ctx, v->line, dotted, "must be one of %s", words);
}

static int
parse_string(struct cfg_ctx *ctx, const struct cfg_key *k, const char *dotted,
    const struct ynode *v, void *base)
{
	char **dst = str_field(base, k);
	char *copy;

	if (ynode_is_null(v) || v->u.scalar.len == 0) {
		if (k->def != NULL || (k->flags & CFG_REQUIRED))
			return cfg_error(ctx, v->line, dotted, "must not be empty");
		free_string(dst, k->flags & CFG_SECRET);
		return 0;
	}
	copy = xstrdup(v->u.scalar.s);
	if (k->check != NULL && k->check(ctx, dotted, v, copy) == -1) {
		free_string(&copy, k->flags & CFG_SECRET);
		return -1;
	}
	free_string(dst, k->flags & CFG_SECRET);
	*dst = copy;
	return 0;
}

static int
parse_scalar(struct cfg_ctx *ctx, const struct cfg_key *k, const char *dotted,
    const struct ynode *v, void *base)
{
	int b;

	if (v->type != YNODE_SCALAR)
		return cfg_error(ctx, v->line, dotted, "must be %s, not %s", type_desc(k),
		    ynode_type_name(v->type));
	if (strlen(v->u.scalar.s) != v->u.scalar.len)
		return cfg_error(ctx, v->line, dotted, "must not contain NUL bytes");
	if (k->type == CFG_STRING)
		return parse_string(ctx, k, dotted, v, base);
	if (ynode_is_null(v))
		return cfg_error(ctx, v->line, dotted, "needs a value (%s)", type_desc(k));
	switch (k->type) {
	case CFG_BOOL:
		if (cfg_parse_bool(v->u.scalar.s, &b) == -1)
			return cfg_error(ctx, v->line, dotted, "must be true or false");
		*(int *)field(base, k->off) = b;
		return 0;
	case CFG_ENUM:
		return parse_enum(ctx, k, dotted, v, base);
	default:
		return parse_number(ctx, k, dotted, v, base);
	}
}

/* Collections. */

static int
too_few(struct cfg_ctx *ctx, const struct cfg_key *k, const char *dotted, int line, size_t n)
{
	if (n >= k->min)
		return 0;
	if (k->min == 1)
		return cfg_error(ctx, line, dotted, "must not be empty");
	return cfg_error(ctx, line, dotted, "needs at least %llu entries",
	    (unsigned long long)k->min);
}

static int
parse_list(struct cfg_ctx *ctx, const struct cfg_key *k, const char *dotted,
    const struct ynode *v, void *base)
{
	char item_key[DOTTED_MAX];
	char **items = NULL;
	size_t n = 0;

	if (v->type == YNODE_SEQUENCE) {
		items = xcalloc(v->u.seq.n, sizeof(*items));
		for (; n < v->u.seq.n; n++) {
			const struct ynode *it = v->u.seq.items[n];

			snprintf(item_key, sizeof(item_key), "%s[%zu]", dotted, n);
			if (it->type != YNODE_SCALAR || ynode_is_null(it) ||
			    it->u.scalar.len == 0 || strlen(it->u.scalar.s) != it->u.scalar.len) {
				cfg_error(ctx, it->line, item_key, "must be a non-empty string");
				goto fail;
			}
			items[n] = xstrdup(it->u.scalar.s);
			if (k->check != NULL && k->check(ctx, item_key, it, items[n]) == -1) {
				n++;
				goto fail;
			}
		}
	} else if (!ynode_is_null(v))
		return cfg_error(ctx, v->line, dotted, "must be a list, not %s",
		    ynode_type_name(v->type));
	if (too_few(ctx, k, dotted, v->line, n) == -1)
		goto fail;
	free_list(*(char ***)field(base, k->off), *count_field(base, k));
	*(char ***)field(base, k->off) = items;
	*count_field(base, k) = n;
	return 0;
fail:
	free_list(items, n);
	return -1;
}

static const struct cfg_key *
find_key(const struct cfg_key *table, const char *name)
{
	for (const struct cfg_key *k = table; k->name != NULL; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

/* Parse map (a mapping or null) into base; line is blamed for missing keys. */
static int
parse_block_at(struct cfg_ctx *ctx, const struct cfg_key *table, const char *prefix,
    const struct ynode *map, int line, void *base)
{
	char dotted[DOTTED_MAX];

	if (map->type != YNODE_MAPPING && !ynode_is_null(map))
		return cfg_error(ctx, map->line, prefix, "must be a mapping of keys, not %s",
		    ynode_type_name(map->type));
	for (size_t i = 0; map->type == YNODE_MAPPING && i < map->u.map.n; i++) {
		const struct ypair *p = &map->u.map.pairs[i];
		const struct cfg_key *k = find_key(table, p->key->u.scalar.s);

		join(dotted, prefix, p->key->u.scalar.s);
		if (k == NULL)
			return cfg_error(ctx, p->key->line, dotted, "unknown key");
		record_line(ctx, dotted, p->key->line);
		if (cfg_parse_value(ctx, k, dotted, p->value, base) == -1)
			return -1;
	}
	for (const struct cfg_key *k = table; k->name != NULL; k++)
		if ((k->flags & CFG_REQUIRED) && ynode_get(map, k->name) == NULL) {
			join(dotted, prefix, k->name);
			return cfg_error(ctx, line, dotted, "is required");
		}
	return 0;
}

int
cfg_parse_block(struct cfg_ctx *ctx, const struct cfg_key *table, const char *prefix,
    const struct ynode *map, void *base)
{
	return parse_block_at(ctx, table, prefix, map, map->line, base);
}

static int
parse_blocks(struct cfg_ctx *ctx, const struct cfg_key *k, const char *dotted,
    const struct ynode *v, void *base)
{
	char item_key[DOTTED_MAX];
	char *elems = NULL;
	size_t n = 0;

	if (v->type == YNODE_SEQUENCE) {
		elems = xcalloc(v->u.seq.n, k->elem_size);
		for (; n < v->u.seq.n; n++) {
			const struct ynode *it = v->u.seq.items[n];
			char *e = elems + n * k->elem_size;
			int r;

			snprintf(item_key, sizeof(item_key), "%s[%zu]", dotted, n);
			record_line(ctx, item_key, it->line);
			cfg_defaults(k->sub, e);
			if (it->type == YNODE_SCALAR && k->shorthand != NULL && !ynode_is_null(it))
				r = cfg_parse_value(ctx, find_key(k->sub, k->shorthand), item_key,
				    it, e);
			else if (it->type == YNODE_MAPPING)
				r = parse_block_at(ctx, k->sub, item_key, it, it->line, e);
			else if (k->shorthand != NULL)
				r = cfg_error(ctx, it->line, item_key,
				    "must be a string or a mapping of keys, not %s",
				    ynode_is_null(it) ? "empty" : ynode_type_name(it->type));
			else
				r = cfg_error(ctx, it->line, item_key,
				    "must be a mapping of keys, not %s",
				    ynode_is_null(it) ? "empty" : ynode_type_name(it->type));
			if (r == 0 && k->done != NULL)
				r = k->done(ctx, item_key, it, e);
			if (r == -1) {
				n++;
				goto fail;
			}
		}
	} else if (!ynode_is_null(v))
		return cfg_error(ctx, v->line, dotted, "must be a list, not %s",
		    ynode_type_name(v->type));
	if (too_few(ctx, k, dotted, v->line, n) == -1)
		goto fail;
	free_elems(k, *(char **)field(base, k->off), *count_field(base, k));
	*(char **)field(base, k->off) = elems;
	*count_field(base, k) = n;
	return 0;
fail:
	free_elems(k, elems, n);
	return -1;
}

static int
parse_named(struct cfg_ctx *ctx, const struct cfg_key *k, const char *dotted,
    const struct ynode *v, void *base)
{
	char item_key[DOTTED_MAX];
	char *elems = NULL;
	size_t n = 0;

	if (v->type == YNODE_MAPPING) {
		elems = xcalloc(v->u.map.n, k->elem_size);
		for (; n < v->u.map.n; n++) {
			const struct ypair *p = &v->u.map.pairs[n];
			char *e = elems + n * k->elem_size;
			char *name = xstrdup(p->key->u.scalar.s);
			int r = 0;

			*(char **)(e + k->name_off) = name;
			join(item_key, dotted, name);
			record_line(ctx, item_key, p->key->line);
			cfg_defaults(k->sub, e);
			if (k->check != NULL)
				r = k->check(ctx, item_key, p->key, name);
			if (r == 0)
				r = parse_block_at(ctx, k->sub, item_key, p->value, p->key->line,
				    e);
			if (r == 0 && k->done != NULL)
				r = k->done(ctx, item_key, p->key, e);
			if (r == -1) {
				n++;
				goto fail;
			}
		}
	} else if (!ynode_is_null(v))
		return cfg_error(ctx, v->line, dotted, "must be a mapping of keys, not %s",
		    ynode_type_name(v->type));
	if (too_few(ctx, k, dotted, v->line, n) == -1)
		goto fail;
	free_elems(k, *(char **)field(base, k->off), *count_field(base, k));
	*(char **)field(base, k->off) = elems;
	*count_field(base, k) = n;
	return 0;
fail:
	free_elems(k, elems, n);
	return -1;
}

int
cfg_parse_typed(struct cfg_ctx *ctx, const struct cfg_key *k, const char *dotted,
    const struct ynode *v, void *base)
{
	switch (k->type) {
	case CFG_LIST:
		return parse_list(ctx, k, dotted, v, base);
	case CFG_MAPPING:
		return cfg_parse_block(ctx, k->sub, dotted, v, base);
	case CFG_BLOCKS:
		return parse_blocks(ctx, k, dotted, v, base);
	case CFG_NAMED:
		return parse_named(ctx, k, dotted, v, base);
	default:
		return parse_scalar(ctx, k, dotted, v, base);
	}
}

int
cfg_parse_value(struct cfg_ctx *ctx, const struct cfg_key *k, const char *dotted,
    const struct ynode *v, void *base)
{
	if (k->parse != NULL)
		return k->parse(ctx, k, dotted, v, base);
	return cfg_parse_typed(ctx, k, dotted, v, base);
}

void
cfg_defaults(const struct cfg_key *table, void *base)
{
	for (const struct cfg_key *k = table; k->name != NULL; k++) {
		struct ynode item = { .type = YNODE_SCALAR }, list = { .type = YNODE_SEQUENCE };
		struct ynode *items[1] = { &item };
		struct cfg_ctx ctx;
		char err[512];

		if (k->type == CFG_MAPPING) {
			cfg_defaults(k->sub, base);
			continue;
		}
		if (k->def == NULL)
			continue;
		item.u.scalar.s = (char *)k->def;
		item.u.scalar.len = strlen(k->def);
		item.u.scalar.plain = 1;
		list.u.seq.items = items;
		list.u.seq.n = 1;
		ctx = (struct cfg_ctx){ .path = "(defaults)", .err = err, .errlen = sizeof(err),
			.defaults = 1 };
		if (cfg_parse_value(&ctx, k, k->name, k->type == CFG_LIST || k->type == CFG_BLOCKS ?
		    &list : &item, base) == -1)
			fatalx("bad default in config table: %s", err);
	}
}

/* Printing. */

void
cfg_print_string(FILE *fp, const char *s)
{
	if (s == NULL) {
		fputs("~", fp);
		return;
	}
	fputc('"', fp);
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(fp, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(fp, "\\x%02x", *p);
		else
			fputc(*p, fp);
	}
	fputc('"', fp);
}

/* Indent a line; a pending list dash takes the last two columns. */
static void
pad(FILE *fp, int indent, int *dash)
{
	if (*dash) {
		fprintf(fp, "%*s- ", indent - 2, "");
		*dash = 0;
	} else
		fprintf(fp, "%*s", indent, "");
}

static void print_block(FILE *fp, const struct cfg_key *table, const void *base, int indent,
    int dash);

static void
print_value(FILE *fp, const struct cfg_key *k, const void *base, int indent)
{
	char buf[64];
	size_t n;
	int dash;

	if (k->print != NULL) {
		k->print(fp, k, base);
		return;
	}
	switch (k->type) {
	case CFG_STRING: {
		const char *s = *(char *const *)cfield(base, k->off);
		if (k->flags & CFG_SECRET)
			fputs(s != NULL ? " (set)" : " (unset)", fp);
		else {
			fputc(' ', fp);
			cfg_print_string(fp, s);
		}
		fputc('\n', fp);
		return;
	}
	case CFG_BOOL:
		fprintf(fp, " %s\n", *(const int *)cfield(base, k->off) ? "true" : "false");
		return;
	case CFG_ENUM:
		fprintf(fp, " %s\n", k->words[*(const int *)cfield(base, k->off)]);
		return;
	case CFG_UINT:
	case CFG_DURATION:
	case CFG_SIZE:
		format_bound(k, get_uint(base, k), buf, sizeof(buf));
		fprintf(fp, " %s\n", buf);
		return;
	case CFG_MAPPING:
		fputc('\n', fp);
		print_block(fp, k->sub, base, indent + 2, 0);
		return;
	default:
		break;
	}
	n = *(const size_t *)cfield(base, k->count_off);
	if (n == 0) {
		fputs(k->type == CFG_NAMED ? " {}\n" : " []\n", fp);
		return;
	}
	fputc('\n', fp);
	for (size_t i = 0; i < n; i++) {
		if (k->type == CFG_LIST) {
			fprintf(fp, "%*s- ", indent + 2, "");
			cfg_print_string(fp, (*(char **const *)cfield(base, k->off))[i]);
			fputc('\n', fp);
			continue;
		}
		const char *e = *(char *const *)cfield(base, k->off) + i * k->elem_size;
		if (k->type == CFG_BLOCKS) {
			print_block(fp, k->sub, e, indent + 4, 1);
			continue;
		}
		dash = 0;
		pad(fp, indent + 2, &dash);
		cfg_print_string(fp, *(char *const *)(e + k->name_off));
		fputs(":\n", fp);
		print_block(fp, k->sub, e, indent + 4, 0);
	}
}

static void
print_block(FILE *fp, const struct cfg_key *table, const void *base, int indent, int dash)
{
	for (const struct cfg_key *k = table; k->name != NULL; k++) {
		pad(fp, indent, &dash);
		fprintf(fp, "%s:", k->name);
		print_value(fp, k, base, indent);
	}
}

void
cfg_print(FILE *fp, const struct cfg_key *table, const void *base, int indent)
{
	print_block(fp, table, base, indent, 0);
}

/* Comparing, for reloads. */

static int
str_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
block_equal(const struct cfg_key *table, const void *a, const void *b)
{
	for (const struct cfg_key *k = table; k->name != NULL; k++)
		if (!cfg_equal(k, a, b))
			return 0;
	return 1;
}

int
cfg_equal(const struct cfg_key *k, const void *a, const void *b)
{
	size_t n;

	switch (k->type) {
	case CFG_STRING:
		return str_equal(*(char *const *)cfield(a, k->off),
		    *(char *const *)cfield(b, k->off));
	case CFG_BOOL:
	case CFG_ENUM:
		return *(const int *)cfield(a, k->off) == *(const int *)cfield(b, k->off);
	case CFG_UINT:
	case CFG_DURATION:
	case CFG_SIZE:
		return get_uint(a, k) == get_uint(b, k);
	case CFG_MAPPING:
		return block_equal(k->sub, a, b);
	default:
		break;
	}
	n = *(const size_t *)cfield(a, k->count_off);
	if (n != *(const size_t *)cfield(b, k->count_off))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (k->type == CFG_LIST) {
			if (!str_equal((*(char **const *)cfield(a, k->off))[i],
			    (*(char **const *)cfield(b, k->off))[i]))
				return 0;
			continue;
		}
		const char *ea = *(char *const *)cfield(a, k->off) + i * k->elem_size;
		const char *eb = *(char *const *)cfield(b, k->off) + i * k->elem_size;
		if (k->type == CFG_NAMED &&
		    !str_equal(*(char *const *)(ea + k->name_off),
		    *(char *const *)(eb + k->name_off)))
			return 0;
		if (!block_equal(k->sub, ea, eb))
			return 0;
	}
	return 1;
}

int
cfg_check_reload(struct cfg_ctx *ctx, const struct cfg_key *table, const char *prefix,
    const void *old, const void *new, const char *advice)
{
	char dotted[DOTTED_MAX];

	for (const struct cfg_key *k = table; k->name != NULL; k++) {
		join(dotted, prefix, k->name);
		if (k->type == CFG_MAPPING) {
			if (cfg_check_reload(ctx, k->sub, dotted, old, new, advice) == -1)
				return -1;
		} else if (!(k->flags & CFG_RELOAD) && !cfg_equal(k, old, new))
			return cfg_error(ctx, cfg_line(ctx->lines, dotted), dotted,
			    "cannot change on reload; %s", advice);
	}
	return 0;
}

void
cfg_walk_keys(const struct cfg_key *table, const char *prefix,
    void (*fn)(const char *dotted, const struct cfg_key *key, void *arg), void *arg)
{
	char dotted[DOTTED_MAX], named[DOTTED_MAX];

	for (const struct cfg_key *k = table; k->name != NULL; k++) {
		join(dotted, prefix, k->name);
		fn(dotted, k, arg);
		if (k->type == CFG_MAPPING || k->type == CFG_BLOCKS)
			cfg_walk_keys(k->sub, dotted, fn, arg);
		else if (k->type == CFG_NAMED) {
			join(named, dotted, "*");
			cfg_walk_keys(k->sub, named, fn, arg);
		}
	}
}

struct names_arg {
	void (*fn)(const char *, void *);
	void *arg;
};

static void
name_cb(const char *dotted, const struct cfg_key *k, void *arg)
{
	struct names_arg *a = arg;

	(void)k;
	a->fn(dotted, a->arg);
}

void
cfg_walk_names(const struct cfg_key *table, void (*fn)(const char *dotted, void *arg), void *arg)
{
	struct names_arg a = { fn, arg };

	cfg_walk_keys(table, "", name_cb, &a);
}
