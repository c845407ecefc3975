/* usage_record: see usage_record.h. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <h2o.h>

#include "agentd_link.h"
#include "log.h"
#include "usage_record.h"
#include "worker.h"

#define FIELD_MAX 128

/* A name for a key=value log line: printable, no blanks, bounded. */
static const char *
field(char *dst, const char *s, size_t len)
{
	size_t n = len < FIELD_MAX ? len : FIELD_MAX;

	if (n == 0)
		return "-";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		dst[i] = (c <= ' ' || c >= 0x7f || c == '"') ? '?' : (char)c;
	}
	dst[n] = '\0';
	return dst;
}

/* A count or a time, "-" when there is none. */
static const char *
num(char *dst, size_t size, int have, uint64_t v)
{
	if (!have)
		return "-";
	snprintf(dst, size, "%" PRIu64, v);
	return dst;
}

/*
 * One line per request would be one write(2) per request: the lines of a
 * loop turn are held by the log (log_set_buffered) and written together
 * when the turn ends. A warning flushes them first, so order is kept.
 */
static h2o_timeout_entry_t turn_end;

static void
on_turn_end(h2o_timeout_entry_t *e)
{
	log_set_buffered(0);
}

static void
hold_this_turn(void)
{
	if (h2o_timeout_is_linked(&turn_end))
		return;
	turn_end.cb = on_turn_end;
	log_set_buffered(1);
	h2o_timeout_link(wk.loop, &wk.ctx.zero_timeout, &turn_end);
}

/* On to agentd (charges, then the master's usage log or rollups). */
static void
send_record(const struct usage_record *u, const char *key)
{
	const char *end = u->end != NULL ? u->end : "incomplete";
	struct ipc_usage rec;

	memset(&rec, 0, sizeof(rec));
	rec.key = (struct ipc_str){ key, strlen(key) };
	rec.ns = (struct ipc_str){ u->ns, u->ns_len };
	rec.model = (struct ipc_str){ u->model, u->model_len };
	rec.request_id = (struct ipc_str){ u->request_id, u->request_id ? strlen(u->request_id) : 0 };
	rec.end = (struct ipc_str){ end, strlen(end) };
	rec.status = u->status > 0 && u->status <= UINT16_MAX ? (uint16_t)u->status : 0;
	rec.flags = (u->known ? IPC_USAGE_F_KNOWN : 0) | (u->stream ? IPC_USAGE_F_STREAM : 0) |
	    (u->forwarded ? IPC_USAGE_F_FORWARDED : 0);
	if (u->known) {
		rec.prompt_tokens = u->prompt_tokens;
		rec.completion_tokens = u->completion_tokens;
	}
	rec.ttfb_ms = u->ttfb_ms == USAGE_NO_TIME || u->ttfb_ms >= IPC_USAGE_NO_TTFB
	    ? IPC_USAGE_NO_TTFB : (uint32_t)u->ttfb_ms;
	rec.duration_ms = u->duration_ms < UINT32_MAX ? (uint32_t)u->duration_ms : UINT32_MAX - 1;
	wk_usage_send(&rec);
}

void
wk_usage_record_done(const struct usage_record *u)
{
	char key[FIELD_MAX + 1], ns[FIELD_MAX + 1], model[FIELD_MAX + 1];
	char pt[24], ct[24], tt[24];
	const char *k = u->key != NULL ? u->key : "";

	send_record(u, k);
	/* the usage log (the master's) is the record; this line is for
	 * debugging, and building it costs as much as the rest */
	if (!log_enabled(LOG_LEVEL_DEBUG))
		return;
	hold_this_turn();
	log_debug("usage req=%s key=%s ns=%s model=%s status=%d stream=%d prompt_tokens=%s "
	    "completion_tokens=%s tokens=%s ttfb_ms=%s duration_ms=%" PRIu64 " end=%s",
	    u->request_id, field(key, k, strlen(k)), field(ns, u->ns, u->ns_len),
	    field(model, u->model, u->model_len), u->status, u->stream,
	    num(pt, sizeof(pt), u->known, u->prompt_tokens),
	    num(ct, sizeof(ct), u->known, u->completion_tokens), u->known ? "known" : "unknown",
	    num(tt, sizeof(tt), u->ttfb_ms != USAGE_NO_TIME, u->ttfb_ms), u->duration_ms,
	    u->end != NULL ? u->end : "incomplete");
}
