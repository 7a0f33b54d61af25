/* db — see db.h. */
#include "db.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "migrations.h"

/* -------------------------------------------------------------- the pool */

/* Session settings every pooled connection has; run again after a reset. */
static void db_session_setup(PGconn *c)
{
	/* Commits do not wait for the WAL flush by default: what the queue
	 * writes on its own (claims, leases, ingested batches, heartbeats) is
	 * never acknowledged to anyone, so a commit lost in a crash only means
	 * the lease expires and the job runs again. Statements that answer a
	 * client (sf_db_submit, sf_db_cancel) turn it back on for themselves. */
	PGresult *r = PQexec(c, "SET client_min_messages = warning; SET synchronous_commit = off");
	PQclear(r);
}

static PGconn *db_connect(const char *dsn)
{
	PGconn *c = PQconnectdb(dsn);
	if (!c)
		return NULL;
	if (PQstatus(c) != CONNECTION_OK) {
		sf_error("postgresql: connect failed: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	db_session_setup(c);
	return c;
}

/* Whether an idle pooled connection can take a statement. libpq updates
 * PQstatus only when it next reads, so a connection whose server restarted
 * (or whose backend was terminated) still says CONNECTION_OK and would fail
 * its next statement even though the server is back. An idle connection
 * has nothing to read: a readable socket means the server sent its FATAL
 * goodbye and closed it. */
static bool db_conn_usable(PGconn *c)
{
	if (PQstatus(c) != CONNECTION_OK)
		return false;
	struct pollfd p = {.fd = PQsocket(c), .events = POLLIN};
	if (p.fd < 0)
		return false;
	return poll(&p, 1, 0) <= 0; /* 0: nothing pending; -1: let the statement tell */
}

int sf_db_pool_open(struct sf_db_pool *pool, const char *dsn, int size)
{
	memset(pool, 0, sizeof(*pool));
	pool->dsn = strdup(dsn);
	pool->conns = calloc((size_t)size, sizeof(PGconn *));
	pool->busy = calloc((size_t)size, sizeof(bool));
	pool->size = size;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->freed, NULL);
	if (!pool->dsn || !pool->conns || !pool->busy) {
		sf_db_pool_close(pool);
		return -ENOMEM;
	}
	for (int i = 0; i < size; i++) {
		pool->conns[i] = db_connect(dsn);
		if (!pool->conns[i]) {
			sf_db_pool_close(pool);
			return -ECONNREFUSED;
		}
	}
	return 0;
}

void sf_db_pool_close(struct sf_db_pool *pool)
{
	for (int i = 0; pool->conns && i < pool->size; i++)
		if (pool->conns[i])
			PQfinish(pool->conns[i]);
	free(pool->conns);
	free(pool->busy);
	free(pool->dsn);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->freed);
	memset(pool, 0, sizeof(*pool));
}

PGconn *sf_db_get(struct sf_db_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	int idx = -1;
	for (;;) {
		for (int i = 0; i < pool->size; i++) {
			if (!pool->busy[i]) {
				idx = i;
				break;
			}
		}
		if (idx >= 0)
			break;
		pthread_cond_wait(&pool->freed, &pool->lock);
	}
	pool->busy[idx] = true;
	pthread_mutex_unlock(&pool->lock);

	PGconn *c = pool->conns[idx];
	if (!db_conn_usable(c)) {
		/* The server restarted or the socket broke: try once to reconnect;
		 * callers see -EIO from their statement if it is still down. */
		PQreset(c);
		if (PQstatus(c) == CONNECTION_OK) {
			db_session_setup(c);
			sf_info("postgresql: reconnected");
		}
	}
	return c;
}

void sf_db_put(struct sf_db_pool *pool, PGconn *conn)
{
	pthread_mutex_lock(&pool->lock);
	for (int i = 0; i < pool->size; i++) {
		if (pool->conns[i] == conn) {
			pool->busy[i] = false;
			break;
		}
	}
	pthread_cond_signal(&pool->freed);
	pthread_mutex_unlock(&pool->lock);
}

/* ------------------------------------------------------------ statements */

int sf_db_result_ok(PGconn *conn, PGresult *r, const char *what)
{
	ExecStatusType st = PQresultStatus(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return 0;
	sf_error("postgresql: %s: %s", what, PQerrorMessage(conn));
	return -EIO;
}

int sf_db_exec(PGconn *conn, const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	int rc = sf_db_result_ok(conn, r, sql);
	PQclear(r);
	return rc;
}

static PGresult *db_params(PGconn *conn, const char *sql, int n, const char *const *vals)
{
	return PQexecParams(conn, sql, n, NULL, vals, NULL, NULL, 0);
}

/*
 * Runs one of the hot statements (claims, ingestion) prepared under `name`:
 * planning these CTE statements costs more than running them. A statement
 * is prepared on a connection's first use (and again after a reset, which
 * drops it) — but only outside a transaction, where a failed attempt to run
 * an unknown statement (SQLSTATE 26000) aborts nothing; inside one, the
 * statement is simply planned as usual.
 */
static PGresult *db_prepared(PGconn *conn, const char *name, const char *sql, int n,
			     const char *const *vals)
{
	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		return db_params(conn, sql, n, vals);
	PGresult *r = PQexecPrepared(conn, name, n, vals, NULL, NULL, 0);
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	if (PQresultStatus(r) != PGRES_FATAL_ERROR || !state || strcmp(state, "26000") != 0)
		return r;
	PQclear(r);
	r = PQprepare(conn, name, sql, n, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return r;
	PQclear(r);
	return PQexecPrepared(conn, name, n, vals, NULL, NULL, 0);
}

/* Runs a parameterised statement whose result is not needed. */
static int db_run(PGconn *conn, const char *sql, int n, const char *const *vals)
{
	PGresult *r = db_params(conn, sql, n, vals);
	int rc = sf_db_result_ok(conn, r, sql);
	PQclear(r);
	return rc;
}

static void db_rollback(PGconn *conn)
{
	PGresult *r = PQexec(conn, "ROLLBACK");
	PQclear(r);
}

/* ------------------------------------------------------------ migrations */

int sf_db_migrate(PGconn *conn)
{
	int rc = sf_db_exec(conn, "SELECT pg_advisory_lock(7301001)");
	if (rc)
		return rc;
	rc = sf_db_exec(conn, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			      " version integer PRIMARY KEY, name text NOT NULL,"
			      " applied_at timestamptz NOT NULL DEFAULT now())");
	for (unsigned i = 0; rc == 0 && i < sf_migrations_count; i++) {
		const struct sf_migration *m = &sf_migrations[i];
		char ver[16];
		snprintf(ver, sizeof(ver), "%d", m->version);
		const char *p[] = {ver, m->name};
		PGresult *r = db_params(conn, "SELECT 1 FROM schema_migrations WHERE version = $1",
					1, p);
		rc = sf_db_result_ok(conn, r, "migrations");
		bool applied = rc == 0 && PQntuples(r) > 0;
		PQclear(r);
		if (rc || applied)
			continue;
		sf_info("postgresql: applying migration %s", m->name);
		if ((rc = sf_db_exec(conn, "BEGIN")))
			break;
		if ((rc = sf_db_exec(conn, m->sql)) ||
		    (rc = db_run(conn, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
				 2, p)) ||
		    (rc = sf_db_exec(conn, "COMMIT")))
			db_rollback(conn);
	}
	sf_db_exec(conn, "SELECT pg_advisory_unlock(7301001)");
	return rc;
}

/* ------------------------------------------------------------- the queue */

int sf_db_submit(PGconn *conn, const struct sf_submission *s, char scan_id[SF_UUID_LEN + 1])
{
	int rc = sf_uuid4(scan_id);
	if (rc)
		return rc;
	char size[32], prio[16], attempts[16];
	snprintf(size, sizeof(size), "%lld", s->size);
	snprintf(prio, sizeof(prio), "%d", s->priority);
	snprintf(attempts, sizeof(attempts), "%d", s->max_attempts);
	const char *art[] = {s->sha256, size};
	const char *scan[] = {scan_id, s->sha256, s->ecosystem, s->name, s->version,
			      s->labels ? s->labels : ""};
	const char *job[] = {scan_id, prio, attempts};

	if ((rc = sf_db_exec(conn, "BEGIN")) ||
	    (rc = sf_db_exec(conn, "SET LOCAL synchronous_commit = on"))) {
		db_rollback(conn);
		return rc;
	}
	if ((rc = db_run(conn, "INSERT INTO artifacts (sha256, size) VALUES ($1, $2)"
			       " ON CONFLICT (sha256) DO NOTHING", 2, art)) ||
	    (rc = db_run(conn, "INSERT INTO scans (id, artifact_sha256, ecosystem, name, version,"
			       " labels) VALUES ($1, $2, $3, $4, $5,"
			       " array_remove(string_to_array($6, ','), ''))",
			 6, scan)) ||
	    (rc = db_run(conn, "INSERT INTO jobs (scan_id, priority, max_attempts)"
			       " VALUES ($1, $2, $3)", 3, job)) ||
	    (rc = db_run(conn, "SELECT pg_notify('scanfarm_jobs', '')", 0, NULL)) ||
	    (rc = sf_db_exec(conn, "COMMIT"))) {
		db_rollback(conn);
		return rc;
	}
	return 0;
}

int sf_db_claim_slots(PGconn *conn, int lease_s, const struct sf_slot *slots, int nslots,
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
	    "  RETURNING j.id, j.attempt, j.scan_id, j.lease_until, j.priority, j.lease_token),"
	    " touched AS ("
	    "  UPDATE scans s SET status = 'running' FROM claimed WHERE s.id = claimed.scan_id"
	    "  RETURNING s.id, s.artifact_sha256, s.ecosystem)"
	    " SELECT c.id, c.attempt, c.scan_id, t.artifact_sha256, a.size, t.ecosystem,"
	    "  (extract(epoch FROM c.lease_until) * 1000)::bigint, coalesce(c.lease_token, 0)"
	    " FROM claimed c JOIN touched t ON t.id = c.scan_id"
	    " JOIN artifacts a ON a.sha256 = t.artifact_sha256"
	    " ORDER BY c.priority DESC, c.id";
	PGresult *r = db_prepared(conn, "sf_claim", sql, 2, p);
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
		(*n)++;
	}
	PQclear(r);
	return rc;
}

int sf_db_claim_many(PGconn *conn, int lease_s, int max, const char *worker_id, int64_t token,
		     struct sf_claim *claims, int *n)
{
	struct sf_slot *slots = calloc((size_t)(max > 0 ? max : 1), sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (int i = 0; i < max; i++)
		slots[i] = (struct sf_slot){.worker_id = worker_id, .token = token};
	int rc = sf_db_claim_slots(conn, lease_s, slots, max, claims, n);
	free(slots);
	return rc;
}

int sf_db_claim(PGconn *conn, int lease_s, struct sf_claim *c, bool *claimed)
{
	int n = 0;
	int rc = sf_db_claim_many(conn, lease_s, 1, NULL, 0, c, &n);
	*claimed = n == 1;
	return rc;
}

int sf_db_unclaim(PGconn *conn, int64_t job_id, int32_t attempt)
{
	char id[32], att[16];
	snprintf(id, sizeof(id), "%lld", (long long)job_id);
	snprintf(att, sizeof(att), "%d", attempt);
	const char *p[] = {id, att};
	return db_run(conn,
		      "WITH j AS (UPDATE jobs SET state = 'queued', lease_until = NULL,"
		      "  updated_at = now() WHERE id = $1 AND attempt = $2 AND state = 'running'"
		      "  RETURNING scan_id)"
		      " UPDATE scans SET status = 'queued' FROM j WHERE scans.id = j.scan_id",
		      2, p);
}

/*
 * Moves the running jobs that `victims` selects (job ids, locked FOR UPDATE
 * SKIP LOCKED) back to the queue with attempt + 1, to run after $1 *
 * attempt seconds, or dead-letters those on their last attempt. `why` is an
 * SQL expression over the job row j giving the reason that is kept (and
 * shown by the API when the job is dead-lettered).
 */
static int db_requeue(PGconn *conn, const char *victims, const char *why, int nparams,
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
	PGresult *r = db_params(conn, sql, nparams, params);
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

int sf_db_reap(PGconn *conn, int backoff_s, int worker_live_s, int *requeued, int *dead)
{
	char backoff[16], live[16];
	snprintf(backoff, sizeof(backoff), "%d", backoff_s);
	snprintf(live, sizeof(live), "%d", worker_live_s);
	const char *p[] = {backoff, live};
	/* A worker that stopped sending heartbeats is gone: its jobs need not
	 * wait for their leases (the time limit plus grace) to run again. */
	return db_requeue(
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

int sf_db_requeue_lost(PGconn *conn, const char *worker_id, int64_t token, int *requeued,
		       int *dead)
{
	char tok[32];
	snprintf(tok, sizeof(tok), "%lld", (long long)token);
	const char *p[] = {"0", worker_id, token ? tok : NULL};
	return db_requeue(conn,
			  "SELECT id FROM jobs WHERE state = 'running' AND worker_id = $2"
			  "  AND ($3::bigint IS NULL OR lease_token = $3::bigint)"
			  "  FOR UPDATE SKIP LOCKED",
			  "CASE WHEN $3::bigint IS NULL"
			  " THEN format('worker %s restarted during attempt %s', j.worker_id, j.attempt)"
			  " ELSE format('attempt %s was leased to worker %s but never reached it',"
			  "             j.attempt, j.worker_id) END",
			  3, p, requeued, dead);
}

/* ------------------------------------------------------------- ingestion */

/* Appends s to a COPY text-format row, escaping what COPY would read as
 * structure; NULL becomes \N. */
static int db_copy_field(struct sf_buf *row, const char *s, bool last)
{
	int rc = 0;
	if (!s) {
		rc = sf_buf_append(row, "\\N", 2);
	} else {
		for (const char *p = s; *p && !rc;) {
			size_t plain = strcspn(p, "\\\t\n\r");
			if (plain) {
				rc = sf_buf_append(row, p, plain);
				p += plain;
				continue;
			}
			char esc[2] = {'\\', *p == '\t' ? 't' : *p == '\n' ? 'n' : *p == '\r' ? 'r' : '\\'};
			rc = sf_buf_append(row, esc, 2);
			p++;
		}
	}
	return rc ? rc : sf_buf_append(row, last ? "\n" : "\t", 1);
}

/* One alert as a COPY row of the alerts table's columns. */
static int db_alert_row(struct sf_buf *row, const char *scan_id, const char *const *ids,
			const struct sf_alert *a)
{
	json_t *tags = json_array();
	json_t *fields = json_object();
	char *tags_s = NULL, *fields_s = NULL, when[32];
	int rc = -ENOMEM;
	if (!tags || !fields)
		goto out;
	for (uint32_t i = 0; i < a->ntags; i++)
		json_array_append_new(tags, json_string(a->tags[i]));
	for (uint32_t i = 0; i < a->nfields; i++)
		json_object_set_new(fields, a->fields[i].key,
				    a->fields[i].value ? json_string(a->fields[i].value)
						       : json_null());
	tags_s = json_dumps(tags, JSON_COMPACT);
	fields_s = json_dumps(fields, JSON_COMPACT);
	if (!tags_s || !fields_s)
		goto out;
	snprintf(when, sizeof(when), "%lld", (long long)a->time_ns);
	const char *cols[] = {scan_id, ids[0], ids[1], ids[2], when, a->priority, a->rule,
			      a->output, a->source, a->hostname, tags_s, fields_s};
	rc = 0;
	for (size_t i = 0; i < 12 && !rc; i++)
		rc = db_copy_field(row, cols[i], i == 11);
out:
	free(tags_s);
	free(fields_s);
	json_decref(tags);
	json_decref(fields);
	return rc;
}

/* Streams rows into `COPY <target> FROM STDIN` in chunks of about 1 MiB;
 * fill(i, buf) appends row i. */
static int db_copy(PGconn *conn, const char *copy_sql, uint32_t n,
		   int (*fill)(void *ctx, uint32_t i, struct sf_buf *buf), void *ctx)
{
	PGresult *r = PQexec(conn, copy_sql);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		sf_error("postgresql: %s: %s", copy_sql, PQerrorMessage(conn));
		PQclear(r);
		return -EIO;
	}
	PQclear(r);
	struct sf_buf buf = {0};
	int rc = 0;
	for (uint32_t i = 0; i < n && !rc; i++) {
		rc = fill(ctx, i, &buf);
		if (!rc && (buf.len >= (1u << 20) || i + 1 == n)) {
			if (PQputCopyData(conn, buf.data, (int)buf.len) != 1)
				rc = -EIO;
			buf.len = 0;
		}
	}
	sf_buf_free(&buf);
	if (PQputCopyEnd(conn, rc ? "scanfarm: row encoding failed" : NULL) != 1)
		rc = rc ? rc : -EIO;
	while ((r = PQgetResult(conn)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			if (!rc)
				sf_error("postgresql: %s: %s", copy_sql, PQerrorMessage(conn));
			rc = rc ? rc : -EIO;
		}
		PQclear(r);
	}
	return rc;
}

struct db_ingest_ctx {
	const struct sf_batch *b;
	const char *scan_id;
	const char *const *ids;
};

static int db_fill_alert(void *ctx, uint32_t i, struct sf_buf *buf)
{
	struct db_ingest_ctx *c = ctx;
	return db_alert_row(buf, c->scan_id, c->ids, &c->b->alerts[i]);
}

static int db_fill_fact(void *ctx, uint32_t i, struct sf_buf *buf)
{
	struct db_ingest_ctx *c = ctx;
	const struct sf_fact *f = &c->b->facts[i];
	int rc;
	if ((rc = db_copy_field(buf, c->scan_id, false)) ||
	    (rc = db_copy_field(buf, f->kind, false)) ||
	    (rc = db_copy_field(buf, f->value, false)))
		return rc;
	return db_copy_field(buf, f->detail ? f->detail : "", true);
}

int sf_db_ingest(PGconn *conn, const struct sf_batch *b, enum sf_ingest_result *result)
{
	return sf_db_ingest_scan(conn, b, result, NULL);
}

/*
 * A batch in one statement: lock the job row (the reaper and this batch must
 * agree on the attempt), record the batch if its attempt is the job's
 * current one (a batch row that was there already makes it a duplicate),
 * and only then update the job and the scan: who ran it, the sensor's
 * counts, the digests that key the verdict cache and, for the final batch,
 * the outcome. Returns the scan, whether the attempt is current, and
 * whether the batch is new.
 */
static const char INGEST_SQL[] =
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
    "  finished_at = CASE WHEN $5::bool THEN now() ELSE finished_at END"
    "  FROM uj WHERE scans.id = uj.scan_id RETURNING 1)"
    " SELECT scan_id, state IN ('running', 'done') AND attempt = $2,"
    "  (SELECT count(*) FROM ins), (SELECT count(*) FROM us) FROM j";

int sf_db_ingest_scan(PGconn *conn, const struct sf_batch *b, enum sf_ingest_result *result,
		      char scan_id_out[SF_UUID_LEN + 1])
{
	char id[32], att[16], seq[16], events[32], drops[32], exit_status[16], duration[32];
	snprintf(id, sizeof(id), "%lld", (long long)b->job_id);
	snprintf(att, sizeof(att), "%d", b->attempt);
	snprintf(seq, sizeof(seq), "%d", b->seq);
	snprintf(events, sizeof(events), "%llu", (unsigned long long)b->events);
	snprintf(drops, sizeof(drops), "%llu", (unsigned long long)b->drops);
	snprintf(exit_status, sizeof(exit_status), "%d", b->exit_status);
	snprintf(duration, sizeof(duration), "%lld", (long long)b->duration_ms);
	const char *ids[] = {id, att, seq};
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
			   duration};
	char scan_id[SF_UUID_LEN + 1];
	int rc;
	/* A batch without alerts or facts is that one statement, atomic on its
	 * own; bulk rows follow it in the same transaction. */
	bool bulk = b->nalerts || b->nfacts;
	if (bulk && (rc = sf_db_exec(conn, "BEGIN")))
		return rc;
	PGresult *r = db_prepared(conn, "sf_ingest", INGEST_SQL, 15, p);
	if ((rc = sf_db_result_ok(conn, r, "ingest: batch"))) {
		PQclear(r);
		goto fail;
	}
	if (PQntuples(r) == 0) {
		PQclear(r);
		*result = SF_INGEST_UNKNOWN;
		goto done;
	}
	sf_strlcpy(scan_id, PQgetvalue(r, 0, 0), sizeof(scan_id));
	bool current = PQgetvalue(r, 0, 1)[0] == 't';
	bool fresh = atoi(PQgetvalue(r, 0, 2)) == 1;
	bool scan_updated = atoi(PQgetvalue(r, 0, 3)) == 1;
	PQclear(r);
	if (!current) {
		*result = SF_INGEST_STALE;
		goto done;
	}
	if (!fresh) {
		*result = SF_INGEST_DUPLICATE;
		goto done;
	}
	if (!scan_updated) {
		sf_error("ingest: job %s has no scan %s", id, scan_id);
		rc = -EIO;
		goto fail;
	}

	/* Bulk rows go through COPY: the batch row inserted above makes the
	 * whole transaction idempotent, so alerts need no conflict check; facts
	 * are deduplicated across batches through a staging table. */
	struct db_ingest_ctx ictx = {.b = b, .scan_id = scan_id, .ids = ids};
	if (b->nalerts &&
	    (rc = db_copy(conn,
			  "COPY alerts (scan_id, job_id, attempt, seq, time_ns, priority, rule,"
			  " output, source, hostname, tags, output_fields) FROM STDIN",
			  b->nalerts, db_fill_alert, &ictx)))
		goto fail;
	if (b->nfacts &&
	    ((rc = sf_db_exec(conn, "CREATE TEMP TABLE IF NOT EXISTS facts_stage"
				    " (scan_id uuid, kind text, value text, detail text)"
				    " ON COMMIT DELETE ROWS")) ||
	     (rc = db_copy(conn, "COPY facts_stage (scan_id, kind, value, detail) FROM STDIN",
			   b->nfacts, db_fill_fact, &ictx)) ||
	     (rc = sf_db_exec(conn, "INSERT INTO facts (scan_id, kind, value, detail)"
				    " SELECT DISTINCT scan_id, kind, value, detail FROM facts_stage"
				    " ON CONFLICT DO NOTHING"))))
		goto fail;
	*result = SF_INGEST_STORED;
	if (scan_id_out)
		memcpy(scan_id_out, scan_id, SF_UUID_LEN + 1);
done:
	return bulk ? sf_db_exec(conn, "COMMIT") : 0;
fail:
	if (bulk)
		db_rollback(conn);
	return rc;
}

int sf_db_worker_seen(PGconn *conn, const struct sf_hello *h)
{
	char cap[16], running[16];
	snprintf(cap, sizeof(cap), "%d", h->capacity);
	snprintf(running, sizeof(running), "%d", h->running);
	const char *p[] = {h->worker_id, h->version, cap, running, h->sensor, h->ruleset_digest,
			   h->image_digest};
	return db_run(conn,
		      "INSERT INTO workers (id, version, capacity, running, sensor, ruleset_digest,"
		      " image_digest) VALUES ($1, $2, $3, $4, $5, $6, $7)"
		      " ON CONFLICT (id) DO UPDATE SET version = $2, capacity = $3, running = $4,"
		      " sensor = $5, ruleset_digest = $6, image_digest = $7, last_seen = now()",
		      7, p);
}

int sf_db_cached_verdict(PGconn *conn, const char *sha256, int live_s,
			 char scan_id[SF_UUID_LEN + 1], bool *found)
{
	char live[16];
	snprintf(live, sizeof(live), "%d", live_s);
	const char *p[] = {sha256, live};
	/* A finished scan of these bytes whose rules and image are what a
	 * live worker runs now: its verdict is the one a rescan would give. */
	PGresult *r = db_params(conn,
				"SELECT s.id FROM scans s JOIN workers w"
				" ON w.ruleset_digest = s.ruleset_digest"
				" AND w.image_digest = s.image_digest"
				" WHERE s.artifact_sha256 = $1 AND s.status = 'finished'"
				" AND w.last_seen > now() - make_interval(secs => $2::int)"
				" ORDER BY s.finished_at DESC LIMIT 1",
				2, p);
	int rc = sf_db_result_ok(conn, r, "verdict cache");
	*found = false;
	if (rc == 0 && PQntuples(r) == 1) {
		sf_strlcpy(scan_id, PQgetvalue(r, 0, 0), SF_UUID_LEN + 1);
		*found = true;
	}
	PQclear(r);
	return rc;
}

int sf_db_cancel(PGconn *conn, const char *scan_id)
{
	const char *p[] = {scan_id};
	/* The job is dead-lettered, so a batch its worker may still send is
	 * discarded as stale; the scan ends as failed with the reason. */
	/* answered to a client: durable before the reply (session default is async) */
	if (sf_db_exec(conn, "SET synchronous_commit = on"))
		return -EIO;
	PGresult *r = db_params(
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
