/*
 * usage_relay: the answer's bytes on their way to the client, counted
 * (usage_scan.c) and, when the worker asked for stream usage on the
 * client's behalf, cleaned of what asking added.
 *
 * Asking ("stream_options":{"include_usage":true}, request_rewrite.c)
 * makes an OpenAI-compatible backend add two things to a stream: a
 * "usage":null member in every chunk and, before [DONE], one chunk with
 * "choices":[] and the usage object. In strip mode both go: the member
 * with its comma, the chunk with its SSE framing, so that the client gets
 * the bytes a client that did not ask would get. Usage a backend puts in
 * a content chunk anyway (llama.cpp) stays: it would be there unasked.
 *
 * Each event is decided when it is complete (usage_scan_event) and sent
 * on at once; only an incomplete event's bytes wait (in hold, bounded by
 * USAGE_HOLD_MAX: an event longer than that goes through unchanged, as
 * it comes, and uncounted). An event whole in one piece is not copied.
 * Without strip mode, or for an answer that is not a stream, bytes pass
 * straight through, scanned on the way.
 *
 * Ownership: the caller owns the struct and the output buffer;
 * usage_relay_free() frees hold.
 */
#ifndef TL_WORKER_USAGE_RELAY_H
#define TL_WORKER_USAGE_RELAY_H

#include "buf.h"
#include "usage_scan.h"

#define USAGE_HOLD_MAX USAGE_EVENT_MAX

struct usage_relay {
	struct usage_scan scan;
	int strip;     /* we asked: remove what asking added */
	int passthru;  /* this event outgrew hold: it goes through unchanged */
	struct buf hold;
};

void usage_relay_init(struct usage_relay *r, enum uscan_mode mode, int strip);
/* Scan p[0..n) and append to out what the client gets. -1 when out is full. */
int usage_relay_data(struct usage_relay *r, const char *p, size_t n, struct buf *out);
/* The answer ended: an incomplete event held back goes out as it is. */
int usage_relay_end(struct usage_relay *r, struct buf *out);
void usage_relay_free(struct usage_relay *r);

#endif
