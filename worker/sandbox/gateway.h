/*
 * gateway — the worker-side door to a private registry that wants
 * credentials: an HTTP server on the host's loopback that forwards GET and
 * HEAD requests to the registry with the worker's Authorization header
 * added, so that the credential never enters the sandbox.
 *
 * The fetch phase's package manager is pointed at the gateway
 * (http://127.0.0.1:<port><registry path>) and reaches it only through the
 * allowlisting proxy; the gateway swaps the origin (scheme, host, port) for
 * the registry's and keeps the path, which must lie under the registry's
 * path. npm's replace-registry-host=always does the same origin swap for
 * the tarball URLs of lockfiles and packuments, so the tree comes through
 * here whole. Redirects (registries that hand tarballs to a blob store) are
 * followed by the gateway; the header is not sent to another host.
 *
 * Each response is fetched whole into an unlinked file in dir (bounded by
 * SF_GATEWAY_MAX_BYTES) and then served: simple, and the sandbox sees the
 * registry's status code and content type unchanged.
 *
 * Owns: the libmicrohttpd daemon, the credential's copy (wiped on stop),
 * the temporary files. Calls: libmicrohttpd, libcurl, secret, util, log.
 */
#ifndef SF_GATEWAY_H
#define SF_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#define SF_GATEWAY_MAX_BYTES (1024LL << 20) /* one packument or tarball */

struct sf_gateway;

/* Starts the gateway for `registry` (an http:// or https:// URL) with the
 * credential read from auth_file: a bare token (sent as "Bearer <token>")
 * or a whole header value ("Bearer …", "Basic …"). ca_file: extra CA
 * certificates to verify the registry with, or NULL. Temporary files go to
 * dir. Returns 0, -EINVAL (bad URL or file content, err filled) or a
 * negative errno. */
int sf_gateway_start(struct sf_gateway **out, const char *registry, const char *auth_file,
		     const char *ca_file, const char *dir, char *err, size_t errlen);
/* The URL the sandbox uses instead of the registry's:
 * http://127.0.0.1:<port><registry path>. */
const char *sf_gateway_url(const struct sf_gateway *g);
/* Its origin, http://127.0.0.1:<port>, and the registry's, scheme://host[:port]:
 * what a lockfile's URLs are swapped from and to. */
const char *sf_gateway_origin(const struct sf_gateway *g);
const char *sf_gateway_registry_origin(const struct sf_gateway *g);
/* Requests forwarded so far (for the log and the tests). */
uint64_t sf_gateway_requests(const struct sf_gateway *g);
void sf_gateway_stop(struct sf_gateway *g);

#endif
