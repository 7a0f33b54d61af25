/*
 * access — which request may go on: artifact downloads need the shared
 * worker secret (when one is configured); the /v1 routes need a live API
 * token with --auth on, and Package Hunter's routes too with
 * --auth-package-hunter 1; /healthz, /readyz and /metrics never need one.
 *
 * Owns: nothing. Calls: auth (tokens), secret, db (pool), reply,
 * libmicrohttpd.
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
};

/* Whether the request for url may go on; if not, its answer (401, or 503
 * when the token cannot be checked) is queued in *reply. */
bool sf_access_allowed(const struct sf_access_config *cfg, struct sf_db_pool *pool,
		       struct MHD_Connection *c, const char *url, enum MHD_Result *reply);

#endif
