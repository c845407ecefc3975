/*
 * yaml_tree: see yaml_tree.h.
 *
 * libyaml hands us a stream of events; we build the tree with an explicit
 * stack (no recursion while parsing, so hostile nesting cannot exhaust
 * the C stack) and attach every node to its parent as soon as it exists,
 * so that freeing the root on any error frees everything.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "xmalloc.h"
#include "yaml_tree.h"

struct frame {
	struct ynode *node; /* a sequence or a mapping being filled */
};

struct builder {
	const char *path;
	const char *text;
	size_t len;
	char *err;
	size_t errlen;
	struct ynode *root;
	struct frame stack[YTREE_MAX_DEPTH];
	int depth;
	int ndocs;
};

const char *
ynode_type_name(enum ynode_type type)
{
	switch (type) {
	case YNODE_SCALAR:
		return "a scalar";
	case YNODE_SEQUENCE:
		return "a list";
	case YNODE_MAPPING:
		return "a mapping";
	}
	return "?";
}

int
ynode_is_null(const struct ynode *node)
{
	const char *s;

	if (node == NULL || node->type != YNODE_SCALAR || !node->u.scalar.plain)
		return 0;
	s = node->u.scalar.s;
	return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

const struct ynode *
ynode_get(const struct ynode *map, const char *key)
{
	if (map == NULL || map->type != YNODE_MAPPING)
		return NULL;
	for (size_t i = 0; i < map->u.map.n; i++)
		if (strcmp(map->u.map.pairs[i].key->u.scalar.s, key) == 0)
			return map->u.map.pairs[i].value;
	return NULL;
}

void
ytree_free(struct ynode *node)
{
	if (node == NULL)
		return;
	switch (node->type) {
	case YNODE_SCALAR:
		/* any scalar may be a secret (tokiame's token, a backend key) */
		secure_wipe(node->u.scalar.s, node->u.scalar.len);
		free(node->u.scalar.s);
		break;
	case YNODE_SEQUENCE:
		for (size_t i = 0; i < node->u.seq.n; i++)
			ytree_free(node->u.seq.items[i]);
		free(node->u.seq.items);
		break;
	case YNODE_MAPPING:
		for (size_t i = 0; i < node->u.map.n; i++) {
			ytree_free(node->u.map.pairs[i].key);
			ytree_free(node->u.map.pairs[i].value);
		}
		free(node->u.map.pairs);
		break;
	}
	free(node);
}

/* The dotted path of the place being parsed: "http.listen[1].tls". */
static void
current_path(const struct builder *b, char *out, size_t outlen)
{
	size_t n = 0;

	out[0] = '\0';
	for (int i = 0; i < b->depth && n < outlen; i++) {
		const struct ynode *c = b->stack[i].node;
		int w = 0;

		if (c->type == YNODE_MAPPING && c->u.map.n > 0) {
			const struct ypair *p = &c->u.map.pairs[c->u.map.n - 1];
			/* the last key is open if its value is missing or is the next frame */
			if (p->value == NULL ||
			    (i + 1 < b->depth && p->value == b->stack[i + 1].node))
				w = snprintf(out + n, outlen - n, "%s%s", n ? "." : "",
				    p->key->u.scalar.s);
		} else if (c->type == YNODE_SEQUENCE) {
			size_t idx = c->u.seq.n;
			if (i + 1 < b->depth && idx > 0 &&
			    c->u.seq.items[idx - 1] == b->stack[i + 1].node)
				idx--;
			w = snprintf(out + n, outlen - n, "[%zu]", idx);
		}
		if (w > 0)
			n += (size_t)w;
	}
	if (out[0] == '\0')
		snprintf(out, outlen, "%s", YTREE_TOP);
}

static void __attribute__((format(printf, 3, 4)))
builder_error(struct builder *b, int line, const char *fmt, ...)
{
	char where[256], msg[512];
	va_list ap;

	current_path(b, where, sizeof(where));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(b->err, b->errlen, "%s:%d: %s: %s", b->path, line, where, msg);
}

static int
line_of_offset(const struct builder *b, size_t off)
{
	int line = 1;

	for (size_t i = 0; i < off && i < b->len; i++)
		if (b->text[i] == '\n')
			line++;
	return line;
}

static void
parser_error(struct builder *b, const yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "cannot be parsed";

	if (p->error == YAML_READER_ERROR) {
		/* the reader decodes ahead of the parser: no key to name yet */
		b->depth = 0;
		if (p->problem_value != -1)
			builder_error(b, line_of_offset(b, p->problem_offset),
			    "invalid YAML: %s (byte 0x%02X)", problem, (unsigned)p->problem_value);
		else
			builder_error(b, line_of_offset(b, p->problem_offset), "invalid YAML: %s",
			    problem);
	} else if (p->context != NULL)
		builder_error(b, (int)p->problem_mark.line + 1, "invalid YAML: %s (%s on line %d)",
		    problem, p->context, (int)p->context_mark.line + 1);
	else
		builder_error(b, (int)p->problem_mark.line + 1, "invalid YAML: %s", problem);
}

/* Hang a new node on the open container (or make it the root). */
static int
attach(struct builder *b, struct ynode *node)
{
	struct ynode *parent;

	if (b->depth == 0) {
		b->root = node;
		return 0;
	}
	parent = b->stack[b->depth - 1].node;
	if (parent->type == YNODE_SEQUENCE) {
		parent->u.seq.items = xrealloc(parent->u.seq.items,
		    (parent->u.seq.n + 1) * sizeof(*parent->u.seq.items));
		parent->u.seq.items[parent->u.seq.n++] = node;
		return 0;
	}
	/* mapping: either the value of the open key, or a new key */
	if (parent->u.map.n > 0 && parent->u.map.pairs[parent->u.map.n - 1].value == NULL) {
		parent->u.map.pairs[parent->u.map.n - 1].value = node;
		return 0;
	}
	if (node->type != YNODE_SCALAR) {
		int line = node->line;
		const char *what = node->type == YNODE_SEQUENCE ? "lists" : "mappings";
		ytree_free(node);
		builder_error(b, line, "keys must be plain strings, not %s", what);
		return -1;
	}
	for (size_t i = 0; i < parent->u.map.n; i++) {
		const struct ynode *k = parent->u.map.pairs[i].key;
		if (k->u.scalar.len == node->u.scalar.len &&
		    memcmp(k->u.scalar.s, node->u.scalar.s, k->u.scalar.len) == 0) {
			int first = k->line;
			/* attach it anyway so the error names the duplicated key */
			parent->u.map.pairs = xrealloc(parent->u.map.pairs,
			    (parent->u.map.n + 1) * sizeof(*parent->u.map.pairs));
			parent->u.map.pairs[parent->u.map.n].key = node;
			parent->u.map.pairs[parent->u.map.n++].value = NULL;
			builder_error(b, node->line, "duplicate key (first on line %d)", first);
			return -1;
		}
	}
	parent->u.map.pairs =
	    xrealloc(parent->u.map.pairs, (parent->u.map.n + 1) * sizeof(*parent->u.map.pairs));
	parent->u.map.pairs[parent->u.map.n].key = node;
	parent->u.map.pairs[parent->u.map.n++].value = NULL;
	return 0;
}

static int
refuse_extras(struct builder *b, int line, const yaml_char_t *anchor, const yaml_char_t *tag)
{
	if (anchor != NULL) {
		builder_error(b, line, "anchors (&%s) are not supported", (const char *)anchor);
		return -1;
	}
	if (tag != NULL) {
		builder_error(b, line, "tags (%s) are not supported", (const char *)tag);
		return -1;
	}
	return 0;
}

static int
on_scalar(struct builder *b, const yaml_event_t *ev)
{
	int line = (int)ev->start_mark.line + 1;
	struct ynode *n;

	if (refuse_extras(b, line, ev->data.scalar.anchor, ev->data.scalar.tag) == -1)
		return -1;
	n = xcalloc(1, sizeof(*n));
	n->type = YNODE_SCALAR;
	n->line = line;
	n->u.scalar.len = ev->data.scalar.length;
	n->u.scalar.s = xmalloc(n->u.scalar.len + 1);
	memcpy(n->u.scalar.s, ev->data.scalar.value, n->u.scalar.len);
	n->u.scalar.s[n->u.scalar.len] = '\0';
	n->u.scalar.plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	return attach(b, n);
}

static int
on_start(struct builder *b, const yaml_event_t *ev, enum ynode_type type)
{
	int line = (int)ev->start_mark.line + 1;
	const yaml_char_t *anchor, *tag;
	struct ynode *n;

	if (type == YNODE_MAPPING) {
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
	} else {
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
	}
	if (refuse_extras(b, line, anchor, tag) == -1)
		return -1;
	if (b->depth == YTREE_MAX_DEPTH) {
		builder_error(b, line, "nested deeper than %d levels", YTREE_MAX_DEPTH);
		return -1;
	}
	n = xcalloc(1, sizeof(*n));
	n->type = type;
	n->line = line;
	if (attach(b, n) == -1)
		return -1;
	b->stack[b->depth++].node = n;
	return 0;
}

static int
on_event(struct builder *b, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (b->ndocs++ > 0) {
			builder_error(b, (int)ev->start_mark.line + 1,
			    "only one YAML document is allowed");
			return -1;
		}
		return 0;
	case YAML_ALIAS_EVENT:
		builder_error(b, (int)ev->start_mark.line + 1, "aliases (*%s) are not supported",
		    (const char *)ev->data.alias.anchor);
		return -1;
	case YAML_SCALAR_EVENT:
		return on_scalar(b, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_start(b, ev, YNODE_SEQUENCE);
	case YAML_MAPPING_START_EVENT:
		return on_start(b, ev, YNODE_MAPPING);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		b->depth--;
		return 0;
	default:
		return 0;
	}
}

struct ynode *
ytree_parse(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
	struct builder b = { .path = path, .text = text, .len = len, .err = err, .errlen = errlen };
	yaml_parser_t parser;
	yaml_event_t ev;
	int done = 0, failed = 0;

	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s:1: %s: cannot initialise the YAML parser", path,
		    YTREE_TOP);
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done && !failed) {
		if (!yaml_parser_parse(&parser, &ev)) {
			parser_error(&b, &parser);
			failed = 1;
			break;
		}
		if (on_event(&b, &ev) == -1)
			failed = 1;
		done = ev.type == YAML_STREAM_END_EVENT;
		if (ev.type == YAML_SCALAR_EVENT)
			secure_wipe(ev.data.scalar.value, ev.data.scalar.length);
		yaml_event_delete(&ev);
	}
	/* libyaml keeps decoded input in its buffers: wipe them too */
	secure_wipe(parser.buffer.start, (size_t)(parser.buffer.end - parser.buffer.start));
	secure_wipe(parser.raw_buffer.start,
	    (size_t)(parser.raw_buffer.end - parser.raw_buffer.start));
	yaml_parser_delete(&parser);
	if (!failed && (b.root == NULL || ynode_is_null(b.root))) {
		snprintf(err, errlen, "%s:1: %s: file is empty", path, YTREE_TOP);
		failed = 1;
	}
	if (failed) {
		ytree_free(b.root);
		return NULL;
	}
	return b.root;
}
