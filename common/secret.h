/*
 * secret — comparing a presented shared secret (the worker secret on
 * artifact downloads and in NNG messages) with the configured one in time
 * that does not depend on where they differ.
 *
 * And reading a registry credential file into the Authorization value it
 * stands for (the worker's registry gateway and the coordinator's package
 * resolver both send one).
 *
 * Owns: nothing. Calls: libc, util.
 */
#ifndef SF_SECRET_H
#define SF_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#define SF_SECRET_AUTH_MAX 8192 /* an Authorization value, and its file */

/* Whether presented equals secret; false when either is NULL. The time
 * taken depends only on the length of secret. */
bool sf_secret_equal(const char *presented, const char *secret);

/* The Authorization value a credential file's content stands for: a bare
 * token "x" is "Bearer x", a whole value ("Bearer …", "Basic …") is kept;
 * surrounding blanks and the final newline are trimmed. -EINVAL for an
 * empty one or one with control bytes (a second line included),
 * -ENAMETOOLONG when it does not fit. */
int sf_secret_auth_value(const char *content, char *out, size_t outlen);
/* The same, read from the file at path (at most SF_SECRET_AUTH_MAX bytes;
 * the copy read is wiped). 0, -EINVAL, or a negative errno. */
int sf_secret_read_auth(const char *path, char *out, size_t outlen);

#endif
