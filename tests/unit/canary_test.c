/*
 * canary_test — the canary credentials (worker/sandbox/canary.c): each
 * value has its real format (npm's and GitHub's check digits included),
 * no two are alike within a scan or across scans, the files are planted
 * with their owners and modes, the SSH key opens as an RSA-2048 key and
 * id_rsa.pub is its public half, the environment carries them as each runner does, and
 * what exfil searches for finds each canary in the file or variable it
 * was planted in.
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "canary.h"
#include "harness.h"
#include "util.h"

static bool matches(const char *s, const char *re)
{
	regex_t r;
	if (!s || regcomp(&r, re, REG_EXTENDED | REG_NOSUB))
		return false;
	bool ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	if (!ok)
		fprintf(stderr, "  '%s' !~ %s\n", s, re);
	return ok;
}

/* GitHub's (and npm's) check digits: base62 CRC32 of the 30 random characters. */
static bool checksum_ok(const char *token, size_t prefix)
{
	static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	unsigned long crc = crc32(0L, (const unsigned char *)token + prefix, 30);
	char sum[7];
	for (int i = 5; i >= 0; i--) {
		sum[i] = b62[crc % 62];
		crc /= 62;
	}
	sum[6] = 0;
	return !strcmp(token + prefix + 30, sum);
}

static void look(struct sf_runner *r, enum sf_runner_kind kind)
{
	for (int i = 0;; i++) {
		char id[16];
		snprintf(id, sizeof(id), "c-%d", i);
		sf_runner_choose(r, id);
		if (r->kind == kind)
			return;
	}
}

static void test_formats(enum sf_runner_kind kind)
{
	struct sf_runner r;
	look(&r, kind);
	struct sf_canaries a, b;
	CHECK_EQ(sf_canaries_make(&a, &r), 0);
	CHECK_EQ(sf_canaries_make(&b, &r), 0);
	bool gh = kind == SF_RUNNER_GITHUB_ARC;
	const char *npm = sf_canaries_value(&a, "NPM_TOKEN (environment)");
	CHECK(matches(npm, "^npm_[A-Za-z0-9]{36}$") && checksum_ok(npm, 4));
	const char *ght = sf_canaries_value(&a, "GITHUB_TOKEN (environment)");
	CHECK(matches(ght, gh ? "^ghs_[A-Za-z0-9]{36}$" : "^ghp_[A-Za-z0-9]{36}$") && checksum_ok(ght, 4));
	CHECK(matches(sf_canaries_value(&a, "AWS_ACCESS_KEY_ID (environment)"), "^AKIA[A-Z2-7]{16}$"));
	CHECK(matches(sf_canaries_value(&a, "AWS_SECRET_ACCESS_KEY (environment)"), "^[A-Za-z0-9+/]{40}$"));
	CHECK(matches(sf_canaries_value(&a, "~/.npmrc _authToken"), "^npm_[A-Za-z0-9]{36}$"));
	CHECK(matches(sf_canaries_value(&a, "~/.config/gh/hosts.yml oauth_token"), "^gho_[A-Za-z0-9]{36}$"));
	CHECK(matches(sf_canaries_value(&a, "~/.git-credentials"),
		      gh ? "^ghp_[A-Za-z0-9]{36}$" : "^glpat-[A-Za-z0-9_-]{20}$"));
	const char *job = sf_canaries_value(&a, "CI_JOB_TOKEN (environment)");
	CHECK(gh ? job == NULL : matches(job, "^glcbt-64_[A-Za-z0-9_-]{20}$"));
	/* all different, within a scan and from the next scan's */
	for (int i = 0; i < a.n; i++) {
		for (int j = 0; j < i; j++)
			CHECK(strcmp(a.c[i].value, a.c[j].value) != 0);
		CHECK(strcmp(a.c[i].value, b.c[i].value) != 0);
	}
	CHECK(strcmp(a.key, b.key) != 0);
	/* the environment: secrets as the runner hands them out */
	struct sf_argv e = {0};
	sf_canaries_env(&a, &r, &e);
	CHECK(!e.oom);
	char want[300];
	snprintf(want, sizeof(want), "NPM_TOKEN=%s", npm);
	bool has_npm = false, has_url = false;
	for (int i = 0; i < e.n; i++) {
		has_npm |= !strcmp(e.v[i], want);
		has_url |= !strncmp(e.v[i], "CI_REPOSITORY_URL=https://gitlab-ci-token:", 42) && job &&
			   strstr(e.v[i], job);
	}
	CHECK(has_npm && has_url == !gh);
	sf_argv_free(&e);
	sf_canaries_free(&a);
	sf_canaries_free(&b);
}

static char *slurp(const char *dir, const char *rel, unsigned *mode, unsigned *uid)
{
	char path[512], *t = NULL;
	size_t n;
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (stat(path, &st) != 0 || sf_read_file(path, 1 << 20, &t, &n) != 0)
		return NULL;
	*mode = st.st_mode & 07777;
	*uid = st.st_uid;
	return t;
}

/* The key opens as RSA-2048 and id_rsa.pub is its public half (the same
 * modulus, in SSH's encoding). */
static void check_key(const char *pem, const char *pub)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	CHECK(pk && EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA && EVP_PKEY_get_bits(pk) == 2048);
	CHECK(!strncmp(pem, "-----BEGIN RSA PRIVATE KEY-----\n", 32));
	CHECK(matches(pub, "^ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB[A-Za-z0-9+/]+=* [a-z]+@[a-z0-9-]+\n$"));
	BIGNUM *n = NULL;
	unsigned char blob[600], mod[300];
	int blen = 0;
	const char *b64 = strchr(pub, ' ');
	if (pk && b64 && EVP_PKEY_get_bn_param(pk, "n", &n)) {
		size_t k = strcspn(b64 + 1, " ");
		if (k < 800)
			blen = EVP_DecodeBlock(blob, (const unsigned char *)b64 + 1, (int)k);
		int ml = BN_bn2bin(n, mod);
		/* the blob ends with mpint n: its bytes, after a 0 (top bit set) */
		CHECK(blen > ml && !memcmp(blob + 11 + 7 + 5, mod, (size_t)ml));
	}
	BN_free(n);
	EVP_PKEY_free(pk);
	BIO_free(bio);
}

/* The planted files, and exfil finding each canary in its own file. */
static void test_plant(enum sf_runner_kind kind)
{
	struct sf_runner r;
	look(&r, kind);
	struct sf_canaries cs;
	CHECK_EQ(sf_canaries_make(&cs, &r), 0);
	char home[] = "/tmp/canary-test-XXXXXX", err[256];
	if (!mkdtemp(home))
		return;
	bool root = geteuid() == 0;
	unsigned uid = root ? 1000 : geteuid(), gid = root ? 1000 : getegid();
	CHECK_EQ(sf_canaries_plant(&cs, &r, home, uid, gid, err, sizeof(err)), 0);
	struct sf_exfil_secret s[SF_EXFIL_MAX_SECRETS];
	int n = sf_canaries_secrets(&cs, s, SF_EXFIL_MAX_SECRETS);
	CHECK_EQ(n, cs.n + 1);
	struct sf_exfil *x = NULL;
	CHECK_EQ(sf_exfil_new(&x, s, n), 0);
	static const struct {
		const char *rel, *canary;
		unsigned mode;
	} files[] = {{".npmrc", "~/.npmrc _authToken", 0600},
		     {".aws/credentials", "~/.aws/credentials aws_access_key_id", 0600},
		     {".git-credentials", "~/.git-credentials", 0600},
		     {".config/gh/hosts.yml", "~/.config/gh/hosts.yml oauth_token", 0600},
		     {".ssh/id_rsa", "~/.ssh/id_rsa", 0600},
		     {".aws/config", NULL, 0644},
		     {".gitconfig", NULL, 0644}};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		unsigned mode = 0, owner = 0;
		char *t = slurp(home, files[i].rel, &mode, &owner);
		CHECK(t && mode == files[i].mode && owner == uid);
		if (!t)
			continue;
		struct sf_exfil_hit hit;
		bool hitp = sf_exfil_search(x, t, strlen(t), &hit);
		if (files[i].canary) {
			CHECK(hitp && !strcmp(s[hit.secret].name, files[i].canary));
			const char *v = sf_canaries_value(&cs, files[i].canary);
			CHECK(!v || strstr(t, v));
		} else {
			CHECK(!hitp);
		}
		free(t);
	}
	unsigned mode = 0, owner = 0;
	char *pem = slurp(home, ".ssh/id_rsa", &mode, &owner);
	char *pub = slurp(home, ".ssh/id_rsa.pub", &mode, &owner);
	if (pem && pub)
		check_key(pem, pub);
	free(pem);
	free(pub);
	struct stat st;
	char ssh[512];
	snprintf(ssh, sizeof(ssh), "%s/.ssh", home);
	CHECK(stat(ssh, &st) == 0 && (st.st_mode & 0777) == 0700);
	sf_exfil_free(x);
	sf_canaries_free(&cs);
	sf_rmtree(home);
}

int main(void)
{
	test_formats(SF_RUNNER_GITLAB_DOCKER);
	test_formats(SF_RUNNER_GITHUB_ARC);
	test_plant(SF_RUNNER_GITLAB_K8S);
	test_plant(SF_RUNNER_GITHUB_ARC);
	TEST_DONE();
}
