/* metrics — see metrics.h. */
#include "metrics.h"

#include <stdio.h>

#include "dispatch.h"
#include "guard.h"
#include "ingest.h"
#include "jobs.h"
#include "reply.h"
#include "resolve.h"
#include "sweep.h"
#include "util.h"
#include "webhook.h"
#include "workers.h"

void sf_metrics_observe(struct sf_metrics *m, int64_t us)
{
	static const double bounds[SF_METRICS_LATENCY_BUCKETS] = SF_METRICS_LATENCY_BOUNDS;
	for (int i = 0; i < SF_METRICS_LATENCY_BUCKETS; i++)
		if ((double)us <= bounds[i] * 1e6)
			atomic_fetch_add(&m->latency_buckets[i], 1); /* cumulative, as Prometheus wants */
	atomic_fetch_add(&m->latency_count, 1);
	atomic_fetch_add(&m->latency_sum_us, (unsigned long long)(us > 0 ? us : 0));
}

/* The queue by state and the workers by liveness, from PostgreSQL. */
static int metrics_queue(struct sf_buf *b, struct sf_db_pool *pool, int live_s)
{
	struct sf_jobs_counts jobs;
	long long live = 0, gone = 0;
	PGconn *db = sf_db_get(pool);
	bool have_jobs = sf_jobs_count_by_state(db, &jobs) == 0;
	bool have_workers = sf_workers_count(db, live_s, &live, &gone) == 0;
	sf_db_put(pool, db);
	int rc = sf_buf_appendf(b, "# HELP scanfarm_jobs Jobs in the queue by state.\n"
				   "# TYPE scanfarm_jobs gauge\n");
	if (have_jobs)
		rc |= sf_buf_appendf(b,
				     "scanfarm_jobs{state=\"dead\"} %lld\n"
				     "scanfarm_jobs{state=\"done\"} %lld\n"
				     "scanfarm_jobs{state=\"queued\"} %lld\n"
				     "scanfarm_jobs{state=\"running\"} %lld\n",
				     jobs.dead, jobs.done, jobs.queued, jobs.running);
	if (have_workers)
		rc |= sf_buf_appendf(b, "# HELP scanfarm_workers Workers by state (live: a heartbeat"
					" within worker-live seconds).\n# TYPE scanfarm_workers gauge\n"
					"scanfarm_workers{state=\"live\"} %lld\n"
					"scanfarm_workers{state=\"gone\"} %lld\n",
				     live, gone);
	return rc;
}

static int metrics_latency(struct sf_buf *b, struct sf_metrics *m)
{
	static const double bounds[SF_METRICS_LATENCY_BUCKETS] = SF_METRICS_LATENCY_BOUNDS;
	int rc = sf_buf_appendf(b, "# HELP scanfarm_http_request_duration_seconds HTTP requests,"
				   " first byte to answer (uploads: to completion).\n"
				   "# TYPE scanfarm_http_request_duration_seconds histogram\n");
	for (int i = 0; i < SF_METRICS_LATENCY_BUCKETS; i++)
		rc |= sf_buf_appendf(b,
				     "scanfarm_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
				     bounds[i], atomic_load(&m->latency_buckets[i]));
	unsigned long long count = atomic_load(&m->latency_count);
	rc |= sf_buf_appendf(b,
			     "scanfarm_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
			     "scanfarm_http_request_duration_seconds_sum %.6f\n"
			     "scanfarm_http_request_duration_seconds_count %llu\n",
			     count, (double)atomic_load(&m->latency_sum_us) / 1e6, count);
	return rc;
}

/* The counters of the API, the jobs channel and the results socket (a
 * message is malformed or unauthenticated on either). */
static int metrics_counters(struct sf_buf *b, struct sf_metrics *m)
{
	struct sf_dispatch_stats *d = m->src.dispatch;
	struct sf_ingest_stats *g = m->src.ingest;
	const struct {
		const char *name, *help;
		unsigned long long v;
	} counters[] = {
	    {"scanfarm_upload_bytes_total", "Artifact bytes received in uploads.",
	     atomic_load(&m->upload_bytes)},
	    {"scanfarm_jobs_dispatched_total", "Jobs sent to workers.", atomic_load(&d->dispatched)},
	    {"scanfarm_batches_stored_total", "Result batches stored.",
	     atomic_load(&g->batches_stored)},
	    {"scanfarm_batches_duplicate_total", "Result batches seen before and ignored.",
	     atomic_load(&g->batches_duplicate)},
	    {"scanfarm_batches_stale_total",
	     "Batches of superseded attempts or unknown jobs, discarded.",
	     atomic_load(&g->batches_stale)},
	    {"scanfarm_messages_malformed_total", "NNG messages that failed to decode, dropped.",
	     atomic_load(&d->messages_malformed) + atomic_load(&g->messages_malformed)},
	    {"scanfarm_worker_hellos_total", "Worker hello and heartbeat messages.",
	     atomic_load(&g->hellos)},
	    {"scanfarm_leases_expired_total", "Jobs whose lease expired.",
	     atomic_load(&d->leases_expired)},
	    {"scanfarm_dead_lettered_total", "Jobs dead-lettered after their last attempt.",
	     atomic_load(&d->dead_lettered)},
	    {"scanfarm_messages_unauthenticated_total",
	     "NNG messages without the worker secret, dropped.",
	     atomic_load(&d->messages_unauthenticated) + atomic_load(&g->messages_unauthenticated)},
	    {"scanfarm_job_requests_total", "Workers' requests for jobs.", atomic_load(&d->wants)},
	    {"scanfarm_jobs_lost_requeued_total",
	     "Jobs re-queued because their worker never got them or restarted.",
	     atomic_load(&d->lost_requeued)},
	    {"scanfarm_http_header_timeouts_total",
	     "API connections closed because a request's headers did not arrive in time.",
	     m->guard ? atomic_load(&m->guard->header_cuts) : 0},
	};
	int rc = 0;
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		rc |= sf_buf_appendf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n",
				     counters[i].name, counters[i].help, counters[i].name,
				     counters[i].name, counters[i].v);
	rc |= sf_buf_appendf(b,
			     "# HELP scanfarm_workers_waiting Workers waiting for a job now.\n"
			     "# TYPE scanfarm_workers_waiting gauge\nscanfarm_workers_waiting %d\n",
			     atomic_load(&d->waiting));
	rc |= sf_buf_appendf(b,
			     "# HELP scanfarm_verdict_cache_hits_total Submissions answered from the"
			     " verdict cache.\n# TYPE scanfarm_verdict_cache_hits_total counter\n"
			     "scanfarm_verdict_cache_hits_total %llu\n",
			     atomic_load(&m->verdict_cache_hits));
	rc |= sf_buf_appendf(b,
			     "# HELP scanfarm_http_connections API connections open now.\n"
			     "# TYPE scanfarm_http_connections gauge\nscanfarm_http_connections %llu\n",
			     m->guard ? atomic_load(&m->guard->open) : 0ULL);
	return rc;
}

/* The stages that may not run: the store sweep, the resolver, the webhook. */
static int metrics_stages(struct sf_buf *b, struct sf_metrics *m)
{
	int rc = 0;
	struct sf_sweep_stats *sw = m->src.sweep;
	if (sw)
		rc |= sf_buf_appendf(
		    b,
		    "# HELP scanfarm_sweep_deleted_total Files the store sweep deleted: objects"
		    " without an artifacts row, temporaries of crashed uploads.\n"
		    "# TYPE scanfarm_sweep_deleted_total counter\n"
		    "scanfarm_sweep_deleted_total{kind=\"orphan_object\"} %llu\n"
		    "scanfarm_sweep_deleted_total{kind=\"stale_temporary\"} %llu\n"
		    "# HELP scanfarm_sweep_runs_total Store sweep passes.\n"
		    "# TYPE scanfarm_sweep_runs_total counter\n"
		    "scanfarm_sweep_runs_total %llu\n",
		    atomic_load(&sw->objects_deleted), atomic_load(&sw->tmp_deleted),
		    atomic_load(&sw->runs));
	struct sf_resolve_stats *rs = m->src.resolve ? sf_resolve_stats(m->src.resolve) : NULL;
	if (rs)
		rc |= sf_buf_appendf(
		    b,
		    "# HELP scanfarm_resolve_total Package references handled, by outcome.\n"
		    "# TYPE scanfarm_resolve_total counter\n"
		    "scanfarm_resolve_total{outcome=\"fetched\"} %llu\n"
		    "scanfarm_resolve_total{outcome=\"known\"} %llu\n"
		    "scanfarm_resolve_total{outcome=\"failed\"} %llu\n"
		    "scanfarm_resolve_total{outcome=\"retried\"} %llu\n",
		    atomic_load(&rs->resolved), atomic_load(&rs->cached), atomic_load(&rs->failed),
		    atomic_load(&rs->retried));
	struct sf_webhook_stats *wh = m->src.webhook;
	if (wh)
		rc |= sf_buf_appendf(
		    b,
		    "# HELP scanfarm_webhook_alerts_total Alerts posted to the webhook, by outcome.\n"
		    "# TYPE scanfarm_webhook_alerts_total counter\n"
		    "scanfarm_webhook_alerts_total{outcome=\"sent\"} %llu\n"
		    "scanfarm_webhook_alerts_total{outcome=\"failed\"} %llu\n"
		    "scanfarm_webhook_alerts_total{outcome=\"dropped\"} %llu\n",
		    atomic_load(&wh->sent), atomic_load(&wh->failed), atomic_load(&wh->dropped));
	return rc;
}

enum MHD_Result sf_metrics_reply(struct sf_metrics *m, struct sf_db_pool *pool,
				 struct MHD_Connection *c)
{
	struct sf_buf b = {0};
	int rc = metrics_queue(&b, pool, m->src.worker_live_s);
	rc |= metrics_latency(&b, m);
	rc |= metrics_counters(&b, m);
	rc |= metrics_stages(&b, m);
	if (rc) {
		sf_buf_free(&b);
		return MHD_NO;
	}
	return sf_reply_send(c, MHD_HTTP_OK, "text/plain; version=0.0.4", b.data, b.len);
}
