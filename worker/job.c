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

int sf_job_run(const struct sf_job_env *env, const struct sf_job *job, struct sf_batch *b)
{
	char dir[4096], artifact[4200], src[4200], bundle[4200], state[4200], resolv[4200],
	    tmp[4200], cid[64], err[512] = "";
	bool tmp_mounted = false;
	struct sf_observe *obs = NULL;
	int64_t start = sf_monotonic_ms();
	int rc;
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

	/* unique per host: several workers may share one (and one cgroup tree) */
	snprintf(cid, sizeof(cid), "sf-%d-%lld-%d", (int)getpid(), (long long)job->job_id,
		 job->attempt);
	snprintf(dir, sizeof(dir), "%s/jobs/%s", env->work_dir, cid);
	snprintf(artifact, sizeof(artifact), "%s/artifact", dir);
	snprintf(src, sizeof(src), "%s/src", dir);
	snprintf(bundle, sizeof(bundle), "%s/bundle", dir);
	snprintf(state, sizeof(state), "%s/runtime-state", env->work_dir);
	snprintf(resolv, sizeof(resolv), "%s/resolv.conf", dir);
	snprintf(tmp, sizeof(tmp), "%s/tmp", dir);
	sf_rmtree(dir); /* a previous run of the same attempt on this host */
	if ((rc = sf_mkdirs(src, 0755)) || (rc = sf_mkdirs(bundle, 0755)) ||
	    (rc = sf_mkdirs(state, 0700))) {
		snprintf(err, sizeof(err), "cannot create job directory %s: %s", dir, strerror(-rc));
		goto out;
	}

	/* A coordinator restarting or draining answers nothing or 503 for a
	 * while: wait for it, within the lease, rather than fail the scan. */
	int64_t lease_left = job->lease_deadline_ms > 0 ? job->lease_deadline_ms - sf_now_ms() : 0;
	int retry_ms = lease_left > 0 && lease_left / 2 < WORKER_FETCH_RETRY_MS
			   ? (int)(lease_left / 2)
			   : WORKER_FETCH_RETRY_MS;
	if ((rc = sf_fetch(job->url, job->sha256, job->size, artifact, env->worker_secret,
			   retry_ms, err, sizeof(err))))
		goto out;
	struct sf_unpack_stats us;
	if ((rc = sf_unpack(artifact, src, &env->unpack, &us, err, sizeof(err)))) {
		char reason[600];
		snprintf(reason, sizeof(reason), "archive refused: %s", err);
		snprintf(err, sizeof(err), "%s", reason);
		goto out;
	}
	char root[256];
	if ((rc = sf_unpack_find_root(src, root, sizeof(root), err, sizeof(err))))
		goto out;
	if ((rc = job_chown_tree(src))) {
		snprintf(err, sizeof(err), "cannot hand the tree to the sandbox user: %s",
			 strerror(-rc));
		goto out;
	}
	sf_info("job %lld: %llu entries, %llu bytes unpacked; installing in %s",
		(long long)job->job_id, (unsigned long long)us.entries,
		(unsigned long long)us.bytes, cid);

	char cwd[300];
	snprintf(cwd, sizeof(cwd), "/work%s%s", root[0] ? "/" : "", root);
	/* The sandbox has no network: npm must not wait on registry retries.
	 * Lifecycle scripts run in the foreground so their output is kept. */
	static const char *const argv[] = {"npm", "install", "--offline", "--no-audit",
					   "--no-fund", "--foreground-scripts", "--loglevel=warn",
					   NULL};
	static const char *const envv[] = {
	    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	    "HOME=/tmp",
	    "npm_config_cache=/tmp/.npm",
	    "npm_config_update_notifier=false",
	    "TERM=dumb",
	    NULL};
	struct sf_sandbox_spec spec = {
	    .runtime = env->runtime,
	    .state_root = state,
	    .rootfs = env->rootfs,
	    .bundle_dir = bundle,
	    .work_dir = src,
	    .cwd = cwd,
	    .argv = argv,
	    .env = envv,
	    .container_id = cid,
	    .hostname = "scanfarm-sandbox",
	    .resolv_conf = resolv,
	    .time_limit_s = job->time_limit_s > 0 ? job->time_limit_s : 300,
	    .memory_mb = job->memory_mb > 0 ? job->memory_mb : 2048,
	    .pids = job->pids > 0 ? job->pids : 1024,
	    .tmp_mb = job->disk_mb > 0 ? job->disk_mb : 1024,
	    .tmp_dir = tmp,
	    .uid = SANDBOX_UID,
	    .gid = SANDBOX_GID,
	};
	/* DNS questions go to loopback, where nothing answers: the sensor
	 * records the names a package asks for, and nothing leaves. */
	static const char resolv_text[] = "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n";
	if ((rc = sf_write_file(resolv, resolv_text, sizeof(resolv_text) - 1))) {
		snprintf(err, sizeof(err), "cannot write %s: %s", resolv, strerror(-rc));
		goto out;
	}
	/* The container's /tmp is a tmpfs the worker mounts itself, so what
	 * the install dropped there can still be hashed after it exited. */
	char tmpopts[64];
	snprintf(tmpopts, sizeof(tmpopts), "size=%dm,mode=1777", spec.tmp_mb);
	if ((rc = sf_mkdirs(tmp, 0755)) ||
	    (rc = mount("scanfarm-tmp", tmp, "tmpfs", MS_NOSUID | MS_NODEV, tmpopts) ? -errno : 0)) {
		snprintf(err, sizeof(err), "cannot mount a tmpfs at %s: %s", tmp, strerror(-rc));
		goto out;
	}
	tmp_mounted = true;
	if (env->sensor) {
		struct sf_observe_opts oo = {.rules = env->rules,
					     .container_id = cid,
					     .image = "scanfarm-sandbox",
					     .hostname = env->hostname,
					     .work_host_dir = src,
					     .tmp_host_dir = tmp,
					     .rootfs = env->rootfs};
		if ((rc = sf_observe_start(&obs, env->sensor, cid, &oo))) {
			snprintf(err, sizeof(err), "cannot watch the sandbox: %s", strerror(-rc));
			goto out;
		}
	}
	struct sf_sandbox_result res;
	rc = sf_sandbox_run(&spec, &res, err, sizeof(err));
	if (obs) {
		/* after the run: every record of the container is in the ring */
		int orc = sf_observe_finish(obs, b);
		sf_observe_free(obs);
		obs = NULL;
		if (orc && !rc) {
			snprintf(err, sizeof(err), "out of memory collecting the sensor's findings");
			rc = orc;
		}
	}
	if (rc) {
		sf_sandbox_result_free(&res);
		goto out;
	}
	b->has_exit_status = res.exited;
	b->exit_status = res.exit_status;
	b->stdout_tail = res.stdout_tail;
	b->stderr_tail = res.stderr_tail;
	res.stdout_tail = res.stderr_tail = NULL;
	if (res.timed_out)
		snprintf(err, sizeof(err), "install timed out after %d s and was killed",
			 spec.time_limit_s);
	else if (!res.exited)
		snprintf(err, sizeof(err), "the sandbox runtime was killed (status %d)",
			 res.exit_status);
	else if (res.exit_status == 125 || res.exit_status == 127)
		/* crun's own failures; the container's stderr says why. */
		snprintf(err, sizeof(err), "sandbox failed to start (runtime exit %d)",
			 res.exit_status);
	sf_sandbox_result_free(&res);
out:
	sf_observe_free(obs);
	if (tmp_mounted && umount2(tmp, MNT_DETACH) != 0)
		sf_warn("job %lld: cannot unmount %s: %s", (long long)job->job_id, tmp, strerror(errno));
	b->duration_ms = sf_monotonic_ms() - start;
	if (err[0]) {
		b->error = job_strdup(err);
		sf_warn("job %lld: %s", (long long)job->job_id, err);
	}
	if (!env->keep)
		sf_rmtree(dir);
	/* Untrusted output may hold NULs or bad UTF-8: make it safe to store. */
	if (b->stdout_tail)
		sf_utf8_sanitize(b->stdout_tail, strlen(b->stdout_tail));
	if (b->stderr_tail)
		sf_utf8_sanitize(b->stderr_tail, strlen(b->stderr_tail));
	return (err[0] && !b->error) ? -ENOMEM : 0;
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
