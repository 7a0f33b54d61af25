/*
 * sockets — which process a connection or datagram came from, by its
 * local end: the job's sockets as the sensor saw them connect or send
 * (their local address and port, read in the kernel), so that what the
 * sinkhole recorded at the other end (sinkhole.h) is attributed to the
 * process, its package and its phase like the sensor's own events.
 *
 * Filled by observe from connect and send events of one phase (the table
 * is emptied when the next begins), read when the phase has ended. A local
 * port may be reused within a phase: the latest socket noted at or before
 * the record began wins. At most SF_SOCKETS_MAX sockets a phase; later
 * ones are counted, not kept.
 *
 * Owns: the table. Calls: nothing. Used by one thread at a time.
 */
#ifndef SF_SOCKETS_H
#define SF_SOCKETS_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"

#define SF_SOCKETS_MAX 8192
#define SF_SOCKETS_BUCKETS 1024

struct sf_socket_note {
	uint8_t proto; /* IPPROTO_TCP, IPPROTO_UDP */
	struct sf_endpoint local;
	int32_t pid;
	int64_t time_ns;
	int32_t next; /* bucket chain, -1 ends it */
};

struct sf_sockets {
	struct sf_socket_note notes[SF_SOCKETS_MAX];
	int32_t head[SF_SOCKETS_BUCKETS];
	uint32_t n;
	uint64_t dropped; /* over SF_SOCKETS_MAX */
};

/* An empty table (also: empties it). */
void sf_sockets_reset(struct sf_sockets *s);

/* Process pid used a proto socket whose local end is *local at time_ns
 * (an IPv4-mapped IPv6 address counts as the IPv4 one). */
void sf_sockets_note(struct sf_sockets *s, uint8_t proto, const struct sf_endpoint *local,
		     int32_t pid, int64_t time_ns);

/* The process whose proto socket had local end *local at time_ns (the
 * latest noted no later than time_ns plus a second of clock skew; a
 * wildcard address matches any), or 0. */
int32_t sf_sockets_find(const struct sf_sockets *s, uint8_t proto,
			const struct sf_endpoint *local, int64_t time_ns);

#endif
