/*
 * grpc_wire: the gRPC-over-HTTP/2 message layer shared by agentd (server)
 * and tokiame (client), independent of who drives the HTTP/2 session.
 *
 * A gRPC message on a stream is a 5-byte prefix (u8 compressed flag,
 * u32 big-endian length) followed by the protobuf bytes; messages may
 * span or share DATA frames. grpc_reader reassembles them with a bound:
 * a length over the maximum is an error as soon as the prefix is in, so
 * a peer cannot make us buffer more than max_message_size + one frame.
 * We never advertise compression, so a compressed message is an error.
 */
#ifndef TL_GRPC_WIRE_H
#define TL_GRPC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "buf.h"

#define GRPC_PREFIX_SIZE 5

/* The prefix of one uncompressed message of len bytes: a zero flag byte,
 * then the length, big-endian. */
static inline void
grpc_put_prefix(uint8_t *p, uint32_t len)
{
	p[0] = 0;
	p[1] = (uint8_t)(len >> 24);
	p[2] = (uint8_t)(len >> 16);
	p[3] = (uint8_t)(len >> 8);
	p[4] = (uint8_t)len;
}

/* Status codes we use (grpc/doc/statuscodes.md). */
enum grpc_status {
	GRPC_OK = 0,
	GRPC_CANCELLED = 1,
	GRPC_UNKNOWN = 2,
	GRPC_INVALID_ARGUMENT = 3,
	GRPC_DEADLINE_EXCEEDED = 4,
	GRPC_NOT_FOUND = 5,
	GRPC_PERMISSION_DENIED = 7,
	GRPC_RESOURCE_EXHAUSTED = 8,
	GRPC_FAILED_PRECONDITION = 9,
	GRPC_ABORTED = 10,
	GRPC_UNIMPLEMENTED = 12,
	GRPC_INTERNAL = 13,
	GRPC_UNAVAILABLE = 14,
	GRPC_UNAUTHENTICATED = 16,
};

/*
 * Most DATA frames hold whole messages, so the reader first BORROWS the
 * frame's bytes (ext) and hands out messages that point into them; only
 * a message cut by a frame boundary is copied into `in`. That saves a
 * buffer allocation and a copy per message on the hot path. Borrowed
 * bytes are only valid during the caller's DATA callback:
 * grpc_reader_next copies what is left when it runs out of whole
 * messages, and grpc_reader_settle does it for a caller that stops early.
 * Invariant: ext != NULL only while `in` is empty.
 */
struct grpc_reader {
	struct buf in;      /* unconsumed bytes of the stream (copied) */
	const uint8_t *ext; /* borrowed bytes of the current DATA frame, or NULL */
	size_t extlen;
	uint32_t max;       /* largest message accepted */
	uint32_t pending;   /* length of the message handed out by grpc_reader_next, to consume */
	int has_pending;
};

void grpc_reader_init(struct grpc_reader *r, uint32_t max_message_size);
void grpc_reader_free(struct grpc_reader *r);
/* Add bytes from a DATA frame (borrowed until the frame's callback
 * returns: see above). -1 if they would exceed the bound. */
int grpc_reader_feed(struct grpc_reader *r, const uint8_t *data, size_t len);
/*
 * Next complete message: 1 with *msg and *len (valid until the next call,
 * and not past the DATA callback that fed it), 0 if none is complete yet
 * (the incomplete rest is now copied), -1 on a protocol error with *why
 * set (compressed message, length over the maximum, or the bound).
 */
int grpc_reader_next(struct grpc_reader *r, const uint8_t **msg, size_t *len, const char **why);
/* Copy borrowed bytes not read yet: call before the DATA callback returns
 * when grpc_reader_next was not run until it returned 0. -1 over the bound. */
int grpc_reader_settle(struct grpc_reader *r);
/* Free the buffer when nothing is buffered (idle streams keep none). */
void grpc_reader_release(struct grpc_reader *r);
/* Bytes buffered but not yet returned (for "stream ended mid-message"). */
size_t grpc_reader_buffered(const struct grpc_reader *r);

/* Append one prefixed, packed protobuf message. -1 if out's bound is hit. */
int grpc_append_message(struct buf *out, const ProtobufCMessage *msg);

/* Parse a grpc-timeout header value ("100m", "5S", "1H"); -1 if malformed.
 * The result is in milliseconds, saturated at UINT32_MAX. */
int grpc_timeout_parse(const char *v, size_t len, uint32_t *ms);

/* Percent-encode a grpc-message value into out (NUL-terminated, truncated
 * to outlen). */
void grpc_message_encode(const char *msg, char *out, size_t outlen);
/* Decode a percent-encoded grpc-message in place-safe fashion into out. */
void grpc_message_decode(const char *v, size_t len, char *out, size_t outlen);

const char *grpc_status_name(int status);

#endif
