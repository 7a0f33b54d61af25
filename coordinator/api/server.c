/* http — see http.h. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "bulk.h"
#include "log.h"
#include "report.h"

/* State of one upload, allocated on the first call for a submission. */
struct http_request {
	struct sf_upload up;
	bool uploading;
	bool rescan; /* ?rescan=1: bypass the verdict cache */
	bool answered; /* an error response was queued mid-upload */
	bool v1;       /* POST /v1/scans: answer in the /v1 shape */
	bool artifact; /* POST|PUT /v1/artifacts: store the bytes, no scan */
	bool bulk;     /* POST /v1/batches: a JSON body, kept in memory (bounded) */
	struct sf_buf body; /* the JSON body so far */
	bool overflow;	    /* …went past max_batch_bytes: answered 413 at the end */
	long long dropped;  /* bytes received after that */
	char ecosystem[16];
	int priority;
	char name[256], version[128], labels[512];
	int64_t started_us; /* first call: the request's duration runs from here */
};

static int64_t http_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Counts one request's duration in the /metrics histogram. */
static void http_observe(struct sf_http *h, int64_t us)
{
	static const double bounds[SF_HTTP_LATENCY_BUCKETS] = SF_HTTP_LATENCY_BOUNDS;
	for (int i = 0; i < SF_HTTP_LATENCY_BUCKETS; i++)
		if ((double)us <= bounds[i] * 1e6)
			atomic_fetch_add(&h->latency_buckets[i], 1); /* cumulative, as Prometheus wants */
	atomic_fetch_add(&h->latency_count, 1);
	atomic_fetch_add(&h->latency_sum_us, (unsigned long long)(us > 0 ? us : 0));
}

/* Queues a response that takes ownership of the malloc'd body. */
static enum MHD_Result http_send(struct MHD_Connection *c, unsigned status, const char *type,
				 char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result http_send_json(struct MHD_Connection *c, unsigned status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!text)
		return MHD_NO;
	return http_send(c, status, "application/json", text, strlen(text));
}

/* Errors are JSON with a stable code and a message (Package Hunter clients
 * read `status`/`reason`, so those are present too). */
static enum MHD_Result http_error(struct MHD_Connection *c, unsigned status, const char *code,
				  const char *message)
{
	return http_send_json(c, status,
			      json_pack("{s:s,s:s,s:{s:s,s:s}}", "status", "error", "reason",
					message, "error", "code", code, "message", message));
}

static enum MHD_Result http_store_error(struct MHD_Connection *c, int rc)
{
	if (rc == -ENOSPC || rc == -EDQUOT)
		return http_error(c, 507, "insufficient_storage",
				  "the artifact store is full; nothing was stored");
	if (rc == -EFBIG)
		return http_error(c, 413, "too_large", "the upload exceeds the configured limit");
	return http_error(c, 500, "store_failed", strerror(-rc));
}

/* Copies an optional query argument, refusing one that does not fit or
 * holds control characters. */
static bool http_arg(struct MHD_Connection *c, const char *key, char *out, size_t len)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
	out[0] = 0;
	if (!v)
		return true;
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return sf_strlcpy(out, v, len) == 0 && strlen(v) < len;
}

static enum MHD_Result http_submit_start(struct sf_http *h, struct MHD_Connection *c,
					 const char *ecosystem, bool v1, void **con_cls)
{
	if (!ecosystem || strcmp(ecosystem, "npm") != 0)
		return http_error(c, 400, "unsupported_ecosystem",
				  "only npm projects and packages can be scanned");
	/* /v1 submissions may say what they are and how urgent they are
	 * (CI before nightly bulk): priority -1000 … 1000, higher first. */
	int priority = 0;
	const char *prio = v1 ? MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "priority")
			      : NULL;
	if (prio) {
		char *end = NULL;
		long p = strtol(prio, &end, 10);
		if (!*prio || *end || p < -1000 || p > 1000)
			return http_error(c, 400, "bad_request", "priority must be -1000 to 1000");
		priority = (int)p;
	}
	char name[256], version[128], labels[512];
	if (!http_arg(c, "name", name, sizeof(name)) ||
	    !http_arg(c, "version", version, sizeof(version)) ||
	    !http_arg(c, "labels", labels, sizeof(labels)))
		return http_error(c, 400, "bad_request",
				  "name, version or labels too long or not printable");
	const char *len = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
	if (len && h->cfg.max_upload > 0 && strtoll(len, NULL, 10) > h->cfg.max_upload)
		return http_error(c, 413, "too_large", "the upload exceeds the configured limit");
	struct http_request *req = calloc(1, sizeof(*req));
	if (!req)
		return MHD_NO;
	sf_strlcpy(req->ecosystem, ecosystem, sizeof(req->ecosystem));
	req->v1 = v1;
	req->priority = priority;
	memcpy(req->name, name, sizeof(name));
	memcpy(req->version, version, sizeof(version));
	memcpy(req->labels, labels, sizeof(labels));
	const char *rescan = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "rescan");
	req->rescan = rescan && (!strcmp(rescan, "1") || !strcmp(rescan, "true"));
	int rc = sf_upload_begin(h->store, h->cfg.max_upload, &req->up);
	if (rc) {
		free(req);
		return http_store_error(c, rc);
	}
	req->uploading = true;
	*con_cls = req;
	atomic_fetch_add(&h->uploads, 1); /* until http_completed */
	return MHD_YES;
}

static enum MHD_Result http_submit_finish(struct sf_http *h, struct MHD_Connection *c,
					  struct http_request *req)
{
	char sha[SF_SHA256_HEX + 1], scan_id[SF_UUID_LEN + 1];
	long long size = 0;
	req->uploading = false;
	int rc = sf_upload_commit(&req->up, sha, &size);
	if (rc)
		return http_store_error(c, rc);
	if (size == 0)
		return http_error(c, 400, "empty_body", "the request body (a tarball) is empty");
	struct sf_submission sub = {.sha256 = sha,
				    .size = size,
				    .ecosystem = req->ecosystem,
				    .priority = req->priority,
				    .max_attempts = h->cfg.max_attempts,
				    .name = req->name[0] ? req->name : NULL,
				    .version = req->version[0] ? req->version : NULL,
				    .labels = req->labels};
	PGconn *db = sf_db_get(h->pool);
	bool cached = false;
	/* The verdict cache: the same bytes, scanned to the end by the rules
	 * and sandbox image a live worker runs now, are answered at once. A
	 * lookup failure only costs a rescan. */
	if (!req->rescan &&
	    sf_db_cached_verdict(db, sha, h->cfg.worker_live_s, scan_id, &cached) != 0)
		cached = false;
	rc = cached ? 0 : sf_db_submit(db, &sub, scan_id);
	sf_db_put(h->pool, db);
	if (rc)
		return http_error(c, 503, "database_unavailable",
				  "the scan could not be recorded; please retry");
	if (cached) {
		atomic_fetch_add(&h->verdict_cache_hits, 1);
		sf_info("artifact %s answered from the verdict cache: scan %s", sha, scan_id);
		return http_send_json(c, 200, json_pack("{s:s,s:s,s:b}", "status",
							req->v1 ? "finished" : "ok", "id", scan_id,
							"cached", 1));
	}
	sf_info("scan %s queued: artifact %s (%lld bytes, priority %d)", scan_id, sha, size,
		req->priority);
	if (req->v1)
		return http_send_json(c, 201, json_pack("{s:s,s:s,s:b,s:s}", "status", "queued", "id",
							scan_id, "cached", 0, "artifact", sha));
	return http_send_json(c, 200, json_pack("{s:s,s:s}", "status", "ok", "id", scan_id));
}

static enum MHD_Result http_get_report(struct sf_http *h, struct MHD_Connection *c,
				       const char *id, bool package_hunter)
{
	if (!id || !sf_is_uuid(id))
		return http_error(c, 404, "not_found", "no scan with that id");
	json_t *out = NULL;
	PGconn *db = sf_db_get(h->pool);
	int rc = package_hunter ? sf_report_package_hunter(db, id, &out)
				: sf_report_v1(db, id, &out);
	sf_db_put(h->pool, db);
	if (rc == -ENOENT)
		return http_error(c, 404, "not_found", "no scan with that id");
	if (rc)
		return http_error(c, 503, "database_unavailable", "please retry");
	return http_send_json(c, 200, out);
}

static enum MHD_Result http_get_artifact(struct sf_http *h, struct MHD_Connection *c,
					 const char *sha)
{
	int fd;
	long long size;
	if (sf_store_open_artifact(h->store, sha, &fd, &size) != 0)
		return http_error(c, 404, "not_found", "no artifact with that sha256");
	struct MHD_Response *r = MHD_create_response_from_fd64((uint64_t)size, fd);
	if (!r) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/octet-stream");
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* Prometheus text exposition: queue depth by state from PostgreSQL (shared
 * by all coordinators) and this coordinator's own counters. */
static enum MHD_Result http_metrics(struct sf_http *h, struct MHD_Connection *c)
{
	struct sf_buf b = {0};
	int rc = 0;
	PGconn *db = sf_db_get(h->pool);
	PGresult *r = PQexec(db, "SELECT s.state, count(j.id) FROM"
				 " unnest(ARRAY['queued','running','done','dead']) AS s(state)"
				 " LEFT JOIN jobs j ON j.state = s.state GROUP BY s.state ORDER BY 1");
	rc |= sf_buf_appendf(&b, "# HELP scanfarm_jobs Jobs in the queue by state.\n"
				 "# TYPE scanfarm_jobs gauge\n");
	for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++)
		rc |= sf_buf_appendf(&b, "scanfarm_jobs{state=\"%s\"} %s\n", PQgetvalue(r, i, 0),
				     PQgetvalue(r, i, 1));
	PQclear(r);
	char live[16];
	snprintf(live, sizeof(live), "%d", h->cfg.worker_live_s);
	const char *lp[] = {live};
	r = PQexecParams(db, "SELECT count(*) FILTER (WHERE last_seen >= now() - make_interval(secs => $1::int)),"
			     " count(*) FILTER (WHERE last_seen < now() - make_interval(secs => $1::int))"
			     " FROM workers", 1, NULL, lp, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		rc |= sf_buf_appendf(&b, "# HELP scanfarm_workers Workers by state (live: a heartbeat"
					 " within worker-live seconds).\n# TYPE scanfarm_workers gauge\n"
					 "scanfarm_workers{state=\"live\"} %s\n"
					 "scanfarm_workers{state=\"gone\"} %s\n",
				     PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
	PQclear(r);
	sf_db_put(h->pool, db);
	static const double bounds[SF_HTTP_LATENCY_BUCKETS] = SF_HTTP_LATENCY_BOUNDS;
	rc |= sf_buf_appendf(&b, "# HELP scanfarm_http_request_duration_seconds HTTP requests, first"
				 " byte to answer (uploads: to completion).\n"
				 "# TYPE scanfarm_http_request_duration_seconds histogram\n");
	for (int i = 0; i < SF_HTTP_LATENCY_BUCKETS; i++)
		rc |= sf_buf_appendf(&b, "scanfarm_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
				     bounds[i], atomic_load(&h->latency_buckets[i]));
	unsigned long long count = atomic_load(&h->latency_count);
	rc |= sf_buf_appendf(&b,
			     "scanfarm_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
			     "scanfarm_http_request_duration_seconds_sum %.6f\n"
			     "scanfarm_http_request_duration_seconds_count %llu\n",
			     count, (double)atomic_load(&h->latency_sum_us) / 1e6, count);
	const struct {
		const char *name, *help;
		atomic_ullong *v;
	} counters[] = {
	    {"scanfarm_upload_bytes_total", "Artifact bytes received in uploads.", &h->upload_bytes},
	    {"scanfarm_jobs_dispatched_total", "Jobs sent to workers.", &h->stats->dispatched},
	    {"scanfarm_batches_stored_total", "Result batches stored.", &h->stats->batches_stored},
	    {"scanfarm_batches_duplicate_total", "Result batches seen before and ignored.",
	     &h->stats->batches_duplicate},
	    {"scanfarm_batches_stale_total", "Batches of superseded attempts or unknown jobs, discarded.",
	     &h->stats->batches_stale},
	    {"scanfarm_messages_malformed_total", "NNG messages that failed to decode, dropped.",
	     &h->stats->messages_malformed},
	    {"scanfarm_worker_hellos_total", "Worker hello and heartbeat messages.", &h->stats->hellos},
	    {"scanfarm_leases_expired_total", "Jobs whose lease expired.", &h->stats->leases_expired},
	    {"scanfarm_dead_lettered_total", "Jobs dead-lettered after their last attempt.",
	     &h->stats->dead_lettered},
	    {"scanfarm_messages_unauthenticated_total",
	     "NNG messages without the worker secret, dropped.", &h->stats->messages_unauthenticated},
	    {"scanfarm_job_requests_total", "Workers' requests for jobs.", &h->stats->wants},
	    {"scanfarm_jobs_lost_requeued_total",
	     "Jobs re-queued because their worker never got them or restarted.",
	     &h->stats->lost_requeued},
	};
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		rc |= sf_buf_appendf(&b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n",
				     counters[i].name, counters[i].help, counters[i].name,
				     counters[i].name, atomic_load(counters[i].v));
	rc |= sf_buf_appendf(&b,
			     "# HELP scanfarm_workers_waiting Workers waiting for a job now.\n"
			     "# TYPE scanfarm_workers_waiting gauge\nscanfarm_workers_waiting %d\n",
			     atomic_load(&h->stats->waiting));
	rc |= sf_buf_appendf(&b,
			     "# HELP scanfarm_verdict_cache_hits_total Submissions answered from the"
			     " verdict cache.\n# TYPE scanfarm_verdict_cache_hits_total counter\n"
			     "scanfarm_verdict_cache_hits_total %llu\n",
			     atomic_load(&h->verdict_cache_hits));
	if (h->cfg.sweep_stats)
		rc |= sf_buf_appendf(
		    &b,
		    "# HELP scanfarm_sweep_deleted_total Files the store sweep deleted: objects"
		    " without an artifacts row, temporaries of crashed uploads.\n"
		    "# TYPE scanfarm_sweep_deleted_total counter\n"
		    "scanfarm_sweep_deleted_total{kind=\"orphan_object\"} %llu\n"
		    "scanfarm_sweep_deleted_total{kind=\"stale_temporary\"} %llu\n"
		    "# HELP scanfarm_sweep_runs_total Store sweep passes.\n"
		    "# TYPE scanfarm_sweep_runs_total counter\n"
		    "scanfarm_sweep_runs_total %llu\n",
		    atomic_load(&h->cfg.sweep_stats->objects_deleted),
		    atomic_load(&h->cfg.sweep_stats->tmp_deleted),
		    atomic_load(&h->cfg.sweep_stats->runs));
	struct sf_resolve_stats *rs = h->cfg.resolve ? sf_resolve_stats(h->cfg.resolve) : NULL;
	if (rs)
		rc |= sf_buf_appendf(
		    &b,
		    "# HELP scanfarm_resolve_total Package references handled, by outcome.\n"
		    "# TYPE scanfarm_resolve_total counter\n"
		    "scanfarm_resolve_total{outcome=\"fetched\"} %llu\n"
		    "scanfarm_resolve_total{outcome=\"known\"} %llu\n"
		    "scanfarm_resolve_total{outcome=\"failed\"} %llu\n"
		    "scanfarm_resolve_total{outcome=\"retried\"} %llu\n",
		    atomic_load(&rs->resolved), atomic_load(&rs->cached), atomic_load(&rs->failed),
		    atomic_load(&rs->retried));
	if (h->cfg.webhook_stats)
		rc |= sf_buf_appendf(
		    &b,
		    "# HELP scanfarm_webhook_alerts_total Alerts posted to the webhook, by outcome.\n"
		    "# TYPE scanfarm_webhook_alerts_total counter\n"
		    "scanfarm_webhook_alerts_total{outcome=\"sent\"} %llu\n"
		    "scanfarm_webhook_alerts_total{outcome=\"failed\"} %llu\n"
		    "scanfarm_webhook_alerts_total{outcome=\"dropped\"} %llu\n",
		    atomic_load(&h->cfg.webhook_stats->sent), atomic_load(&h->cfg.webhook_stats->failed),
		    atomic_load(&h->cfg.webhook_stats->dropped));
	if (rc) {
		sf_buf_free(&b);
		return MHD_NO;
	}
	return http_send(c, MHD_HTTP_OK, "text/plain; version=0.0.4", b.data, b.len);
}

/* Answers a paged listing: its page, or what the lister's rc means
 * (-ENOENT: not_found, when the listing belongs to something; -EINVAL: a
 * bad cursor; anything else: the database). */
static enum MHD_Result http_page_reply(struct MHD_Connection *c, int rc, json_t *out,
				       const char *not_found)
{
	if (rc == -ENOENT && not_found)
		return http_error(c, 404, "not_found", not_found);
	if (rc == -EINVAL)
		return http_error(c, 400, "bad_request", "malformed cursor");
	if (rc)
		return http_error(c, 503, "database_unavailable", "please retry");
	return http_send_json(c, 200, out);
}

/* Reads limit (1…max, default def) and cursor; false with an error queued. */
static bool http_paging(struct MHD_Connection *c, int def, int max, int *limit,
			const char **cursor, enum MHD_Result *reply)
{
	const char *limit_s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
	*cursor = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cursor");
	char *end = NULL;
	long l = limit_s ? strtol(limit_s, &end, 10) : def;
	if (limit_s && (!*limit_s || *end || l < 1 || l > max)) {
		char m[64];
		snprintf(m, sizeof(m), "limit must be 1 to %d", max);
		*reply = http_error(c, 400, "bad_request", m);
		return false;
	}
	*limit = (int)l;
	return true;
}

/* GET /v1/scans?status=&artifact=&limit=&cursor= */
static enum MHD_Result http_list(struct sf_http *h, struct MHD_Connection *c)
{
	const char *status = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "status");
	const char *artifact = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "artifact");
	int limit;
	const char *cursor;
	enum MHD_Result reply;
	if (!http_paging(c, 50, 500, &limit, &cursor, &reply))
		return reply;
	static const char *const statuses[] = {"queued", "running", "finished", "failed"};
	bool known = !status;
	for (size_t i = 0; status && i < 4; i++)
		known |= strcmp(status, statuses[i]) == 0;
	if (!known)
		return http_error(c, 400, "bad_request",
				  "status must be queued, running, finished or failed");
	if (artifact && (strlen(artifact) != SF_SHA256_HEX || !sf_is_hex(artifact, SF_SHA256_HEX)))
		return http_error(c, 400, "bad_request", "artifact must be a sha256 in hex");
	json_t *out = NULL;
	PGconn *db = sf_db_get(h->pool);
	int rc = sf_report_list(db, status, artifact, limit, cursor, &out);
	sf_db_put(h->pool, db);
	return http_page_reply(c, rc, out, NULL);
}

/* POST /v1/scans/<id>/cancel */
static enum MHD_Result http_cancel(struct sf_http *h, struct MHD_Connection *c, const char *url_id)
{
	char id[SF_UUID_LEN + 1];
	sf_strlcpy(id, url_id, sizeof(id));
	if (!sf_is_uuid(id))
		return http_error(c, 404, "not_found", "no scan with that id");
	PGconn *db = sf_db_get(h->pool);
	int rc = sf_db_cancel(db, id);
	sf_db_put(h->pool, db);
	if (rc == -ENOENT)
		return http_error(c, 404, "not_found", "no scan with that id");
	if (rc == -EALREADY)
		return http_error(c, 409, "already_ended", "the scan has already ended");
	if (rc)
		return http_error(c, 503, "database_unavailable", "please retry");
	sf_info("scan %s cancelled", id);
	return http_send_json(c, 200, json_pack("{s:s,s:s}", "status", "cancelled", "id", id));
}

/* GET /v1/workers: the pool as the workers' heartbeats describe it. */
static enum MHD_Result http_workers(struct sf_http *h, struct MHD_Connection *c)
{
	char live[16];
	snprintf(live, sizeof(live), "%d", h->cfg.worker_live_s);
	const char *p[] = {live};
	PGconn *db = sf_db_get(h->pool);
	PGresult *r = PQexecParams(
	    db,
	    "SELECT id, coalesce(version, ''), capacity, running, coalesce(sensor, ''),"
	    " coalesce(ruleset_digest, ''), coalesce(image_digest, ''),"
	    " to_char(first_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	    " to_char(last_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	    " last_seen > now() - make_interval(secs => $1::int)"
	    " FROM workers ORDER BY id",
	    1, NULL, p, NULL, NULL, 0);
	json_t *list = json_array();
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && list;
	for (int i = 0; ok && i < PQntuples(r); i++)
		json_array_append_new(
		    list, json_pack("{s:s,s:s,s:i,s:i,s:s,s:s,s:s,s:s,s:s,s:s}", "id",
				    PQgetvalue(r, i, 0), "version", PQgetvalue(r, i, 1), "capacity",
				    atoi(PQgetvalue(r, i, 2)), "running", atoi(PQgetvalue(r, i, 3)),
				    "sensor", PQgetvalue(r, i, 4), "ruleset_digest",
				    PQgetvalue(r, i, 5), "image_digest", PQgetvalue(r, i, 6),
				    "first_seen", PQgetvalue(r, i, 7), "last_seen",
				    PQgetvalue(r, i, 8), "state",
				    PQgetvalue(r, i, 9)[0] == 't' ? "live" : "gone"));
	PQclear(r);
	sf_db_put(h->pool, db);
	if (!ok) {
		json_decref(list);
		return http_error(c, 503, "database_unavailable", "please retry");
	}
	return http_send_json(c, 200, json_pack("{s:o}", "workers", list));
}

/* GET /readyz: ready to take submissions — the database answers and the
 * artifact store is writable. /healthz only says the process is up. */
static enum MHD_Result http_readyz(struct sf_http *h, struct MHD_Connection *c)
{
	PGconn *db = sf_db_get(h->pool);
	int rc = sf_db_exec(db, "SELECT 1");
	sf_db_put(h->pool, db);
	if (rc)
		return http_error(c, 503, "database_unavailable", "PostgreSQL does not answer");
	if (sf_store_writable(h->store) != 0)
		return http_error(c, 503, "store_unavailable", "the artifact store is not writable");
	return http_send_json(c, 200, json_pack("{s:s}", "status", "ready"));
}

/* POST|PUT /v1/artifacts: the bytes go to the store exactly as a scan
 * submission's do (streamed, hashed, fsynced), but no scan is created;
 * the answer names them by sha256 for a later POST /v1/batches. */
static enum MHD_Result http_artifact_start(struct sf_http *h, struct MHD_Connection *c,
					   void **con_cls)
{
	const char *len = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
	if (len && h->cfg.max_upload > 0 && strtoll(len, NULL, 10) > h->cfg.max_upload)
		return http_error(c, 413, "too_large", "the upload exceeds the configured limit");
	struct http_request *req = calloc(1, sizeof(*req));
	if (!req)
		return MHD_NO;
	req->artifact = true;
	int rc = sf_upload_begin(h->store, h->cfg.max_upload, &req->up);
	if (rc) {
		free(req);
		return http_store_error(c, rc);
	}
	req->uploading = true;
	*con_cls = req;
	atomic_fetch_add(&h->uploads, 1); /* until http_completed */
	return MHD_YES;
}

static enum MHD_Result http_artifact_finish(struct sf_http *h, struct MHD_Connection *c,
					    struct http_request *req)
{
	char sha[SF_SHA256_HEX + 1];
	long long size = 0;
	req->uploading = false;
	int rc = sf_upload_commit(&req->up, sha, &size);
	if (rc)
		return http_store_error(c, rc);
	if (size == 0)
		return http_error(c, 400, "empty_body", "the request body (a tarball) is empty");
	bool created = false;
	PGconn *db = sf_db_get(h->pool);
	rc = sf_bulk_artifact_record(db, sha, size, &created);
	sf_db_put(h->pool, db);
	if (rc)
		return http_error(c, 503, "database_unavailable",
				  "the artifact could not be recorded; please retry");
	sf_info("artifact %s stored (%lld bytes%s)", sha, size, created ? "" : ", known");
	return http_send_json(c, created ? 201 : 200,
			      json_pack("{s:s,s:s,s:I,s:b}", "status", "stored", "sha256", sha, "size",
					(json_int_t)size, "created", created));
}

/* POST /v1/batches: the body is a JSON document of bounded size. */
static enum MHD_Result http_bulk_start(struct sf_http *h, struct MHD_Connection *c,
				       void **con_cls)
{
	const char *len = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
	if (len && strtoll(len, NULL, 10) > h->cfg.max_batch_bytes)
		return http_error(c, 413, "too_large", "the batch exceeds --max-batch-bytes");
	struct http_request *req = calloc(1, sizeof(*req));
	if (!req)
		return MHD_NO;
	req->bulk = true;
	*con_cls = req;
	atomic_fetch_add(&h->uploads, 1); /* until http_completed */
	return MHD_YES;
}

static enum MHD_Result http_bulk_finish(struct sf_http *h, struct MHD_Connection *c,
					struct http_request *req)
{
	if (req->overflow)
		return http_error(c, 413, "too_large", "the batch exceeds --max-batch-bytes");
	if (req->body.len == 0)
		return http_error(c, 400, "empty_body", "the request body (a JSON batch) is empty");
	struct sf_bulk_config bc = {.max_items = h->cfg.max_batch_items,
				    .max_attempts = h->cfg.max_attempts,
				    .worker_live_s = h->cfg.worker_live_s,
				    .store = h->store,
				    .resolve = h->cfg.resolve};
	json_t *out = NULL;
	unsigned hits = 0;
	char msg[256] = "";
	PGconn *db = sf_db_get(h->pool);
	int rc = sf_bulk_submit(db, &bc, req->body.data, req->body.len, &out, &hits, msg,
				sizeof(msg));
	sf_db_put(h->pool, db);
	sf_buf_free(&req->body);
	if (rc == -EINVAL)
		return http_error(c, 400, "bad_request", msg);
	if (rc == -E2BIG)
		return http_error(c, 413, "too_many_items", msg);
	if (rc == -ENOMEM)
		return MHD_NO;
	if (rc)
		return http_error(c, 503, "database_unavailable",
				  "the batch could not be recorded; please retry");
	atomic_fetch_add(&h->verdict_cache_hits, hits);
	char location[64];
	snprintf(location, sizeof(location), "/v1/batches/%s",
		 json_string_value(json_object_get(out, "id")));
	char *text = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	if (!text)
		return MHD_NO;
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Location", location);
	enum MHD_Result ret = MHD_queue_response(c, 202, r);
	MHD_destroy_response(r);
	return ret;
}


/* GET /v1/batches/<id>?limit=&cursor= */
static enum MHD_Result http_bulk_view(struct sf_http *h, struct MHD_Connection *c, const char *id)
{
	if (!sf_is_uuid(id))
		return http_error(c, 404, "not_found", "no batch with that id");
	int limit;
	const char *cursor;
	enum MHD_Result reply;
	if (!http_paging(c, 100, 1000, &limit, &cursor, &reply))
		return reply;
	json_t *out = NULL;
	PGconn *db = sf_db_get(h->pool);
	int rc = sf_bulk_view(db, id, limit, cursor, &out);
	sf_db_put(h->pool, db);
	return http_page_reply(c, rc, out, "no batch with that id");
}

/* GET /v1/scans/<id>/alerts?limit=&cursor=&priority=&rule= */
static enum MHD_Result http_alerts(struct sf_http *h, struct MHD_Connection *c, const char *url_id)
{
	char id[SF_UUID_LEN + 1];
	sf_strlcpy(id, url_id, sizeof(id));
	if (!sf_is_uuid(id))
		return http_error(c, 404, "not_found", "no scan with that id");
	int limit, rank = -1;
	const char *cursor;
	enum MHD_Result reply;
	if (!http_paging(c, 100, 1000, &limit, &cursor, &reply))
		return reply;
	const char *prio = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "priority");
	if (prio && (rank = sf_priority_rank(prio)) < 0)
		return http_error(c, 400, "bad_request",
				  "priority must be a Falco priority: emergency, alert, critical,"
				  " error, warning, notice, informational or debug");
	char rule[512];
	if (!http_arg(c, "rule", rule, sizeof(rule)))
		return http_error(c, 400, "bad_request", "rule too long or not printable");
	json_t *out = NULL;
	PGconn *db = sf_db_get(h->pool);
	int rc = sf_report_alerts_page(db, id, rank, rule[0] ? rule : NULL, limit, cursor, &out);
	sf_db_put(h->pool, db);
	return http_page_reply(c, rc, out, "no scan with that id");
}

/*
 * Whether the request may go on. A route that needs an API token gets 401
 * without a live one (the reply is queued in *reply and false returned);
 * /healthz, /readyz and /metrics never need one.
 */
static bool http_allowed(struct sf_http *h, struct MHD_Connection *c, const char *url,
			 enum MHD_Result *reply)
{
	const char *header = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	if (strncmp(url, "/v1/artifacts/", 14) == 0) {
		/* workers only: the shared worker secret */
		if (!h->cfg.worker_secret ||
		    sf_auth_secret_equal(sf_auth_bearer(header), h->cfg.worker_secret))
			return true;
		*reply = http_error(c, 401, "unauthorized", "artifact downloads need the worker secret");
		return false;
	}
	bool v1 = strncmp(url, "/v1/", 4) == 0;
	bool ph = strcmp(url, "/") == 0 || strncmp(url, "/monitor/", 9) == 0;
	if (!((v1 && h->cfg.auth) || (ph && h->cfg.auth_package_hunter)))
		return true;
	bool ok = false;
	PGconn *db = sf_db_get(h->pool);
	int rc = sf_auth_check_bearer(db, header, &ok);
	sf_db_put(h->pool, db);
	if (rc) {
		*reply = http_error(c, 503, "database_unavailable", "cannot check the token; retry");
		return false;
	}
	if (!ok) {
		*reply = http_error(c, 401, "unauthorized",
				    "an API token is required: Authorization: Bearer <token>");
		return false;
	}
	return true;
}

/* A new request while the coordinator drains for shutdown (it came on a
 * connection kept alive from before): 503, and the connection is closed. */
static enum MHD_Result http_shutting_down(struct MHD_Connection *c)
{
	json_t *body = json_pack("{s:s,s:s,s:{s:s,s:s}}", "status", "error", "reason",
				 "the coordinator is shutting down; retry", "error", "code",
				 "shutting_down", "message", "the coordinator is shutting down; retry");
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!text)
		return MHD_NO;
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_SERVICE_UNAVAILABLE, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result http_route(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	(void)version;
	struct sf_http *h = cls;
	struct http_request *req = *con_cls;

	if (req) { /* a body chunk, or the end of a body */
		if (*upload_data_size > 0) {
			size_t n = *upload_data_size;
			*upload_data_size = 0;
			if (req->answered)
				return MHD_YES;
			if (req->bulk) { /* JSON: kept in memory up to the bound */
				if (req->overflow || (long long)(req->body.len + n) > h->cfg.max_batch_bytes) {
					/* MHD queues an answer only once the request is read:
					 * drop the rest and answer 413 then, or cut off a body
					 * that goes on past twice the bound. */
					sf_buf_free(&req->body);
					req->overflow = true;
					req->dropped += (long long)n;
					return req->dropped > h->cfg.max_batch_bytes ? MHD_NO : MHD_YES;
				}
				return sf_buf_append(&req->body, upload_data, n) == 0 ? MHD_YES : MHD_NO;
			}
			int rc = sf_upload_write(&req->up, upload_data, n);
			if (rc == 0)
				atomic_fetch_add(&h->upload_bytes, n);
			if (rc) {
				sf_upload_abort(&req->up);
				req->uploading = false;
				req->answered = true;
				sf_warn("upload refused: %s", strerror(-rc));
				return http_store_error(c, rc);
			}
			return MHD_YES;
		}
		if (req->answered)
			return MHD_YES;
		if (req->bulk)
			return http_bulk_finish(h, c, req);
		if (req->artifact)
			return http_artifact_finish(h, c, req);
		return http_submit_finish(h, c, req);
	}

	if (atomic_load(&h->draining))
		return http_shutting_down(c);
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	bool post = strcmp(method, "POST") == 0;
	enum MHD_Result denied;
	if (!http_allowed(h, c, url, &denied))
		return denied;
	if (strncmp(url, "/monitor/project/", 17) == 0) {
		if (!post)
			return http_error(c, 405, "method_not_allowed", "use POST");
		return http_submit_start(h, c, url + 17, false, con_cls);
	}
	if (strcmp(url, "/") == 0) {
		if (!get)
			return http_error(c, 405, "method_not_allowed", "use GET");
		return http_get_report(h, c, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "id"),
				       true);
	}
	if (strcmp(url, "/v1/scans") == 0 || strcmp(url, "/v1/scans/") == 0) {
		if (post) {
			const char *eco =
			    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "ecosystem");
			return http_submit_start(h, c, eco ? eco : "npm", true, con_cls);
		}
		if (!get)
			return http_error(c, 405, "method_not_allowed", "use GET or POST");
		return http_list(h, c);
	}
	if (strncmp(url, "/v1/scans/", 10) == 0 && strlen(url) == 10 + SF_UUID_LEN + 7 &&
	    strcmp(url + 10 + SF_UUID_LEN, "/cancel") == 0) {
		if (!post)
			return http_error(c, 405, "method_not_allowed", "use POST");
		return http_cancel(h, c, url + 10);
	}
	if (strncmp(url, "/v1/scans/", 10) == 0 && strlen(url) == 10 + SF_UUID_LEN + 7 &&
	    strcmp(url + 10 + SF_UUID_LEN, "/alerts") == 0) {
		if (!get)
			return http_error(c, 405, "method_not_allowed", "use GET");
		return http_alerts(h, c, url + 10);
	}
	if (strncmp(url, "/v1/scans/", 10) == 0) {
		if (!get)
			return http_error(c, 405, "method_not_allowed", "use GET");
		return http_get_report(h, c, url + 10, false);
	}
	if (strcmp(url, "/v1/batches") == 0 || strcmp(url, "/v1/batches/") == 0) {
		if (!post)
			return http_error(c, 405, "method_not_allowed", "use POST");
		return http_bulk_start(h, c, con_cls);
	}
	if (strncmp(url, "/v1/batches/", 12) == 0) {
		if (!get)
			return http_error(c, 405, "method_not_allowed", "use GET");
		return http_bulk_view(h, c, url + 12);
	}
	if (strcmp(url, "/v1/artifacts") == 0) {
		if (!post && strcmp(method, "PUT") != 0)
			return http_error(c, 405, "method_not_allowed", "use POST or PUT");
		return http_artifact_start(h, c, con_cls);
	}
	if (strncmp(url, "/v1/artifacts/", 14) == 0) {
		if (!get)
			return http_error(c, 405, "method_not_allowed", "use GET");
		return http_get_artifact(h, c, url + 14);
	}
	if (strcmp(url, "/metrics") == 0 && get)
		return http_metrics(h, c);
	if (strcmp(url, "/v1/workers") == 0 && get)
		return http_workers(h, c);
	if (strcmp(url, "/readyz") == 0 && get)
		return http_readyz(h, c);
	if (strcmp(url, "/healthz") == 0)
		return http_send_json(c, 200, json_pack("{s:s}", "status", "ok"));
	return http_error(c, 404, "not_found", "no such route");
}

/* Times every request: one answered in its first call is counted here;
 * one that keeps state (a body) from this first call to its completion. */
static enum MHD_Result http_handle(void *cls, struct MHD_Connection *c, const char *url,
				   const char *method, const char *version,
				   const char *upload_data, size_t *upload_data_size,
				   void **con_cls)
{
	bool first = *con_cls == NULL;
	int64_t t0 = first ? http_now_us() : 0;
	enum MHD_Result rc =
	    http_route(cls, c, url, method, version, upload_data, upload_data_size, con_cls);
	if (first) {
		struct http_request *req = *con_cls;
		if (req)
			req->started_us = t0;
		else
			http_observe(cls, http_now_us() - t0);
	}
	return rc;
}

static void http_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			   enum MHD_RequestTerminationCode toe)
{
	struct sf_http *h = cls;
	(void)c;
	struct http_request *req = *con_cls;
	if (!req)
		return;
	if (req->started_us)
		http_observe(h, http_now_us() - req->started_us);
	if (req->uploading) {
		/* The client went away or timed out mid-upload: keep nothing. */
		sf_warn("upload aborted (termination code %d); nothing stored", (int)toe);
		sf_upload_abort(&req->up);
	}
	sf_buf_free(&req->body);
	free(req);
	*con_cls = NULL;
	atomic_fetch_sub(&h->uploads, 1);
}

int sf_http_start(struct sf_http *h, const struct sf_http_config *cfg, struct sf_store *store,
		  struct sf_db_pool *pool, struct sf_dispatch_stats *stats)
{
	memset(h, 0, sizeof(*h));
	h->stats = stats;
	h->cfg = *cfg;
	h->store = store;
	h->pool = pool;
	h->listen_fd = -1;

	struct sockaddr_in sa = {.sin_family = AF_INET};
	char host[64];
	const char *colon = strrchr(cfg->address, ':');
	if (!colon || (size_t)(colon - cfg->address) >= sizeof(host))
		return -EINVAL;
	memcpy(host, cfg->address, (size_t)(colon - cfg->address));
	host[colon - cfg->address] = '\0';
	long port = strtol(colon + 1, NULL, 10);
	if (port < 0 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -EINVAL;
	sa.sin_port = htons((uint16_t)port);

	h->daemon = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG |
		MHD_USE_ITC, /* for MHD_quiesce_daemon */
	    0, NULL, NULL, http_handle, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_NOTIFY_COMPLETED, http_completed, h, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)cfg->idle_timeout_s, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)cfg->max_connections, MHD_OPTION_END);
	if (!h->daemon)
		return -EADDRINUSE;
	const union MHD_DaemonInfo *info =
	    MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : (unsigned short)port;
	return 0;
}

int sf_http_quiesce(struct sf_http *h)
{
	if (!h->daemon)
		return -EINVAL;
	atomic_store(&h->draining, true);
	MHD_socket fd = MHD_quiesce_daemon(h->daemon);
	if (fd == MHD_INVALID_SOCKET)
		return -EINVAL;
	h->listen_fd = fd;
	/* MHD no longer accepts; shutting the listening socket down makes the
	 * kernel refuse new connections (and reset any in its backlog) instead
	 * of queueing them unanswered. It is closed after MHD_stop_daemon: the
	 * daemon's thread may still hold the descriptor until then. */
	if (shutdown(fd, SHUT_RDWR) != 0)
		sf_warn("http: shutdown of the listening socket: %s", strerror(errno));
	return 0;
}

unsigned sf_http_uploads(struct sf_http *h)
{
	return atomic_load(&h->uploads);
}

void sf_http_stop(struct sf_http *h)
{
	if (h->daemon) {
		atomic_store(&h->draining, true);
		/* Closes open connections; their uploads end in http_completed,
		 * which discards them. */
		MHD_stop_daemon(h->daemon);
	}
	h->daemon = NULL;
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	h->listen_fd = -1;
}
