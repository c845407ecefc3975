/*
 * cfg_table: config files described by tables of keys.
 *
 * Each block of a YAML config is an array of struct cfg_key, ended by an
 * entry with name == NULL. A key says its type, where its value lives in
 * the C struct (offset and size), its bounds, its default (written in
 * config syntax and parsed by the same code as the file, so defaults and
 * files cannot disagree), and whether a reload may change it. From one
 * table we get: defaults, parsing with "FILE:LINE: dotted.key: reason"
 * errors, the effective config printed as YAML, the reload check, freeing
 * and the list of keys the documentation test compares against.
 *
 * Strings are owned by the struct (freed by cfg_free; CFG_SECRET ones are
 * wiped first). Lists of strings are (char **, size_t) pairs; lists of
 * blocks are (struct X *, size_t) pairs of elem_size-sized elements.
 */
#ifndef TL_CFG_TABLE_H
#define TL_CFG_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "yaml_tree.h"

enum cfg_type {
	CFG_STRING,   /* char *; NULL = unset */
	CFG_BOOL,     /* int 0/1 */
	CFG_UINT,     /* unsigned integer of any width */
	CFG_DURATION, /* milliseconds, integer of any width */
	CFG_SIZE,     /* bytes, integer of any width */
	CFG_ENUM,     /* int: index in words */
	CFG_LIST,     /* list of strings: char ** at off, size_t at count_off */
	CFG_MAPPING,  /* a nested block: keys in sub, stored in the same struct */
	CFG_BLOCKS,   /* list of blocks: array at off, size_t at count_off */
	CFG_NAMED,    /* mapping name -> block: array at off, size_t at count_off,
	               * each element's char *name at name_off */
};

#define CFG_RELOAD 0x01    /* a reload may change it */
#define CFG_SECRET 0x02    /* printed as (set)/(unset), wiped when freed */
#define CFG_REQUIRED 0x04  /* must be present (in a block element) */

/* Where keys were seen, for errors found after parsing (reload, finish). */
struct cfg_line {
	char *key;
	int line;
};
struct cfg_lines {
	struct cfg_line *v;
	size_t n;
};

struct cfg_ctx {
	const char *path;
	char *err;
	size_t errlen;
	struct cfg_lines *lines; /* may be NULL */
	int defaults;            /* parsing table defaults, not a file */
};

struct cfg_key;

/* Hooks return 0, or -1 after cfg_error(). */
typedef int cfg_parse_fn(struct cfg_ctx *, const struct cfg_key *, const char *dotted,
    const struct ynode *value, void *base);
typedef int cfg_check_fn(struct cfg_ctx *, const char *dotted, const struct ynode *node,
    char *value);
typedef int cfg_done_fn(struct cfg_ctx *, const char *dotted, const struct ynode *node,
    void *elem);
typedef void cfg_print_fn(FILE *, const struct cfg_key *, const void *base);

struct cfg_key {
	const char *name;
	enum cfg_type type;
	unsigned flags;
	size_t off;                /* the value in the base struct */
	size_t size;               /* sizeof the value (numbers) */
	uint64_t min, max;         /* numbers; lists: min = fewest items */
	const char *def;           /* default in config syntax; NULL = unset or empty */
	const char *const *words;  /* CFG_ENUM, NULL-terminated */
	const struct cfg_key *sub; /* CFG_MAPPING, CFG_BLOCKS, CFG_NAMED */
	size_t count_off;          /* CFG_LIST, CFG_BLOCKS, CFG_NAMED */
	size_t elem_size;          /* CFG_BLOCKS, CFG_NAMED */
	size_t name_off;           /* CFG_NAMED */
	const char *shorthand;     /* CFG_BLOCKS: a plain string item sets this key */
	cfg_parse_fn *parse;       /* replaces the type's parser */
	cfg_print_fn *print;       /* replaces the type's printer */
	cfg_check_fn *check;       /* strings, list items, CFG_NAMED names */
	cfg_done_fn *done;         /* CFG_BLOCKS/CFG_NAMED: after each element */
};

#define CFG_FIELD(type, member) .off = offsetof(type, member), .size = sizeof(((type *)0)->member)

/* "FILE:LINE: dotted: reason" into ctx->err; always returns -1. */
int cfg_error(struct cfg_ctx *ctx, int line, const char *dotted, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Set every key of table to its default (base must be zeroed first). */
void cfg_defaults(const struct cfg_key *table, void *base);
/* Parse a mapping node over the defaults already in base. */
int cfg_parse_block(struct cfg_ctx *ctx, const struct cfg_key *table, const char *prefix,
    const struct ynode *map, void *base);
/* Parse one value: the key's parse hook if it has one, else cfg_parse_typed(). */
int cfg_parse_value(struct cfg_ctx *ctx, const struct cfg_key *key, const char *dotted,
    const struct ynode *value, void *base);
/* Parse one value by the key's type and bounds only (for parse hooks). */
int cfg_parse_typed(struct cfg_ctx *ctx, const struct cfg_key *key, const char *dotted,
    const struct ynode *value, void *base);
void cfg_free(const struct cfg_key *table, void *base);

/* Print the block as YAML at the given indent (spaces). */
void cfg_print(FILE *fp, const struct cfg_key *table, const void *base, int indent);
void cfg_print_string(FILE *fp, const char *s); /* double-quoted, or ~ for NULL */

/* 1 if the values of key in a and b are the same. */
int cfg_equal(const struct cfg_key *key, const void *a, const void *b);
/* First key without CFG_RELOAD whose value differs: -1 and err, else 0. */
int cfg_check_reload(struct cfg_ctx *ctx, const struct cfg_key *table, const char *prefix,
    const void *old, const void *new, const char *advice);

/* Call fn for every dotted key ("http.listen.tls.cert", "namespaces.*.tokens"). */
void cfg_walk_keys(const struct cfg_key *table, const char *prefix,
    void (*fn)(const char *dotted, const struct cfg_key *key, void *arg), void *arg);

/* The same, giving only the dotted names (what the docs check needs). */
void cfg_walk_names(const struct cfg_key *table, void (*fn)(const char *dotted, void *arg),
    void *arg);

/* Read a whole file of at most max bytes, NUL-terminated, into *text.
 * -1 with err "FILE: cannot read: reason" (no line: there is none yet). */
int cfg_read_file(const char *path, size_t max, char **text, size_t *len, char *err,
    size_t errlen);

/* The line where dotted (or its nearest parent) was seen; 1 if nowhere. */
int cfg_line(const struct cfg_lines *lines, const char *dotted);
void cfg_lines_free(struct cfg_lines *lines);

#endif
