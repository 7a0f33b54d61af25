/*
 * report — read models of a scan, shaped as JSON for the HTTP API.
 *
 *  - Package Hunter's `GET /?id=`: {id, status: pending|finished|error,
 *    result: [alerts as Falco's gRPC output rendered to JSON], reason}
 *  - `/v1/scans/<id>`: the full report (status, install outcome, sensor
 *    stats, alerts, facts).
 *
 * Owns: the mapping from rows to JSON. Calls: libpq, jansson, log.
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

/* Falco priority name ("Notice", "WARNING", "info") → gRPC enum name ("NOTICE"). */
const char *sf_priority_enum_name(const char *priority);

#endif
