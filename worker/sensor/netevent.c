/* netevent — see netevent.h. */
#include "netevent.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "netproto.h"

static void netevent_ep(char *buf, size_t len, const struct sf_endpoint *ep)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (ep->family == AF_INET || ep->family == AF_INET6)
		inet_ntop(ep->family, ep->addr, ip, sizeof(ip));
	snprintf(buf, len, ep->family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, (unsigned)ep->port);
}

static const char *netevent_kind(enum sf_net_kind k)
{
	switch (k) {
	case SF_NET_DNS:
		return "dns";
	case SF_NET_HTTP:
		return "http";
	case SF_NET_TLS:
		return "tls";
	case SF_NET_UDP:
		return "udp";
	case SF_NET_TCP:
		break;
	}
	return "tcp";
}

void sf_netevent_build(const struct sf_net_record *r, const struct sf_proc *proc,
		       const char *phase, const char *container_id, const char *image,
		       struct sf_netevent_scratch *sc, struct sf_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = "sinkhole";
	ev->time_ns = r->time_ns;
	ev->proc = proc;
	ev->phase = phase;
	ev->container_id = ev->container_name = container_id;
	ev->container_image = image;
	ev->fd_type = r->server.family == AF_INET6 ? SF_FD_IPV6 : SF_FD_IPV4;
	ev->l4proto = r->proto == IPPROTO_UDP ? "udp" : "tcp";
	ev->client = r->client;
	ev->server = r->server;
	char a[80], b[80];
	netevent_ep(a, sizeof(a), &r->client);
	netevent_ep(b, sizeof(b), &r->server);
	snprintf(sc->fdname, sizeof(sc->fdname), "%s->%s", a, b);
	snprintf(sc->addr, sizeof(sc->addr), "%s/%s", b, ev->l4proto);
	snprintf(sc->dest, sizeof(sc->dest), "%s%s%s%s", sc->addr, r->server_name[0] ? " (" : "",
		 r->server_name, r->server_name[0] ? ")" : "");
	ev->fd_name = sc->fdname;
	ev->sip_name = r->server_name[0] ? r->server_name : NULL;
	ev->net_kind = netevent_kind(r->kind);
	sc->preview[0] = '\0';
	if (r->kind == SF_NET_DNS) {
		ev->dns_name = r->dns_name;
		char unknown[16];
		snprintf(sc->type, sizeof(sc->type), "%s",
			 sf_dns_type_name(r->dns_type, unknown, sizeof(unknown)));
		ev->dns_type = sc->type;
		return;
	}
	sf_net_preview(r->data ? r->data : (const unsigned char *)"", r->data ? r->len : 0,
		       sc->preview, sizeof(sc->preview));
	ev->buffer = sc->preview;
	ev->buflen = (int64_t)r->total;
	if (r->kind == SF_NET_HTTP) {
		snprintf(sc->request_line, sizeof(sc->request_line), "%s %s %s", r->http_method,
			 r->http_target, r->http_version);
		ev->http_method = r->http_method;
		ev->http_uri = r->http_target;
		ev->http_host = r->http_host;
		ev->http_request_line = sc->request_line;
	} else if (r->kind == SF_NET_TLS) {
		ev->tls_sni = r->sni;
	}
}

void sf_netevent_facts(const struct sf_net_record *r, struct sf_netevent_scratch *sc,
		       void (*fact)(void *arg, const char *kind, const char *value,
				    const char *detail),
		       void *arg)
{
	if (r->kind == SF_NET_DNS) {
		snprintf(sc->detail, sizeof(sc->detail), "%s%s%s", sc->type,
			 r->dns_answer[0] ? " " : " (no answer)", r->dns_answer);
		fact(arg, "dns_query", r->dns_name, sc->detail);
		return;
	}
	if (r->kind == SF_NET_HTTP) {
		snprintf(sc->detail, sizeof(sc->detail), "host=%s dest=%s", r->http_host, sc->dest);
		fact(arg, "http_request", sc->request_line, sc->detail);
	} else if (r->kind == SF_NET_TLS) {
		snprintf(sc->detail, sizeof(sc->detail), "dest=%s", sc->dest);
		fact(arg, "tls_hello", r->sni[0] ? r->sni : "(no server name)", sc->detail);
	}
	bool cut = r->total > (uint64_t)r->len;
	snprintf(sc->detail, sizeof(sc->detail), "%s%s%s%llu bytes%s%s%s",
		 r->server_name[0] ? "name=" : "", r->server_name, r->server_name[0] ? " " : "",
		 (unsigned long long)r->total, r->len ? (cut ? ", first: " : ": ") : "", sc->preview,
		 r->total && !r->data ? " (not kept: over the sinkhole's data budget)" : "");
	fact(arg, r->proto == IPPROTO_UDP ? "udp_data" : "tcp_data", sc->addr, sc->detail);
}
