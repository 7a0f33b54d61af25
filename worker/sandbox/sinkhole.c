/* sinkhole — see sinkhole.h. */
#include "sinkhole.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define SINKHOLE_DECIDE_MS 1000 /* a request still incomplete this long after its last bytes is answered */
#define SINKHOLE_IDLE_MS 30000	/* a connection silent this long is closed */
#define SINKHOLE_NAME_SLOTS 8192 /* open addressing over SF_SINKHOLE_MAX_NAMES */

enum { SK_TCP4, SK_TCP6, SK_UDP4, SK_UDP6, SK_DNS4, SK_DNS6, SK_N };

enum conn_state {
	CONN_READING,  /* not yet known what it is */
	CONN_RAW,      /* neither HTTP nor TLS: listened to */
	CONN_ANSWERED, /* HTTP answered or TLS refused: what else comes is counted */
};

struct sinkhole_conn {
	int fd;
	enum conn_state state;
	bool continued; /* a 100 Continue was sent */
	struct sf_net_record rec; /* filled as it goes; data points at buf */
	unsigned char buf[SF_SINKHOLE_DATA_MAX];
	int64_t last_ms; /* last bytes (monotonic) */
};

struct sf_sinkhole {
	int fd[SK_N];
	int stop_fd;
	pthread_t thread;
	bool running;
	struct sinkhole_conn *conns[SF_SINKHOLE_MAX_CONNS];
	struct sf_net_record *recs;
	size_t nrecs, caprecs, data_kept;
	struct sf_sinkhole_stats st;
	/* names given addresses: index i has 198.18.0.0 + i + 1 */
	pthread_mutex_t names_lock;
	char *names[SF_SINKHOLE_MAX_NAMES];
	uint16_t slots[SINKHOLE_NAME_SLOTS]; /* index + 1, 0 = empty */
	size_t nnames;
};

static const uint8_t sinkhole_nat64[12] = {0, 0x64, 0xff, 0x9b};
static const uint8_t sinkhole_meta4[4] = {169, 254, 169, 254};
static const uint8_t sinkhole_meta6[16] = {0xfd, 0, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54};

static int64_t sinkhole_now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int64_t sinkhole_unix_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* ---------------------------------------------------------------- names */

static uint32_t sinkhole_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The index of name, given one if it has none; the last one is shared by
 * every name past the table. */
static size_t sinkhole_name_index(struct sf_sinkhole *s, const char *name)
{
	size_t i = sinkhole_hash(name) % SINKHOLE_NAME_SLOTS;
	pthread_mutex_lock(&s->names_lock);
	size_t idx = SF_SINKHOLE_MAX_NAMES - 1;
	for (;;) {
		if (s->slots[i] == 0) {
			char *copy = s->nnames < SF_SINKHOLE_MAX_NAMES - 1 ? strdup(name) : NULL;
			if (copy) {
				idx = s->nnames++;
				s->names[idx] = copy;
				s->slots[i] = (uint16_t)(idx + 1);
			}
			break;
		}
		if (strcmp(s->names[s->slots[i] - 1], name) == 0) {
			idx = s->slots[i] - 1u;
			break;
		}
		i = (i + 1) % SINKHOLE_NAME_SLOTS;
	}
	pthread_mutex_unlock(&s->names_lock);
	return idx;
}

static void sinkhole_addr4(size_t idx, uint8_t a[4])
{
	uint32_t v = 0xc6120000u + (uint32_t)idx + 1; /* 198.18.0.0/15 */
	a[0] = (uint8_t)(v >> 24);
	a[1] = (uint8_t)(v >> 16);
	a[2] = (uint8_t)(v >> 8);
	a[3] = (uint8_t)v;
}

int sf_sinkhole_name_of(struct sf_sinkhole *s, int family, const uint8_t *addr, char *name,
			size_t len)
{
	const uint8_t *v4 = addr;
	if (family == AF_INET6) {
		if (memcmp(addr, sinkhole_nat64, 12) != 0)
			return -ENOENT;
		v4 = addr + 12;
	} else if (family != AF_INET) {
		return -ENOENT;
	}
	uint32_t v = ((uint32_t)v4[0] << 24) | ((uint32_t)v4[1] << 16) | ((uint32_t)v4[2] << 8) | v4[3];
	if (v <= 0xc6120000u || v > 0xc6120000u + SF_SINKHOLE_MAX_NAMES)
		return -ENOENT;
	size_t idx = v - 0xc6120000u - 1;
	int rc = -ENOENT;
	pthread_mutex_lock(&s->names_lock);
	if (idx < s->nnames && s->names[idx]) {
		snprintf(name, len, "%s", s->names[idx]);
		rc = 0;
	}
	pthread_mutex_unlock(&s->names_lock);
	return rc;
}

/* Cloud metadata host names resolve as they would on a cloud VM, to the
 * metadata address, which the namespace makes unreachable. */
static bool sinkhole_metadata_name(const char *name)
{
	static const char *const names[] = {"metadata.google.internal", "metadata",
					    "instance-data", "instance-data.ec2.internal",
					    "metadata.azure.com", "metadata.packet.net"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

/* -------------------------------------------------------------- records */

static void sinkhole_endpoint(struct sf_endpoint *ep, const struct sockaddr_storage *sa)
{
	memset(ep, 0, sizeof(*ep));
	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		ep->family = AF_INET;
		ep->port = ntohs(in->sin_port);
		memcpy(ep->addr, &in->sin_addr, 4);
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		ep->family = AF_INET6;
		ep->port = ntohs(in6->sin6_port);
		memcpy(ep->addr, &in6->sin6_addr, 16);
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			ep->family = AF_INET;
			memmove(ep->addr, ep->addr + 12, 4);
			memset(ep->addr + 4, 0, 12);
		}
	}
}

/* Keeps r (its data copied, within the budget) as the next record. */
static void sinkhole_keep(struct sf_sinkhole *s, const struct sf_net_record *r)
{
	if (s->nrecs == SF_SINKHOLE_MAX_RECORDS) {
		s->st.records_dropped++;
		s->st.data_dropped += r->len;
		return;
	}
	if (s->nrecs == s->caprecs) {
		size_t cap = s->caprecs ? s->caprecs * 2 : 16;
		struct sf_net_record *n = realloc(s->recs, cap * sizeof(*n));
		if (!n) {
			s->st.records_dropped++;
			return;
		}
		s->recs = n;
		s->caprecs = cap;
	}
	struct sf_net_record *k = &s->recs[s->nrecs++];
	*k = *r;
	k->data = NULL;
	k->len = 0;
	if (r->len && s->data_kept + r->len <= SF_SINKHOLE_DATA_BUDGET &&
	    (k->data = malloc(r->len))) {
		memcpy(k->data, r->data, r->len);
		k->len = r->len;
		s->data_kept += r->len;
	} else {
		s->st.data_dropped += r->len;
	}
}

/* ---------------------------------------------------------------- TCP */

static void sinkhole_conn_end(struct sf_sinkhole *s, int k)
{
	struct sinkhole_conn *c = s->conns[k];
	c->rec.data = c->buf;
	sinkhole_keep(s, &c->rec);
	close(c->fd);
	free(c);
	s->conns[k] = NULL;
}

static void sinkhole_accept(struct sf_sinkhole *s, int lfd)
{
	struct sockaddr_storage peer, local;
	socklen_t pl = sizeof(peer), ll = sizeof(local);
	int fd = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	s->st.connections++;
	int k = 0;
	while (k < SF_SINKHOLE_MAX_CONNS && s->conns[k])
		k++;
	struct sinkhole_conn *c = k < SF_SINKHOLE_MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
	/* with tproxy, the accepted socket's own address is where the
	 * sandbox meant to connect */
	if (!c || getsockname(fd, (struct sockaddr *)&local, &ll) != 0) {
		s->st.conns_refused++;
		free(c);
		close(fd);
		return;
	}
	c->fd = fd;
	c->last_ms = sinkhole_now_ms();
	c->rec.kind = SF_NET_TCP;
	c->rec.proto = IPPROTO_TCP;
	c->rec.time_ns = sinkhole_unix_ns();
	sinkhole_endpoint(&c->rec.client, &peer);
	sinkhole_endpoint(&c->rec.server, &local);
	sf_sinkhole_name_of(s, c->rec.server.family, c->rec.server.addr, c->rec.server_name,
			    sizeof(c->rec.server_name));
	s->conns[k] = c;
}

/* The 200 every HTTP request gets (a HEAD without its body). */
static void sinkhole_http_answer(struct sinkhole_conn *c)
{
	char head[256];
	bool head_only = strcmp(c->rec.http_method, "HEAD") == 0;
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
			 sizeof(SF_SINKHOLE_BODY) - 1, head_only ? "" : SF_SINKHOLE_BODY);
	/* a few hundred bytes into an empty socket buffer: one write */
	if (n > 0 && write(c->fd, head, (size_t)n) < 0)
		sf_debug("sinkhole: cannot answer an HTTP request: %s", strerror(errno));
	shutdown(c->fd, SHUT_WR);
	c->state = CONN_ANSWERED;
}

/* A TLS handshake goes no further than its hello: a fatal
 * handshake_failure alert. */
static void sinkhole_tls_refuse(struct sinkhole_conn *c)
{
	static const unsigned char alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};
	if (write(c->fd, alert, sizeof(alert)) < 0)
		sf_debug("sinkhole: cannot end a TLS handshake: %s", strerror(errno));
	shutdown(c->fd, SHUT_WR);
	c->state = CONN_ANSWERED;
}

static void sinkhole_take_http(struct sinkhole_conn *c, const struct sf_http_request *h)
{
	c->rec.kind = SF_NET_HTTP;
	snprintf(c->rec.http_method, sizeof(c->rec.http_method), "%s", h->method);
	snprintf(c->rec.http_target, sizeof(c->rec.http_target), "%s", h->target);
	snprintf(c->rec.http_version, sizeof(c->rec.http_version), "%s", h->version);
	snprintf(c->rec.http_host, sizeof(c->rec.http_host), "%s", h->host);
}

/* What the bytes so far are, and the answer when it is due: late is true
 * when no more bytes came for SINKHOLE_DECIDE_MS (or the buffer is full),
 * and what is there must do. */
static void sinkhole_classify(struct sinkhole_conn *c, bool late)
{
	if (c->state != CONN_READING || c->rec.len == 0)
		return;
	if (c->buf[0] == 0x16) {
		int rc = sf_tls_parse_sni(c->buf, c->rec.len, c->rec.sni, sizeof(c->rec.sni));
		if (rc == 0 || (rc == -EAGAIN && late)) {
			c->rec.kind = SF_NET_TLS;
			sinkhole_tls_refuse(c);
			return;
		}
		if (rc == -EAGAIN)
			return;
	}
	struct sf_http_request h;
	int rc = sf_http_parse_request((const char *)c->buf, c->rec.len, &h);
	if (rc == -EPROTO || (rc == -EAGAIN && late && !h.version[0])) {
		c->state = CONN_RAW;
		return;
	}
	if (rc == -EAGAIN && !late)
		return;
	/* a request with its body (as far as the buffer holds), or one that
	 * stopped sending */
	bool body_due = rc == 0 && h.content_length > 0 &&
			(long long)c->rec.len < (long long)h.head_len + h.content_length &&
			c->rec.len < SF_SINKHOLE_DATA_MAX;
	if (body_due && !late) {
		/* curl and others hold a body back until told to go on */
		if (h.expect_continue && !c->continued) {
			static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
			if (write(c->fd, cont, sizeof(cont) - 1) < 0)
				sf_debug("sinkhole: cannot send a 100 Continue: %s", strerror(errno));
			c->continued = true;
		}
		return;
	}
	sinkhole_take_http(c, &h);
	sinkhole_http_answer(c);
}

/* Reads what there is; false when the connection is over. */
static bool sinkhole_read(struct sinkhole_conn *c)
{
	for (;;) {
		unsigned char scratch[4096];
		size_t room = SF_SINKHOLE_DATA_MAX - c->rec.len;
		unsigned char *into = room ? c->buf + c->rec.len : scratch;
		ssize_t r = read(c->fd, into, room ? room : sizeof(scratch));
		if (r == 0)
			return false;
		if (r < 0)
			return errno == EAGAIN || errno == EINTR;
		if (room)
			c->rec.len += (size_t)r;
		c->rec.total += (uint64_t)r;
		c->last_ms = sinkhole_now_ms();
	}
}

/* ---------------------------------------------------------------- UDP */

/* The control message that carries a datagram's destination. */
static bool sinkhole_dest(struct msghdr *mh, struct sockaddr_storage *dst, int port)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_ORIGDSTADDR) {
			memcpy(dst, CMSG_DATA(cm), sizeof(struct sockaddr_in));
			return true;
		}
		if (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_ORIGDSTADDR) {
			memcpy(dst, CMSG_DATA(cm), sizeof(struct sockaddr_in6));
			return true;
		}
		if (cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			struct sockaddr_in *in = (struct sockaddr_in *)dst;
			*in = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
						   .sin_addr = pi.ipi_addr};
			return true;
		}
		if (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)dst;
			*in6 = (struct sockaddr_in6){.sin6_family = AF_INET6,
						     .sin6_port = htons((uint16_t)port),
						     .sin6_addr = pi.ipi6_addr};
			return true;
		}
	}
	return false;
}

/* Sends a DNS answer from the address the question went to. */
static void sinkhole_dns_send(int fd, const unsigned char *msg, size_t n,
			      const struct sockaddr_storage *to, socklen_t tolen,
			      const struct sockaddr_storage *from)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct iovec iov = {.iov_base = (void *)msg, .iov_len = n};
	struct msghdr mh = {.msg_name = (void *)to, .msg_namelen = tolen, .msg_iov = &iov,
			    .msg_iovlen = 1, .msg_control = ctl.buf};
	struct cmsghdr *cm = (struct cmsghdr *)ctl.buf;
	if (from->ss_family == AF_INET) {
		struct in_pktinfo pi = {.ipi_spec_dst = ((const struct sockaddr_in *)from)->sin_addr};
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
		cm->cmsg_level = SOL_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi = {.ipi6_addr = ((const struct sockaddr_in6 *)from)->sin6_addr};
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
		cm->cmsg_level = SOL_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	}
	if (sendmsg(fd, &mh, MSG_DONTWAIT) < 0)
		sf_debug("sinkhole: cannot send a DNS answer: %s", strerror(errno));
}

/* Answers question q (the record r) with an address of the sinkhole's. */
static size_t sinkhole_dns_answer(struct sf_sinkhole *s, const unsigned char *msg,
				  const struct sf_dns_question *q, struct sf_net_record *r,
				  unsigned char *out, size_t outlen)
{
	uint8_t addr[16];
	size_t alen = 0, n = 0;
	bool meta = sinkhole_metadata_name(q->name);
	if (q->qclass == 1 && (q->type == SF_DNS_TYPE_A || q->type == SF_DNS_TYPE_ANY)) {
		if (meta)
			memcpy(addr, sinkhole_meta4, 4);
		else
			sinkhole_addr4(sinkhole_name_index(s, q->name), addr);
		alen = 4;
	} else if (q->qclass == 1 && q->type == SF_DNS_TYPE_AAAA) {
		if (meta) {
			memcpy(addr, sinkhole_meta6, 16);
		} else {
			memcpy(addr, sinkhole_nat64, 12);
			sinkhole_addr4(sinkhole_name_index(s, q->name), addr + 12);
		}
		alen = 16;
	}
	if (alen)
		inet_ntop(alen == 4 ? AF_INET : AF_INET6, addr, r->dns_answer, sizeof(r->dns_answer));
	if (sf_dns_build_answer(msg, q, addr, alen, out, outlen, &n) != 0)
		return 0;
	return n;
}

/* One datagram from a UDP or DNS socket. false: nothing was there. */
static bool sinkhole_datagram(struct sf_sinkhole *s, int fd, bool dns)
{
	unsigned char buf[SF_SINKHOLE_DATA_MAX];
	union {
		char buf[256];
		struct cmsghdr align;
	} ctl;
	struct sockaddr_storage from, dst;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
			    .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf)};
	ssize_t got = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_TRUNC);
	if (got < 0)
		return false;
	size_t len = (size_t)got < sizeof(buf) ? (size_t)got : sizeof(buf);
	memset(&dst, 0, sizeof(dst));
	if (!sinkhole_dest(&mh, &dst, 53))
		return true;
	struct sf_net_record *r = calloc(1, sizeof(*r));
	if (!r)
		return true;
	r->kind = SF_NET_UDP;
	r->proto = IPPROTO_UDP;
	r->time_ns = sinkhole_unix_ns();
	r->total = (uint64_t)got;
	sinkhole_endpoint(&r->client, &from);
	sinkhole_endpoint(&r->server, &dst);
	struct sf_dns_question q;
	if (dns && sf_dns_parse_query(buf, len, &q) == 0) {
		s->st.questions++;
		r->kind = SF_NET_DNS;
		r->dns_type = q.type;
		snprintf(r->dns_name, sizeof(r->dns_name), "%s", q.name);
		unsigned char out[1024];
		size_t n = sinkhole_dns_answer(s, buf, &q, r, out, sizeof(out));
		if (n)
			sinkhole_dns_send(fd, out, n, &from, mh.msg_namelen, &dst);
	} else {
		s->st.datagrams++;
		sf_sinkhole_name_of(s, r->server.family, r->server.addr, r->server_name,
				    sizeof(r->server_name));
		r->data = buf;
		r->len = len;
	}
	sinkhole_keep(s, r);
	free(r);
	return true;
}

/* ------------------------------------------------------------- serving */

/* The poll timeout: the nearest moment a connection must be decided on or
 * closed (-1: none). */
static int sinkhole_timeout(const struct sf_sinkhole *s, int64_t now)
{
	int64_t next = -1;
	for (int k = 0; k < SF_SINKHOLE_MAX_CONNS; k++) {
		const struct sinkhole_conn *c = s->conns[k];
		if (!c)
			continue;
		int64_t due = c->last_ms + (c->state == CONN_READING && c->rec.len
						? SINKHOLE_DECIDE_MS
						: SINKHOLE_IDLE_MS);
		if (next < 0 || due < next)
			next = due;
	}
	if (next < 0)
		return -1;
	return next <= now ? 0 : (int)(next - now);
}

/* Connections whose time is up: a pending request is answered with what
 * came, a silent connection is closed. */
static void sinkhole_timers(struct sf_sinkhole *s, int64_t now)
{
	for (int k = 0; k < SF_SINKHOLE_MAX_CONNS; k++) {
		struct sinkhole_conn *c = s->conns[k];
		if (!c)
			continue;
		if (c->state == CONN_READING && c->rec.len && now - c->last_ms >= SINKHOLE_DECIDE_MS)
			sinkhole_classify(c, true);
		else if (now - c->last_ms >= SINKHOLE_IDLE_MS)
			sinkhole_conn_end(s, k);
	}
}

static void sinkhole_conn_event(struct sf_sinkhole *s, int k, short rev)
{
	struct sinkhole_conn *c = s->conns[k];
	bool open = true;
	if (rev & (POLLIN | POLLHUP | POLLERR))
		open = sinkhole_read(c);
	sinkhole_classify(c, c->rec.len == SF_SINKHOLE_DATA_MAX || !open);
	if (!open)
		sinkhole_conn_end(s, k);
}

static void *sinkhole_thread(void *arg)
{
	struct sf_sinkhole *s = arg;
	struct pollfd p[1 + SK_N + SF_SINKHOLE_MAX_CONNS];
	int idx[SF_SINKHOLE_MAX_CONNS];
	for (;;) {
		int np = 0;
		p[np++] = (struct pollfd){.fd = s->stop_fd, .events = POLLIN};
		for (int i = 0; i < SK_N; i++)
			p[np++] = (struct pollfd){.fd = s->fd[i], .events = POLLIN};
		for (int k = 0; k < SF_SINKHOLE_MAX_CONNS; k++) {
			idx[k] = -1;
			if (s->conns[k]) {
				idx[k] = np;
				p[np++] = (struct pollfd){.fd = s->conns[k]->fd, .events = POLLIN};
			}
		}
		int rc = poll(p, (nfds_t)np, sinkhole_timeout(s, sinkhole_now_ms()));
		if (rc < 0 && errno != EINTR) {
			sf_warn("sinkhole: poll: %s", strerror(errno));
			break;
		}
		if (rc > 0 && p[0].revents)
			break;
		for (int k = 0; rc > 0 && k < SF_SINKHOLE_MAX_CONNS; k++)
			if (idx[k] >= 0 && p[idx[k]].revents)
				sinkhole_conn_event(s, k, p[idx[k]].revents);
		for (int i = 0; rc > 0 && i < SK_N; i++) {
			if (!(p[1 + i].revents & POLLIN))
				continue;
			if (i == SK_TCP4 || i == SK_TCP6)
				sinkhole_accept(s, s->fd[i]);
			else
				/* a burst of datagrams: at most 64 before the others get a turn */
				for (int d = 0; d < 64 && sinkhole_datagram(s, s->fd[i], i >= SK_DNS4); d++)
					;
		}
		sinkhole_timers(s, sinkhole_now_ms());
	}
	return NULL;
}

/* One socket on every address of family, port: stream or datagram,
 * transparent (tproxy's) or plain. */
static int sinkhole_socket(int family, int type, uint16_t port, bool transparent)
{
	int s = socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -errno;
	int one = 1, rc = 0;
	bool v6 = family == AF_INET6;
	int lvl = v6 ? SOL_IPV6 : SOL_IP;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (v6 && setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)
		rc = -errno;
	if (!rc && transparent &&
	    setsockopt(s, lvl, v6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, &one, sizeof(one)) != 0)
		rc = -errno;
	if (!rc && type == SOCK_DGRAM &&
	    setsockopt(s, lvl,
		       transparent ? (v6 ? IPV6_RECVORIGDSTADDR : IP_RECVORIGDSTADDR)
				   : (v6 ? IPV6_RECVPKTINFO : IP_PKTINFO),
		       &one, sizeof(one)) != 0)
		rc = -errno;
	struct sockaddr_storage a;
	memset(&a, 0, sizeof(a));
	socklen_t al;
	if (v6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		in6->sin6_addr = in6addr_any;
		al = sizeof(*in6);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&a;
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		in->sin_addr.s_addr = htonl(INADDR_ANY);
		al = sizeof(*in);
	}
	if (!rc && bind(s, (struct sockaddr *)&a, al) != 0)
		rc = -errno;
	if (!rc && type == SOCK_STREAM && listen(s, 128) != 0)
		rc = -errno;
	if (rc) {
		close(s);
		return rc;
	}
	return s;
}

int sf_sinkhole_open(struct sf_sinkhole **out, uint16_t port)
{
	*out = NULL;
	struct sf_sinkhole *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->names_lock, NULL);
	s->stop_fd = -1;
	for (int i = 0; i < SK_N; i++)
		s->fd[i] = -1;
	static const struct {
		int family, type;
		bool transparent, dns;
	} socks[SK_N] = {
	    [SK_TCP4] = {AF_INET, SOCK_STREAM, true, false},
	    [SK_TCP6] = {AF_INET6, SOCK_STREAM, true, false},
	    [SK_UDP4] = {AF_INET, SOCK_DGRAM, true, false},
	    [SK_UDP6] = {AF_INET6, SOCK_DGRAM, true, false},
	    [SK_DNS4] = {AF_INET, SOCK_DGRAM, false, true},
	    [SK_DNS6] = {AF_INET6, SOCK_DGRAM, false, true},
	};
	int rc = 0;
	for (int i = 0; rc == 0 && i < SK_N; i++) {
		int fd = sinkhole_socket(socks[i].family, socks[i].type, socks[i].dns ? 53 : port,
					 socks[i].transparent);
		if (fd < 0)
			rc = fd;
		else
			s->fd[i] = fd;
	}
	if (rc == 0 && (s->stop_fd = eventfd(0, EFD_CLOEXEC)) < 0)
		rc = -errno;
	if (rc) {
		sf_sinkhole_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int sf_sinkhole_start(struct sf_sinkhole *s)
{
	int rc = -pthread_create(&s->thread, NULL, sinkhole_thread, s);
	if (rc == 0)
		s->running = true;
	return rc;
}

void sf_sinkhole_stop(struct sf_sinkhole *s)
{
	if (!s || !s->running)
		return;
	uint64_t one = 1;
	if (write(s->stop_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		sf_warn("sinkhole: cannot wake it to stop");
	pthread_join(s->thread, NULL);
	s->running = false;
	/* what is still queued on the datagram sockets, then the open
	 * connections as they are */
	for (int i = SK_UDP4; i < SK_N; i++)
		for (int d = 0; d < 1024 && sinkhole_datagram(s, s->fd[i], i >= SK_DNS4); d++)
			;
	for (int k = 0; k < SF_SINKHOLE_MAX_CONNS; k++) {
		if (!s->conns[k])
			continue;
		if (sinkhole_read(s->conns[k]))
			sinkhole_classify(s->conns[k], true);
		sinkhole_conn_end(s, k);
	}
}

const struct sf_net_record *sf_sinkhole_records(const struct sf_sinkhole *s, size_t *n)
{
	*n = s->nrecs;
	return s->recs;
}

void sf_sinkhole_stats(const struct sf_sinkhole *s, struct sf_sinkhole_stats *st) { *st = s->st; }

void sf_sinkhole_free(struct sf_sinkhole *s)
{
	if (!s)
		return;
	sf_sinkhole_stop(s);
	for (int k = 0; k < SF_SINKHOLE_MAX_CONNS; k++)
		if (s->conns[k]) {
			close(s->conns[k]->fd);
			free(s->conns[k]);
		}
	for (int i = 0; i < SK_N; i++)
		if (s->fd[i] >= 0)
			close(s->fd[i]);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	for (size_t i = 0; i < s->nrecs; i++)
		free(s->recs[i].data);
	free(s->recs);
	for (size_t i = 0; i < s->nnames; i++)
		free(s->names[i]);
	pthread_mutex_destroy(&s->names_lock);
	free(s);
}
