/* canary — see canary.h. */
#include "canary.h"

#include <errno.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "util.h"

static const char canary_base62[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
static const char canary_upper32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char canary_aws_secret[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char canary_urlsafe[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* n characters of alphabet, uniformly (rejection sampling). */
static int canary_chars(const char *alphabet, size_t n, char *out)
{
	size_t k = strlen(alphabet), limit = 256 - 256 % k;
	unsigned char buf[64];
	size_t have = 0, used = 0;
	for (size_t i = 0; i < n;) {
		if (used == have) {
			ssize_t got = getrandom(buf, sizeof(buf), 0);
			if (got <= 0)
				return -EIO;
			have = (size_t)got;
			used = 0;
		}
		unsigned char b = buf[used++];
		if (b < limit)
			out[i++] = alphabet[b % k];
	}
	out[n] = 0;
	return 0;
}

/* GitHub's token format, which npm's follows: prefix, 30 random base62
 * characters, their CRC32 in 6 base62 digits. */
static int canary_checked(const char *prefix, char *out, size_t len)
{
	char r[31], sum[7];
	if (canary_chars(canary_base62, 30, r))
		return -EIO;
	unsigned long crc = crc32(0L, (const unsigned char *)r, 30);
	for (int i = 5; i >= 0; i--) {
		sum[i] = canary_base62[crc % 62];
		crc /= 62;
	}
	sum[6] = 0;
	snprintf(out, len, "%s%s%s", prefix, r, sum);
	return 0;
}

/* Adds a canary: its value is prefix + the random part. */
static struct sf_canary *canary_add(struct sf_canaries *cs, const char *name, const char *var)
{
	if (cs->n >= SF_CANARY_MAX)
		return NULL;
	struct sf_canary *c = &cs->c[cs->n++];
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->var, sizeof(c->var), "%s", var ? var : "");
	return c;
}

/* One canary of the given kind: "npm_", "ghp_"… (checked tokens),
 * "AKIA" (an AWS key id), "aws" (an AWS secret), "glcbt-64_" and
 * "glpat-" (GitLab's). */
static int canary_token(struct sf_canaries *cs, const char *name, const char *var,
			const char *kind)
{
	struct sf_canary *c = canary_add(cs, name, var);
	if (!c)
		return -ENOSPC;
	char r[64];
	int rc = 0;
	if (!strcmp(kind, "AKIA")) {
		if ((rc = canary_chars(canary_upper32, 16, r)) == 0)
			snprintf(c->value, sizeof(c->value), "AKIA%s", r);
		c->secret = 4;
	} else if (!strcmp(kind, "aws")) {
		if ((rc = canary_chars(canary_aws_secret, 40, r)) == 0)
			snprintf(c->value, sizeof(c->value), "%s", r);
	} else if (!strncmp(kind, "gl", 2)) {
		if ((rc = canary_chars(canary_urlsafe, 20, r)) == 0)
			snprintf(c->value, sizeof(c->value), "%s%s", kind, r);
		c->secret = strlen(kind);
	} else {
		rc = canary_checked(kind, c->value, sizeof(c->value));
		c->secret = strlen(kind);
	}
	return rc;
}

/* --- the SSH key -------------------------------------------------------------- */

/* SSH's mpint of bn: length, big-endian bytes, a 0 first if the top bit is set. */
static size_t canary_mpint(const BIGNUM *bn, unsigned char *out)
{
	int n = BN_num_bytes(bn);
	BN_bn2bin(bn, out + 5);
	size_t len = (size_t)n;
	unsigned char *p = out + 5;
	if (n > 0 && (p[0] & 0x80)) {
		out[4] = 0;
		p = out + 4;
		len++;
	}
	memmove(out + 4, p, len);
	out[0] = (unsigned char)(len >> 24);
	out[1] = (unsigned char)(len >> 16);
	out[2] = (unsigned char)(len >> 8);
	out[3] = (unsigned char)len;
	return 4 + len;
}

/* id_rsa.pub: "ssh-rsa <base64 of the key blob> user@host". */
static int canary_public(EVP_PKEY *pk, const struct sf_runner *r, char **out)
{
	BIGNUM *n = NULL, *e = NULL;
	int rc = -ENOMEM;
	unsigned char blob[1200];
	char b64[1700];
	if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e) || BN_num_bytes(n) > 520)
		goto out;
	static const unsigned char type[] = {0, 0, 0, 7, 's', 's', 'h', '-', 'r', 's', 'a'};
	size_t len = sizeof(type);
	memcpy(blob, type, len);
	len += canary_mpint(e, blob + len);
	len += canary_mpint(n, blob + len);
	EVP_EncodeBlock((unsigned char *)b64, blob, (int)len);
	if (asprintf(out, "ssh-rsa %s %s@%s\n", b64, r->user, r->hostname) >= 0)
		rc = 0;
out:
	BN_free(n);
	BN_free(e);
	return rc;
}

/* An RSA-2048 key made of random numbers of the right sizes (n, d of
 * 2048 bits, the primes and their exponents of 1024): it has the format
 * and the look of a real one and opens as one, but is useless — no
 * primes are searched for, which would cost a few hundred milliseconds a
 * scan. */
static EVP_PKEY *canary_rsa(void)
{
	static const char *const names[] = {
	    OSSL_PKEY_PARAM_RSA_N,	   OSSL_PKEY_PARAM_RSA_D,	  OSSL_PKEY_PARAM_RSA_FACTOR1,
	    OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
	    OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
	static const int bits[] = {2048, 2048, 1024, 1024, 1024, 1024, 1024};
	BIGNUM *bn[7] = {0}, *e = BN_new();
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	bool ok = e && bld && BN_set_word(e, 65537) &&
		  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
	for (int i = 0; ok && i < 7; i++)
		ok = (bn[i] = BN_new()) && BN_rand(bn[i], bits[i], BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD) &&
		     OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]);
	if (ok && (params = OSSL_PARAM_BLD_to_param(bld)) &&
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) && EVP_PKEY_fromdata_init(ctx) > 0 &&
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, params) <= 0)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	for (int i = 0; i < 7; i++)
		BN_clear_free(bn[i]);
	BN_free(e);
	return pk;
}

/* The key as OpenSSL writes an RSA key in PEM (what ssh-keygen -m PEM
 * writes too), and the run of its body the exfil search looks for: from
 * its second line (past the fixed header bytes of every key of this
 * size), line breaks dropped. */
static int canary_key(struct sf_canaries *cs, const struct sf_runner *r)
{
	EVP_PKEY *pk = canary_rsa();
	if (!pk)
		return -ENOMEM;
	int rc = -ENOMEM;
	unsigned char *pem = NULL;
	size_t len = 0;
	OSSL_ENCODER_CTX *ectx = OSSL_ENCODER_CTX_new_for_pkey(pk, OSSL_KEYMGMT_SELECT_KEYPAIR, "PEM",
							     "type-specific", NULL);
	if (!ectx || !OSSL_ENCODER_to_data(ectx, &pem, &len) || !pem)
		goto out;
	if (!(cs->key = strndup((const char *)pem, len)) || canary_public(pk, r, &cs->key_pub))
		goto out;
	const char *body = strchr(cs->key, '\n'); /* past -----BEGIN … */
	body = body ? strchr(body + 1, '\n') : NULL; /* past the first line of the body */
	size_t o = 0;
	for (; body && *body && o + 1 < sizeof(cs->key_secret) && *body != '-'; body++)
		if (*body != '\n')
			cs->key_secret[o++] = *body;
	cs->key_secret[o] = 0;
	rc = o >= 256 ? 0 : -EPROTO;
out:
	OSSL_ENCODER_CTX_free(ectx);
	OPENSSL_free(pem);
	EVP_PKEY_free(pk);
	return rc;
}

int sf_canaries_make(struct sf_canaries *cs, const struct sf_runner *r)
{
	memset(cs, 0, sizeof(*cs));
	bool gh = r->kind == SF_RUNNER_GITHUB_ARC;
	int rc = 0;
	if (!gh)
		rc = canary_token(cs, "CI_JOB_TOKEN (environment)", "CI_JOB_TOKEN", "glcbt-64_");
	if (rc == 0)
		rc = canary_token(cs, "NPM_TOKEN (environment)", "NPM_TOKEN", "npm_");
	if (rc == 0)
		rc = canary_token(cs, "GITHUB_TOKEN (environment)", "GITHUB_TOKEN", gh ? "ghs_" : "ghp_");
	if (rc == 0)
		rc = canary_token(cs, "AWS_ACCESS_KEY_ID (environment)", "AWS_ACCESS_KEY_ID", "AKIA");
	if (rc == 0)
		rc = canary_token(cs, "AWS_SECRET_ACCESS_KEY (environment)", "AWS_SECRET_ACCESS_KEY",
				  "aws");
	if (rc == 0)
		rc = canary_token(cs, "~/.npmrc _authToken", NULL, "npm_");
	if (rc == 0)
		rc = canary_token(cs, "~/.aws/credentials aws_access_key_id", NULL, "AKIA");
	if (rc == 0)
		rc = canary_token(cs, "~/.aws/credentials aws_secret_access_key", NULL, "aws");
	if (rc == 0)
		rc = canary_token(cs, "~/.git-credentials", NULL, gh ? "ghp_" : "glpat-");
	if (rc == 0)
		rc = canary_token(cs, "~/.config/gh/hosts.yml oauth_token", NULL, "gho_");
	if (rc == 0)
		rc = canary_key(cs, r);
	if (rc)
		sf_canaries_free(cs);
	return rc;
}

void sf_canaries_free(struct sf_canaries *cs)
{
	if (cs->key)
		OPENSSL_cleanse(cs->key, strlen(cs->key));
	free(cs->key);
	free(cs->key_pub);
	cs->key = cs->key_pub = NULL;
	OPENSSL_cleanse(cs, sizeof(*cs));
}

const char *sf_canaries_value(const struct sf_canaries *cs, const char *name)
{
	for (int i = 0; i < cs->n; i++)
		if (!strcmp(cs->c[i].name, name))
			return cs->c[i].value;
	return NULL;
}

/* --- where they are planted ----------------------------------------------------- */

static int canary_file(const char *home, const char *rel, const char *text, unsigned mode,
		       unsigned uid, unsigned gid)
{
	char path[4600];
	snprintf(path, sizeof(path), "%s/%s", home, rel);
	int rc = sf_write_file(path, text, strlen(text));
	if (rc == 0 && (chmod(path, mode) != 0 || chown(path, uid, gid) != 0))
		rc = -errno;
	return rc;
}

static int canary_dir(const char *home, const char *rel, unsigned mode, unsigned uid,
		      unsigned gid)
{
	char path[4600];
	snprintf(path, sizeof(path), "%s/%s", home, rel);
	if (mkdir(path, mode) != 0 && errno != EEXIST)
		return -errno;
	return chmod(path, mode) == 0 && chown(path, uid, gid) == 0 ? 0 : -errno;
}

/* The text of each canary file, in the order they are written. */
static int canary_texts(const struct sf_canaries *cs, const struct sf_runner *r, char t[6][512])
{
	const char *npmrc = sf_canaries_value(cs, "~/.npmrc _authToken"),
		   *kid = sf_canaries_value(cs, "~/.aws/credentials aws_access_key_id"),
		   *ksec = sf_canaries_value(cs, "~/.aws/credentials aws_secret_access_key"),
		   *git = sf_canaries_value(cs, "~/.git-credentials"),
		   *gh = sf_canaries_value(cs, "~/.config/gh/hosts.yml oauth_token");
	if (!npmrc || !kid || !ksec || !git || !gh)
		return -EINVAL;
	bool github = r->kind == SF_RUNNER_GITHUB_ARC;
	const char *domain = github ? "users.noreply.github.com"
			     : strcmp(r->server, "gitlab.com") ? r->server + strcspn(r->server, ".") + 1
							       : "users.noreply.gitlab.com";
	snprintf(t[0], 512, "//registry.npmjs.org/:_authToken=%s\n", npmrc);
	snprintf(t[1], 512, "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", kid,
		 ksec);
	snprintf(t[2], 512, "[default]\nregion = %s\noutput = json\n",
		 r->pipeline_iid % 3 ? "us-east-1" : "eu-west-1");
	snprintf(t[3], 512, "https://%s:%s@%s\n", r->actor, git, github ? "github.com" : r->server);
	snprintf(t[4], 512, "[user]\n\tname = %s\n\temail = %s@%s\n[credential]\n\thelper = store\n",
		 r->actor_name, r->actor, domain);
	snprintf(t[5], 512, "github.com:\n    user: %s\n    oauth_token: %s\n    git_protocol: https\n",
		 r->actor, gh);
	return 0;
}

int sf_canaries_plant(const struct sf_canaries *cs, const struct sf_runner *r, const char *home,
		      unsigned uid, unsigned gid, char *err, size_t errlen)
{
	static const char github_host_key[] =
	    "github.com ssh-ed25519 "
	    "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n";
	char t[6][512];
	int rc = cs->key && cs->key_pub ? canary_texts(cs, r, t) : -EINVAL;
	if (rc == 0 && (rc = canary_file(home, ".npmrc", t[0], 0600, uid, gid)) == 0 &&
	    (rc = canary_dir(home, ".aws", 0755, uid, gid)) == 0 &&
	    (rc = canary_file(home, ".aws/credentials", t[1], 0600, uid, gid)) == 0 &&
	    (rc = canary_file(home, ".aws/config", t[2], 0644, uid, gid)) == 0 &&
	    (rc = canary_dir(home, ".ssh", 0700, uid, gid)) == 0 &&
	    (rc = canary_file(home, ".ssh/id_rsa", cs->key, 0600, uid, gid)) == 0 &&
	    (rc = canary_file(home, ".ssh/id_rsa.pub", cs->key_pub, 0644, uid, gid)) == 0 &&
	    (rc = canary_file(home, ".ssh/known_hosts", github_host_key, 0644, uid, gid)) == 0 &&
	    (rc = canary_file(home, ".git-credentials", t[3], 0600, uid, gid)) == 0 &&
	    (rc = canary_file(home, ".gitconfig", t[4], 0644, uid, gid)) == 0 &&
	    (rc = canary_dir(home, ".config", 0755, uid, gid)) == 0 &&
	    (rc = canary_dir(home, ".config/gh", 0700, uid, gid)) == 0)
		rc = canary_file(home, ".config/gh/hosts.yml", t[5], 0600, uid, gid);
	if (rc)
		snprintf(err, errlen, "cannot write the home directory's files: %s", strerror(-rc));
	return rc;
}

void sf_canaries_env(const struct sf_canaries *cs, const struct sf_runner *r, struct sf_argv *env)
{
	for (int i = 0; i < cs->n; i++)
		if (cs->c[i].var[0])
			sf_argv_add(env, "%s=%s", cs->c[i].var, cs->c[i].value);
	sf_argv_add(env, "AWS_DEFAULT_REGION=%s", r->pipeline_iid % 3 ? "us-east-1" : "eu-west-1");
	const char *job = sf_canaries_value(cs, "CI_JOB_TOKEN (environment)");
	if (!job)
		return;
	/* GitLab hands the job token out under these names too */
	sf_argv_add(env, "CI_REGISTRY_PASSWORD=%s", job);
	sf_argv_add(env, "CI_DEPENDENCY_PROXY_PASSWORD=%s", job);
	sf_argv_add(env, "CI_REPOSITORY_URL=https://gitlab-ci-token:%s@%s/%s/%s.git", job, r->server,
		    r->owner, r->repo);
}

int sf_canaries_secrets(const struct sf_canaries *cs, struct sf_exfil_secret *out, int max)
{
	int n = 0;
	for (int i = 0; i < cs->n && n < max; i++) {
		const struct sf_canary *c = &cs->c[i];
		out[n++] = (struct sf_exfil_secret){c->name, c->value + c->secret,
						    strlen(c->value + c->secret)};
	}
	if (cs->key_secret[0] && n < max)
		out[n++] = (struct sf_exfil_secret){"~/.ssh/id_rsa", cs->key_secret,
						    strlen(cs->key_secret)};
	return n;
}
