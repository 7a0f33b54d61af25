/*
 * enqueue — how a submission becomes queued work: the artifact row (once
 * per sha256), the scan, and its job (jobs.h, which wakes the dispatchers)
 * in one durable transaction; and the verdict cache that may answer
 * instead: bytes already scanned to the end by the rules and sandbox image
 * that a live worker runs now get that scan, since a rescan would give the
 * same verdict. Uploads (POST /monitor/project/npm, POST /v1/scans) and
 * batches (bulk.h) ask the same cache; package references (resolve.h)
 * record their artifacts here too.
 *
 * Owns: nothing. Calls: jobs (creating the job), db (statement helpers),
 * util, jansson (a map of digests), libpq, log. Returns 0 or a negative
 * errno code; -EIO means PostgreSQL said no (logged).
 */
#ifndef SF_ENQUEUE_H
#define SF_ENQUEUE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* The submission policy's settings. */
struct sf_enqueue_config {
	int max_attempts;  /* of each job before it is dead-lettered */
	int worker_live_s; /* verdict cache: a worker heard from this recently */
};

struct sf_submission {
	const char *sha256;
	long long size;
	const char *ecosystem;
	int priority;
	int max_attempts;
	const char *name;    /* optional: package name, NULL if not given */
	const char *version; /* optional */
	const char *labels;  /* optional: comma-separated */
	const char *network; /* optional: "sinkhole" or "offline"; NULL: the worker's default */
	/* What the body is (inspect.h), recorded in artifact_kinds with the
	 * artifact; NULL kind: not inspected (npm). */
	const char *kind;
	const char *detected_name;    /* NULL or "" for none */
	const char *detected_version; /* likewise */
};
/* Records artifact (once), scan and job in one transaction, durable before
 * it returns (it is answered to a client); fills scan_id. */
int sf_enqueue_submit(PGconn *conn, const struct sf_submission *s,
		      char scan_id[SF_UUID_LEN + 1]);

/* An upload's submission: answered from the verdict cache (unless rescan;
 * *cached then) or submitted as a new scan. A failed cache lookup only
 * costs a rescan. s->max_attempts is taken from cfg. */
int sf_enqueue_upload(PGconn *conn, const struct sf_enqueue_config *cfg,
		      const struct sf_submission *s, bool rescan, char scan_id[SF_UUID_LEN + 1],
		      bool *cached);

/* The verdict cache for n artifacts at once: scan_ids[i] gets a finished
 * scan of sha256s[i] for ecosystems[i] (NULL: npm for all) by the rules
 * and image a worker seen within live_s seconds runs (the latest), in the
 * network asked for (network, NULL: one asked for with no network, i.e.
 * the workers' default), or "" when there is none. */
int sf_enqueue_verdicts(PGconn *conn, const char *const *sha256s,
			const char *const *ecosystems, size_t n, int live_s, const char *network,
			char (*scan_ids)[SF_UUID_LEN + 1]);

/* Records what the bytes are for an ecosystem (artifact_kinds), in the
 * caller's transaction; a row already there is kept. */
int sf_enqueue_kind(PGconn *conn, const char *sha256, const char *ecosystem, const char *kind,
		    const char *name, const char *version);

/* Records stored bytes in the artifacts table, in the caller's transaction
 * (if any); *created (if not NULL) says whether they were new to it. */
int sf_enqueue_artifact(PGconn *conn, const char *sha256, long long size, bool *created);
/* The same as its own durable transaction: bytes uploaded without a scan
 * (POST /v1/artifacts), answered to a client. */
int sf_enqueue_artifact_record(PGconn *conn, const char *sha256, long long size,
			       bool *created);

#endif
