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
	r->scan.defer = mode == USCAN_SSE;
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

/* A complete event, counted; stripping, what asking added goes and the
 * rest goes out (else the caller sent it all already). */
static int
put_event(struct usage_relay *r, const char *ev, size_t len, struct buf *out)
{
	size_t from = 0, to = 0;
	enum uscan_action a = usage_scan_event(&r->scan, ev, len, &from, &to);

	if (!r->strip)
		return 0;
	switch (a) {
	case UA_DROP:
		return 0;
	case UA_CUT: {
		/* one reservation for both sides of the cut: every chunk of a
		 * stream that did not ask comes this way */
		uint8_t *d = buf_reserve(out, from + (len - to));

		if (d == NULL)
			return -1;
		memcpy(d, ev, from);
		memcpy(d + from, ev + to, len - to);
		buf_commit(out, from + (len - to));
		return 0;
	}
	default:
		return put(out, ev, len);
	}
}

/* Bytes for the client, when it gets them only from here. */
static int
put_out(struct usage_relay *r, struct buf *out, const void *p, size_t n)
{
	return r->strip ? put(out, p, n) : 0;
}

/* The end of an event that began in hold: the whole event. */
static int
put_held(struct usage_relay *r, const char *p, size_t k, struct buf *out)
{
	int rc;

	if (r->hold.len + k > USAGE_HOLD_MAX) {
		/* too long to decide on: it goes on as it is */
		rc = put_out(r, out, buf_head(&r->hold), r->hold.len);
		if (rc == 0)
			rc = put_out(r, out, p, k);
	} else if ((rc = put(&r->hold, p, k)) == 0)
		rc = put_event(r, (const char *)buf_head(&r->hold), r->hold.len, out);
	buf_reset(&r->hold);
	return rc;
}

int
usage_relay_data(struct usage_relay *r, const char *p, size_t n, struct buf *out)
{
	if (r->scan.mode != USCAN_SSE) {
		if (r->scan.mode == USCAN_JSON)
			usage_scan_feed_all(&r->scan, p, n);
		return put(out, p, n);
	}
	/* not stripping, the client gets the bytes as they come; hold keeps a
	 * copy of an incomplete event only to count it once complete */
	if (!r->strip && put(out, p, n) != 0)
		return -1;
	while (n > 0) {
		size_t k = usage_scan_feed(&r->scan, p, n);
		int rc;

		if (r->passthru) {
			rc = put_out(r, out, p, k);
			if (r->scan.ev_done)
				r->passthru = 0;
		} else if (!r->scan.ev_done) {
			if (r->hold.len + k > USAGE_HOLD_MAX) {
				/* too long to hold: this event goes on as it comes */
				rc = put_out(r, out, buf_head(&r->hold), r->hold.len);
				buf_reset(&r->hold);
				if (rc == 0)
					rc = put_out(r, out, p, k);
				r->passthru = 1;
			} else
				rc = put(&r->hold, p, k);
		} else if (r->hold.len != 0)
			rc = put_held(r, p, k, out);
		else
			rc = put_event(r, p, k, out); /* whole in this piece: no copy */
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

	size_t from, to;

	if (r->hold.len != 0) {
		/* an event cut short still counts, and goes on as it is */
		(void)usage_scan_event(&r->scan, (const char *)buf_head(&r->hold), r->hold.len, &from,
		    &to);
		rc = put_out(r, out, buf_head(&r->hold), r->hold.len);
	}
	buf_reset(&r->hold);
	return rc;
}
