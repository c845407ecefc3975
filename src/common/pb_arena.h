/*
 * pb_arena: a bump allocator for protobuf-c unpacking.
 *
 * protobuf-c allocates every sub-message, string and bytes field of an
 * unpacked message separately, and we unpack one message per streamed
 * chunk. With a pb_arena on the caller's stack those allocations come
 * from a fixed buffer; only a message larger than the buffer falls back
 * to malloc (freed one by one as usual). Freeing pieces from the buffer
 * is a no-op: the buffer dies with the caller's frame.
 *
 *	struct pb_arena a;
 *	ProtobufCAllocator *al = pb_arena_init(&a);
 *	m = x__unpack(al, len, data); ... x__free_unpacked(m, al);
 */
#ifndef TL_PB_ARENA_H
#define TL_PB_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#define PB_ARENA_SIZE 8192

struct pb_arena {
	ProtobufCAllocator alloc;
	size_t used;
	_Alignas(16) uint8_t mem[PB_ARENA_SIZE];
};

ProtobufCAllocator *pb_arena_init(struct pb_arena *a);

#endif
