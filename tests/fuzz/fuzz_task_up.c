/*
 * fuzz_task_up: the fast TaskUp read (task_up_wire.c) DIFFERENTIAL
 * against protobuf-c, on any bytes as one gRPC message body.
 *
 * Checked:
 *  - whenever task_up_peek claims a message, protobuf-c (through a
 *    pb_arena, as link_task.c would) decodes it too, to the same oneof
 *    case; a chunk has the same length and bytes, and the peek's chunk
 *    points into the input and ends at its end (zero copy, no overread);
 *    an end points at the caller's TaskEnd;
 *  - the peek declines nothing it promises to take: a message protobuf-c
 *    reads as exactly one chunk or one empty end (no unknown field), and
 *    that protobuf-c packs back to the very same bytes, is taken;
 *  - task_up_append_chunk of the input as chunk data writes exactly what
 *    grpc_append_message writes for TaskUp { chunk }, and the peek reads
 *    it back whole.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "grpc_wire.h"
#include "pb_arena.h"
#include "task_up_wire.h"

static void
check_peek(const uint8_t *msg, size_t len)
{
	struct pb_arena arena;
	Tokilake__V1__TaskUp fast, *slow;
	Tokilake__V1__TaskEnd end;
	int took = task_up_peek(msg, len, &fast, &end);

	slow = tokilake__v1__task_up__unpack(pb_arena_init(&arena), len, msg);
	if (took) {
		REQUIRE(slow != NULL);
		REQUIRE(fast.msg_case == slow->msg_case);
		if (fast.msg_case == TOKILAKE__V1__TASK_UP__MSG_CHUNK) {
			REQUIRE(fast.chunk.len == slow->chunk.len);
			REQUIRE(fast.chunk.len == 0 ||
			    memcmp(fast.chunk.data, slow->chunk.data, fast.chunk.len) == 0);
			REQUIRE(fast.chunk.data >= msg && fast.chunk.data <= msg + len);
			REQUIRE(fast.chunk.len == (size_t)(msg + len - fast.chunk.data));
		} else {
			REQUIRE(fast.msg_case == TOKILAKE__V1__TASK_UP__MSG_END);
			REQUIRE(fast.end == &end);
		}
	} else if (slow != NULL && slow->base.n_unknown_fields == 0 &&
	    (slow->msg_case == TOKILAKE__V1__TASK_UP__MSG_CHUNK ||
	    (slow->msg_case == TOKILAKE__V1__TASK_UP__MSG_END &&
	    slow->end->base.n_unknown_fields == 0))) {
		/* canonical single-field messages are the peek's to take */
		size_t n = tokilake__v1__task_up__get_packed_size(slow);
		uint8_t *p = malloc(n + 1);

		tokilake__v1__task_up__pack(slow, p);
		REQUIRE(n != len || memcmp(p, msg, len) != 0);
		free(p);
	}
	if (slow != NULL)
		tokilake__v1__task_up__free_unpacked(slow, &arena.alloc);
}

static void
check_append(const uint8_t *data, size_t len)
{
	Tokilake__V1__TaskUp m = TOKILAKE__V1__TASK_UP__INIT, fast;
	Tokilake__V1__TaskEnd end;
	struct buf a, b;

	buf_init(&a, 0);
	buf_init(&b, 0);
	m.msg_case = TOKILAKE__V1__TASK_UP__MSG_CHUNK;
	m.chunk.data = (uint8_t *)data;
	m.chunk.len = len;
	REQUIRE(grpc_append_message(&a, &m.base) == 0);
	REQUIRE(task_up_append_chunk(&b, data, len) == 0);
	REQUIRE(a.len == b.len && memcmp(buf_head(&a), buf_head(&b), a.len) == 0);
	REQUIRE(task_up_peek(buf_head(&b) + GRPC_PREFIX_SIZE, b.len - GRPC_PREFIX_SIZE, &fast,
	    &end) == 1);
	REQUIRE(fast.msg_case == TOKILAKE__V1__TASK_UP__MSG_CHUNK && fast.chunk.len == len);
	REQUIRE(len == 0 || memcmp(fast.chunk.data, data, len) == 0);
	buf_free(&a);
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_peek(data, size);
	check_append(data, size);
	return 0;
}
