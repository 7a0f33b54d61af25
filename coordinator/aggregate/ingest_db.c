/* ingest_db — see ingest_db.h. */
#include "ingest_db.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "jobs.h"
#include "log.h"

/* Appends s to a COPY text-format row, escaping what COPY would read as
 * structure; NULL becomes \N. */
static int ingest_db_field(struct sf_buf *row, const char *s, bool last)
{
	int rc = 0;
	if (!s) {
		rc = sf_buf_append(row, "\\N", 2);
	} else {
		for (const char *p = s; *p && !rc;) {
			size_t plain = strcspn(p, "\\\t\n\r");
			if (plain) {
				rc = sf_buf_append(row, p, plain);
				p += plain;
				continue;
			}
			char esc[2] = {'\\', *p == '\t' ? 't' : *p == '\n' ? 'n' : *p == '\r' ? 'r' : '\\'};
			rc = sf_buf_append(row, esc, 2);
			p++;
		}
	}
	return rc ? rc : sf_buf_append(row, last ? "\n" : "\t", 1);
}

/* One alert as a COPY row of the alerts table's columns. */
static int ingest_db_alert_row(struct sf_buf *row, const char *scan_id, const char *const *ids,
			const struct sf_alert *a)
{
	json_t *tags = json_array();
	json_t *fields = json_object();
	char *tags_s = NULL, *fields_s = NULL, when[32];
	int rc = -ENOMEM;
	if (!tags || !fields)
		goto out;
	for (uint32_t i = 0; i < a->ntags; i++)
		json_array_append_new(tags, json_string(a->tags[i]));
	for (uint32_t i = 0; i < a->nfields; i++)
		json_object_set_new(fields, a->fields[i].key,
				    a->fields[i].value ? json_string(a->fields[i].value)
						       : json_null());
	tags_s = json_dumps(tags, JSON_COMPACT);
	fields_s = json_dumps(fields, JSON_COMPACT);
	if (!tags_s || !fields_s)
		goto out;
	snprintf(when, sizeof(when), "%lld", (long long)a->time_ns);
	const char *cols[] = {scan_id, ids[0], ids[1], ids[2], when, a->priority, a->rule,
			      a->output, a->source, a->hostname, tags_s, fields_s};
	rc = 0;
	for (size_t i = 0; i < 12 && !rc; i++)
		rc = ingest_db_field(row, cols[i], i == 11);
out:
	free(tags_s);
	free(fields_s);
	json_decref(tags);
	json_decref(fields);
	return rc;
}

/* Streams rows into `COPY <target> FROM STDIN` in chunks of about 1 MiB;
 * fill(i, buf) appends row i. */
static int ingest_db_copy(PGconn *conn, const char *copy_sql, uint32_t n,
		   int (*fill)(void *ctx, uint32_t i, struct sf_buf *buf), void *ctx)
{
	PGresult *r = PQexec(conn, copy_sql);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		sf_error("postgresql: %s: %s", copy_sql, PQerrorMessage(conn));
		PQclear(r);
		return -EIO;
	}
	PQclear(r);
	struct sf_buf buf = {0};
	int rc = 0;
	for (uint32_t i = 0; i < n && !rc; i++) {
		rc = fill(ctx, i, &buf);
		if (!rc && (buf.len >= (1u << 20) || i + 1 == n)) {
			if (PQputCopyData(conn, buf.data, (int)buf.len) != 1)
				rc = -EIO;
			buf.len = 0;
		}
	}
	sf_buf_free(&buf);
	if (PQputCopyEnd(conn, rc ? "scanfarm: row encoding failed" : NULL) != 1)
		rc = rc ? rc : -EIO;
	while ((r = PQgetResult(conn)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			if (!rc)
				sf_error("postgresql: %s: %s", copy_sql, PQerrorMessage(conn));
			rc = rc ? rc : -EIO;
		}
		PQclear(r);
	}
	return rc;
}

struct ingest_db_ctx {
	const struct sf_batch *b;
	const char *scan_id;
	const char *const *ids;
};

static int ingest_db_fill_alert(void *ctx, uint32_t i, struct sf_buf *buf)
{
	struct ingest_db_ctx *c = ctx;
	return ingest_db_alert_row(buf, c->scan_id, c->ids, &c->b->alerts[i]);
}

static int ingest_db_fill_fact(void *ctx, uint32_t i, struct sf_buf *buf)
{
	struct ingest_db_ctx *c = ctx;
	const struct sf_fact *f = &c->b->facts[i];
	int rc;
	if ((rc = ingest_db_field(buf, c->scan_id, false)) ||
	    (rc = ingest_db_field(buf, f->kind, false)) ||
	    (rc = ingest_db_field(buf, f->value, false)))
		return rc;
	return ingest_db_field(buf, f->detail ? f->detail : "", true);
}

int sf_ingest_db_store(PGconn *conn, const struct sf_batch *b, enum sf_ingest_result *result)
{
	return sf_ingest_db_store_scan(conn, b, result, NULL);
}

int sf_ingest_db_store_scan(PGconn *conn, const struct sf_batch *b,
			    enum sf_ingest_result *result, char scan_id_out[SF_UUID_LEN + 1])
{
	char id[32], att[16], seq[16];
	snprintf(id, sizeof(id), "%lld", (long long)b->job_id);
	snprintf(att, sizeof(att), "%d", b->attempt);
	snprintf(seq, sizeof(seq), "%d", b->seq);
	const char *ids[] = {id, att, seq};
	struct sf_jobs_batch rec;
	int rc;
	/* A batch without alerts or facts is that one statement, atomic on its
	 * own; bulk rows follow it in the same transaction. */
	bool bulk = b->nalerts || b->nfacts;
	if (bulk && (rc = sf_db_exec(conn, "BEGIN")))
		return rc;
	if ((rc = sf_jobs_record_batch(conn, b, &rec)))
		goto fail;
	if (!rec.found) {
		*result = SF_INGEST_UNKNOWN;
		goto done;
	}
	if (!rec.current) {
		*result = SF_INGEST_STALE;
		goto done;
	}
	if (!rec.fresh) {
		*result = SF_INGEST_DUPLICATE;
		goto done;
	}
	if (!rec.scan_updated) {
		sf_error("ingest: job %s has no scan %s", id, rec.scan_id);
		rc = -EIO;
		goto fail;
	}
	/* Bulk rows go through COPY: the batch row inserted above makes the
	 * whole transaction idempotent, so alerts need no conflict check; facts
	 * are deduplicated across batches through a staging table. */
	struct ingest_db_ctx ictx = {.b = b, .scan_id = rec.scan_id, .ids = ids};
	if (b->nalerts &&
	    (rc = ingest_db_copy(conn,
				 "COPY alerts (scan_id, job_id, attempt, seq, time_ns, priority, rule,"
				 " output, source, hostname, tags, output_fields) FROM STDIN",
				 b->nalerts, ingest_db_fill_alert, &ictx)))
		goto fail;
	if (b->nfacts &&
	    ((rc = sf_db_exec(conn, "CREATE TEMP TABLE IF NOT EXISTS facts_stage"
				    " (scan_id uuid, kind text, value text, detail text)"
				    " ON COMMIT DELETE ROWS")) ||
	     (rc = ingest_db_copy(conn,
				  "COPY facts_stage (scan_id, kind, value, detail) FROM STDIN",
				  b->nfacts, ingest_db_fill_fact, &ictx)) ||
	     (rc = sf_db_exec(conn, "INSERT INTO facts (scan_id, kind, value, detail)"
				    " SELECT DISTINCT scan_id, kind, value, detail FROM facts_stage"
				    " ON CONFLICT DO NOTHING"))))
		goto fail;
	*result = SF_INGEST_STORED;
	if (scan_id_out)
		memcpy(scan_id_out, rec.scan_id, SF_UUID_LEN + 1);
done:
	return bulk ? sf_db_exec(conn, "COMMIT") : 0;
fail:
	if (bulk)
		sf_db_rollback(conn);
	return rc;
}

