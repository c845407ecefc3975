/* pb_arena: see pb_arena.h. */
#include "config.h"

#include <stdlib.h>

#include "pb_arena.h"

static void *
arena_alloc(void *data, size_t size)
{
	struct pb_arena *a = data;
	size_t n = (size + 15) & ~(size_t)15;

	if (n >= size && n <= PB_ARENA_SIZE - a->used) {
		void *p = a->mem + a->used;

		a->used += n;
		return p;
	}
	return malloc(size ? size : 1);
}

static void
arena_free(void *data, void *p)
{
	struct pb_arena *a = data;
	uint8_t *q = p;

	if (q >= a->mem && q < a->mem + PB_ARENA_SIZE)
		return;
	free(p);
}

ProtobufCAllocator *
pb_arena_init(struct pb_arena *a)
{
	a->alloc.alloc = arena_alloc;
	a->alloc.free = arena_free;
	a->alloc.allocator_data = a;
	a->used = 0;
	return &a->alloc;
}
