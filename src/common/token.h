/*
 * token: namespace secrets for the agent link.
 *
 * A token is 32 random bytes, shown once as "tlk_" + 64 hex digits. Only
 * its hash "sha256:<hex>" is stored (config or database). A plain SHA-256
 * is enough because tokens are high-entropy; a password KDF would only
 * slow every link-up. Verification compares hashes in constant time.
 */
#ifndef TL_TOKEN_H
#define TL_TOKEN_H

#include <stddef.h>

#define TOKEN_LEN (4 + 64)          /* "tlk_" + hex */
#define TOKEN_HASH_LEN (7 + 64)     /* "sha256:" + hex */

/* Fill out[TOKEN_LEN + 1] with a new token. -1 if the RNG fails. */
int token_generate(char out[TOKEN_LEN + 1]);
/* Any secret of this shape: prefix + 64 hex digits of 32 random bytes into
 * out[strlen(prefix) + 64 + 1] (API keys use it too). -1 if the RNG fails. */
int token_generate_prefixed(const char *prefix, char *out);
/* Hash any presented secret: out[TOKEN_HASH_LEN + 1]. */
void token_hash(const char *token, size_t len, char out[TOKEN_HASH_LEN + 1]);
/* 1 if token hashes to one of hashes[0..n), else 0. Constant time per hash. */
int token_verify(const char *token, size_t len, char *const *hashes, size_t n);
/* 1 if s looks like a stored hash ("sha256:" + 64 lower-case hex). */
int token_hash_valid(const char *s);

#endif
