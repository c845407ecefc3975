/*
 * apikey: see apikey.h.
 *
 * The table keeps its keys in one array and two open-addressing indexes
 * over it (by stored hash, by name), each a power-of-two array of
 * positions + 1 (0 = empty slot) at most half full. A presented secret
 * costs one SHA-256 and, on average, about one comparison; the hash's own
 * hex digits pick the slot (they are uniform: no second hash needed).
 * Keys are never removed from a table: a worker builds a new one and
 * swaps it whole, so pointers handed out stay valid until the table goes.
 *
 * The glob matcher is the classic one-star-backtrack loop: on a mismatch
 * it retries from the last '*' one character further on, never further
 * back, so any pattern costs at most len(pattern) * len(id) steps, with
 * no recursion (a hostile pattern from a config or database cannot hang
 * or overflow the stack).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "apikey.h"
#include "xmalloc.h"

struct apikey_table {
	struct apikey *keys;
	size_t n, cap;
	uint32_t *by_hash; /* position + 1; 0 = empty */
	uint32_t *by_name;
	size_t nslots;     /* power of two, >= 2 * n */
};

struct apikey_table *
apikey_table_new(void)
{
	return xcalloc(1, sizeof(struct apikey_table));
}

static void
key_free(struct apikey *k)
{
	free(k->name);
	free(k->owner);
	for (size_t i = 0; i < k->nallow; i++)
		free(k->allow[i]);
	free(k->allow);
}

void
apikey_table_free(struct apikey_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		key_free(&t->keys[i]);
	free(t->keys);
	free(t->by_hash);
	free(t->by_name);
	free(t);
}

size_t
apikey_table_count(const struct apikey_table *t)
{
	return t == NULL ? 0 : t->n;
}

/* The stored hash's first 16 hex digits: already uniform. */
static size_t
hash_slot(const char *hash)
{
	uint64_t v = 0;

	for (size_t i = 7; i < 7 + 16 && hash[i] != '\0'; i++)
		v = v << 4 | (uint64_t)(hash[i] <= '9' ? hash[i] - '0' : (hash[i] | 0x20) - 'a' + 10);
	return (size_t)v;
}

/* FNV-1a: names are short and chosen by people, not uniform. */
static size_t
name_slot(const char *name, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 0x100000001b3ULL;
	}
	return (size_t)h;
}

static void
index_put(uint32_t *slots, size_t nslots, size_t start, uint32_t pos)
{
	size_t mask = nslots - 1;

	for (size_t i = start & mask;; i = (i + 1) & mask)
		if (slots[i] == 0) {
			slots[i] = pos + 1;
			return;
		}
}

static void
reindex(struct apikey_table *t, size_t nslots)
{
	free(t->by_hash);
	free(t->by_name);
	t->nslots = nslots;
	t->by_hash = xcalloc(nslots, sizeof(uint32_t));
	t->by_name = xcalloc(nslots, sizeof(uint32_t));
	for (size_t i = 0; i < t->n; i++) {
		index_put(t->by_hash, nslots, hash_slot(t->keys[i].hash), (uint32_t)i);
		index_put(t->by_name, nslots, name_slot(t->keys[i].name, strlen(t->keys[i].name)),
		    (uint32_t)i);
	}
}

static const struct apikey *
find_hash(const struct apikey_table *t, const char *hash)
{
	size_t mask;

	if (t == NULL || t->n == 0)
		return NULL;
	mask = t->nslots - 1;
	for (size_t i = hash_slot(hash) & mask; t->by_hash[i] != 0; i = (i + 1) & mask) {
		const struct apikey *k = &t->keys[t->by_hash[i] - 1];

		/* constant time: how much of a hash matched must not show */
		if (CRYPTO_memcmp(k->hash, hash, TOKEN_HASH_LEN) == 0)
			return k;
	}
	return NULL;
}

static const struct apikey *
find_name(const struct apikey_table *t, const char *name, size_t len)
{
	size_t mask;

	if (t == NULL || t->n == 0)
		return NULL;
	mask = t->nslots - 1;
	for (size_t i = name_slot(name, len) & mask; t->by_name[i] != 0; i = (i + 1) & mask) {
		const struct apikey *k = &t->keys[t->by_name[i] - 1];

		if (strlen(k->name) == len && memcmp(k->name, name, len) == 0)
			return k;
	}
	return NULL;
}

int
apikey_table_add(struct apikey_table *t, const struct apikey *k, char *err, size_t errlen)
{
	struct apikey *c;
	char hash[TOKEN_HASH_LEN + 1];

	if (k->name == NULL || !apikey_name_valid(k->name)) {
		snprintf(err, errlen, "a key name is 1 to %d of A-Z a-z 0-9 . _ -", APIKEY_NAME_MAX);
		return -1;
	}
	if (!token_hash_valid(k->hash)) {
		snprintf(err, errlen, "key %s: the hash must be \"sha256:\" and 64 lower-case hex "
		    "digits", k->name);
		return -1;
	}
	if (k->owner != NULL && strlen(k->owner) > APIKEY_OWNER_MAX) {
		snprintf(err, errlen, "key %s: the owner is longer than %d bytes", k->name,
		    APIKEY_OWNER_MAX);
		return -1;
	}
	if (k->nallow > APIKEY_PATTERNS_MAX) {
		snprintf(err, errlen, "key %s: more than %d allow patterns", k->name,
		    APIKEY_PATTERNS_MAX);
		return -1;
	}
	for (size_t i = 0; i < k->nallow; i++)
		if (!apikey_pattern_valid(k->allow[i])) {
			snprintf(err, errlen, "key %s: bad allow pattern (1 to %d printable "
			    "characters, no spaces)", k->name, APIKEY_PATTERN_MAX);
			return -1;
		}
	if (find_name(t, k->name, strlen(k->name)) != NULL) {
		snprintf(err, errlen, "key %s: the name is already used", k->name);
		return -1;
	}
	memcpy(hash, k->hash, sizeof(hash));
	if (find_hash(t, hash) != NULL) {
		snprintf(err, errlen, "key %s: the same hash as key %s", k->name,
		    find_hash(t, hash)->name);
		return -1;
	}
	if (t->n >= UINT32_MAX - 1) {
		snprintf(err, errlen, "too many keys");
		return -1;
	}
	if (t->n == t->cap) {
		t->cap = t->cap == 0 ? 8 : t->cap * 2;
		t->keys = xrealloc(t->keys, t->cap * sizeof(*t->keys));
	}
	c = &t->keys[t->n++];
	memset(c, 0, sizeof(*c));
	c->name = xstrdup(k->name);
	c->owner = xstrdup(k->owner != NULL ? k->owner : "");
	memcpy(c->hash, k->hash, sizeof(c->hash));
	c->nallow = k->nallow;
	c->allow = xcalloc(k->nallow + 1, sizeof(char *));
	for (size_t i = 0; i < k->nallow; i++)
		c->allow[i] = xstrdup(k->allow[i]);
	c->limits = k->limits;
	c->expires_at = k->expires_at;
	c->disabled = k->disabled;
	if (2 * t->n > t->nslots)
		reindex(t, t->nslots == 0 ? 16 : t->nslots * 2);
	else {
		index_put(t->by_hash, t->nslots, hash_slot(c->hash), (uint32_t)(t->n - 1));
		index_put(t->by_name, t->nslots, name_slot(c->name, strlen(c->name)),
		    (uint32_t)(t->n - 1));
	}
	return 0;
}

const struct apikey *
apikey_table_find(const struct apikey_table *t, const char *secret, size_t len)
{
	char h[TOKEN_HASH_LEN + 1];
	const struct apikey *k;

	if (t == NULL || t->n == 0)
		return NULL;
	token_hash(secret, len, h);
	k = find_hash(t, h);
	OPENSSL_cleanse(h, sizeof(h));
	return k;
}

const struct apikey *
apikey_table_by_name(const struct apikey_table *t, const char *name)
{
	return find_name(t, name, strlen(name));
}

int
apikey_generate(char out[APIKEY_LEN + 1])
{
	return token_generate_prefixed(APIKEY_PREFIX, out);
}

int
apikey_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > APIKEY_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int
apikey_pattern_valid(const char *pattern)
{
	size_t n = strlen(pattern);

	if (n == 0 || n > APIKEY_PATTERN_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)pattern[i] <= 0x20 || (unsigned char)pattern[i] >= 0x7f)
			return 0;
	return 1;
}

int
apikey_pattern_match(const char *pattern, const char *id, size_t len)
{
	const char *p = pattern, *star = NULL;
	size_t i = 0, retry = 0;

	while (i < len) {
		if (*p == '*') {
			/* runs of stars are one star; remember where to retry */
			while (*p == '*')
				p++;
			if (*p == '\0')
				return 1;
			star = p;
			retry = i;
		} else if (*p != '\0' && *p == id[i]) {
			p++;
			i++;
		} else if (star != NULL) {
			/* the last star takes one more character; earlier ones need not */
			p = star;
			i = ++retry;
		} else
			return 0;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

int
apikey_allows(const struct apikey *k, const char *id, size_t len)
{
	for (size_t i = 0; i < k->nallow; i++)
		if (apikey_pattern_match(k->allow[i], id, len))
			return 1;
	return 0;
}
