/* jobs — see jobs.h. */
#include "jobs.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"

/* ------------------------------------------------------------- created */

int sf_jobs_create(PGconn *conn, const char *const *scan_ids, size_t n, int priority,
		   int max_attempts, const char *network)
{
	if (n == 0)
		return 0;
	struct sf_buf ids = {0};
	int rc = sf_buf_append(&ids, "{", 1);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = sf_buf_appendf(&ids, "%s%s", i ? "," : "", scan_ids[i]);
	if (rc == 0)
		rc = sf_buf_append(&ids, "}", 1);
	if (rc) {
		sf_buf_free(&ids);
		return rc;
	}
	char prio[16], attempts[16];
	snprintf(prio, sizeof(prio), "%d", priority);
	snprintf(attempts, sizeof(attempts), "%d", max_attempts);
	const char *p[] = {ids.data, prio, attempts, network};
	if ((rc = sf_db_run(conn, "jobs",
			    "INSERT INTO jobs (scan_id, priority, max_attempts, network)"
			    " SELECT u.id, $2, $3, $4 FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n)"
			    " ORDER BY u.n",
			    4, p, NULL)) == 0)
		rc = sf_db_run(conn, "notify", "SELECT pg_notify('scanfarm_jobs', '')", 0, NULL, NULL);
	sf_buf_free(&ids);
	return rc;
}

/* ------------------------------------------------- claimed, re-queued */

int sf_jobs_claim_slots(PGconn *conn, int lease_s, const struct sf_slot *slots, int nslots,
		      struct sf_claim *claims, int *n)
{
	*n = 0;
	json_t *arr = json_array();
	for (int i = 0; arr && i < nslots; i++) {
		json_t *slot = json_pack("[s?,o]", slots[i].worker_id,
					 slots[i].token ? json_integer(slots[i].token) : json_null());
		if (!slot || json_array_append_new(arr, slot)) {
			json_decref(arr);
			arr = NULL;
		}
	}
	char *text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
	json_decref(arr);
	if (!text)
		return -ENOMEM;
	char lease[16];
	snprintf(lease, sizeof(lease), "%d", lease_s);
	const char *p[] = {lease, text};
	/* One statement claims the jobs of every waiting request at once: a
	 * queue's claim cost is mostly the statement (planning, walking the
	 * ready index), not the rows. The n-th most urgent job goes to the n-th
	 * slot, and slots come in the requests' order. */
	static const char sql[] =
	    "WITH slots AS ("
	    "  SELECT s.v->>0 AS worker, (s.v->>1)::bigint AS token, s.n"
	    "  FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS s(v, n)),"
	    " next AS ("
	    "  SELECT id, row_number() OVER (ORDER BY priority DESC, id) AS n FROM ("
	    "   SELECT id, priority FROM jobs WHERE state = 'queued' AND run_after <= now()"
	    "   ORDER BY priority DESC, id FOR UPDATE SKIP LOCKED"
	    "   LIMIT (SELECT count(*) FROM slots)) q),"
	    " claimed AS ("
	    "  UPDATE jobs j SET state = 'running', updated_at = now(),"
	    "    lease_until = now() + make_interval(secs => $1::int),"
	    "    worker_id = coalesce(slots.worker, j.worker_id), lease_token = slots.token"
	    "  FROM next JOIN slots ON slots.n = next.n WHERE j.id = next.id"
	    "  RETURNING j.id, j.attempt, j.scan_id, j.lease_until, j.priority, j.lease_token,"
	    "   j.network),"
	    " touched AS ("
	    "  UPDATE scans s SET status = 'running' FROM claimed WHERE s.id = claimed.scan_id"
	    "  RETURNING s.id, s.artifact_sha256, s.ecosystem)"
	    " SELECT c.id, c.attempt, c.scan_id, t.artifact_sha256, a.size, t.ecosystem,"
	    "  (extract(epoch FROM c.lease_until) * 1000)::bigint, coalesce(c.lease_token, 0),"
	    "  coalesce(c.network, ''), coalesce(k.kind, '')"
	    " FROM claimed c JOIN touched t ON t.id = c.scan_id"
	    " JOIN artifacts a ON a.sha256 = t.artifact_sha256"
	    " LEFT JOIN artifact_kinds k ON k.sha256 = t.artifact_sha256"
	    "  AND k.ecosystem = t.ecosystem"
	    " ORDER BY c.priority DESC, c.id";
	PGresult *r = sf_db_prepared(conn, "sf_claim", sql, 2, p);
	free(text);
	int rc = sf_db_result_ok(conn, r, "claim");
	for (int i = 0; rc == 0 && i < PQntuples(r) && i < nslots; i++) {
		struct sf_claim *c = &claims[i];
		c->job_id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		c->attempt = (int32_t)strtol(PQgetvalue(r, i, 1), NULL, 10);
		sf_strlcpy(c->scan_id, PQgetvalue(r, i, 2), sizeof(c->scan_id));
		sf_strlcpy(c->sha256, PQgetvalue(r, i, 3), sizeof(c->sha256));
		c->size = strtoll(PQgetvalue(r, i, 4), NULL, 10);
		sf_strlcpy(c->ecosystem, PQgetvalue(r, i, 5), sizeof(c->ecosystem));
		c->lease_deadline_ms = strtoll(PQgetvalue(r, i, 6), NULL, 10);
		c->token = strtoll(PQgetvalue(r, i, 7), NULL, 10);
		sf_strlcpy(c->network, PQgetvalue(r, i, 8), sizeof(c->network));
		sf_strlcpy(c->kind, PQgetvalue(r, i, 9), sizeof(c->kind));
		(*n)++;
	}
	PQclear(r);
	return rc;
}

int sf_jobs_claim_many(PGconn *conn, int lease_s, int max, const char *worker_id, int64_t token,
		     struct sf_claim *claims, int *n)
{
	struct sf_slot *slots = calloc((size_t)(max > 0 ? max : 1), sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (int i = 0; i < max; i++)
		slots[i] = (struct sf_slot){.worker_id = worker_id, .token = token};
	int rc = sf_jobs_claim_slots(conn, lease_s, slots, max, claims, n);
	free(slots);
	return rc;
}

int sf_jobs_claim(PGconn *conn, int lease_s, struct sf_claim *c, bool *claimed)
{
	int n = 0;
	int rc = sf_jobs_claim_many(conn, lease_s, 1, NULL, 0, c, &n);
	*claimed = n == 1;
	return rc;
}

int sf_jobs_unclaim(PGconn *conn, int64_t job_id, int32_t attempt)
{
	char id[32], att[16];
	snprintf(id, sizeof(id), "%lld", (long long)job_id);
	snprintf(att, sizeof(att), "%d", attempt);
	const char *p[] = {id, att};
	return sf_db_run(conn, "unclaim",
			 "WITH j AS (UPDATE jobs SET state = 'queued', lease_until = NULL,"
			 "  updated_at = now() WHERE id = $1 AND attempt = $2 AND state = 'running'"
			 "  RETURNING scan_id)"
			 " UPDATE scans SET status = 'queued' FROM j WHERE scans.id = j.scan_id",
			 2, p, NULL);
}

/*
 * Moves the running jobs that `victims` selects (job ids, locked FOR UPDATE
 * SKIP LOCKED) back to the queue with attempt + 1, to run after $1 *
 * attempt seconds, or dead-letters those on their last attempt. `why` is an
 * SQL expression over the job row j giving the reason that is kept (and
 * shown by the API when the job is dead-lettered).
 */
static int jobs_requeue(PGconn *conn, const char *victims, const char *why, int nparams,
		      const char *const *params, int *requeued, int *dead)
{
	char sql[4096];
	int len = snprintf(
	    sql, sizeof(sql),
	    "WITH victims AS (%s),"
	    " moved AS ("
	    "  UPDATE jobs j SET"
	    "   state = CASE WHEN j.attempt >= j.max_attempts THEN 'dead' ELSE 'queued' END,"
	    "   attempt = CASE WHEN j.attempt >= j.max_attempts THEN j.attempt"
	    "             ELSE j.attempt + 1 END,"
	    "   run_after = now() + make_interval(secs => $1::int * j.attempt),"
	    "   lease_until = NULL, updated_at = now(), last_error = %s"
	    "  FROM victims WHERE j.id = victims.id"
	    "  RETURNING j.id, j.state, j.scan_id, j.last_error),"
	    " scans_moved AS ("
	    "  UPDATE scans s SET"
	    "   status = CASE WHEN m.state = 'dead' THEN 'failed' ELSE 'queued' END,"
	    "   reason = CASE WHEN m.state = 'dead' THEN 'dead-lettered: ' || m.last_error"
	    "            ELSE s.reason END,"
	    "   finished_at = CASE WHEN m.state = 'dead' THEN now() ELSE NULL END"
	    "  FROM moved m WHERE s.id = m.scan_id)"
	    /* PostgreSQL runs a data-modifying CTE whether or not it is read. */
	    " SELECT count(*) FILTER (WHERE state = 'queued'),"
	    "        count(*) FILTER (WHERE state = 'dead') FROM moved",
	    victims, why);
	if (len < 0 || (size_t)len >= sizeof(sql))
		return -EOVERFLOW;
	PGresult *r = sf_db_params(conn, sql, nparams, params);
	int rc = sf_db_result_ok(conn, r, "re-queue");
	if (rc == 0) {
		*requeued = atoi(PQgetvalue(r, 0, 0));
		*dead = atoi(PQgetvalue(r, 0, 1));
		if (*requeued || *dead)
			sf_db_exec(conn, "SELECT pg_notify('scanfarm_jobs', '')");
	}
	PQclear(r);
	return rc;
}

int sf_jobs_reap(PGconn *conn, int backoff_s, int worker_live_s, int *requeued, int *dead)
{
	char backoff[16], live[16];
	snprintf(backoff, sizeof(backoff), "%d", backoff_s);
	snprintf(live, sizeof(live), "%d", worker_live_s);
	const char *p[] = {backoff, live};
	/* A worker that stopped sending heartbeats is gone: its jobs need not
	 * wait for their leases (the time limit plus grace) to run again. */
	return jobs_requeue(
	    conn,
	    "SELECT id FROM jobs WHERE state = 'running' AND (lease_until < now() OR"
	    "  ($2::int > 0 AND worker_id IN (SELECT id FROM workers"
	    "   WHERE last_seen < now() - make_interval(secs => $2::int))))"
	    "  FOR UPDATE SKIP LOCKED",
	    "CASE WHEN j.lease_until < now()"
	    " THEN format('lease expired on attempt %s (worker %s) without a final batch',"
	    "             j.attempt, coalesce(j.worker_id, 'unknown'))"
	    " ELSE format('worker %s went silent during attempt %s', j.worker_id, j.attempt) END",
	    2, p, requeued, dead);
}

int sf_jobs_requeue_lost(PGconn *conn, const char *worker_id, int64_t token, int *requeued,
		       int *dead)
{
	char tok[32];
	snprintf(tok, sizeof(tok), "%lld", (long long)token);
	const char *p[] = {"0", worker_id, token ? tok : NULL};
	return jobs_requeue(conn,
			  "SELECT id FROM jobs WHERE state = 'running' AND worker_id = $2"
			  "  AND ($3::bigint IS NULL OR lease_token = $3::bigint)"
			  "  FOR UPDATE SKIP LOCKED",
			  "CASE WHEN $3::bigint IS NULL"
			  " THEN format('worker %s restarted during attempt %s', j.worker_id, j.attempt)"
			  " ELSE format('attempt %s was leased to worker %s but never reached it',"
			  "             j.attempt, j.worker_id) END",
			  3, p, requeued, dead);
}

/* ------------------------------------------------------------ finished */

/*
 * A batch in one statement: lock the job row (the reaper and this batch must
 * agree on the attempt), record the batch if its attempt is the job's
 * current one (a batch row that was there already makes it a duplicate),
 * and only then update the job and the scan: who ran it, the sensor's
 * counts, the digests that key the verdict cache and, for the final batch,
 * the outcome (with its phases, $16, when the worker sent them; and the
 * network it ran in, $17). Returns the scan, whether the attempt is current, and
 * whether the batch is new.
 */
static const char JOBS_BATCH_SQL[] =
    "WITH j AS (SELECT scan_id, state, attempt FROM jobs WHERE id = $1 FOR UPDATE),"
    " ins AS (INSERT INTO batches (job_id, attempt, seq, worker_id, final)"
    "  SELECT $1, $2, $3, $4, $5 FROM j"
    "  WHERE j.state IN ('running', 'done') AND j.attempt = $2"
    "  ON CONFLICT DO NOTHING RETURNING job_id),"
    " uj AS (UPDATE jobs SET worker_id = $4, updated_at = now(),"
    "  state = CASE WHEN $5::bool THEN 'done' ELSE state END,"
    "  lease_until = CASE WHEN $5::bool THEN NULL ELSE lease_until END,"
    "  last_error = CASE WHEN $5::bool THEN coalesce($6, last_error) ELSE last_error END"
    "  FROM ins WHERE jobs.id = ins.job_id RETURNING jobs.scan_id),"
    " us AS (UPDATE scans SET events = events + $7, drops = drops + $8,"
    "  ruleset_digest = $9, image_digest = $10,"
    "  status = CASE WHEN $5::bool THEN $11 ELSE status END,"
    "  reason = CASE WHEN $5::bool THEN $6 ELSE reason END,"
    "  exit_status = CASE WHEN $5::bool THEN $12::int ELSE exit_status END,"
    "  stdout_tail = CASE WHEN $5::bool THEN $13 ELSE stdout_tail END,"
    "  stderr_tail = CASE WHEN $5::bool THEN $14 ELSE stderr_tail END,"
    "  duration_ms = CASE WHEN $5::bool THEN $15::bigint ELSE duration_ms END,"
    "  phases = CASE WHEN $5::bool THEN coalesce($16::jsonb, phases) ELSE phases END,"
    "  network = coalesce($17, network),"
    "  finished_at = CASE WHEN $5::bool THEN now() ELSE finished_at END"
    "  FROM uj WHERE scans.id = uj.scan_id RETURNING 1)"
    " SELECT scan_id, state IN ('running', 'done') AND attempt = $2,"
    "  (SELECT count(*) FROM ins), (SELECT count(*) FROM us) FROM j";

int sf_jobs_record_batch(PGconn *conn, const struct sf_batch *b, const char *phases_json,
			 struct sf_jobs_batch *out)
{
	char id[32], att[16], seq[16], events[32], drops[32], exit_status[16], duration[32];
	snprintf(id, sizeof(id), "%lld", (long long)b->job_id);
	snprintf(att, sizeof(att), "%d", b->attempt);
	snprintf(seq, sizeof(seq), "%d", b->seq);
	snprintf(events, sizeof(events), "%llu", (unsigned long long)b->events);
	snprintf(drops, sizeof(drops), "%llu", (unsigned long long)b->drops);
	snprintf(exit_status, sizeof(exit_status), "%d", b->exit_status);
	snprintf(duration, sizeof(duration), "%lld", (long long)b->duration_ms);
	const char *p[] = {id,
			   att,
			   seq,
			   b->worker_id,
			   b->final ? "true" : "false",
			   b->error,
			   events,
			   drops,
			   b->ruleset_digest,
			   b->image_digest,
			   b->error ? "failed" : "finished",
			   b->has_exit_status ? exit_status : NULL,
			   b->stdout_tail,
			   b->stderr_tail,
			   duration,
			   phases_json,
			   b->network};
	memset(out, 0, sizeof(*out));
	PGresult *r = sf_db_prepared(conn, "sf_ingest", JOBS_BATCH_SQL, 17, p);
	int rc = sf_db_result_ok(conn, r, "ingest: batch");
	if (rc == 0 && PQntuples(r) > 0) {
		out->found = true;
		sf_strlcpy(out->scan_id, PQgetvalue(r, 0, 0), sizeof(out->scan_id));
		out->current = PQgetvalue(r, 0, 1)[0] == 't';
		out->fresh = atoi(PQgetvalue(r, 0, 2)) == 1;
		out->scan_updated = atoi(PQgetvalue(r, 0, 3)) == 1;
	}
	PQclear(r);
	return rc;
}

/* ----------------------------------------------------------- cancelled */

int sf_jobs_cancel(PGconn *conn, const char *scan_id)
{
	const char *p[] = {scan_id};
	/* The job is dead-lettered, so a batch its worker may still send is
	 * discarded as stale; the scan ends as failed with the reason. */
	/* answered to a client: durable before the reply (session default is async) */
	if (sf_db_exec(conn, "SET synchronous_commit = on"))
		return -EIO;
	PGresult *r = sf_db_params(
	    conn,
	    "WITH s AS (UPDATE scans SET status = 'failed', reason = 'cancelled by request',"
	    "   finished_at = now() WHERE id = $1 AND status IN ('queued', 'running')"
	    "   RETURNING id),"
	    " j AS (UPDATE jobs SET state = 'dead', last_error = 'cancelled by request',"
	    "   lease_until = NULL, updated_at = now()"
	    "   WHERE scan_id IN (SELECT id FROM s) AND state IN ('queued', 'running'))"
	    " SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM scans WHERE id = $1)",
	    1, p);
	int rc = sf_db_result_ok(conn, r, "cancel");
	if (rc == 0)
		rc = atoi(PQgetvalue(r, 0, 0)) == 1	 ? 0
		     : atoi(PQgetvalue(r, 0, 1)) == 1 ? -EALREADY
						      : -ENOENT;
	PQclear(r);
	sf_db_exec(conn, "SET synchronous_commit = off");
	return rc;
}

/* ------------------------------------------------------------- counted */

int sf_jobs_count_by_state(PGconn *conn, struct sf_jobs_counts *out)
{
	PGresult *r = PQexec(conn, "SELECT s.state, count(j.id) FROM"
				   " unnest(ARRAY['queued','running','done','dead']) AS s(state)"
				   " LEFT JOIN jobs j ON j.state = s.state GROUP BY s.state ORDER BY 1");
	int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : -EIO;
	memset(out, 0, sizeof(*out));
	for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
		const char *state = PQgetvalue(r, i, 0);
		long long n = strtoll(PQgetvalue(r, i, 1), NULL, 10);
		if (strcmp(state, "dead") == 0)
			out->dead = n;
		else if (strcmp(state, "done") == 0)
			out->done = n;
		else if (strcmp(state, "queued") == 0)
			out->queued = n;
		else
			out->running = n;
	}
	PQclear(r);
	return rc;
}
