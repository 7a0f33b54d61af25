/*
 * batch — a depset's packages through the coordinator: every package from
 * a registry is sent as one line of a streamed batch (POST /v1/batches,
 * with the integrity an npm lockfile pins, for the coordinator to check),
 * application/x-ndjson; the body spooled to an unnamed temporary file, the
 * answer read line by line as it arrives), then the batch is followed
 * (GET /v1/batches/<id>, progress.h) until it is done or the time runs
 * out, and each package's outcome and alerts are collected (the batch's
 * items a page at a time, GET /v1/scans/<id>/alerts for those with
 * alerts). Packages from git, files or URLs are not sent: their outcome
 * says so. Ecosystems the coordinator cannot scan are sent all the same
 * and come back refused ("unsupported_ecosystem"): never clean.
 *
 * Owns: the results' strings and alerts (sf_batch_results_free). Calls:
 * client, depset, progress, jansson, libc.
 */
#ifndef SF_CLI_BATCH_H
#define SF_CLI_BATCH_H

#include <jansson.h>
#include <stdbool.h>

#include "client.h"
#include "depset.h"
#include "progress.h"
#include "util.h"

/* What became of one package (set->deps[i] ↔ results[i]). */
struct sf_dep_result {
	char scan_id[SF_UUID_LEN + 1];
	/* "queued", "running", "finished", "failed", or "rejected" (code says
	 * why: "unsupported_ecosystem", "not_from_registry", …) */
	char status[16];
	char code[40];
	bool cached;
	char *reason;	/* failed or rejected: why; else NULL */
	json_t *alerts; /* finished or failed with alerts: the alerts (Falco's shape) */
};

/* Runs the batch for set; results has set->ndeps entries (zeroed). 0 (the
 * batch ran, or nothing was to be sent), or -EIO (it could not be
 * submitted: a message on stderr). batch_id is "" when nothing was sent. */
int sf_batch_run(const struct sf_cli *c, const struct sf_depset *set, struct sf_dep_result *res,
		 long long timeout_s, struct sf_progress *prog, char batch_id[SF_UUID_LEN + 1]);
void sf_batch_results_free(struct sf_dep_result *res, size_t n);

#endif
