/*
 * integrity — what a lockfile pins for a package (npm's Subresource
 * Integrity string, "sha512-<base64>", possibly several space-separated
 * hashes) held against what the registry publishes for the same
 * name@version, so that a reference whose lockfile disagrees is reported
 * and never scanned as if it were the registry's artifact.
 *
 * As in the SRI specification, only the strongest algorithm the pinned
 * string names counts (sha512 > sha384 > sha256 > sha1), and any of its
 * values may match. The registry's side is what the resolver recorded
 * (resolve.h: "alg-<base64>" of the verified bytes, or "sha1:<hex>" from
 * dist.shasum) or, when that names another algorithm, the stored bytes
 * themselves, hashed with the pinned algorithm.
 *
 * Owns: nothing. Calls: OpenSSL libcrypto (EVP digests, base64), util,
 * libc.
 */
#ifndef SF_INTEGRITY_H
#define SF_INTEGRITY_H

#include <stdbool.h>
#include <stddef.h>

#define SF_INTEGRITY_MAX 1024 /* bytes of a pinned string */

enum sf_integrity_verdict {
	SF_INTEGRITY_AGREE,
	SF_INTEGRITY_DISAGREE,
	SF_INTEGRITY_UNKNOWN, /* the known digest is of another algorithm */
};

/* 1 when pinned is a usable SRI string: printable, at most
 * SF_INTEGRITY_MAX bytes, at least one hash of a supported algorithm
 * with a base64 value; else 0. */
int sf_integrity_valid(const char *pinned);

/* pinned (valid) against known ("alg-<base64>" or "sha1:<hex>"; NULL or
 * "": nothing known). */
enum sf_integrity_verdict sf_integrity_compare(const char *pinned, const char *known);

/* pinned (valid) against the bytes read from fd (from its current offset
 * to the end): *agrees, and in actual the bytes' "alg-<base64>" under the
 * pinned algorithm. 0, -EINVAL (pinned not valid), -EIO, -ENOMEM. */
int sf_integrity_check_fd(const char *pinned, int fd, bool *agrees, char *actual,
			  size_t actual_len);

#endif
