/*
 * routes — the REST API's route table and the routes without a body:
 *
 *   POST /monitor/project/npm      Package Hunter submit (body = tarball)
 *   GET  /?id=<uuid>               Package Hunter status + alerts
 *   POST /v1/scans                 submit (body = tarball; ?priority, name, …)
 *   GET  /v1/scans                 the list, paged (status, artifact)
 *   GET  /v1/scans/<uuid>          full report (alerts + facts + install)
 *   GET  /v1/scans/<uuid>/alerts   its alerts, paged (limit, cursor, priority, rule)
 *   POST /v1/scans/<uuid>/cancel   cancel a queued or running scan
 *   POST /v1/batches               batch submission (JSON, bulk.h)
 *   GET  /v1/batches/<uuid>        a batch: counts and its items, paged
 *   POST /v1/artifacts             store bytes without a scan (for batches)
 *   GET  /v1/artifacts/<sha256>    artifact bytes, for workers
 *   GET  /v1/workers               the workers, as their heartbeats describe them
 *   GET  /metrics                  Prometheus text (metrics.h)
 *   GET  /readyz                   ready: the database answers, the store is writable
 *   GET  /healthz                  liveness
 *
 * A route answers the methods it lists; other methods get 405 with what to
 * use (the probes' routes: 404). Each handler names the parameters its
 * query may hold; they are read and checked by query.h before it runs.
 * Routes with a body hand over to upload.h.
 *
 * Owns: nothing. Calls: query (the query), upload (bodies), metrics, reply, report, bulk (a
 * batch's view), jobs (cancel), workers (the list), db (pool, readiness),
 * store, util, log, libmicrohttpd, jansson.
 */
#ifndef SF_ROUTES_H
#define SF_ROUTES_H

#include <microhttpd.h>

#include "db.h"
#include "metrics.h"
#include "query.h"
#include "store.h"
#include "upload.h"

/* What the routes reach (borrowed). */
struct sf_routes {
	struct sf_store *store;
	struct sf_db_pool *pool;
	struct sf_api_uploads *uploads;
	struct sf_metrics *metrics;
	int worker_live_s; /* /v1/workers: a worker silent for longer is gone */
};

/* Which route would answer (no connection, no database: the fuzz targets'
 * way in): 0 (a handler; *rest: where the handler's part of url starts,
 * *query: the parameters its query may hold), 404 or 405. */
int sf_routes_lookup(const char *url, const char *method, size_t *rest,
		     enum sf_query_route *query);
/* Answers the first call of a request (its access already granted): its
 * query is read first (query.h; 400 when refused); a route with a body
 * sets *con_cls (upload.h). */
enum MHD_Result sf_routes_answer(struct sf_routes *r, struct MHD_Connection *c, const char *url,
				 const char *method, void **con_cls);

#endif
