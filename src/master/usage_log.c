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

static int
put_str(struct buf *b, const char *name, struct ipc_str s)
{
	return wk_json_out_raw(b, name) | wk_json_out_str(b, s.base, s.len);
}

static int
put_u64(struct buf *b, const char *name, uint64_t v)
{
	return wk_json_out_raw(b, name) | wk_json_out_u64(b, v);
}

/* One record as a line: {"time":...,"request_id":...,...}\n */
static int
put_line(struct buf *b, const struct ipc_usage *u)
{
	int known = (u->flags & IPC_USAGE_F_KNOWN) != 0, r = 0;
	time_t sec = (time_t)(u->unix_ms / 1000);
	char when[64];
	struct tm tm;

	if (gmtime_r(&sec, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(when, sizeof(when), "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03uZ\"",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    (unsigned)(u->unix_ms % 1000));
	r |= wk_json_out_raw(b, when);
	r |= put_str(b, ",\"request_id\":", u->request_id);
	r |= put_str(b, ",\"key\":", u->key);
	r |= put_str(b, ",\"namespace\":", u->ns);
	r |= put_str(b, ",\"model\":", u->model);
	r |= put_str(b, ",\"node\":", u->node);
	r |= put_u64(b, ",\"status\":", u->status);
	r |= put_str(b, ",\"end\":", u->end);
	r |= wk_json_out_raw(b, (u->flags & IPC_USAGE_F_STREAM) ? ",\"stream\":true"
	                                                        : ",\"stream\":false");
	r |= wk_json_out_raw(b, known ? ",\"usage\":\"known\"" : ",\"usage\":\"unknown\"");
	if (known) {
		r |= put_u64(b, ",\"prompt_tokens\":", u->prompt_tokens);
		r |= put_u64(b, ",\"completion_tokens\":", u->completion_tokens);
	} else
		r |= wk_json_out_raw(b, ",\"prompt_tokens\":null,\"completion_tokens\":null");
	if (u->ttfb_ms == IPC_USAGE_NO_TTFB)
		r |= wk_json_out_raw(b, ",\"ttfb_ms\":null");
	else
		r |= put_u64(b, ",\"ttfb_ms\":", u->ttfb_ms);
	r |= put_u64(b, ",\"duration_ms\":", u->duration_ms);
	r |= wk_json_out_raw(b, "}\n");
	return r != 0 ? -1 : 0;
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
