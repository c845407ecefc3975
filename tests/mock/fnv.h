/*
 * fnv: the digests and byte streams the mock's answers are built from.
 *
 * FNV-1a 64 is how tests check that bytes arrived unchanged: the mock
 * digests every request body and every binary answer, and tests compute
 * the same digest (`tl-mock-openai --fnv FILE`) on their side. The byte
 * stream of generated audio is splitmix64 from a seed, eight bytes per
 * step, little-endian: simple to re-implement in any language.
 */
#ifndef TL_MOCK_FNV_H
#define TL_MOCK_FNV_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A64_INIT 0xcbf29ce484222325ULL
#define FNV1A64_PRIME 0x100000001b3ULL

static inline uint64_t
fnv1a64_update(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= FNV1A64_PRIME;
	}
	return h;
}

static inline uint64_t
fnv1a64(const void *p, size_t n)
{
	return fnv1a64_update(FNV1A64_INIT, p, n);
}

/* 16 lowercase hex digits and a NUL. */
static inline void
fnv_hex(uint64_t h, char out[17])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 15; i >= 0; i--) {
		out[i] = digits[h & 0xf];
		h >>= 4;
	}
	out[16] = '\0';
}

static inline uint64_t
splitmix64_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

#endif
