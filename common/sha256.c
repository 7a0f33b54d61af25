/* sha256 — see sha256.h. */
#include "sha256.h"

#include <errno.h>
#include <openssl/evp.h>
#include <unistd.h>

int sf_sha256_init(struct sf_sha256 *h)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return -EIO;
	}
	h->ctx = ctx;
	return 0;
}

int sf_sha256_update(struct sf_sha256 *h, const void *data, size_t len)
{
	return EVP_DigestUpdate(h->ctx, data, len) == 1 ? 0 : -EIO;
}

int sf_sha256_final(struct sf_sha256 *h, char hex[SF_SHA256_HEX + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (EVP_DigestFinal_ex(h->ctx, md, &mdlen) != 1 || mdlen != 32)
		return -EIO;
	sf_hex(md, 32, hex);
	return 0;
}

void sf_sha256_free(struct sf_sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

int sf_sha256_fd(int fd, char hex[SF_SHA256_HEX + 1], long long *size)
{
	struct sf_sha256 h;
	int rc = sf_sha256_init(&h);
	if (rc)
		return rc;
	long long total = 0;
	char chunk[1 << 16];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		total += n;
		rc = sf_sha256_update(&h, chunk, (size_t)n);
		if (rc)
			goto out;
	}
	rc = sf_sha256_final(&h, hex);
	if (size)
		*size = total;
out:
	sf_sha256_free(&h);
	return rc;
}

int sf_sha256_buf(const void *data, size_t len, char hex[SF_SHA256_HEX + 1])
{
	struct sf_sha256 h;
	int rc = sf_sha256_init(&h);
	if (rc)
		return rc;
	rc = sf_sha256_update(&h, data, len);
	if (!rc)
		rc = sf_sha256_final(&h, hex);
	sf_sha256_free(&h);
	return rc;
}
