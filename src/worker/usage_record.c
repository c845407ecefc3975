/* usage_record: see usage_record.h. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "usage_record.h"

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

void
wk_usage_record_done(const struct usage_record *u)
{
	char key[FIELD_MAX + 1], ns[FIELD_MAX + 1], model[FIELD_MAX + 1];
	char pt[24], ct[24], tt[24];
	const char *k = u->key != NULL ? u->key : "";

	log_info("usage req=%s key=%s ns=%s model=%s status=%d stream=%d prompt_tokens=%s "
	    "completion_tokens=%s tokens=%s ttfb_ms=%s duration_ms=%" PRIu64 " end=%s",
	    u->request_id, field(key, k, strlen(k)), field(ns, u->ns, u->ns_len),
	    field(model, u->model, u->model_len), u->status, u->stream,
	    num(pt, sizeof(pt), u->known, u->prompt_tokens),
	    num(ct, sizeof(ct), u->known, u->completion_tokens), u->known ? "known" : "unknown",
	    num(tt, sizeof(tt), u->ttfb_ms != USAGE_NO_TIME, u->ttfb_ms), u->duration_ms,
	    u->end != NULL ? u->end : "incomplete");
}
