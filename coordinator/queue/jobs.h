/*
 * jobs — the life cycle of a job, and the one module that writes the jobs
 * table: created (with its scan, by submit), claimed under a lease (by
 * dispatch), given back, re-queued (expired lease, silent worker, a reply
 * its worker never got) or dead-lettered on its last attempt, finished by
 * its final result batch (ingest), or cancelled. Each step also moves its
 * scan's status, in the same statement.
 *
 *   queued ──claim──▶ running ──final batch──▶ done
 *     ▲                 │  └──last attempt lost──▶ dead
 *     └──re-queue───────┘        cancel (queued|running) ──▶ dead
 *
 * Claims use FOR UPDATE SKIP LOCKED so several claimers (threads or
 * coordinators) never get the same job. Creating jobs sends NOTIFY
 * scanfarm_jobs, a wake-up hint for the dispatchers (delivered at commit).
 *
 * Owns: nothing. Calls: db (statement helpers), wire (batch type), util,
 * jansson, libpq, log. All functions return 0 or a negative errno code;
 * -EIO means PostgreSQL said no (the message is logged).
 */
#ifndef SF_JOBS_H
#define SF_JOBS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* Queues one job per scan, in the order given (job ids follow it), and
 * wakes the dispatchers. network: the install and import phases' network
 * ("sinkhole", "offline"), NULL for the worker's default. Runs in the
 * caller's transaction, so the jobs commit with their scans; n = 0 does
 * nothing. */
int sf_jobs_create(PGconn *conn, const char *const *scan_ids, size_t n, int priority,
		   int max_attempts, const char *network);

struct sf_claim {
	int64_t job_id;
	int32_t attempt;
	char scan_id[SF_UUID_LEN + 1];
	char sha256[SF_SHA256_HEX + 1];
	long long size;
	char ecosystem[32];
	char network[16]; /* "" = the worker's default */
	char kind[16];	  /* what inspect.c read the body to be; "" = not inspected */
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
int sf_jobs_claim_slots(PGconn *conn, int lease_s, const struct sf_slot *slots, int nslots,
			struct sf_claim *claims, int *n);
/* Claims the most urgent ready job and leases it for lease_s seconds.
 * Returns 0 with *claimed = false when nothing is ready. */
int sf_jobs_claim(PGconn *conn, int lease_s, struct sf_claim *c, bool *claimed);
/* Claims up to max ready jobs at once, most urgent first, leased to
 * worker_id in reply to its request `token` (NULL/0: not recorded); *n
 * says how many. */
int sf_jobs_claim_many(PGconn *conn, int lease_s, int max, const char *worker_id,
		       int64_t token, struct sf_claim *claims, int *n);
/* Gives a claimed job back unchanged (it could not be sent). */
int sf_jobs_unclaim(PGconn *conn, int64_t job_id, int32_t attempt);

/* Re-queues running jobs whose lease expired, or whose worker has sent
 * nothing for worker_live_s seconds (0: leases only), with attempt + 1 to
 * run again after backoff_s * attempt seconds; dead-letters those at
 * max_attempts. */
int sf_jobs_reap(PGconn *conn, int backoff_s, int worker_live_s, int *requeued, int *dead);
/* Jobs leased to worker_id that never reached it: those sent in reply to
 * its request `token`, whose reply it says it never got, or (token 0) all of
 * them, when the worker has just started and so runs none. They are
 * re-queued now (attempt + 1, no back-off) or dead-lettered on their last
 * attempt. */
int sf_jobs_requeue_lost(PGconn *conn, const char *worker_id, int64_t token, int *requeued,
			 int *dead);

/* What recording a result batch found (sf_jobs_record_batch). */
struct sf_jobs_batch {
	bool found;	   /* the job exists */
	bool current;	   /* the batch's attempt is the job's current one */
	bool fresh;	   /* …and the batch was not seen before: it was recorded */
	bool scan_updated; /* its scan took the batch's counts (and outcome) */
	char scan_id[SF_UUID_LEN + 1];
};
/* Records batch b against its job in one prepared statement: the batch row
 * (once per job, attempt and seq), and for a fresh batch of the current
 * attempt the job's and the scan's progress — the final batch finishes the
 * job, and its phases_json (a JSON array the caller built from b->phases,
 * NULL: none sent) becomes the scan's phases. Alerts, facts and packages are
 * the caller's (ingest_db). */
int sf_jobs_record_batch(PGconn *conn, const struct sf_batch *b, const char *phases_json,
			 struct sf_jobs_batch *out);

/* Cancels a queued or running scan: 0, -EALREADY if it has ended, -ENOENT. */
int sf_jobs_cancel(PGconn *conn, const char *scan_id);

/* Jobs by state, for /metrics (shared by every coordinator of the
 * database). -EIO, silently, when PostgreSQL does not answer. */
struct sf_jobs_counts {
	long long dead, done, queued, running;
};
int sf_jobs_count_by_state(PGconn *conn, struct sf_jobs_counts *out);

#endif
