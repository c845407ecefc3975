/*
 * apikey_cache: see apikey_cache.h.
 *
 * Security, weighed:
 * - The cache holds the plaintext of recently used secrets in the worker's
 *   memory, where the table holds only their hashes. The worker already
 *   sees every secret in each request's buffers; the cache makes them
 *   live longer. So: only secrets that matched a key, a bounded number
 *   (APIKEY_CACHE_SLOTS), wiped with OPENSSL_cleanse when evicted and when
 *   the table is replaced (apikey_cache_clear), never logged.
 * - Revocation: a removed, disabled or changed key arrives as a new table
 *   (SIGHUP, or the master's KEYS from PostgreSQL); the caller clears the
 *   cache in the same step, and every entry also carries the generation it
 *   was made in, so nothing found in an older table is ever returned.
 * - Timing: a hit is cheaper than a miss, but a hit needs the whole
 *   secret to equal one that matched a key (compared in constant time),
 *   which the answer tells the caller anyway. The slot is picked from the
 *   presented bytes, which the caller already knows. A wrong secret is
 *   never cached, so guessing costs one SHA-256 a try, as before.
 */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>

#include "apikey_cache.h"

static void
entry_wipe(struct apikey_cache_entry *e)
{
	OPENSSL_cleanse(e, sizeof(*e));
}

void
apikey_cache_clear(struct apikey_cache *c)
{
	for (size_t i = 0; i < APIKEY_CACHE_SLOTS; i++)
		entry_wipe(&c->e[i]);
	c->gen++;
}

static uint64_t
load64(const char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * 1 if a[0..len) == b[0..len), in a time that depends on len only: every
 * word is XORed and ORed in, with no early exit. Eight bytes a step:
 * CRYPTO_memcmp goes byte by byte, about 500 instructions for a key,
 * more than the rest of a cache hit.
 */
static int
same_secret(const char *a, const char *b, size_t len)
{
	uint64_t d = 0;
	size_t i = 0;

	for (; i + 8 <= len; i += 8)
		d |= load64(a + i) ^ load64(b + i);
	for (; i < len; i++)
		d |= (uint64_t)((unsigned char)a[i] ^ (unsigned char)b[i]);
	return d == 0;
}

/* A key's last 16 bytes are random hex: two loads and a multiply spread
 * them well enough. Short secrets (never a real key) all share a mix of
 * their bytes. */
static size_t
slot(const char *s, size_t len)
{
	uint64_t h = len;

	if (len >= 16)
		h ^= load64(s + len - 8) ^ load64(s + len - 16) * 0x9e3779b97f4a7c15ULL;
	else
		for (size_t i = 0; i < len; i++)
			h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	h *= 0xff51afd7ed558ccdULL;
	return (size_t)(h >> 32) & (APIKEY_CACHE_SLOTS - 1);
}

const struct apikey *
apikey_cache_find(struct apikey_cache *c, const struct apikey_table *t, const char *secret,
    size_t len)
{
	struct apikey_cache_entry *e;
	const struct apikey *k;

	if (len > APIKEY_CACHE_SECRET_MAX)
		return apikey_table_find(t, secret, len);
	if (c->gen == 0)
		c->gen = 1;
	e = &c->e[slot(secret, len)];
	/* key lengths are public; the bytes are compared in constant time */
	if (e->gen == c->gen && e->len == len && same_secret(e->secret, secret, len))
		return e->key;
	if ((k = apikey_table_find(t, secret, len)) == NULL)
		return NULL;
	entry_wipe(e);
	e->gen = c->gen;
	e->key = k;
	e->len = len;
	memcpy(e->secret, secret, len);
	return k;
}
