/* task_up_wire: see task_up_wire.h. */
#include "config.h"

#include <string.h>

#include "grpc_wire.h"
#include "task_up_wire.h"

/* wire keys: field number << 3 | wire type (2 = length-delimited) */
#define KEY_CHUNK ((3u << 3) | 2u)
#define KEY_END ((4u << 3) | 2u)

int
task_up_peek(const uint8_t *msg, size_t len, Tokilake__V1__TaskUp *m,
    Tokilake__V1__TaskEnd *end)
{
	uint64_t n = 0;
	size_t i = 1;

	if (len < 2)
		return 0;
	if (msg[0] == KEY_END && len == 2 && msg[1] == 0) {
		tokilake__v1__task_up__init(m);
		tokilake__v1__task_end__init(end);
		m->msg_case = TOKILAKE__V1__TASK_UP__MSG_END;
		m->end = end;
		return 1;
	}
	if (msg[0] != KEY_CHUNK)
		return 0;
	/* the length: a varint of at most 5 bytes here (a frame is < 4 GiB);
	 * a longer or unfinished one is protobuf-c's to judge */
	for (unsigned shift = 0;; shift += 7) {
		if (i >= len || shift > 28)
			return 0;
		n |= (uint64_t)(msg[i] & 0x7f) << shift;
		if ((msg[i++] & 0x80) == 0)
			break;
	}
	if (n != len - i)
		return 0;
	tokilake__v1__task_up__init(m);
	m->msg_case = TOKILAKE__V1__TASK_UP__MSG_CHUNK;
	m->chunk.data = (uint8_t *)msg + i;
	m->chunk.len = (size_t)n;
	return 1;
}

int
task_up_append_chunk(struct buf *out, const uint8_t *data, size_t len)
{
	uint8_t *p;
	size_t nv = 1, body, i = GRPC_PREFIX_SIZE;

	for (uint64_t v = len; v >= 0x80; v >>= 7)
		nv++;
	/* key, length varint, bytes: the message under the 5-byte prefix */
	if (len > UINT32_MAX - 1 - nv)
		return -1;
	body = 1 + nv + len;
	if ((p = buf_reserve(out, GRPC_PREFIX_SIZE + body)) == NULL)
		return -1;
	grpc_put_prefix(p, (uint32_t)body);
	p[i++] = KEY_CHUNK;
	for (uint64_t v = len; v >= 0x80; v >>= 7)
		p[i++] = (uint8_t)(v | 0x80);
	p[i++] = (uint8_t)(len >> (7 * (nv - 1)));
	if (len > 0)
		memcpy(p + i, data, len);
	buf_commit(out, GRPC_PREFIX_SIZE + body);
	return 0;
}
