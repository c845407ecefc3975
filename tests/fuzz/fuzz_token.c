/*
 * fuzz_token: the agent token check (token.c) on any bytes as the bearer
 * token an agent presents, and as a configured hash.
 *
 * Checked:
 *  - token_verify accepts the token against a list holding its own hash
 *    (anywhere in the list) and refuses it against other hashes, hashes
 *    of a wrong length or case, and an empty list;
 *  - token_hash always writes "sha256:" and 64 lower-case hex digits, which
 *    token_hash_valid accepts;
 *  - token_hash_valid of the input (as a C string) is true exactly for
 *    "sha256:" and 64 lower-case hex digits.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "token.h"

static int
shape_ok(const char *s)
{
	if (strlen(s) != 7 + 64 || memcmp(s, "sha256:", 7) != 0)
		return 0;
	for (size_t i = 7; i < 7 + 64; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *tok = (const char *)data;
	char h[TOKEN_HASH_LEN + 1], other[TOKEN_HASH_LEN + 1], upper[TOKEN_HASH_LEN + 1];
	char *list[4], *s;

	token_hash(tok, size, h);
	REQUIRE(strlen(h) == TOKEN_HASH_LEN && shape_ok(h) && token_hash_valid(h));
	/* another token: the input with one more byte */
	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = 'x';
	token_hash(s, size + 1, other);
	free(s);
	memcpy(upper, h, sizeof(h));
	for (char *p = upper + 7; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	list[0] = other;
	list[1] = (char *)"sha256:";
	list[2] = upper;
	list[3] = h;
	REQUIRE(token_verify(tok, size, list, 4) == 1);
	REQUIRE(token_verify(tok, size, list + 3, 1) == 1);
	REQUIRE(token_verify(tok, size, list, 2) == 0);
	REQUIRE(token_verify(tok, size, list, 0) == 0);
	if (strcmp(upper, h) != 0)
		REQUIRE(token_verify(tok, size, list + 2, 1) == 0);

	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	REQUIRE(token_hash_valid(s) == shape_ok(s));
	if (shape_ok(s))
		REQUIRE(token_verify(tok, size, &s, 1) == (strcmp(s, h) == 0));
	free(s);
	return 0;
}
