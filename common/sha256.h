/*
 * sha256 — incremental SHA-256 over OpenSSL's EVP interface, hex digests.
 *
 * Owns: one EVP_MD_CTX per sf_sha256 (free it with sf_sha256_free, also
 * after sf_sha256_final). Calls: OpenSSL libcrypto.
 */
#ifndef SF_SHA256_H
#define SF_SHA256_H

#include <stddef.h>

#include "util.h"

struct sf_sha256 {
	void *ctx; /* EVP_MD_CTX */
};

int sf_sha256_init(struct sf_sha256 *h);
int sf_sha256_update(struct sf_sha256 *h, const void *data, size_t len);
int sf_sha256_final(struct sf_sha256 *h, char hex[SF_SHA256_HEX + 1]);
void sf_sha256_free(struct sf_sha256 *h);

/* Hashes a whole file by streaming it; returns the hex digest and its size. */
int sf_sha256_fd(int fd, char hex[SF_SHA256_HEX + 1], long long *size);
int sf_sha256_buf(const void *data, size_t len, char hex[SF_SHA256_HEX + 1]);

#endif
