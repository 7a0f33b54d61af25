/*
 * sinkhole — the sandbox's stand-in for the Internet, inside the network
 * namespace the worker makes for the install and import phases (netns.h;
 * netpolicy.h sends it every connection and datagram). Nothing it is sent
 * goes anywhere; everything is recorded:
 *
 *   DNS   every question is answered: A and AAAA (and ANY) with an address
 *         of the sinkhole's own, one per name (198.18.0.0/15, RFC 2544's
 *         benchmarking range, and the same in 64:ff9b::/96), so a later
 *         connection names the host it was for; cloud metadata host names
 *         with the real metadata addresses, which the namespace makes
 *         unreachable; other types NOERROR without data.
 *   TCP   every connection to any address and port is accepted and its
 *         first SF_SINKHOLE_DATA_MAX bytes kept. An HTTP request is
 *         answered 200 with a harmless body (SF_SINKHOLE_BODY: a shell
 *         script that is as harmless read as JavaScript or Python), so a
 *         downloader goes on and runs its stage 2 where the sensor sees it;
 *         a TLS ClientHello's server name is kept and the handshake ended
 *         with an alert; anything else is listened to and never answered.
 *   UDP   every datagram is kept (its first bytes), never answered.
 *
 * The records (struct sf_net_record) are read after sf_sinkhole_stop; the
 * parsing of the sandbox's bytes is netproto's (fuzzed).
 *
 * Bounds: SF_SINKHOLE_MAX_CONNS connections at once (more are accepted and
 * closed, counted), SF_SINKHOLE_MAX_RECORDS records and SF_SINKHOLE_DATA_BUDGET
 * bytes of kept data per sinkhole (more is counted, not kept),
 * SF_SINKHOLE_MAX_NAMES names with addresses of their own (later names
 * share one).
 *
 * Threads: sf_sinkhole_open runs in the namespace (its sockets are made
 * there and keep it); one serving thread from sf_sinkhole_start to
 * sf_sinkhole_stop; sf_sinkhole_name_of may be called from any thread.
 *
 * Owns: its sockets, the serving thread, the records and their data.
 * Calls: netproto, libc, pthreads, log.
 */
#ifndef SF_SINKHOLE_H
#define SF_SINKHOLE_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "netproto.h"

#define SF_SINKHOLE_PORT 1 /* the transparent sockets' port (privileged: no sandbox user binds it) */
#define SF_SINKHOLE_DATA_MAX 4096
#define SF_SINKHOLE_MAX_CONNS 128
#define SF_SINKHOLE_MAX_RECORDS 1024
#define SF_SINKHOLE_DATA_BUDGET (256u << 10)
#define SF_SINKHOLE_MAX_NAMES 4096
#define SF_SINKHOLE_BODY "#!/bin/sh\n"

enum sf_net_kind {
	SF_NET_DNS = 1, /* a DNS question (UDP, port 53) */
	SF_NET_TCP,	/* a TCP connection neither HTTP nor TLS */
	SF_NET_HTTP,	/* a TCP connection that sent an HTTP request */
	SF_NET_TLS,	/* a TCP connection that sent a TLS ClientHello */
	SF_NET_UDP,	/* a datagram (not a DNS question) */
};

/* What the sandbox sent one connection, datagram or question. */
struct sf_net_record {
	enum sf_net_kind kind;
	int64_t time_ns;	    /* unix time it began */
	uint8_t proto;		    /* IPPROTO_TCP or IPPROTO_UDP */
	struct sf_endpoint client;  /* the sandbox's end */
	struct sf_endpoint server;  /* the destination it chose */
	char server_name[SF_DNS_NAME_MAX]; /* the name the sinkhole gave that address, "" */
	/* SF_NET_DNS */
	char dns_name[SF_DNS_NAME_MAX];
	uint16_t dns_type;
	char dns_answer[64]; /* the address answered, "" when none */
	/* SF_NET_HTTP: request line and Host */
	char http_method[24], http_target[1024], http_version[16], http_host[256];
	/* SF_NET_TLS: the server name asked for, "" when none */
	char sni[256];
	/* the first bytes (NULL when the data budget was spent), and how many
	 * were sent in all */
	unsigned char *data;
	size_t len;
	uint64_t total;
};

struct sf_sinkhole_stats {
	uint64_t connections, datagrams, questions;
	uint64_t records_dropped; /* over SF_SINKHOLE_MAX_RECORDS */
	uint64_t data_dropped;	  /* bytes not kept: over the budget */
	uint64_t conns_refused;	  /* over SF_SINKHOLE_MAX_CONNS (accepted, closed) */
};

struct sf_sinkhole;

/* Makes the sockets in the calling thread's network namespace: TCP and
 * UDP on port (transparent, every address) and DNS on port 53. */
int sf_sinkhole_open(struct sf_sinkhole **out, uint16_t port);
/* Starts serving them on a thread of its own. */
int sf_sinkhole_start(struct sf_sinkhole *s);
/* Stops serving; connections still open are recorded as they are. */
void sf_sinkhole_stop(struct sf_sinkhole *s);
/* The records, in the order they ended (valid until sf_sinkhole_free). */
const struct sf_net_record *sf_sinkhole_records(const struct sf_sinkhole *s, size_t *n);
void sf_sinkhole_stats(const struct sf_sinkhole *s, struct sf_sinkhole_stats *st);
/* The name whose question the sinkhole answered with (family, addr), into
 * name; 0, or -ENOENT when the address is none it gave out. Thread-safe. */
int sf_sinkhole_name_of(struct sf_sinkhole *s, int family, const uint8_t *addr, char *name,
			size_t len);
/* Stops it if needed and frees everything. NULL ok. */
void sf_sinkhole_free(struct sf_sinkhole *s);

#endif
