/* job — see job.h. */
#include "job.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "canary.h"
#include "disk.h"
#include "ecosystem.h"
#include "exfil.h"
#include "fetch.h"
#include "log.h"
#include "netpolicy.h"
#include "npm.h"
#include "observe.h"
#include "phase.h"
#include "project.h"
#include "proxy.h"
#include "run.h"
#include "runner.h"
#include "userns.h"

#define SANDBOX_UID 1000
#define SANDBOX_GID 1000
/* Where the fetch phase finds the registry proxy inside its sandbox (the
 * port is the sandbox's own: its network namespace holds nothing else). */
#define SF_JOB_PROXY_PORT 3128
/* How long a download may wait for the coordinator (at most half the lease). */
#define WORKER_FETCH_RETRY_MS 60000

/* The tarball cache is shared by the worker's slots: how many fetch
 * phases use it now, and the lock over that count and the emptying. */
static pthread_mutex_t job_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static int job_cache_users;
static int job_cache_acquire(const char *dir, long long max_mb);
static void job_cache_release(void);

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
	/* what the sandbox is given (bundle sources): through idmapped mounts
	 * of the rootfs (sysroot), the disk (cdisk) and the tarball cache
	 * (cache) when there is a user namespace, the plain paths otherwise;
	 * view is the disk as the sandbox is given it (cdisk or the mount) */
	char sysroot[4200], cdisk[4200], cache[4200], c_work[4300], c_tmp[4300],
	    c_resolv[4300], c_init[4300];
	const char *view;
	/* the job's disk holds, besides work/ (the tree) and tmp/, what the
	 * sandbox sees of the look: etc/ (passwd, group, hostname, hosts,
	 * resolv.conf), home/ and builds/ (runner.h); a file system of its
	 * own, so the container's mount table shows no host path for them */
	struct sf_disk disk;
	char home[4500]; /* the look's home on the host */
	char root[256]; /* the package's directory in src ("" = src itself) */
	char rootdir[4500]; /* src/root: the project on the host */
	char c_project[4600]; /* the same as the sandbox is given it */
	/* how the sandbox looks from inside, and the secrets planted in it */
	struct sf_runner look;
	struct sf_canaries canaries;
	struct sf_runner_mount look_mounts[8];
	struct sf_sandbox_mount mounts[8];
	int nmounts;
	struct sf_observe *obs;
	int64_t start;
	int64_t cpu_used_ms; /* CPU time of the phases so far */
	struct sf_project project;
	/* a PyPI or RubyGems job: its phases' builders and what they work
	 * from (NULL: npm, the project above) */
	const struct sf_ecosystem *eco;
	struct sf_eco_job ej;
	/* facts the worker itself notes (a neutralised .npmrc, what the
	 * registry proxy refused), added to the sensor's */
	struct sf_fact notes[64];
	int nnotes;
	/* the install and import phases' network, and what no phase reaches */
	bool sinkhole;
	struct sf_netaddr blocked[SF_NETPOLICY_MAX_BLOCKED];
	size_t nblocked;
};

/* Keeps a fact of the worker's own, attributed to the project. */
static void job_note_with(struct job_run *j, const char *kind, const char *value,
			  const char *detail, const char *phase)
{
	if (j->nnotes >= (int)(sizeof(j->notes) / sizeof(j->notes[0])))
		return;
	struct sf_fact *f = &j->notes[j->nnotes];
	char pkg[600];
	if (j->eco)
		snprintf(pkg, sizeof(pkg), "%s", j->ej.id);
	else
		snprintf(pkg, sizeof(pkg), "%s@%s", j->project.name ? j->project.name : "",
			 j->project.version ? j->project.version : "");
	*f = (struct sf_fact){.kind = strdup(kind), .value = strdup(value), .detail = strdup(detail),
			      .package = strdup(pkg), .phase = strdup(phase)};
	if (f->kind && f->value && f->detail && f->package && f->phase) {
		j->nnotes++;
		return;
	}
	sf_fact_free(f);
}

static void job_note(struct job_run *j, const char *kind, const char *value, const char *phase)
{
	job_note_with(j, kind, value, "", phase);
}

/* A fact an ecosystem's prepare reads from the body (ecosystem.h). */
static void job_note_fact(void *arg, const char *kind, const char *value, const char *detail)
{
	job_note_with(arg, kind, value, detail, "fetch");
}

static void job_note_npmrc(void *arg, const char *line)
{
	job_note(arg, "npmrc_override", line, "fetch");
}

static void job_note_index(void *arg, const char *line)
{
	job_note(arg, "index_override", line, "fetch");
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

/* The network the job's install and import run in: the job's ("none",
 * from older coordinators, is offline), else the worker's default; an
 * unknown one fails the job rather than run it in another. */
static int job_network(const struct sf_job_env *env, const struct sf_job *job,
		       struct job_run *j, struct sf_batch *b)
{
	const char *mode = job->network ? job->network : env->network;
	if (mode && strcmp(mode, "none") == 0)
		mode = "offline";
	if (!mode || (strcmp(mode, "sinkhole") && strcmp(mode, "offline"))) {
		snprintf(j->err, sizeof(j->err), "unknown network mode '%s' (sinkhole or offline)",
			 mode ? mode : "");
		return -EINVAL;
	}
	j->sinkhole = strcmp(mode, "sinkhole") == 0;
	if (!(b->network = strdup(mode)))
		return -ENOMEM;
	int rc = sf_netpolicy_blocked(j->blocked, SF_NETPOLICY_MAX_BLOCKED, &j->nblocked);
	if (rc)
		sf_warn("cannot list the host's addresses (%s): only the metadata networks are blocked",
			strerror(-rc));
	return 0;
}

/* Unmounts everything mounted below dir, deepest first (lazily: what
 * still holds a mount keeps it until it lets go). */
static void job_unmount_below(const char *dir)
{
	char (*mps)[512] = calloc(64, sizeof(*mps));
	FILE *f = mps ? fopen("/proc/self/mountinfo", "re") : NULL;
	int n = 0;
	size_t dl = strlen(dir);
	char line[2048];
	while (f && n < 64 && fgets(line, sizeof(line), f)) {
		char mp[512];
		if (sscanf(line, "%*s %*s %*s %*s %511s", mp) == 1 && strncmp(mp, dir, dl) == 0 &&
		    mp[dl] == '/')
			snprintf(mps[n++], sizeof(mps[0]), "%s", mp);
	}
	if (f)
		fclose(f);
	/* a mount below another sorts after it in mountinfo: undo backwards */
	for (int i = n - 1; i >= 0; i--)
		if (umount2(mps[i], 0) != 0 && umount2(mps[i], MNT_DETACH) != 0)
			sf_warn("cannot unmount %s: %s", mps[i], strerror(errno));
	free(mps);
}

/* The job's disk: room for the unpacked artifact (its bytes and a block
 * per entry) and for the job's writes (the limit: sf_disk_reserve takes
 * the rest once the tree is unpacked), inodes for as many files. */
static int job_make_disk(const struct sf_job_env *env, const struct sf_job *job,
			 struct job_run *j)
{
	long long limit_mb = job->disk_mb > 0 ? job->disk_mb : 1024;
	long long entries = (long long)env->unpack.max_entries;
	long long cap_mb = (long long)(env->unpack.max_bytes >> 20) + entries / 256 + limit_mb + 64;
	char image[4200], mnt[4200];
	snprintf(image, sizeof(image), "%s/disk.img", j->dir);
	snprintf(mnt, sizeof(mnt), "%s/disk", j->dir);
	int rc = sf_disk_create(&j->disk, image, mnt, cap_mb, entries + limit_mb * 128 + 1024,
				j->err, sizeof(j->err));
	if (rc)
		return rc;
	snprintf(j->src, sizeof(j->src), "%s/work", mnt);
	snprintf(j->tmp, sizeof(j->tmp), "%s/tmp", mnt);
	snprintf(j->resolv, sizeof(j->resolv), "%s/etc/resolv.conf", mnt);
	if ((rc = sf_mkdirs(j->src, 0755)) || (rc = sf_mkdirs(j->tmp, 01777)) ||
	    (rc = chmod(j->tmp, 01777) ? -errno : 0))
		snprintf(j->err, sizeof(j->err), "cannot prepare the job's disk: %s", strerror(-rc));
	return rc;
}

/* Copies the init (init.c) onto the job's disk, root's, 0755: what the
 * sandbox's /dev/init is bound from. The copy is written by a child
 * process of its own, never by the worker: a process another slot's
 * thread forks while the worker held the file open for writing would
 * keep it open so, and the sandbox's exec of /dev/init would fail with
 * ETXTBSY ("Text file busy"). The child uses async-signal-safe calls
 * only (the worker has threads) and exits with 0 or an errno. */
static int job_copy_init(const struct sf_job_env *env, struct job_run *j)
{
	char dst[4300];
	snprintf(dst, sizeof(dst), "%s/init", j->disk.mnt);
	int rc = 0;
	pid_t pid = fork();
	if (pid == 0) {
		int e = 0;
		int in = open(env->init_path, O_RDONLY | O_CLOEXEC);
		int out = in < 0 ? -1 : open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
		if (in < 0 || out < 0)
			e = errno;
		char buf[65536];
		ssize_t n;
		while (e == 0 && (n = read(in, buf, sizeof(buf))) != 0)
			if (n < 0 || write(out, buf, (size_t)n) != n)
				e = EIO;
		if (out >= 0 && close(out) != 0 && e == 0)
			e = errno;
		_exit(e > 0 && e < 256 ? e : e ? EIO : 0);
	}
	if (pid < 0) {
		rc = -errno;
	} else {
		int st = 0;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		rc = WIFEXITED(st) ? -WEXITSTATUS(st) : -EIO;
	}
	if (rc)
		snprintf(j->err, sizeof(j->err), "cannot copy the sandbox init %s: %s",
			 env->init_path, strerror(-rc));
	return rc;
}

/* What the sandbox is given: the rootfs and the disk through idmapped
 * mounts of the slot's user namespace (on-disk ids are the ids inside),
 * or as they are without one. */
static int job_views(const struct sf_job_env *env, struct job_run *j)
{
	const char *disk = j->disk.mnt;
	int rc = 0;
	if (env->userns) {
		snprintf(j->sysroot, sizeof(j->sysroot), "%s/sysroot", j->dir);
		snprintf(j->cdisk, sizeof(j->cdisk), "%s/cdisk", j->dir);
		if ((rc = sf_mkdirs(j->sysroot, 0755)) || (rc = sf_mkdirs(j->cdisk, 0755)) ||
		    (rc = sf_userns_idmap(env->userns, env->rootfs, j->sysroot, true))) {
			snprintf(j->err, sizeof(j->err), "cannot map the rootfs into the sandbox's"
				 " user namespace: %s", strerror(-rc));
			j->sysroot[0] = j->cdisk[0] = '\0';
			return rc;
		}
		if ((rc = sf_userns_idmap(env->userns, j->disk.mnt, j->cdisk, false))) {
			snprintf(j->err, sizeof(j->err), "cannot map the job's disk into the"
				 " sandbox's user namespace: %s", strerror(-rc));
			j->cdisk[0] = '\0';
			return rc;
		}
		disk = j->cdisk;
	} else {
		snprintf(j->sysroot, sizeof(j->sysroot), "%s", env->rootfs);
	}
	j->view = disk;
	snprintf(j->c_work, sizeof(j->c_work), "%s/work", disk);
	snprintf(j->c_tmp, sizeof(j->c_tmp), "%s/tmp", disk);
	snprintf(j->c_resolv, sizeof(j->c_resolv), "%s/etc/resolv.conf", disk);
	snprintf(j->c_init, sizeof(j->c_init), "%s/init", disk);
	return job_copy_init(env, j);
}

/* Names the job's container and directories and creates them afresh:
 * the job's disk (where the tree and /tmp live) and what the sandbox sees. */
static int job_make_dirs(const struct sf_job_env *env, const struct sf_job *job,
			 struct job_run *j)
{
	int rc;
	/* unique per host: several workers may share one (and one cgroup tree) */
	snprintf(j->cid, sizeof(j->cid), "sf-%d-%lld-%d", (int)getpid(), (long long)job->job_id,
		 job->attempt);
	snprintf(j->dir, sizeof(j->dir), "%s/jobs/%s", env->work_dir, j->cid);
	snprintf(j->artifact, sizeof(j->artifact), "%s/artifact", j->dir);
	snprintf(j->bundle, sizeof(j->bundle), "%s/bundle", j->dir);
	snprintf(j->state, sizeof(j->state), "%s/runtime-state", env->work_dir);
	/* a previous run of the same attempt on this host */
	job_unmount_below(j->dir);
	sf_rmtree(j->dir);
	if ((rc = sf_mkdirs(j->bundle, 0755)) || (rc = sf_mkdirs(j->state, 0700))) {
		snprintf(j->err, sizeof(j->err), "cannot create job directory %s: %s", j->dir,
			 strerror(-rc));
		return rc;
	}
	if ((rc = job_make_disk(env, job, j)))
		return rc;
	return job_views(env, j);
}

/* npm: the kind the coordinator read (inspect.h; NULL: not told) against
 * where the worker found package.json. Both kinds install the same way;
 * a body told to be npm pack's package/ whose package.json is elsewhere
 * is not what the coordinator judged, and is refused. */
static int job_npm_kind(const char *kind, const char *root, char *err, size_t errlen)
{
	if (!kind || !kind[0] || !strcmp(kind, "project") ||
	    (!strcmp(kind, "package") && !strcmp(root, "package")))
		return 0;
	if (!strcmp(kind, "package"))
		snprintf(err, errlen, "the coordinator read this body as an npm package (package/),"
				      " but the worker found its package.json in '%s'",
			 root[0] ? root : "the archive's root");
	else
		snprintf(err, errlen, "the coordinator read this body as kind '%.40s', which is not a"
				      " kind of npm body this worker installs", kind);
	return -EBADMSG;
}

/* Downloads and checks the artifact, unpacks it safely, finds the
 * package's root (reads the body as the job's kind) and hands the tree to
 * the sandbox user. */
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
	/* npm's root holds package.json; other ecosystems' bodies are read
	 * as the kind the coordinator named, or told apart by their content
	 * (body.h) */
	j->eco = sf_ecosystem_find(job->ecosystem);
	if (j->eco && (rc = sf_eco_job_init(&j->ej, job->ecosystem, job->kind, j->src, j->err,
							sizeof(j->err))))
		return rc;
	if (j->eco) { /* the body's directory is what the sandbox is given, at the look's place */
		sf_strlcpy(j->root, j->ej.body.root, sizeof(j->root));
		sf_eco_job_place(&j->ej, j->look.project_dir, "");
		j->ej.home = NULL; /* the install and import phases get the look's */
	}
	else if ((rc = sf_unpack_find_root(j->src, j->root, sizeof(j->root), j->err,
					   sizeof(j->err))) ||
		 (rc = job_npm_kind(job->kind, j->root, j->err, sizeof(j->err))))
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
static int job_read_project(const struct sf_job_env *env, struct job_run *j)
{
	snprintf(j->rootdir, sizeof(j->rootdir), "%s%s%s", j->src, j->root[0] ? "/" : "", j->root);
	snprintf(j->c_project, sizeof(j->c_project), "%s%s%s", j->c_work, j->root[0] ? "/" : "",
		 j->root);
	if (j->eco) { /* the tree laid out for the ecosystem's phases */
		j->ej.note = job_note_index;
		j->ej.fact = job_note_fact;
		j->ej.note_arg = j;
		j->ej.rootfs = env->rootfs;
		return j->eco->prepare(&j->ej, j->rootdir, j->artifact, j->err, sizeof(j->err));
	}
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
	j->nmounts = sf_runner_mounts(&j->look, j->view, j->look_mounts, 8);
	for (int i = 0; i < j->nmounts; i++)
		j->mounts[i] = (struct sf_sandbox_mount){j->look_mounts[i].source,
							 j->look_mounts[i].dest, j->look_mounts[i].dir};
	int time_s = job->time_limit_s > 0 ? job->time_limit_s : 300;
	*spec = (struct sf_sandbox_spec){
	    .runtime = env->runtime,
	    .state_root = j->state,
	    .rootfs = j->sysroot,
	    .bundle_dir = j->bundle,
	    .work_dir = j->c_project,
	    .work_dest = j->look.project_dir,
	    .cwd = j->look.project_dir,
	    .container_id = j->cid,
	    .hostname = j->look.hostname,
	    .mounts = j->mounts,
	    .nmounts = j->nmounts,
	    .resolv_conf = j->c_resolv,
	    .time_limit_s = time_s,
	    .memory_mb = job->memory_mb > 0 ? job->memory_mb : 2048,
	    .pids = job->pids > 0 ? job->pids : 1024,
	    .tmp_mb = job->disk_mb > 0 ? job->disk_mb : 1024,
	    .tmp_dir = j->c_tmp,
	    .uid = SANDBOX_UID,
	    .gid = SANDBOX_GID,
	    .userns_path = env->userns ? sf_userns_path(env->userns) : NULL,
	    .userns_host_base = env->userns ? env->userns->host_base : 0,
	    .userns_size = env->userns ? env->userns->size : 0,
	    .seccomp = true,
	    .init_host_path = j->c_init,
	    .grace_ms = env->grace_ms,
	    .cpu_limit_s = env->cpu_limit_s > 0 ? env->cpu_limit_s : time_s,
	    .output_limit = env->output_limit_mb > 0 ? (int64_t)env->output_limit_mb << 20 : 0,
	    .disk_path = j->src,
	};
}

/* The look on the job's disk: the etc files, the home with its canary
 * credentials, the workspace. On-disk ids are the ids inside (the disk is
 * seen through an idmapped mount): the home is the sandbox user's. */
static int job_prepare_look(const struct sf_job_env *env, struct job_run *j)
{
	int rc = sf_runner_prepare(&j->look, env->rootfs, j->disk.mnt, SANDBOX_UID, SANDBOX_GID,
				   j->err, sizeof(j->err));
	if (rc)
		return rc;
	sf_runner_home_host(&j->look, j->disk.mnt, j->home, sizeof(j->home));
	if ((rc = sf_canaries_make(&j->canaries, &j->look))) {
		snprintf(j->err, sizeof(j->err), "cannot make the canary credentials: %s",
			 strerror(-rc));
		return rc;
	}
	return sf_canaries_plant(&j->canaries, &j->look, j->home, SANDBOX_UID, SANDBOX_GID,
				 j->err, sizeof(j->err));
}

/* What the container sees besides the package: the look (its own /etc
 * files, home, workspace), a resolv.conf, and the job's disk limited to
 * what the phases may write. */
static int job_prepare_sandbox(const struct sf_job_env *env, const struct sf_sandbox_spec *spec,
			       struct job_run *j)
{
	int rc = job_prepare_look(env, j);
	if (rc)
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
	/* From here on the phases may write job-disk-mb, in /work and /tmp
	 * together, and no more. */
	if ((rc = sf_disk_reserve(&j->disk, spec->tmp_mb))) {
		snprintf(j->err, sizeof(j->err), "cannot limit the job's disk: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

/* Starts the sensor's watch of the container's cgroup, if there is a sensor. */
static int job_watch(const struct sf_job_env *env, struct job_run *j)
{
	if (!env->sensor && !env->falco)
		return 0;
	struct sf_observe_opts oo = {.rules = env->rules,
				     .falco = env->falco,
				     .err = j->err,
				     .errlen = sizeof(j->err),
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
				     .project_dir = j->look.project_dir,
				     .ecosystem = j->eco ? j->eco->name : NULL,
				     .project_id = j->eco ? j->ej.id : NULL,
				     .uid_base = env->userns ? env->userns->host_base : 0,
				     .uid_count = env->userns ? env->userns->size : 0,
				     .init = true};
	int rc = sf_observe_start(&j->obs, env->sensor, NULL, &oo);
	if (rc && !j->err[0])
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

/* What a phase whose builder found nothing to run had nothing to do, as
 * the report's "skipped" says it. No container is started for it. */
static const char *job_nothing(const struct job_run *j, const char *phase)
{
	if (j->eco)
		return "nothing to run";
	if (!strcmp(phase, "install") && j->project.root_gyp)
		return "no install scripts: neither the project nor an installed dependency declares"
		       " one; the project's own binding.gyp, which npm builds with node-gyp, was not"
		       " built (under a pnpm lockfile the install phase runs pnpm rebuild, which the"
		       " worker does not use to build the root)";
	if (!strcmp(phase, "install"))
		return "no install scripts: neither the package nor an installed dependency declares"
		       " one (preinstall, install, postinstall, binding.gyp; the project's prepare"
		       " and its hooks)";
	if (!strcmp(phase, "import"))
		return "nothing to import: no dependencies";
	return "nothing to run";
}

/* Runs one phase with its argv/env built (rc of the builder: -ENOENT means
 * there is nothing to run, and the phase is skipped, saying so). */
static int job_run_phase(struct job_run *j, struct sf_phase_spec *ps, int build_rc,
			 struct sf_argv *argv, struct sf_argv *envv, struct sf_phase *out)
{
	char cid[96];
	int rc = build_rc;
	if (rc == -ENOENT) {
		rc = sf_phase_idle(out, ps->name, job_nothing(j, ps->name));
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
		struct sf_phase_usage use = {0};
		rc = envv->oom ? -ENOMEM
			       : sf_phase_run(ps, j->obs, out, &use, j->err, sizeof(j->err));
		j->cpu_used_ms += use.cpu_ms;
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

/* A fetch that failed after the proxy refused a request: the refusal is
 * the reason (the package manager's own words, kept after it, are often a
 * generic connection error). What is refused is whatever is not the
 * registry: a direct URL requirement (pip's "name @ URL"), a tarball URL
 * or git dependency. */
static int job_refusal_reason(struct job_run *j, int notes_from, struct sf_phase *out)
{
	const char *url = NULL;
	for (int i = notes_from; i < j->nnotes && !url; i++)
		if (!strcmp(j->notes[i].kind, "registry_refused"))
			url = j->notes[i].value;
	if (!url)
		return 0;
	const char *what = "the configured registry is";
	const char *so = "a dependency from a URL or git cannot be fetched";
	if (j->eco && !strcmp(j->eco->name, "pypi")) {
		what = "the configured index is";
		so = "a direct URL requirement (name @ URL) cannot be fetched";
	} else if (j->eco) {
		what = "the configured gem source is";
		so = "a gem from another source or git cannot be fetched";
	}
	static const char prefix[] = "fetch failed: ";
	const char *rest = out->error;
	if (!strncmp(rest, prefix, sizeof(prefix) - 1))
		rest += sizeof(prefix) - 1;
	char why[1024];
	snprintf(why, sizeof(why),
		 "fetch failed: the registry proxy refused %.200s (only %s reachable: %s); %s", url,
		 what, so, rest);
	char *e = strdup(why);
	if (!e)
		return -ENOMEM;
	free(out->error);
	out->error = e;
	return 0;
}

/* fetch: the dependency tree, scripts off, through the registry proxy. */
static int job_phase_fetch(const struct sf_job_env *env, struct job_run *j,
			   struct sf_phase_spec *ps, struct sf_phase *out)
{
	char perr[512];
	struct sf_argv argv = {0}, envv = {0};
	int rc;
	if (!j->eco && !j->project.has_deps)
		return sf_phase_idle(out, "fetch", "no dependencies to fetch");
	if (!env->proxy)
		return sf_phase_skip(out, "fetch", "dependencies to fetch, but no registry is configured");
	if (sf_proxy_ensure(env->proxy, perr, sizeof(perr))) {
		char why[600];
		snprintf(why, sizeof(why), "the registry proxy is not running: %s", perr);
		return sf_phase_skip(out, "fetch", why);
	}
	const char *cache = env->cache_dir;
	if (cache && job_cache_acquire(cache, env->cache_max_mb) != 0) {
		sf_warn("cannot prepare the tarball cache %s: fetching without it", cache);
		cache = NULL;
	}
	bool cache_held = cache != NULL;
	/* the cache as the sandbox user's (on disk it is uid 1000's) */
	snprintf(j->cache, sizeof(j->cache), "%s/cache", j->dir);
	if (cache && env->userns &&
	    (sf_mkdirs(j->cache, 0700) || sf_userns_idmap(env->userns, cache, j->cache, false))) {
		sf_warn("cannot map the tarball cache %s into the sandbox: fetching without it",
			cache);
		cache = NULL;
	} else if (cache && env->userns) {
		cache = j->cache;
	}
	if ((rc = job_retarget_lockfile(env, j))) {
		char why[900];
		if (cache_held)
			job_cache_release();
		snprintf(why, sizeof(why), "cannot point the lockfile at the registry gateway: %s",
			 strerror(-rc));
		return sf_phase_skip(out, "fetch", why);
	}
	long long log_from = sf_proxy_log_offset(env->proxy);
	ps->proxy_port = SF_JOB_PROXY_PORT;
	ps->proxy = &env->proxy->addr;
	ps->cache_dir = cache;
	if (j->eco) {
		j->ej.index = !strcmp(j->eco->name, "pypi") ? env->pypi_index : env->gem_source;
		j->ej.proxy_port = SF_JOB_PROXY_PORT;
		j->ej.cache = cache != NULL;
		rc = job_run_phase(j, ps, j->eco->fetch(&j->ej, &argv, &envv), &argv, &envv, out);
	} else {
		rc = job_run_phase(j, ps,
				   sf_npm_fetch(&j->project, env->registry, SF_JOB_PROXY_PORT,
						env->gateway_origin != NULL, &argv, &envv),
				   &argv, &envv, out);
	}
	int notes_from = j->nnotes;
	sf_proxy_refusals(env->proxy, log_from, job_note_refusal, j);
	if (rc == 0 && out->error)
		rc = job_refusal_reason(j, notes_from, out);
	/* the idmapped view of the cache stays mounted until the job's end;
	 * what keeps it from being emptied is that no fetch is writing it */
	if (cache_held)
		job_cache_release();
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
	/* npm builds a binding.gyp at the root with node-gyp when nothing else
	 * installs it (its implicit install script); npm rebuild does that at
	 * the root (npm.c); under a pnpm lockfile the worker does not rely on
	 * pnpm rebuild for it (the skipped install says so) */
	root->install_scripts |= j->project.root_gyp;
	int rc = sf_project_inventory(&j->project, j->rootdir, b);
	*rebuild = j->project.root_gyp && j->project.lock != SF_LOCK_PNPM;
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
	/* every network namespace the worker makes for a phase (the fetch
	 * phase's, the sinkhole) is owned by the slot's user namespace: the
	 * kernel lets the container mount a /sys of its own only then (else
	 * the runtime binds the host's, the host's devices and mounts in it) */
	struct sf_phase_spec ps = {.base = base,
				   .userns = env->userns,
				   .sinkhole = j->sinkhole,
				   .blocked = j->blocked,
				   .nblocked = j->nblocked};
	struct sf_argv argv = {0}, envv = {0};
	bool rebuild = false;
	int rc = 0, k;
	for (k = 0; k < 3 && rc == 0; k++) {
		ps.name = names[k];
		ps.time_limit_s = job_seconds_left(deadline);
		/* the job's CPU time, like its wall time, is shared by its phases */
		int64_t cpu_left = base->cpu_limit_s - j->cpu_used_ms / 1000;
		ps.cpu_left_s = cpu_left > 1 ? (int)cpu_left : 1;
		if (k == 0) {
			rc = job_phase_fetch(env, j, &ps, &b->phases[0]);
			if (rc == 0 && !j->eco)
				rc = job_inventory(j, b, &rebuild);
		} else if (k == 1 && j->eco) {
			rc = job_run_phase(j, &ps, j->eco->install(&j->ej, &argv, &envv), &argv,
					   &envv, &b->phases[1]);
			if (rc == 0) /* what got installed, even by an install that failed */
				rc = j->eco->inventory(&j->ej, j->rootdir, b);
		} else if (k == 2 && j->eco) {
			int bound = 30 + j->ej.nimports * (SF_ECO_IMPORT_TIMEOUT_S + 2);
			if (ps.time_limit_s > bound)
				ps.time_limit_s = bound;
			rc = job_run_phase(j, &ps, j->eco->import(&j->ej, &argv, &envv), &argv,
					   &envv, &b->phases[2]);
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
		if (sf_observe_error(j->obs) && !j->err[0])
			snprintf(j->err, sizeof(j->err), "%s", sf_observe_error(j->obs));
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

/* What is left of a job once its batch is complete: its directory with the
 * idmapped views and the cache's view mounted below it, and its disk. */
struct sf_job_rest {
	char dir[4096];
	struct sf_disk disk;
	bool keep;
};

/* Unmounts what a job left and removes it (with keep: only unmounts). */
static void job_rest_teardown(struct sf_job_rest *r)
{
	/* a job that failed before it had a directory (an unknown network
	 * mode): nothing to undo, and "" would name every mount */
	if (!r->dir[0])
		return;
	/* what the job wrote is thrown away: not flushed into the image by
	 * the unmount (disk.h) */
	if (!r->keep)
		sf_disk_discard(&r->disk);
	/* the idmapped views and the cache first, then the disk itself */
	job_unmount_below(r->dir);
	r->disk.mounted = false;
	if (!r->keep) {
		sf_disk_destroy(&r->disk);
		sf_rmtree(r->dir);
	}
}

void sf_job_rest_undo(struct sf_job_rest *r)
{
	if (!r)
		return;
	int64_t t0 = sf_monotonic_ms();
	job_rest_teardown(r);
	sf_debug("%s: disk and directory undone in %lld ms", r->dir,
		 (long long)(sf_monotonic_ms() - t0));
	free(r);
}

/* Completes the batch (duration, error, output made safe to store) and
 * hands what is to undo to *rest, or undoes it now when rest is NULL (or
 * memory for it ran out). */
static int job_finish(const struct sf_job_env *env, const struct sf_job *job, struct job_run *j,
		      struct sf_batch *b, struct sf_job_rest **rest)
{
	sf_observe_free(j->obs);
	sf_project_free(&j->project);
	sf_eco_job_free(&j->ej);
	for (int i = 0; i < j->nnotes; i++)
		sf_fact_free(&j->notes[i]);
	sf_canaries_free(&j->canaries);
	struct sf_job_rest now, *r = rest ? malloc(sizeof(*r)) : NULL;
	bool later = r != NULL;
	if (!r)
		r = &now;
	memcpy(r->dir, j->dir, sizeof(r->dir));
	r->disk = j->disk;
	r->keep = env->keep;
	if (later)
		*rest = r;
	else
		job_rest_teardown(r);
	b->duration_ms = sf_monotonic_ms() - j->start;
	if (j->err[0]) {
		b->error = job_strdup(j->err);
		sf_warn("job %lld: %s", (long long)job->job_id, j->err);
	}
	/* Untrusted output may hold NULs or bad UTF-8: make it safe to store. */
	if (b->stdout_tail)
		sf_utf8_sanitize(b->stdout_tail, strlen(b->stdout_tail));
	if (b->stderr_tail)
		sf_utf8_sanitize(b->stderr_tail, strlen(b->stderr_tail));
	return (j->err[0] && !b->error) ? -ENOMEM : 0;
}

int sf_job_run(const struct sf_job_env *env, const struct sf_job *job, struct sf_batch *b,
	       struct sf_job_rest **rest)
{
	struct job_run j = {.start = sf_monotonic_ms()};
	if (rest)
		*rest = NULL;
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
	if (job_network(env, job, &j, b) == 0 && job_make_dirs(env, job, &j) == 0 &&
	    job_fetch_unpack(env, job, &j) == 0 && job_read_project(env, &j) == 0) {
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
	return job_finish(env, job, &j, b, rest);
}

/* The sum job_cache_add adds to: nftw has no argument for its callback;
 * used under job_cache_lock only. */
static long long job_cache_bytes;

static int job_cache_add(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)flag;
	(void)ftw;
	job_cache_bytes += (long long)st->st_blocks * 512;
	return 0;
}

static int job_cache_prepare_locked(const char *dir, long long max_mb)
{
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

int sf_job_cache_prepare(const char *dir, long long max_mb)
{
	pthread_mutex_lock(&job_cache_lock);
	int rc = job_cache_prepare_locked(dir, max_mb);
	pthread_mutex_unlock(&job_cache_lock);
	return rc;
}

/* A fetch phase's hold on the tarball cache the slots share: it is
 * emptied (when over its size) only while no fetch is using it, since
 * npm in another slot may be writing or reading it. */
static int job_cache_acquire(const char *dir, long long max_mb)
{
	pthread_mutex_lock(&job_cache_lock);
	int rc = job_cache_users == 0 ? job_cache_prepare_locked(dir, max_mb) : 0;
	if (rc == 0)
		job_cache_users++;
	pthread_mutex_unlock(&job_cache_lock);
	return rc;
}

static void job_cache_release(void)
{
	pthread_mutex_lock(&job_cache_lock);
	job_cache_users--;
	pthread_mutex_unlock(&job_cache_lock);
}

void sf_job_sweep(const char *jobs_dir)
{
	/* disks, idmapped views and caches of interrupted jobs */
	job_unmount_below(jobs_dir);
	sf_rmtree(jobs_dir);
}
