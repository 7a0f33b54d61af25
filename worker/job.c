/* job — see job.h. */
#include "job.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fetch.h"
#include "log.h"
#include "npm.h"
#include "observe.h"
#include "run.h"

#define SANDBOX_UID 1000
#define SANDBOX_GID 1000
/* How long a download may wait for the coordinator (at most half the lease). */
#define WORKER_FETCH_RETRY_MS 60000

static int job_chown_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return lchown(path, SANDBOX_UID, SANDBOX_GID) == 0 ? 0 : -1;
}

/* The install runs as an unprivileged user: hand it the unpacked tree. */
static int job_chown_tree(const char *dir)
{
	return nftw(dir, job_chown_one, 32, FTW_PHYS | FTW_MOUNT) == 0 ? 0 : -errno;
}

static char *job_strdup(const char *s) { return s ? strdup(s) : NULL; }

/* One run of a job: its paths on the host, what it set up (so the end can
 * undo it), and the error the batch will report. */
struct job_run {
	char dir[4096], artifact[4200], src[4200], bundle[4200], state[4200], resolv[4200],
	    tmp[4200], cid[64], err[512];
	char root[256]; /* the package's directory in src ("" = src itself) */
	bool tmp_mounted;
	struct sf_observe *obs;
	int64_t start;
};

/* The batch every outcome starts from: final, seq 0, this worker's ids. */
static int job_batch_init(const struct sf_job_env *env, const struct sf_job *job,
			  struct sf_batch *b)
{
	memset(b, 0, sizeof(*b));
	b->job_id = job->job_id;
	b->attempt = job->attempt;
	b->seq = 0;
	b->final = true;
	b->worker_id = strdup(env->worker_id);
	b->ruleset_digest = job_strdup(env->ruleset_digest);
	b->image_digest = job_strdup(env->image_digest);
	if (!b->worker_id || (env->ruleset_digest && !b->ruleset_digest) ||
	    (env->image_digest && !b->image_digest))
		return -ENOMEM;
	return 0;
}

/* Names the job's container and directories and creates them afresh. */
static int job_make_dirs(const struct sf_job_env *env, const struct sf_job *job,
			 struct job_run *j)
{
	int rc;
	/* unique per host: several workers may share one (and one cgroup tree) */
	snprintf(j->cid, sizeof(j->cid), "sf-%d-%lld-%d", (int)getpid(), (long long)job->job_id,
		 job->attempt);
	snprintf(j->dir, sizeof(j->dir), "%s/jobs/%s", env->work_dir, j->cid);
	snprintf(j->artifact, sizeof(j->artifact), "%s/artifact", j->dir);
	snprintf(j->src, sizeof(j->src), "%s/src", j->dir);
	snprintf(j->bundle, sizeof(j->bundle), "%s/bundle", j->dir);
	snprintf(j->state, sizeof(j->state), "%s/runtime-state", env->work_dir);
	snprintf(j->resolv, sizeof(j->resolv), "%s/resolv.conf", j->dir);
	snprintf(j->tmp, sizeof(j->tmp), "%s/tmp", j->dir);
	sf_rmtree(j->dir); /* a previous run of the same attempt on this host */
	if ((rc = sf_mkdirs(j->src, 0755)) || (rc = sf_mkdirs(j->bundle, 0755)) ||
	    (rc = sf_mkdirs(j->state, 0700)))
		snprintf(j->err, sizeof(j->err), "cannot create job directory %s: %s", j->dir,
			 strerror(-rc));
	return rc;
}

/* Downloads and checks the artifact, unpacks it safely, finds the
 * package's root and hands the tree to the sandbox user. */
static int job_fetch_unpack(const struct sf_job_env *env, const struct sf_job *job,
			    struct job_run *j)
{
	int rc;
	/* A coordinator restarting or draining answers nothing or 503 for a
	 * while: wait for it, within the lease, rather than fail the scan. */
	int64_t lease_left = job->lease_deadline_ms > 0 ? job->lease_deadline_ms - sf_now_ms() : 0;
	int retry_ms = lease_left > 0 && lease_left / 2 < WORKER_FETCH_RETRY_MS
			   ? (int)(lease_left / 2)
			   : WORKER_FETCH_RETRY_MS;
	if ((rc = sf_fetch(job->url, job->sha256, job->size, j->artifact, env->worker_secret,
			   retry_ms, j->err, sizeof(j->err))))
		return rc;
	struct sf_unpack_stats us;
	if ((rc = sf_unpack(j->artifact, j->src, &env->unpack, &us, j->err, sizeof(j->err)))) {
		char reason[600];
		snprintf(reason, sizeof(reason), "archive refused: %s", j->err);
		snprintf(j->err, sizeof(j->err), "%s", reason);
		return rc;
	}
	if ((rc = sf_unpack_find_root(j->src, j->root, sizeof(j->root), j->err, sizeof(j->err))))
		return rc;
	if ((rc = job_chown_tree(j->src))) {
		snprintf(j->err, sizeof(j->err), "cannot hand the tree to the sandbox user: %s",
			 strerror(-rc));
		return rc;
	}
	sf_info("job %lld: %llu entries, %llu bytes unpacked; installing in %s",
		(long long)job->job_id, (unsigned long long)us.entries,
		(unsigned long long)us.bytes, j->cid);
	return 0;
}

/* The container of the install: npm's command in the package's root,
 * the job's limits or the defaults. */
static void job_spec(const struct sf_job_env *env, const struct sf_job *job,
		     const struct job_run *j, char *cwd, size_t cwdlen, struct sf_sandbox_spec *spec)
{
	snprintf(cwd, cwdlen, "/work%s%s", j->root[0] ? "/" : "", j->root);
	*spec = (struct sf_sandbox_spec){
	    .runtime = env->runtime,
	    .state_root = j->state,
	    .rootfs = env->rootfs,
	    .bundle_dir = j->bundle,
	    .work_dir = j->src,
	    .cwd = cwd,
	    .argv = sf_npm_install_argv(),
	    .env = sf_npm_install_env(),
	    .container_id = j->cid,
	    .hostname = "scanfarm-sandbox",
	    .resolv_conf = j->resolv,
	    .time_limit_s = job->time_limit_s > 0 ? job->time_limit_s : 300,
	    .memory_mb = job->memory_mb > 0 ? job->memory_mb : 2048,
	    .pids = job->pids > 0 ? job->pids : 1024,
	    .tmp_mb = job->disk_mb > 0 ? job->disk_mb : 1024,
	    .tmp_dir = j->tmp,
	    .uid = SANDBOX_UID,
	    .gid = SANDBOX_GID,
	};
}

/* What the container sees besides the package: a resolv.conf and its
 * own /tmp. */
static int job_prepare_sandbox(const struct sf_sandbox_spec *spec, struct job_run *j)
{
	int rc;
	/* DNS questions go to loopback, where nothing answers: the sensor
	 * records the names a package asks for, and nothing leaves. */
	static const char resolv_text[] = "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n";
	if ((rc = sf_write_file(j->resolv, resolv_text, sizeof(resolv_text) - 1))) {
		snprintf(j->err, sizeof(j->err), "cannot write %s: %s", j->resolv, strerror(-rc));
		return rc;
	}
	/* The container's /tmp is a tmpfs the worker mounts itself, so what
	 * the install dropped there can still be hashed after it exited. */
	char tmpopts[64];
	snprintf(tmpopts, sizeof(tmpopts), "size=%dm,mode=1777", spec->tmp_mb);
	if ((rc = sf_mkdirs(j->tmp, 0755)) ||
	    (rc = mount("scanfarm-tmp", j->tmp, "tmpfs", MS_NOSUID | MS_NODEV, tmpopts) ? -errno
											: 0)) {
		snprintf(j->err, sizeof(j->err), "cannot mount a tmpfs at %s: %s", j->tmp,
			 strerror(-rc));
		return rc;
	}
	j->tmp_mounted = true;
	return 0;
}

/* Starts the sensor's watch of the container's cgroup, if there is a sensor. */
static int job_watch(const struct sf_job_env *env, struct job_run *j)
{
	if (!env->sensor)
		return 0;
	struct sf_observe_opts oo = {.rules = env->rules,
				     .container_id = j->cid,
				     .image = "scanfarm-sandbox",
				     .hostname = env->hostname,
				     .work_host_dir = j->src,
				     .tmp_host_dir = j->tmp,
				     .rootfs = env->rootfs};
	int rc = sf_observe_start(&j->obs, env->sensor, j->cid, &oo);
	if (rc)
		snprintf(j->err, sizeof(j->err), "cannot watch the sandbox: %s", strerror(-rc));
	return rc;
}

/* Runs the install and moves its outcome (and the sensor's findings)
 * into the batch. */
static int job_install(const struct sf_sandbox_spec *spec, struct job_run *j, struct sf_batch *b)
{
	struct sf_sandbox_result res;
	int rc = sf_sandbox_run(spec, &res, j->err, sizeof(j->err));
	if (j->obs) {
		/* after the run: every record of the container is in the ring */
		int orc = sf_observe_finish(j->obs, b);
		sf_observe_free(j->obs);
		j->obs = NULL;
		if (orc && !rc) {
			snprintf(j->err, sizeof(j->err), "out of memory collecting the sensor's findings");
			rc = orc;
		}
	}
	if (rc) {
		sf_sandbox_result_free(&res);
		return rc;
	}
	b->has_exit_status = res.exited;
	b->exit_status = res.exit_status;
	b->stdout_tail = res.stdout_tail;
	b->stderr_tail = res.stderr_tail;
	res.stdout_tail = res.stderr_tail = NULL;
	if (res.timed_out)
		snprintf(j->err, sizeof(j->err), "install timed out after %d s and was killed",
			 spec->time_limit_s);
	else if (!res.exited)
		snprintf(j->err, sizeof(j->err), "the sandbox runtime was killed (status %d)",
			 res.exit_status);
	else if (res.exit_status == 125 || res.exit_status == 127)
		/* crun's own failures; the container's stderr says why. */
		snprintf(j->err, sizeof(j->err), "sandbox failed to start (runtime exit %d)",
			 res.exit_status);
	sf_sandbox_result_free(&res);
	return 0;
}

/* Undoes what the run set up and completes the batch: duration, error,
 * output made safe to store. */
static int job_finish(const struct sf_job_env *env, const struct sf_job *job, struct job_run *j,
		      struct sf_batch *b)
{
	sf_observe_free(j->obs);
	if (j->tmp_mounted && umount2(j->tmp, MNT_DETACH) != 0)
		sf_warn("job %lld: cannot unmount %s: %s", (long long)job->job_id, j->tmp,
			strerror(errno));
	b->duration_ms = sf_monotonic_ms() - j->start;
	if (j->err[0]) {
		b->error = job_strdup(j->err);
		sf_warn("job %lld: %s", (long long)job->job_id, j->err);
	}
	if (!env->keep)
		sf_rmtree(j->dir);
	/* Untrusted output may hold NULs or bad UTF-8: make it safe to store. */
	if (b->stdout_tail)
		sf_utf8_sanitize(b->stdout_tail, strlen(b->stdout_tail));
	if (b->stderr_tail)
		sf_utf8_sanitize(b->stderr_tail, strlen(b->stderr_tail));
	return (j->err[0] && !b->error) ? -ENOMEM : 0;
}

int sf_job_run(const struct sf_job_env *env, const struct sf_job *job, struct sf_batch *b)
{
	struct job_run j = {.start = sf_monotonic_ms()};
	struct sf_sandbox_spec spec;
	char cwd[300];
	int rc = job_batch_init(env, job, b);
	if (rc)
		return rc;
	if (job_make_dirs(env, job, &j) == 0 && job_fetch_unpack(env, job, &j) == 0) {
		job_spec(env, job, &j, cwd, sizeof(cwd), &spec);
		if (job_prepare_sandbox(&spec, &j) == 0 && job_watch(env, &j) == 0)
			job_install(&spec, &j, b);
	}
	return job_finish(env, job, &j, b);
}

void sf_job_sweep(const char *jobs_dir)
{
	DIR *d = opendir(jobs_dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			char tmp[4200];
			snprintf(tmp, sizeof(tmp), "%s/%s/tmp", jobs_dir, e->d_name);
			if (umount2(tmp, MNT_DETACH) == 0)
				sf_info("swept the /tmp of an interrupted job: %s", tmp);
		}
		closedir(d);
	}
	sf_rmtree(jobs_dir);
}
