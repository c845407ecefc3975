/* discover_parse: see discover_parse.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "discover_parse.h"
#include "xmalloc.h"

/*
 * Deep nesting would recurse in yajl_tree_free: refuse it up front.
 * yajl_tree_parse allows comments, so brackets inside them do not count
 * (a comment full of ']' would otherwise let deep nesting through and
 * overflow the stack), and a stray ']' never lowers the count below 0.
 */
static int
depth_ok(const char *s, size_t n)
{
	int depth = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '"') {
			for (i++; i < n && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
		} else if (c == '/' && i + 1 < n && s[i + 1] == '*') {
			for (i += 2; i < n && !(s[i] == '*' && i + 1 < n && s[i + 1] == '/'); i++)
				;
			i++;
		} else if (c == '/' && i + 1 < n && s[i + 1] == '/') {
			while (i < n && s[i] != '\n')
				i++;
		} else if (c == '[' || c == '{') {
			if (++depth > DISCOVER_MAX_DEPTH)
				return 0;
		} else if ((c == ']' || c == '}') && depth > 0)
			depth--;
	}
	return 1;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
discover_parse_models(const char *text, size_t len, char ***ids, size_t *nids, char *why,
    size_t whylen)
{
	static const char *data_path[] = { "data", NULL };
	static const char *id_path[] = { "id", NULL };
	yajl_val root, data;
	char perr[128];
	char **out;
	size_t n = 0, k = 0;

	if (!depth_ok(text, len)) {
		snprintf(why, whylen, "the model list is nested too deeply");
		return -1;
	}
	if ((root = yajl_tree_parse(text, perr, sizeof(perr))) == NULL) {
		perr[strcspn(perr, "\n")] = '\0';
		snprintf(why, whylen, "the model list is not JSON: %s", perr);
		return -1;
	}
	data = yajl_tree_get(root, data_path, yajl_t_array);
	if (data == NULL) {
		snprintf(why, whylen, "the model list has no \"data\" array");
		yajl_tree_free(root);
		return -1;
	}
	out = xcalloc(data->u.array.len ? data->u.array.len : 1, sizeof(*out));
	for (size_t i = 0; i < data->u.array.len && n < DISCOVER_MAX_MODELS; i++) {
		yajl_val id = yajl_tree_get(data->u.array.values[i], id_path, yajl_t_string);
		const char *s;
		if (id == NULL || (s = YAJL_GET_STRING(id)) == NULL || s[0] == '\0' ||
		    strlen(s) > DISCOVER_MAX_ID)
			continue;
		out[n++] = xstrdup(s);
	}
	yajl_tree_free(root);
	qsort(out, n, sizeof(*out), cmp_str);
	/* drop duplicates */
	for (size_t i = 0; i < n; i++) {
		if (k > 0 && strcmp(out[k - 1], out[i]) == 0)
			free(out[i]);
		else
			out[k++] = out[i];
	}
	*ids = out;
	*nids = k;
	return 0;
}
