/*
 * fuzz_pb: every protobuf message agentd and tokiame decode from the
 * link, unpacked as the code does it: protobuf-c through a pb_arena on
 * the stack (pb_arena.c), then free_unpacked with the same allocator.
 * Byte 0 picks the message: 0 AgentMessage (agentd, Connect), 1 TaskUp
 * (agentd, Serve), 2 ServerMessage (tokiame, Connect), 3 TaskDown
 * (tokiame, Serve); the rest is the message.
 *
 * Checked:
 *  - the arena changes nothing: unpacking with it and with the default
 *    allocator both succeed or both fail, and pack to the same bytes;
 *  - what the handlers dereference without a test is there: every string
 *    field is a NUL-terminated string (never NULL, proto3 gives ""), the
 *    sub-message a oneof case names is not NULL, repeated fields hold
 *    n non-NULL entries, bytes fields with a length have data;
 *  - packing is a fixed point: the packed size is what pack writes, and
 *    without unknown fields the packed bytes unpack and pack again to the
 *    same bytes;
 *  - nothing leaks or is freed twice, also for messages too big for the
 *    arena (ASan, leak check in the libFuzzer build).
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "pb_arena.h"
#include "tokilake.pb-c.h"

static const ProtobufCMessageDescriptor *const descs[] = {
	&tokilake__v1__agent_message__descriptor,
	&tokilake__v1__task_up__descriptor,
	&tokilake__v1__server_message__descriptor,
	&tokilake__v1__task_down__descriptor,
};

static size_t walk(const ProtobufCMessage *m, int depth);

/* The oneof member of field f is the one set, or f is in no oneof. */
static int
field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)((const char *)m + f->quantifier_offset) == f->id;
	return 1;
}

/* Returns the unknown fields found in a sub-message. */
static size_t
walk_value(const ProtobufCFieldDescriptor *f, const void *v, int depth)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)v;

		REQUIRE(s != NULL);
		(void)strlen(s);
		break;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = v;

		REQUIRE(b->len == 0 || b->data != NULL);
		if (b->len != 0)
			REQUIRE(((volatile const uint8_t *)b->data)[b->len - 1] || 1);
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)v;

		/* a set oneof or a repeated entry is always there; a plain
		 * message field may be absent (NULL) */
		if (sub != NULL) {
			REQUIRE(sub->descriptor == f->descriptor);
			return walk(sub, depth + 1);
		}
		break;
	}
	default:
		break;
	}
	return 0;
}

static size_t
value_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	default: return 4;
	}
}

/* Check m; returns how many unknown fields it and its parts hold. */
static size_t
walk(const ProtobufCMessage *m, int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	size_t unknown = m->n_unknown_fields;

	REQUIRE(depth < 16);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *at = (const char *)m + f->offset;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
			const char *arr = *(char *const *)at;

			REQUIRE(n == 0 || arr != NULL);
			for (size_t k = 0; k < n; k++) {
				if (f->type == PROTOBUF_C_TYPE_MESSAGE)
					REQUIRE(((void *const *)arr)[k] != NULL);
				unknown += walk_value(f, arr + k * value_size(f), depth);
			}
			continue;
		}
		if (!field_present(m, f))
			continue;
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && f->type == PROTOBUF_C_TYPE_MESSAGE)
			REQUIRE(*(void *const *)at != NULL);
		unknown += walk_value(f, at, depth);
	}
	return unknown;
}

static uint8_t *
pack(const ProtobufCMessage *m, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *p = malloc(n + 1);

	REQUIRE(protobuf_c_message_pack(m, p) == n);
	*len = n;
	return p;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pb_arena arena;
	const ProtobufCMessageDescriptor *d;
	ProtobufCMessage *a, *b, *c;
	uint8_t *pa, *pb, *pc;
	size_t na, nb, nc, unknown;

	if (size < 1)
		return 0;
	d = descs[data[0] % 4];
	a = protobuf_c_message_unpack(d, pb_arena_init(&arena), size - 1, data + 1);
	b = protobuf_c_message_unpack(d, NULL, size - 1, data + 1);
	REQUIRE((a == NULL) == (b == NULL));
	if (a == NULL)
		return 0;
	unknown = walk(a, 0);
	REQUIRE(walk(b, 0) == unknown);
	pa = pack(a, &na);
	pb = pack(b, &nb);
	REQUIRE(na == nb && memcmp(pa, pb, na) == 0);
	if (unknown == 0) {
		/* (protobuf-c keeps unknown fields as read, even a field
		 * number 0 it should have refused, and packs them back as is) */
		c = protobuf_c_message_unpack(d, NULL, na, pa);
		REQUIRE(c != NULL);
		pc = pack(c, &nc);
		REQUIRE(nc == na && memcmp(pc, pa, na) == 0);
		free(pc);
		protobuf_c_message_free_unpacked(c, NULL);
	}
	free(pa);
	free(pb);
	protobuf_c_message_free_unpacked(b, NULL);
	protobuf_c_message_free_unpacked(a, &arena.alloc);
	return 0;
}
