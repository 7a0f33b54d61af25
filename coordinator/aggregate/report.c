/* report — see report.h. */
#include "report.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "log.h"
#include "util.h"

const char *sf_priority_enum_name(const char *p)
{
	static const struct {
		const char *in;
		const char *out;
	} map[] = {
	    {"emergency", "EMERGENCY"}, {"alert", "ALERT"},	  {"critical", "CRITICAL"},
	    {"error", "ERROR"},		{"warning", "WARNING"},	  {"warn", "WARNING"},
	    {"notice", "NOTICE"},	{"informational", "INFORMATIONAL"},
	    {"info", "INFORMATIONAL"},	{"debug", "DEBUG"},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(p, map[i].in) == 0)
			return map[i].out;
	return "INFORMATIONAL";
}

static json_t *report_json_text(const char *text)
{
	json_error_t err;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &err);
	return v ? v : json_null();
}

static int report_query(PGconn *conn, const char *sql, const char *scan_id, PGresult **out)
{
	const char *p[] = {scan_id};
	PGresult *r = PQexecParams(conn, sql, 1, NULL, p, NULL, NULL, 0);
	if (sf_db_result_ok(conn, r, "report")) {
		PQclear(r);
		return -EIO;
	}
	*out = r;
	return 0;
}

/* The columns of an alert row every alert view selects, in this order. */
#define REPORT_ALERT_COLS                                                                   \
	"time_ns, priority, rule, output, coalesce(source, 'syscall'), coalesce(hostname, ''),"   \
	" tags::text, output_fields::text,"                                                       \
	" to_char(to_timestamp(time_ns / 1e9) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* Row i (REPORT_ALERT_COLS) as Falco's gRPC `response` message rendered to
 * JSON, the shape Package Hunter's clients read; `falco_shape` false gives
 * /v1's shape (RFC 3339 time, Falco rule priority names). NULL: no memory. */
static json_t *report_alert_json(PGresult *r, int i, bool falco_shape)
{
	long long ns = strtoll(PQgetvalue(r, i, 0), NULL, 10);
	json_t *a;
	if (falco_shape) {
		char secs[32];
		snprintf(secs, sizeof(secs), "%lld", ns / 1000000000LL);
		const char *src = PQgetvalue(r, i, 4);
		a = json_pack("{s:{s:s,s:I},s:s,s:s,s:s,s:s,s:s}", "time", "seconds", secs, "nanos",
			      (json_int_t)(ns % 1000000000LL), "priority",
			      sf_priority_enum_name(PQgetvalue(r, i, 1)), "rule", PQgetvalue(r, i, 2),
			      "output", PQgetvalue(r, i, 3), "source",
			      strcasecmp(src, "syscall") == 0 ? "SYSCALL" : src, "hostname",
			      PQgetvalue(r, i, 5));
	} else {
		a = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "time", PQgetvalue(r, i, 8), "priority",
			      PQgetvalue(r, i, 1), "rule", PQgetvalue(r, i, 2), "output",
			      PQgetvalue(r, i, 3), "source", PQgetvalue(r, i, 4), "hostname",
			      PQgetvalue(r, i, 5));
	}
	if (!a)
		return NULL;
	json_object_set_new(a, "tags", report_json_text(PQgetvalue(r, i, 6)));
	json_object_set_new(a, "output_fields", report_json_text(PQgetvalue(r, i, 7)));
	return a;
}

/* All alerts of a scan, in time order. */
static int report_alerts(PGconn *conn, const char *scan_id, bool falco_shape, json_t **out)
{
	PGresult *r;
	int rc = report_query(conn,
			      "SELECT " REPORT_ALERT_COLS
			      " FROM alerts WHERE scan_id = $1 ORDER BY time_ns, id",
			      scan_id, &r);
	if (rc)
		return rc;
	json_t *arr = json_array();
	for (int i = 0; arr && i < PQntuples(r); i++) {
		json_t *a = report_alert_json(r, i, falco_shape);
		if (a)
			json_array_append_new(arr, a);
	}
	PQclear(r);
	if (!arr)
		return -ENOMEM;
	*out = arr;
	return 0;
}

static const char SCAN_SQL[] =
    "SELECT s.id, s.status, s.reason, s.exit_status, s.stdout_tail, s.stderr_tail,"
    " s.events, s.drops, s.duration_ms, s.ecosystem, s.artifact_sha256, a.size,"
    " to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
    " to_char(s.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
    " j.attempt, j.state, j.worker_id, s.name, s.version, array_to_json(s.labels),"
    " j.last_error, s.phases::text, s.network, j.network,"
    " k.kind, k.name, k.version, s.resolved_url, s.resolved_integrity"
    " FROM scans s LEFT JOIN artifacts a ON a.sha256 = s.artifact_sha256"
    " LEFT JOIN artifact_kinds k ON k.sha256 = s.artifact_sha256 AND k.ecosystem = s.ecosystem"
    " LEFT JOIN jobs j ON j.scan_id = s.id WHERE s.id = $1 ORDER BY j.id DESC LIMIT 1";

static json_t *report_str_or_null(PGresult *r, int col)
{
	return PQgetisnull(r, 0, col) ? json_null() : json_string(PQgetvalue(r, 0, col));
}

/* {"sha256", "size"} from row i, or null for a scan whose package reference
 * has not been resolved (sql/004_batches.sql). */
static json_t *report_artifact(PGresult *r, int i, int sha_col, int size_col)
{
	if (PQgetisnull(r, i, sha_col))
		return json_null();
	return json_pack("{s:s,s:I}", "sha256", PQgetvalue(r, i, sha_col), "size",
			 (json_int_t)strtoll(PQgetvalue(r, i, size_col), NULL, 10));
}

/* "resolving" while the coordinator fetches the scan's package reference,
 * else null. */
static json_t *report_phase(PGresult *r, int i, int status_col, int sha_col)
{
	return strcmp(PQgetvalue(r, i, status_col), "queued") == 0 && PQgetisnull(r, i, sha_col)
		   ? json_string("resolving")
		   : json_null();
}

/* The scan's phases (scans.phases, sql/005) with their keys in the
 * documented order (jsonb keeps its own); [] for a scan without any. */
static json_t *report_phases(const char *text)
{
	static const char *const keys[] = {"name",	  "ran",	 "exit_status", "timed_out",
					   "duration_ms", "stdout_tail", "stderr_tail", "error",
					   "skipped"};
	json_t *stored = text ? report_json_text(text) : NULL;
	json_t *arr = json_array();
	size_t i;
	json_t *ph;
	json_array_foreach(stored, i, ph)
	{
		json_t *o = json_object();
		for (size_t k = 0; o && k < sizeof(keys) / sizeof(keys[0]); k++) {
			json_t *v = json_object_get(ph, keys[k]);
			json_object_set(o, keys[k], v ? v : json_null());
		}
		if (o && arr)
			json_array_append_new(arr, o);
		else
			json_decref(o);
	}
	json_decref(stored);
	return arr;
}

/* The scan's row (SCAN_SQL), or -ENOENT. */
static int report_scan_row(PGconn *conn, const char *scan_id, PGresult **out)
{
	int rc = report_query(conn, SCAN_SQL, scan_id, out);
	if (rc == 0 && PQntuples(*out) == 0) {
		PQclear(*out);
		rc = -ENOENT;
	}
	return rc;
}

int sf_report_package_hunter(PGconn *conn, const char *scan_id, json_t **out)
{
	PGresult *r;
	int rc = report_scan_row(conn, scan_id, &r);
	if (rc)
		return rc;
	const char *status = PQgetvalue(r, 0, 1);
	const char *ph = strcmp(status, "finished") == 0 ? "finished"
			 : strcmp(status, "failed") == 0 ? "error"
							 : "pending";
	json_t *o = json_pack("{s:s,s:s}", "id", PQgetvalue(r, 0, 0), "status", ph);
	if (o && strcmp(ph, "error") == 0)
		json_object_set_new(o, "reason", report_str_or_null(r, 2));
	PQclear(r);
	if (!o)
		return -ENOMEM;
	if (strcmp(ph, "pending") != 0) {
		json_t *alerts;
		if ((rc = report_alerts(conn, scan_id, true, &alerts))) {
			json_decref(o);
			return rc;
		}
		json_object_set_new(o, "result", alerts);
	}
	*out = o;
	return 0;
}

static json_t *report_facts(PGresult *r)
{
	json_t *facts = json_object();
	for (int i = 0; facts && i < PQntuples(r); i++) {
		const char *kind = PQgetvalue(r, i, 0);
		json_t *list = json_object_get(facts, kind);
		if (!list) {
			list = json_array();
			json_object_set_new(facts, kind, list);
		}
		const char *detail = PQgetvalue(r, i, 2);
		json_t *f = json_pack("{s:s}", "value", PQgetvalue(r, i, 1));
		if (f && *detail)
			json_object_set_new(f, "detail", json_string(detail));
		if (f) {
			json_object_set_new(f, "package", json_string(PQgetvalue(r, i, 3)));
			json_object_set_new(f, "phase", json_string(PQgetvalue(r, i, 4)));
		}
		json_array_append_new(list, f);
	}
	return facts;
}

/*
 * The installed tree in the worker's order (the project first), each
 * package with what it did: ran_install_scripts when it declares install
 * scripts and a process of the install phase is attributed to it (the
 * project itself the same way: npm's own processes, attributed to the
 * project, do not count unless it declares such scripts), and how many of
 * the scan's alerts name it in output_fields["scanfarm.package"].
 */
static int report_packages(PGconn *conn, const char *scan_id, json_t **out)
{
	PGresult *r;
	int rc = report_query(
	    conn,
	    "WITH ran AS (SELECT DISTINCT package FROM facts"
	    "  WHERE scan_id = $1 AND kind = 'process' AND phase = 'install' AND package <> ''),"
	    " al AS (SELECT output_fields->>'scanfarm.package' AS package, count(*) AS n"
	    "  FROM alerts WHERE scan_id = $1 AND output_fields ? 'scanfarm.package' GROUP BY 1)"
	    " SELECT p.name, p.version, p.path, p.direct, p.install_scripts,"
	    "  p.install_scripts AND ran.package IS NOT NULL, coalesce(al.n, 0)"
	    " FROM scan_packages p"
	    " LEFT JOIN ran ON ran.package = p.name || '@' || p.version"
	    " LEFT JOIN al ON al.package = p.name || '@' || p.version"
	    " WHERE p.scan_id = $1 ORDER BY p.idx, p.path",
	    scan_id, &r);
	if (rc)
		return rc;
	json_t *arr = json_array();
	for (int i = 0; arr && i < PQntuples(r); i++) {
		json_t *p = json_pack("{s:s,s:s,s:s,s:b,s:b,s:b,s:I}", "name", PQgetvalue(r, i, 0),
				      "version", PQgetvalue(r, i, 1), "path", PQgetvalue(r, i, 2),
				      "direct", PQgetvalue(r, i, 3)[0] == 't', "install_scripts",
				      PQgetvalue(r, i, 4)[0] == 't', "ran_install_scripts",
				      PQgetvalue(r, i, 5)[0] == 't', "alerts",
				      (json_int_t)strtoll(PQgetvalue(r, i, 6), NULL, 10));
		if (!p || json_array_append_new(arr, p)) {
			json_decref(arr);
			arr = NULL;
		}
	}
	PQclear(r);
	if (!arr)
		return -ENOMEM;
	*out = arr;
	return 0;
}

int sf_report_v1(PGconn *conn, const char *scan_id, json_t **out)
{
	PGresult *r;
	int rc = report_scan_row(conn, scan_id, &r);
	if (rc)
		return rc;
	json_t *o = json_pack(
	    "{s:s,s:s,s:o,s:o,s:s,s:o,s:s,s:o,s:{s:o,s:o,s:o,s:o},s:{s:I,s:I},s:{s:o,s:o,s:o}}",
	    "id", PQgetvalue(r, 0, 0), "status", PQgetvalue(r, 0, 1), "phase",
	    report_phase(r, 0, 1, 10), "reason", report_str_or_null(r, 2), "ecosystem",
	    PQgetvalue(r, 0, 9), "artifact", report_artifact(r, 0, 10, 11), "created_at",
	    PQgetvalue(r, 0, 12), "finished_at", report_str_or_null(r, 13),
	    "install", "exit_status",
	    PQgetisnull(r, 0, 3) ? json_null() : json_integer(atoi(PQgetvalue(r, 0, 3))),
	    "stdout_tail", report_str_or_null(r, 4), "stderr_tail", report_str_or_null(r, 5),
	    "duration_ms",
	    PQgetisnull(r, 0, 8) ? json_null()
				 : json_integer(strtoll(PQgetvalue(r, 0, 8), NULL, 10)),
	    "sensor", "events", (json_int_t)strtoll(PQgetvalue(r, 0, 6), NULL, 10), "drops",
	    (json_int_t)strtoll(PQgetvalue(r, 0, 7), NULL, 10), "job", "attempt",
	    PQgetisnull(r, 0, 14) ? json_null() : json_integer(atoi(PQgetvalue(r, 0, 14))),
	    "state", report_str_or_null(r, 15), "worker_id", report_str_or_null(r, 16));
	if (o) {
		/* what the submitter said the artifact is (/v1 submissions) */
		json_object_set_new(o, "name", report_str_or_null(r, 17));
		json_object_set_new(o, "version", report_str_or_null(r, 18));
		json_object_set_new(o, "labels", report_json_text(PQgetvalue(r, 0, 19)));
		/* why the job was last re-queued or failed (kept when a later
		 * attempt succeeds, so a re-run explains itself) */
		json_t *job = json_object_get(o, "job");
		if (job)
			json_object_set_new(job, "last_error", report_str_or_null(r, 20));
		/* the install and import phases' network: as asked for (null: the
		 * worker's default), and as the scan ran (null until it has) */
		json_object_set_new(o, "network", report_str_or_null(r, 22));
		json_object_set_new(o, "network_requested", report_str_or_null(r, 23));
		/* what the bytes are, read from their content (pypi, rubygems;
		 * sql/009): kind, and the name and version their metadata gives */
		json_t *art = json_object_get(o, "artifact");
		if (json_is_object(art) && !PQgetisnull(r, 0, 24)) {
			json_object_set_new(art, "kind", json_string(PQgetvalue(r, 0, 24)));
			json_object_set_new(art, "name", report_str_or_null(r, 25));
			json_object_set_new(art, "version", report_str_or_null(r, 26));
		}
		/* a package reference: where its bytes came from and the digest
		 * they matched (null: the source announced none, not verified) */
		if (!PQgetisnull(r, 0, 27))
			json_object_set_new(o, "resolution",
					    json_pack("{s:s,s:o,s:b}", "url", PQgetvalue(r, 0, 27),
						      "integrity", report_str_or_null(r, 28),
						      "verified", !PQgetisnull(r, 0, 28)));
		/* fetch, install, import as the worker ran them ([] before any) */
		json_object_set_new(o, "phases",
				    report_phases(PQgetisnull(r, 0, 21) ? NULL
									: PQgetvalue(r, 0, 21)));
	}
	PQclear(r);
	if (!o)
		return -ENOMEM;
	json_t *alerts;
	if ((rc = report_alerts(conn, scan_id, false, &alerts)))
		goto fail;
	json_object_set_new(o, "alerts", alerts);
	json_t *packages;
	if ((rc = report_packages(conn, scan_id, &packages)))
		goto fail;
	json_object_set_new(o, "packages", packages);
	if ((rc = report_query(conn, "SELECT kind, value, detail, package, phase FROM facts"
				     " WHERE scan_id = $1 ORDER BY kind, value, detail, package, phase",
			       scan_id, &r)))
		goto fail;
	json_object_set_new(o, "facts", report_facts(r));
	PQclear(r);
	*out = o;
	return 0;
fail:
	json_decref(o);
	return rc;
}

int sf_report_list(PGconn *conn, const char *status, const char *artifact, int limit,
		   const char *cursor, json_t **out)
{
	/* cursor = "<created_at in µs since the epoch>_<scan id>" of the last
	 * scan of the previous page: integers compare exactly. */
	char us[24] = "", id[SF_UUID_LEN + 1] = "", lim[16];
	if (cursor) {
		const char *sep = strchr(cursor, '_');
		size_t n = sep ? (size_t)(sep - cursor) : 0;
		if (!sep || n == 0 || n >= sizeof(us) || strspn(cursor, "0123456789") != n ||
		    !sf_is_uuid(sep + 1))
			return -EINVAL;
		memcpy(us, cursor, n);
		us[n] = 0;
		sf_strlcpy(id, sep + 1, sizeof(id));
	}
	snprintf(lim, sizeof(lim), "%d", limit + 1);
	const char *p[] = {status, artifact, cursor ? us : NULL, cursor ? id : NULL, lim};
	PGresult *r = PQexecParams(
	    conn,
	    "SELECT s.id, s.status, s.reason, s.ecosystem, s.artifact_sha256, a.size,"
	    " to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
	    " to_char(s.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
	    " (SELECT count(*) FROM alerts WHERE scan_id = s.id),"
	    " ((extract(epoch FROM s.created_at) * 1000000)::numeric)::bigint"
	    " FROM scans s LEFT JOIN artifacts a ON a.sha256 = s.artifact_sha256"
	    " WHERE ($1::text IS NULL OR s.status = $1)"
	    " AND ($2::text IS NULL OR s.artifact_sha256 = $2)"
	    " AND ($3::bigint IS NULL OR (s.created_at, s.id) <"
	    "  (timestamptz 'epoch' + $3::bigint * interval '1 microsecond', $4::uuid))"
	    " ORDER BY s.created_at DESC, s.id DESC LIMIT $5::int",
	    5, NULL, p, NULL, NULL, 0);
	if (sf_db_result_ok(conn, r, "list scans")) {
		PQclear(r);
		return -EIO;
	}
	json_t *list = json_array();
	int n = PQntuples(r), shown = n > limit ? limit : n;
	for (int i = 0; list && i < shown; i++) {
		json_t *o = json_pack(
		    "{s:s,s:s,s:o,s:o,s:s,s:o,s:s,s:o,s:I}", "id", PQgetvalue(r, i, 0), "status",
		    PQgetvalue(r, i, 1), "phase", report_phase(r, i, 1, 4), "reason",
		    PQgetisnull(r, i, 2) ? json_null() : json_string(PQgetvalue(r, i, 2)),
		    "ecosystem", PQgetvalue(r, i, 3), "artifact", report_artifact(r, i, 4, 5),
		    "created_at",
		    PQgetvalue(r, i, 6), "finished_at",
		    PQgetisnull(r, i, 7) ? json_null() : json_string(PQgetvalue(r, i, 7)),
		    "alerts", (json_int_t)strtoll(PQgetvalue(r, i, 8), NULL, 10));
		json_array_append_new(list, o);
	}
	json_t *next = json_null();
	if (n > limit && shown > 0) {
		char c[96];
		snprintf(c, sizeof(c), "%s_%s", PQgetvalue(r, shown - 1, 9), PQgetvalue(r, shown - 1, 0));
		next = json_string(c);
	}
	PQclear(r);
	*out = list ? json_pack("{s:o,s:o}", "scans", list, "next_cursor", next) : NULL;
	return *out ? 0 : -ENOMEM;
}

int sf_priority_rank(const char *p)
{
	static const struct {
		const char *name;
		int rank;
	} ranks[] = {
	    {"emergency", 0}, {"alert", 1},	    {"critical", 2},	  {"error", 3},
	    {"warning", 4},   {"warn", 4},	    {"notice", 5},	  {"informational", 6},
	    {"info", 6},      {"debug", 7},
	};
	for (size_t i = 0; p && i < sizeof(ranks) / sizeof(ranks[0]); i++)
		if (strcasecmp(p, ranks[i].name) == 0)
			return ranks[i].rank;
	return -1;
}

int sf_report_alerts_page(PGconn *conn, const char *scan_id, int min_rank, const char *rule,
			  int limit, const char *cursor, json_t **out)
{
	/* cursor = the id of the last alert of the previous page: alert ids
	 * only grow, so pages neither skip nor repeat while alerts arrive. */
	char after[24] = "0", rank[16], lim[16];
	if (cursor) {
		size_t len = strlen(cursor);
		if (len == 0 || len > 18 || strspn(cursor, "0123456789") != len)
			return -EINVAL;
		sf_strlcpy(after, cursor, sizeof(after));
	}
	snprintf(rank, sizeof(rank), "%d", min_rank);
	snprintf(lim, sizeof(lim), "%d", limit + 1);
	PGresult *r;
	int rc = report_query(conn, "SELECT 1 FROM scans WHERE id = $1", scan_id, &r);
	if (rc)
		return rc;
	bool known = PQntuples(r) == 1;
	PQclear(r);
	if (!known)
		return -ENOENT;
	const char *p[] = {scan_id, after, min_rank >= 0 ? rank : NULL, rule, lim};
	r = PQexecParams(
	    conn,
	    "SELECT " REPORT_ALERT_COLS ", id FROM alerts WHERE scan_id = $1 AND id > $2::bigint"
	    " AND ($3::int IS NULL OR CASE lower(priority) WHEN 'emergency' THEN 0"
	    "  WHEN 'alert' THEN 1 WHEN 'critical' THEN 2 WHEN 'error' THEN 3 WHEN 'warning' THEN 4"
	    "  WHEN 'warn' THEN 4 WHEN 'notice' THEN 5 WHEN 'informational' THEN 6"
	    "  WHEN 'info' THEN 6 ELSE 7 END <= $3::int)"
	    " AND ($4::text IS NULL OR rule = $4)"
	    " ORDER BY id LIMIT $5::int",
	    5, NULL, p, NULL, NULL, 0);
	if (sf_db_result_ok(conn, r, "alerts page")) {
		PQclear(r);
		return -EIO;
	}
	json_t *list = json_array();
	int n = PQntuples(r), shown = n > limit ? limit : n;
	for (int i = 0; list && i < shown; i++) {
		json_t *a = report_alert_json(r, i, false);
		if (!a || json_array_append_new(list, a)) {
			json_decref(list);
			list = NULL;
		}
	}
	json_t *next = n > limit && shown > 0 ? json_string(PQgetvalue(r, shown - 1, 9)) : json_null();
	PQclear(r);
	*out = list ? json_pack("{s:o,s:o}", "alerts", list, "next_cursor", next) : NULL;
	if (!list)
		json_decref(next);
	return *out ? 0 : -ENOMEM;
}
