/*
 * bulk — batch submissions for nightly runs (POST /v1/batches) and their
 * view (GET /v1/batches/<id>). (Artifacts uploaded without a scan, POST
 * /v1/artifacts, are recorded by enqueue.h.)
 *
 * A batch is one JSON document: {"priority", "labels", "rescan", "items"}.
 * Each item names bytes already in the artifact store ({"sha256", …}) or a
 * package reference the coordinator fetches itself ({"package",
 * "version"}, see resolve.h). Items are judged one by one — a bad item gets
 * an error with a code and does not sink the others — and then recorded in
 * one transaction: new scans and jobs, references waiting in resolve_queue
 * (their scans are 'queued' without an artifact: phase 'resolving'), and
 * one scan_batch_items row per item. Bytes already scanned with the rules
 * and image a live worker runs (the verdict cache of enqueue.h, as for POST
 * /v1/scans) and references resolved before (package_resolutions) answer at
 * once. New jobs are created by jobs.h, in the batch's transaction.
 * The statements are set-based (jsonb_to_recordset), so a batch of ten
 * thousand items costs a handful of round trips.
 *
 * (Named bulk, not batch: wire.h's sf_batch is a worker's result batch.)
 *
 * Owns: nothing after return. Calls: store (to see that bytes are there),
 * resolve (registry URL, name rules, wake-up), enqueue (verdict cache),
 * jobs (creating jobs), db (statement helpers), util, jansson, libpq, log.
 * Returned json_t are owned by the caller.
 */
#ifndef SF_BULK_H
#define SF_BULK_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "resolve.h"
#include "store.h"

struct sf_bulk_config {
	int max_items;	   /* more: -E2BIG (413) */
	int max_attempts;  /* of each job */
	int worker_live_s; /* verdict cache: a worker heard from this recently */
	struct sf_store *store;
	struct sf_resolve *resolve; /* package references; NULL refuses them */
};

/*
 * Records the batch in body[0..len). 0 with *out = the answer
 * {"id", "status": "accepted", "items": [{index, scan_id, status, cached,
 * artifact, phase} | {index, error: {code, message}}], "counts": {…}}
 * and *cache_hits; -EINVAL (malformed: msg says why, 400), -E2BIG (too many
 * items, 413), -EIO (database, 503) or -ENOMEM.
 */
int sf_bulk_submit(PGconn *conn, const struct sf_bulk_config *cfg, const char *body, size_t len,
		   json_t **out, unsigned *cache_hits, char *msg, size_t msglen);

/*
 * GET /v1/batches/<id>: the batch, counts of its items by scan status, and
 * a page of its items in order (limit, cursor = next_cursor of the previous
 * page). -ENOENT, -EINVAL (bad cursor), -EIO.
 */
int sf_bulk_view(PGconn *conn, const char *batch_id, int limit, const char *cursor,
		 json_t **out);

#endif
