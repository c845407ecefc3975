/*
 * apikey_cache: a small cache from a presented secret to the key of the
 * current table it matched, so a client that sends the same key on every
 * request pays for one SHA-256, not one per request (the hash was most of
 * a key check's cost: ~6.5k of ~7.5k instructions).
 *
 * Only secrets that matched a key are kept (a wrong key is hashed every
 * time, as before: guessing gets no cheaper and cannot fill the cache).
 * The cache belongs to one table generation: apikey_cache_clear() wipes
 * every entry and starts a new generation, and must be called whenever the
 * table is replaced (a key revoked, disabled or changed is a new table),
 * so no answer from an older table survives the swap. Expiry and disabled
 * stay the caller's to check on the key returned, as for
 * apikey_table_find().
 *
 * Ownership: the caller owns the cache (fixed size, no allocation); the
 * keys it returns are the table's. Single-threaded (one per worker).
 */
#ifndef TL_APIKEY_CACHE_H
#define TL_APIKEY_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "apikey.h"

#define APIKEY_CACHE_SLOTS 256          /* power of two; direct-mapped */
#define APIKEY_CACHE_SECRET_MAX 96      /* longer secrets are not cached */

struct apikey_cache_entry {
	uint64_t gen;                   /* 0 = empty */
	const struct apikey *key;
	size_t len;
	char secret[APIKEY_CACHE_SECRET_MAX];
};

struct apikey_cache {
	uint64_t gen;                   /* current generation, >= 1 once used */
	struct apikey_cache_entry e[APIKEY_CACHE_SLOTS];
};

/* Wipe every entry (the secrets too) and begin a new generation. */
void apikey_cache_clear(struct apikey_cache *c);
/* As apikey_table_find(t, secret, len), answered from c when the same
 * secret matched in this generation. t must be the table c was last
 * cleared for. */
const struct apikey *apikey_cache_find(struct apikey_cache *c, const struct apikey_table *t,
    const char *secret, size_t len);

#endif
