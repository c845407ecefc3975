/*
 * fuzz.h: what every fuzz target shares.
 *
 * A target is one LLVMFuzzerTestOneInput() that decodes its input and
 * checks invariants with REQUIRE: a broken one aborts, which libFuzzer
 * and the plain replay driver (replay_main.c) both report as a crash.
 */
#ifndef TL_FUZZ_H
#define TL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define REQUIRE(cond)                                                                   \
	do {                                                                            \
		if (!(cond)) {                                                          \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__,      \
			    __LINE__, #cond);                                           \
			abort();                                                        \
		}                                                                       \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* xorshift64*: a fixed seed gives the same inputs on every run. */
static inline uint64_t
fuzz_rnd(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dULL;
}

#endif
