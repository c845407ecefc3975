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

#ifndef TL_LIBFUZZER
#include <dirent.h>

/*
 * Plain drivers with their own generators (fuzz_ipc, fuzz_read_guard):
 * run_file() on each committed input of tests/fuzz/corpus/NAME, found
 * through top_srcdir as the tests set it; nothing without it. Returns the
 * files' results or-ed together.
 */
static inline int
fuzz_each_seed(const char *name, int (*run_file)(const char *path))
{
	const char *top = getenv("top_srcdir");
	char dir[4096], path[4096 + 256];
	struct dirent *e;
	DIR *d;
	int rc = 0;

	if (top == NULL)
		return 0;
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", top, name);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			rc |= run_file(path);
		}
	closedir(d);
	return rc;
}
#endif

#endif
