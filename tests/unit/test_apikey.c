/*
 * test_apikey: the key table (add, find by secret and by name, refusals),
 * generated keys, name and pattern rules, and the glob matcher, including
 * patterns built to make a backtracking matcher take forever.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apikey.h"
#include "apikey_cache.h"
#include "check.h"

static int
match(const char *p, const char *id)
{
	return apikey_pattern_match(p, id, strlen(id));
}

static void
test_match(void)
{
	CHECK(match("*", "lab:llama3"));
	CHECK(match("*", ""));
	CHECK(match("lab:*", "lab:llama3"));
	CHECK(match("lab:*", "lab:"));
	CHECK(!match("lab:*", "labs:llama3"));
	CHECK(!match("lab:*", "xlab:llama3"));
	CHECK(match("*:llama3*", "lab:llama3"));
	CHECK(match("*:llama3*", "home:llama3:8b"));
	CHECK(!match("*:llama3*", "lab:mistral"));
	CHECK(match("lab:llama3", "lab:llama3"));
	CHECK(!match("lab:llama3", "lab:llama3x"));
	CHECK(!match("lab:llama3", "lab:llama"));
	CHECK(match("a*b*c", "aXbYc"));
	CHECK(match("a*b*c", "abc"));
	CHECK(!match("a*b*c", "aXbY"));
	CHECK(match("**a**", "xay"));
	CHECK(match("*a", "aaa"));
	CHECK(!match("*a", "aab"));
	CHECK(match("a*a*a", "aaa"));
	CHECK(!match("a*a*a", "aa"));
	CHECK(!match("", "x"));
	CHECK(match("", ""));
	/* the length counts, not a NUL */
	CHECK(apikey_pattern_match("lab:*", "lab:llama3\0junk", 10));
	CHECK(!apikey_pattern_match("lab:x", "lab:x\0", 6));
	/* case matters: namespaces are case-sensitive */
	CHECK(!match("Lab:*", "lab:x"));
}

/* a pattern and id that take a recursive matcher exponential time */
static void
test_match_hostile(void)
{
	char pat[APIKEY_PATTERN_MAX + 1], id[4097];
	clock_t t0 = clock();

	for (size_t i = 0; i < APIKEY_PATTERN_MAX; i++)
		pat[i] = i % 2 == 0 ? '*' : 'a';
	pat[APIKEY_PATTERN_MAX - 1] = 'b';
	pat[APIKEY_PATTERN_MAX] = '\0';
	memset(id, 'a', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	for (int r = 0; r < 20; r++)
		CHECK(!match(pat, id));
	/* generous: a few ms on any machine; exponential would be years */
	CHECK((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0);
}

static void
test_rules(void)
{
	char big[APIKEY_PATTERN_MAX + 2];

	CHECK(apikey_name_valid("alice-laptop"));
	CHECK(apikey_name_valid("a.b_c-D9"));
	CHECK(!apikey_name_valid(""));
	CHECK(!apikey_name_valid("a b"));
	CHECK(!apikey_name_valid("a/b"));
	CHECK(!apikey_name_valid("a:b"));
	memset(big, 'a', sizeof(big));
	big[APIKEY_NAME_MAX] = '\0';
	CHECK(apikey_name_valid(big));
	big[APIKEY_NAME_MAX] = 'a';
	big[APIKEY_NAME_MAX + 1] = '\0';
	CHECK(!apikey_name_valid(big));

	CHECK(apikey_pattern_valid("*"));
	CHECK(apikey_pattern_valid("lab:*"));
	CHECK(!apikey_pattern_valid(""));
	CHECK(!apikey_pattern_valid("lab: x"));
	CHECK(!apikey_pattern_valid("lab:\x01"));
	memset(big, 'a', sizeof(big));
	big[APIKEY_PATTERN_MAX] = '\0';
	CHECK(apikey_pattern_valid(big));
	big[APIKEY_PATTERN_MAX] = 'a';
	big[APIKEY_PATTERN_MAX + 1] = '\0';
	CHECK(!apikey_pattern_valid(big));
}

static void
test_table(void)
{
	struct apikey_table *t = apikey_table_new();
	char secret[64][APIKEY_LEN + 1], name[32], err[256];
	char *allow[] = { (char *)"lab:*", (char *)"*:llama3*" };
	struct apikey k;
	const struct apikey *f;

	CHECK(apikey_table_find(t, "x", 1) == NULL);
	CHECK(apikey_table_by_name(t, "x") == NULL);
	for (int i = 0; i < 64; i++) {
		CHECK(apikey_generate(secret[i]) == 0);
		CHECK(strlen(secret[i]) == APIKEY_LEN);
		CHECK(strncmp(secret[i], "sk-tlk-", 7) == 0);
		CHECK(strspn(secret[i] + 7, "0123456789abcdef") == 64);
		memset(&k, 0, sizeof(k));
		snprintf(name, sizeof(name), "key%d", i);
		k.name = name;
		k.owner = i == 3 ? (char *)"alice@example.org" : NULL;
		token_hash(secret[i], strlen(secret[i]), k.hash);
		k.allow = allow;
		k.nallow = 2;
		k.limits.rpm = (uint32_t)i;
		k.expires_at = i;
		k.disabled = i == 5;
		CHECK(apikey_table_add(t, &k, err, sizeof(err)) == 0);
	}
	CHECK(strcmp(secret[0], secret[1]) != 0);
	CHECK(apikey_table_count(t) == 64);
	for (int i = 0; i < 64; i++) {
		f = apikey_table_find(t, secret[i], strlen(secret[i]));
		snprintf(name, sizeof(name), "key%d", i);
		CHECK(f != NULL && strcmp(f->name, name) == 0 && f->limits.rpm == (uint32_t)i &&
		    f->expires_at == i && f->disabled == (i == 5));
		CHECK(apikey_table_by_name(t, name) == f);
	}
	f = apikey_table_by_name(t, "key3");
	CHECK(f != NULL && strcmp(f->owner, "alice@example.org") == 0);
	f = apikey_table_by_name(t, "key4");
	CHECK(f != NULL && strcmp(f->owner, "") == 0 && f->nallow == 2);
	CHECK(f != NULL && apikey_allows(f, "lab:x", 5) && apikey_allows(f, "b:llama3", 8) &&
	    !apikey_allows(f, "b:x", 3));
	/* a near miss: one character off, a prefix, empty */
	secret[0][10] = secret[0][10] == 'a' ? 'b' : 'a';
	CHECK(apikey_table_find(t, secret[0], APIKEY_LEN) == NULL);
	CHECK(apikey_table_find(t, secret[1], APIKEY_LEN - 1) == NULL);
	CHECK(apikey_table_find(t, "", 0) == NULL);

	/* refusals: duplicate name, duplicate hash, bad hash, bad pattern */
	memset(&k, 0, sizeof(k));
	k.name = (char *)"key7";
	token_hash("other", 5, k.hash);
	CHECK(apikey_table_add(t, &k, err, sizeof(err)) == -1 && strstr(err, "already") != NULL);
	k.name = (char *)"fresh";
	token_hash(secret[2], APIKEY_LEN, k.hash);
	CHECK(apikey_table_add(t, &k, err, sizeof(err)) == -1 && strstr(err, "key2") != NULL);
	strcpy(k.hash, "sha256:XYZ");
	CHECK(apikey_table_add(t, &k, err, sizeof(err)) == -1);
	token_hash("other", 5, k.hash);
	k.allow = (char *[]){ (char *)"a b" };
	k.nallow = 1;
	CHECK(apikey_table_add(t, &k, err, sizeof(err)) == -1);
	k.name = (char *)"bad name";
	k.nallow = 0;
	CHECK(apikey_table_add(t, &k, err, sizeof(err)) == -1);
	k.name = (char *)"fresh";
	CHECK(apikey_table_add(t, &k, err, sizeof(err)) == 0);
	f = apikey_table_find(t, "other", 5);
	CHECK(f != NULL && f->nallow == 0 && !apikey_allows(f, "a:b", 3));
	CHECK(apikey_table_count(t) == 65);
	apikey_table_free(t);
	apikey_table_free(NULL);
	CHECK(apikey_table_count(NULL) == 0);
	CHECK(apikey_table_find(NULL, "x", 1) == NULL);
}

/* One key "k" + secret added to a new table (disabled if asked). */
static struct apikey_table *
table_of(const char *secret, int disabled)
{
	struct apikey_table *t = apikey_table_new();
	struct apikey k;
	char err[256];

	memset(&k, 0, sizeof(k));
	k.name = (char *)"k";
	k.disabled = disabled;
	token_hash(secret, strlen(secret), k.hash);
	CHECK(apikey_table_add(t, &k, err, sizeof(err)) == 0);
	return t;
}

/* The cache answers as the table, and nothing survives a clear: a key
 * removed or disabled (a new table) stops at once. */
static void
test_cache(void)
{
	static struct apikey_cache c;
	char a[APIKEY_LEN + 1], b[APIKEY_LEN + 1], near[APIKEY_LEN + 1];
	char big[APIKEY_CACHE_SECRET_MAX + 2];
	struct apikey_table *t, *t2;
	const struct apikey *f;

	CHECK(apikey_generate(a) == 0 && apikey_generate(b) == 0);
	t = table_of(a, 0);
	apikey_cache_clear(&c);
	f = apikey_cache_find(&c, t, a, APIKEY_LEN);
	CHECK(f != NULL && strcmp(f->name, "k") == 0 && !f->disabled);
	CHECK(apikey_cache_find(&c, t, a, APIKEY_LEN) == f); /* a hit */
	CHECK(apikey_cache_find(&c, t, b, APIKEY_LEN) == NULL);
	memcpy(near, a, sizeof(near));
	near[APIKEY_LEN - 1] ^= 1;
	CHECK(apikey_cache_find(&c, t, near, APIKEY_LEN) == NULL);
	CHECK(apikey_cache_find(&c, t, a, APIKEY_LEN - 1) == NULL);
	CHECK(apikey_cache_find(&c, t, "", 0) == NULL);
	CHECK(apikey_cache_find(&c, t, a, APIKEY_LEN) == f);
	/* revoked: the new table does not have it */
	t2 = table_of(b, 0);
	apikey_cache_clear(&c);
	apikey_table_free(t);
	CHECK(apikey_cache_find(&c, t2, a, APIKEY_LEN) == NULL);
	CHECK(apikey_cache_find(&c, t2, b, APIKEY_LEN) != NULL);
	/* disabled: the new table's key says so */
	t = table_of(b, 1);
	apikey_cache_clear(&c);
	apikey_table_free(t2);
	f = apikey_cache_find(&c, t, b, APIKEY_LEN);
	CHECK(f != NULL && f->disabled);
	/* cleared means wiped: no secret left in memory */
	apikey_cache_clear(&c);
	for (size_t i = 0; i < APIKEY_CACHE_SLOTS; i++)
		CHECK(c.e[i].len == 0 && c.e[i].key == NULL && c.e[i].secret[0] == '\0');
	apikey_table_free(t);
	/* a secret too long to cache is still looked up */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	t = table_of(big, 0);
	CHECK(apikey_cache_find(&c, t, big, strlen(big)) != NULL);
	CHECK(apikey_cache_find(&c, t, big, strlen(big)) != NULL);
	apikey_table_free(t);
	apikey_cache_clear(&c);
}

int
main(void)
{
	test_match();
	test_cache();
	test_match_hostile();
	test_rules();
	test_table();
	return failures != 0;
}
