/* grpc_wire: see grpc_wire.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "grpc_wire.h"

void
grpc_reader_init(struct grpc_reader *r, uint32_t max_message_size)
{
	/* one whole message plus one maximal HTTP/2 DATA frame in flight */
	buf_init(&r->in, (size_t)max_message_size + GRPC_PREFIX_SIZE + 16384 + 65536);
	r->ext = NULL;
	r->extlen = 0;
	r->max = max_message_size;
	r->pending = 0;
	r->has_pending = 0;
}

void
grpc_reader_free(struct grpc_reader *r)
{
	buf_free(&r->in);
	r->ext = NULL;
	r->extlen = 0;
}

static void
consume_pending(struct grpc_reader *r)
{
	size_t n;

	if (!r->has_pending)
		return;
	n = GRPC_PREFIX_SIZE + (size_t)r->pending;
	r->has_pending = 0;
	if (r->ext != NULL) {
		r->ext += n;
		r->extlen -= n;
		if (r->extlen == 0)
			r->ext = NULL;
	} else
		buf_consume(&r->in, n);
}

int
grpc_reader_settle(struct grpc_reader *r)
{
	const uint8_t *p;
	size_t n;

	consume_pending(r);
	if (r->ext == NULL)
		return 0;
	p = r->ext;
	n = r->extlen;
	r->ext = NULL;
	r->extlen = 0;
	return buf_append(&r->in, p, n);
}

int
grpc_reader_feed(struct grpc_reader *r, const uint8_t *data, size_t len)
{
	if (grpc_reader_settle(r) == -1)
		return -1;
	if (len == 0)
		return 0;
	if (r->in.len == 0) {
		r->ext = data;
		r->extlen = len;
		return 0;
	}
	return buf_append(&r->in, data, len);
}

int
grpc_reader_next(struct grpc_reader *r, const uint8_t **msg, size_t *len, const char **why)
{
	const uint8_t *p;
	size_t avail;
	uint32_t n;

	consume_pending(r);
	if (r->ext != NULL) {
		p = r->ext;
		avail = r->extlen;
	} else {
		p = buf_head(&r->in);
		avail = r->in.len;
	}
	if (avail < GRPC_PREFIX_SIZE)
		goto incomplete;
	if (p[0] != 0) {
		*why = p[0] == 1 ? "compressed message, but no compression was negotiated"
				 : "bad message flags";
		goto broken;
	}
	n = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
	if (n > r->max) {
		*why = "message larger than the maximum message size";
		goto broken;
	}
	if (avail - GRPC_PREFIX_SIZE < n)
		goto incomplete;
	*msg = p + GRPC_PREFIX_SIZE;
	*len = n;
	r->pending = n;
	r->has_pending = 1;
	return 1;
incomplete:
	/* the frame's bytes die with its callback: keep the partial message */
	if (grpc_reader_settle(r) == -1) {
		*why = "message larger than the maximum message size";
		goto broken;
	}
	return 0;
broken:
	/* the stream is dead: forget the borrowed bytes, never read them later */
	r->ext = NULL;
	r->extlen = 0;
	return -1;
}

void
grpc_reader_release(struct grpc_reader *r)
{
	consume_pending(r);
	if (r->in.len == 0 && r->ext == NULL)
		buf_free(&r->in);
}

size_t
grpc_reader_buffered(const struct grpc_reader *r)
{
	size_t n = r->ext != NULL ? r->extlen : r->in.len;

	if (r->has_pending)
		n -= GRPC_PREFIX_SIZE + (size_t)r->pending;
	return n;
}

int
grpc_append_message(struct buf *out, const ProtobufCMessage *msg)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	uint8_t *p;

	if (n > UINT32_MAX)
		return -1;
	if ((p = buf_reserve(out, GRPC_PREFIX_SIZE + n)) == NULL)
		return -1;
	grpc_put_prefix(p, (uint32_t)n);
	protobuf_c_message_pack(msg, p + GRPC_PREFIX_SIZE);
	buf_commit(out, GRPC_PREFIX_SIZE + n);
	return 0;
}

int
grpc_timeout_parse(const char *v, size_t len, uint32_t *ms)
{
	/* TimeoutValue is at most 8 digits, then one unit letter */
	uint64_t n = 0, out;
	size_t i;

	if (len < 2 || len > 9)
		return -1;
	for (i = 0; i < len - 1; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	switch (v[len - 1]) {
	case 'H': out = n * 3600000; break;
	case 'M': out = n * 60000; break;
	case 'S': out = n * 1000; break;
	case 'm': out = n; break;
	case 'u': out = (n + 999) / 1000; break;
	case 'n': out = (n + 999999) / 1000000; break;
	default: return -1;
	}
	*ms = out > UINT32_MAX ? UINT32_MAX : (uint32_t)out;
	return 0;
}

void
grpc_message_encode(const char *msg, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	if (outlen == 0)
		return;
	for (const unsigned char *p = (const unsigned char *)msg; *p != '\0'; p++) {
		if (*p >= 0x20 && *p <= 0x7e && *p != '%') {
			if (o + 1 >= outlen)
				break;
			out[o++] = (char)*p;
		} else {
			if (o + 3 >= outlen)
				break;
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
grpc_message_decode(const char *v, size_t len, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen == 0)
		return;
	for (size_t i = 0; i < len && o + 1 < outlen; i++) {
		int hi, lo;
		if (v[i] == '%' && i + 2 < len && (hi = hexval(v[i + 1])) >= 0 &&
		    (lo = hexval(v[i + 2])) >= 0) {
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			out[o++] = v[i];
	}
	out[o] = '\0';
}

const char *
grpc_status_name(int status)
{
	static const char *const names[] = { "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
		"DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
		"RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
		"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED" };
	if (status < 0 || status >= (int)(sizeof(names) / sizeof(names[0])))
		return "UNKNOWN";
	return names[status];
}
