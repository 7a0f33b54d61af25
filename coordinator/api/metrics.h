/*
 * metrics — GET /metrics, Prometheus text exposition: the queue depth by
 * state and the workers by liveness (from PostgreSQL, shared by every
 * coordinator of the database), the request-duration histogram and the
 * upload and verdict-cache counters the API keeps, and the counters of the
 * stages this coordinator runs (dispatch, ingest, sweep, resolver, webhook).
 *
 * Owns: the API's own counters. Calls: jobs and workers (the counts), db
 * (pool), dispatch, ingest, sweep, resolve and webhook (their stats), reply,
 * util, libmicrohttpd.
 */
#ifndef SF_METRICS_H
#define SF_METRICS_H

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdint.h>

#include "db.h"

/* Upper bounds (seconds) of the request-duration histogram. */
#define SF_METRICS_LATENCY_BOUNDS {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120}
#define SF_METRICS_LATENCY_BUCKETS 13

/* The stages whose counters /metrics shows (borrowed; NULL: not running). */
struct sf_metrics_sources {
	struct sf_dispatch_stats *dispatch;
	struct sf_ingest_stats *ingest;
	struct sf_sweep_stats *sweep;
	struct sf_resolve *resolve;
	struct sf_webhook_stats *webhook;
	int worker_live_s; /* a worker silent for longer counts as gone */
};

struct sf_guard;

struct sf_metrics {
	struct sf_metrics_sources src;
	const struct sf_guard *guard; /* the API's connections (server.c), or NULL */
	atomic_ullong verdict_cache_hits;
	atomic_ullong upload_bytes; /* artifact bytes received */
	/* request durations, first call to answer (uploads: to completion) */
	atomic_ullong latency_buckets[SF_METRICS_LATENCY_BUCKETS];
	atomic_ullong latency_count;
	atomic_ullong latency_sum_us;
};

/* Counts one request's duration (microseconds) in the histogram. */
void sf_metrics_observe(struct sf_metrics *m, int64_t us);
/* Answers GET /metrics. */
enum MHD_Result sf_metrics_reply(struct sf_metrics *m, struct sf_db_pool *pool,
				 struct MHD_Connection *c);

#endif
