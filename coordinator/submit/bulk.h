/*
 * bulk — batch submissions for nightly runs (POST /v1/batches) and their
 * view (GET /v1/batches/<id>). (Artifacts uploaded without a scan, POST
 * /v1/artifacts, are recorded by enqueue.h.)
 *
 * A batch is one JSON document: {"priority", "labels", "rescan", "items"}.
 * Each item names bytes already in the artifact store ({"sha256", …}) or a
 * package reference the coordinator fetches itself ({"package",
 * "version"}, see resolve.h), of an "ecosystem": npm (the default), pypi
 * or rubygems. pypi and rubygems bytes are inspected (inspect.h) and
 * refused (invalid_artifact) when they are not an artifact of it. Items are judged one by one — a bad item gets
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
 * inspect (what they are), resolve (sources' URLs, name rules, wake-up), enqueue (verdict cache),
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
	int max_items;	      /* more: -E2BIG (413) */
	long long max_stream_items; /* of one streamed batch */
	int max_attempts;  /* of each job */
	int worker_live_s; /* verdict cache: a worker heard from this recently */
	struct sf_store *store;
	struct sf_resolve *resolve; /* package references; NULL refuses them */
	struct sf_inspect_limits inspect; /* pypi and rubygems items naming stored bytes */
};

/* Reads and judges a JSON batch as sf_bulk_submit does, without the
 * database: 0 with *accepted (items not refused), or sf_bulk_submit's
 * -EINVAL / -E2BIG / -ENOMEM. What a fuzz target calls. */
int sf_bulk_check(const struct sf_bulk_config *cfg, const char *body, size_t len,
		  size_t *accepted, char *msg, size_t msglen);

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
 * A streamed batch (POST /v1/batches as NDJSON): begun, fed chunks of
 * lines (each one item, as in the JSON document's items), committed or
 * aborted — all in one transaction on conn, which the stream holds until
 * it ends, so a stream cut off leaves nothing. Each chunk is judged and
 * written like a JSON batch (remembered resolutions, the verdict cache,
 * set-based statements), and each of its items answered through answer
 * (the answer is borrowed for the call) in order. Memory is bounded by
 * the chunk, not the batch.
 */
struct sf_bulk_stream;
typedef int (*sf_bulk_answer_fn)(void *ctx, json_t *answer);
/* labels: "key=value,label" as POST /v1/scans takes them; network:
 * "sinkhole", "offline" or NULL (the worker's). -EINVAL (msg says why),
 * -EIO, -ENOMEM. */
int sf_bulk_stream_begin(PGconn *conn, const struct sf_bulk_config *cfg, int priority,
			 const char *labels, bool rescan, const char *network,
			 struct sf_bulk_stream **out, char *msg, size_t msglen);
const char *sf_bulk_stream_id(const struct sf_bulk_stream *s);
/* n lines (without their newline); an unparsable line is an item refused
 * (bad_item). -E2BIG past max_stream_items, -EIO, -ENOMEM, or answer's. */
int sf_bulk_stream_items(struct sf_bulk_stream *s, const char *const *lines, const size_t *lens,
			 size_t n, sf_bulk_answer_fn answer, void *ctx);
/* Commits (s is freed either way): *summary = {"id", "status", "counts"}
 * and *cache_hits. -ENODATA (no item), -EIO, -ENOMEM. */
int sf_bulk_stream_commit(struct sf_bulk_stream *s, json_t **summary, unsigned *cache_hits);
/* Rolls back and frees (NULL: nothing). */
void sf_bulk_stream_abort(struct sf_bulk_stream *s);

/*
 * GET /v1/batches/<id>: the batch, counts of its items by scan status, and
 * a page of its items in order (limit, cursor = next_cursor of the previous
 * page). -ENOENT, -EINVAL (bad cursor), -EIO.
 */
int sf_bulk_view(PGconn *conn, const char *batch_id, int limit, const char *cursor,
		 json_t **out);

#endif
