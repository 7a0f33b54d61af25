/*
 * secret — comparing a presented shared secret (the worker secret on
 * artifact downloads and in NNG messages) with the configured one in time
 * that does not depend on where they differ.
 *
 * Owns: nothing. Calls: libc.
 */
#ifndef SF_SECRET_H
#define SF_SECRET_H

#include <stdbool.h>

/* Whether presented equals secret; false when either is NULL. The time
 * taken depends only on the length of secret. */
bool sf_secret_equal(const char *presented, const char *secret);

#endif
