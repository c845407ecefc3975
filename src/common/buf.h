/*
 * buf: a growable byte buffer with an owner-set bound.
 *
 * Used for IPC output queues and partial input. The owner decides the
 * bound (buf->max); an append past it fails with -1 instead of growing,
 * so a peer that stops reading cannot make us buffer without limit.
 */
#ifndef TL_BUF_H
#define TL_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t off; /* consumed bytes at the front */
	size_t len; /* valid bytes after off */
	size_t cap;
	size_t max; /* 0 = no bound (only for buffers whose producer we control) */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
/* Pointer to the unconsumed bytes. */
static inline uint8_t *buf_head(const struct buf *b) { return b->data ? b->data + b->off : NULL; }
/* Make room for n more bytes; returns a pointer to write to, or NULL if over the bound. */
uint8_t *buf_reserve(struct buf *b, size_t n);
/* Account n bytes written into the space from buf_reserve(). */
void buf_commit(struct buf *b, size_t n);
int buf_append(struct buf *b, const void *p, size_t n);
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);

#endif
