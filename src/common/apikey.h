/*
 * apikey: end-user API keys — their format, the table a worker checks a
 * presented key against, and the patterns that say which models a key
 * may use.
 *
 * A key is "sk-tlk-" + 64 lower-case hex digits (32 random bytes): the
 * "sk-" start is what OpenAI-style clients expect, "sk-tlk-" is what a
 * secret scanner can look for. Only its hash ("sha256:<hex>" of the whole
 * key, as token.h) is stored, in tokilake.yaml (keys:) or in PostgreSQL
 * (api_keys). A presented key is hashed once, looked up by hash, and the
 * match confirmed in constant time; the secret is never kept or logged.
 *
 * Patterns are globs over the public model id "namespace:model" (later
 * also "provider/model"): '*' matches any run of characters, colons
 * included; every other character matches itself. "*" allows everything,
 * "lab:*" one namespace, "*:llama3*" a model family anywhere.
 *
 * Ownership: a table owns copies of everything added to it; keys found in
 * it stay valid until the table is freed (a worker swaps whole tables).
 */
#ifndef TL_APIKEY_H
#define TL_APIKEY_H

#include <stddef.h>
#include <stdint.h>

#include "token.h"

#define APIKEY_PREFIX "sk-tlk-"
#define APIKEY_PREFIX_LEN 7
#define APIKEY_LEN (APIKEY_PREFIX_LEN + 64)
#define APIKEY_NAME_MAX 64      /* [A-Za-z0-9._-]{1,64} */
#define APIKEY_OWNER_MAX 128
#define APIKEY_PATTERN_MAX 256
#define APIKEY_PATTERNS_MAX 64  /* allow patterns per key */

/* 0 = no limit, for every field. Budgets count prompt + completion tokens
 * per UTC calendar day / month. */
struct apikey_limits {
	uint32_t rpm;             /* requests per minute (sliding 60 s) */
	uint32_t tpm;             /* tokens per minute (sliding 60 s) */
	uint32_t max_in_flight;   /* requests started and not ended */
	uint64_t tokens_per_day;
	uint64_t tokens_per_month;
};

struct apikey {
	char *name;               /* unique; what logs and usage show */
	char *owner;              /* free label ("" if none) */
	char hash[TOKEN_HASH_LEN + 1];
	char **allow;             /* nallow patterns; none = nothing allowed */
	size_t nallow;
	struct apikey_limits limits;
	int64_t expires_at;       /* unix seconds; 0 = never */
	int disabled;             /* known but refused with 403 */
};

struct apikey_table;

struct apikey_table *apikey_table_new(void);
void apikey_table_free(struct apikey_table *t);
/* Copy k into t. -1 with err set if k is invalid (name, hash, a pattern)
 * or its name or hash is already in t. */
int apikey_table_add(struct apikey_table *t, const struct apikey *k, char *err, size_t errlen);
size_t apikey_table_count(const struct apikey_table *t);
/* The key whose hash is the presented secret's, or NULL. Expiry and
 * disabled are the caller's to check (they answer differently). */
const struct apikey *apikey_table_find(const struct apikey_table *t, const char *secret,
    size_t len);
/* The key named name, or NULL. */
const struct apikey *apikey_table_by_name(const struct apikey_table *t, const char *name);

/* Fill out[APIKEY_LEN + 1] with a new key. -1 if the RNG fails. */
int apikey_generate(char out[APIKEY_LEN + 1]);
/* 1 if name is a valid key name, pattern a valid pattern. */
int apikey_name_valid(const char *name);
int apikey_pattern_valid(const char *pattern);
/* 1 if pattern matches id[0..len) (glob, '*' only). */
int apikey_pattern_match(const char *pattern, const char *id, size_t len);
/* 1 if one of k's patterns matches the public model id id[0..len). */
int apikey_allows(const struct apikey *k, const char *id, size_t len);

#endif
