/*
 * netpolicy — which destinations exist for a sandbox: the routes and the
 * firewall of the network namespace the worker makes for it (netns.h),
 * set from inside that namespace by the thread that made it.
 *
 *   blocked    the cloud metadata networks (169.254.0.0/16, fd00:ec2::/32,
 *              100.100.100.200) and the worker host's own addresses are
 *              "unreachable" routes: a connect fails at once with
 *              EHOSTUNREACH, nothing ever answers as if it were real. The
 *              attempt is the sensor's to record (a connect event).
 *   sinkhole   every other address is local (routes of type local for
 *              0.0.0.0/0 and ::/0 on lo, like "ip route add local"), and an
 *              nftables table hands every TCP connection and UDP datagram
 *              not meant for loopback or DNS to the sinkhole's transparent
 *              sockets on one port (tproxy): any address, any port reaches
 *              the sinkhole, with its original destination intact. DNS
 *              (port 53) reaches the sinkhole's resolver directly, any
 *              address being local. There is still no interface but lo:
 *              nothing can leave the namespace.
 *
 * The routes live in the local table, so the blocked /32s and /128s win
 * over the local default by longest prefix in both families (IPv6 keeps
 * its local and main tables apart).
 *
 * Owns: nothing past a call. Calls: libmnl (rtnetlink), libnftables,
 * getifaddrs.
 */
#ifndef SF_NETPOLICY_H
#define SF_NETPOLICY_H

#include <stddef.h>
#include <stdint.h>

#define SF_NETPOLICY_MAX_BLOCKED 64

/* An address or network (bits = prefix length). */
struct sf_netaddr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t bits;
	uint8_t addr[16]; /* network order; 4 bytes used for AF_INET */
};

/* The destinations every sandbox is refused: the cloud metadata networks,
 * then the addresses of the worker host's interfaces (read in the
 * caller's namespace, loopback left out: a sandbox's loopback is its own).
 * Fills out[0..*n). Returns 0 or a negative errno. */
int sf_netpolicy_blocked(struct sf_netaddr *out, size_t max, size_t *n);

/* Whether a (family, addr) is inside one of the first n networks. */
int sf_netpolicy_match(const struct sf_netaddr *nets, size_t n, int family, const uint8_t *addr);

/* In the namespace being set up: an unreachable route for each of
 * blocked[0..n). Returns 0 or a negative errno (err says what failed). */
int sf_netpolicy_apply_blocked(const struct sf_netaddr *blocked, size_t n, char *err,
			       size_t errlen);

/* In the namespace being set up: every address local, and TCP and UDP
 * (loopback and port 53 aside) handed to the transparent sockets on port.
 * Returns 0 or a negative errno (err says what failed). */
int sf_netpolicy_apply_sinkhole(uint16_t port, char *err, size_t errlen);

#endif
