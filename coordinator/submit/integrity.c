/* integrity — see integrity.h. */
#include "integrity.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define INTEGRITY_VALUES 8 /* of the strongest algorithm, kept */
#define INTEGRITY_B64 96   /* a sha512 in base64 is 88 */

static const char *const integrity_algs[] = {"sha512", "sha384", "sha256", "sha1"};

/* The strongest algorithm of a pinned string and its values. */
struct integrity_pins {
	int alg; /* index in integrity_algs; 4: none */
	char b64[INTEGRITY_VALUES][INTEGRITY_B64 + 1];
	int n;
};

static bool integrity_b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '=';
}

/* Reads pinned; tokens of unknown algorithms are skipped (SRI says so),
 * options after '?' ignored. -EINVAL when it is not printable, too long,
 * or names no supported algorithm with a base64 value. */
static int integrity_parse(const char *pinned, struct integrity_pins *p)
{
	memset(p, 0, sizeof(*p));
	p->alg = 4;
	size_t len = pinned ? strlen(pinned) : 0;
	if (len == 0 || len > SF_INTEGRITY_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)pinned[i] < 0x20 || (unsigned char)pinned[i] >= 0x7f)
			if (pinned[i] != '\t')
				return -EINVAL;
	for (const char *s = pinned; *s;) {
		s += strspn(s, " \t");
		size_t tok = strcspn(s, " \t");
		if (!tok)
			break;
		const char *dash = memchr(s, '-', tok);
		for (int a = 0; dash && a < 4; a++) {
			size_t al = strlen(integrity_algs[a]);
			if ((size_t)(dash - s) != al || strncmp(s, integrity_algs[a], al) != 0)
				continue;
			size_t b64 = strcspn(dash + 1, "? \t");
			if ((size_t)(dash + 1 - s) + b64 > tok)
				b64 = tok - (size_t)(dash + 1 - s);
			bool ok = b64 > 0 && b64 <= INTEGRITY_B64;
			for (size_t k = 0; ok && k < b64; k++)
				ok = integrity_b64_char(dash[1 + k]);
			if (!ok || a > p->alg)
				break;
			if (a < p->alg) {
				p->alg = a;
				p->n = 0;
			}
			if (p->n < INTEGRITY_VALUES) {
				memcpy(p->b64[p->n], dash + 1, b64);
				p->b64[p->n][b64] = '\0';
				p->n++;
			}
			break;
		}
		s += tok;
	}
	return p->alg < 4 ? 0 : -EINVAL;
}

int sf_integrity_valid(const char *pinned)
{
	struct integrity_pins p;
	return integrity_parse(pinned, &p) == 0;
}

static bool integrity_pinned_has(const struct integrity_pins *p, const char *b64)
{
	for (int i = 0; i < p->n; i++)
		if (strcmp(p->b64[i], b64) == 0)
			return true;
	return false;
}

enum sf_integrity_verdict sf_integrity_compare(const char *pinned, const char *known)
{
	struct integrity_pins p;
	if (integrity_parse(pinned, &p) != 0 || !known || !known[0])
		return SF_INTEGRITY_UNKNOWN;
	const char *alg = integrity_algs[p.alg];
	size_t al = strlen(alg);
	if (strncmp(known, alg, al) == 0 && known[al] == '-')
		return integrity_pinned_has(&p, known + al + 1) ? SF_INTEGRITY_AGREE
								: SF_INTEGRITY_DISAGREE;
	if (p.alg == 3 && strncmp(known, "sha1:", 5) == 0 && strlen(known + 5) == 40 &&
	    sf_is_hex(known + 5, 40)) {
		/* dist.shasum: hex, the lockfile's sha1 is base64 */
		unsigned char md[20];
		char b64[32];
		for (int i = 0; i < 20; i++) {
			unsigned v = 0;
			sscanf(known + 5 + 2 * i, "%2x", &v);
			md[i] = (unsigned char)v;
		}
		EVP_EncodeBlock((unsigned char *)b64, md, 20);
		return integrity_pinned_has(&p, b64) ? SF_INTEGRITY_AGREE : SF_INTEGRITY_DISAGREE;
	}
	return SF_INTEGRITY_UNKNOWN;
}

int sf_integrity_check_fd(const char *pinned, int fd, bool *agrees, char *actual,
			  size_t actual_len)
{
	struct integrity_pins p;
	*agrees = false;
	if (integrity_parse(pinned, &p) != 0)
		return -EINVAL;
	const EVP_MD *md = EVP_get_digestbyname(integrity_algs[p.alg]);
	EVP_MD_CTX *ctx = md ? EVP_MD_CTX_new() : NULL;
	int rc = -ENOMEM;
	if (!ctx || EVP_DigestInit_ex(ctx, md, NULL) != 1)
		goto out;
	char buf[65536];
	for (;;) {
		ssize_t k = read(fd, buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = -EIO;
			goto out;
		}
		if (k == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)k) != 1) {
			rc = -EIO;
			goto out;
		}
	}
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	if (EVP_DigestFinal_ex(ctx, digest, &dlen) != 1) {
		rc = -EIO;
		goto out;
	}
	EVP_EncodeBlock((unsigned char *)b64, digest, (int)dlen);
	*agrees = integrity_pinned_has(&p, b64);
	snprintf(actual, actual_len, "%s-%s", integrity_algs[p.alg], b64);
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}
