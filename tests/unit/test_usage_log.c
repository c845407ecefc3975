/*
 * test_usage_log: the standalone usage log's lines (src/master/usage_log.c),
 * byte for byte. The line is a contract (tokilakectl usage and users'
 * scripts read it); the writer is formatted by hand for speed, so these
 * golden lines, taken from the snprintf writer it replaced, hold it to
 * the same bytes: plain strings, escaped ones (quote, backslash, newline,
 * a control byte, UTF-8 kept, a byte that is not UTF-8), unknown usage,
 * no first byte, a year past 9999, the largest counts.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "master.h"
#include "pg.h"
#include "tl_config.h"
#include "usage.h"

uint64_t master_now_ms(void) { return 0; }
int pg_enabled(void) { return 0; }
void pg_usage_add(const struct ipc_usage *u) { (void)u; CHECK(0); }

#define S(s) ((struct ipc_str){ (s), sizeof(s) - 1 })

static const struct ipc_usage recs[] = {
	{ S("bench"), S("demo"), S("m"), S("vm"), S("r1"), S("ok"), 200, IPC_USAGE_F_KNOWN, 21, 7,
		25, 30, 1796000000123ULL },
	{ S(""), S("lab"), S("a\"b\\c\n\x01\xc3\xa9\xff/x"), S("n1"), S("r2"), S("backend_error"),
		503, IPC_USAGE_F_STREAM, 0, 0, IPC_USAGE_NO_TTFB, 4000000000u, 1796000000999ULL },
	{ S("k"), S("ns"), S("model-with-a-longer-name-0123456789"), S("node"),
		S("0123456789abcdef0123456789abcdef"), S("client_gone"), 0,
		IPC_USAGE_F_KNOWN | IPC_USAGE_F_STREAM, UINT64_MAX, 0, 0, 0, 300000000000007ULL },
};

static const char *const golden[] = {
	    "{\"time\":\"2026-11-30T00:53:20.123Z\",\"request_id\":\"r1\",\"key\":\""
	    "bench\",\"namespace\":\"demo\",\"model\":\"m\",\"node\":\"vm\",\"statu"
	    "s\":200,\"end\":\"ok\",\"stream\":false,\"usage\":\"known\",\"prompt_t"
	    "okens\":21,\"completion_tokens\":7,\"ttfb_ms\":25,\"duration_ms\":30}\n",
	    "{\"time\":\"2026-11-30T00:53:20.999Z\",\"request_id\":\"r2\",\"key\":\""
	    "\",\"namespace\":\"lab\",\"model\":\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\\uf"
	    "ffd/x\",\"node\":\"n1\",\"status\":503,\"end\":\"backend_error\",\"str"
	    "eam\":true,\"usage\":\"unknown\",\"prompt_tokens\":null,\"completion_t"
	    "okens\":null,\"ttfb_ms\":null,\"duration_ms\":4000000000}\n",
	    "{\"time\":\"11476-08-15T05:20:00.007Z\",\"request_id\":\"0123456789abc"
	    "def0123456789abcdef\",\"key\":\"k\",\"namespace\":\"ns\",\"model\":\"m"
	    "odel-with-a-longer-name-0123456789\",\"node\":\"node\",\"status\":0,\""
	    "end\":\"client_gone\",\"stream\":true,\"usage\":\"known\",\"prompt_tok"
	    "ens\":18446744073709551615,\"completion_tokens\":0,\"ttfb_ms\":0,\"dur"
	    "ation_ms\":0}\n"
};

/* The records as agentd sends them: a USAGE_BATCH frame, decoded. */
static void
send_batch(struct buf *frame)
{
	struct ipc_encode_lists lists = { .usages = recs, .nusages = 3 };
	struct ipc_msg m = { .type = IPC_USAGE_BATCH }, in;

	buf_reset(frame);
	CHECK(ipc_encode(frame, &m, &lists) == 0);
	CHECK(ipc_decode(buf_head(frame), frame->len, &in, NULL) == (ssize_t)frame->len);
	usage_batch_message(NULL, &in);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	char dir[256], path[300], got[4096], want[4096];
	struct tl_config conf;
	struct buf frame;
	size_t wlen = 0;
	ssize_t n;
	int fd;

	snprintf(dir, sizeof(dir), "%s/test_usage_log.XXXXXX", tmp != NULL ? tmp : "/tmp");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/usage.log", dir);
	memset(&conf, 0, sizeof(conf));
	conf.usage.log_file = path;
	usage_log_config(&conf);
	buf_init(&frame, 0);
	/* two batches: appended, each line whole */
	send_batch(&frame);
	send_batch(&frame);
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < sizeof(golden) / sizeof(golden[0]); i++) {
			size_t l = strlen(golden[i]);

			memcpy(want + wlen, golden[i], l);
			wlen += l;
		}
	CHECK((fd = open(path, O_RDONLY)) != -1);
	n = read(fd, got, sizeof(got));
	close(fd);
	CHECK(n == (ssize_t)wlen && memcmp(got, want, wlen) == 0);
	if (n != (ssize_t)wlen || memcmp(got, want, wlen) != 0)
		fprintf(stderr, "got:\n%.*s\nwant:\n%.*s\n", (int)(n > 0 ? n : 0), got, (int)wlen,
		    want);
	usage_log_close();
	buf_free(&frame);
	unlink(path);
	rmdir(dir);
	return failures > 0;
}
