/*
 * query — a request's query arguments, read into the parameters of the
 * route that answers it, or refused with a code and a message (400).
 *
 * libmicrohttpd hands the arguments over already split and %-decoded, in
 * the order they came, as (key, value) pairs with their lengths (a value
 * is NULL when the key had no '='). sf_query_parse takes exactly that and
 * nothing else — no connection, no database — so the fuzz target
 * (tests/fuzz/query_fuzz.c) reaches the same code a request does;
 * sf_query_read is the thin adapter the routes call.
 *
 * The rules, the same for every route:
 *   - a key the route does not take: 400 unknown_parameter on /v1 routes
 *     (a misspelt `prority` must not be dropped silently); Package
 *     Hunter's routes ignore it, as Package Hunter did; the probes
 *     (/healthz, /readyz, /metrics) ignore every argument
 *   - a key given twice: 400 repeated_parameter (which one would count?)
 *   - numbers are plain decimal within their range (a huge one is out of
 *     range, never wrapped); text is printable UTF-8 (no control
 *     characters, no NUL from %00) within its bound; an empty text value
 *     is the value absent; an empty number, status, network, priority or
 *     rescan is refused
 *   - more than SF_QUERY_MAX_ARGS arguments: 400
 * Errors about a value say which parameter and what it must be, with the
 * code bad_request.
 *
 * Owns: nothing (the result is a plain struct of copies). Calls: util,
 * report (Falco priority names), libmicrohttpd (sf_query_read only).
 */
#ifndef SF_QUERY_H
#define SF_QUERY_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define SF_QUERY_MAX_ARGS 32

/* Which route's parameters to read. */
enum sf_query_route {
	SF_QUERY_NONE,	       /* a /v1 route that takes none: any key refused */
	SF_QUERY_IGNORED,      /* the probes: arguments ignored */
	SF_QUERY_PH_REPORT,    /* GET /?id= */
	SF_QUERY_PH_SUBMIT,    /* POST /monitor/project/<eco>: name version labels network rescan */
	SF_QUERY_SCAN_SUBMIT,  /* POST /v1/scans: the same, ecosystem, priority */
	SF_QUERY_SCAN_LIST,    /* GET /v1/scans: status artifact limit cursor */
	SF_QUERY_ALERTS,       /* GET /v1/scans/<id>/alerts: limit cursor priority rule */
	SF_QUERY_BATCH_SUBMIT, /* POST /v1/batches (NDJSON): priority labels rescan network */
	SF_QUERY_BATCH_VIEW,   /* GET /v1/batches/<id>: limit cursor */
	SF_QUERY_ROUTES	       /* how many */
};

/* One argument as libmicrohttpd delivers it (borrowed). */
struct sf_query_arg {
	const char *key;
	size_t key_len;
	const char *value; /* NULL: "?key" without '=' (read as "") */
	size_t value_len;
};

/* The parameters of every route; each route fills the ones it takes and
 * leaves the rest at their defaults. `given` has bit (1 << SF_QP_x) for
 * each parameter that was present. */
enum sf_query_param {
	SF_QP_ID,
	SF_QP_ECOSYSTEM,
	SF_QP_PRIORITY,
	SF_QP_NAME,
	SF_QP_VERSION,
	SF_QP_LABELS,
	SF_QP_NETWORK,
	SF_QP_RESCAN,
	SF_QP_STATUS,
	SF_QP_ARTIFACT,
	SF_QP_LIMIT,
	SF_QP_CURSOR,
	SF_QP_MIN_PRIORITY, /* "priority" of the alerts' listing: a Falco priority */
	SF_QP_RULE,
	SF_QP_COUNT
};

struct sf_query {
	unsigned given;
	char id[SF_UUID_LEN + 1]; /* "": absent or not a scan id (the route answers 404) */
	char ecosystem[16];	  /* default "npm" */
	int priority;		  /* a submission's: -1000…1000, default 0 */
	char name[256];		  /* "": none */
	char version[128];
	char labels[2048]; /* "key=value,label" as given (POST /v1/scans: at most 511 bytes) */
	char network[16];  /* "sinkhole", "offline" or "" (the worker's default) */
	bool rescan;	   /* 1/true, 0/false */
	char status[16];   /* "": any */
	char artifact[SF_SHA256_HEX + 1];
	int limit;	  /* the route's default when absent */
	char cursor[128]; /* valid only with SF_QP_CURSOR given ("" is a cursor, refused later) */
	int min_rank;	  /* sf_priority_rank of the alerts' priority, -1: all */
	char rule[512];	  /* "": every rule */
};

struct sf_query_error {
	char code[32];	   /* bad_request, unknown_parameter, repeated_parameter */
	char message[200];
};

/* Reads args[0..n) for route into *out: 0, or -EINVAL with *err filled. */
int sf_query_parse(enum sf_query_route route, const struct sf_query_arg *args, size_t n,
		   struct sf_query *out, struct sf_query_error *err);

/* The same for a connection's arguments. */
int sf_query_read(struct MHD_Connection *c, enum sf_query_route route, struct sf_query *out,
		  struct sf_query_error *err);

#endif
