/*
 * embed: POST /v1/embeddings.
 *
 * "input" is a string, an array of strings, an array of token numbers
 * (one input) or an array of such arrays. Each input becomes 8 floats
 * from h = FNV-1a 64 of its bytes (a string's UTF-8 bytes; for tokens,
 * the numbers as written, joined by ","): e[k] = ((h >> 8k) & 0xff) /
 * 127.5 - 1, printed with 6 decimals. Same input, same vector.
 */
#include "config.h"

#include <string.h>

#include "fnv.h"
#include "mreq.h"

#define MAX_INPUTS 2048

/* FNV of tokens written as "1,2,3"; -1 if not an array of numbers. */
static int
tokens_fnv(yajl_val arr, uint64_t *h, size_t *len)
{
	*h = FNV1A64_INIT;
	*len = 0;
	if (!YAJL_IS_ARRAY(arr) || arr->u.array.len == 0)
		return -1;
	for (size_t i = 0; i < arr->u.array.len; i++) {
		const char *num = YAJL_IS_NUMBER(arr->u.array.values[i]) ?
		    YAJL_GET_NUMBER(arr->u.array.values[i]) : NULL;

		if (num == NULL)
			return -1;
		if (i > 0)
			*h = fnv1a64_update(*h, ",", 1);
		*h = fnv1a64_update(*h, num, strlen(num));
		*len += strlen(num) + (i > 0);
	}
	return 0;
}

/* The digest of input i; -1 when the input has the wrong shape. */
static int
input_fnv(yajl_val input, size_t i, uint64_t *h, size_t *len)
{
	const char *s;

	if ((s = YAJL_GET_STRING(input)) != NULL) {
		*len = strlen(s);
		*h = fnv1a64(s, *len);
		return 0;
	}
	if (tokens_fnv(input, h, len) == 0)
		return 0; /* one input of tokens */
	if ((s = YAJL_GET_STRING(input->u.array.values[i])) != NULL) {
		*len = strlen(s);
		*h = fnv1a64(s, *len);
		return 0;
	}
	return tokens_fnv(input->u.array.values[i], h, len);
}

void
ep_embeddings(struct mreq *m)
{
	const char *path[] = { "input", NULL };
	yajl_val input = yajl_tree_get(m->root, path, yajl_t_any);
	size_t n, tokens = 0;
	uint64_t dummy_h;
	size_t dummy_len;
	struct jw w;

	if (YAJL_IS_STRING(input) || tokens_fnv(input, &dummy_h, &dummy_len) == 0)
		n = 1;
	else if (YAJL_IS_ARRAY(input) && input->u.array.len > 0 && input->u.array.len <= MAX_INPUTS)
		n = input->u.array.len;
	else {
		reply_error(m, 400, "invalid_request_error", "invalid_input",
		    "input: want a string, an array of 1 to %d strings, or token arrays", MAX_INPUTS);
		return;
	}

	buf_reset(&m->out);
	jw_init(&w, &m->out);
	jw_raw(&w, "{\"object\":\"list\",\"data\":[");
	for (size_t i = 0; i < n; i++) {
		uint64_t h;
		size_t len;

		if (input_fnv(input, i, &h, &len) == -1) {
			reply_error(m, 400, "invalid_request_error", "invalid_input",
			    "input[%zu]: want a string or an array of token numbers", i);
			return;
		}
		tokens += (len + 3) / 4;
		jw_raw(&w, i > 0 ? ",{\"object\":\"embedding\",\"index\":" :
				   "{\"object\":\"embedding\",\"index\":");
		jw_u64(&w, i);
		jw_raw(&w, ",\"embedding\":[");
		for (int k = 0; k < 8; k++)
			jw_fmt(&w, k > 0 ? ",%.6f" : "%.6f", (double)((h >> (8 * k)) & 0xff) / 127.5 - 1.0);
		jw_raw(&w, "]}");
	}
	jw_raw(&w, "],\"model\":");
	jw_str(&w, m->model.base, m->model.len);
	jw_raw(&w, ",\"usage\":{\"prompt_tokens\":");
	jw_u64(&w, tokens);
	jw_raw(&w, ",\"total_tokens\":");
	jw_u64(&w, tokens);
	jw_raw(&w, "}}");
	reply_json(m, 200, &w);
}
