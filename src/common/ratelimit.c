/* ratelimit: see ratelimit.h. */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "ratelimit.h"

/* Two digits a step from the right (six numbers on every answer of a
 * key with limits). */
size_t
ratelimit_put_u64(char *out, uint64_t v)
{
	static const char pairs[201] =
	    "0001020304050607080910111213141516171819"
	    "2021222324252627282930313233343536373839"
	    "4041424344454647484950515253545556575859"
	    "6061626364656667686970717273747576777879"
	    "8081828384858687888990919293949596979899";
	char tmp[20];
	size_t i = sizeof(tmp);

	while (v >= 100) {
		size_t d = (size_t)(v % 100) * 2;

		v /= 100;
		tmp[--i] = pairs[d + 1];
		tmp[--i] = pairs[d];
	}
	if (v >= 10) {
		tmp[--i] = pairs[v * 2 + 1];
		tmp[--i] = pairs[v * 2];
	} else
		tmp[--i] = (char)('0' + v);
	memcpy(out, tmp + i, sizeof(tmp) - i);
	out[sizeof(tmp) - i] = '\0';
	return sizeof(tmp) - i;
}

size_t
ratelimit_duration(char *out, size_t size, uint64_t ms)
{
	uint64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
	size_t n = 0;

	if (size < 24)
		return 0;
	if (ms == 0) {
		memcpy(out, "0s", 3);
		return 2;
	}
	if (ms < 1000) {
		n = ratelimit_put_u64(out, ms);
		memcpy(out + n, "ms", 3);
		return n + 2;
	}
	if (h > 999999)
		h = 999999; /* keeps the longest form inside 24 bytes */
	if (h > 0) {
		n += ratelimit_put_u64(out + n, h);
		out[n++] = 'h';
	}
	if (h > 0 || m > 0) {
		n += ratelimit_put_u64(out + n, m);
		out[n++] = 'm';
	}
	n += ratelimit_put_u64(out + n, s);
	if (frac != 0) {
		out[n++] = '.';
		out[n++] = (char)('0' + frac / 100);
		if (frac % 100 != 0) {
			out[n++] = (char)('0' + frac / 10 % 10);
			if (frac % 10 != 0)
				out[n++] = (char)('0' + frac % 10);
		}
	}
	out[n++] = 's';
	out[n] = '\0';
	return n;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

size_t
ratelimit_pack(const struct ratelimit *rl, uint8_t out[RATELIMIT_PACKED_LEN])
{
	if (rl->have == 0)
		return 0;
	out[0] = rl->have;
	put32(out + 1, rl->limit_req);
	put32(out + 5, rl->remaining_req);
	put32(out + 9, rl->reset_req_ms);
	put32(out + 13, rl->limit_tok);
	put32(out + 17, rl->remaining_tok);
	put32(out + 21, rl->reset_tok_ms);
	return RATELIMIT_PACKED_LEN;
}

int
ratelimit_unpack(const char *p, size_t len, struct ratelimit *rl)
{
	const uint8_t *u = (const uint8_t *)p;

	if (len != RATELIMIT_PACKED_LEN || u[0] == 0 ||
	    (u[0] & ~(RATELIMIT_REQUESTS | RATELIMIT_TOKENS)) != 0)
		return -1;
	rl->have = u[0];
	rl->limit_req = get32(u + 1);
	rl->remaining_req = get32(u + 5);
	rl->reset_req_ms = get32(u + 9);
	rl->limit_tok = get32(u + 13);
	rl->remaining_tok = get32(u + 17);
	rl->reset_tok_ms = get32(u + 21);
	return 0;
}

/* The three headers of one kind: "x-ratelimit-limit-" kind and so on. */
static const struct {
	const char *name[3];
	size_t len[3];
} kinds[2] = {
	{ { "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests",
	    "x-ratelimit-reset-requests" }, { 26, 30, 26 } },
	{ { "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens",
	    "x-ratelimit-reset-tokens" }, { 24, 28, 24 } },
};

static void
three(struct ratelimit_headers *out, int kind, uint32_t l, uint32_t r, uint32_t ms)
{
	size_t k = out->n;

	for (size_t i = 0; i < 3; i++) {
		out->name[k + i] = kinds[kind].name[i];
		out->name_len[k + i] = kinds[kind].len[i];
	}
	out->value_len[k] = ratelimit_put_u64(out->value[k], l);
	out->value_len[k + 1] = ratelimit_put_u64(out->value[k + 1], r);
	out->value_len[k + 2] = ratelimit_duration(out->value[k + 2], sizeof(out->value[k + 2]), ms);
	out->n = k + 3;
}

void
ratelimit_headers(const struct ratelimit *rl, struct ratelimit_headers *out)
{
	out->n = 0;
	if (rl->have & RATELIMIT_REQUESTS)
		three(out, 0, rl->limit_req, rl->remaining_req, rl->reset_req_ms);
	if (rl->have & RATELIMIT_TOKENS)
		three(out, 1, rl->limit_tok, rl->remaining_tok, rl->reset_tok_ms);
}

int
ratelimit_header_name(const char *name, size_t len)
{
	/* the first bytes first: most of a backend's headers are not */
	return len >= 12 && (name[0] | 0x20) == 'x' && name[1] == '-' && (name[2] | 0x20) == 'r' &&
	    strncasecmp(name, "x-ratelimit-", 12) == 0;
}
