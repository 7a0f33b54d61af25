/* queue_test — the PostgreSQL queue: concurrent claims, leases, reaping,
 * dead letters and idempotent ingestion, against a real server. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "enqueue.h"
#include "ingest_db.h"
#include "jobs.h"
#include "migrate.h"
#include "harness.h"
#include "log.h"
#include "pgtest.h"

#define NJOBS 60
static char dsn[512];
static const char *SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

struct claimer {
	int64_t ids[NJOBS];
	int n;
};

static void *claim_all(void *arg)
{
	struct claimer *cl = arg;
	PGconn *c = PQconnectdb(dsn);
	for (;;) {
		struct sf_claim cj;
		bool claimed = false;
		if (sf_jobs_claim(c, 60, &cj, &claimed) != 0 || !claimed)
			break;
		cl->ids[cl->n++] = cj.job_id;
	}
	PQfinish(c);
	return NULL;
}

static long long scalar(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	long long v = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : -1;
	PQclear(r);
	return v;
}

static void batch_init(struct sf_batch *b, int64_t job, int attempt, int seq, bool final)
{
	memset(b, 0, sizeof(*b));
	b->job_id = job;
	b->attempt = attempt;
	b->seq = seq;
	b->final = final;
	b->worker_id = "test-worker";
	b->has_exit_status = final;
}

int main(void)
{
	char dbname[64];
	sf_log_init("queue_test", SF_LOG_WARN);
	pgtest_create("sf_queue_test", dsn, sizeof(dsn), dbname, sizeof(dbname));
	PGconn *c = PQconnectdb(dsn);
	CHECK(PQstatus(c) == CONNECTION_OK);
	CHECK_EQ(sf_migrate(c), 0);
	CHECK_EQ(sf_migrate(c), 0); /* idempotent */

	/* Two claimers racing over the same queue never share a job. */
	char scan[SF_UUID_LEN + 1];
	struct sf_submission sub = {.sha256 = SHA, .size = 10, .ecosystem = "npm", .max_attempts = 2};
	for (int i = 0; i < NJOBS; i++)
		CHECK_EQ(sf_enqueue_submit(c, &sub, scan), 0);
	CHECK_EQ(scalar(c, "SELECT count(*) FROM artifacts"), 1); /* stored once */
	struct claimer a = {0}, b = {0};
	pthread_t ta, tb;
	pthread_create(&ta, NULL, claim_all, &a);
	pthread_create(&tb, NULL, claim_all, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	CHECK_EQ(a.n + b.n, NJOBS);
	int dup = 0;
	for (int i = 0; i < a.n; i++)
		for (int k = 0; k < b.n; k++)
			if (a.ids[i] == b.ids[k])
				dup++;
	CHECK_EQ(dup, 0);
	fprintf(stderr, "claimers took %d and %d jobs\n", a.n, b.n);
	CHECK_EQ(scalar(c, "SELECT count(*) FROM jobs WHERE state = 'running'"), NJOBS);

	/* Priorities: a higher-priority job is claimed first. */
	PQclear(PQexec(c, "UPDATE jobs SET state = 'done'"));
	sub.priority = 0;
	CHECK_EQ(sf_enqueue_submit(c, &sub, scan), 0);
	sub.priority = 10;
	char urgent[SF_UUID_LEN + 1];
	CHECK_EQ(sf_enqueue_submit(c, &sub, urgent), 0);
	struct sf_claim cj;
	bool claimed;
	CHECK_EQ(sf_jobs_claim(c, 60, &cj, &claimed), 0);
	CHECK(claimed && strcmp(cj.scan_id, urgent) == 0);
	/* A job that could not be sent goes back unchanged. */
	CHECK_EQ(sf_jobs_unclaim(c, cj.job_id, cj.attempt), 0);
	struct sf_claim again;
	CHECK_EQ(sf_jobs_claim(c, 60, &again, &claimed), 0);
	CHECK(claimed && again.job_id == cj.job_id && again.attempt == 1);
	PQclear(PQexec(c, "UPDATE jobs SET state = 'done'"));

	/* An expired lease is re-queued with attempt + 1; the old attempt's
	 * batches are then discarded. */
	sub.priority = 0;
	CHECK_EQ(sf_enqueue_submit(c, &sub, scan), 0);
	CHECK_EQ(sf_jobs_claim(c, 1, &cj, &claimed), 0);
	CHECK(claimed);
	int requeued = 0, dead = 0;
	CHECK_EQ(sf_jobs_reap(c, 0, 0, &requeued, &dead), 0);
	CHECK_EQ(requeued, 0); /* not expired yet */
	usleep(1200 * 1000);
	CHECK_EQ(sf_jobs_reap(c, 0, 0, &requeued, &dead), 0);
	CHECK_EQ(requeued, 1);
	CHECK_EQ(dead, 0);
	struct sf_batch bt;
	enum sf_ingest_result res;
	batch_init(&bt, cj.job_id, 1, 0, true);
	CHECK_EQ(sf_ingest_db_store(c, &bt, &res), 0);
	CHECK_EQ(res, SF_INGEST_STALE);

	struct sf_claim second;
	CHECK_EQ(sf_jobs_claim(c, 60, &second, &claimed), 0);
	CHECK(claimed && second.job_id == cj.job_id && second.attempt == 2);

	/* Ingestion is idempotent on (job, attempt, seq). Text that COPY would
	 * read as structure (tabs, newlines, backslashes, "\N") survives. */
	char *tags[] = {"a\tb"};
	struct sf_kv kv[] = {{"proc.cmdline", "sh -c 'x\\y'"}, {"fd.name", NULL}};
	struct sf_alert al = {.time_ns = 1, .priority = "Warning", .rule = "r",
			      .output = "o\tx\ny\\z \\N\r", .tags = tags, .ntags = 1,
			      .fields = kv, .nfields = 2};
	struct sf_fact fa[] = {{.kind = "dns", .value = "example.invalid"},
			       {.kind = "file_written", .value = "/tmp/a\tb", .detail = "\\N"},
			       {.kind = "dns", .value = "example.invalid"}};
	batch_init(&bt, cj.job_id, 2, 0, false);
	bt.alerts = &al;
	bt.nalerts = 1;
	bt.facts = fa;
	bt.nfacts = 3;
	bt.events = 5;
	CHECK_EQ(sf_ingest_db_store(c, &bt, &res), 0);
	CHECK_EQ(res, SF_INGEST_STORED);
	CHECK_EQ(sf_ingest_db_store(c, &bt, &res), 0);
	CHECK_EQ(res, SF_INGEST_DUPLICATE);
	batch_init(&bt, cj.job_id, 2, 1, true);
	bt.stdout_tail = "done";
	CHECK_EQ(sf_ingest_db_store(c, &bt, &res), 0);
	CHECK_EQ(res, SF_INGEST_STORED);
	char sql[256];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM alerts WHERE scan_id = '%s'", scan);
	CHECK_EQ(scalar(c, sql), 1);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM alerts WHERE scan_id = '%s' AND output = E'o\\tx\\ny\\\\z \\\\N\\r'"
		 " AND tags = '[\"a\\tb\"]' AND output_fields->>'proc.cmdline' = E'sh -c \\'x\\\\y\\''"
		 " AND output_fields->'fd.name' = 'null'::jsonb", scan);
	CHECK_EQ(scalar(c, sql), 1);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM facts WHERE scan_id = '%s'", scan);
	CHECK_EQ(scalar(c, sql), 2); /* the repeated fact is kept once */
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM facts WHERE scan_id = '%s' AND value = E'/tmp/a\\tb'"
		 " AND detail = E'\\\\N'", scan);
	CHECK_EQ(scalar(c, sql), 1);
	snprintf(sql, sizeof(sql), "SELECT events FROM scans WHERE id = '%s' AND status = 'finished'",
		 scan);
	CHECK_EQ(scalar(c, sql), 5);
	batch_init(&bt, 999999, 1, 0, true);
	CHECK_EQ(sf_ingest_db_store(c, &bt, &res), 0);
	CHECK_EQ(res, SF_INGEST_UNKNOWN);

	/* After max_attempts expiries the job is dead-lettered, with the reason. */
	CHECK_EQ(sf_enqueue_submit(c, &sub, scan), 0);
	for (int attempt = 1; attempt <= 2; attempt++) {
		CHECK_EQ(sf_jobs_claim(c, 1, &cj, &claimed), 0);
		CHECK(claimed && cj.attempt == attempt);
		usleep(1200 * 1000);
		CHECK_EQ(sf_jobs_reap(c, 0, 0, &requeued, &dead), 0);
	}
	CHECK_EQ(dead, 1);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM scans WHERE id = '%s' AND status = 'failed'"
		 " AND reason LIKE 'dead-lettered: lease expired%%'", scan);
	CHECK_EQ(scalar(c, sql), 1);
	CHECK_EQ(sf_jobs_claim(c, 60, &cj, &claimed), 0);
	CHECK(!claimed);

	/* Jobs sent in reply to a request whose reply the worker never got
	 * are re-queued at once; those of its other requests are kept. */
	struct sf_claim three[3];
	int n = 0;
	for (int i = 0; i < 4; i++)
		CHECK_EQ(sf_enqueue_submit(c, &sub, scan), 0);
	CHECK_EQ(sf_jobs_claim_many(c, 600, 3, "w-lost", 111, three, &n), 0);
	CHECK_EQ(n, 3);
	CHECK_EQ(sf_jobs_claim_many(c, 600, 3, "w-lost", 222, three, &n), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(scalar(c, "SELECT count(*) FROM jobs WHERE worker_id = 'w-lost' AND state = 'running'"
			   " AND lease_token = 111"), 3);
	CHECK_EQ(sf_jobs_requeue_lost(c, "w-lost", 111, &requeued, &dead), 0);
	CHECK_EQ(requeued, 3);
	CHECK_EQ(dead, 0);
	CHECK_EQ(scalar(c, "SELECT count(*) FROM jobs WHERE state = 'running' AND lease_token = 222"), 1);
	CHECK_EQ(scalar(c, "SELECT count(*) FROM jobs WHERE state = 'queued' AND attempt = 2"
			   " AND last_error LIKE 'attempt 1 was leased to worker w-lost but never reached it'"),
		 3);
	CHECK_EQ(sf_jobs_requeue_lost(c, "w-other", 0, &requeued, &dead), 0);
	CHECK_EQ(requeued, 0); /* other workers' jobs are not touched */
	/* a worker that starts again runs nothing: all its jobs go back */
	CHECK_EQ(sf_jobs_requeue_lost(c, "w-lost", 0, &requeued, &dead), 0);
	CHECK_EQ(requeued, 1);
	CHECK_EQ(scalar(c, "SELECT count(*) FROM jobs WHERE state = 'queued'"
			   " AND last_error = 'worker w-lost restarted during attempt 1'"), 1);

	/* A worker silent for longer than worker_live_s loses its jobs before
	 * their leases expire; a live one keeps them. */
	PQclear(PQexec(c, "INSERT INTO workers (id, last_seen) VALUES"
			  " ('w-lost', now() - interval '10 minutes'), ('w-live', now())"));
	CHECK_EQ(sf_jobs_claim_many(c, 600, 1, "w-lost", 333, three, &n), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(sf_jobs_claim_many(c, 600, 1, "w-live", 444, three, &n), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(sf_jobs_reap(c, 0, 0, &requeued, &dead), 0);
	CHECK_EQ(requeued, 0); /* leases only */
	CHECK_EQ(sf_jobs_reap(c, 0, 60, &requeued, &dead), 0);
	CHECK_EQ(requeued + dead, 1); /* on its second attempt of two: dead-lettered */
	CHECK_EQ(scalar(c, "SELECT count(*) FROM jobs WHERE state IN ('queued', 'dead')"
			   " AND lease_token = 333"
			   " AND last_error LIKE 'worker w-lost went silent during attempt _'"), 1);
	CHECK_EQ(scalar(c, "SELECT count(*) FROM jobs WHERE state = 'running' AND worker_id = 'w-live'"),
		 1);

	PQfinish(c);
	TEST_DONE();
}
