/*
 * resolve — turns package references (name + exact version) into
 * artifacts, from each ecosystem's configured source:
 *
 *   npm       the packument (<registry>/<name>), versions[v].dist.tarball,
 *             checked against dist.integrity (sha512 … sha1) and dist.shasum
 *   pypi      the PEP 503 project page (<index>/<normalized-name>/), the
 *             sdist or else a pure-Python wheel of the version
 *             (resolve_pypi.h), checked against the link's #sha256=
 *   rubygems  <source>/gems/<name>-<version>.gem, checked against the
 *             compact index's checksum (<source>/info/<name>,
 *             resolve_gem.h); a static source without one (gem
 *             generate_index) gives no checksum: the bytes are scanned as
 *             served and the scan records that nothing was verified
 *             (resolved_integrity NULL)
 *
 * The bytes stream into the artifact store while their SHA-256 (exactly
 * like an upload) and the announced digest are computed, and are kept only
 * when they match. pypi and rubygems bytes are then inspected (inspect.h):
 * an index that serves something else than a distribution or a gem fails
 * the scan with the reason.
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
 * fail at once. Memory is bounded: one packument, project page or info
 * file (at most SF_RESOLVE_MAX_PACKUMENT bytes) per thread; tarballs go to
 * disk. Each source's credential goes to its own origin only. A scan
 * cancelled while it waits is dropped from the queue, never given a job.
 *
 * Owns: its threads and their curl handles. Calls: store, db (pool,
 * statement helpers), enqueue (the artifact and its kind), jobs (the scan's
 * job), resolve_pypi, resolve_gem, inspect, libxml2 (its set-up),
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
#include "inspect.h"
#include "store.h"

#define SF_RESOLVE_MAX_PACKUMENT (32LL << 20) /* bytes of one packument document */
#define SF_RESOLVE_URL_MAX 2048

struct sf_resolve_config {
	const char *npm_registry; /* base URL, e.g. https://registry.npmjs.org */
	/* A private registry's credential (a file: a token or a whole
	 * Authorization value), sent to the registry's origin only; or NULL. */
	const char *npm_registry_auth;
	const char *npm_registry_ca; /* CA certificates (PEM) for it, or NULL */
	/* The PEP 503 simple index (e.g. https://pypi.org/simple) and the gem
	 * source (https://rubygems.org), each with its own credential and CA,
	 * as for npm. */
	const char *pypi_index, *pypi_index_auth, *pypi_index_ca;
	const char *gem_source, *gem_source_auth, *gem_source_ca;
	int concurrency;	  /* fetch threads */
	long long max_bytes;	  /* largest tarball, 0 = unlimited */
	struct sf_inspect_limits inspect; /* what fetched pypi and rubygems bytes are */
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
/* The source of an ecosystem's references ("npm", "pypi", "rubygems") as
 * queue rows and resolutions record it (no trailing slash); NULL for
 * another ecosystem. */
const char *sf_resolve_registry(const struct sf_resolve *r, const char *ecosystem);
/* Whether a reference's name and version are valid for ecosystem; norm
 * gets the name as it is recorded (PEP 503 normalized for pypi, as given
 * otherwise). */
bool sf_resolve_reference_valid(const char *ecosystem, const char *name, const char *version,
				char *norm, size_t normlen);
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
	struct sf_inspection kind; /* pypi and rubygems: what the bytes are */
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
