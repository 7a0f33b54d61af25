/*
 * http — the coordinator's REST API on libmicrohttpd.
 *
 *   POST /monitor/project/npm      Package Hunter submit (body = tarball)
 *   GET  /?id=<uuid>               Package Hunter status + alerts
 *   GET  /v1/scans/<uuid>          full report (alerts + facts + install)
 *   GET  /v1/scans/<uuid>/alerts   its alerts, paged (limit, cursor, priority, rule)
 *   GET  /v1/artifacts/<sha256>    artifact bytes, for workers
 *   POST /v1/artifacts             store bytes without a scan (for batches)
 *   POST /v1/batches               batch submission (JSON, bulk.h)
 *   GET  /v1/batches/<uuid>        a batch: counts and its items, paged
 *   GET  /healthz                  liveness
 *   GET  /metrics                  Prometheus text: queue depth, dispatch/ingest counters
 *
 * Uploads are streamed: each body chunk goes straight to the artifact store
 * (store.h) while it is hashed; the reply is sent only after the bytes are
 * fsynced and the scan row committed. A connection that drops mid-upload
 * leaves nothing behind.
 *
 * Graceful shutdown: sf_http_quiesce stops accepting connections (new ones
 * are refused; a new request on a kept-alive connection gets 503) while
 * uploads in progress go on and are answered as usual; the caller waits
 * while sf_http_uploads says some are left, up to its deadline, then
 * sf_http_stop closes what is still open and those uploads are discarded.
 *
 * A batch's JSON body is the one body kept in memory, up to max_batch_bytes.
 *
 * Owns: the MHD daemon and per-request state. Calls: store, db, report,
 * bulk, resolve (stats), auth, jansson, log.
 */
#ifndef SF_HTTP_H
#define SF_HTTP_H

#include <stdatomic.h>

#include "db.h"
#include "dispatch.h"
#include "resolve.h"
#include "store.h"
#include "sweep.h"
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
	struct sf_resolve *resolve; /* package references of batches, or NULL */
	int max_batch_items;	    /* items of one POST /v1/batches */
	long long max_batch_bytes;  /* its JSON body */
	struct sf_sweep_stats *sweep_stats;	/* for /metrics, or NULL */
};

/* Upper bounds (seconds) of the request-duration histogram in /metrics. */
#define SF_HTTP_LATENCY_BOUNDS {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120}
#define SF_HTTP_LATENCY_BUCKETS 13

struct sf_http {
	struct MHD_Daemon *daemon;
	struct sf_http_config cfg;
	struct sf_store *store;
	struct sf_db_pool *pool;
	struct sf_dispatch_stats *stats; /* read-only here */
	unsigned short port; /* the bound port (useful with port 0) */
	atomic_ullong verdict_cache_hits;
	atomic_uint uploads;  /* in progress: first byte until answered or aborted */
	atomic_ullong upload_bytes; /* artifact bytes received */
	/* request durations, first call to answer (uploads: to completion) */
	atomic_ullong latency_buckets[SF_HTTP_LATENCY_BUCKETS];
	atomic_ullong latency_count;
	atomic_ullong latency_sum_us;
	atomic_bool draining; /* quiesced: refuse new requests */
	int listen_fd;	      /* ours to close once quiesced, else -1 */
};

int sf_http_start(struct sf_http *h, const struct sf_http_config *cfg, struct sf_store *store,
		  struct sf_db_pool *pool, struct sf_dispatch_stats *stats);
/* Stops accepting connections, keeps serving those open. 0, or -EINVAL
 * if the daemon cannot (the caller then just stops it). */
int sf_http_quiesce(struct sf_http *h);
/* Uploads in progress: from the first body byte until the answer is sent. */
unsigned sf_http_uploads(struct sf_http *h);
/* Closes every connection (uploads still in progress are discarded:
 * nothing stored, no row) and frees the daemon. */
void sf_http_stop(struct sf_http *h);

#endif
