/*
 * db — the coordinator's PostgreSQL side of the queue: connection pool,
 * schema migrations, submissions, claiming jobs under a lease, reaping
 * expired leases, and idempotent ingestion of result batches.
 *
 * PostgreSQL is the source of truth (DESIGN.md): NNG only carries what these
 * functions decided. Claims use FOR UPDATE SKIP LOCKED so several claimers
 * (threads or coordinators) never get the same job.
 *
 * Owns: the pool's connections. Calls: libpq, wire (batch types), log.
 * All functions return 0 or a negative errno code; -EIO means PostgreSQL
 * said no (the message is logged).
 */
#ifndef SF_DB_H
#define SF_DB_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "wire.h"

struct sf_db_pool {
	char *dsn;
	PGconn **conns;
	bool *busy;
	int size;
	pthread_mutex_t lock;
	pthread_cond_t freed;
};

int sf_db_pool_open(struct sf_db_pool *pool, const char *dsn, int size);
void sf_db_pool_close(struct sf_db_pool *pool);
/* Borrows a connection (blocking while all are busy); a broken connection is
 * reset first. Return it with sf_db_put. */
PGconn *sf_db_get(struct sf_db_pool *pool);
void sf_db_put(struct sf_db_pool *pool, PGconn *conn);

/* Applies the embedded sql/ migrations not yet recorded, under an advisory
 * lock so that coordinators starting together do not race. */
int sf_db_migrate(PGconn *conn);

struct sf_submission {
	const char *sha256;
	long long size;
	const char *ecosystem;
	int priority;
	int max_attempts;
	const char *name;    /* optional: package name, NULL if not given */
	const char *version; /* optional */
	const char *labels;  /* optional: comma-separated */
};
/* Records artifact (once), scan and job in one transaction; fills scan_id. */
int sf_db_submit(PGconn *conn, const struct sf_submission *s, char scan_id[SF_UUID_LEN + 1]);

struct sf_claim {
	int64_t job_id;
	int32_t attempt;
	char scan_id[SF_UUID_LEN + 1];
	char sha256[SF_SHA256_HEX + 1];
	long long size;
	char ecosystem[32];
	int64_t lease_deadline_ms;
	int64_t token; /* the request it was leased in reply to, 0: none */
};
/* A free slot of a waiting worker: one job may be leased to worker_id in
 * reply to its request token (NULL/0: not recorded). */
struct sf_slot {
	const char *worker_id;
	int64_t token;
};
/* Claims one job per slot at most, the most urgent for the first slot;
 * *n says how many, each claim names the token of its slot. */
int sf_db_claim_slots(PGconn *conn, int lease_s, const struct sf_slot *slots, int nslots,
		      struct sf_claim *claims, int *n);
/* Claims the most urgent ready job and leases it for lease_s seconds.
 * Returns 0 with *claimed = false when nothing is ready. */
int sf_db_claim(PGconn *conn, int lease_s, struct sf_claim *c, bool *claimed);
/* Claims up to max ready jobs at once, most urgent first, leased to
 * worker_id in reply to its request `token` (NULL/0: not recorded); *n
 * says how many. */
int sf_db_claim_many(PGconn *conn, int lease_s, int max, const char *worker_id, int64_t token,
		     struct sf_claim *claims, int *n);
/* Gives a claimed job back unchanged (it could not be sent). */
int sf_db_unclaim(PGconn *conn, int64_t job_id, int32_t attempt);

/* Re-queues running jobs whose lease expired, or whose worker has sent
 * nothing for worker_live_s seconds (0: leases only), with attempt + 1 to
 * run again after backoff_s * attempt seconds; dead-letters those at
 * max_attempts. */
int sf_db_reap(PGconn *conn, int backoff_s, int worker_live_s, int *requeued, int *dead);
/* Jobs leased to worker_id that never reached it: those sent in reply to
 * its request `token`, whose reply it says it never got, or (token 0) all of
 * them, when the worker has just started and so runs none. They are
 * re-queued now (attempt + 1, no back-off) or dead-lettered on their last
 * attempt. */
int sf_db_requeue_lost(PGconn *conn, const char *worker_id, int64_t token, int *requeued,
		       int *dead);

enum sf_ingest_result {
	SF_INGEST_STORED,
	SF_INGEST_DUPLICATE, /* (job, attempt, seq) seen before */
	SF_INGEST_STALE,     /* superseded attempt, finished or dead job */
	SF_INGEST_UNKNOWN,   /* no such job */
};
int sf_db_ingest(PGconn *conn, const struct sf_batch *b, enum sf_ingest_result *result);
/* The same, also telling which scan a stored batch belongs to. */
int sf_db_ingest_scan(PGconn *conn, const struct sf_batch *b, enum sf_ingest_result *result,
		      char scan_id_out[SF_UUID_LEN + 1]);

/* Records a worker's hello or heartbeat in the workers table. */
int sf_db_worker_seen(PGconn *conn, const struct sf_hello *h);

/* The verdict cache: a finished scan of artifact sha256 produced by the
 * rules and sandbox image that a worker seen in the last live_s seconds
 * runs. *found says whether there is one. */
int sf_db_cached_verdict(PGconn *conn, const char *sha256, int live_s,
			 char scan_id[SF_UUID_LEN + 1], bool *found);

/* Cancels a queued or running scan: 0, -EALREADY if it has ended, -ENOENT. */
int sf_db_cancel(PGconn *conn, const char *scan_id);

/* Runs one statement without parameters; logs and returns -EIO on failure. */
/* 0 when r is a successful result; otherwise logs "postgresql: what: …"
 * and returns -EIO. r stays the caller's to PQclear. */
int sf_db_result_ok(PGconn *conn, PGresult *r, const char *what);
int sf_db_exec(PGconn *conn, const char *sql);

#endif
