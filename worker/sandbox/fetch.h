/*
 * fetch — downloads an artifact from the coordinator and verifies it.
 *
 * The body is streamed to a file while its SHA-256 is computed; the file is
 * kept only if the digest and size match what the job said. Failures that
 * say nothing about the artifact (failures below HTTP such as a refused or
 * reset connection or a timeout, and 408, 429 and 5xx answers: a
 * coordinator restarting or draining; http_client's one rule) are retried
 * with a growing pause until retry_ms have passed; the rest fail at once.
 *
 * Owns: nothing after return. Calls: http_client (curl set-up, the
 * hashing sink), sha256, util.
 */
#ifndef SF_FETCH_H
#define SF_FETCH_H

#include <stddef.h>

/* 0, or -EIO (transfer), -EBADMSG (hash/size mismatch), with err filled. */
/* secret, when not NULL, is sent as "Authorization: Bearer <secret>";
 * ca_file: the CA certificates an https:// coordinator is verified with
 * (NULL: the system's). */
int sf_fetch(const char *url, const char *sha256, long long size, const char *path,
	     const char *secret, const char *ca_file, int retry_ms, char *err, size_t errlen);

#endif
