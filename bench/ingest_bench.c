/*
 * ingest_bench — alerts ingested per second by the coordinator's
 * sf_ingest_db_store (COPY), against a baseline measured in the same run: the
 * same alerts stored with one INSERT per alert, as ingestion used to.
 *
 * usage: ingest_bench DSN [batches] [alerts-per-batch]
 *   DSN names a database it may create tables in (a fresh one is best:
 *   bench/run.sh starts a throwaway PostgreSQL for it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "enqueue.h"
#include "ingest_db.h"
#include "jobs.h"
#include "migrate.h"
#include "log.h"
#include "util.h"

static double bench_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* A batch of n realistic alerts (what the shipped rules produce). */
static void bench_batch(struct sf_batch *b, struct sf_alert *alerts, uint32_t n, int64_t job,
			int seq)
{
	static char *tags[] = {"scanfarm", "network", "mitre_command_and_control", "T1071"};
	static struct sf_kv fields[] = {
	    {"proc.cmdline", "node postinstall.js --beacon"},
	    {"proc.pname", "sh"},
	    {"fd.name", "172.17.0.2:40112->198.51.100.23:443"},
	    {"evt.res", "ENETUNREACH"},
	    {"user.name", "node"},
	    {"container.id", "sf-1234-1-1"},
	};
	for (uint32_t i = 0; i < n; i++)
		alerts[i] = (struct sf_alert){
		    .time_ns = 1700000000000000000LL + i,
		    .priority = "Warning",
		    .rule = "Outbound connection attempt",
		    .output = "Outbound connection attempted during install | connection="
			      "172.17.0.2:40112->198.51.100.23:443 proto=tcp res=ENETUNREACH "
			      "process=node command=node postinstall.js parent=sh user=node",
		    .source = "syscall",
		    .hostname = "worker-1",
		    .tags = tags,
		    .ntags = 4,
		    .fields = fields,
		    .nfields = 6};
	memset(b, 0, sizeof(*b));
	b->job_id = job;
	b->attempt = 1;
	b->seq = seq;
	b->worker_id = "bench";
	b->alerts = alerts;
	b->nalerts = n;
}

/* The baseline: one INSERT per alert, one transaction per batch. */
static int bench_insert_rows(PGconn *c, const char *scan_id, const struct sf_batch *b)
{
	if (sf_db_exec(c, "BEGIN"))
		return -EIO;
	for (uint32_t i = 0; i < b->nalerts; i++) {
		const struct sf_alert *a = &b->alerts[i];
		char when[32];
		snprintf(when, sizeof(when), "%lld", (long long)a->time_ns);
		const char *p[] = {scan_id, when, a->priority, a->rule, a->output, a->source,
				   a->hostname,
				   "[\"scanfarm\",\"network\",\"mitre_command_and_control\",\"T1071\"]",
				   "{\"proc.cmdline\":\"node postinstall.js --beacon\",\"proc.pname\":"
				   "\"sh\",\"fd.name\":\"172.17.0.2:40112->198.51.100.23:443\","
				   "\"evt.res\":\"ENETUNREACH\",\"user.name\":\"node\","
				   "\"container.id\":\"sf-1234-1-1\"}"};
		PGresult *r = PQexecParams(
		    c,
		    "INSERT INTO alerts (scan_id, job_id, attempt, seq, time_ns, priority, rule,"
		    " output, source, hostname, tags, output_fields)"
		    " VALUES ($1, 0, 1, 0, $2, $3, $4, $5, $6, $7, $8, $9)",
		    9, NULL, p, NULL, NULL, 0);
		int bad = PQresultStatus(r) != PGRES_COMMAND_OK;
		PQclear(r);
		if (bad)
			return -EIO;
	}
	return sf_db_exec(c, "COMMIT");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: ingest_bench DSN [batches] [alerts-per-batch]\n");
		return 64;
	}
	int batches = argc > 2 ? atoi(argv[2]) : 100;
	uint32_t per = argc > 3 ? (uint32_t)atoi(argv[3]) : 1000;
	sf_log_setup("bench", "warn");
	PGconn *c = PQconnectdb(argv[1]);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "cannot connect: %s", PQerrorMessage(c));
		return 1;
	}
	if (sf_migrate(c)) {
		fprintf(stderr, "migration failed\n");
		return 1;
	}
	struct sf_submission sub = {.sha256 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
				    .size = 1,
				    .ecosystem = "npm",
				    .max_attempts = 3};
	char scan[SF_UUID_LEN + 1];
	struct sf_claim claim;
	bool claimed = false;
	if (sf_enqueue_submit(c, &sub, scan) || sf_jobs_claim(c, 3600, &claim, &claimed) || !claimed) {
		fprintf(stderr, "cannot set up a running job\n");
		return 1;
	}
	struct sf_alert *alerts = calloc(per, sizeof(*alerts));
	if (!alerts)
		return 1;
	struct sf_batch b;

	/* Baseline first, then the product's path; same alerts, same table. */
	double t0 = bench_now();
	for (int i = 0; i < batches; i++) {
		bench_batch(&b, alerts, per, claim.job_id, i);
		if (bench_insert_rows(c, claim.scan_id, &b)) {
			fprintf(stderr, "baseline insert failed: %s", PQerrorMessage(c));
			return 1;
		}
	}
	double t_insert = bench_now() - t0;

	t0 = bench_now();
	for (int i = 0; i < batches; i++) {
		enum sf_ingest_result res;
		bench_batch(&b, alerts, per, claim.job_id, i);
		if (sf_ingest_db_store(c, &b, &res) || res != SF_INGEST_STORED) {
			fprintf(stderr, "ingest failed\n");
			return 1;
		}
	}
	double t_copy = bench_now() - t0;
	double n = (double)batches * per;
	printf("alerts: %d batches x %u alerts\n", batches, per);
	printf("  one INSERT per alert (baseline): %.2f s, %.0f alerts/s\n", t_insert, n / t_insert);
	printf("  sf_ingest_db_store (COPY):       %.2f s, %.0f alerts/s\n", t_copy, n / t_copy);
	printf("  ratio COPY/INSERT: %.1fx\n", t_insert / t_copy);
	free(alerts);
	PQfinish(c);
	return 0;
}
