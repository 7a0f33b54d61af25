/*
 * job — runs one scan job on this worker: fetch the artifact, unpack it
 * safely, install it in the sandbox in three phases, and describe the
 * outcome as a batch.
 *
 * The phases (phase.c), each a container of its own on the same tree:
 * fetch (the dependency tree, scripts off, the registry proxy the only way
 * out), install (lifecycle scripts), import (each direct dependency
 * required in a fresh node), the last two in the job's network: sinkhole
 * or offline (the job's, else the worker's default). The sensor watches every
 * phase and observe turns what it sees into alerts and facts attributed to
 * the phase. A phase that does not complete stops the scan there and its
 * reason is the batch's error: a scan never reads clean when the work was
 * not done.
 *
 * The sandbox looks like a CI runner's job (runner.h: chosen from the
 * scan's id) with canary credentials planted (canary.h): the install and
 * import phases get the look's environment and the canaries, the fetch
 * phase neither. After the phases every fact is searched for the canaries
 * (exfil.h); a find is a Critical alert.
 *
 * A PyPI or RubyGems job (the job's ecosystem) runs the same phases with
 * the builders ecosystem.h names (pip; gem and bundler), from a body told
 * apart by its content (body.h) instead of package.json.
 *
 * The steps, in order: the batch, the network, the look, the job's directories, fetch +
 * unpack, the project (package.json, lockfile, .npmrc neutralised), the
 * container's spec, the job's disk (/tmp, the look's etc files, home and
 * workspace, resolv.conf, the init), the sensor's watch, the phases (and the
 * installed tree between fetch and install), the canary search, the
 * outcome.
 *
 * Owns: the job's directory under the worker's work dir (removed after
 * the batch is sent, sf_job_rest_undo, unless keep is set), the job's disk
 * (disk.c: a file system of the job's own holding the project tree, /tmp
 * and the look's etc files, home and workspace, job-disk-mb writable,
 * discarded at the end rather than flushed; the container's mount table shows
 * no host path), the idmapped mounts the sandbox sees the rootfs, the disk
 * and the tarball cache through, and its canary values. The batch's
 * members are malloc'd and the caller's (sf_batch_free). Calls: fetch,
 * unpack, project, npm, ecosystem, proxy, runner, canary, exfil, phase, run
 * (sandbox), disk, userns, observe, wire, util, log.
 */
#ifndef SF_JOB_H
#define SF_JOB_H

#include "unpack.h"
#include "wire.h"

struct sf_sensor;
struct sf_falco;
struct sf_ruleset;
struct sf_proxy;
struct sf_userns;

struct sf_job_env {
	const char *worker_id;
	const char *work_dir; /* absolute */
	const char *rootfs;   /* absolute */
	const char *runtime;
	struct sf_unpack_limits unpack;
	bool keep;
	struct sf_sensor *sensor;	 /* NULL: no runtime detection (or Falco's) */
	struct sf_falco *falco;		 /* Falco's alerts instead of the sensor, or NULL */
	const struct sf_ruleset *rules; /* evaluated on the sensor's events */
	const char *hostname;		 /* the worker's, put in alerts */
	const char *ruleset_digest;	 /* reported with every result (verdict cache key) */
	const char *image_digest;	 /* the sandbox rootfs's, likewise */
	const char *worker_secret;	 /* presented to the coordinator, or NULL */
	const char *http_ca;		 /* CA of an https:// coordinator (NULL: the system's) */
	const char *registry;		 /* the npm registry the fetch phase installs from */
	struct sf_proxy *proxy;		 /* the allowlisting proxy to it, or NULL */
	/* A private registry's credential stays with the worker: registry is
	 * then the gateway's URL, and a lockfile's URLs naming
	 * registry_origin are fetched from gateway_origin. NULL otherwise. */
	const char *registry_origin;
	const char *gateway_origin;
	/* The PyPI index (PEP 503 simple) and the gem source the fetch phase of
	 * those ecosystems' jobs uses (the gateway's URL when the worker holds
	 * their credential); NULL or "": none, only what the body brings. */
	const char *pypi_index;
	const char *gem_source;
	const char *cache_dir;		 /* the tarball cache shared by this worker's jobs */
	long long cache_max_mb;		 /* emptied before a job when it has grown past this */
	const char *network;		 /* "sinkhole" or "offline": for jobs that name none */
	/* The slot's user namespace: the sandbox joins it and sees the job's
	 * files through idmapped mounts; NULL: no user namespace. */
	const struct sf_userns *userns;
	const char *init_path;	/* the sandbox's pid 1 (init.c) on the host */
	int grace_ms;		/* what processes left running get after a phase's command */
	int cpu_limit_s;	/* CPU seconds per job, 0 = the job's time limit */
	long long output_limit_mb; /* stdout + stderr per phase, 0 = unlimited */
};

/* What a finished job leaves to undo: its directory, the mounts below it
 * and its disk. */
struct sf_job_rest;

/* Fills *batch (final, seq 0) with the outcome; an infrastructure failure
 * (download, hostile archive, runtime missing) is reported in batch->error.
 * Returns 0 unless memory ran out. Free the batch with sf_batch_free.
 * With rest, the job's disk and directory are left for the caller to undo
 * (sf_job_rest_undo) once the batch is sent, so that unmounting and
 * removing them is not part of the scan's time; *rest may be NULL
 * (nothing left). With rest NULL, they are undone before returning. */
int sf_job_run(const struct sf_job_env *env, const struct sf_job *job, struct sf_batch *batch,
	       struct sf_job_rest **rest);
/* Unmounts and removes what the job left (keeps it with env->keep) and
 * frees rest. NULL ok. */
void sf_job_rest_undo(struct sf_job_rest *rest);

/* Creates the tarball cache (owned by the sandbox user), or empties it
 * when it holds more than max_mb. */
int sf_job_cache_prepare(const char *dir, long long max_mb);

/* Removes the job directories a killed worker left under jobs_dir,
 * unmounting what is mounted below them first (disks, idmapped mounts). */
void sf_job_sweep(const char *jobs_dir);

#endif
