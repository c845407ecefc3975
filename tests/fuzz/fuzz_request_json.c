/*
 * fuzz_request_json: the worker's reading of a JSON request body
 * (request_json.c) and the rewrite that cuts "namespace:" out of the
 * model (request_rewrite.c), on any bytes as the body.
 *
 * Checked:
 *  - a refusal has a message for the client; a body refused as not JSON
 *    is not JSON for yajl's tree parser either, one refused as not an
 *    object is not an object there (when small and free of '/' and NUL:
 *    the tree parser allows comments and reads a C string);
 *  - an accepted body is valid JSON to an independent parser (yajl's tree
 *    parser), a top-level object whose "model" is the string found, whose
 *    raw bytes lie between two quotes inside the body; "stream": true is
 *    reported only if the object has it;
 *  - for a model the proxy would route (what api_proxy.c checks before:
 *    at most 512 printable characters, "ns:name" with both parts
 *    non-empty), the rewritten body is valid JSON again, the same tree
 *    (same keys in the same order, same values) except "model", which is
 *    now exactly the name after the colon; parsed by request_json again
 *    it is accepted with that model and the same "stream";
 *  - for a stream the worker may ask usage for (request_rewrite.c), the
 *    body rewritten with the ask is valid JSON whose "stream_options" has
 *    "include_usage": true and otherwise the members it had, the rest of
 *    the tree as above, and request_json reads it as asked.
 * Bodies with a \u0000 escape get only the first check: the tree parser,
 * the reference, cuts names at a NUL.
 */
#include "config.h"

#include <string.h>

#include <h2o.h>
#include <yajl/yajl_tree.h>

#include "fuzz.h"
#include "request_json.h"
#include "request_rewrite.h"

#define MODEL_MAX 512 /* as api_proxy.c */

static yajl_val
tree(const char *p, size_t len)
{
	char *s = malloc(len + 1), err[128];
	yajl_val v;

	memcpy(s, p, len);
	s[len] = '\0';
	v = yajl_tree_parse(s, err, sizeof(err));
	free(s);
	return v;
}

static int
same(yajl_val a, yajl_val b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case yajl_t_string:
		return strcmp(a->u.string, b->u.string) == 0;
	case yajl_t_number:
		return strcmp(a->u.number.r, b->u.number.r) == 0;
	case yajl_t_object:
		if (a->u.object.len != b->u.object.len)
			return 0;
		for (size_t i = 0; i < a->u.object.len; i++)
			if (strcmp(a->u.object.keys[i], b->u.object.keys[i]) != 0 ||
			    !same(a->u.object.values[i], b->u.object.values[i]))
				return 0;
		return 1;
	case yajl_t_array:
		if (a->u.array.len != b->u.array.len)
			return 0;
		for (size_t i = 0; i < a->u.array.len; i++)
			if (!same(a->u.array.values[i], b->u.array.values[i]))
				return 0;
		return 1;
	default:
		return 1;
	}
}

static int
routable(const struct request_json *rj, size_t *ns_len)
{
	const char *colon;

	if (rj->model_len > MODEL_MAX)
		return 0;
	for (size_t i = 0; i < rj->model_len; i++)
		if ((unsigned char)rj->model[i] < 0x20 || rj->model[i] == 0x7f)
			return 0;
	colon = memchr(rj->model, ':', rj->model_len);
	if (colon == NULL || colon == rj->model || colon == rj->model + rj->model_len - 1)
		return 0;
	*ns_len = (size_t)(colon - rj->model);
	return 1;
}

/* The rewritten body, a then b, in *out (malloc'd), and its tree: it must be JSON. */
static yajl_val
joined_tree(h2o_iovec_t a, h2o_iovec_t b, char **out, size_t *n)
{
	yajl_val v;

	*n = a.len + b.len;
	*out = malloc(*n + 1);
	memcpy(*out, a.base, a.len);
	memcpy(*out + a.len, b.base, b.len);
	v = tree(*out, *n);
	if (v == NULL)
		fprintf(stderr, "rewritten body is not JSON: %.*s\n", (int)*n, *out);
	REQUIRE(v != NULL);
	return v;
}

static void
check_rewrite(h2o_mem_pool_t *pool, const char *body, size_t len, const struct request_json *rj,
    yajl_val before, size_t ns_len)
{
	const char *name = rj->model + ns_len + 1;
	size_t name_len = rj->model_len - ns_len - 1, n;
	h2o_iovec_t a, b;
	struct request_json again;
	char err[512], *out;
	yajl_val after;
	int model_seen = 0;

	wk_request_model_rewrite(pool, h2o_iovec_init(body, len), rj, ns_len, name, name_len, &a,
	    &b);
	after = joined_tree(a, b, &out, &n);
	REQUIRE(after->type == yajl_t_object && after->u.object.len == before->u.object.len);
	for (size_t i = 0; i < before->u.object.len; i++) {
		yajl_val x = before->u.object.values[i], y = after->u.object.values[i];

		REQUIRE(strcmp(before->u.object.keys[i], after->u.object.keys[i]) == 0);
		if (strcmp(before->u.object.keys[i], "model") == 0) {
			REQUIRE(!model_seen && x->type == yajl_t_string && y->type == yajl_t_string);
			REQUIRE(strlen(y->u.string) == name_len && memcmp(y->u.string, name,
			    name_len) == 0);
			model_seen = 1;
		} else
			REQUIRE(same(x, y));
	}
	REQUIRE(model_seen);
	REQUIRE(wk_request_json_parse(pool, out, n, &again, err, sizeof(err)) == RJ_OK);
	REQUIRE(again.model_len == name_len && memcmp(again.model, name, name_len) == 0);
	REQUIRE(again.stream == rj->stream);
	yajl_tree_free(after);
	free(out);
}

/* The members of an object but "skip", in order, equal. */
static int
same_but(yajl_val a, yajl_val b, const char *skip, const char *model, size_t model_len)
{
	size_t i = 0, j = 0;

	for (;;) {
		while (i < a->u.object.len && strcmp(a->u.object.keys[i], skip) == 0)
			i++;
		while (j < b->u.object.len && strcmp(b->u.object.keys[j], skip) == 0)
			j++;
		if (i == a->u.object.len || j == b->u.object.len)
			return i == a->u.object.len && j == b->u.object.len;
		if (strcmp(a->u.object.keys[i], b->u.object.keys[j]) != 0)
			return 0;
		if (model != NULL && strcmp(a->u.object.keys[i], "model") == 0) {
			yajl_val y = b->u.object.values[j];

			if (y->type != yajl_t_string || strlen(y->u.string) != model_len ||
			    memcmp(y->u.string, model, model_len) != 0)
				return 0;
		} else if (!same(a->u.object.values[i], b->u.object.values[j]))
			return 0;
		i++;
		j++;
	}
}

static yajl_val
member(yajl_val obj, const char *key)
{
	for (size_t i = 0; i < obj->u.object.len; i++)
		if (strcmp(obj->u.object.keys[i], key) == 0)
			return obj->u.object.values[i];
	return NULL;
}

static void
check_ask(h2o_mem_pool_t *pool, const char *body, size_t len, const struct request_json *rj,
    yajl_val before, size_t ns_len)
{
	const char *name = rj->model + ns_len + 1;
	size_t name_len = rj->model_len - ns_len - 1, n;
	h2o_iovec_t a, b;
	struct request_json again;
	yajl_val after, so, so_before, iu;
	char err[512], *out;

	if (!wk_request_usage_askable(rj))
		return;
	REQUIRE(rj->stream);
	wk_request_rewrite(pool, h2o_iovec_init(body, len), rj, ns_len, name, name_len, 1, &a, &b);
	after = joined_tree(a, b, &out, &n);
	REQUIRE(after->type == yajl_t_object);
	REQUIRE(same_but(before, after, "stream_options", name, name_len));
	so = member(after, "stream_options");
	so_before = member(before, "stream_options");
	REQUIRE(so != NULL && so->type == yajl_t_object);
	iu = member(so, "include_usage");
	REQUIRE(iu != NULL && iu->type == yajl_t_true);
	if (so_before != NULL && so_before->type == yajl_t_object)
		REQUIRE(same_but(so_before, so, "include_usage", NULL, 0));
	else
		REQUIRE(so_before == NULL || so_before->type == yajl_t_null);
	REQUIRE(wk_request_json_parse(pool, out, n, &again, err, sizeof(err)) == RJ_OK);
	REQUIRE(again.stream && again.usage_op == RJ_USAGE_ASKED);
	yajl_tree_free(after);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	h2o_mem_pool_t pool;
	struct request_json rj;
	char err[512];
	enum request_json_status st;
	yajl_val root, model;
	size_t ns_len;
	int stream_true = 0;

	h2o_mem_init_pool(&pool);
	st = wk_request_json_parse(&pool, body, size, &rj, err, sizeof(err));
	if (st != RJ_OK) {
		REQUIRE(err[0] != '\0');
		if ((st == RJ_BAD_JSON || st == RJ_NOT_OBJECT) && size < 4096 &&
		    memchr(body, '/', size) == NULL && memchr(body, '\0', size) == NULL) {
			/* the reference agrees (it allows comments, and reads a
			 * C string: neither is in this body) */
			root = tree(body, size);
			REQUIRE(st == RJ_BAD_JSON ? root == NULL
			    : root == NULL || root->type != yajl_t_object);
			yajl_tree_free(root);
		}
		h2o_mem_clear_pool(&pool);
		return 0;
	}
	REQUIRE(rj.model != NULL && rj.model[rj.model_len] == '\0');
	REQUIRE(rj.model_off >= 1 && rj.model_off + rj.model_raw_len < size);
	REQUIRE(body[rj.model_off - 1] == '"' && body[rj.model_off + rj.model_raw_len] == '"');
	if (memmem(body, size, "\\u0000", 6) != NULL) {
		/* yajl's tree cuts names at a NUL: it cannot be the reference */
		h2o_mem_clear_pool(&pool);
		return 0;
	}
	root = tree(body, size);
	REQUIRE(root != NULL && root->type == yajl_t_object);
	model = NULL;
	for (size_t i = 0; i < root->u.object.len; i++) {
		if (strcmp(root->u.object.keys[i], "model") == 0) {
			REQUIRE(model == NULL);
			model = root->u.object.values[i];
		}
		if (strcmp(root->u.object.keys[i], "stream") == 0 &&
		    root->u.object.values[i]->type == yajl_t_true)
			stream_true = 1;
	}
	REQUIRE(model != NULL && model->type == yajl_t_string);
	REQUIRE(strcmp(model->u.string, rj.model) == 0);
	REQUIRE(!rj.stream || stream_true);
	if (routable(&rj, &ns_len)) {
		check_rewrite(&pool, body, size, &rj, root, ns_len);
		check_ask(&pool, body, size, &rj, root, ns_len);
	}
	yajl_tree_free(root);
	h2o_mem_clear_pool(&pool);
	return 0;
}
