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

#include "canary.h"
#include "exfil.h"
#include "fetch.h"
#include "log.h"
#include "npm.h"
#include "observe.h"
#include "phase.h"
#include "project.h"
#include "proxy.h"
#include "run.h"
#include "runner.h"

#define SANDBOX_UID 1000
#define SANDBOX_GID 1000
/* Where the fetch phase finds the registry proxy inside its sandbox (the
 * port is the sandbox's own: its network namespace holds nothing else). */
#define SF_JOB_PROXY_PORT 3128
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
	char dir[4096], artifact[4200], src[4200], bundle[4200], state[4200], resolv[4300],
	    tmp[4300], cid[64], err[512];
	/* the job's tmpfs: /tmp (tmp/), the look's etc files (etc/), home
	 * (home/) and workspace (builds/) */
	char scratch[4200];
	char home[4500]; /* the look's home on the host */
	char root[256]; /* the package's directory in src ("" = src itself) */
	char rootdir[4500]; /* src/root: the project on the host */
	bool tmp_mounted;
	/* how the sandbox looks from inside, and the secrets planted in it */
	struct sf_runner look;
	struct sf_canaries canaries;
	struct sf_runner_mount look_mounts[8];
	struct sf_sandbox_mount mounts[8];
	int nmounts;
	struct sf_observe *obs;
	int64_t start;
	struct sf_project project;
	/* facts the worker itself notes (a neutralised .npmrc, what the
	 * registry proxy refused), added to the sensor's */
	struct sf_fact notes[64];
	int nnotes;
};

/* Keeps a fact of the worker's own, attributed to the project. */
static void job_note(struct job_run *j, const char *kind, const char *value, const char *phase)
{
	if (j->nnotes >= (int)(sizeof(j->notes) / sizeof(j->notes[0])))
		return;
	struct sf_fact *f = &j->notes[j->nnotes];
	char pkg[600];
	snprintf(pkg, sizeof(pkg), "%s@%s", j->project.name ? j->project.name : "",
		 j->project.version ? j->project.version : "");
	*f = (struct sf_fact){.kind = strdup(kind), .value = strdup(value), .detail = strdup(""),
			      .package = strdup(pkg), .phase = strdup(phase)};
	if (f->kind && f->value && f->detail && f->package && f->phase) {
		j->nnotes++;
		return;
	}
	sf_fact_free(f);
}

static void job_note_npmrc(void *arg, const char *line)
{
	job_note(arg, "npmrc_override", line, "fetch");
}

static void job_note_refusal(void *arg, const char *url)
{
	job_note(arg, "registry_refused", url, "fetch");
}

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
	/* one tmpfs holds what the sandbox may write besides the project
	 * tree, and what it sees of the look: it is a file system of its
	 * own, so the container's mount table shows no host path for it */
	snprintf(j->scratch, sizeof(j->scratch), "%s/tmp", j->dir);
	snprintf(j->tmp, sizeof(j->tmp), "%s/tmp", j->scratch);
	snprintf(j->resolv, sizeof(j->resolv), "%s/etc/resolv.conf", j->scratch);
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
			   env->http_ca, retry_ms, j->err, sizeof(j->err))))
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

/* The project on the host: its package.json read, and its .npmrc made
 * unable to send the fetch elsewhere. */
static int job_read_project(struct job_run *j)
{
	snprintf(j->rootdir, sizeof(j->rootdir), "%s%s%s", j->src, j->root[0] ? "/" : "", j->root);
	int rc = sf_project_read(&j->project, j->rootdir, j->root, j->err, sizeof(j->err));
	if (rc)
		return rc;
	if ((rc = sf_project_neutralise_npmrc(j->rootdir, job_note_npmrc, j)))
		snprintf(j->err, sizeof(j->err), "cannot neutralise the project's .npmrc: %s",
			 strerror(-rc));
	return rc;
}

/* The job's container, shared by its phases (each sets argv, env, time
 * and network): the package's root where the look puts the project, the
 * look's mounts, the job's limits or the defaults. */
static void job_spec(const struct sf_job_env *env, const struct sf_job *job, struct job_run *j,
		     struct sf_sandbox_spec *spec)
{
	j->nmounts = sf_runner_mounts(&j->look, j->scratch, j->look_mounts, 8);
	for (int i = 0; i < j->nmounts; i++)
		j->mounts[i] = (struct sf_sandbox_mount){j->look_mounts[i].source,
							 j->look_mounts[i].dest, j->look_mounts[i].dir};
	*spec = (struct sf_sandbox_spec){
	    .runtime = env->runtime,
	    .state_root = j->state,
	    .rootfs = env->rootfs,
	    .bundle_dir = j->bundle,
	    .work_dir = j->rootdir,
	    .work_dest = j->look.project_dir,
	    .cwd = j->look.project_dir,
	    .container_id = j->cid,
	    .hostname = j->look.hostname,
	    .mounts = j->mounts,
	    .nmounts = j->nmounts,
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

/* The look inside the job's tmpfs: the etc files, the home with its
 * canary credentials, the workspace; the sandbox user's /tmp. */
static int job_prepare_look(const struct sf_job_env *env, struct job_run *j)
{
	int rc = sf_runner_prepare(&j->look, env->rootfs, j->scratch, SANDBOX_UID, SANDBOX_GID,
				   j->err, sizeof(j->err));
	if (rc)
		return rc;
	sf_runner_home_host(&j->look, j->scratch, j->home, sizeof(j->home));
	if ((rc = sf_canaries_make(&j->canaries, &j->look))) {
		snprintf(j->err, sizeof(j->err), "cannot make the canary credentials: %s",
			 strerror(-rc));
		return rc;
	}
	if ((rc = sf_canaries_plant(&j->canaries, &j->look, j->home, SANDBOX_UID, SANDBOX_GID,
				    j->err, sizeof(j->err))))
		return rc;
	if ((rc = sf_mkdirs(j->tmp, 01777)) || (rc = chmod(j->tmp, 01777) ? -errno : 0))
		snprintf(j->err, sizeof(j->err), "cannot create %s: %s", j->tmp, strerror(-rc));
	return rc;
}

/* What the container sees besides the package: the look (its own /etc
 * files, home, workspace), a resolv.conf and its own /tmp. */
static int job_prepare_sandbox(const struct sf_job_env *env, const struct sf_sandbox_spec *spec,
			       struct job_run *j)
{
	int rc;
	/* The container's /tmp, home and etc files are in a tmpfs the
	 * worker mounts itself, so what the install dropped there can still
	 * be hashed after it exited. */
	char tmpopts[64];
	snprintf(tmpopts, sizeof(tmpopts), "size=%dm,mode=0755", spec->tmp_mb);
	if ((rc = sf_mkdirs(j->scratch, 0755)) ||
	    (rc = mount("tmpfs", j->scratch, "tmpfs", MS_NOSUID | MS_NODEV, tmpopts) ? -errno : 0)) {
		snprintf(j->err, sizeof(j->err), "cannot mount a tmpfs at %s: %s", j->scratch,
			 strerror(-rc));
		return rc;
	}
	j->tmp_mounted = true;
	if ((rc = job_prepare_look(env, j)))
		return rc;
	/* DNS questions go to loopback, where nothing answers: the sensor
	 * records the names a package asks for, and nothing leaves. */
	static const char resolv_text[] = "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n";
	if ((rc = sf_write_file(j->resolv, resolv_text, sizeof(resolv_text) - 1))) {
		snprintf(j->err, sizeof(j->err), "cannot write %s: %s", j->resolv, strerror(-rc));
		return rc;
	}
	/* The fetch phase's cache mount point, made here so that it is the
	 * sandbox user's in the later phases too: pnpm rebuild creates the
	 * (absent) store it was linked from there. */
	char npmdir[4300];
	snprintf(npmdir, sizeof(npmdir), "%s%s", j->tmp, SF_NPM_CACHE_DIR + 4);
	if ((rc = sf_mkdirs(npmdir, 0700)) ||
	    (rc = chown(npmdir, SANDBOX_UID, SANDBOX_GID) ? -errno : 0)) {
		snprintf(j->err, sizeof(j->err), "cannot create %s: %s", npmdir, strerror(-rc));
		return rc;
	}
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
				     .work_dir = j->look.project_dir,
				     .work_host_dir = j->rootdir,
				     .tmp_host_dir = j->tmp,
				     .home_dir = j->look.home,
				     .home_host_dir = j->home,
				     .rootfs = env->rootfs,
				     .user_name = j->look.user,
				     .user_id = SANDBOX_UID,
				     .project_dir = j->look.project_dir};
	int rc = sf_observe_start(&j->obs, env->sensor, NULL, &oo);
	if (rc)
		snprintf(j->err, sizeof(j->err), "cannot watch the sandbox: %s", strerror(-rc));
	return rc;
}

/* Seconds left of the job's time limit (at least 1 while any is left). */
static int job_seconds_left(int64_t deadline)
{
	int64_t left = deadline - sf_monotonic_ms();
	return left <= 0 ? 0 : (int)((left + 999) / 1000);
}

/* Whether a phase stops the scan: it ran and did not complete, or it had
 * to be skipped for a reason. */
static bool job_phase_failed(const struct sf_phase *p) { return p->error || (p->ran && !sf_phase_ok(p)); }

/* Runs one phase with its argv/env built (rc of the builder: -ENOENT means
 * there is nothing to run, and the phase is skipped). */
static int job_run_phase(struct job_run *j, struct sf_phase_spec *ps, int build_rc,
			 struct sf_argv *argv, struct sf_argv *envv, struct sf_phase *out)
{
	char cid[96];
	int rc = build_rc;
	if (rc == -ENOENT) {
		rc = sf_phase_skip(out, ps->name, NULL);
	} else if (rc == 0 && ps->time_limit_s <= 0) {
		rc = sf_phase_skip(out, ps->name, "no time left of the job's limit");
	} else if (rc == 0) {
		/* the install and import phases run the package's code: they
		 * see the runner's environment and its credentials (the fetch,
		 * npm alone, keeps HOME in /tmp and no secret: nothing fake is
		 * sent to the registry) */
		if (strcmp(ps->name, "fetch")) {
			sf_runner_env(&j->look, envv);
			sf_canaries_env(&j->canaries, &j->look, envv);
		}
		snprintf(cid, sizeof(cid), "%s-%s", j->cid, ps->name);
		ps->container_id = cid;
		ps->argv = argv;
		ps->env = envv;
		rc = envv->oom ? -ENOMEM : sf_phase_run(ps, j->obs, out, j->err, sizeof(j->err));
	}
	sf_argv_free(argv);
	sf_argv_free(envv);
	return rc;
}

/* yarn classic and pnpm take a lockfile's URLs as written: those naming a
 * private registry are pointed at the worker's gateway to it. */
static int job_retarget_lockfile(const struct sf_job_env *env, struct job_run *j)
{
	unsigned changed = 0;
	if (!env->gateway_origin)
		return 0;
	int rc = sf_project_retarget_lockfile(&j->project, j->rootdir, env->registry_origin,
					      env->gateway_origin, &changed);
	if (!rc && changed)
		sf_info("job: %u lockfile URLs of %s fetched through the registry gateway", changed,
			env->registry_origin);
	return rc;
}

/* fetch: the dependency tree, scripts off, through the registry proxy. */
static int job_phase_fetch(const struct sf_job_env *env, struct job_run *j,
			   struct sf_phase_spec *ps, struct sf_phase *out)
{
	char perr[512];
	struct sf_argv argv = {0}, envv = {0};
	int rc;
	if (!j->project.has_deps)
		return sf_phase_skip(out, "fetch", NULL);
	if (!env->proxy)
		return sf_phase_skip(out, "fetch", "dependencies to fetch, but no registry is configured");
	if (sf_proxy_ensure(env->proxy, perr, sizeof(perr))) {
		char why[600];
		snprintf(why, sizeof(why), "the registry proxy is not running: %s", perr);
		return sf_phase_skip(out, "fetch", why);
	}
	if (env->cache_dir && sf_job_cache_prepare(env->cache_dir, env->cache_max_mb) != 0)
		sf_warn("cannot prepare the tarball cache %s: fetching without it", env->cache_dir);
	if ((rc = job_retarget_lockfile(env, j))) {
		char why[900];
		snprintf(why, sizeof(why), "cannot point the lockfile at the registry gateway: %s",
			 strerror(-rc));
		return sf_phase_skip(out, "fetch", why);
	}
	long long log_from = sf_proxy_log_offset(env->proxy);
	ps->proxy_port = SF_JOB_PROXY_PORT;
	ps->proxy = &env->proxy->addr;
	ps->cache_dir = env->cache_dir;
	rc = job_run_phase(j, ps, sf_npm_fetch(&j->project, env->registry, SF_JOB_PROXY_PORT,
					       env->gateway_origin != NULL, &argv, &envv),
			       &argv, &envv, out);
	sf_proxy_refusals(env->proxy, log_from, job_note_refusal, j);
	ps->proxy_port = 0;
	ps->proxy = NULL;
	ps->cache_dir = NULL;
	return rc;
}

/* The installed tree (and the project itself first) for the report. */
static int job_inventory(struct job_run *j, struct sf_batch *b, bool *rebuild)
{
	struct sf_package *root = calloc(1, sizeof(*root));
	if (!root)
		return -ENOMEM;
	root->name = strdup(j->project.name);
	root->version = strdup(j->project.version);
	root->path = strdup("");
	for (int i = 0; i < j->project.nscripts; i++)
		root->install_scripts |= strstr(j->project.scripts[i], "install") != NULL;
	b->packages = root;
	b->npackages = 1;
	if (!root->name || !root->version || !root->path)
		return -ENOMEM;
	int rc = sf_project_inventory(&j->project, j->rootdir, b);
	*rebuild = false;
	for (uint32_t i = 1; i < b->npackages; i++)
		*rebuild |= b->packages[i].install_scripts;
	return rc;
}

/* The three phases in order; a phase that does not complete stops the
 * scan there (the later ones are skipped, saying why), and its reason is
 * the job's. */
static int job_phases(const struct sf_job_env *env, struct job_run *j,
		      const struct sf_sandbox_spec *base, struct sf_batch *b)
{
	static const char *const names[] = {"fetch", "install", "import"};
	if (!(b->phases = calloc(3, sizeof(*b->phases))))
		return -ENOMEM;
	b->nphases = 3;
	int64_t deadline = sf_monotonic_ms() + (int64_t)base->time_limit_s * 1000;
	struct sf_phase_spec ps = {.base = base};
	struct sf_argv argv = {0}, envv = {0};
	bool rebuild = false;
	int rc = 0, k;
	for (k = 0; k < 3 && rc == 0; k++) {
		ps.name = names[k];
		ps.time_limit_s = job_seconds_left(deadline);
		if (k == 0) {
			rc = job_phase_fetch(env, j, &ps, &b->phases[0]);
			if (rc == 0)
				rc = job_inventory(j, b, &rebuild);
		} else if (k == 1) {
			rc = job_run_phase(j, &ps, sf_npm_install(&j->project, rebuild, &argv, &envv),
					   &argv, &envv, &b->phases[1]);
		} else {
			int bound = 30 + j->project.ndeps * (SF_NPM_IMPORT_TIMEOUT_MS / 1000 + 2);
			if (ps.time_limit_s > bound)
				ps.time_limit_s = bound;
			rc = job_run_phase(j, &ps, sf_npm_import(&j->project, &argv, &envv), &argv,
					   &envv, &b->phases[2]);
		}
		if (rc == 0 && job_phase_failed(&b->phases[k])) {
			snprintf(j->err, sizeof(j->err), "%s",
				 b->phases[k].error ? b->phases[k].error : "a phase did not complete");
			break;
		}
	}
	/* the phases after one that did not complete (or could not start)
	 * stay "not run": the scan's reason is the first failure's */
	for (k = 0; k < 3; k++)
		if (!b->phases[k].name && sf_phase_skip(&b->phases[k], names[k], NULL) && !rc)
			rc = -ENOMEM;
	return rc;
}

/* The report's "install": the install phase's outcome, or the fetch's when
 * the install did not run. */
static void job_install_summary(struct sf_batch *b)
{
	struct sf_phase *p = &b->phases[1];
	if (!p->ran)
		p = &b->phases[0];
	if (!p->ran)
		return;
	b->has_exit_status = p->has_exit_status;
	b->exit_status = p->exit_status;
	b->stdout_tail = p->stdout_tail ? strdup(p->stdout_tail) : NULL;
	b->stderr_tail = p->stderr_tail ? strdup(p->stderr_tail) : NULL;
}

/* Moves the sensor's findings and the worker's own notes into the batch. */
static int job_collect(struct job_run *j, struct sf_batch *b)
{
	int rc = 0;
	if (j->obs) {
		/* after the last phase: every record of the job is delivered */
		rc = sf_observe_finish(j->obs, b);
		sf_observe_free(j->obs);
		j->obs = NULL;
	}
	if (rc == 0 && j->nnotes > 0) {
		struct sf_fact *f = realloc(b->facts, (b->nfacts + (uint32_t)j->nnotes) * sizeof(*f));
		if (!f)
			return -ENOMEM;
		b->facts = f;
		memcpy(b->facts + b->nfacts, j->notes, (size_t)j->nnotes * sizeof(*f));
		b->nfacts += (uint32_t)j->nnotes;
		j->nnotes = 0;
	}
	return rc;
}

/* A canary credential in any fact (a DNS name, the bytes a connection
 * sent, a command line…) is a Critical alert naming it. */
static int job_canaries_seen(const struct sf_job_env *env, struct job_run *j, struct sf_batch *b)
{
	struct sf_exfil_secret secrets[SF_EXFIL_MAX_SECRETS];
	int n = sf_canaries_secrets(&j->canaries, secrets, SF_EXFIL_MAX_SECRETS);
	struct sf_exfil *x = NULL;
	int rc = n > 0 ? sf_exfil_new(&x, secrets, n) : 0;
	if (rc == 0 && x && (rc = sf_exfil_scan_batch(x, b, env->hostname)) > 0)
		sf_warn("%s: %d canary credential finds (%s look)", j->cid, rc,
			sf_runner_kind_name(&j->look));
	sf_exfil_free(x);
	return rc < 0 ? rc : 0;
}

/* Undoes what the run set up and completes the batch: duration, error,
 * output made safe to store. */
static int job_finish(const struct sf_job_env *env, const struct sf_job *job, struct job_run *j,
		      struct sf_batch *b)
{
	sf_observe_free(j->obs);
	sf_project_free(&j->project);
	for (int i = 0; i < j->nnotes; i++)
		sf_fact_free(&j->notes[i]);
	sf_canaries_free(&j->canaries);
	if (j->tmp_mounted && umount2(j->scratch, MNT_DETACH) != 0)
		sf_warn("job %lld: cannot unmount %s: %s", (long long)job->job_id, j->scratch,
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
	int rc = job_batch_init(env, job, b);
	if (rc)
		return rc;
	/* the scan's look, reproducible from its id */
	char seed[64];
	snprintf(seed, sizeof(seed), "%s", job->scan_id[0] ? job->scan_id : "");
	if (!seed[0])
		snprintf(seed, sizeof(seed), "job-%lld", (long long)job->job_id);
	sf_runner_choose(&j.look, seed);
	if (job_make_dirs(env, job, &j) == 0 && job_fetch_unpack(env, job, &j) == 0 &&
	    job_read_project(&j) == 0) {
		job_spec(env, job, &j, &spec);
		if (job_prepare_sandbox(env, &spec, &j) == 0 && job_watch(env, &j) == 0) {
			sf_info("job %lld: %s look, host %s, project at %s", (long long)job->job_id,
				sf_runner_kind_name(&j.look), j.look.hostname, j.look.project_dir);
			if (job_phases(env, &j, &spec, b) == 0)
				job_install_summary(b);
			if ((job_collect(&j, b) || job_canaries_seen(env, &j, b)) && !j.err[0])
				snprintf(j.err, sizeof(j.err),
					 "out of memory collecting the sensor's findings");
		}
	}
	return job_finish(env, job, &j, b);
}

static long long job_cache_bytes;

static int job_cache_add(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)flag;
	(void)ftw;
	job_cache_bytes += (long long)st->st_blocks * 512;
	return 0;
}

int sf_job_cache_prepare(const char *dir, long long max_mb)
{
	/* one job at a time per worker process: the static sum is not shared */
	job_cache_bytes = 0;
	if (nftw(dir, job_cache_add, 32, FTW_PHYS | FTW_MOUNT) == 0 &&
	    job_cache_bytes > max_mb * 1024 * 1024) {
		sf_info("tarball cache %s holds %lld MiB (over %lld): emptied", dir,
			job_cache_bytes >> 20, max_mb);
		sf_rmtree(dir);
	}
	int rc = sf_mkdirs(dir, 0700);
	if (rc == 0 && chown(dir, SANDBOX_UID, SANDBOX_GID) != 0)
		rc = -errno;
	return rc;
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
