/*
 * fuzz_discover: tokiame's reading of a backend's GET /v1/models answer
 * (discover_parse.c), on any bytes as the body. The backend is reached
 * over the network and need not be well-formed.
 *
 * Checked:
 *  - a refusal says why;
 *  - an accepted list is sorted, without duplicates, each id non-empty,
 *    at most DISCOVER_MAX_ID bytes, at most DISCOVER_MAX_MODELS of them;
 *  - every id is the "id" string of an entry of the "data" array, as
 *    yajl's tree parser (the reference, the same library) reads it;
 *  - an accepted list is nested at most DISCOVER_MAX_DEPTH deep, whatever
 *    comments (yajl's tree parser allows them) or escapes it holds: the
 *    bound keeps yajl_tree_free's recursion off the end of the stack.
 */
#include "config.h"

#include <string.h>

#include <yajl/yajl_tree.h>

#include "discover_parse.h"
#include "fuzz.h"

/* The nesting of v, counted no further than limit + 1. */
static int
depth(yajl_val v, int limit)
{
	int d = 0;

	if (limit < 0)
		return 1;
	if (YAJL_IS_OBJECT(v))
		for (size_t i = 0; i < v->u.object.len; i++) {
			int k = depth(v->u.object.values[i], limit - 1);
			d = k > d ? k : d;
		}
	else if (YAJL_IS_ARRAY(v))
		for (size_t i = 0; i < v->u.array.len; i++) {
			int k = depth(v->u.array.values[i], limit - 1);
			d = k > d ? k : d;
		}
	else
		return 0;
	return d + 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), why[256] = "";
	char **ids = NULL;
	size_t n = 0;

	memcpy(text, data, size);
	text[size] = '\0';
	if (discover_parse_models(text, size, &ids, &n, why, sizeof(why)) != 0) {
		REQUIRE(why[0] != '\0');
		free(text);
		return 0;
	}
	REQUIRE(n <= DISCOVER_MAX_MODELS);
	for (size_t i = 0; i < n; i++) {
		REQUIRE(ids[i][0] != '\0' && strlen(ids[i]) <= DISCOVER_MAX_ID);
		if (i > 0)
			REQUIRE(strcmp(ids[i - 1], ids[i]) < 0);
	}
	{
		/* each id is in the data array (the parser accepted the text,
		 * so the reference does too), and the tree is no deeper than
		 * the bound */
		static const char *data_path[] = { "data", NULL };
		yajl_val root = yajl_tree_parse(text, NULL, 0), arr;

		REQUIRE(root != NULL);
		REQUIRE(depth(root, DISCOVER_MAX_DEPTH) <= DISCOVER_MAX_DEPTH);
		arr = yajl_tree_get(root, data_path, yajl_t_array);
		REQUIRE(arr != NULL);
		for (size_t i = 0; i < n; i++) {
			int found = 0;

			for (size_t k = 0; k < arr->u.array.len && !found; k++) {
				static const char *id_path[] = { "id", NULL };
				yajl_val id = yajl_tree_get(arr->u.array.values[k], id_path,
				    yajl_t_string);

				found = id != NULL && strcmp(id->u.string, ids[i]) == 0;
			}
			REQUIRE(found);
		}
		yajl_tree_free(root);
	}
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	free(text);
	return 0;
}
