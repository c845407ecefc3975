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

/*
 * SHA-256, fetched once: OpenSSL 3 looks EVP_sha256() up in its provider
 * tables on every EVP_Digest, about a third of the cost of hashing a key
 * (every API request with a key hashes it). The digest context is kept
 * too (one per process: tokilake's processes are single-threaded).
 */
static const EVP_MD *
sha256(void)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	static EVP_MD *md;

	if (md == NULL)
		md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (md != NULL)
		return md;
#endif
	return EVP_sha256();
}

void
token_hash(const char *token, size_t len, char out[TOKEN_HASH_LEN + 1])
{
	static EVP_MD_CTX *ctx;
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);

	if (ctx == NULL)
		ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestInit_ex(ctx, sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, token, len) != 1 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
		EVP_Digest(token, len, md, &mdlen, sha256(), NULL);
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
