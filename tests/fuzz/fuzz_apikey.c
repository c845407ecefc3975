/*
 * fuzz_apikey: the key patterns' glob matcher (apikey.c), which reads
 * patterns from tokilake.yaml or the database and model ids from clients.
 *
 * The input is a pattern, a newline, then the id; without a newline the
 * whole input is both the pattern and the id.
 *
 * Checked:
 *  - apikey_pattern_match agrees with a plain dynamic-programming matcher
 *    (when the sizes keep that one cheap);
 *  - a pattern without '*' matches exactly the id equal to it;
 *  - "*" + pattern + "*" matches whatever the pattern matches, and "*"
 *    matches everything;
 *  - apikey_pattern_valid is true exactly for 1 to APIKEY_PATTERN_MAX
 *    printable, non-space ASCII characters.
 * The matcher's cost is bounded by len(pattern) * len(id) (libFuzzer's
 * -timeout catches a hang).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "apikey.h"
#include "fuzz.h"

/* DP over (pattern position, id position): the reference. */
static int
ref_match(const char *p, size_t plen, const char *s, size_t slen)
{
	unsigned char *row = calloc(slen + 1, 1), *next = calloc(slen + 1, 1);
	int r;

	/* row[j]: p[0..i) matches s[0..j) */
	row[0] = 1;
	for (size_t i = 0; i < plen; i++) {
		memset(next, 0, slen + 1);
		if (p[i] == '*') {
			int any = 0;

			for (size_t j = 0; j <= slen; j++) {
				any |= row[j];
				next[j] = (unsigned char)any;
			}
		} else
			for (size_t j = 1; j <= slen; j++)
				next[j] = row[j - 1] && s[j - 1] == p[i];
		memcpy(row, next, slen + 1);
	}
	r = row[slen];
	free(row);
	free(next);
	return r;
}

static int
valid_ref(const char *p, size_t len)
{
	if (len == 0 || len > APIKEY_PATTERN_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *nl = memchr(data, '\n', size);
	size_t plen = nl != NULL ? (size_t)(nl - in) : size;
	const char *id = nl != NULL ? nl + 1 : in;
	size_t idlen = nl != NULL ? size - plen - 1 : size;
	char *pat, *wide;
	int m;

	/* the pattern as a C string: stop at a NUL as the config would */
	pat = malloc(plen + 1);
	memcpy(pat, in, plen);
	pat[plen] = '\0';
	plen = strlen(pat);

	m = apikey_pattern_match(pat, id, idlen);
	if (plen * idlen <= 1u << 20)
		REQUIRE(m == ref_match(pat, plen, id, idlen));
	if (strchr(pat, '*') == NULL)
		REQUIRE(m == (plen == idlen && memcmp(pat, id, idlen) == 0));
	REQUIRE(apikey_pattern_match("*", id, idlen));
	wide = malloc(plen + 3);
	wide[0] = '*';
	memcpy(wide + 1, pat, plen);
	wide[plen + 1] = '*';
	wide[plen + 2] = '\0';
	if (m)
		REQUIRE(apikey_pattern_match(wide, id, idlen));
	REQUIRE(apikey_pattern_valid(pat) == valid_ref(pat, plen));
	free(wide);
	free(pat);
	return 0;
}
