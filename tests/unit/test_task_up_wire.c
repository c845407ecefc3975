/*
 * test_task_up_wire: task_up_peek against protobuf-c. Whatever the peek
 * takes must decode the same through protobuf-c; what it declines must
 * be a message that is not exactly one chunk or one empty end. And
 * task_up_append_chunk writes what grpc_append_message would.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "grpc_wire.h"
#include "task_up_wire.h"
#include "check.h"

/* peek and protobuf-c agree on msg; returns whether peek took it */
static int
agree(const uint8_t *msg, size_t len)
{
	Tokilake__V1__TaskUp fast, *slow;
	Tokilake__V1__TaskEnd end;
	int took = task_up_peek(msg, len, &fast, &end);

	slow = tokilake__v1__task_up__unpack(NULL, len, msg);
	if (!took) {
		if (slow != NULL)
			tokilake__v1__task_up__free_unpacked(slow, NULL);
		return 0;
	}
	CHECK(slow != NULL);
	if (slow == NULL)
		return 1;
	CHECK(fast.msg_case == slow->msg_case);
	if (slow->msg_case == TOKILAKE__V1__TASK_UP__MSG_CHUNK) {
		CHECK(fast.chunk.len == slow->chunk.len);
		CHECK(fast.chunk.len == 0 || memcmp(fast.chunk.data, slow->chunk.data, fast.chunk.len) == 0);
		CHECK(fast.chunk.data >= msg && fast.chunk.data + fast.chunk.len == msg + len);
	} else
		CHECK(fast.end == &end);
	tokilake__v1__task_up__free_unpacked(slow, NULL);
	return 1;
}

static size_t
pack_chunk(uint8_t *out, size_t n)
{
	Tokilake__V1__TaskUp m = TOKILAKE__V1__TASK_UP__INIT;
	uint8_t *data = malloc(n + 1);
	size_t len;

	for (size_t i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 7 + 1);
	m.msg_case = TOKILAKE__V1__TASK_UP__MSG_CHUNK;
	m.chunk.data = data;
	m.chunk.len = n;
	len = tokilake__v1__task_up__pack(&m, out);
	free(data);
	return len;
}

/* the hand-written chunk equals protobuf-c's, prefix included */
static void
same_chunk(size_t n)
{
	Tokilake__V1__TaskUp m = TOKILAKE__V1__TASK_UP__INIT;
	struct buf a = { 0 }, b = { 0 };
	uint8_t *data = malloc(n + 1);

	for (size_t i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 13 + 5);
	m.msg_case = TOKILAKE__V1__TASK_UP__MSG_CHUNK;
	m.chunk.data = data;
	m.chunk.len = n;
	CHECK(grpc_append_message(&a, &m.base) == 0);
	CHECK(task_up_append_chunk(&b, data, n) == 0);
	CHECK(a.len == b.len && memcmp(buf_head(&a), buf_head(&b), a.len) == 0);
	/* and the peek takes it back whole */
	CHECK(b.len > GRPC_PREFIX_SIZE && agree(buf_head(&b) + GRPC_PREFIX_SIZE, b.len - GRPC_PREFIX_SIZE) == 1);
	buf_free(&a);
	buf_free(&b);
	free(data);
}

int
main(void)
{
	static uint8_t buf[300000];
	static const size_t sizes[] = { 0, 1, 127, 128, 300, 16383, 16384, 70000, 262143 };
	size_t len;

	/* every chunk size, as protobuf-c packs it: taken, and equal */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		len = pack_chunk(buf, sizes[i]);
		CHECK(agree(buf, len) == 1);
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		same_chunk(sizes[i]);
	same_chunk(2097151);
	same_chunk(2097152);
	/* the end */
	{
		Tokilake__V1__TaskUp m = TOKILAKE__V1__TASK_UP__INIT;
		Tokilake__V1__TaskEnd e = TOKILAKE__V1__TASK_END__INIT;

		m.msg_case = TOKILAKE__V1__TASK_UP__MSG_END;
		m.end = &e;
		len = tokilake__v1__task_up__pack(&m, buf);
		CHECK(len == 2);
		CHECK(agree(buf, len) == 1);
	}
	/* a head and an accept: declined (protobuf-c's) */
	{
		Tokilake__V1__TaskUp m = TOKILAKE__V1__TASK_UP__INIT;
		Tokilake__V1__ResponseHead h = TOKILAKE__V1__RESPONSE_HEAD__INIT;
		Tokilake__V1__TaskAccept a = TOKILAKE__V1__TASK_ACCEPT__INIT;

		h.status = 200;
		m.msg_case = TOKILAKE__V1__TASK_UP__MSG_HEAD;
		m.head = &h;
		len = tokilake__v1__task_up__pack(&m, buf);
		CHECK(agree(buf, len) == 0);
		a.task_id = 42;
		m.msg_case = TOKILAKE__V1__TASK_UP__MSG_ACCEPT;
		m.accept = &a;
		len = tokilake__v1__task_up__pack(&m, buf);
		CHECK(agree(buf, len) == 0);
	}
	/* a chunk followed by a second field (the last oneof member wins in
	 * protobuf): declined, so the meaning stays protobuf-c's */
	len = pack_chunk(buf, 5);
	buf[len++] = 0x22;
	buf[len++] = 0x00;
	CHECK(agree(buf, len) == 0);
	/* a length past the end, an unfinished and an overlong varint, an
	 * end with content, too short: declined */
	{
		static const uint8_t bad1[] = { 0x1a, 0x05, 'a', 'b' };
		static const uint8_t bad2[] = { 0x1a, 0x80 };
		static const uint8_t bad3[] = { 0x1a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 };
		static const uint8_t bad4[] = { 0x22, 0x02, 0x08, 0x01 };
		static const uint8_t bad5[] = { 0x1a };
		static const uint8_t ok1[] = { 0x1a, 0x82, 0x00, 'h', 'i' }; /* non-minimal varint */

		CHECK(agree(bad1, sizeof(bad1)) == 0);
		CHECK(agree(bad2, sizeof(bad2)) == 0);
		CHECK(agree(bad3, sizeof(bad3)) == 0);
		CHECK(agree(bad4, sizeof(bad4)) == 0);
		CHECK(agree(bad5, sizeof(bad5)) == 0);
		CHECK(agree(ok1, sizeof(ok1)) == 1);
	}
	if (failures == 0)
		printf("test_task_up_wire: all passed\n");
	return failures == 0 ? 0 : 1;
}
