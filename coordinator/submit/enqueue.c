/* enqueue — see enqueue.h. */
#include "enqueue.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "jobs.h"
#include "log.h"

/* BEGIN, made durable: what follows is answered to a client, and the
 * session default is an asynchronous commit (db.h). */
static int enqueue_begin_durable(PGconn *conn)
{
	int rc;
	if ((rc = sf_db_exec(conn, "BEGIN")) ||
	    (rc = sf_db_exec(conn, "SET LOCAL synchronous_commit = on")))
		sf_db_rollback(conn);
	return rc;
}

int sf_enqueue_artifact(PGconn *conn, const char *sha256, long long size, bool *created)
{
	char sz[32];
	snprintf(sz, sizeof(sz), "%lld", size);
	const char *p[] = {sha256, sz};
	int rows = 0;
	int rc = sf_db_run(conn, "artifact",
			   "INSERT INTO artifacts (sha256, size) VALUES ($1, $2)"
			   " ON CONFLICT (sha256) DO NOTHING RETURNING 1",
			   2, p, &rows);
	if (created)
		*created = rc == 0 && rows == 1;
	return rc;
}

int sf_enqueue_artifact_record(PGconn *conn, const char *sha256, long long size,
			       bool *created)
{
	int rc;
	*created = false;
	if ((rc = enqueue_begin_durable(conn)))
		return rc;
	if ((rc = sf_enqueue_artifact(conn, sha256, size, created)) ||
	    (rc = sf_db_exec(conn, "COMMIT"))) {
		sf_db_rollback(conn);
		*created = false;
	}
	return rc;
}

int sf_enqueue_kind(PGconn *conn, const char *sha256, const char *ecosystem, const char *kind,
		    const char *name, const char *version)
{
	const char *p[] = {sha256, ecosystem, kind, name && name[0] ? name : NULL,
			   version && version[0] ? version : NULL};
	return sf_db_run(conn, "artifact kind",
			 "INSERT INTO artifact_kinds (sha256, ecosystem, kind, name, version)"
			 " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256, ecosystem) DO NOTHING",
			 5, p, NULL);
}

int sf_enqueue_submit(PGconn *conn, const struct sf_submission *s,
		      char scan_id[SF_UUID_LEN + 1])
{
	int rc = sf_uuid4(scan_id);
	if (rc)
		return rc;
	const char *scan[] = {scan_id, s->sha256, s->ecosystem, s->name, s->version,
			      s->labels ? s->labels : ""};
	const char *ids[] = {scan_id};
	if ((rc = enqueue_begin_durable(conn)))
		return rc;
	if ((rc = sf_enqueue_artifact(conn, s->sha256, s->size, NULL)) ||
	    (s->kind && (rc = sf_enqueue_kind(conn, s->sha256, s->ecosystem, s->kind,
					      s->detected_name, s->detected_version))) ||
	    (rc = sf_db_run(conn, "scan",
			    "INSERT INTO scans (id, artifact_sha256, ecosystem, name, version,"
			    " labels) VALUES ($1, $2, $3, $4, $5,"
			    " array_remove(string_to_array($6, ','), ''))",
			    6, scan, NULL)) ||
	    (rc = sf_jobs_create(conn, ids, 1, s->priority, s->max_attempts, s->network)) ||
	    (rc = sf_db_exec(conn, "COMMIT"))) {
		sf_db_rollback(conn);
		return rc;
	}
	return 0;
}

int sf_enqueue_verdicts(PGconn *conn, const char *const *sha256s,
			const char *const *ecosystems, size_t n, int live_s, const char *network,
			char (*scan_ids)[SF_UUID_LEN + 1])
{
	struct sf_buf arr = {0}, ecos = {0};
	json_t *seen = json_object(); /* "ecosystem sha256" → scan id */
	int rc = seen ? sf_buf_append(&arr, "{", 1) : -ENOMEM;
	if (rc == 0)
		rc = sf_buf_append(&ecos, "{", 1);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		scan_ids[i][0] = '\0';
		/* ecosystems are [a-z]+ (checked by the callers): no quoting needed */
		if ((rc = sf_buf_appendf(&arr, "%s%s", i ? "," : "", sha256s[i])) == 0)
			rc = sf_buf_appendf(&ecos, "%s%s", i ? "," : "",
					    ecosystems ? ecosystems[i] : "npm");
	}
	if (rc == 0 && n > 0 && (rc = sf_buf_append(&arr, "}", 1)) == 0 &&
	    (rc = sf_buf_append(&ecos, "}", 1)) == 0) {
		char live[16];
		snprintf(live, sizeof(live), "%d", live_s);
		const char *p[] = {arr.data, live, network, ecos.data};
		/* A finished scan of these bytes, for the same ecosystem, whose
		 * rules and image are what a live worker runs now, in the network
		 * asked for (one that ran in it, or was asked for the same way):
		 * its verdict is the one a rescan would give. */
		PGresult *r = sf_db_params(
		    conn,
		    "SELECT DISTINCT ON (s.artifact_sha256, s.ecosystem) s.ecosystem || ' ' ||"
		    " s.artifact_sha256, s.id"
		    " FROM unnest($1::text[], $4::text[]) AS x(sha256, ecosystem)"
		    " JOIN scans s ON s.artifact_sha256 = x.sha256 AND s.ecosystem = x.ecosystem"
		    " JOIN workers w ON w.ruleset_digest = s.ruleset_digest"
		    " AND w.image_digest = s.image_digest"
		    " WHERE s.status = 'finished'"
		    " AND w.last_seen > now() - make_interval(secs => $2::int)"
		    " AND (s.network = $3 OR EXISTS (SELECT 1 FROM jobs j WHERE j.scan_id = s.id"
		    "  AND j.network IS NOT DISTINCT FROM $3))"
		    " ORDER BY s.artifact_sha256, s.ecosystem, s.finished_at DESC",
		    4, p);
		rc = sf_db_result_ok(conn, r, "verdict cache");
		for (int row = 0; rc == 0 && row < PQntuples(r); row++)
			json_object_set_new(seen, PQgetvalue(r, row, 0),
					    json_string(PQgetvalue(r, row, 1)));
		PQclear(r);
		for (size_t i = 0; rc == 0 && i < n; i++) {
			char key[SF_SHA256_HEX + 40];
			snprintf(key, sizeof(key), "%s %s", ecosystems ? ecosystems[i] : "npm",
				 sha256s[i]);
			const char *id = json_string_value(json_object_get(seen, key));
			if (id)
				sf_strlcpy(scan_ids[i], id, SF_UUID_LEN + 1);
		}
	}
	json_decref(seen);
	sf_buf_free(&arr);
	sf_buf_free(&ecos);
	return rc;
}

int sf_enqueue_upload(PGconn *conn, const struct sf_enqueue_config *cfg,
		      const struct sf_submission *s, bool rescan, char scan_id[SF_UUID_LEN + 1],
		      bool *cached)
{
	struct sf_submission sub = *s;
	sub.max_attempts = cfg->max_attempts;
	*cached = false;
	/* The verdict cache: the same bytes, scanned to the end by the rules
	 * and sandbox image a live worker runs now, are answered at once. A
	 * lookup failure only costs a rescan. */
	if (!rescan && sf_enqueue_verdicts(conn, &sub.sha256, &sub.ecosystem, 1, cfg->worker_live_s,
					   sub.network, (char (*)[SF_UUID_LEN + 1])scan_id) == 0)
		*cached = scan_id[0] != '\0';
	if (*cached) {
		sf_info("artifact %s answered from the verdict cache: scan %s", sub.sha256, scan_id);
		return 0;
	}
	int rc = sf_enqueue_submit(conn, &sub, scan_id);
	if (rc == 0)
		sf_info("scan %s queued: %s %s %s (%lld bytes, priority %d, network %s)", scan_id,
			sub.ecosystem, sub.kind ? sub.kind : "artifact", sub.sha256, sub.size,
			sub.priority, sub.network ? sub.network : "default");
	return rc;
}
