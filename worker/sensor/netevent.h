/*
 * netevent — what the sandbox sent its sinkhole (a struct sf_net_record,
 * sinkhole.h) as the rule engine reads it and as the report keeps it:
 *
 *   event  evt.type "sinkhole", the connection's or datagram's ends in fd.*
 *          (fd.sip is the destination the sandbox chose, fd.sip.name the
 *          name the sinkhole resolved to it), evt.buffer a text-safe preview
 *          of the first bytes and evt.buflen how many were sent, and the
 *          scanfarm.net.kind, scanfarm.dns.type, scanfarm.http.*,
 *          scanfarm.tls.sni fields (event.h);
 *   facts  dns_query (name; type and answer), http_request (request line;
 *          Host and destination), tls_hello (server name; destination),
 *          tcp_data / udp_data (destination as connect facts write it,
 *          ip:port/proto; the name behind it, byte count and preview).
 *
 * Owns: nothing; the event points into the record and the scratch the
 * caller gives. Calls: netproto (preview, type names), event.
 */
#ifndef SF_NETEVENT_H
#define SF_NETEVENT_H

#include "event.h"
#include "sinkhole.h"

/* Room for a preview of SF_SINKHOLE_DATA_MAX bytes, every one escaped. */
#define SF_NETEVENT_PREVIEW (4 * SF_SINKHOLE_DATA_MAX + 1)

struct sf_netevent_scratch {
	char preview[SF_NETEVENT_PREVIEW];
	char request_line[1100];
	char fdname[160];
	char dest[200];	 /* "ip:port/proto (name)" */
	char addr[100]; /* "ip:port/proto", as the sensor's connect facts say it */
	char type[16];
	char detail[SF_NETEVENT_PREVIEW + 600];
};

/* The event of record r, done by proc (never NULL) in phase. */
void sf_netevent_build(const struct sf_net_record *r, const struct sf_proc *proc,
		       const char *phase, const char *container_id, const char *image,
		       struct sf_netevent_scratch *sc, struct sf_event *ev);

/* The facts of record r: fact(arg, kind, value, detail) for each. Call
 * after sf_netevent_build with the same scratch. */
void sf_netevent_facts(const struct sf_net_record *r, struct sf_netevent_scratch *sc,
		       void (*fact)(void *arg, const char *kind, const char *value,
				    const char *detail),
		       void *arg);

#endif
