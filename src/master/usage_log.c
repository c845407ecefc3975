/*
 * usage_log: USAGE_BATCH from agentd, and the standalone usage log (see
 * usage.h).
 *
 * One line per request, a JSON object (its strings escaped by the
 * workers' JSON writer: whatever bytes a client put in a model name, the
 * line stays valid JSON). A batch's lines are written with one write(2)
 * on a file opened with O_APPEND, so lines are never interleaved or cut
 * by another writer using O_APPEND. Failing to open or write is logged
 * once per outage, and the records are counted as lost; the file is
 * tried again at most every USAGE_LOG_RETRY_MS.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../worker/json_out.h"
#include "log.h"
#include "master.h"
#include "pg.h"
#include "tl_config.h"
#include "usage.h"
#include "xmalloc.h"

#define USAGE_LOG_RETRY_MS 10000
/* The lines of one batch: a frame's records, escaped (at most 6 bytes
 * per byte of a string), fit easily. */
#define USAGE_LINES_MAX (8 * 1024 * 1024)

static struct {
	char *path;
	int fd;
	int failing;        /* said that it fails; say when it works again */
	uint64_t retry_at;
	uint64_t lost;      /* records not written since it started failing */
	uint64_t lost_total;
} U = { .fd = -1 };

void
usage_log_close(void)
{
	if (U.fd != -1)
		close(U.fd);
	U.fd = -1;
}

void
usage_log_reopen(void)
{
	usage_log_close();
	U.retry_at = 0;
}

void
usage_log_config(const struct tl_config *conf)
{
	const char *p = conf->usage.log_file;

	if (p != NULL && U.path != NULL && strcmp(p, U.path) == 0)
		return;
	free(U.path);
	U.path = p != NULL ? xstrdup(p) : NULL;
	usage_log_reopen();
}

static void
failed(const char *what, int err, size_t nrec)
{
	U.lost += nrec;
	U.lost_total += nrec;
	if (!U.failing)
		log_warnx("usage log %s: cannot %s: %s; usage records are lost until it "
		    "works (set usage.log_file; tried again every %ds)", U.path, what,
		    strerror(err), USAGE_LOG_RETRY_MS / 1000);
	U.failing = 1;
}

static int
open_log(void)
{
	char dir[4096], *slash;

	if (U.fd != -1)
		return 0;
	if (master_now_ms() < U.retry_at)
		return -1;
	U.retry_at = master_now_ms() + USAGE_LOG_RETRY_MS;
	/* its last directory, as for runtime_dir: the default is under
	 * /var/lib, which a package may not have made */
	if (snprintf(dir, sizeof(dir), "%s", U.path) < (int)sizeof(dir) &&
	    (slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		(void)mkdir(dir, 0750);
	}
	U.fd = open(U.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	return U.fd == -1 ? -1 : 0;
}

/* The fixed text of a line (names, punctuation, time, numbers): the
 * longest is under 400 bytes. */
#define LINE_FIXED 512
/* An escaped byte takes at most 6 (\u00XX, \ufffd). */
#define ESC_MAX 6

/* The cursor of a line written straight into b's reserved room. */
struct line {
	struct buf *b;
	uint8_t *p;     /* where the next byte goes */
	size_t room;    /* what was reserved at the last buf_reserve */
	uint8_t *start; /* where that room began */
};

static void
lit(struct line *l, const char *s, size_t n)
{
	memcpy(l->p, s, n);
	l->p += n;
}
#define LIT(l, s) lit((l), (s), sizeof(s) - 1)

/* v in decimal: the digits from the right, then copied in order. */
static void
num(struct line *l, uint64_t v)
{
	char d[20];
	size_t i = sizeof(d);

	do
		d[--i] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	lit(l, d + i, sizeof(d) - i);
}

/* n as exactly w digits (the parts of the time). */
static void
fixed(struct line *l, unsigned n, int w)
{
	for (int i = w - 1; i >= 0; i--) {
		l->p[i] = (char)('0' + n % 10);
		n /= 10;
	}
	l->p += w;
}

/* Bytes that go into a JSON string as they are: printable ASCII but the
 * quote and the backslash. Anything else takes the JSON writer. Eight
 * bytes a step: a word has such a byte if one is below 0x20, above 0x7e,
 * or equal to '"' or '\\' (a zero byte after the xor); the subtractions'
 * borrows only start at a byte that is itself such a byte, so the answer
 * is exact. */
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)
static int
plain(struct ipc_str s)
{
	const unsigned char *c = (const unsigned char *)s.base;
	size_t i = 0;

	for (; i + 8 <= s.len; i += 8) {
		uint64_t x, q, b;

		memcpy(&x, c + i, 8);
		q = x ^ (ONES * '"');
		b = x ^ (ONES * '\\');
		if ((((x - ONES * 0x20) | (x + ONES) | x | ((q - ONES) & ~q) | ((b - ONES) & ~b)) &
		    HIGHS) != 0)
			return 0;
	}
	for (; i < s.len; i++)
		if (c[i] < 0x20 || c[i] >= 0x7f || c[i] == '"' || c[i] == '\\')
			return 0;
	return 1;
}

/* A string as a JSON literal. Most are plain and copied; the others are
 * escaped by the JSON writer, which appends to b: the cursor is committed
 * first and the room reserved again after (the buffer may have moved). */
static int
str(struct line *l, struct ipc_str s)
{
	*l->p++ = '"';
	if (plain(s)) {
		if (s.len > 0)
			lit(l, s.base, s.len);
	} else {
		size_t left = l->room - (size_t)(l->p - l->start);

		buf_commit(l->b, (size_t)(l->p - l->start));
		if (wk_json_out_esc(l->b, s.base, s.len) != 0 ||
		    (l->start = buf_reserve(l->b, left)) == NULL)
			return -1;
		l->p = l->start;
		l->room = left;
	}
	*l->p++ = '"';
	return 0;
}
/* A member: its name (with the comma and colon), then the string. */
#define STR(l, name, s) (LIT((l), name), str((l), (s)))

/* "YYYY-MM-DDTHH:MM:SS" of sec, kept for the next line: a batch's lines
 * mostly share their second (gmtime_r is most of a line's cost else). */
static void
stamp(struct line *l, time_t sec)
{
	static time_t last = -1;
	static char text[32];
	static size_t len;

	if (sec != last) {
		struct line t = { .p = (uint8_t *)text };
		struct tm tm;
		unsigned year;

		if (gmtime_r(&sec, &tm) == NULL)
			memset(&tm, 0, sizeof(tm));
		year = (unsigned)tm.tm_year + 1900;
		if (year > 9999) /* as %04d: all its digits */
			num(&t, year);
		else
			fixed(&t, year, 4);
		*t.p++ = '-';
		fixed(&t, (unsigned)tm.tm_mon + 1, 2);
		*t.p++ = '-';
		fixed(&t, (unsigned)tm.tm_mday, 2);
		*t.p++ = 'T';
		fixed(&t, (unsigned)tm.tm_hour, 2);
		*t.p++ = ':';
		fixed(&t, (unsigned)tm.tm_min, 2);
		*t.p++ = ':';
		fixed(&t, (unsigned)tm.tm_sec, 2);
		len = (size_t)(t.p - (uint8_t *)text);
		last = sec;
	}
	lit(l, text, len);
}

/*
 * One record as a line: {"time":...,"request_id":...,...}\n, written by
 * hand into room reserved for the worst case (snprintf and one append per
 * field cost more than the rest of the master's work on a request).
 */
static int
put_line(struct buf *b, const struct ipc_usage *u)
{
	size_t need = LINE_FIXED + ESC_MAX * (u->request_id.len + u->key.len + u->ns.len +
	    u->model.len + u->node.len + u->end.len);
	struct line l = { .b = b };

	if ((l.start = buf_reserve(b, need)) == NULL)
		return -1;
	l.p = l.start;
	l.room = need;
	LIT(&l, "{\"time\":\"");
	stamp(&l, (time_t)(u->unix_ms / 1000));
	*l.p++ = '.';
	fixed(&l, (unsigned)(u->unix_ms % 1000), 3);
	LIT(&l, "Z\"");
	if (STR(&l, ",\"request_id\":", u->request_id) != 0 ||
	    STR(&l, ",\"key\":", u->key) != 0 ||
	    STR(&l, ",\"namespace\":", u->ns) != 0 ||
	    STR(&l, ",\"model\":", u->model) != 0 ||
	    STR(&l, ",\"node\":", u->node) != 0)
		return -1;
	LIT(&l, ",\"status\":");
	num(&l, u->status);
	if (STR(&l, ",\"end\":", u->end) != 0)
		return -1;
	if (u->flags & IPC_USAGE_F_STREAM)
		LIT(&l, ",\"stream\":true");
	else
		LIT(&l, ",\"stream\":false");
	if (u->flags & IPC_USAGE_F_KNOWN) {
		LIT(&l, ",\"usage\":\"known\",\"prompt_tokens\":");
		num(&l, u->prompt_tokens);
		LIT(&l, ",\"completion_tokens\":");
		num(&l, u->completion_tokens);
	} else
		LIT(&l, ",\"usage\":\"unknown\",\"prompt_tokens\":null,\"completion_tokens\":null");
	if (u->ttfb_ms == IPC_USAGE_NO_TTFB)
		LIT(&l, ",\"ttfb_ms\":null");
	else {
		LIT(&l, ",\"ttfb_ms\":");
		num(&l, u->ttfb_ms);
	}
	LIT(&l, ",\"duration_ms\":");
	num(&l, u->duration_ms);
	LIT(&l, "}\n");
	buf_commit(b, (size_t)(l.p - l.start));
	return 0;
}

static void
write_lines(const struct ipc_list *records)
{
	struct ipc_list_iter it;
	struct ipc_usage u;
	struct buf b;
	size_t n = 0, off = 0;

	if (records->count == 0)
		return;
	if (U.path == NULL || U.path[0] == '\0') {
		failed("open", ENOENT, records->count);
		return;
	}
	if (open_log() == -1) {
		failed("open", errno, records->count);
		return;
	}
	buf_init(&b, USAGE_LINES_MAX);
	ipc_list_begin(&it, records);
	while (ipc_usage_next(&it, &u)) {
		size_t before = b.len;

		if (put_line(&b, &u) == -1) {
			b.len = before; /* that line did not fit: the rest waits for no one */
			break;
		}
		n++;
	}
	while (off < b.len) {
		ssize_t w = write(U.fd, buf_head(&b) + off, b.len - off);

		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w == -1 && errno == EINTR)
			continue;
		failed("write", w == -1 ? errno : EIO, records->count);
		usage_log_close();
		buf_free(&b);
		return;
	}
	buf_free(&b);
	if (n < records->count)
		failed("write", E2BIG, records->count - n);
	else if (U.failing) {
		log_info("usage log %s: written again (%llu records were lost)", U.path,
		    (unsigned long long)U.lost);
		U.failing = 0;
		U.lost = 0;
	}
}

void
usage_batch_message(struct master *m, const struct ipc_msg *msg)
{
	const struct ipc_list *records = &msg->u.usage_batch.records;

	(void)m;
	if (msg->u.usage_batch.dropped > 0)
		log_warnx("usage: agentd dropped %llu records (too many waited for the master)",
		    (unsigned long long)msg->u.usage_batch.dropped);
	if (pg_enabled()) {
		struct ipc_list_iter it;
		struct ipc_usage u;

		ipc_list_begin(&it, records);
		while (ipc_usage_next(&it, &u))
			pg_usage_add(&u);
		return;
	}
	write_lines(records);
}
