/*
 * task_up_wire: the two TaskUp messages a task's answer is mostly made
 * of, read straight from the wire.
 *
 * A streamed answer is one TaskUp { chunk } per event and ends with
 * TaskUp { end }. protobuf-c's generic unpack costs about a thousand
 * instructions a message and copies the chunk's bytes; these messages are
 * one field each, so agentd reads them directly and the bytes stay where
 * they are (the caller's frame). Anything else, including any message
 * with a second field, is left to protobuf-c, so the meaning is the same.
 * tokiame writes its chunks the same way, byte for byte what protobuf-c
 * would pack.
 */
#ifndef TL_TASK_UP_WIRE_H
#define TL_TASK_UP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "tokilake.pb-c.h"

/* 1 and m (and *end, which m->end points to) filled when msg is exactly
 * one chunk or one empty end; m->chunk.data then points into msg. 0 when
 * protobuf-c must decode it. */
int task_up_peek(const uint8_t *msg, size_t len, Tokilake__V1__TaskUp *m,
    Tokilake__V1__TaskEnd *end);

/* Append TaskUp { chunk: data } to out as one gRPC message (prefix
 * included). -1 when out cannot grow or len is past a message's size. */
int task_up_append_chunk(struct buf *out, const uint8_t *data, size_t len);

#endif
