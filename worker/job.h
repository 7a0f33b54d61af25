/*
 * job — runs one scan job on this worker: fetch the artifact, unpack it
 * safely, install it in the sandbox, and describe the outcome as a batch.
 *
 * While the install runs, the sensor watches the container's cgroup and
 * observe turns what it sees into alerts and facts for the batch.
 *
 * The steps, in order: the batch, the job's directories, fetch + unpack,
 * the container's spec (npm's argv/env), resolv.conf and /tmp, the
 * sensor's watch, the install, the outcome.
 *
 * Owns: the job's directory under the worker's work dir (removed at the
 * end unless keep is set) and its /tmp mount. The batch's members are
 * malloc'd and the caller's (sf_batch_free). Calls: fetch, unpack, npm,
 * run (sandbox), observe, wire, util, log.
 */
#ifndef SF_JOB_H
#define SF_JOB_H

#include "unpack.h"
#include "wire.h"

struct sf_sensor;
struct sf_ruleset;

struct sf_job_env {
	const char *worker_id;
	const char *work_dir; /* absolute */
	const char *rootfs;   /* absolute */
	const char *runtime;
	struct sf_unpack_limits unpack;
	bool keep;
	struct sf_sensor *sensor;	 /* NULL: no runtime detection */
	const struct sf_ruleset *rules; /* evaluated on the sensor's events */
	const char *hostname;		 /* the worker's, put in alerts */
	const char *ruleset_digest;	 /* reported with every result (verdict cache key) */
	const char *image_digest;	 /* the sandbox rootfs's, likewise */
	const char *worker_secret;	 /* presented to the coordinator, or NULL */
};

/* Fills *batch (final, seq 0) with the outcome; an infrastructure failure
 * (download, hostile archive, runtime missing) is reported in batch->error.
 * Returns 0 unless memory ran out. Free the batch with sf_batch_free. */
int sf_job_run(const struct sf_job_env *env, const struct sf_job *job, struct sf_batch *batch);

/* Removes the job directories a killed worker left under jobs_dir,
 * unmounting their /tmp filesystems first. */
void sf_job_sweep(const char *jobs_dir);

#endif
