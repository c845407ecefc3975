/*
 * fuzz_read_guard: the worker's HTTP/1 read guard scan (read_guard.c)
 * against arbitrary request streams.
 *
 * LLVMFuzzerTestOneInput() takes the first byte as a seed for where the
 * stream is cut into reads, scans the rest once whole and once read by
 * read (the guard sees bytes as the socket delivers them), and checks
 * what the guard must guarantee: it never reads outside the bytes it was
 * given (ASan), a refusal has a status, a code and a message, a request
 * boundary lies inside the scanned bytes, and the verdict does not depend
 * on how the stream was cut: the same refusal status, or the same state
 * at the end and the same start of the last request.
 *
 * Built plainly (make check) it has its own main(): with file arguments
 * it runs each file once (to replay a crash); without, it replays
 * tests/fuzz/corpus/read_guard (inputs that once broke an invariant), then
 * feeds 100000
 * inputs made from a fixed seed: good and broken heads, Content-Length and
 * chunked bodies, pipelined, with random bytes mixed in.
 *
 * The libFuzzer build, from a configured build directory:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -DTL_LIBFUZZER -DH2O_USE_LIBUV=0 \
 *       -I. -I$srcdir/src/common -I$srcdir/src/worker $srcdir/tests/fuzz/fuzz_read_guard.c \
 *       $srcdir/src/worker/framing.c $srcdir/src/common/log.c \
 *       -lh2o-evloop -lssl -lcrypto -o fuzz_read_guard_lf
 *   mkdir -p corpus && ./fuzz_read_guard_lf -max_len=4096 corpus
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the file under test, for its static scan() */
#include "../../src/worker/read_guard.c"

#include "fuzz.h"
#include "oai_error.h"
#include "request_id.h"

struct worker wk;
static struct tl_config conf;
static unsigned long seen_status[4]; /* accepted, 400, 413, 431: the driver's tally */

/* What read_guard.c and framing.c call elsewhere in the worker. */
struct read_guard *
wk_conns_guard(h2o_socket_t *sock)
{
	(void)sock;
	return NULL;
}

int
wk_conns_refuse(h2o_socket_t *sock, h2o_socket_cb reader, int status, const char *code,
    const char *message)
{
	(void)sock, (void)reader, (void)status, (void)code, (void)message;
	return 0;
}

void
wk_oai_send_error(h2o_req_t *req, int status, const char *type, const char *param,
    const char *code, const char *fmt, ...)
{
	(void)req, (void)status, (void)type, (void)param, (void)code, (void)fmt;
}

const char *
wk_request_id(h2o_req_t *req)
{
	(void)req;
	return "-";
}

struct outcome {
	int status;
	int state;
	size_t last_cut;   /* start of the last request begun, SIZE_MAX: none */
	struct read_guard g;
};

/* Scan data[0, size) in reads ending at cuts[] (then size). */
static void
run(const char *data, size_t size, const size_t *cuts, size_t ncuts, struct outcome *o)
{
	struct scan r;
	size_t from = 0;

	memset(o, 0, sizeof(*o));
	o->last_cut = SIZE_MAX;
	for (size_t i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : size;

		if (to <= from)
			continue;
		scan(&o->g, data, from, to, &r);
		if (r.crossed) {
			REQUIRE(r.cut >= from && r.cut <= to);
			o->last_cut = r.cut;
		}
		if (r.status != 0) {
			REQUIRE(r.code != NULL && r.message != NULL && r.message[0] != '\0');
			REQUIRE(r.status == 400 || r.status == 413 || r.status == 431);
			o->status = r.status;
			return;
		}
		from = to;
	}
	o->state = o->g.state;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome whole, pieces;
	size_t cuts[64], ncuts = 0;
	uint32_t x;
	char *copy;

	if (size < 1)
		return 0;
	conf.http.max_header_size = 256;
	conf.http.max_body_size = 1024;
	wk.conf = &conf;
	x = data[0] * 2654435761u + 1;
	data++, size--;
	/* a private copy, exactly sized: ASan sees any read past it */
	copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	for (size_t at = 0; ncuts < 64 && size != 0;) {
		x = x * 1103515245u + 12345u;
		at += 1 + (x >> 16) % 16;
		if (at >= size)
			break;
		cuts[ncuts++] = at;
	}
	run(copy, size, NULL, 0, &whole);
	run(copy, size, cuts, ncuts, &pieces);
	REQUIRE(whole.status == pieces.status);
	seen_status[whole.status == 0 ? 0 : whole.status == 400 ? 1 : whole.status == 413 ? 2 : 3]++;
	if (whole.status == 0) {
		REQUIRE(whole.state == pieces.state);
		REQUIRE(whole.last_cut == pieces.last_cut);
		if (whole.state == S_LENGTH || whole.state == S_DATA)
			REQUIRE(whole.g.left == pieces.g.left);
		REQUIRE(whole.g.total == pieces.g.total);
	}
	free(copy);
	return 0;
}

#ifndef TL_LIBFUZZER
static uint32_t seed = 12345;

static uint32_t
rnd(uint32_t n)
{
	seed = seed * 1103515245u + 12345u;
	return (seed >> 16) % n;
}

static const char *const pieces_of_requests[] = {
	"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n",
	"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
	"Content-Length: 5\r\n", "Content-Length: 0\r\n", "Content-Length: 99999\r\n",
	"Transfer-Encoding: chunked\r\n", "Transfer-Encoding: gzip\r\n", "Upgrade: h2c\r\n",
	"\r\n", "\n", "hello", "5\r\nhello\r\n", "0\r\n\r\n", "0\r\nX-T: y\r\n\r\n",
	"400\r\n", "fffffffff\r\n", "5;ext=1\r\n", "5 \r\n", "5x\r\n", "\r", "HTTP/1.0\r\n",
	"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", " folded\r\n",
	/* a sound header line that soon makes a head too long (431, not 400) */
	"X-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
	"GET /bad\x01path HTTP/1.1\r\n", "X-Ctl: a\x01b\r\n", "Bad Name: x\r\n",
};

/*
 * A whole request whose head h2o's parser accepts, so that most streams
 * get past the head to the framing and the body: a request line, a few
 * sound header lines, the blank line, then a body (fitting its framing
 * or not). Returns its length, 0 when it does not fit in room.
 */
static size_t
sound_request(uint8_t *out, size_t room)
{
	static const char *const starts[] = {
		"POST /v1/chat/completions HTTP/1.1\r\n", "GET /healthz HTTP/1.1\r\n",
		"POST /v1/embeddings HTTP/1.0\r\n",
	};
	static const char *const lines[] = {
		"Host: x\r\n", "Content-Length: 5\r\n", "Content-Length: 0\r\n",
		"Transfer-Encoding: chunked\r\n", "Transfer-Encoding: gzip\r\n",
		"Content-Type: application/json\r\n", "Upgrade: h2c\r\n",
		"X-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
	};
	static const char *const bodies[] = {
		"", "hello", "5\r\nhello\r\n0\r\n\r\n", "5;ext=1\r\nhello\r\n0\r\nX-T: y\r\n\r\n",
		"fffffffff\r\n", "400\r\n", "200\r\n", "5x\r\n", "0\r\n\r\n", "3\r\nabc\r\n",
	};
	char tmp[1024];
	size_t n;
	int nlines = (int)rnd(5);

	n = (size_t)snprintf(tmp, sizeof(tmp), "%s", starts[rnd(3)]);
	for (int i = 0; i < nlines; i++)
		n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "%s",
		    lines[rnd(sizeof(lines) / sizeof(lines[0]))]);
	n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "\r\n%s",
	    bodies[rnd(sizeof(bodies) / sizeof(bodies[0]))]);
	if (n >= sizeof(tmp) || n > room)
		return 0;
	memcpy(out, tmp, n);
	return n;
}

static int
run_file(const char *path)
{
	static uint8_t buf[4096];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL) {
		perror(path);
		return 1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	return 0;
}

int
main(int argc, char **argv)
{
	static uint8_t buf[4096];
	int rc = 0;

	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			rc |= run_file(argv[i]);
		return rc;
	}
	if (fuzz_each_seed("read_guard", run_file) != 0)
		return 1;
	for (int round = 0; round < 100000; round++) {
		size_t n = 1;
		int parts = 1 + (int)rnd(6);

		buf[0] = (uint8_t)rnd(256);
		for (int i = 0; i < parts; i++) {
			const char *p;
			size_t len;

			if (rnd(4) != 0) {
				if ((len = sound_request(buf + n, sizeof(buf) - n)) == 0)
					break;
			} else if (rnd(8) == 0) {
				len = 1 + rnd(40);
				if (n + len > sizeof(buf))
					break;
				for (size_t k = 0; k < len; k++)
					buf[n + k] = (uint8_t)"\r\n:0aF;x "[rnd(9)];
			} else {
				p = pieces_of_requests[rnd(sizeof(pieces_of_requests) /
				    sizeof(pieces_of_requests[0]))];
				len = strlen(p);
				if (n + len > sizeof(buf))
					break;
				memcpy(buf + n, p, len);
			}
			n += len;
		}
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("fuzz_read_guard: 100000 inputs: %lu accepted, %lu 400, %lu 413, %lu 431\n",
	    seen_status[0], seen_status[1], seen_status[2], seen_status[3]);
	/* the driver must reach every verdict, or it tests little */
	REQUIRE(seen_status[0] && seen_status[1] && seen_status[2] && seen_status[3]);
	return 0;
}
#endif
