/*
 * ratelimit: the x-ratelimit-* values of one answer to a key with rate
 * limits (OpenAI's headers), from agentd's limiter to the worker.
 *
 * agentd knows the numbers, the worker writes the headers: the values
 * cross the IPC packed in one string of RESP_HEAD or RESP_ERROR
 * (RATELIMIT_PACKED_LEN bytes, or empty for none) instead of six header
 * pairs that agentd would format and the worker would parse, check and
 * copy again.
 *
 * The requests' three headers are there when rpm is set, the tokens'
 * three when tpm is: a limit of 0 means none, and "limit 0, remaining 0"
 * would tell a client to stop.
 */
#ifndef TL_RATELIMIT_H
#define TL_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_REQUESTS 0x01 /* limit_req, remaining_req, reset_req_ms set */
#define RATELIMIT_TOKENS 0x02   /* limit_tok, remaining_tok, reset_tok_ms set */

struct ratelimit {
	uint8_t have; /* RATELIMIT_* */
	uint32_t limit_req, remaining_req, reset_req_ms;
	uint32_t limit_tok, remaining_tok, reset_tok_ms;
};

/* have, then six big-endian 32-bit values */
#define RATELIMIT_PACKED_LEN 25
/* Returns RATELIMIT_PACKED_LEN, or 0 (nothing written) when rl has none. */
size_t ratelimit_pack(const struct ratelimit *rl, uint8_t out[RATELIMIT_PACKED_LEN]);
/* 0 and *rl filled; -1 when p is not a packed value (any other length, or
 * unknown bits in have). */
int ratelimit_unpack(const char *p, size_t len, struct ratelimit *rl);

/* The headers of rl: n pairs, names static, values in the struct. */
#define RATELIMIT_HEADERS_MAX 6
struct ratelimit_headers {
	size_t n;
	const char *name[RATELIMIT_HEADERS_MAX];
	size_t name_len[RATELIMIT_HEADERS_MAX];
	char value[RATELIMIT_HEADERS_MAX][24];
	size_t value_len[RATELIMIT_HEADERS_MAX];
};
void ratelimit_headers(const struct ratelimit *rl, struct ratelimit_headers *out);
/* 1 if name (any case) is one of the six: a backend's are replaced. */
int ratelimit_header_name(const char *name, size_t len);

/* v in decimal, NUL-terminated; out has room for 21 bytes. Returns the length. */
size_t ratelimit_put_u64(char *out, uint64_t v);
/* OpenAI's duration form of ms: "17ms", "1s", "1.5s", "6m0s", "1h0m0s".
 * Returns the length written to out (size >= 24; 0 if smaller). */
size_t ratelimit_duration(char *out, size_t size, uint64_t ms);

#endif
