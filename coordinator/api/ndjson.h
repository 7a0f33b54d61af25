/*
 * ndjson — POST /v1/batches with Content-Type application/x-ndjson: a
 * batch streamed one reference (or sha256 item) a line, for nightly runs
 * of tens of thousands of packages without one giant document on either
 * side. Query: priority (-1000…1000), labels ("k=v,label"), rescan=1.
 *
 * Lines are taken as they arrive (a line longer than SF_NDJSON_MAX_LINE is
 * an item refused); every SF_NDJSON_CHUNK lines are judged and written
 * (bulk.h's stream: one transaction held for the request, so a request cut
 * off leaves nothing) and their answers spooled to an unnamed temporary
 * file. libmicrohttpd answers only once the body is read, so the answer
 * follows the last line: 202, Content-Type application/x-ndjson, a first
 * line {"id", "status": "accepted", "counts"} and then one line per item
 * in order ({"index", "scan_id", "status", "cached", "artifact", "phase"}
 * or {"index", "error": {code, message}}), streamed from the spool. Memory
 * is bounded by one chunk on the way in and a buffer on the way out.
 *
 * Owns: the per-request state (sf_ndjson_free), its database connection
 * until then, the spool. Calls: query (its parameters' struct), bulk (the
 * stream), db (pool), reply, metrics, log, libmicrohttpd, jansson, libc.
 */
#ifndef SF_NDJSON_H
#define SF_NDJSON_H

#include <microhttpd.h>
#include <stddef.h>

#include "bulk.h"
#include "db.h"
#include "metrics.h"
#include "query.h"

#define SF_NDJSON_MAX_LINE 16384
#define SF_NDJSON_CHUNK 1000

struct sf_ndjson;

/* The request's first call, with its query as query.h read it
 * (SF_QUERY_BATCH_SUBMIT; borrowed): NULL with an answer queued (*reply)
 * when the labels are refused or the stream cannot begin. */
struct sf_ndjson *sf_ndjson_begin(struct sf_db_pool *pool, const struct sf_bulk_config *cfg,
				  const struct sf_query *q, struct MHD_Connection *c,
				  enum MHD_Result *reply);
/* A chunk of the body. MHD_NO cuts the connection (a body going on long
 * after it was refused). */
enum MHD_Result sf_ndjson_chunk(struct sf_ndjson *n, const char *data, size_t len);
/* The end of the body: the answer (or the error met on the way). */
enum MHD_Result sf_ndjson_finish(struct sf_ndjson *n, struct MHD_Connection *c,
				 struct sf_metrics *metrics);
/* The request is over: a stream not committed is rolled back. */
void sf_ndjson_free(struct sf_ndjson *n);

#endif
