/*
 * jsonw: write JSON text into a bounded struct buf.
 *
 * Strings come from requests (model names, paths, request ids), so the
 * escaper trusts nothing: quotes, backslashes and control characters are
 * escaped and bytes that are not valid UTF-8 become U+FFFD, so the output
 * is always valid JSON. The writer remembers the first failure (the
 * buffer's bound reached) in `err`; the owner checks it once at the end.
 */
#ifndef TL_MOCK_JSONW_H
#define TL_MOCK_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct jw {
	struct buf *b;
	int err;
};

void jw_init(struct jw *w, struct buf *b);
/* JSON text we wrote ourselves: punctuation, keys, literals. */
void jw_raw(struct jw *w, const char *s);
void jw_rawn(struct jw *w, const void *s, size_t n);
/* s[0..len) as a JSON string literal, quotes included. */
void jw_str(struct jw *w, const char *s, size_t len);
void jw_cstr(struct jw *w, const char *s);
/* A string literal, or null when s == NULL. */
void jw_str_or_null(struct jw *w, const char *s, size_t len);
void jw_u64(struct jw *w, uint64_t v);
void jw_fmt(struct jw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
