/*
 * report — what a run found, built once as one JSON model and written in
 * the format asked for:
 *   table   a readable summary: each package's verdict, its top alerts and
 *           where it is used (packages with findings first)
 *   json    the model itself: {"tool", "batch", "summary", "packages":
 *           [{ecosystem, name, version, integrity, source, verdict,
 *           scan_id, cached, reason, alerts: [{rule, priority, output,
 *           package, phase}], uses: [{repository, file, line}]}],
 *           "problems": [lockfiles skipped or entries noted]}
 *   sarif   SARIF 2.1.0 (report_sarif.h)
 *   gitlab  GitLab's dependency-scanning report, schema 15.0 (report_sarif.h)
 * A verdict is "alerts" (an alert at or above --fail-on, even if the scan
 * then failed), "clean" (finished without one), "failed", "incomplete"
 * (not ended in time), "unsupported" (an ecosystem the farm cannot scan
 * yet), "not_scanned" (not from a registry, or refused) or
 * "integrity_mismatch" (the lockfile pins other bytes than the registry
 * publishes for that name@version: not scanned). The exit status
 * follows: 1 when a package has alerts, else 2 when anything was not
 * scanned to the end (including a lockfile skipped as malformed), else 0.
 *
 * Owns: nothing; the model is the caller's (json_decref). Calls: depset,
 * inventory, batch (results), report_sarif, jansson, libc.
 */
#ifndef SF_CLI_REPORT_H
#define SF_CLI_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "batch.h"
#include "depset.h"

/* Falco's priority names → 0 (emergency) … 7 (debug); -1 unknown. */
int sf_report_priority_rank(const char *p);

json_t *sf_report_build(const struct sf_depset *set, const struct sf_dep_result *res,
			int fail_rank, const char *batch_id);
/* Whether format is one of table, json, sarif, gitlab. */
int sf_report_format_ok(const char *format);
/* Writes model as format to out. 0 or -EIO. */
int sf_report_write(json_t *model, const char *format, FILE *out);
/* 0, 1 or 2 as above. */
int sf_report_exit(json_t *model);

#endif
