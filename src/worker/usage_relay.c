/* usage_relay: see usage_relay.h. */
#include "config.h"

#include <string.h>

#include "usage_relay.h"

void
usage_relay_init(struct usage_relay *r, enum uscan_mode mode, int strip)
{
	memset(r, 0, sizeof(*r));
	usage_scan_init(&r->scan, mode);
	r->strip = strip && mode == USCAN_SSE;
	buf_init(&r->hold, USAGE_HOLD_MAX);
}

void
usage_relay_free(struct usage_relay *r)
{
	buf_free(&r->hold);
}

/* buf_append, for which nothing into an empty buffer is a failure. */
static int
put(struct buf *out, const void *p, size_t n)
{
	return n == 0 ? 0 : buf_append(out, p, n);
}

/* Bytes [from, to) of the event that is a then b. */
static int
put_range(struct buf *out, const char *a, size_t alen, const char *b, size_t from, size_t to)
{
	if (from < alen) {
		size_t end = to < alen ? to : alen;

		if (put(out, a + from, end - from) != 0)
			return -1;
		from = end;
	}
	if (to > from && put(out, b + (from - alen), to - from) != 0)
		return -1;
	return 0;
}

/* A complete event: what asking added goes, the rest goes out. */
static int
put_event(struct usage_relay *r, const char *a, size_t alen, const char *b, size_t blen,
    struct buf *out)
{
	const struct uscan_event *ev = &r->scan.ev;
	size_t len = alen + blen, cut_from, cut_to;

	if (ev->odd || ev->usage_to == 0 || ev->len != len)
		return put_range(out, a, alen, b, 0, len);
	if (ev->usage == UK_OBJECT && ev->choices_empty)
		return 0; /* the usage-only chunk */
	if (ev->usage != UK_NULL)
		return put_range(out, a, alen, b, 0, len);
	/* "usage":null with the comma that separated it */
	if (ev->comma_before != SIZE_MAX) {
		cut_from = ev->comma_before;
		cut_to = ev->usage_to;
	} else if (ev->comma_after != SIZE_MAX) {
		cut_from = ev->usage_from;
		cut_to = ev->comma_after + 1;
	} else
		return put_range(out, a, alen, b, 0, len); /* its only member: leave it */
	if (put_range(out, a, alen, b, 0, cut_from) != 0)
		return -1;
	return put_range(out, a, alen, b, cut_to, len);
}

int
usage_relay_data(struct usage_relay *r, const char *p, size_t n, struct buf *out)
{
	if (!r->strip) {
		if (r->scan.mode != USCAN_OFF)
			usage_scan_feed_all(&r->scan, p, n);
		return put(out, p, n);
	}
	while (n > 0) {
		size_t k = usage_scan_feed(&r->scan, p, n);
		int rc;

		if (r->passthru) {
			rc = put(out, p, k);
			if (r->scan.ev_done)
				r->passthru = 0;
		} else if (!r->scan.ev_done) {
			if (r->hold.len + k > USAGE_HOLD_MAX) {
				/* too long to hold: this event goes through as it is */
				rc = put(out, buf_head(&r->hold), r->hold.len);
				buf_reset(&r->hold);
				if (rc == 0)
					rc = put(out, p, k);
				r->passthru = 1;
			} else
				rc = put(&r->hold, p, k);
		} else {
			rc = put_event(r, (const char *)buf_head(&r->hold), r->hold.len, p, k, out);
			buf_reset(&r->hold);
		}
		if (rc != 0)
			return -1;
		p += k;
		n -= k;
	}
	return 0;
}

int
usage_relay_end(struct usage_relay *r, struct buf *out)
{
	int rc = 0;

	if (r->hold.len != 0)
		rc = put(out, buf_head(&r->hold), r->hold.len);
	buf_reset(&r->hold);
	return rc;
}
