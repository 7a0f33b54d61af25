/* resolve — see resolve.h. */
#include "resolve.h"

#include <errno.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "enqueue.h"
#include "http_client.h"
#include "inspect.h"
#include "integrity.h"
#include "jobs.h"
#include "log.h"
#include "resolve_gem.h"
#include "resolve_pypi.h"
#include "secret.h"
#include "sha256.h"
#include "util.h"

#define RESOLVE_TRIES 3	     /* fetch attempts of one reference */
#define RESOLVE_BACKOFF_S 10 /* times the attempt, after a transient failure */
#define RESOLVE_LEASE_S 900  /* longer than a packument plus a tarball may take */
#define RESOLVE_POLL_S 5     /* re-check the queue this often without a wake-up */
#define RESOLVE_MAX_THREADS 64

/* How the registry is reached: its credential, sent only to URLs of its
 * origin (a tarball handed to a blob store elsewhere gets none), and its
 * CA. */
struct resolve_access {
	char auth_line[SF_SECRET_AUTH_MAX + 32]; /* "Authorization: …", or "" */
	char origin[SF_RESOLVE_URL_MAX];	 /* scheme://host[:port] */
	char ca_file[4096];			 /* or "" */
};

/* One ecosystem's source: its base URL (no trailing slash) and access. */
struct resolve_source {
	char url[SF_RESOLVE_URL_MAX];
	struct resolve_access access;
};

struct sf_resolve {
	struct resolve_source npm, pypi, gems;
	struct sf_inspect_limits inspect;
	long long max_bytes;
	struct sf_db_pool *pool;
	struct sf_store *store;
	pthread_t *threads;
	int nthreads;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	unsigned long generation; /* bumped by sf_resolve_wake */
	atomic_bool stop;
	struct sf_resolve_stats stats;
};

/* ------------------------------------------------------------ names */

bool sf_npm_name_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > 214)
		return false;
	const char *base = name;
	if (name[0] == '@') {
		const char *slash = strchr(name, '/');
		if (!slash || slash == name + 1 || slash[1] == '\0')
			return false;
		for (const char *p = name + 1; p < slash; p++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~-",
				    *p))
				return false;
		base = slash + 1;
	}
	if (base[0] == '.' || base[0] == '_')
		return false;
	for (const char *p = base; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~-", *p))
			return false;
	return true;
}

bool sf_npm_version_valid(const char *v)
{
	size_t len = strlen(v);
	if (len == 0 || len > 128 || v[0] < '0' || v[0] > '9')
		return false;
	return strspn(v, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.+-") == len;
}

/* ------------------------------------------------------------ transfers */

/* What every transfer of the resolver asks for: redirects within http(s),
 * time bounds, abort on stop. */
static struct sf_http_request resolve_request(const struct resolve_access *acc, const char *url,
					      const atomic_bool *stop)
{
	return (struct sf_http_request){.url = url,
					.ca_file = acc && acc->ca_file[0] ? acc->ca_file : NULL,
					.fail_on_error = true,
					.follow_redirects = true,
					.connect_timeout_s = 10,
					.low_speed_time_s = 30,
					.timeout_s = 600,
					.user_agent = "scanfarm-coordinator/0.1",
					.stop = stop};
}

/* Maps a finished transfer to 0 or an error: 404/410 say the thing does not
 * exist (final); 408, 429, 5xx and network errors may pass (transient). */
static int resolve_http_result(const struct sf_http_response *resp, const char *what, char *err,
			       size_t errlen, bool *transient)
{
	if (resp->curl == CURLE_OK)
		return 0;
	*transient = sf_http_transient(resp);
	if (resp->curl == CURLE_HTTP_RETURNED_ERROR) {
		long code = resp->status;
		if (code == 404 || code == 410) {
			snprintf(err, errlen, "%s not found in the registry (HTTP %ld)", what, code);
			return -ENOENT;
		}
		snprintf(err, errlen, "%s: the registry answered HTTP %ld", what, code);
		return *transient ? -EAGAIN : -EACCES;
	}
	snprintf(err, errlen, "%s: %s", what, sf_http_strerror(resp));
	return -EIO;
}

/* The registry's dist fields of one version, copied out of the packument. */

/* The credential's header line for url: only on the registry's origin
 * (followed by '/', ':' or nothing, so a look-alike host gets none). */
static const char *resolve_auth_for(const struct resolve_access *acc, const char *url)
{
	size_t n = acc ? strlen(acc->origin) : 0;
	if (!n || !acc->auth_line[0] || strncmp(url, acc->origin, n) != 0 ||
	    (url[n] != '/' && url[n] != '\0'))
		return NULL;
	return acc->auth_line;
}

int sf_resolve_parse_packument(const char *body, size_t len, const char *name,
			       const char *version, struct sf_resolve_dist *d, char *err,
			       size_t errlen)
{
	char what[300];
	int rc;
	snprintf(what, sizeof(what), "package %s", name);
	json_error_t jerr;
	json_t *doc = json_loadb(body, len, 0, &jerr);
	json_t *versions = json_object_get(doc, "versions");
	if (!json_is_object(versions)) {
		rc = -EBADMSG;
		snprintf(err, errlen, "%s: the registry's answer is not a packument", what);
		goto out;
	}
	json_t *dist = json_object_get(json_object_get(versions, version), "dist");
	if (!json_object_get(versions, version)) {
		rc = -ENOENT;
		snprintf(err, errlen, "%s has no version %s in the registry", name, version);
		goto out;
	}
	const char *tarball = json_string_value(json_object_get(dist, "tarball"));
	const char *integrity = json_string_value(json_object_get(dist, "integrity"));
	const char *shasum = json_string_value(json_object_get(dist, "shasum"));
	if (!tarball || (strncmp(tarball, "http://", 7) != 0 && strncmp(tarball, "https://", 8) != 0) ||
	    sf_strlcpy(d->tarball, tarball, sizeof(d->tarball)) != 0) {
		rc = -EBADMSG;
		snprintf(err, errlen, "%s@%s: no usable dist.tarball URL in the packument", name,
			 version);
		goto out;
	}
	if (sf_strlcpy(d->integrity, integrity ? integrity : "", sizeof(d->integrity)) != 0 ||
	    sf_strlcpy(d->shasum, shasum ? shasum : "", sizeof(d->shasum)) != 0) {
		rc = -EBADMSG;
		snprintf(err, errlen, "%s@%s: dist.integrity or dist.shasum malformed", name, version);
		goto out;
	}
	rc = 0;
out:
	json_decref(doc);
	return rc;
}

static int resolve_packument(CURL *c, const struct resolve_access *acc, const char *registry,
			     const char *name, const char *version, const atomic_bool *stop,
			     struct sf_resolve_dist *d, char *err, size_t errlen, bool *transient)
{
	/* A scoped name's slash is escaped: <registry>/@scope%2fname. */
	char url[SF_RESOLVE_URL_MAX], what[300];
	const char *slash = strchr(name, '/');
	int n = slash ? snprintf(url, sizeof(url), "%s/%.*s%%2f%s", registry,
				 (int)(slash - name), name, slash + 1)
		      : snprintf(url, sizeof(url), "%s/%s", registry, name);
	if (n < 0 || (size_t)n >= sizeof(url)) {
		snprintf(err, errlen, "registry URL too long");
		return -ENAMETOOLONG;
	}
	snprintf(what, sizeof(what), "package %s", name);
	struct sf_http_mem_sink m = {.max = SF_RESOLVE_MAX_PACKUMENT};
	/* The abbreviated form ("corgi") holds dist and is much smaller. */
	const char *headers[] = {
	    "Accept: application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8",
	    resolve_auth_for(acc, url), NULL};
	struct sf_http_request req = resolve_request(acc, url, stop);
	req.headers = headers;
	req.any_encoding = true;
	req.sink = sf_http_mem_sink_write;
	req.sink_ctx = &m;
	struct sf_http_response resp;
	int got = sf_http_perform(c, &req, &resp);
	int rc;
	if (got == -ECANCELED) {
		rc = -ECANCELED;
		snprintf(err, errlen, "stopping");
		goto out;
	}
	if (resp.sink_rc) {
		rc = resp.sink_rc;
		*transient = rc == -ENOMEM;
		snprintf(err, errlen, "%s: packument %s", what,
			 rc == -EFBIG ? "larger than the resolver accepts" : strerror(-rc));
		goto out;
	}
	if (got == -ENOMEM) { /* the request could not be set up */
		rc = -ENOMEM;
		*transient = true;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((rc = resolve_http_result(&resp, what, err, errlen, transient)))
		goto out;
	rc = sf_resolve_parse_packument(m.buf.data ? m.buf.data : "", m.buf.len, name, version, d,
					err, errlen);
out:
	sf_http_mem_sink_free(&m);
	return rc;
}


/* A small document (a project page, a compact index file) into m: 0, or
 * an error with err and *transient set; *missing when the answer was 404
 * or 410 (rc -ENOENT). The URL it came from after redirects in final. */
static int resolve_document(CURL *c, const struct resolve_access *acc, const char *url,
			    const char *accept, const char *what, const atomic_bool *stop,
			    struct sf_http_mem_sink *m, char *final, size_t finallen, char *err,
			    size_t errlen, bool *transient)
{
	const char *headers[] = {accept, resolve_auth_for(acc, url), NULL};
	if (!accept) {
		headers[0] = headers[1];
		headers[1] = NULL;
	}
	struct sf_http_request req = resolve_request(acc, url, stop);
	req.headers = headers;
	req.any_encoding = true;
	req.sink = sf_http_mem_sink_write;
	req.sink_ctx = m;
	struct sf_http_response resp;
	int got = sf_http_perform(c, &req, &resp);
	if (got == -ECANCELED) {
		snprintf(err, errlen, "stopping");
		return -ECANCELED;
	}
	if (resp.sink_rc) {
		*transient = resp.sink_rc == -ENOMEM;
		snprintf(err, errlen, "%s %s", what,
			 resp.sink_rc == -EFBIG ? "is larger than the resolver accepts"
						: strerror(-resp.sink_rc));
		return resp.sink_rc;
	}
	if (got == -ENOMEM) {
		*transient = true;
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int rc = resolve_http_result(&resp, what, err, errlen, transient);
	if (rc)
		return rc;
	char *eff = NULL;
	if (curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff) != CURLE_OK || !eff ||
	    sf_strlcpy(final, eff, finallen))
		sf_strlcpy(final, url, finallen);
	return 0;
}

/* ------------------------------------------------------------ integrity */

/* The digests the registry announced: the strongest algorithm of
 * dist.integrity (Subresource Integrity: "alg-base64 …", any of that
 * algorithm's values may match) and dist.shasum (SHA-1, hex). */
struct resolve_expect {
	const EVP_MD *sri_md; /* NULL: no integrity given */
	char sri_alg[8];
	char sri_b64[4][96];
	int sri_n;
	char shasum[41]; /* "" when absent */
};

static int resolve_expect_parse(const struct sf_resolve_dist *d, struct resolve_expect *e, char *err,
				size_t errlen)
{
	static const char *const algs[] = {"sha512", "sha384", "sha256", "sha1"}; /* strongest first */
	memset(e, 0, sizeof(*e));
	int best = 4;
	const char *p = d->integrity;
	while (*p) {
		p += strspn(p, " \t\r\n");
		size_t tok = strcspn(p, " \t\r\n");
		if (!tok)
			break;
		const char *dash = memchr(p, '-', tok);
		for (int a = 0; dash && a < 4; a++) {
			size_t al = strlen(algs[a]);
			if ((size_t)(dash - p) != al || strncmp(p, algs[a], al) != 0 || a > best)
				continue;
			size_t b64 = strcspn(dash + 1, "? \t\r\n");
			if (b64 == 0 || b64 >= sizeof(e->sri_b64[0]))
				break;
			if (a < best) {
				best = a;
				e->sri_n = 0;
			}
			if (e->sri_n < 4) {
				memcpy(e->sri_b64[e->sri_n], dash + 1, b64);
				e->sri_b64[e->sri_n][b64] = '\0';
				e->sri_n++;
			}
		}
		p += tok;
	}
	if (d->integrity[0] && best == 4) {
		snprintf(err, errlen, "dist.integrity has no supported hash (sha512, sha384, sha256, sha1)");
		return -EBADMSG;
	}
	if (best < 4) {
		e->sri_md = EVP_get_digestbyname(algs[best]);
		sf_strlcpy(e->sri_alg, algs[best], sizeof(e->sri_alg));
		if (!e->sri_md) {
			snprintf(err, errlen, "OpenSSL lacks %s", algs[best]);
			return -ENOSYS;
		}
	}
	if (d->shasum[0]) {
		if (strlen(d->shasum) != 40 || !sf_is_hex(d->shasum, 40)) {
			snprintf(err, errlen, "dist.shasum is not a SHA-1 in hex");
			return -EBADMSG;
		}
		for (int i = 0; i < 40; i++)
			e->shasum[i] = (char)(d->shasum[i] | 0x20); /* lower case */
	}
	return 0;
}


int sf_resolve_check_dist(const struct sf_resolve_dist *d, char *err, size_t errlen)
{
	struct resolve_expect e;
	return resolve_expect_parse(d, &e, err, errlen);
}

/* The tarball on its way to the store: the store hashes SHA-256; the
 * registry's digests are computed alongside. */
struct resolve_sink {
	struct sf_upload up;
	EVP_MD_CTX *sri;
	EVP_MD_CTX *sha1;
};

static int resolve_sink_write(void *ctx, const char *data, size_t n)
{
	struct resolve_sink *s = ctx;
	int rc = sf_upload_write(&s->up, data, n);
	if (rc)
		return rc;
	if ((s->sri && EVP_DigestUpdate(s->sri, data, n) != 1) ||
	    (s->sha1 && EVP_DigestUpdate(s->sha1, data, n) != 1))
		return -EIO;
	return 0;
}

/* Finishes a digest as base64 (SRI) or hex. */
static int resolve_digest(EVP_MD_CTX *ctx, bool base64, char *out, size_t outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (EVP_DigestFinal_ex(ctx, md, &len) != 1)
		return -EIO;
	if (base64) {
		if (outlen < 4 * ((len + 2) / 3) + 1)
			return -ENOSPC;
		EVP_EncodeBlock((unsigned char *)out, md, (int)len);
	} else {
		if (outlen < 2 * len + 1)
			return -ENOSPC;
		sf_hex(md, len, out);
	}
	return 0;
}

static EVP_MD_CTX *resolve_md_new(const EVP_MD *md)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx && EVP_DigestInit_ex(ctx, md, NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

static int resolve_tarball(CURL *c, const struct resolve_access *acc, const char *spec,
			   const struct sf_resolve_dist *d, struct sf_store *store, long long max_bytes, const atomic_bool *stop,
			   struct sf_resolved *out, char *err, size_t errlen, bool *transient)
{
	struct resolve_expect e;
	struct resolve_sink s = {0};
	int rc = resolve_expect_parse(d, &e, err, errlen);
	if (rc)
		return rc;
	if ((e.sri_md && !(s.sri = resolve_md_new(e.sri_md))) ||
	    (e.shasum[0] && !(s.sha1 = resolve_md_new(EVP_sha1())))) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((rc = sf_upload_begin(store, max_bytes, &s.up))) {
		*transient = true;
		snprintf(err, errlen, "artifact store: %s", strerror(-rc));
		goto out;
	}
	const char *headers[] = {resolve_auth_for(acc, d->tarball), NULL};
	struct sf_http_request req = resolve_request(acc, d->tarball, stop);
	req.headers = headers;
	req.sink = resolve_sink_write;
	req.sink_ctx = &s;
	struct sf_http_response resp;
	rc = sf_http_perform(c, &req, &resp);
	char what[300];
	snprintf(what, sizeof(what), "tarball of %s", spec);
	if (rc == -ECANCELED) {
		snprintf(err, errlen, "stopping");
	} else if (resp.sink_rc) {
		rc = resp.sink_rc;
		*transient = rc != -EFBIG;
		if (rc == -EFBIG)
			snprintf(err, errlen, "%s is larger than the configured %lld bytes", what,
				 max_bytes);
		else
			snprintf(err, errlen, "%s: artifact store: %s", what, strerror(-rc));
	} else if (rc == -ENOMEM) { /* the request could not be set up */
		*transient = true;
		snprintf(err, errlen, "out of memory");
	} else {
		rc = resolve_http_result(&resp, what, err, errlen, transient);
	}
	if (rc)
		goto abort;
	char got[100];
	bool match = e.sri_n == 0;
	if (s.sri) {
		if ((rc = resolve_digest(s.sri, true, got, sizeof(got))))
			goto abort;
		for (int i = 0; i < e.sri_n; i++)
			match |= strcmp(got, e.sri_b64[i]) == 0;
		if (!match) {
			rc = -EBADMSG;
			snprintf(err, errlen, "integrity mismatch for %s: the registry announced %s-%s,"
				 " the tarball is %s-%s", spec, e.sri_alg, e.sri_b64[0], e.sri_alg, got);
			goto abort;
		}
		snprintf(out->integrity, sizeof(out->integrity), "%s-%s", e.sri_alg, got);
	}
	if (s.sha1) {
		if ((rc = resolve_digest(s.sha1, false, got, sizeof(got))))
			goto abort;
		if (strcmp(got, e.shasum) != 0) {
			rc = -EBADMSG;
			snprintf(err, errlen, "shasum mismatch for %s: the registry announced %s,"
				 " the tarball is %s", spec, e.shasum, got);
			goto abort;
		}
		if (!out->integrity[0])
			snprintf(out->integrity, sizeof(out->integrity), "sha1:%s", got);
	}
	if (s.up.size == 0) {
		rc = -EBADMSG;
		snprintf(err, errlen, "%s is empty", what);
		goto abort;
	}
	if ((rc = sf_upload_commit(&s.up, out->sha256, &out->size))) {
		*transient = true;
		snprintf(err, errlen, "%s: storing: %s", what, strerror(-rc));
		goto out;
	}
	sf_strlcpy(out->tarball, d->tarball, sizeof(out->tarball));
	goto out;
abort:
	sf_upload_abort(&s.up);
out:
	EVP_MD_CTX_free(s.sri);
	EVP_MD_CTX_free(s.sha1);
	return rc;
}

static int resolve_npm_with(CURL *c, const struct resolve_access *acc, const char *registry,
			    const char *name, const char *version, struct sf_store *store, long long max_bytes, const atomic_bool *stop,
			    struct sf_resolved *out, char *err, size_t errlen, bool *transient)
{
	struct sf_resolve_dist *d = calloc(1, sizeof(*d));
	char spec[400];
	*transient = false;
	memset(out, 0, sizeof(*out));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(spec, sizeof(spec), "%s@%s", name, version);
	int rc = resolve_packument(c, acc, registry, name, version, stop, d, err, errlen, transient);
	if (rc == 0)
		rc = resolve_tarball(c, acc, spec, d, store, max_bytes, stop, out, err, errlen,
				     transient);
	free(d);
	return rc;
}

/* A PyPI reference: the project page, the file it names for the version,
 * checked against the link's digest. name is PEP 503 normalized. */
static int resolve_pypi_with(CURL *c, const struct resolve_access *acc, const char *index,
			     const char *name, const char *version, struct sf_store *store,
			     long long max_bytes, const atomic_bool *stop, struct sf_resolved *out,
			     char *err, size_t errlen, bool *transient)
{
	char url[SF_RESOLVE_URL_MAX], final[SF_RESOLVE_URL_MAX], spec[400], what[300];
	struct sf_resolve_dist *d = calloc(1, sizeof(*d));
	struct sf_http_mem_sink m = {.max = SF_RESOLVE_MAX_PACKUMENT};
	int rc;
	*transient = false;
	memset(out, 0, sizeof(*out));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* PEP 503: the project's URL is <index>/<normalized>/, trailing slash
	 * and all (relative links resolve against it) */
	int n = snprintf(url, sizeof(url), "%s/%s/", index, name);
	if (n < 0 || (size_t)n >= sizeof(url)) {
		snprintf(err, errlen, "index URL too long");
		rc = -ENAMETOOLONG;
		goto out;
	}
	snprintf(spec, sizeof(spec), "%s==%s", name, version);
	snprintf(what, sizeof(what), "project page of %s", name);
	rc = resolve_document(c, acc, url, "Accept: text/html", what, stop, &m, final,
			      sizeof(final), err, errlen, transient);
	if (rc)
		goto out;
	rc = sf_pypi_parse_page(m.buf.data ? m.buf.data : "", m.buf.len, final, name, version, d,
				err, errlen);
	if (rc == 0)
		rc = resolve_tarball(c, acc, spec, d, store, max_bytes, stop, out, err, errlen,
				     transient);
out:
	sf_http_mem_sink_free(&m);
	free(d);
	return rc;
}

/* A gem reference: the compact index's checksum when the source has one
 * (info/<name>), none for a static source (404 there), then the .gem. */
static int resolve_gem_with(CURL *c, const struct resolve_access *acc, const char *source,
			    const char *name, const char *version, struct sf_store *store,
			    long long max_bytes, const atomic_bool *stop, struct sf_resolved *out,
			    char *err, size_t errlen, bool *transient)
{
	char url[SF_RESOLVE_URL_MAX], final[SF_RESOLVE_URL_MAX], spec[400], what[300];
	char sha[SF_SHA256_HEX + 1] = "";
	struct sf_resolve_dist *d = calloc(1, sizeof(*d));
	struct sf_http_mem_sink m = {.max = SF_RESOLVE_MAX_PACKUMENT};
	int rc;
	*transient = false;
	memset(out, 0, sizeof(*out));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(spec, sizeof(spec), "%s-%s", name, version);
	snprintf(what, sizeof(what), "compact index of %s", name);
	int n = snprintf(url, sizeof(url), "%s/info/%s", source, name);
	int k = snprintf(d->tarball, sizeof(d->tarball), "%s/gems/%s-%s.gem", source, name, version);
	if (n < 0 || (size_t)n >= sizeof(url) || k < 0 || (size_t)k >= sizeof(d->tarball)) {
		snprintf(err, errlen, "gem source URL too long");
		rc = -ENAMETOOLONG;
		goto out;
	}
	rc = resolve_document(c, acc, url, NULL, what, stop, &m, final, sizeof(final), err, errlen,
			      transient);
	if (rc == -ENOENT) {
		/* a static source: no checksum is published anywhere */
		rc = 0;
	} else if (rc == 0) {
		if ((rc = sf_gem_parse_info(m.buf.data ? m.buf.data : "", m.buf.len, name, version,
					    sha, err, errlen)) ||
		    (rc = sf_resolve_hex_to_sri("sha256", sha, strlen(sha), d->integrity,
						sizeof(d->integrity))))
			goto out;
	} else {
		goto out;
	}
	rc = resolve_tarball(c, acc, spec, d, store, max_bytes, stop, out, err, errlen, transient);
out:
	sf_http_mem_sink_free(&m);
	free(d);
	return rc;
}

int sf_resolve_npm(const char *registry, const char *name, const char *version,
		   struct sf_store *store, long long max_bytes, const atomic_bool *stop,
		   struct sf_resolved *out, char *err, size_t errlen, bool *transient)
{
	CURL *c = curl_easy_init();
	if (!c) {
		*transient = true;
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int rc = resolve_npm_with(c, NULL, registry, name, version, store, max_bytes, stop, out,
				  err, errlen, transient);
	curl_easy_cleanup(c);
	return rc;
}

/* ------------------------------------------------------------ the queue */

struct resolve_item {
	char scan_id[SF_UUID_LEN + 1];
	char ecosystem[16];
	char package[215];
	char version[129];
	char attempt[16];
	int attempts;
	bool live; /* the scan still waits (not cancelled) */
	char last_error[512];
	char pinned[SF_INTEGRITY_MAX + 1]; /* the lockfile's integrity, "" if none */
};

/* Claims the most urgent ready reference of this registry under a lease. */
static int resolve_claim(struct sf_resolve *r, PGconn *db, struct resolve_item *it, bool *got)
{
	char lease[16];
	snprintf(lease, sizeof(lease), "%d", RESOLVE_LEASE_S);
	const char *p[] = {r->npm.url, lease, r->pypi.url, r->gems.url};
	PGresult *res = sf_db_params(
	    db,
	    "WITH next AS ("
	    "  SELECT scan_id FROM resolve_queue WHERE ((ecosystem = 'npm' AND registry = $1)"
	    "   OR (ecosystem = 'pypi' AND registry = $3)"
	    "   OR (ecosystem = 'rubygems' AND registry = $4)) AND run_after <= now()"
	    "  AND (lease_until IS NULL OR lease_until < now())"
	    "  ORDER BY priority DESC, created_at, scan_id FOR UPDATE SKIP LOCKED LIMIT 1)"
	    " UPDATE resolve_queue q SET attempt = q.attempt + 1,"
	    "  lease_until = now() + make_interval(secs => $2::int)"
	    " FROM next WHERE q.scan_id = next.scan_id"
	    " RETURNING q.scan_id, q.ecosystem, q.package, q.version, q.attempt,"
	    "  coalesce(q.last_error, ''),"
	    "  (SELECT s.status = 'queued' AND s.artifact_sha256 IS NULL FROM scans s"
	    "   WHERE s.id = q.scan_id), coalesce(q.pinned_integrity, '')",
	    4, p);
	int rc = sf_db_result_ok(db, res, "resolve: claim");
	*got = rc == 0 && PQntuples(res) == 1;
	if (*got) {
		sf_strlcpy(it->scan_id, PQgetvalue(res, 0, 0), sizeof(it->scan_id));
		sf_strlcpy(it->ecosystem, PQgetvalue(res, 0, 1), sizeof(it->ecosystem));
		sf_strlcpy(it->package, PQgetvalue(res, 0, 2), sizeof(it->package));
		sf_strlcpy(it->version, PQgetvalue(res, 0, 3), sizeof(it->version));
		sf_strlcpy(it->attempt, PQgetvalue(res, 0, 4), sizeof(it->attempt));
		it->attempts = atoi(it->attempt);
		sf_strlcpy(it->last_error, PQgetvalue(res, 0, 5), sizeof(it->last_error));
		it->live = PQgetvalue(res, 0, 6)[0] == 't';
		sf_strlcpy(it->pinned, PQgetvalue(res, 0, 7), sizeof(it->pinned));
	}
	PQclear(res);
	return rc;
}

/* The scan waiting for this reference gets its artifact — only while the
 * claim is still ours and the scan still waits; *priority, *attempts and
 * network are then its job's (taken from the queue row; network "" for the
 * workers' default), *waits says so. */
static int resolve_give_artifact(PGconn *db, const struct resolve_item *it,
				 const struct sf_resolved *res, bool *waits, int *priority,
				 int *attempts, char network[16])
{
	const char *p[] = {it->scan_id, it->attempt, res->sha256, res->tarball,
			   res->integrity[0] ? res->integrity : NULL};
	PGresult *r = sf_db_params(
	    db,
	    "WITH q AS (DELETE FROM resolve_queue WHERE scan_id = $1"
	    "   AND attempt = $2::int RETURNING scan_id, priority, job_max_attempts, network)"
	    " UPDATE scans SET artifact_sha256 = $3, resolved_url = $4, resolved_integrity = $5"
	    " FROM q"
	    "   WHERE scans.id = q.scan_id AND scans.status = 'queued'"
	    "   AND scans.artifact_sha256 IS NULL"
	    " RETURNING q.priority, q.job_max_attempts, coalesce(q.network, '')",
	    5, p);
	int rc = sf_db_result_ok(db, r, "scan");
	*waits = rc == 0 && PQntuples(r) == 1;
	if (*waits) {
		*priority = atoi(PQgetvalue(r, 0, 0));
		*attempts = atoi(PQgetvalue(r, 0, 1));
		sf_strlcpy(network, PQgetvalue(r, 0, 2), 16);
	}
	PQclear(r);
	return rc;
}

/* The scan gets its artifact and its job; the resolution is remembered
 * (fresh: fetched now, not taken from package_resolutions). */
static int resolve_complete(struct sf_resolve *r, PGconn *db, const struct resolve_item *it,
			    const struct sf_resolved *res, bool fresh, bool *queued)
{
	const char *pr[] = {sf_resolve_registry(r, it->ecosystem), it->ecosystem, it->package, it->version, res->sha256,
			    res->integrity[0] ? res->integrity : NULL, res->tarball};
	const char *ids[] = {it->scan_id};
	int priority = 0, attempts = 0, rc;
	char network[16] = "";
	bool waits = false;
	*queued = false;
	if ((rc = sf_db_run(db, "begin", "BEGIN", 0, NULL, NULL)))
		return rc;
	if ((rc = sf_enqueue_artifact(db, res->sha256, res->size, NULL)) ||
	    (res->kind.kind[0] &&
	     (rc = sf_enqueue_kind(db, res->sha256, it->ecosystem, res->kind.kind, res->kind.name,
				   res->kind.version))) ||
	    (fresh && (rc = sf_db_run(db, "resolution",
				      "INSERT INTO package_resolutions (registry, ecosystem, package,"
				      " version, sha256, integrity, tarball_url)"
				      " VALUES ($1, $2, $3, $4, $5, $6, $7)"
				      " ON CONFLICT (registry, ecosystem, package, version) DO UPDATE"
				      " SET sha256 = EXCLUDED.sha256, integrity = EXCLUDED.integrity,"
				      " tarball_url = EXCLUDED.tarball_url, resolved_at = now()",
				      7, pr, NULL))) ||
	    (rc = resolve_give_artifact(db, it, res, &waits, &priority, &attempts, network)) ||
	    (waits && (rc = sf_jobs_create(db, ids, 1, priority, attempts,
					   network[0] ? network : NULL))) ||
	    (rc = sf_db_run(db, "commit", "COMMIT", 0, NULL, NULL))) {
		sf_db_rollback(db);
		return rc;
	}
	*queued = waits;
	return 0;
}

/* The scan fails with the reason; the reference leaves the queue. */
static int resolve_fail(PGconn *db, const struct resolve_item *it, const char *reason)
{
	const char *p[] = {it->scan_id, it->attempt, reason};
	return sf_db_run(db, "fail",
			 "WITH q AS (DELETE FROM resolve_queue WHERE scan_id = $1 AND attempt = $2::int"
			 "   RETURNING scan_id)"
			 " UPDATE scans SET status = 'failed', reason = $3, finished_at = now()"
			 " FROM q WHERE scans.id = q.scan_id AND scans.status = 'queued'"
			 " AND scans.artifact_sha256 IS NULL",
			 3, p, NULL);
}

/* Back to the queue: after a back-off (retry), or at once without counting
 * the attempt (this coordinator is stopping). */
static int resolve_requeue(PGconn *db, const struct resolve_item *it, const char *error,
			   bool count)
{
	char backoff[16];
	snprintf(backoff, sizeof(backoff), "%d", count ? RESOLVE_BACKOFF_S : 0);
	const char *p[] = {it->scan_id, it->attempt, error, backoff, count ? "0" : "1"};
	return sf_db_run(db, "requeue",
			 "UPDATE resolve_queue SET lease_until = NULL, last_error = $3,"
			 " attempt = attempt - $5::int,"
			 " run_after = now() + make_interval(secs => $4::int * attempt)"
			 " WHERE scan_id = $1 AND attempt = $2::int",
			 5, p, NULL);
}

/* A resolution remembered from an earlier run whose bytes are still in the
 * store. */
static int resolve_lookup(struct sf_resolve *r, PGconn *db, const struct resolve_item *it,
			  struct sf_resolved *res, bool *found)
{
	const char *p[] = {sf_resolve_registry(r, it->ecosystem), it->ecosystem, it->package,
			   it->version};
	PGresult *q = sf_db_params(db,
				   "SELECT p.sha256, a.size, coalesce(p.integrity, ''), p.tarball_url"
				   " FROM package_resolutions p JOIN artifacts a ON a.sha256 = p.sha256"
				   " WHERE p.registry = $1 AND p.ecosystem = $2 AND p.package = $3"
				   " AND p.version = $4",
				   4, p);
	int rc = sf_db_result_ok(db, q, "resolve: lookup");
	*found = false;
	if (rc == 0 && PQntuples(q) == 1) {
		int fd;
		long long size;
		memset(res, 0, sizeof(*res));
		sf_strlcpy(res->sha256, PQgetvalue(q, 0, 0), sizeof(res->sha256));
		if (sf_store_open_artifact(r->store, res->sha256, &fd, &size) == 0) {
			close(fd);
			res->size = size;
			sf_strlcpy(res->integrity, PQgetvalue(q, 0, 2), sizeof(res->integrity));
			sf_strlcpy(res->tarball, PQgetvalue(q, 0, 3), sizeof(res->tarball));
			*found = size == strtoll(PQgetvalue(q, 0, 1), NULL, 10);
		}
	}
	PQclear(q);
	return rc;
}

/* Fetches a reference from its ecosystem's source; pypi and rubygems
 * bytes are then inspected: what the index served must be a distribution
 * or a gem (the bytes stay row-less in the store otherwise, for the
 * sweep). */
static int resolve_fetch(struct sf_resolve *r, CURL *c, const struct resolve_item *it,
			 struct sf_resolved *res, char *err, size_t errlen, bool *transient)
{
	int rc;
	*transient = false;
	if (strcmp(it->ecosystem, "npm") == 0)
		return resolve_npm_with(c, &r->npm.access, r->npm.url, it->package, it->version,
					r->store, r->max_bytes, &r->stop, res, err, errlen, transient);
	if (strcmp(it->ecosystem, "pypi") == 0)
		rc = resolve_pypi_with(c, &r->pypi.access, r->pypi.url, it->package, it->version,
				       r->store, r->max_bytes, &r->stop, res, err, errlen, transient);
	else if (strcmp(it->ecosystem, "rubygems") == 0)
		rc = resolve_gem_with(c, &r->gems.access, r->gems.url, it->package, it->version,
				      r->store, r->max_bytes, &r->stop, res, err, errlen, transient);
	else {
		snprintf(err, errlen, "unsupported ecosystem");
		return -ENOTSUP;
	}
	if (rc)
		return rc;
	int fd = -1;
	long long size;
	if ((rc = sf_store_open_artifact(r->store, res->sha256, &fd, &size))) {
		*transient = true;
		snprintf(err, errlen, "artifact store: %s", strerror(-rc));
		return rc;
	}
	rc = sf_inspect_fd(fd, it->ecosystem, &r->inspect, &res->kind);
	close(fd);
	if (rc == -ENOMEM) {
		*transient = true;
		snprintf(err, errlen, "out of memory");
	} else if (rc) {
		snprintf(err, errlen, "%s (%s) is not what the index says: %s", res->tarball,
			 res->sha256, res->kind.message);
	}
	return rc;
}

/* Whether the integrity the item's lockfile pins disagrees with the
 * registry's bytes (res: verified against what the registry announced),
 * with the reason; compared with the recorded digest when it is of the
 * pinned algorithm, else by hashing the stored bytes. Bytes that cannot be
 * read count as disagreeing: a pin is never taken on trust. */
static bool resolve_pin_disagrees(struct sf_resolve *r, const struct resolve_item *it,
				  const struct sf_resolved *res, char *why, size_t whylen)
{
	char actual[128];
	snprintf(actual, sizeof(actual), "%s", res->integrity[0] ? res->integrity : "(none)");
	enum sf_integrity_verdict v = sf_integrity_compare(it->pinned, res->integrity);
	if (v == SF_INTEGRITY_UNKNOWN) {
		int fd;
		long long size;
		bool agrees = false;
		if (sf_store_open_artifact(r->store, res->sha256, &fd, &size) == 0) {
			if (sf_integrity_check_fd(it->pinned, fd, &agrees, actual, sizeof(actual)))
				snprintf(actual, sizeof(actual), "(unreadable)");
			close(fd);
		}
		v = agrees ? SF_INTEGRITY_AGREE : SF_INTEGRITY_DISAGREE;
	}
	if (v == SF_INTEGRITY_AGREE)
		return false;
	snprintf(why, whylen,
		 "lockfile integrity mismatch: the lockfile pins %.200s, the registry's tarball is"
		 " %.120s; not scanned",
		 it->pinned, actual);
	return true;
}

static void resolve_one(struct sf_resolve *r, CURL *c, struct resolve_item *it)
{
	char err[1024] = "", reason[1200];
	struct sf_resolved res;
	bool transient = false, found = false, queued = false;
	int rc = 0;
	PGconn *db;
	if (!it->live) { /* cancelled while it waited */
		db = sf_db_get(r->pool);
		const char *p[] = {it->scan_id};
		sf_db_run(db, "drop", "DELETE FROM resolve_queue WHERE scan_id = $1", 1, p, NULL);
		sf_db_put(r->pool, db);
		return;
	}
	snprintf(reason, sizeof(reason), "resolve %s %s@%s: ", it->ecosystem, it->package,
		 it->version);
	size_t prefix = strlen(reason);
	if (it->attempts > RESOLVE_TRIES) { /* coordinators died holding it */
		snprintf(reason + prefix, sizeof(reason) - prefix, "gave up after %d attempts%s%s",
			 RESOLVE_TRIES, it->last_error[0] ? ": " : "", it->last_error);
		goto fail;
	}
	db = sf_db_get(r->pool);
	rc = resolve_lookup(r, db, it, &res, &found);
	sf_db_put(r->pool, db);
	if (!found) {
		rc = resolve_fetch(r, c, it, &res, err, sizeof(err), &transient);
		if (rc == -ECANCELED) {
			db = sf_db_get(r->pool);
			resolve_requeue(db, it, "coordinator stopped during the fetch", false);
			sf_db_put(r->pool, db);
			return;
		}
		if (rc && transient && it->attempts < RESOLVE_TRIES) {
			sf_warn("resolve %s@%s (scan %s, attempt %d): %s; will retry", it->package,
				it->version, it->scan_id, it->attempts, err);
			atomic_fetch_add(&r->stats.retried, 1);
			db = sf_db_get(r->pool);
			resolve_requeue(db, it, err, true);
			sf_db_put(r->pool, db);
			return;
		}
		if (rc) {
			snprintf(reason + prefix, sizeof(reason) - prefix, "%s", err);
			goto fail;
		}
	}
	if (it->pinned[0] && resolve_pin_disagrees(r, it, &res, reason + prefix,
						   sizeof(reason) - prefix))
		goto fail; /* the registry's bytes are not the lockfile's: never scanned */
	db = sf_db_get(r->pool);
	rc = resolve_complete(r, db, it, &res, !found, &queued);
	sf_db_put(r->pool, db);
	if (rc == 0) {
		atomic_fetch_add(found ? &r->stats.cached : &r->stats.resolved, 1);
		sf_info("resolved %s@%s to artifact %s (%lld bytes%s): scan %s %s", it->package,
			it->version, res.sha256, res.size, found ? ", known" : "", it->scan_id,
			queued ? "queued" : "no longer waits");
	}
	/* A database error leaves the claim to expire: it is tried again. */
	return;
fail:
	atomic_fetch_add(&r->stats.failed, 1);
	sf_warn("scan %s failed: %s", it->scan_id, reason);
	db = sf_db_get(r->pool);
	resolve_fail(db, it, reason);
	sf_db_put(r->pool, db);
}

static void *resolve_thread(void *arg)
{
	struct sf_resolve *r = arg;
	CURL *c = curl_easy_init(); /* kept: its connections to the registry are reused */
	while (!atomic_load(&r->stop)) {
		pthread_mutex_lock(&r->lock);
		unsigned long gen = r->generation;
		pthread_mutex_unlock(&r->lock);
		struct resolve_item it;
		bool got = false;
		int rc = -ENOMEM;
		if (c) {
			PGconn *db = sf_db_get(r->pool);
			rc = resolve_claim(r, db, &it, &got);
			sf_db_put(r->pool, db);
		}
		if (rc == 0 && got) {
			resolve_one(r, c, &it);
			continue;
		}
		if (!c)
			c = curl_easy_init();
		/* Nothing ready (or PostgreSQL away): sleep until woken or the poll
		 * interval passes (retries come due, other coordinators' rows). */
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += RESOLVE_POLL_S;
		pthread_mutex_lock(&r->lock);
		while (gen == r->generation && !atomic_load(&r->stop))
			if (pthread_cond_timedwait(&r->wake, &r->lock, &until) == ETIMEDOUT)
				break;
		pthread_mutex_unlock(&r->lock);
	}
	if (c)
		curl_easy_cleanup(c);
	return NULL;
}

/* The registry's origin and, when configured, its credential and CA. */
static int resolve_access_init(struct resolve_access *acc, const char *registry,
			       const char *auth_file, const char *ca_file)
{
	struct sf_url_parts u;
	char *value = NULL;
	int rc = sf_url_split(registry, &u);
	if (!rc)
		rc = sf_strlcpy(acc->origin, u.origin, sizeof(acc->origin));
	if (!rc && ca_file && sf_strlcpy(acc->ca_file, ca_file, sizeof(acc->ca_file)))
		rc = -ENAMETOOLONG;
	if (rc || !auth_file)
		return rc;
	if (!(value = malloc(SF_SECRET_AUTH_MAX)))
		return -ENOMEM;
	if (!(rc = sf_secret_read_auth(auth_file, value, SF_SECRET_AUTH_MAX)))
		snprintf(acc->auth_line, sizeof(acc->auth_line), "Authorization: %s", value);
	explicit_bzero(value, SF_SECRET_AUTH_MAX);
	free(value);
	return rc;
}

/* One source: an http(s) base URL without its trailing slashes, and its
 * access. */
static int resolve_source_init(struct resolve_source *src, const char *url, const char *auth,
			       const char *ca)
{
	if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
		return -EINVAL;
	if (sf_strlcpy(src->url, url, sizeof(src->url)) != 0)
		return -ENAMETOOLONG;
	for (size_t n = strlen(src->url); n > 8 && src->url[n - 1] == '/'; n--)
		src->url[n - 1] = '\0';
	return resolve_access_init(&src->access, src->url, auth, ca);
}

int sf_resolve_start(struct sf_resolve **out, const struct sf_resolve_config *cfg,
		     struct sf_db_pool *pool, struct sf_store *store)
{
	if (cfg->concurrency < 1 || cfg->concurrency > RESOLVE_MAX_THREADS)
		return -EINVAL;
	struct sf_resolve *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	int arc;
	if ((arc = resolve_source_init(&r->npm, cfg->npm_registry, cfg->npm_registry_auth,
				       cfg->npm_registry_ca)) ||
	    (arc = resolve_source_init(&r->pypi, cfg->pypi_index, cfg->pypi_index_auth,
				       cfg->pypi_index_ca)) ||
	    (arc = resolve_source_init(&r->gems, cfg->gem_source, cfg->gem_source_auth,
				       cfg->gem_source_ca))) {
		explicit_bzero(r, sizeof(*r));
		free(r);
		return arc;
	}
	/* libxml2's global set-up, before the threads parse project pages */
	xmlInitParser();
	r->inspect = cfg->inspect;
	r->max_bytes = cfg->max_bytes;
	r->pool = pool;
	r->store = store;
	r->threads = calloc((size_t)cfg->concurrency, sizeof(pthread_t));
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (!r->threads) {
		sf_resolve_stop(r);
		return -ENOMEM;
	}
	for (int i = 0; i < cfg->concurrency; i++) {
		int rc = pthread_create(&r->threads[i], NULL, resolve_thread, r);
		if (rc) {
			sf_resolve_stop(r);
			return -rc;
		}
		r->nthreads++;
	}
	*out = r;
	return 0;
}

void sf_resolve_wake(struct sf_resolve *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->generation++;
	pthread_cond_broadcast(&r->wake);
	pthread_mutex_unlock(&r->lock);
}

void sf_resolve_stop(struct sf_resolve *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	atomic_store(&r->stop, true);
	pthread_cond_broadcast(&r->wake);
	pthread_mutex_unlock(&r->lock);
	for (int i = 0; i < r->nthreads; i++)
		pthread_join(r->threads[i], NULL);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->wake);
	free(r->threads);
	explicit_bzero(&r->npm.access, sizeof(r->npm.access));
	explicit_bzero(&r->pypi.access, sizeof(r->pypi.access));
	explicit_bzero(&r->gems.access, sizeof(r->gems.access));
	free(r);
}

const char *sf_resolve_registry(const struct sf_resolve *r, const char *ecosystem)
{
	if (!r || !ecosystem)
		return NULL;
	if (strcmp(ecosystem, "npm") == 0)
		return r->npm.url;
	if (strcmp(ecosystem, "pypi") == 0)
		return r->pypi.url;
	if (strcmp(ecosystem, "rubygems") == 0)
		return r->gems.url;
	return NULL;
}

bool sf_resolve_reference_valid(const char *ecosystem, const char *name, const char *version,
				char *norm, size_t normlen)
{
	if (strcmp(ecosystem, "npm") == 0)
		return sf_npm_name_valid(name) && sf_npm_version_valid(version) &&
		       sf_strlcpy(norm, name, normlen) == 0;
	if (strcmp(ecosystem, "pypi") == 0)
		return sf_pypi_name_valid(name) && sf_pypi_version_valid(version) &&
		       sf_pypi_normalize(name, norm, normlen) == 0;
	if (strcmp(ecosystem, "rubygems") == 0)
		return sf_gem_name_valid(name) && sf_gem_version_valid(version) &&
		       sf_strlcpy(norm, name, normlen) == 0;
	return false;
}

struct sf_resolve_stats *sf_resolve_stats(struct sf_resolve *r) { return &r->stats; }
