/*
 * yaml_tree: a YAML document read with libyaml into a small tree of
 * nodes that remember their line, so that errors found later, while the
 * values are checked, can still name the line.
 *
 * Only what a config file needs is accepted: one document whose nodes
 * are scalars, sequences and mappings with scalar keys. Anchors,
 * aliases, explicit tags, several documents, duplicate keys and nesting
 * deeper than YTREE_MAX_DEPTH are errors. Errors have the same shape as
 * every config error: "FILE:LINE: dotted.key: reason", where the key is
 * the path to the place of the problem, or "(top level)".
 *
 * The tree owns all its memory; ytree_free() releases it.
 */
#ifndef TL_YAML_TREE_H
#define TL_YAML_TREE_H

#include <stddef.h>

#define YTREE_MAX_DEPTH 32
#define YTREE_TOP "(top level)" /* the key named by errors about the whole file */

enum ynode_type { YNODE_SCALAR, YNODE_SEQUENCE, YNODE_MAPPING };

struct ynode;

struct ypair {
	struct ynode *key; /* always a scalar */
	struct ynode *value;
};

struct ynode {
	enum ynode_type type;
	int line; /* 1-based */
	union {
		struct {
			char *s;    /* NUL-terminated; may hold a NUL inside: check len */
			size_t len;
			int plain;  /* unquoted: "~", "null" and "" mean null */
		} scalar;
		struct {
			struct ynode **items;
			size_t n;
		} seq;
		struct {
			struct ypair *pairs;
			size_t n;
		} map;
	} u;
};

/*
 * Parse text (len bytes, need not be NUL-terminated). Returns the root,
 * which may be any node type, or NULL with err set. A file holding no
 * document at all (empty, or only comments) is an error: "is empty".
 */
struct ynode *ytree_parse(const char *path, const char *text, size_t len, char *err,
    size_t errlen);
void ytree_free(struct ynode *node);

/* 1 if the scalar is YAML's null: unquoted "", "~", "null", "Null", "NULL". */
int ynode_is_null(const struct ynode *node);
/* The value of key in a mapping, or NULL. */
const struct ynode *ynode_get(const struct ynode *map, const char *key);
const char *ynode_type_name(enum ynode_type type);

#endif
