/* sockets — see sockets.h. */
#include "sockets.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define SOCKETS_SKEW_NS 1000000000LL

void sf_sockets_reset(struct sf_sockets *s)
{
	s->n = 0;
	s->dropped = 0;
	for (int i = 0; i < SF_SOCKETS_BUCKETS; i++)
		s->head[i] = -1;
}

/* The endpoint with an IPv4-mapped IPv6 address as the IPv4 one. */
static struct sf_endpoint sockets_plain(const struct sf_endpoint *e)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	struct sf_endpoint p = *e;
	if (p.family == AF_INET6 && memcmp(p.addr, mapped, 12) == 0) {
		p.family = AF_INET;
		memmove(p.addr, p.addr + 12, 4);
		memset(p.addr + 4, 0, 12);
	}
	return p;
}

static bool sockets_wildcard(const struct sf_endpoint *e)
{
	static const uint8_t zero[16];
	return e->family == 0 || memcmp(e->addr, zero, e->family == AF_INET ? 4 : 16) == 0;
}

void sf_sockets_note(struct sf_sockets *s, uint8_t proto, const struct sf_endpoint *local,
		     int32_t pid, int64_t time_ns)
{
	if (local->port == 0)
		return;
	if (s->n >= SF_SOCKETS_MAX) {
		s->dropped++;
		return;
	}
	struct sf_socket_note *n = &s->notes[s->n];
	*n = (struct sf_socket_note){.proto = proto, .local = sockets_plain(local), .pid = pid,
				     .time_ns = time_ns};
	unsigned b = local->port % SF_SOCKETS_BUCKETS;
	n->next = s->head[b];
	s->head[b] = (int32_t)s->n++;
}

int32_t sf_sockets_find(const struct sf_sockets *s, uint8_t proto,
			const struct sf_endpoint *local, int64_t time_ns)
{
	struct sf_endpoint want = sockets_plain(local);
	/* chains run newest first: the first fit is the latest */
	for (int32_t i = s->head[want.port % SF_SOCKETS_BUCKETS]; i >= 0; i = s->notes[i].next) {
		const struct sf_socket_note *n = &s->notes[i];
		if (n->proto != proto || n->local.port != want.port ||
		    n->time_ns > time_ns + SOCKETS_SKEW_NS)
			continue;
		if (sockets_wildcard(&n->local) || sockets_wildcard(&want) ||
		    (n->local.family == want.family &&
		     memcmp(n->local.addr, want.addr, want.family == AF_INET ? 4 : 16) == 0))
			return n->pid;
	}
	return 0;
}
