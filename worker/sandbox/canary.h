/*
 * canary — the credentials a CI job has lying around, planted in every
 * scan with values unique to it and useless anywhere: a package that
 * takes one and sends it out is caught by its value (exfil.h), whatever
 * way it went.
 *
 *   environment (install and import phases only: npm must not send a
 *   fake token to the registry in the fetch phase, whose HOME is not the
 *   look's either)
 *     NPM_TOKEN              npm_…            (npm's format, CRC32 check digits)
 *     GITHUB_TOKEN           ghs_… on GitHub, ghp_… on GitLab
 *     AWS_ACCESS_KEY_ID      AKIA…, AWS_SECRET_ACCESS_KEY (40 characters)
 *     CI_JOB_TOKEN           glcbt-64_… on GitLab, with CI_REGISTRY_PASSWORD,
 *                            CI_DEPENDENCY_PROXY_PASSWORD and CI_REPOSITORY_URL
 *                            carrying it as GitLab's do
 *   files in the look's home
 *     ~/.npmrc               //registry.npmjs.org/:_authToken=npm_…
 *     ~/.aws/credentials     [default] key id and secret (and ~/.aws/config)
 *     ~/.ssh/id_rsa          an RSA-2048 key of random numbers: real-looking, it
 *                            opens as a key, but useless (id_rsa.pub beside it)
 *     ~/.git-credentials     https://user:ghp_…@github.com or glpat-… for GitLab
 *                            (and ~/.gitconfig naming the store helper)
 *     ~/.config/gh/hosts.yml gho_…
 *
 * Each value that is planted in two places is a different value, so a
 * find says which one was taken. The values come from getrandom(2) and are
 * kept by the worker for the job only.
 *
 * Owns: the key text in struct sf_canaries (sf_canaries_free). Calls:
 * runner (the look), npm (struct sf_argv), exfil (struct
 * sf_exfil_secret), util, OpenSSL (the RSA key), zlib (check digits).
 */
#ifndef SF_CANARY_H
#define SF_CANARY_H

#include <stddef.h>

#include "exfil.h"
#include "npm.h"
#include "runner.h"

#define SF_CANARY_MAX 16

struct sf_canary {
	char name[64];	 /* what a find names: "NPM_TOKEN (environment)" */
	char var[32];	 /* its environment variable, "" for a file's */
	char value[128]; /* as planted */
	size_t secret;	 /* where its random part starts in value */
};

struct sf_canaries {
	struct sf_canary c[SF_CANARY_MAX];
	int n;
	char *key;     /* ~/.ssh/id_rsa, PEM */
	char *key_pub; /* ~/.ssh/id_rsa.pub */
	char key_secret[600]; /* a run of the key's body (no line breaks): its find */
};

/* New values for the look's canaries. 0, -ENOMEM, -EIO (no randomness). */
int sf_canaries_make(struct sf_canaries *cs, const struct sf_runner *r);
void sf_canaries_free(struct sf_canaries *cs);

/* Writes the canary files into home (the host directory of the look's
 * home), owned by uid:gid. 0 or -errno with err filled. */
int sf_canaries_plant(const struct sf_canaries *cs, const struct sf_runner *r, const char *home,
		      unsigned uid, unsigned gid, char *err, size_t errlen);

/* Adds the canaries' environment variables (install and import phases). */
void sf_canaries_env(const struct sf_canaries *cs, const struct sf_runner *r, struct sf_argv *env);

/* What exfil searches for: each canary's random part, named. Points into
 * cs. Returns how many (at most max). */
int sf_canaries_secrets(const struct sf_canaries *cs, struct sf_exfil_secret *out, int max);

/* The canary named name's value, or NULL (tests). */
const char *sf_canaries_value(const struct sf_canaries *cs, const char *name);

#endif
