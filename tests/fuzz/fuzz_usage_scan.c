/*
 * fuzz_usage_scan: the usage scanner (usage_scan.c) and the stream
 * filter (usage_relay.c) on any bytes as a backend's answer.
 *
 * The first input byte picks the mode (JSON, SSE, SSE with stripping)
 * and seeds where the rest is cut into pieces. Checked:
 *  - whole or in pieces, the counts and the bytes passed on are the same
 *    (the scanner keeps no state that depends on where a piece ends);
 *  - without stripping, the bytes passed on are the answer's exactly;
 *  - stripping only takes bytes out, and none from an answer without
 *    "usage" in it;
 *  - usage_relay_end leaves nothing held.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "usage_relay.h"

struct result {
	int known;
	uint64_t prompt, completion;
	struct buf out;
};

static void
run(enum uscan_mode mode, int strip, const uint8_t *p, size_t n, uint64_t seed, struct result *r)
{
	struct usage_relay u;
	size_t off = 0;

	buf_init(&r->out, 0);
	usage_relay_init(&u, mode, strip);
	while (off < n) {
		size_t k = n - off;

		if (seed != 0)
			k = 1 + (size_t)(fuzz_rnd(&seed) % (k < 64 ? k : 64));
		REQUIRE(usage_relay_data(&u, (const char *)p + off, k, &r->out) == 0);
		off += k;
	}
	REQUIRE(usage_relay_end(&u, &r->out) == 0);
	REQUIRE(u.hold.len == 0);
	r->known = usage_scan_result(&u.scan, &r->prompt, &r->completion);
	usage_relay_free(&u);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct result whole, cut;
	enum uscan_mode mode;
	int strip;

	if (size == 0)
		return 0;
	mode = (data[0] & 3) == 0 ? USCAN_JSON : USCAN_SSE;
	strip = (data[0] & 3) == 2;
	run(mode, strip, data + 1, size - 1, 0, &whole);
	run(mode, strip, data + 1, size - 1, (uint64_t)data[0] * 0x9e3779b97f4a7c15ULL | 1, &cut);
	REQUIRE(whole.known == cut.known);
	REQUIRE(!whole.known || (whole.prompt == cut.prompt && whole.completion == cut.completion));
	REQUIRE(whole.out.len == cut.out.len);
	REQUIRE(whole.out.len == 0 ||
	    memcmp(buf_head(&whole.out), buf_head(&cut.out), whole.out.len) == 0);
	if (!strip || memmem(data + 1, size - 1, "usage", 5) == NULL)
		REQUIRE(whole.out.len == size - 1 &&
		    (size == 1 || memcmp(buf_head(&whole.out), data + 1, size - 1) == 0));
	else
		REQUIRE(whole.out.len <= size - 1);
	buf_free(&whole.out);
	buf_free(&cut.out);
	return 0;
}
