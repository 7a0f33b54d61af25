/*
 * ingest_db — stores a worker's result batch, idempotently: the batch is
 * recorded against its job (jobs.h: one prepared statement that also moves
 * the job and its scan, and gives a final batch's phases to the scan), and
 * only a fresh batch of the job's current attempt brings its alerts, facts
 * (with their package and phase) and installed packages (scan_packages),
 * through COPY, in the same transaction. A batch seen before, or of a
 * superseded attempt, changes nothing. A final batch with an error (the
 * scan fails with it as its reason) keeps the alerts and facts it carries.
 *
 * Owns: nothing. Calls: jobs (recording the batch), db (statement helpers),
 * wire (batch type), util, jansson, libpq, log. Returns 0 or a negative
 * errno code; -EIO means PostgreSQL said no (logged).
 */
#ifndef SF_INGEST_DB_H
#define SF_INGEST_DB_H

#include <libpq-fe.h>

#include "wire.h"

enum sf_ingest_result {
	SF_INGEST_STORED,
	SF_INGEST_DUPLICATE, /* (job, attempt, seq) seen before */
	SF_INGEST_STALE,     /* superseded attempt, finished or dead job */
	SF_INGEST_UNKNOWN,   /* no such job */
};
int sf_ingest_db_store(PGconn *conn, const struct sf_batch *b, enum sf_ingest_result *result);
/* The same, also telling which scan a stored batch belongs to. */
int sf_ingest_db_store_scan(PGconn *conn, const struct sf_batch *b,
			    enum sf_ingest_result *result, char scan_id_out[SF_UUID_LEN + 1]);

#endif
