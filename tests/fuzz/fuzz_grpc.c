/*
 * fuzz_grpc: gRPC message framing (grpc_wire.c), as agentd and tokiame
 * read it from HTTP/2 DATA frames, and the two gRPC header decoders.
 *
 * Input: byte 0 picks the maximum message size (0: the 4 MiB default,
 * else 3 * byte), byte 1 seeds how the rest is cut into DATA frames of
 * 1..16384 bytes and where the caller stops early; the rest is the stream.
 *
 * Checked, against a plain reference parse of the whole stream:
 *  - the reader returns exactly the reference's messages, in order, same
 *    bytes, whatever the frame cuts;
 *  - it fails (-1, with a reason) exactly where the reference finds a
 *    flags byte other than 0 or a length over the maximum, and never
 *    before the 5-byte prefix is complete;
 *  - otherwise, at the end, grpc_reader_buffered() is exactly the bytes of
 *    the unfinished message;
 *  - feeding a frame into a drained reader never fails (the bound holds
 *    one message and one frame), and borrowed frame bytes are never read
 *    after the frame's callback: each frame is a heap copy freed right
 *    after, so ASan sees any later read;
 *  - a caller that stops early and settles gets the same messages later.
 * And on the same bytes: grpc_timeout_parse accepts exactly 1-8 digits
 * and a unit letter, with the value in ms (rounded up, saturated);
 * grpc_message_decode stays inside its buffer, and decoding what
 * grpc_message_encode wrote gives back the text.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "grpc_wire.h"

#define FRAME_MAX 16384

static uint64_t rng;

static uint64_t
rnd(void)
{
	return fuzz_rnd(&rng);
}

struct ref {
	const uint8_t *s;
	size_t len, pos;
	uint32_t max;
	int failed;
};

/* The reference: 1 and the next message, 0 at the end, -1 on an error. */
static int
ref_next(struct ref *r, const uint8_t **msg, size_t *len)
{
	size_t left = r->len - r->pos;
	const uint8_t *p = r->s + r->pos;
	uint32_t n;

	if (left < GRPC_PREFIX_SIZE)
		return 0;
	n = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
	if (p[0] != 0 || n > r->max)
		return -1;
	if (left - GRPC_PREFIX_SIZE < n)
		return 0;
	*msg = p + GRPC_PREFIX_SIZE;
	*len = n;
	r->pos += GRPC_PREFIX_SIZE + n;
	return 1;
}

/* One reader step checked against the reference; 0 to go on, 1 when
 * incomplete, -1 once the stream is dead. */
static int
step(struct grpc_reader *gr, struct ref *ref)
{
	const uint8_t *msg = NULL, *want = NULL;
	size_t len = 0, wlen = 0;
	const char *why = NULL;
	int r = grpc_reader_next(gr, &msg, &len, &why);
	int w = ref_next(ref, &want, &wlen);

	REQUIRE(r == w);
	if (r == 1) {
		REQUIRE(len == wlen && (len == 0 || memcmp(msg, want, len) == 0));
		return 0;
	}
	if (r == -1) {
		REQUIRE(why != NULL && why[0] != '\0');
		return -1;
	}
	REQUIRE(grpc_reader_buffered(gr) == ref->len - ref->pos);
	return 1;
}

static void
check_reader(const uint8_t *data, size_t size)
{
	struct grpc_reader gr;
	struct ref ref = { 0 };
	size_t off = 0, total;
	int dead = 0;

	if (size < 2)
		return;
	ref.max = data[0] == 0 ? 4 * 1024 * 1024 : 3u * data[0];
	rng = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)data[1] << 17 | data[1]);
	ref.s = data + 2;
	total = size - 2;
	grpc_reader_init(&gr, ref.max);
	while (off < total && !dead) {
		static const size_t shapes[] = { 1, 3, 5, 7, 64, 700, FRAME_MAX };
		size_t n = 1 + (size_t)(rnd() % shapes[rnd() % 7]);
		uint8_t *frame;
		int early = rnd() % 4 == 0, r;

		if (n > total - off)
			n = total - off;
		frame = malloc(n);
		memcpy(frame, ref.s + off, n);
		off += n;
		ref.len = off; /* the reference sees what was fed so far */
		REQUIRE(grpc_reader_feed(&gr, frame, n) == 0);
		if (early) {
			/* take one message at most, then keep the rest past the callback */
			if ((r = step(&gr, &ref)) == -1)
				dead = 1;
			else if (r == 0)
				REQUIRE(grpc_reader_settle(&gr) == 0);
		}
		while (!dead && (r = step(&gr, &ref)) != 1)
			if (r == -1)
				dead = 1;
		memset(frame, 0xa5, n); /* what a reused frame buffer would hold */
		free(frame);
		if (!dead && grpc_reader_buffered(&gr) == 0)
			grpc_reader_release(&gr);
	}
	if (total == 0)
		REQUIRE(step(&gr, &ref) == 1);
	grpc_reader_free(&gr);
}

static void
check_timeout(const uint8_t *data, size_t size)
{
	uint32_t ms = 0;
	int r = grpc_timeout_parse((const char *)data, size, &ms);
	uint64_t n = 0, want;
	int ok = size >= 2 && size <= 9;

	for (size_t i = 0; ok && i + 1 < size; i++) {
		ok = data[i] >= '0' && data[i] <= '9';
		n = n * 10 + (uint64_t)(data[i] - '0');
	}
	if (ok) {
		switch (data[size - 1]) {
		case 'H': want = n * 3600 * 1000; break;
		case 'M': want = n * 60 * 1000; break;
		case 'S': want = n * 1000; break;
		case 'm': want = n; break;
		case 'u': want = n / 1000 + (n % 1000 != 0); break;
		case 'n': want = n / 1000000 + (n % 1000000 != 0); break;
		default: ok = 0; want = 0;
		}
		if (ok)
			REQUIRE(r == 0 && ms == (want > UINT32_MAX ? UINT32_MAX : want));
	}
	if (!ok)
		REQUIRE(r == -1);
}

static void
check_message(const uint8_t *data, size_t size)
{
	char out[64], enc[3 * 64 + 1], text[64], back[64];
	size_t outlen = 1 + (size ? data[0] % sizeof(out) : 0), tl;

	/* decode: NUL-terminated inside outlen, never longer than the input */
	memset(out, 'x', sizeof(out));
	grpc_message_decode((const char *)data, size, out, outlen);
	REQUIRE(memchr(out, '\0', outlen) != NULL);
	REQUIRE(strlen(out) <= size);
	for (size_t i = outlen; i < sizeof(out); i++)
		REQUIRE(out[i] == 'x');

	/* encode then decode: the text again (a NUL-free prefix of the input) */
	tl = strnlen((const char *)data, size < sizeof(text) ? size : sizeof(text) - 1);
	memcpy(text, data, tl);
	text[tl] = '\0';
	grpc_message_encode(text, enc, sizeof(enc));
	for (const char *p = enc; *p; p++)
		REQUIRE(*p >= 0x20 && *p <= 0x7e);
	grpc_message_decode(enc, strlen(enc), back, sizeof(back));
	REQUIRE(strcmp(back, text) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_reader(data, size);
	check_timeout(data, size);
	check_message(data, size);
	return 0;
}
