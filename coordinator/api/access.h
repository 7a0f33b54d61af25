/*
 * access — which request may go on: artifact downloads need the shared
 * worker secret (when one is configured); the /v1 routes need a live API
 * token with --auth on, and Package Hunter's routes too with
 * --auth-package-hunter 1; /healthz, /readyz and /metrics never need one.
 *
 * A submission with a token (POST of /v1/scans, /v1/batches and Package
 * Hunter's /monitor/project/…) takes one use of its quotas — submissions per
 * minute, announced bytes per day — and is answered 429 with Retry-After
 * when one is spent; a token with a byte quota must announce its body's
 * size (411 otherwise). Every use of a token is an audit log line: which
 * token, from which address, what it asked for, what it was told.
 *
 * Owns: nothing. Calls: auth (tokens, quotas), secret, db (pool), reply,
 * log, libmicrohttpd.
 */
#ifndef SF_ACCESS_H
#define SF_ACCESS_H

#include <microhttpd.h>
#include <stdbool.h>

#include "db.h"

struct sf_access_config {
	bool auth;		   /* /v1 routes need an API token */
	bool auth_package_hunter;  /* …and so do Package Hunter's routes */
	const char *worker_secret; /* artifact downloads need it (NULL: open) */
	/* quotas of tokens without their own (0: none) */
	int submissions_per_minute;
	long long bytes_per_day;
};

/* Whether the request for url may go on; if not, its answer (401, or 503
 * when the token cannot be checked) is queued in *reply. */
bool sf_access_allowed(const struct sf_access_config *cfg, struct sf_db_pool *pool,
		       struct MHD_Connection *c, const char *url, const char *method,
		       enum MHD_Result *reply);

#endif
