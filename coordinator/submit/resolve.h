/*
 * resolve — turns npm package references (name@version) into artifacts:
 * the coordinator fetches the packument from the configured registry
 * (<registry>/<name>), takes versions[version].dist.tarball, streams the
 * tarball into the artifact store while computing its SHA-256 (exactly like
 * an upload) and the digest the registry announced (dist.integrity, sha512
 * …sha1, and dist.shasum), and keeps the bytes only when they match.
 *
 * The work queue is the resolve_queue table (sql/004_batches.sql): a batch
 * submission inserts a scan without an artifact plus a queue row in one
 * transaction and calls sf_resolve_wake; `concurrency` threads claim rows
 * under a lease (FOR UPDATE SKIP LOCKED, only rows of this coordinator's
 * registry), fetch, and then in one transaction record the resolution
 * (package_resolutions), give the scan its artifact and queue its job — or
 * fail the scan with the reason. Transient failures (network, 5xx, 429) are
 * retried RESOLVE_TRIES times with a back-off; a missing package or
 * version, a digest mismatch, a malformed packument or an oversized tarball
 * fail at once. Memory is bounded: one packument (at most
 * SF_RESOLVE_MAX_PACKUMENT bytes) per thread; tarballs go to disk. A scan
 * cancelled while it waits is dropped from the queue, never given a job.
 *
 * Owns: its threads and their curl handles. Calls: store, db (pool,
 * statement helpers), enqueue (the artifact row), jobs (the scan's job),
 * http_client (transfers, transience), sha256, util, OpenSSL libcrypto (EVP
 * digests, base64), jansson, libpq, log. sf_http_global_init must have run
 * before sf_resolve_start.
 */
#ifndef SF_RESOLVE_H
#define SF_RESOLVE_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "db.h"
#include "store.h"

#define SF_RESOLVE_MAX_PACKUMENT (32LL << 20) /* bytes of one packument document */
#define SF_RESOLVE_URL_MAX 2048

struct sf_resolve_config {
	const char *npm_registry; /* base URL, e.g. https://registry.npmjs.org */
	/* A private registry's credential (a file: a token or a whole
	 * Authorization value), sent to the registry's origin only; or NULL. */
	const char *npm_registry_auth;
	const char *npm_registry_ca; /* CA certificates (PEM) for it, or NULL */
	int concurrency;	  /* fetch threads */
	long long max_bytes;	  /* largest tarball, 0 = unlimited */
};

struct sf_resolve_stats {
	atomic_ullong resolved; /* fetched, verified and stored */
	atomic_ullong cached;	/* answered from package_resolutions */
	atomic_ullong failed;	/* scan failed */
	atomic_ullong retried;	/* transient failure, queued again */
};

struct sf_resolve;

int sf_resolve_start(struct sf_resolve **out, const struct sf_resolve_config *cfg,
		     struct sf_db_pool *pool, struct sf_store *store);
/* Stops the threads; a fetch in flight is aborted and its item given back
 * to the queue for the next start (or another coordinator). NULL is fine. */
void sf_resolve_stop(struct sf_resolve *r);
/* New rows are in resolve_queue (committed): wake the threads. */
void sf_resolve_wake(struct sf_resolve *r);
/* The registry base URL as queue rows and resolutions record it (no
 * trailing slash). */
const char *sf_resolve_registry(const struct sf_resolve *r);
struct sf_resolve_stats *sf_resolve_stats(struct sf_resolve *r);

/* npm's rules, strictly: "name" or "@scope/name", at most 214 bytes of
 * [a-z0-9._~-] (upper case too, for old packages), not starting with '.'
 * or '_'. An exact version: [0-9A-Za-z.+-], at most 128 bytes, starting
 * with a digit (no ranges or tags). */
bool sf_npm_name_valid(const char *name);
bool sf_npm_version_valid(const char *version);

struct sf_resolved {
	char sha256[SF_SHA256_HEX + 1];
	long long size;
	char integrity[256]; /* what was checked: "sha512-…", "sha1:<hex>" or "" */
	char tarball[SF_RESOLVE_URL_MAX];
};

/* The dist fields of one version, as a packument gives them. */
struct sf_resolve_dist {
	char tarball[SF_RESOLVE_URL_MAX];
	char integrity[1024]; /* "" when absent */
	char shasum[64];      /* "" when absent */
};

/* Reads version's dist from a packument (the registry's bytes: anything at
 * all). 0, -EBADMSG (not a packument, no usable tarball URL, malformed
 * digests) or -ENOENT (no such version), with err filled. */
int sf_resolve_parse_packument(const char *body, size_t len, const char *name,
			       const char *version, struct sf_resolve_dist *d, char *err,
			       size_t errlen);
/* Whether d's digests can be checked (dist.integrity's algorithms and
 * base64 values, dist.shasum's hex): 0 or -EBADMSG with err filled. */
int sf_resolve_check_dist(const struct sf_resolve_dist *d, char *err, size_t errlen);

/*
 * Resolves one reference synchronously into the store (the threads' work).
 * 0 with *out filled; otherwise a negative errno, err says why and
 * *transient whether trying again later may help. -ECANCELED when *stop
 * became true meanwhile.
 */
int sf_resolve_npm(const char *registry, const char *name, const char *version,
		   struct sf_store *store, long long max_bytes, const atomic_bool *stop,
		   struct sf_resolved *out, char *err, size_t errlen, bool *transient);

#endif
