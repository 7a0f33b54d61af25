/* bulk — see bulk.h. */
#include "bulk.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "enqueue.h"
#include "integrity.h"
#include "jobs.h"
#include "inspect.h"
#include "log.h"
#include "resolve_pypi.h"
#include "util.h"

#define BULK_MAX_LABELS 32
#define BULK_LABEL_MAX 128
#define BULK_VIEW_TIME "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'"

/* One item as judged: refused (code set), or a scan — new, resolving (no
 * sha256 yet) or from the verdict cache. */
struct bulk_item {
	char code[32];
	char message[256];
	char sha256[SF_SHA256_HEX + 1];
	long long size;
	char scan_id[SF_UUID_LEN + 1];
	bool cached;
	bool reference; /* a package reference (resolved or not) */
	const char *ecosystem, *name, *version, *package; /* borrowed from the document */
	char norm[SF_PYPI_NAME_MAX + 1]; /* a reference's name as recorded (PEP 503 for pypi) */
	/* what stored pypi or rubygems bytes are (inspect.h); "" otherwise */
	char kind[16], kind_name[256], kind_version[128];
	const char *integrity; /* a reference's pinned SRI (integrity.h), borrowed; or NULL */
	json_t *labels;	       /* owned */
};

/* A short text field: printable (no control characters), at most max bytes. */
static bool bulk_text_ok(const char *s, size_t max)
{
	size_t len = strlen(s);
	if (len == 0 || len > max)
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static bool bulk_label_ok(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > BULK_LABEL_MAX)
		return false;
	for (const char *p = s; *p; p++)
		if (*p < 0x20 || *p > 0x7e || *p == ',')
			return false;
	return true;
}

/* Appends labels given as ["a", "b"] or {"key": "value"} ("key=value") to
 * out; false with msg when they are malformed. */
static bool bulk_labels(json_t *v, json_t *out, char *msg, size_t msglen)
{
	if (!v || json_is_null(v))
		return true;
	const char *key;
	json_t *e;
	size_t i;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			const char *s = json_string_value(e);
			if (!s || !bulk_label_ok(s)) {
				snprintf(msg, msglen, "labels: each is a printable string of 1 to %d"
					 " bytes without a comma", BULK_LABEL_MAX);
				return false;
			}
			if (json_array_size(out) >= BULK_MAX_LABELS) {
				snprintf(msg, msglen, "labels: at most %d", BULK_MAX_LABELS);
				return false;
			}
			json_array_append_new(out, json_string(s));
		}
		return true;
	}
	if (!json_is_object(v)) {
		snprintf(msg, msglen, "labels must be an object of strings or an array of strings");
		return false;
	}
	json_object_foreach(v, key, e) {
		char label[BULK_LABEL_MAX + 2];
		const char *s = json_string_value(e);
		int n = s ? snprintf(label, sizeof(label), "%s=%s", key, s) : -1;
		if (!s || !key[0] || n < 0 || (size_t)n >= sizeof(label) || !bulk_label_ok(label) ||
		    strchr(key, '=')) {
			snprintf(msg, msglen, "labels: each key=value is printable, at most %d bytes,"
				 " without a comma", BULK_LABEL_MAX);
			return false;
		}
		if (json_array_size(out) >= BULK_MAX_LABELS) {
			snprintf(msg, msglen, "labels: at most %d", BULK_MAX_LABELS);
			return false;
		}
		json_array_append_new(out, json_string(label));
	}
	return true;
}

static void bulk_refuse(struct bulk_item *it, const char *code, const char *fmt, const char *arg)
{
	sf_strlcpy(it->code, code, sizeof(it->code));
	snprintf(it->message, sizeof(it->message), fmt, arg ? arg : "");
}

/* Stored bytes named as a pypi or rubygems item: what they are, or the
 * item refused. Closes fd. */
static int bulk_inspect(const struct sf_bulk_config *cfg, struct bulk_item *it, int fd)
{
	struct sf_inspection *ins = malloc(sizeof(*ins));
	if (!ins) {
		close(fd);
		return -ENOMEM;
	}
	int rc = sf_inspect_fd(fd, it->ecosystem, &cfg->inspect, ins);
	close(fd);
	if (rc == 0) {
		sf_strlcpy(it->kind, ins->kind, sizeof(it->kind));
		sf_strlcpy(it->kind_name, ins->name, sizeof(it->kind_name));
		sf_strlcpy(it->kind_version, ins->version, sizeof(it->kind_version));
	} else if (rc != -ENOMEM) {
		bulk_refuse(it, rc == -EFBIG ? "too_large" : "invalid_artifact", "%s", ins->message);
		it->sha256[0] = '\0';
		rc = 0;
	}
	free(ins);
	return rc;
}

/* Judges one item; a refusal is recorded in it->code, never returned. */
static int bulk_judge(const struct sf_bulk_config *cfg, json_t *v, json_t *batch_labels,
		      struct bulk_item *it)
{
	if (!json_is_object(v)) {
		bulk_refuse(it, "bad_item", "an item must be a JSON object%s", NULL);
		return 0;
	}
	json_t *eco = json_object_get(v, "ecosystem");
	it->ecosystem = eco ? json_string_value(eco) : "npm";
	if (!it->ecosystem || (strcmp(it->ecosystem, "npm") != 0 &&
			       strcmp(it->ecosystem, "pypi") != 0 &&
			       strcmp(it->ecosystem, "rubygems") != 0)) {
		bulk_refuse(it, "unsupported_ecosystem", "ecosystem must be npm, pypi or rubygems%s",
			    NULL);
		it->ecosystem = NULL;
		return 0;
	}
	json_t *sha = json_object_get(v, "sha256"), *pkg = json_object_get(v, "package");
	if ((sha != NULL) == (pkg != NULL)) {
		bulk_refuse(it, "bad_item", "an item has either sha256 or package (with version)%s",
			    NULL);
		return 0;
	}
	if (!(it->labels = json_deep_copy(batch_labels)))
		return -ENOMEM;
	char msg[200];
	if (!bulk_labels(json_object_get(v, "labels"), it->labels, msg, sizeof(msg))) {
		bulk_refuse(it, "bad_item", "%s", msg);
		return 0;
	}
	json_t *name = json_object_get(v, "name"), *version = json_object_get(v, "version");
	if (pkg) {
		it->package = json_string_value(pkg);
		it->version = json_string_value(version);
		if (!it->package || !it->version ||
		    !sf_resolve_reference_valid(it->ecosystem, it->package, it->version, it->norm,
						sizeof(it->norm))) {
			bulk_refuse(it, "bad_item",
				    "package must be a valid %s name and version an exact version such"
				    " as 1.3.0 (no ranges or tags)",
				    it->ecosystem);
			return 0;
		}
		json_t *pin = json_object_get(v, "integrity");
		it->integrity = json_string_value(pin);
		if (pin && (!it->integrity || !sf_integrity_valid(it->integrity))) {
			bulk_refuse(it, "bad_item",
				    "integrity must be a Subresource Integrity string such as"
				    " sha512-<base64>%s",
				    NULL);
			return 0;
		}
		if (!cfg->resolve) {
			bulk_refuse(it, "resolver_unavailable",
				    "this coordinator does not fetch package references%s", NULL);
			return 0;
		}
		it->package = it->name = it->norm;
		it->reference = true;
		return 0;
	}
	it->name = name ? json_string_value(name) : NULL;
	it->version = version ? json_string_value(version) : NULL;
	if ((name && (!it->name || !bulk_text_ok(it->name, 255))) ||
	    (version && (!it->version || !bulk_text_ok(it->version, 127)))) {
		bulk_refuse(it, "bad_item",
			    "name (255 bytes) and version (127) must be short printable strings%s", NULL);
		return 0;
	}
	const char *hex = json_string_value(sha);
	if (!hex || strlen(hex) != SF_SHA256_HEX || !sf_is_hex(hex, SF_SHA256_HEX)) {
		bulk_refuse(it, "bad_item", "sha256 must be 64 hex digits%s", NULL);
		return 0;
	}
	for (int i = 0; i < SF_SHA256_HEX; i++)
		it->sha256[i] = (char)tolower((unsigned char)hex[i]);
	int fd;
	if (sf_store_open_artifact(cfg->store, it->sha256, &fd, &it->size) != 0) {
		bulk_refuse(it, "unknown_artifact",
			    "no artifact %s in the store: upload it first (POST /v1/artifacts)",
			    it->sha256);
		it->sha256[0] = '\0';
		return 0;
	}
	if (sf_inspect_ecosystem(it->ecosystem))
		return bulk_inspect(cfg, it, fd);
	close(fd);
	return 0;
}

/* References resolved before (package_resolutions) whose bytes are still
 * stored become plain artifacts — unless the item pins an integrity the
 * registry's bytes do not have (refused: integrity_mismatch, no scan), or
 * one of another algorithm (left to the resolver, which hashes the bytes). */
static int bulk_known_references(PGconn *db, const struct sf_bulk_config *cfg,
				 struct bulk_item *its, size_t n)
{
	json_t *refs = json_array();
	if (!refs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!its[i].code[0] && its[i].reference)
			json_array_append_new(
			    refs, json_pack("{s:I,s:s,s:s,s:s,s:s}", "idx", (json_int_t)i, "package",
					    its[i].package, "version", its[i].version, "ecosystem",
					    its[i].ecosystem, "registry",
					    sf_resolve_registry(cfg->resolve, its[i].ecosystem)));
	if (json_array_size(refs) == 0) {
		json_decref(refs);
		return 0;
	}
	char *doc = json_dumps(refs, JSON_COMPACT);
	json_decref(refs);
	if (!doc)
		return -ENOMEM;
	const char *p[] = {doc};
	PGresult *r = sf_db_params(
	    db,
	    "SELECT x.idx, p.sha256, coalesce(p.integrity, '') FROM jsonb_to_recordset($1::jsonb)"
	    " AS x(idx int, package text, version text, ecosystem text, registry text)"
	    " JOIN package_resolutions p ON p.registry = x.registry AND p.ecosystem = x.ecosystem"
	    " AND p.package = x.package AND p.version = x.version",
	    1, p);
	free(doc);
	int rc = sf_db_result_ok(db, r, "batch: known references");
	for (int row = 0; rc == 0 && row < PQntuples(r); row++) {
		long idx = strtol(PQgetvalue(r, row, 0), NULL, 10);
		if (idx < 0 || (size_t)idx >= n)
			continue;
		struct bulk_item *it = &its[idx];
		const char *known = PQgetvalue(r, row, 2);
		enum sf_integrity_verdict v =
		    it->integrity ? sf_integrity_compare(it->integrity, known) : SF_INTEGRITY_AGREE;
		if (v == SF_INTEGRITY_DISAGREE) {
			char m[sizeof(it->message)];
			snprintf(m, sizeof(m), "the lockfile pins %.100s, the registry publishes %.100s",
				 it->integrity, known);
			bulk_refuse(it, "integrity_mismatch", "%s", m);
			continue;
		}
		if (v == SF_INTEGRITY_UNKNOWN)
			continue;
		int fd;
		sf_strlcpy(it->sha256, PQgetvalue(r, row, 1), sizeof(it->sha256));
		if (sf_store_open_artifact(cfg->store, it->sha256, &fd, &it->size) == 0)
			close(fd);
		else
			it->sha256[0] = '\0'; /* gone from the store: fetch again */
	}
	PQclear(r);
	return rc;
}

/* The verdict cache (enqueue.h) for every artifact of the batch at once. */
static int bulk_verdicts(PGconn *db, const struct sf_bulk_config *cfg, const char *network,
			 struct bulk_item *its, size_t n, unsigned *hits)
{
	const char **shas = calloc(n, sizeof(*shas)), **ecos = calloc(n, sizeof(*ecos));
	size_t *idx = calloc(n, sizeof(*idx));
	char(*found)[SF_UUID_LEN + 1] = calloc(n, sizeof(*found));
	size_t m = 0;
	int rc = -ENOMEM;
	if (!shas || !ecos || !idx || !found)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (its[i].code[0] || !its[i].sha256[0])
			continue;
		shas[m] = its[i].sha256;
		ecos[m] = its[i].ecosystem;
		idx[m++] = i;
	}
	rc = sf_enqueue_verdicts(db, shas, ecos, m, cfg->worker_live_s, network, found);
	for (size_t k = 0; rc == 0 && k < m; k++) {
		if (!found[k][0])
			continue;
		struct bulk_item *it = &its[idx[k]];
		sf_strlcpy(it->scan_id, found[k], sizeof(it->scan_id));
		it->cached = true;
		(*hits)++;
	}
out:
	free(shas);
	free(ecos);
	free(idx);
	free(found);
	return rc;
}

/* The new jobs of the batch (items with bytes, neither refused nor cached),
 * in the batch's order. */
static int bulk_jobs(PGconn *db, const struct sf_bulk_config *cfg, int priority,
		     const char *network, const struct bulk_item *its, size_t n)
{
	const char **ids = calloc(n, sizeof(*ids));
	size_t m = 0;
	if (!ids)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!its[i].code[0] && !its[i].cached && its[i].sha256[0])
			ids[m++] = its[i].scan_id;
	int rc = sf_jobs_create(db, ids, m, priority, cfg->max_attempts, network);
	free(ids);
	return rc;
}

/* Writes items its[0..n), numbered from base, of batch_id inside the
 * caller's transaction: set-based statements over the items as one JSON
 * document. *jobs and *resolving say whether jobs were created and
 * references queued for the resolver. network: the scans' (NULL: the
 * worker's default). */
static int bulk_write_items(PGconn *db, const struct sf_bulk_config *cfg, const char *batch_id,
			    size_t base, int priority, const char *network, struct bulk_item *its,
			    size_t n, bool *jobs, bool *resolving)
{
	json_t *rows = json_array();
	char *doc = NULL;
	int rc = -ENOMEM;
	*jobs = *resolving = false;
	if (!rows)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct bulk_item *it = &its[i];
		bool fresh = !it->code[0] && !it->cached;
		const char *registry = it->reference ? sf_resolve_registry(cfg->resolve, it->ecosystem)
						     : NULL;
		json_t *o = json_pack(
		    "{s:I,s:o,s:o,s:I,s:o,s:o,s:o,s:o,s:o,s:b,s:b,s:o,s:o,s:o}", "idx",
		    (json_int_t)(base + i),
		    "scan_id", it->code[0] ? json_null() : json_string(it->scan_id), "sha256",
		    it->sha256[0] ? json_string(it->sha256) : json_null(), "size",
		    (json_int_t)it->size, "ecosystem", json_string(it->ecosystem ? it->ecosystem : "npm"),
		    "name", it->name ? json_string(it->name) : json_null(), "version",
		    it->version ? json_string(it->version) : json_null(), "package",
		    it->package ? json_string(it->package) : json_null(), "labels",
		    it->labels ? json_incref(it->labels) : json_array(), "new", fresh, "cached",
		    it->cached, "code", it->code[0] ? json_string(it->code) : json_null(), "message",
		    it->code[0] ? json_string(it->message) : json_null(), "integrity",
		    it->integrity && !it->code[0] ? json_string(it->integrity) : json_null());
		if (o && registry)
			json_object_set_new(o, "registry", json_string(registry));
		if (o && it->kind[0])
			json_object_set_new(o, "kind",
					    json_pack("{s:s,s:s,s:s}", "kind", it->kind, "name",
						      it->kind_name, "version", it->kind_version));
		if (!o || json_array_append_new(rows, o))
			goto out;
		*jobs |= fresh && it->sha256[0];
		*resolving |= fresh && !it->sha256[0];
	}
	if (!(doc = json_dumps(rows, JSON_COMPACT)))
		goto out;
	char prio[16], attempts[16];
	snprintf(prio, sizeof(prio), "%d", priority);
	snprintf(attempts, sizeof(attempts), "%d", cfg->max_attempts);
	const char *jp[] = {doc};
	const char *qp[] = {doc, prio, attempts, network};
	const char *ip[] = {doc, batch_id};
#define BULK_ROWS                                                                          \
	" FROM jsonb_to_recordset($1::jsonb) AS x(idx int, scan_id uuid, sha256 text, size bigint," \
	" ecosystem text, name text, version text, package text, labels jsonb, new boolean,"  \
	" cached boolean, code text, message text, registry text, kind jsonb, integrity text)"
	if ((rc = sf_db_run(db, "artifacts",
			    "INSERT INTO artifacts (sha256, size) SELECT DISTINCT x.sha256, x.size"
			    BULK_ROWS " WHERE x.new AND x.sha256 IS NOT NULL"
			    " ON CONFLICT (sha256) DO NOTHING",
			    1, jp, NULL)) ||
	    (rc = sf_db_run(db, "artifact kinds",
			    "INSERT INTO artifact_kinds (sha256, ecosystem, kind, name, version)"
			    " SELECT DISTINCT ON (x.sha256, x.ecosystem) x.sha256, x.ecosystem,"
			    " x.kind->>'kind', nullif(x.kind->>'name', ''),"
			    " nullif(x.kind->>'version', '')" BULK_ROWS
			    " WHERE x.new AND x.sha256 IS NOT NULL AND x.kind IS NOT NULL"
			    " ON CONFLICT (sha256, ecosystem) DO NOTHING",
			    1, jp, NULL)) ||
	    /* a reference resolved before keeps how its bytes were checked */
	    (rc = sf_db_run(db, "scans",
			    "INSERT INTO scans (id, artifact_sha256, ecosystem, name, version, labels,"
			    " resolved_url, resolved_integrity)"
			    " SELECT x.scan_id, x.sha256, x.ecosystem, x.name, x.version,"
			    " ARRAY(SELECT jsonb_array_elements_text(x.labels)), p.tarball_url,"
			    " p.integrity" BULK_ROWS
			    " LEFT JOIN package_resolutions p ON x.package IS NOT NULL"
			    " AND p.registry = x.registry AND p.ecosystem = x.ecosystem"
			    " AND p.package = x.package AND p.version = x.version"
			    " AND p.sha256 = x.sha256"
			    " WHERE x.new ORDER BY x.idx",
			    1, jp, NULL)) ||
	    (*jobs && (rc = bulk_jobs(db, cfg, priority, network, its, n))) ||
	    (*resolving &&
	     (rc = sf_db_run(db, "resolve queue",
			     "INSERT INTO resolve_queue (scan_id, registry, ecosystem, package, version,"
			     " priority, job_max_attempts, network, pinned_integrity) SELECT x.scan_id,"
			     " x.registry, x.ecosystem, x.package, x.version, $2, $3, $4, x.integrity"
			     BULK_ROWS
			     " WHERE x.new AND x.sha256 IS NULL ORDER BY x.idx",
			     4, qp, NULL))) ||
	    (rc = sf_db_run(db, "items",
			    "INSERT INTO scan_batch_items (batch_id, idx, scan_id, cached, error_code,"
			    " error_message) SELECT $2, x.idx, x.scan_id, x.cached, x.code, x.message"
			    BULK_ROWS,
			    2, ip, NULL)))
		goto out;
#undef BULK_ROWS
out:
	free(doc);
	json_decref(rows);
	return rc;
}

/* Opens the batch's transaction and records the batch row (items: its
 * count, or 0 to be set when a stream ends). */
static int bulk_write_begin(PGconn *db, const char *batch_id, int priority, const char *network,
			    json_t *labels, bool rescan, size_t items)
{
	char *labels_s = json_dumps(labels, JSON_COMPACT);
	if (!labels_s)
		return -ENOMEM;
	char prio[16], count[16];
	snprintf(prio, sizeof(prio), "%d", priority);
	snprintf(count, sizeof(count), "%zu", items);
	const char *bp[] = {batch_id, prio, labels_s, rescan ? "true" : "false", count, network};
	int rc;
	if ((rc = sf_db_run(db, "begin", "BEGIN", 0, NULL, NULL)) ||
	    (rc = sf_db_run(db, "durable", "SET LOCAL synchronous_commit = on", 0, NULL, NULL)) ||
	    (rc = sf_db_run(db, "batch",
			    "INSERT INTO scan_batches (id, priority, labels, rescan, items, network)"
			    " VALUES ($1, $2, ARRAY(SELECT jsonb_array_elements_text($3::jsonb)), $4, $5,"
			    " $6)",
			    6, bp, NULL)))
		sf_db_rollback(db);
	free(labels_s);
	return rc;
}

/* Writes the batch: one transaction. */
static int bulk_write(PGconn *db, const struct sf_bulk_config *cfg, const char *batch_id,
		      int priority, const char *network, json_t *labels, bool rescan,
		      struct bulk_item *its, size_t n, bool *jobs, bool *resolving)
{
	int rc = bulk_write_begin(db, batch_id, priority, network, labels, rescan, n);
	if (rc)
		return rc;
	if ((rc = bulk_write_items(db, cfg, batch_id, 0, priority, network, its, n, jobs,
				   resolving)) ||
	    (rc = sf_db_run(db, "commit", "COMMIT", 0, NULL, NULL)))
		sf_db_rollback(db);
	return rc;
}

/* One item's answer: its scan, or why it was refused. */
static json_t *bulk_item_answer(const struct bulk_item *it, size_t index)
{
	if (it->code[0])
		return json_pack("{s:I,s:{s:s,s:s}}", "index", (json_int_t)index, "error", "code",
				 it->code, "message", it->message);
	return json_pack("{s:I,s:s,s:s,s:b,s:o,s:o}", "index", (json_int_t)index, "scan_id",
			 it->scan_id, "status", it->cached ? "finished" : "queued", "cached",
			 it->cached, "artifact", it->sha256[0] ? json_string(it->sha256) : json_null(),
			 "phase", it->sha256[0] ? json_null() : json_string("resolving"));
}

/* Counts of what the items became. */
struct bulk_counts {
	json_int_t items, cached, queued, resolving, rejected;
};

static void bulk_count(struct bulk_counts *k, const struct bulk_item *its, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct bulk_item *it = &its[i];
		k->items++;
		if (it->code[0]) {
			k->rejected++;
			continue;
		}
		k->cached += it->cached;
		k->queued += !it->cached && it->sha256[0];
		k->resolving += !it->sha256[0];
	}
}

static json_t *bulk_counts_json(const struct bulk_counts *k)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "items", k->items, "accepted",
			 k->items - k->rejected, "cached", k->cached, "queued", k->queued,
			 "resolving", k->resolving, "rejected", k->rejected);
}

/* The answer: one entry per item, in order, and counts. */
static json_t *bulk_answer(const char *batch_id, const struct bulk_item *its, size_t n)
{
	json_t *items = json_array();
	struct bulk_counts k = {0};
	for (size_t i = 0; items && i < n; i++) {
		json_t *o = bulk_item_answer(&its[i], i);
		if (!o || json_array_append_new(items, o)) {
			json_decref(items);
			return NULL;
		}
	}
	if (!items)
		return NULL;
	bulk_count(&k, its, n);
	return json_pack("{s:s,s:s,s:o,s:o}", "id", batch_id, "status", "accepted", "items", items,
			 "counts", bulk_counts_json(&k));
}

/* After judging: remembered resolutions, the verdict cache (unless
 * rescan), and ids for the new scans. */
static int bulk_prepare(PGconn *conn, const struct sf_bulk_config *cfg, bool rescan,
			const char *network, struct bulk_item *its, size_t n, unsigned *cache_hits)
{
	int rc;
	if ((rc = bulk_known_references(conn, cfg, its, n)) ||
	    (!rescan && (rc = bulk_verdicts(conn, cfg, network, its, n, cache_hits))))
		return rc;
	for (size_t i = 0; i < n; i++)
		if (!its[i].code[0] && !its[i].cached && (rc = sf_uuid4(its[i].scan_id)))
			return rc;
	return 0;
}

/* A JSON batch as read and judged, before the database: what
 * sf_bulk_submit writes and sf_bulk_check (the fuzz target's way in) stops
 * at. */
struct bulk_read {
	json_t *doc, *labels;
	struct bulk_item *its;
	size_t n;
	int priority;
	bool rescan;
	const char *network; /* borrowed from doc; NULL: the worker's */
};

static void bulk_read_free(struct bulk_read *r)
{
	for (size_t i = 0; r->its && i < r->n; i++)
		json_decref(r->its[i].labels);
	free(r->its);
	json_decref(r->labels);
	json_decref(r->doc);
	memset(r, 0, sizeof(*r));
}

/* Reads the body: 0 (every item judged: accepted or refused with its
 * code), -EINVAL / -E2BIG with msg saying why, -ENOMEM. */
static int bulk_read_body(const struct sf_bulk_config *cfg, const char *body, size_t len,
			  struct bulk_read *r, char *msg, size_t msglen)
{
	json_error_t jerr;
	memset(r, 0, sizeof(*r));
	r->doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!(r->labels = json_array()))
		return -ENOMEM;
	if (!json_is_object(r->doc)) {
		snprintf(msg, msglen, "the body must be a JSON object: %s",
			 r->doc ? "it is not one" : jerr.text);
		return -EINVAL;
	}
	json_t *items = json_object_get(r->doc, "items");
	if (!json_is_array(items) || json_array_size(items) == 0) {
		snprintf(msg, msglen, "items must be a non-empty array");
		return -EINVAL;
	}
	size_t n = json_array_size(items);
	if (n > (size_t)cfg->max_items) {
		snprintf(msg, msglen, "a batch holds at most %d items", cfg->max_items);
		return -E2BIG;
	}
	json_t *prio = json_object_get(r->doc, "priority"),
	       *rescan = json_object_get(r->doc, "rescan");
	json_int_t priority = prio ? (json_is_integer(prio) ? json_integer_value(prio) : 9999) : 0;
	if (priority < -1000 || priority > 1000) {
		snprintf(msg, msglen, "priority must be an integer from -1000 to 1000");
		return -EINVAL;
	}
	if (rescan && !json_is_boolean(rescan)) {
		snprintf(msg, msglen, "rescan must be true or false");
		return -EINVAL;
	}
	json_t *netv = json_object_get(r->doc, "network");
	const char *network = json_string_value(netv);
	if (netv && (!network || (strcmp(network, "sinkhole") && strcmp(network, "offline")))) {
		snprintf(msg, msglen, "network must be \"sinkhole\" or \"offline\"");
		return -EINVAL;
	}
	if (!bulk_labels(json_object_get(r->doc, "labels"), r->labels, msg, msglen))
		return -EINVAL;
	if (!(r->its = calloc(n, sizeof(*r->its))))
		return -ENOMEM;
	r->n = n;
	r->priority = (int)priority;
	r->rescan = json_is_true(rescan);
	r->network = network;
	for (size_t i = 0; i < n; i++) {
		int rc = bulk_judge(cfg, json_array_get(items, i), r->labels, &r->its[i]);
		if (rc)
			return rc;
	}
	return 0;
}

int sf_bulk_check(const struct sf_bulk_config *cfg, const char *body, size_t len,
		  size_t *accepted, char *msg, size_t msglen)
{
	struct bulk_read r;
	int rc = bulk_read_body(cfg, body, len, &r, msg, msglen);
	*accepted = 0;
	for (size_t i = 0; rc == 0 && i < r.n; i++)
		*accepted += !r.its[i].code[0];
	bulk_read_free(&r);
	return rc;
}

int sf_bulk_submit(PGconn *conn, const struct sf_bulk_config *cfg, const char *body, size_t len,
		   json_t **out, unsigned *cache_hits, char *msg, size_t msglen)
{
	struct bulk_read r;
	*out = NULL;
	*cache_hits = 0;
	int rc = bulk_read_body(cfg, body, len, &r, msg, msglen);
	char batch_id[SF_UUID_LEN + 1];
	if (rc || (rc = bulk_prepare(conn, cfg, r.rescan, r.network, r.its, r.n, cache_hits)) ||
	    (rc = sf_uuid4(batch_id)))
		goto out;
	bool jobs, resolving;
	if ((rc = bulk_write(conn, cfg, batch_id, r.priority, r.network, r.labels, r.rescan, r.its,
			     r.n, &jobs, &resolving)))
		goto out;
	if (resolving)
		sf_resolve_wake(cfg->resolve);
	*out = bulk_answer(batch_id, r.its, r.n);
	rc = *out ? 0 : -ENOMEM;
	if (rc == 0)
		sf_info("batch %s: %zu items recorded (%u from the verdict cache)", batch_id, r.n,
			*cache_hits);
out:
	bulk_read_free(&r);
	return rc;
}

/* ------------------------------------------------------ streamed batches */

struct sf_bulk_stream {
	PGconn *db;
	const struct sf_bulk_config *cfg;
	char id[SF_UUID_LEN + 1];
	int priority;
	bool rescan, resolving;
	char network[16]; /* "" : the worker's */
	json_t *labels;
	struct bulk_counts counts;
	unsigned cache_hits;
};

int sf_bulk_stream_begin(PGconn *db, const struct sf_bulk_config *cfg, int priority,
			 const char *labels, bool rescan, const char *network,
			 struct sf_bulk_stream **out, char *msg, size_t msglen)
{
	struct sf_bulk_stream *s = calloc(1, sizeof(*s));
	json_t *given = json_array();
	int rc = -ENOMEM;
	*out = NULL;
	if (!s || !given || !(s->labels = json_array()))
		goto fail;
	/* labels as POST /v1/scans takes them: "a=b,c" */
	for (const char *p = labels ? labels : ""; *p;) {
		size_t n = strcspn(p, ",");
		if (n && json_array_append_new(given, json_stringn(p, n)))
			goto fail;
		p += n + (p[n] == ',');
	}
	rc = -EINVAL;
	if (!bulk_labels(given, s->labels, msg, msglen))
		goto fail;
	s->db = db;
	s->cfg = cfg;
	s->priority = priority;
	s->rescan = rescan;
	if (network && strcmp(network, "sinkhole") && strcmp(network, "offline")) {
		snprintf(msg, msglen, "network must be sinkhole or offline");
		goto fail;
	}
	snprintf(s->network, sizeof(s->network), "%s", network ? network : "");
	const char *net = s->network[0] ? s->network : NULL;
	if ((rc = sf_uuid4(s->id)) ||
	    (rc = bulk_write_begin(db, s->id, priority, net, s->labels, rescan, 0)))
		goto fail;
	json_decref(given);
	*out = s;
	return 0;
fail:
	json_decref(given);
	if (s)
		json_decref(s->labels);
	free(s);
	return rc;
}

const char *sf_bulk_stream_id(const struct sf_bulk_stream *s)
{
	return s->id;
}

int sf_bulk_stream_items(struct sf_bulk_stream *s, const char *const *lines, const size_t *lens,
			 size_t n, sf_bulk_answer_fn answer, void *ctx)
{
	if (s->counts.items + (json_int_t)n > s->cfg->max_stream_items)
		return -E2BIG;
	struct bulk_item *its = calloc(n ? n : 1, sizeof(*its));
	json_t **docs = calloc(n ? n : 1, sizeof(*docs));
	int rc = its && docs ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		json_error_t err;
		/* the document lives until the items are written: they borrow from it */
		docs[i] = json_loadb(lines[i], lens[i], JSON_REJECT_DUPLICATES, &err);
		if (!docs[i])
			bulk_refuse(&its[i], "bad_item", "not a JSON object: %s", err.text);
		else
			rc = bulk_judge(s->cfg, docs[i], s->labels, &its[i]);
	}
	bool jobs = false, resolving = false;
	size_t base = (size_t)s->counts.items;
	const char *net = s->network[0] ? s->network : NULL;
	if (rc == 0 &&
	    (rc = bulk_prepare(s->db, s->cfg, s->rescan, net, its, n, &s->cache_hits)) == 0)
		rc = bulk_write_items(s->db, s->cfg, s->id, base, s->priority, net, its, n, &jobs,
				      &resolving);
	if (rc == 0) {
		s->resolving |= resolving;
		bulk_count(&s->counts, its, n);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		json_t *o = bulk_item_answer(&its[i], base + i);
		rc = o ? answer(ctx, o) : -ENOMEM;
		json_decref(o);
	}
	for (size_t i = 0; its && docs && i < n; i++) {
		json_decref(its[i].labels);
		json_decref(docs[i]);
	}
	free(its);
	free(docs);
	return rc;
}

static void bulk_stream_free(struct sf_bulk_stream *s)
{
	json_decref(s->labels);
	free(s);
}

int sf_bulk_stream_commit(struct sf_bulk_stream *s, json_t **summary, unsigned *cache_hits)
{
	char count[24];
	snprintf(count, sizeof(count), "%lld", (long long)s->counts.items);
	const char *p[] = {s->id, count};
	int rc = s->counts.items ? 0 : -ENODATA;
	*summary = NULL;
	if (rc == 0 && ((rc = sf_db_run(s->db, "batch items",
					"UPDATE scan_batches SET items = $2 WHERE id = $1", 2, p,
					NULL)) ||
			(rc = sf_db_run(s->db, "commit", "COMMIT", 0, NULL, NULL))))
		rc = rc ? rc : -EIO;
	if (rc) {
		sf_db_rollback(s->db);
		bulk_stream_free(s);
		return rc;
	}
	if (s->resolving)
		sf_resolve_wake(s->cfg->resolve);
	*cache_hits = s->cache_hits;
	sf_info("batch %s: %lld streamed items recorded (%u from the verdict cache)", s->id,
		(long long)s->counts.items, s->cache_hits);
	*summary = json_pack("{s:s,s:s,s:o}", "id", s->id, "status", "accepted", "counts",
			     bulk_counts_json(&s->counts));
	bulk_stream_free(s);
	return *summary ? 0 : -ENOMEM;
}

void sf_bulk_stream_abort(struct sf_bulk_stream *s)
{
	if (!s)
		return;
	sf_db_rollback(s->db);
	bulk_stream_free(s);
}

int sf_bulk_view(PGconn *conn, const char *batch_id, int limit, const char *cursor,
		 json_t **out)
{
	char after[16] = "-1", lim[16];
	if (cursor) {
		size_t len = strlen(cursor);
		if (len == 0 || len > 9 || strspn(cursor, "0123456789") != len)
			return -EINVAL;
		sf_strlcpy(after, cursor, sizeof(after));
	}
	snprintf(lim, sizeof(lim), "%d", limit + 1);
	const char *p[] = {batch_id, after, lim};
	json_t *o = NULL, *list = NULL;
	PGresult *r = sf_db_params(
	    conn,
	    "SELECT b.id, b.priority, array_to_json(b.labels), b.rescan, b.items,"
	    " to_char(b.created_at AT TIME ZONE 'UTC', " BULK_VIEW_TIME "),"
	    " count(i.idx) FILTER (WHERE i.scan_id IS NULL),"
	    " count(i.idx) FILTER (WHERE i.cached),"
	    " count(s.id) FILTER (WHERE s.status = 'queued' AND s.artifact_sha256 IS NULL),"
	    " count(s.id) FILTER (WHERE s.status = 'queued'),"
	    " count(s.id) FILTER (WHERE s.status = 'running'),"
	    " count(s.id) FILTER (WHERE s.status = 'finished'),"
	    " count(s.id) FILTER (WHERE s.status = 'failed'), b.network"
	    " FROM scan_batches b LEFT JOIN scan_batch_items i ON i.batch_id = b.id"
	    " LEFT JOIN scans s ON s.id = i.scan_id WHERE b.id = $1 GROUP BY b.id",
	    1, p);
	int rc = sf_db_result_ok(conn, r, "batch: view");
	if (rc == 0 && PQntuples(r) == 0)
		rc = -ENOENT;
	if (rc) {
		PQclear(r);
		return rc;
	}
	long long c[7];
	for (int i = 0; i < 7; i++)
		c[i] = strtoll(PQgetvalue(r, 0, 6 + i), NULL, 10);
	json_error_t jerr;
	o = json_pack("{s:s,s:s,s:i,s:o,s:b,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I},s:b}", "id",
		      PQgetvalue(r, 0, 0), "created_at", PQgetvalue(r, 0, 5), "priority",
		      atoi(PQgetvalue(r, 0, 1)), "labels", json_loads(PQgetvalue(r, 0, 2), 0, &jerr),
		      "rescan", PQgetvalue(r, 0, 3)[0] == 't', "counts", "items",
		      (json_int_t)strtoll(PQgetvalue(r, 0, 4), NULL, 10), "rejected",
		      (json_int_t)c[0], "cached", (json_int_t)c[1], "resolving", (json_int_t)c[2],
		      "queued", (json_int_t)c[3], "running", (json_int_t)c[4], "finished",
		      (json_int_t)c[5], "failed", (json_int_t)c[6], "done", c[3] + c[4] == 0);
	if (o)
		json_object_set_new(o, "network", PQgetisnull(r, 0, 13)
						      ? json_null()
						      : json_string(PQgetvalue(r, 0, 13)));
	PQclear(r);
	if (!o)
		return -ENOMEM;
	r = sf_db_params(
	    conn,
	    "SELECT i.idx, i.scan_id, i.cached, i.error_code, i.error_message, s.status, s.reason,"
	    " s.name, s.version, s.artifact_sha256,"
	    " (SELECT count(*) FROM alerts a WHERE a.scan_id = s.id),"
	    " to_char(s.finished_at AT TIME ZONE 'UTC', " BULK_VIEW_TIME ")"
	    " FROM scan_batch_items i LEFT JOIN scans s ON s.id = i.scan_id"
	    " WHERE i.batch_id = $1 AND i.idx > $2::int ORDER BY i.idx LIMIT $3::int",
	    3, p);
	if ((rc = sf_db_result_ok(conn, r, "batch: view items")) || !(list = json_array())) {
		rc = rc ? rc : -ENOMEM;
		goto fail;
	}
	int rows = PQntuples(r), shown = rows > limit ? limit : rows;
#define BULK_OPT(col) (PQgetisnull(r, i, col) ? json_null() : json_string(PQgetvalue(r, i, col)))
	for (int i = 0; i < shown; i++) {
		json_int_t idx = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		json_t *e;
		if (PQgetisnull(r, i, 1)) {
			e = json_pack("{s:I,s:{s:s,s:s}}", "index", idx, "error", "code",
				      PQgetvalue(r, i, 3), "message", PQgetvalue(r, i, 4));
		} else {
			bool resolving = strcmp(PQgetvalue(r, i, 5), "queued") == 0 &&
					 PQgetisnull(r, i, 9);
			e = json_pack("{s:I,s:s,s:s,s:o,s:b,s:o,s:o,s:o,s:o,s:I,s:o}", "index", idx,
				      "scan_id", PQgetvalue(r, i, 1), "status", PQgetvalue(r, i, 5),
				      "phase", resolving ? json_string("resolving") : json_null(),
				      "cached", PQgetvalue(r, i, 2)[0] == 't', "reason", BULK_OPT(6),
				      "name", BULK_OPT(7), "version", BULK_OPT(8), "artifact",
				      BULK_OPT(9), "alerts",
				      (json_int_t)strtoll(PQgetvalue(r, i, 10), NULL, 10),
				      "finished_at", BULK_OPT(11));
		}
		if (!e || json_array_append_new(list, e)) {
			rc = -ENOMEM;
			goto fail;
		}
	}
#undef BULK_OPT
	json_t *next = json_null();
	if (rows > limit && shown > 0)
		next = json_string(PQgetvalue(r, shown - 1, 0));
	PQclear(r);
	json_object_set_new(o, "items", list);
	json_object_set_new(o, "next_cursor", next);
	*out = o;
	return 0;
fail:
	PQclear(r);
	json_decref(list);
	json_decref(o);
	return rc;
}
