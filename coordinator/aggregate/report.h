/*
 * report — read models of a scan, shaped as JSON for the HTTP API.
 *
 *  - Package Hunter's `GET /?id=`: {id, status: pending|finished|error,
 *    result: [alerts as Falco's gRPC output rendered to JSON], reason}
 *  - `/v1/scans/<id>`: the full report (status, install outcome, phases,
 *    sensor stats, alerts, the installed packages, facts by kind with their
 *    package and phase); `/v1/scans/<id>/alerts`: its alerts, paged.
 *  - `/v1/scans`: the list, paged.
 *
 * A scan of a package reference has no artifact until the coordinator has
 * fetched it (resolve.h): its `artifact` is null and its `phase` is
 * "resolving" meanwhile.
 *
 * Owns: the mapping from rows to JSON. Calls: db (result checks), libpq,
 * jansson, util, log.
 * Returned json_t are owned by the caller (json_decref).
 */
#ifndef SF_REPORT_H
#define SF_REPORT_H

#include <jansson.h>
#include <libpq-fe.h>

/* Fill *out and return 0, -ENOENT for an unknown scan, -EIO on a DB error. */
int sf_report_package_hunter(PGconn *conn, const char *scan_id, json_t **out);
int sf_report_v1(PGconn *conn, const char *scan_id, json_t **out);

/* GET /v1/scans: newest first, optionally only one status and/or artifact,
 * at most limit scans after cursor (NULL = from the newest). *out is
 * {"scans": […], "next_cursor": "…" | null}. -EINVAL for a bad cursor. */
int sf_report_list(PGconn *conn, const char *status, const char *artifact, int limit,
		   const char *cursor, json_t **out);

/* GET /v1/scans/<id>/alerts: the scan's alerts in the order they were
 * stored (by alert id), at most limit after cursor (NULL = from the
 * first), only those at min_rank or more severe (sf_priority_rank; -1 =
 * all) and, with rule, only that rule's. *out is {"alerts": [… the /v1
 * report's shape …], "next_cursor": "…" | null}. -ENOENT for an unknown
 * scan, -EINVAL for a bad cursor. */
int sf_report_alerts_page(PGconn *conn, const char *scan_id, int min_rank, const char *rule,
			  int limit, const char *cursor, json_t **out);

/* Falco priority name → severity rank (0 = Emergency … 7 = Debug), -1 if
 * it is not one. */
int sf_priority_rank(const char *priority);

/* Falco priority name ("Notice", "WARNING", "info") → gRPC enum name ("NOTICE"). */
const char *sf_priority_enum_name(const char *priority);

#endif
