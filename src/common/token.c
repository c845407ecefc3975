/* token: see token.h. */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "token.h"

static const char hexdigits[] = "0123456789abcdef";

static void
to_hex(const unsigned char *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdigits[in[i] >> 4];
		out[2 * i + 1] = hexdigits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int
token_generate_prefixed(const char *prefix, char *out)
{
	unsigned char raw[32];
	size_t n = strlen(prefix);

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	memcpy(out, prefix, n);
	to_hex(raw, sizeof(raw), out + n);
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

int
token_generate(char out[TOKEN_LEN + 1])
{
	return token_generate_prefixed("tlk_", out);
}

void
token_hash(const char *token, size_t len, char out[TOKEN_HASH_LEN + 1])
{
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);

	EVP_Digest(token, len, md, &mdlen, EVP_sha256(), NULL);
	memcpy(out, "sha256:", 7);
	to_hex(md, sizeof(md), out + 7);
}

int
token_verify(const char *token, size_t len, char *const *hashes, size_t n)
{
	char h[TOKEN_HASH_LEN + 1];
	int ok = 0;

	token_hash(token, len, h);
	/* check every hash so the time does not tell which one matched */
	for (size_t i = 0; i < n; i++)
		if (strlen(hashes[i]) == TOKEN_HASH_LEN &&
		    CRYPTO_memcmp(h, hashes[i], TOKEN_HASH_LEN) == 0)
			ok = 1;
	OPENSSL_cleanse(h, sizeof(h));
	return ok;
}

int
token_hash_valid(const char *s)
{
	if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != TOKEN_HASH_LEN)
		return 0;
	for (const char *p = s + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}
