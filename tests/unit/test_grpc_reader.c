/*
 * test_grpc_reader: gRPC message reassembly. Whole messages are handed out
 * straight from the fed frame (borrowed), messages cut by frame
 * boundaries are copied; a frame's bytes must never be read after the
 * feed call's "callback" ends, which this test enforces by scribbling
 * over every frame once the reader is done with it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc_wire.h"
#include "check.h"

/* Append a framed message of n bytes, each byte = tag. */
static size_t
frame(uint8_t *out, size_t n, uint8_t tag)
{
	out[0] = 0;
	out[1] = (uint8_t)(n >> 24);
	out[2] = (uint8_t)(n >> 16);
	out[3] = (uint8_t)(n >> 8);
	out[4] = (uint8_t)n;
	memset(out + 5, tag, n);
	return n + 5;
}

/* Feed stream in pieces of `step` bytes (each piece its own heap copy,
 * wiped after use as a DATA frame would be); record the messages. */
static void
feed_in_steps(const uint8_t *stream, size_t len, size_t step, uint32_t max, char *seen,
    size_t seenlen, int *errors)
{
	struct grpc_reader r;
	const uint8_t *msg;
	const char *why;
	size_t mlen, off = 0, n = 0;
	int rc;

	grpc_reader_init(&r, max);
	seen[0] = '\0';
	*errors = 0;
	while (off < len) {
		size_t k = len - off < step ? len - off : step;
		uint8_t *piece = malloc(k);

		memcpy(piece, stream + off, k);
		off += k;
		if (grpc_reader_feed(&r, piece, k) == -1) {
			(*errors)++;
			free(piece);
			break;
		}
		while ((rc = grpc_reader_next(&r, &msg, &mlen, &why)) == 1) {
			/* every byte of a message carries its tag */
			for (size_t i = 1; i < mlen; i++)
				CHECK(msg[i] == msg[0]);
			if (n + 16 < seenlen)
				n += (size_t)snprintf(seen + n, seenlen - n, "%c%zu ", mlen ? msg[0] : '-',
				    mlen);
		}
		if (rc == -1)
			(*errors)++;
		memset(piece, 0xee, k); /* the frame is gone */
		free(piece);
		if (rc == -1)
			break;
	}
	if (*errors == 0)
		CHECK(grpc_reader_buffered(&r) == 0);
	grpc_reader_release(&r);
	grpc_reader_free(&r);
}

int
main(void)
{
	static uint8_t stream[70000];
	char seen[512];
	size_t len = 0, steps[] = { 1, 2, 5, 6, 7, 64, 100, 16384, sizeof(stream) };
	int errors;

	len += frame(stream + len, 10, 'a');
	len += frame(stream + len, 0, 'x');
	len += frame(stream + len, 300, 'b');
	len += frame(stream + len, 40000, 'c');
	len += frame(stream + len, 3, 'd');
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		feed_in_steps(stream, len, steps[i], 65536, seen, sizeof(seen), &errors);
		CHECK(errors == 0);
		if (strcmp(seen, "a10 -0 b300 c40000 d3 ") != 0) {
			fprintf(stderr, "step %zu: got \"%s\"\n", steps[i], seen);
			failures++;
		}
	}

	/* a message over the maximum is refused as soon as its prefix is in */
	feed_in_steps(stream, len, 7, 1000, seen, sizeof(seen), &errors);
	CHECK(errors == 1);
	CHECK(strcmp(seen, "a10 -0 b300 ") == 0);

	/* compressed flag */
	stream[0] = 1;
	feed_in_steps(stream, 15, 15, 1000, seen, sizeof(seen), &errors);
	CHECK(errors == 1);
	stream[0] = 0;

	/* settle: a caller that stops early keeps the rest across frames */
	{
		struct grpc_reader r;
		const uint8_t *msg;
		const char *why;
		size_t mlen;
		uint8_t *piece = malloc(len);

		memcpy(piece, stream, len);
		grpc_reader_init(&r, 65536);
		CHECK(grpc_reader_feed(&r, piece, 15 + 5) == 0); /* "a" and "x" */
		CHECK(grpc_reader_next(&r, &msg, &mlen, &why) == 1 && mlen == 10 && msg[0] == 'a');
		CHECK(grpc_reader_settle(&r) == 0);              /* stop early */
		memset(piece, 0xee, 20);
		CHECK(grpc_reader_buffered(&r) == 5);
		CHECK(grpc_reader_feed(&r, piece + 20, len - 20) == 0);
		memcpy(piece + 20, stream + 20, len - 20);
		CHECK(grpc_reader_next(&r, &msg, &mlen, &why) == 1 && mlen == 0);
		CHECK(grpc_reader_next(&r, &msg, &mlen, &why) == 1 && mlen == 300 && msg[0] == 'b');
		grpc_reader_release(&r);
		grpc_reader_free(&r);
		free(piece);
	}

	if (failures == 0)
		printf("test_grpc_reader: all checks passed\n");
	return failures == 0 ? 0 : 1;
}
