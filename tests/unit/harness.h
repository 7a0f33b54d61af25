/*
 * harness — the tiny test harness every tests/unit/NAME_test.c uses.
 *
 * CHECK(cond) records a failure with file:line and carries on; a test
 * executable exits 1 when any check failed, 77 (ctest: skipped) through
 * SKIP(why), 0 otherwise. main() ends with TEST_DONE().
 */
#ifndef SF_HARNESS_H
#define SF_HARNESS_H

#include <stdio.h>
#include <stdlib.h>

static int harness_checks, harness_failures;

#define CHECK(cond)                                                                        \
	do {                                                                               \
		harness_checks++;                                                          \
		if (!(cond)) {                                                             \
			harness_failures++;                                                \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                          \
	} while (0)

#define CHECK_EQ(a, b)                                                                      \
	do {                                                                                \
		long long harness_a = (long long)(a), harness_b = (long long)(b);           \
		harness_checks++;                                                           \
		if (harness_a != harness_b) {                                               \
			harness_failures++;                                                 \
			fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n",  \
				__FILE__, __LINE__, #a, harness_a, #b, harness_b);          \
		}                                                                           \
	} while (0)

#define SKIP(why)                                                                          \
	do {                                                                               \
		fprintf(stderr, "SKIP: %s\n", why);                                        \
		exit(77);                                                                  \
	} while (0)

#define TEST_DONE()                                                                        \
	do {                                                                               \
		fprintf(stderr, "%d checks, %d failed\n", harness_checks, harness_failures); \
		return harness_failures ? 1 : 0;                                           \
	} while (0)

#endif
