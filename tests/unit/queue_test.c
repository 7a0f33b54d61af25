/* queue_test — the PostgreSQL queue: concurrent claims, leases, reaping,
 * dead letters and idempotent ingestion (a project scan's phases, packages
 * and attributed facts too, and the report made of them), against a real
 * server. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "enqueue.h"
#include "ingest_db.h"
#include "jobs.h"
#include "migrate.h"
#include "report.h"
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

/* The report's package named name: its field key as an integer (booleans
 * 0/1), -1 if there is no such package. */
static long long pkg_field(json_t *report, const char *name, const char *key)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(report, "packages"), i, p)
	{
		if (strcmp(json_string_value(json_object_get(p, "name")), name) != 0)
			continue;
		json_t *v = json_object_get(p, key);
		return json_is_boolean(v) ? json_is_true(v) : json_integer_value(v);
	}
	return -1;
}

/* How many of the report's facts of kind have this package and phase. */
static int facts_with(json_t *report, const char *kind, const char *package, const char *phase)
{
	size_t i;
	json_t *f;
	int n = 0;
	json_array_foreach(json_object_get(json_object_get(report, "facts"), kind), i, f)
	{
		const char *pk = json_string_value(json_object_get(f, "package"));
		const char *ph = json_string_value(json_object_get(f, "phase"));
		n += pk && ph && strcmp(pk, package) == 0 && strcmp(ph, phase) == 0;
	}
	return n;
}

/* The reports of the failed project scan test_project_batch stored. */
static void check_project_report(PGconn *c, const char *scan)
{
	json_t *rep = NULL;
	CHECK_EQ(sf_report_v1(c, scan, &rep), 0);
	CHECK_EQ(json_array_size(json_object_get(rep, "phases")), 3);
	json_t *ph1 = json_array_get(json_object_get(rep, "phases"), 1);
	CHECK_EQ(json_integer_value(json_object_get(ph1, "exit_status")), 1);
	CHECK(json_is_null(json_object_get(json_array_get(json_object_get(rep, "phases"), 2),
					   "exit_status")));
	CHECK_EQ(json_array_size(json_object_get(rep, "packages")), 3);
	CHECK_EQ(pkg_field(rep, "proj", "ran_install_scripts"), 1); /* its own scripts ran */
	CHECK_EQ(pkg_field(rep, "leaf", "ran_install_scripts"), 1);
	CHECK_EQ(pkg_field(rep, "mid", "ran_install_scripts"), 0);
	CHECK_EQ(pkg_field(rep, "mid", "direct"), 1);
	CHECK_EQ(pkg_field(rep, "leaf", "alerts"), 2);
	CHECK_EQ(pkg_field(rep, "proj", "alerts"), 0);
	CHECK_EQ(facts_with(rep, "dns", "leaf@1.0.0", "install"), 1);
	CHECK_EQ(facts_with(rep, "dns", "leaf@1.0.0", "import"), 1);
	CHECK_EQ(facts_with(rep, "dns", "", ""), 1);
	CHECK_EQ(facts_with(rep, "process", "proj@1.0.0", "fetch"), 1);
	CHECK(json_is_string(json_object_get(rep, "reason")));
	json_decref(rep);
	/* Package Hunter's view: error with the reason, and the alerts so far */
	CHECK_EQ(sf_report_package_hunter(c, scan, &rep), 0);
	CHECK(strcmp(json_string_value(json_object_get(rep, "status")), "error") == 0);
	CHECK(json_is_string(json_object_get(rep, "reason")));
	CHECK_EQ(json_array_size(json_object_get(rep, "result")), 3);
	json_decref(rep);
}

/*
 * A project scan whose install phase failed: the final batch carries the
 * phases, the installed tree and facts and alerts attributed to packages
 * and phases, and the error. Everything is stored once (a second delivery
 * changes nothing, a superseded attempt's batch nothing at all), the scan
 * fails with the reason and keeps its alerts, and the report shows it.
 */
static void test_project_batch(PGconn *c, const struct sf_submission *sub)
{
	char scan[SF_UUID_LEN + 1], sql[1024];
	CHECK_EQ(sf_enqueue_submit(c, sub, scan), 0);
	struct sf_claim cj;
	bool claimed = false;
	int requeued = 0, dead = 0;
	CHECK_EQ(sf_jobs_claim(c, 1, &cj, &claimed), 0);
	CHECK(claimed && strcmp(cj.scan_id, scan) == 0);
	usleep(1200 * 1000);
	CHECK_EQ(sf_jobs_reap(c, 0, 0, &requeued, &dead), 0);
	CHECK_EQ(requeued, 1);

	struct sf_phase phases[] = {
	    {.name = "fetch", .ran = true, .has_exit_status = true, .duration_ms = 900,
	     .stdout_tail = "added 3 packages\n", .stderr_tail = ""},
	    {.name = "install", .ran = true, .has_exit_status = true, .exit_status = 1,
	     .duration_ms = 400, .stdout_tail = "> leaf@1.0.0 postinstall\n",
	     .stderr_tail = "npm ERR! code 1\tx", .error = "npm exited 1: npm ERR! code 1"},
	    {.name = "import", .ran = false, .error = "skipped: install failed"}};
	struct sf_package pkgs[] = {
	    {.name = "proj", .version = "1.0.0", .path = "", .install_scripts = true},
	    {.name = "mid", .version = "1.0.0", .path = "node_modules/mid", .direct = true},
	    {.name = "leaf", .version = "1.0.0", .path = "node_modules/mid/node_modules/leaf",
	     .install_scripts = true},
	    {.name = "mid", .version = "1.0.0", .path = "node_modules/mid", .direct = true}};
	struct sf_fact fa[] = {
	    {.kind = "process", .value = "7", .detail = "node postinstall.js",
	     .package = "leaf@1.0.0", .phase = "install"},
	    {.kind = "process", .value = "8", .detail = "sh -c prepare", .package = "proj@1.0.0",
	     .phase = "install"},
	    {.kind = "process", .value = "9", .detail = "npm rebuild", .package = "mid@1.0.0",
	     .phase = "install"}, /* mid declares no install script */
	    {.kind = "process", .value = "5", .detail = "npm ci", .package = "proj@1.0.0",
	     .phase = "fetch"},
	    {.kind = "dns", .value = "evil.invalid", .package = "leaf@1.0.0", .phase = "install"},
	    {.kind = "dns", .value = "evil.invalid", .package = "leaf@1.0.0", .phase = "import"},
	    {.kind = "dns", .value = "evil.invalid", .package = "leaf@1.0.0", .phase = "install"},
	    {.kind = "dns", .value = "old.invalid"}}; /* no package, no phase */
	struct sf_kv leaf_kv[] = {{"scanfarm.package", "leaf@1.0.0"}, {"scanfarm.phase", "install"}};
	struct sf_alert al[] = {
	    {.time_ns = 2, .priority = "Warning", .rule = "steal", .output = "o", .fields = leaf_kv,
	     .nfields = 2},
	    {.time_ns = 3, .priority = "Notice", .rule = "connect", .output = "o",
	     .fields = leaf_kv, .nfields = 2},
	    {.time_ns = 4, .priority = "Notice", .rule = "other", .output = "o"}};
	struct sf_batch bt;
	enum sf_ingest_result res;
	/* attempt 1 was superseded: its batch brings nothing */
	batch_init(&bt, cj.job_id, 1, 0, true);
	bt.phases = phases;
	bt.nphases = 3;
	bt.packages = pkgs;
	bt.npackages = 4;
	bt.facts = fa;
	bt.nfacts = 8;
	CHECK_EQ(sf_ingest_db_store(c, &bt, &res), 0);
	CHECK_EQ(res, SF_INGEST_STALE);
	snprintf(sql, sizeof(sql),
		 "SELECT (SELECT count(*) FROM scan_packages WHERE scan_id = '%s')"
		 " + (SELECT count(*) FROM facts WHERE scan_id = '%s')"
		 " + (SELECT count(*) FROM scans WHERE id = '%s' AND phases IS NOT NULL)",
		 scan, scan, scan);
	CHECK_EQ(scalar(c, sql), 0);

	CHECK_EQ(sf_jobs_claim(c, 60, &cj, &claimed), 0);
	CHECK(claimed && strcmp(cj.scan_id, scan) == 0 && cj.attempt == 2);
	batch_init(&bt, cj.job_id, 2, 0, false); /* alerts so far */
	bt.alerts = al;
	bt.nalerts = 1;
	CHECK_EQ(sf_ingest_db_store(c, &bt, &res), 0);
	CHECK_EQ(res, SF_INGEST_STORED);
	batch_init(&bt, cj.job_id, 2, 1, true);
	bt.has_exit_status = true;
	bt.exit_status = 1;
	bt.error = "install failed: npm exited 1: npm ERR! code 1";
	bt.phases = phases;
	bt.nphases = 3;
	bt.packages = pkgs;
	bt.npackages = 4;
	bt.facts = fa;
	bt.nfacts = 8;
	bt.alerts = al + 1;
	bt.nalerts = 2;
	CHECK_EQ(sf_ingest_db_store(c, &bt, &res), 0);
	CHECK_EQ(res, SF_INGEST_STORED);
	CHECK_EQ(sf_ingest_db_store(c, &bt, &res), 0); /* delivered twice */
	CHECK_EQ(res, SF_INGEST_DUPLICATE);

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM scans WHERE id = '%s' AND status = 'failed'"
		 " AND reason = 'install failed: npm exited 1: npm ERR! code 1'"
		 " AND jsonb_array_length(phases) = 3 AND phases->0->>'name' = 'fetch'"
		 " AND phases->0->'exit_status' = '0' AND phases->1->'exit_status' = '1'"
		 " AND phases->1->>'stderr_tail' = E'npm ERR! code 1\\tx'"
		 " AND phases->2->'exit_status' = 'null' AND phases->2->'ran' = 'false'"
		 " AND phases->0->'error' = 'null' AND phases->1->'timed_out' = 'false'"
		 " AND phases->0->'duration_ms' = '900'", scan);
	CHECK_EQ(scalar(c, sql), 1);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM alerts WHERE scan_id = '%s'", scan);
	CHECK_EQ(scalar(c, sql), 3); /* the failure keeps every alert */
	snprintf(sql, sizeof(sql),
		 "SELECT string_agg(path || '=' || name || '@' || version || ':' || direct::text"
		 " || install_scripts::text, ',' ORDER BY idx) FROM scan_packages"
		 " WHERE scan_id = '%s'", scan);
	PGresult *r = PQexec(c, sql);
	CHECK(PQntuples(r) == 1 &&
	      strcmp(PQgetvalue(r, 0, 0), "=proj@1.0.0:falsetrue,node_modules/mid=mid@1.0.0:truefalse,"
					  "node_modules/mid/node_modules/leaf=leaf@1.0.0:falsetrue") == 0);
	PQclear(r);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM facts WHERE scan_id = '%s'", scan);
	CHECK_EQ(scalar(c, sql), 7); /* the same dns in two phases is two facts */
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM facts WHERE scan_id = '%s' AND kind = 'dns'"
		 " AND value = 'old.invalid' AND package = '' AND phase = ''", scan);
	CHECK_EQ(scalar(c, sql), 1);

	check_project_report(c, scan);
}

/*
 * The network a scan asks for goes with its job to the worker (none asked
 * for: the worker's default), and the one its final batch says it ran in
 * is the scan's; the verdict cache answers a submission only with a scan
 * of the same network.
 */
static void test_network(PGconn *c, struct sf_submission sub)
{
	char offline[SF_UUID_LEN + 1], deflt[SF_UUID_LEN + 1], sql[512];
	PQclear(PQexec(c, "UPDATE jobs SET state = 'done'"));
	sub.network = "offline";
	CHECK_EQ(sf_enqueue_submit(c, &sub, offline), 0);
	sub.network = NULL;
	CHECK_EQ(sf_enqueue_submit(c, &sub, deflt), 0);
	struct sf_claim cs[2];
	int n = 0;
	CHECK_EQ(sf_jobs_claim_many(c, 60, 2, "w-net", 555, cs, &n), 0);
	CHECK_EQ(n, 2);
	for (int i = 0; i < n; i++) {
		bool off = strcmp(cs[i].scan_id, offline) == 0;
		CHECK(strcmp(cs[i].network, off ? "offline" : "") == 0);
		struct sf_batch bt;
		enum sf_ingest_result res;
		batch_init(&bt, cs[i].job_id, cs[i].attempt, 0, true);
		bt.network = off ? "offline" : "sinkhole";
		bt.ruleset_digest = "net-rules";
		bt.image_digest = "net-image";
		CHECK_EQ(sf_ingest_db_store(c, &bt, &res), 0);
		CHECK_EQ(res, SF_INGEST_STORED);
	}
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM scans WHERE (id = '%s' AND network = 'offline')"
		 " OR (id = '%s' AND network = 'sinkhole')", offline, deflt);
	CHECK_EQ(scalar(c, sql), 2);
	PQclear(PQexec(c, "INSERT INTO workers (id, last_seen, ruleset_digest, image_digest)"
			  " VALUES ('w-net', now(), 'net-rules', 'net-image')"));
	const char *shas[] = {sub.sha256};
	char found[1][SF_UUID_LEN + 1];
	/* both scans are of the same bytes: each network gets its own */
	CHECK_EQ(sf_enqueue_verdicts(c, shas, NULL, 1, 60, "offline", found), 0);
	CHECK(strcmp(found[0], offline) == 0);
	CHECK_EQ(sf_enqueue_verdicts(c, shas, NULL, 1, 60, "sinkhole", found), 0);
	CHECK(strcmp(found[0], deflt) == 0); /* asked for nothing, ran in the sinkhole */
	CHECK_EQ(sf_enqueue_verdicts(c, shas, NULL, 1, 60, NULL, found), 0);
	CHECK(strcmp(found[0], deflt) == 0); /* asked for nothing, like this one */
	PQclear(PQexec(c, "DELETE FROM workers WHERE id = 'w-net'"));
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

	test_project_batch(c, &sub);

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

	test_network(c, sub);

	PQfinish(c);
	TEST_DONE();
}
