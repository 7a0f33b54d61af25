/* netpolicy — see netpolicy.h. */
#include "netpolicy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* Cloud metadata services: AWS, GCP and Azure (169.254.169.254), ECS task
 * metadata (169.254.170.2) and the rest of IPv4 link-local, AWS's IPv6
 * endpoints (fd00:ec2::254 and its neighbours), Alibaba Cloud's. */
static const struct sf_netaddr netpolicy_metadata[] = {
    {AF_INET, 16, {169, 254}},
    {AF_INET6, 32, {0xfd, 0x00, 0x0e, 0xc2}},
    {AF_INET, 32, {100, 100, 100, 200}},
};

static bool netpolicy_loopback(int family, const uint8_t *a)
{
	static const uint8_t v6lo[16] = {[15] = 1};
	return family == AF_INET ? a[0] == 127 : memcmp(a, v6lo, 16) == 0;
}

int sf_netpolicy_blocked(struct sf_netaddr *out, size_t max, size_t *n)
{
	*n = 0;
	size_t k = sizeof(netpolicy_metadata) / sizeof(netpolicy_metadata[0]);
	for (size_t i = 0; i < k && *n < max; i++)
		out[(*n)++] = netpolicy_metadata[i];
	struct ifaddrs *ifs = NULL;
	if (getifaddrs(&ifs) != 0)
		return -errno;
	for (struct ifaddrs *i = ifs; i && *n < max; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		struct sf_netaddr a = {.family = (uint8_t)i->ifa_addr->sa_family};
		if (a.family == AF_INET) {
			a.bits = 32;
			memcpy(a.addr, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		} else if (a.family == AF_INET6) {
			a.bits = 128;
			memcpy(a.addr, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
		} else {
			continue;
		}
		if (netpolicy_loopback(a.family, a.addr) ||
		    sf_netpolicy_match(out, *n, a.family, a.addr))
			continue;
		out[(*n)++] = a;
	}
	freeifaddrs(ifs);
	return 0;
}

int sf_netpolicy_match(const struct sf_netaddr *nets, size_t n, int family, const uint8_t *addr)
{
	for (size_t i = 0; i < n; i++) {
		const struct sf_netaddr *net = &nets[i];
		if (net->family != family)
			continue;
		size_t full = net->bits / 8, rest = net->bits % 8;
		if (memcmp(net->addr, addr, full) != 0)
			continue;
		if (rest && ((net->addr[full] ^ addr[full]) & (0xff << (8 - rest))))
			continue;
		return 1;
	}
	return 0;
}

/* One RTM_NEWROUTE in the local table, acknowledged: type RTN_LOCAL (via
 * lo) or RTN_UNREACHABLE, for dst/bits. */
static int netpolicy_route(struct mnl_socket *nl, unsigned *seq, uint8_t type,
			   const struct sf_netaddr *dst, unsigned lo)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
	nlh->nlmsg_seq = ++*seq;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = dst->family;
	rtm->rtm_dst_len = dst->bits;
	rtm->rtm_table = RT_TABLE_LOCAL;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = type == RTN_LOCAL ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE;
	rtm->rtm_type = type;
	if (dst->bits)
		mnl_attr_put(nlh, RTA_DST, dst->family == AF_INET ? 4 : 16, dst->addr);
	if (type == RTN_LOCAL)
		mnl_attr_put_u32(nlh, RTA_OIF, lo);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	ssize_t r = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (r < 0)
		return -errno;
	if (mnl_cb_run(buf, (size_t)r, *seq, mnl_socket_get_portid(nl), NULL, NULL) < 0)
		return errno ? -errno : -EPROTO;
	return 0;
}

/* The routes of routes[0..n), all of one type, on a fresh rtnetlink socket. */
static int netpolicy_routes(uint8_t type, const struct sf_netaddr *routes, size_t n, char *err,
			    size_t errlen)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl) {
		snprintf(err, errlen, "rtnetlink: %s", strerror(errno));
		return -errno;
	}
	int rc = mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ? -errno : 0;
	unsigned seq = (unsigned)time(NULL), lo = if_nametoindex("lo");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if ((rc = netpolicy_route(nl, &seq, type, &routes[i], lo))) {
			char a[INET6_ADDRSTRLEN] = "?";
			inet_ntop(routes[i].family, routes[i].addr, a, sizeof(a));
			snprintf(err, errlen, "cannot add the %s route %s/%u: %s",
				 type == RTN_LOCAL ? "local" : "unreachable", a, routes[i].bits,
				 strerror(-rc));
		}
	}
	mnl_socket_close(nl);
	return rc;
}

int sf_netpolicy_apply_blocked(const struct sf_netaddr *blocked, size_t n, char *err,
			       size_t errlen)
{
	return netpolicy_routes(RTN_UNREACHABLE, blocked, n, err, errlen);
}

/* Everything but loopback and DNS goes to the transparent sockets; the
 * sinkhole's DNS answers (source port 53) go back to their askers. A
 * packet of a connection that exists (either direction) is delivered to
 * its own socket first: tproxy looks for an established socket before it
 * assigns the listener. */
static const char netpolicy_ruleset[] =
    "table inet sf_sinkhole {\n"
    " chain prerouting {\n"
    "  type filter hook prerouting priority mangle; policy accept;\n"
    "  ip daddr 127.0.0.0/8 return\n"
    "  ip6 daddr ::1 return\n"
    "  udp dport 53 return\n"
    "  udp sport 53 return\n"
    "  meta l4proto tcp tproxy ip to :%u\n"
    "  meta l4proto tcp tproxy ip6 to :%u\n"
    "  meta l4proto udp tproxy ip to :%u\n"
    "  meta l4proto udp tproxy ip6 to :%u\n"
    " }\n"
    "}\n";

int sf_netpolicy_apply_sinkhole(uint16_t port, char *err, size_t errlen)
{
	static const struct sf_netaddr v4 = {AF_INET, 0, {0}}, v6 = {AF_INET6, 0, {0}};
	int rc;
	if ((rc = netpolicy_routes(RTN_LOCAL, &v4, 1, err, errlen)) ||
	    (rc = netpolicy_routes(RTN_LOCAL, &v6, 1, err, errlen)))
		return rc;
	char rules[sizeof(netpolicy_ruleset) + 32];
	snprintf(rules, sizeof(rules), netpolicy_ruleset, (unsigned)port, (unsigned)port,
		 (unsigned)port, (unsigned)port);
	/* the context's netlink socket is opened here, in this thread's namespace */
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!nft) {
		snprintf(err, errlen, "nftables: cannot make a context");
		return -ENOMEM;
	}
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	if (nft_run_cmd_from_buffer(nft, rules) != 0) {
		const char *e = nft_ctx_get_error_buffer(nft);
		size_t el = e ? strcspn(e, "\n") : 0;
		snprintf(err, errlen, "nftables refused the sinkhole's ruleset: %.*s", (int)el,
			 el ? e : "no reason given");
		rc = -EINVAL;
	}
	nft_ctx_free(nft);
	return rc;
}
