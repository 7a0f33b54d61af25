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

/* A fact row: scan, kind, value, detail, package, phase ('' for none). */
static int ingest_db_fill_fact(void *ctx, uint32_t i, struct sf_buf *buf)
{
	struct ingest_db_ctx *c = ctx;
	const struct sf_fact *f = &c->b->facts[i];
	const char *cols[] = {c->scan_id,
			      f->kind,
			      f->value,
			      f->detail ? f->detail : "",
			      f->package ? f->package : "",
			      f->phase ? f->phase : ""};
	int rc = 0;
	for (size_t k = 0; k < 6 && !rc; k++)
		rc = ingest_db_field(buf, cols[k], k == 5);
	return rc;
}

/* A package row: scan, path, idx (the worker's order), name, version,
 * direct, install_scripts. */
static int ingest_db_fill_package(void *ctx, uint32_t i, struct sf_buf *buf)
{
	struct ingest_db_ctx *c = ctx;
	const struct sf_package *p = &c->b->packages[i];
	char idx[16];
	snprintf(idx, sizeof(idx), "%u", i);
	const char *cols[] = {c->scan_id,
			      p->path ? p->path : "",
			      idx,
			      p->name ? p->name : "",
			      p->version ? p->version : "",
			      p->direct ? "t" : "f",
			      p->install_scripts ? "t" : "f"};
	int rc = 0;
	for (size_t k = 0; k < 7 && !rc; k++)
		rc = ingest_db_field(buf, cols[k], k == 6);
	return rc;
}

/*
 * The batch's phases as the JSON array the scan keeps (sql/005): at most
 * SF_WIRE_MAX_PHASES, each {name, ran, exit_status (null if none),
 * timed_out, duration_ms, stdout_tail, stderr_tail, error, skipped}. *out is NULL
 * when the batch has none; else the caller frees it.
 */
static int ingest_db_phases_json(const struct sf_batch *b, char **out)
{
	*out = NULL;
	if (b->nphases == 0)
		return 0;
	uint32_t n = b->nphases < SF_WIRE_MAX_PHASES ? b->nphases : SF_WIRE_MAX_PHASES;
	json_t *arr = json_array();
	int rc = arr ? 0 : -ENOMEM;
	for (uint32_t i = 0; i < n && !rc; i++) {
		const struct sf_phase *ph = &b->phases[i];
		json_t *o = json_pack("{s:s?,s:b,s:o,s:b,s:I,s:s?,s:s?,s:s?,s:s?}", "name", ph->name,
				      "ran", ph->ran, "exit_status",
				      ph->has_exit_status ? json_integer(ph->exit_status)
							  : json_null(),
				      "timed_out", ph->timed_out, "duration_ms",
				      (json_int_t)ph->duration_ms, "stdout_tail", ph->stdout_tail,
				      "stderr_tail", ph->stderr_tail, "error", ph->error, "skipped",
				      ph->skipped);
		if (!o || json_array_append_new(arr, o))
			rc = -ENOMEM;
	}
	if (!rc) {
		*out = json_dumps(arr, JSON_COMPACT);
		rc = *out ? 0 : -ENOMEM;
	}
	json_decref(arr);
	return rc;
}

/*
 * The bulk rows of a fresh batch, through COPY: the batch row already
 * recorded makes the whole transaction idempotent, so alerts need no
 * conflict check; facts and packages are deduplicated across batches (and
 * within one) through staging tables.
 */
static int ingest_db_bulk(PGconn *conn, struct ingest_db_ctx *ictx)
{
	const struct sf_batch *b = ictx->b;
	int rc = 0;
	if (b->nalerts &&
	    (rc = ingest_db_copy(conn,
				 "COPY alerts (scan_id, job_id, attempt, seq, time_ns, priority, rule,"
				 " output, source, hostname, tags, output_fields) FROM STDIN",
				 b->nalerts, ingest_db_fill_alert, ictx)))
		return rc;
	if (b->nfacts &&
	    ((rc = sf_db_exec(conn, "CREATE TEMP TABLE IF NOT EXISTS facts_stage"
				    " (scan_id uuid, kind text, value text, detail text,"
				    "  package text, phase text) ON COMMIT DELETE ROWS")) ||
	     (rc = ingest_db_copy(conn,
				  "COPY facts_stage (scan_id, kind, value, detail, package, phase)"
				  " FROM STDIN",
				  b->nfacts, ingest_db_fill_fact, ictx)) ||
	     (rc = sf_db_exec(conn, "INSERT INTO facts (scan_id, kind, value, detail, package, phase)"
				    " SELECT DISTINCT scan_id, kind, value, detail, package, phase"
				    " FROM facts_stage ON CONFLICT DO NOTHING"))))
		return rc;
	uint32_t npk = b->npackages < SF_WIRE_MAX_ITEMS ? b->npackages : SF_WIRE_MAX_ITEMS;
	if (npk &&
	    ((rc = sf_db_exec(conn, "CREATE TEMP TABLE IF NOT EXISTS packages_stage"
				    " (scan_id uuid, path text, idx integer, name text, version text,"
				    "  direct boolean, install_scripts boolean) ON COMMIT DELETE ROWS")) ||
	     (rc = ingest_db_copy(conn,
				  "COPY packages_stage (scan_id, path, idx, name, version, direct,"
				  " install_scripts) FROM STDIN",
				  npk, ingest_db_fill_package, ictx)) ||
	     (rc = sf_db_exec(conn, "INSERT INTO scan_packages (scan_id, path, idx, name, version,"
				    " direct, install_scripts)"
				    " SELECT DISTINCT ON (scan_id, path) scan_id, path, idx, name,"
				    "  version, direct, install_scripts FROM packages_stage"
				    " ORDER BY scan_id, path, idx ON CONFLICT DO NOTHING"))))
		return rc;
	return 0;
}

int sf_ingest_db_store(PGconn *conn, const struct sf_batch *b, enum sf_ingest_result *result)
{
	return sf_ingest_db_store_scan(conn, b, result, NULL);
}

int sf_ingest_db_store_scan(PGconn *conn, const struct sf_batch *b,
			    enum sf_ingest_result *result, char scan_id_out[SF_UUID_LEN + 1])
{
	char id[32], att[16], seq[16], *phases = NULL;
	snprintf(id, sizeof(id), "%lld", (long long)b->job_id);
	snprintf(att, sizeof(att), "%d", b->attempt);
	snprintf(seq, sizeof(seq), "%d", b->seq);
	const char *ids[] = {id, att, seq};
	struct sf_jobs_batch rec;
	int rc = ingest_db_phases_json(b, &phases);
	if (rc)
		return rc;
	/* A batch without bulk rows is that one statement, atomic on its own;
	 * bulk rows follow it in the same transaction. */
	bool bulk = b->nalerts || b->nfacts || b->npackages;
	if (bulk && (rc = sf_db_exec(conn, "BEGIN")))
		goto out;
	if ((rc = sf_jobs_record_batch(conn, b, phases, &rec)))
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
	struct ingest_db_ctx ictx = {.b = b, .scan_id = rec.scan_id, .ids = ids};
	if ((rc = ingest_db_bulk(conn, &ictx)))
		goto fail;
	*result = SF_INGEST_STORED;
	if (scan_id_out)
		memcpy(scan_id_out, rec.scan_id, SF_UUID_LEN + 1);
done:
	rc = bulk ? sf_db_exec(conn, "COMMIT") : 0;
	goto out;
fail:
	if (bulk)
		sf_db_rollback(conn);
out:
	free(phases);
	return rc;
}
