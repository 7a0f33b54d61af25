/*
 * workers — the workers table: what each worker said of itself in its last
 * hello or heartbeat (version, capacity, running jobs, sensor, the rules
 * and sandbox image it runs), and when. A worker silent for more than
 * live_s seconds counts as gone; the verdict cache (enqueue.h) and the
 * reaper (jobs.h) read the same table.
 *
 * Owns: nothing. Calls: db (statement helpers), wire (hello type),
 * jansson, libpq. Returned json_t are the caller's.
 */
#ifndef SF_WORKERS_H
#define SF_WORKERS_H

#include <jansson.h>
#include <libpq-fe.h>

#include "wire.h"

/* Records a worker's hello or heartbeat. */
int sf_workers_seen(PGconn *conn, const struct sf_hello *h);

/* GET /v1/workers: *out = [{id, version, capacity, running, sensor,
 * ruleset_digest, image_digest, first_seen, last_seen, state: live|gone}]
 * by id. -EIO (silently) when PostgreSQL does not answer, -ENOMEM. */
int sf_workers_list(PGconn *conn, int live_s, json_t **out);

/* For /metrics: workers heard from within live_s seconds, and the others.
 * -EIO (silently) when PostgreSQL does not answer. */
int sf_workers_count(PGconn *conn, int live_s, long long *live, long long *gone);

#endif
