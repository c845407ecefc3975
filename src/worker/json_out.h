/*
 * json_out: small helpers that write JSON text into a struct buf.
 *
 * Strings come from anywhere (clients, agents, backends), so the escaper
 * never trusts its input: quotes, backslashes and control characters are
 * escaped, and bytes that are not valid UTF-8 become U+FFFD, so the
 * output is always valid JSON. Every function returns 0, or -1 when the
 * buffer's bound is reached (the output is then incomplete).
 */
#ifndef TL_WORKER_JSON_OUT_H
#define TL_WORKER_JSON_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* s[0..len) escaped for the inside of a JSON string (no quotes). */
int wk_json_out_esc(struct buf *b, const char *s, size_t len);
/* s[0..len) as a JSON string literal, with the quotes. */
int wk_json_out_str(struct buf *b, const char *s, size_t len);
/* A C string as a JSON string literal. */
int wk_json_out_cstr(struct buf *b, const char *s);
/* A C string or null when s == NULL. */
int wk_json_out_cstr_or_null(struct buf *b, const char *s);
/* Raw JSON text (punctuation, keys we wrote ourselves). */
int wk_json_out_raw(struct buf *b, const char *s);
int wk_json_out_u64(struct buf *b, uint64_t v);

#endif
