/*
 * check.h: the unit tests' one assertion. CHECK logs a failed condition
 * with its place and counts it; the test goes on, so one run shows every
 * failure, and main() exits non-zero when failures > 0.
 */
#ifndef TL_TESTS_CHECK_H
#define TL_TESTS_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			failures++;                                                      \
		}                                                                        \
	} while (0)

#endif
