/*
 * cfg_value: the value syntaxes config files share, parsed and printed
 * in one place so that tokilake.yaml, tokiame.yaml, the man pages and
 * the effective config printed by -nv all agree.
 *
 *   duration  "500ms", "10s", "5m", "1h"; a bare integer is seconds.
 *   size      a bare integer is bytes; "KiB", "MiB", "GiB" are powers of
 *             1024; "KB", "MB", "GB" are powers of 1000 (SI); "B" = bytes.
 *   address   "host:port" or "[ipv6]:port"; the port is 1-65535; the host
 *             is a name or an IPv4 address (checked, never resolved).
 *
 * The parsers saturate at UINT64_MAX instead of wrapping, so a huge
 * value fails its bounds check instead of becoming a small one.
 * The check functions return NULL when the value is fine, or a static
 * string saying what is wrong (to follow "key: ").
 */
#ifndef TL_CFG_VALUE_H
#define TL_CFG_VALUE_H

#include <stddef.h>
#include <stdint.h>

#define CFG_NAMESPACE_MAX 63 /* [a-z0-9][a-z0-9._-]{0,62} */
#define CFG_TOKEN_HASH_PREFIX "sha256:"
#define CFG_TOKEN_HASH_LEN (sizeof(CFG_TOKEN_HASH_PREFIX) - 1 + 64)
/* What to tell someone whose namespace name cfg_namespace_valid() refused. */
#define CFG_NAMESPACE_RULE \
	"a namespace name is 1 to 63 of a-z 0-9 . _ - and starts with a letter or digit"

/* 0 and the value, or -1 if s is not in that syntax. */
int cfg_parse_uint(const char *s, uint64_t *v);
int cfg_parse_bool(const char *s, int *v); /* true/false, yes/no, on/off */
int cfg_parse_duration(const char *s, uint64_t *ms);
int cfg_parse_size(const char *s, uint64_t *bytes);

/* Canonical text: the largest unit that divides the value exactly. */
void cfg_format_duration(uint64_t ms, char *out, size_t outlen);
void cfg_format_size(uint64_t bytes, char *out, size_t outlen);

const char *cfg_check_address(const char *s);
/* Namespace names, as in a model name "namespace:model". */
int cfg_namespace_valid(const char *s, size_t len);
/* "sha256:" then 64 hex digits (either case; see cfg_token_hash_lower). */
const char *cfg_check_token_hash(const char *s);
void cfg_token_hash_lower(char *s);

#endif
