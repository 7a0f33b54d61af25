/*
 * upload — the API's requests with a body, from the first call to the
 * answer:
 *
 *   scan      POST /monitor/project/npm|bundler, POST /v1/scans: a body
 *             streamed into the artifact store while it is hashed; once the
 *             bytes are fsynced, a pypi or rubygems body is judged by its
 *             content (inspect.h: 422 when it is not an artifact of its
 *             ecosystem), then the verdict cache answers or a scan is
 *             queued (enqueue.h), and only then the client is answered
 *   artifact  POST|PUT /v1/artifacts: the same bytes, stored with no scan
 *   batch     POST /v1/batches: a JSON document (bulk.h), the one body kept
 *             in memory, up to max_batch_bytes; or, as application/x-ndjson,
 *             one item a line, streamed (ndjson.h)
 *
 * libmicrohttpd calls for the headers (a *_start), then per body chunk and
 * once more at the end (sf_api_upload_body); sf_api_upload_done ends a
 * request either way. A connection that drops mid-upload leaves nothing
 * behind. `in_progress` counts requests from their first call until they
 * are done: a graceful shutdown waits for it to drop to zero.
 *
 * Owns: the per-request state (struct sf_api_upload, freed by
 * sf_api_upload_done). Calls: query (its checked parameters), store (the
 * bytes), enqueue (scans, artifact rows), inspect (what a body is), bulk
 * (batches), ndjson (streamed batches), metrics (counters), reply, db
 * (pool), util, log, libmicrohttpd, jansson.
 */
#ifndef SF_UPLOAD_H
#define SF_UPLOAD_H

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bulk.h"
#include "db.h"
#include "enqueue.h"
#include "inspect.h"
#include "metrics.h"
#include "ndjson.h"
#include "query.h"
#include "store.h"
#include "util.h"

struct sf_upload_config {
	long long max_upload;	   /* bytes of one artifact, 0 = unlimited */
	long long max_batch_bytes; /* a batch's JSON body */
	struct sf_inspect_limits inspect; /* pypi and rubygems bodies */
};

/* What the uploads reach, and how many are in progress. */
struct sf_api_uploads {
	struct sf_upload_config cfg;
	struct sf_enqueue_config enqueue;
	struct sf_bulk_config bulk;
	struct sf_store *store;
	struct sf_db_pool *pool;
	struct sf_metrics *metrics;
	atomic_uint in_progress;
};

/* State of one request with a body, allocated by its *_start. */
struct sf_api_upload {
	struct sf_upload up;
	bool uploading;
	bool rescan;	    /* ?rescan=1: bypass the verdict cache */
	bool answered;	    /* an error response was queued mid-upload */
	bool v1;	    /* POST /v1/scans: answer in the /v1 shape */
	bool artifact;	    /* POST|PUT /v1/artifacts: store the bytes, no scan */
	bool bulk;	    /* POST /v1/batches: a JSON body, kept in memory (bounded) */
	struct sf_buf body; /* the JSON body so far */
	struct sf_ndjson *ndjson; /* …or the streamed batch (NDJSON) */
	bool overflow;	    /* …went past max_batch_bytes: answered 413 at the end */
	long long dropped;  /* bytes received after that */
	char ecosystem[16];
	char network[16]; /* "" = the worker's default */
	int priority;
	char name[256], version[128], labels[512];
	int64_t started_us; /* set by the server: the request's duration runs from here */
};

/* The first call of each kind: refuses at once (an answer queued, *con_cls
 * left NULL) or sets *con_cls to the request's state. q is the request's
 * query, read and checked by query.h (borrowed for the call). */
enum MHD_Result sf_api_upload_scan_start(struct sf_api_uploads *u, struct MHD_Connection *c,
					 const char *ecosystem, const struct sf_query *q, bool v1,
					 void **con_cls);
enum MHD_Result sf_api_upload_artifact_start(struct sf_api_uploads *u,
					     struct MHD_Connection *c, void **con_cls);
enum MHD_Result sf_api_upload_batch_start(struct sf_api_uploads *u, struct MHD_Connection *c,
					  const struct sf_query *q, void **con_cls);
/* Every later call: a chunk of the body (*size > 0, consumed) or its end
 * (the answer). */
enum MHD_Result sf_api_upload_body(struct sf_api_uploads *u, struct MHD_Connection *c,
				   struct sf_api_upload *req, const char *data, size_t *size);
/* The request is over (answered, or its connection gone): a body still
 * being stored is discarded, the state freed. */
void sf_api_upload_done(struct sf_api_uploads *u, struct sf_api_upload *req, int toe);

#endif
