/*
 * discover_parse: the ids of an OpenAI model list ({"data":[{"id":...}]})
 * as a backend answers GET /v1/models. Pure (no curl, no agent) so that
 * tests/fuzz/fuzz_discover.c can feed it any bytes: the backend is not
 * trusted to be well-formed.
 */
#ifndef TM_DISCOVER_PARSE_H
#define TM_DISCOVER_PARSE_H

#include <stddef.h>

#define DISCOVER_MAX_DEPTH 32
#define DISCOVER_MAX_MODELS 4096
#define DISCOVER_MAX_ID 512

/* text is len bytes followed by a NUL. 0 with *ids (sorted, unique, each
 * non-empty and at most DISCOVER_MAX_ID bytes, at most DISCOVER_MAX_MODELS
 * of them; the caller frees each and the array), or -1 with why. */
int discover_parse_models(const char *text, size_t len, char ***ids, size_t *nids, char *why,
    size_t whylen);

#endif
