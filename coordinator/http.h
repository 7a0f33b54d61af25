/*
 * http — the coordinator's REST API on libmicrohttpd.
 *
 *   POST /monitor/project/npm      Package Hunter submit (body = tarball)
 *   GET  /?id=<uuid>               Package Hunter status + alerts
 *   GET  /v1/scans/<uuid>          full report (alerts + facts + install)
 *   GET  /v1/artifacts/<sha256>    artifact bytes, for workers
 *   GET  /healthz                  liveness
 *   GET  /metrics                  Prometheus text: queue depth, dispatch/ingest counters
 *
 * Uploads are streamed: each body chunk goes straight to the artifact store
 * (store.h) while it is hashed; the reply is sent only after the bytes are
 * fsynced and the scan row committed. A connection that drops mid-upload
 * leaves nothing behind.
 *
 * Owns: the MHD daemon and per-request state. Calls: store, db, report,
 * jansson, log.
 */
#ifndef SF_HTTP_H
#define SF_HTTP_H

#include "db.h"
#include "dispatch.h"
#include "store.h"
#include "webhook.h"

struct sf_http_config {
	const char *address; /* "127.0.0.1:3000" */
	long long max_upload; /* bytes, 0 = unlimited */
	int idle_timeout_s;
	int max_connections;
	int max_attempts;
	int worker_live_s; /* a worker silent for longer is gone (verdict cache, /v1/workers) */
	bool auth;		   /* /v1 routes need an API token */
	bool auth_package_hunter;  /* …and so do Package Hunter's routes */
	const char *worker_secret; /* artifact downloads need it (NULL: open) */
	struct sf_webhook_stats *webhook_stats; /* for /metrics, or NULL */
};

struct sf_http {
	struct MHD_Daemon *daemon;
	struct sf_http_config cfg;
	struct sf_store *store;
	struct sf_db_pool *pool;
	struct sf_dispatch_stats *stats; /* read-only here */
	unsigned short port; /* the bound port (useful with port 0) */
	atomic_ullong verdict_cache_hits;
};

int sf_http_start(struct sf_http *h, const struct sf_http_config *cfg, struct sf_store *store,
		  struct sf_db_pool *pool, struct sf_dispatch_stats *stats);
void sf_http_stop(struct sf_http *h);

#endif
