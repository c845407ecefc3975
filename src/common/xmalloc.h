/*
 * xmalloc: allocation that cannot fail. Running out of memory is fatal:
 * a gateway that limps on after a failed malloc corrupts state instead.
 */
#ifndef TL_XMALLOC_H
#define TL_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Wipe a secret before freeing it. */
void secure_wipe(void *p, size_t n);
/* Keep freed memory at the top of the heap instead of giving it back to
 * the kernel after every burst: measured, glibc's default trimming cost
 * tokiame a brk() every few requests under load. Call once in main(). */
void malloc_tune(void);

#endif
