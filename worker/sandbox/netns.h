/*
 * netns — the network namespace a sandbox run joins, made by the worker.
 *
 * Two shapes. Offline: loopback only (up), nothing else exists, so every
 * outside address is unreachable and DNS to 127.0.0.1 finds nobody. Proxied
 * (the fetch phase): the same, plus one listening socket on 127.0.0.1:<port>
 * inside the namespace that the worker's own forwarder joins to a TCP
 * address in the host's namespace (the allowlisting registry proxy). That
 * socket is the namespace's only way out: there is no interface but lo, no
 * route, and the sandbox has no capability to add one.
 *
 * The namespace is made by a short-lived thread (unshare(CLONE_NEWNET) is
 * per thread) and kept alive by an fd; the OCI runtime joins it through
 * sf_netns_path(), a /proc path to that fd.
 *
 * Owns: the namespace fd, the listening socket, the forwarder thread and
 * its connections. Calls: libc, pthreads, userns (a namespace made in the
 * sandbox's user namespace), log.
 */
#ifndef SF_NETNS_H
#define SF_NETNS_H

#include <stdint.h>
#include <netinet/in.h>

struct sf_netns;
struct sf_userns;

struct sf_netns_stats {
	uint64_t connections; /* accepted on the forwarded port */
	uint64_t bytes_out;   /* sandbox → proxy */
	uint64_t bytes_in;    /* proxy → sandbox */
};

/* Makes a namespace. forward_port 0: offline. Otherwise connections to
 * 127.0.0.1:forward_port inside it are joined to *forward_to (host side).
 * owner: the sandbox's user namespace, which the network namespace must
 * belong to (userns.h), or NULL for the worker's own. Returns 0 or a
 * negative errno. */
int sf_netns_create(struct sf_netns **out, uint16_t forward_port,
		    const struct sockaddr_in *forward_to, const struct sf_userns *owner);
/* "/proc/<pid>/fd/<n>": what an OCI config's network namespace path names. */
const char *sf_netns_path(const struct sf_netns *n);
void sf_netns_stats(const struct sf_netns *n, struct sf_netns_stats *st);
/* Stops the forwarder, closes its connections and the namespace. NULL ok. */
void sf_netns_free(struct sf_netns *n);

#endif
