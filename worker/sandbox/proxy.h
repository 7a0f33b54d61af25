/*
 * proxy — the allowlisting forward proxy the fetch phase's only network path
 * leads to: a tinyproxy the worker configures, starts and restarts.
 *
 * The allowlist is the configured registries and nothing else: for an
 * http:// registry its URL prefix (scheme, host, port, path), for an
 * https:// one a CONNECT to its host and port. Everything else is refused
 * with 403 and logged; the worker reads those refusals back per phase, so a
 * package or a crafted .npmrc that tried to fetch elsewhere is on record.
 * The proxy listens on the host's loopback only and runs as nobody.
 *
 * Owns: the tinyproxy child, its config, filter and log files under dir.
 * Calls: fork/exec of tinyproxy, util, log.
 */
#ifndef SF_PROXY_H
#define SF_PROXY_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SF_PROXY_MAX_REGISTRIES 8

struct sf_proxy {
	char dir[4096];
	char binary[256];
	const char *registries[SF_PROXY_MAX_REGISTRIES];
	int nregistries;
	pid_t pid;
	uint16_t port;
	struct sockaddr_in addr; /* where the forwarder connects */
};

/* Writes the config for `registries` (http:// or https:// URLs) into dir and
 * starts tinyproxy (binary: "tinyproxy" or a path) on a free loopback port.
 * Returns 0, -EINVAL for a registry URL it cannot allow, or a negative errno
 * with err filled. */
int sf_proxy_start(struct sf_proxy *p, const char *binary, const char *dir,
		   const char *const *registries, int nregistries, char *err, size_t errlen);
/* Restarts the proxy if it has died; 0 when it is (again) running. */
int sf_proxy_ensure(struct sf_proxy *p, char *err, size_t errlen);
/* Byte offset of the proxy's log now: what sf_proxy_refusals reads from. */
long long sf_proxy_log_offset(const struct sf_proxy *p);
/* Calls fn for each URL the proxy refused since log offset `from`. */
int sf_proxy_refusals(const struct sf_proxy *p, long long from,
		      void (*fn)(void *arg, const char *url), void *arg);
void sf_proxy_stop(struct sf_proxy *p);

/* The filter line that allows `registry`, as tinyproxy's extended regular
 * expression; -EINVAL for what is not an http(s) URL with a host. */
int sf_proxy_filter_line(const char *registry, char *out, size_t outlen);

#endif
