/*
 * netns — the network namespace a sandbox run joins, made by the worker.
 *
 * Three shapes. Offline: loopback only (up), nothing else exists, so every
 * outside address is unreachable and DNS to 127.0.0.1 finds nobody. Proxied
 * (the fetch phase): the same, plus one listening socket on 127.0.0.1:<port>
 * inside the namespace that the worker's own forwarder joins to a TCP
 * address in the host's namespace (the allowlisting registry proxy). That
 * socket is the namespace's only way out: there is no interface but lo, no
 * route, and the sandbox has no capability to add one. Sinkhole (the
 * install and import phases' default): loopback, every other address
 * routed to the namespace itself and answered by the sinkhole (sinkhole.h)
 * but the blocked ones (cloud metadata, the worker host: netpolicy.h),
 * which are unreachable. Still no interface but lo: nothing leaves.
 *
 * The namespace is made by a short-lived thread (unshare(CLONE_NEWNET) is
 * per thread) and kept alive by an fd; the OCI runtime joins it through
 * sf_netns_path(), a /proc path to that fd.
 *
 * Owns: the namespace fd, the listening socket, the forwarder thread and
 * its connections, the sinkhole. Calls: netpolicy, sinkhole, userns (a
 * namespace made in the sandbox's user namespace), libc, pthreads, log.
 */
#ifndef SF_NETNS_H
#define SF_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "netpolicy.h"

struct sf_netns;
struct sf_sinkhole;
struct sf_userns;

struct sf_netns_opts {
	/* proxied: connections to 127.0.0.1:forward_port inside it are joined
	 * to *forward_to (host side); 0 = not proxied */
	uint16_t forward_port;
	const struct sockaddr_in *forward_to;
	/* sinkhole: every address answered by a sinkhole, blocked[0..nblocked)
	 * unreachable */
	bool sinkhole;
	const struct sf_netaddr *blocked;
	size_t nblocked;
	/* the sandbox's user namespace, which the network namespace must
	 * belong to (userns.h), or NULL for the worker's own */
	const struct sf_userns *owner;
};

struct sf_netns_stats {
	uint64_t connections; /* accepted on the forwarded port */
	uint64_t bytes_out;   /* sandbox → proxy */
	uint64_t bytes_in;    /* proxy → sandbox */
};

/* Makes a namespace of the shape opts describes (all zero: offline).
 * Returns 0 or a negative errno, with err saying what failed. */
int sf_netns_create(struct sf_netns **out, const struct sf_netns_opts *opts, char *err,
		    size_t errlen);
/* The sinkhole serving a sinkhole namespace (running until
 * sf_sinkhole_stop or sf_netns_free), or NULL. */
struct sf_sinkhole *sf_netns_sinkhole(const struct sf_netns *n);
/* "/proc/<pid>/fd/<n>": what an OCI config's network namespace path names. */
const char *sf_netns_path(const struct sf_netns *n);
void sf_netns_stats(const struct sf_netns *n, struct sf_netns_stats *st);
/* Stops the forwarder and the sinkhole, closes their connections and the
 * namespace. NULL ok. */
void sf_netns_free(struct sf_netns *n);

#endif
