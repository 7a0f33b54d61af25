/*
 * run — runs one command in a fresh OCI container (the sandbox) with crun
 * (or runc), holds it to its limits and says which ones it reached.
 *
 * The bundle (bundle.c) is a read-only root file system, a /tmp, the
 * runner look's own mounts (etc files, home, workspace) and the job's
 * project tree where the look puts it (/work without a look), a user
 * namespace the worker made (ids mapped to an unprivileged host range), a
 * seccomp filter (seccomp.c), no capabilities, no_new_privs, new pid,
 * mount, network, ipc, uts and cgroup namespaces, cgroup memory and pids
 * limits. Its pid 1 is our init (init.c, mounted at /dev/init), which runs
 * the command and, when the command ends with processes still running,
 * gives them spec->grace_ms to act while watched before everything left is
 * killed.
 *
 * How it runs: a keeper process (a child of the worker and the subreaper
 * of the container, so the container's pid 1 is reaped and its exit status
 * known) runs `runtime create` then `runtime start`; the runtime keeps the
 * container's cgroup until `runtime delete`, so its counters (cgstat.c) can
 * be read after the container ended. Meanwhile the worker drains stdout and
 * stderr (a writer blocks when the worker is slow, it never fails), keeps a
 * bounded tail of each, and every SF_SANDBOX_CHECK_MS checks CPU time and
 * the job disk's free space. Limits and what reaching them does:
 *   wall time   the container is killed (SF_LIMIT_TIME)
 *   CPU time    the container is killed (SF_LIMIT_CPU)
 *   output      the container is killed (SF_LIMIT_OUTPUT)
 *   memory      the kernel's OOM killer acts in the cgroup (SF_LIMIT_MEMORY)
 *   pids        forks fail with EAGAIN (SF_LIMIT_PIDS)
 *   disk        writes fail with ENOSPC (SF_LIMIT_DISK: free space or
 *               inodes ran out on spec->disk_path's file system)
 * Afterwards the container's cgroup is killed and the container deleted,
 * whatever happened.
 *
 * Owns: the container it starts (bundle writes its config.json), the keeper
 * process, the pipes of its output and the init's control socket; the
 * result's tails are malloc'd, released by sf_sandbox_result_free. Calls:
 * bundle, cgstat, fork/exec of the runtime, util, log.
 */
#ifndef SF_SANDBOX_H
#define SF_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SF_SANDBOX_TAIL 16384 /* bytes of stdout / stderr kept */
/* Containers live in cgroup /<parent>/<container id> of the v2 hierarchy;
 * the sensor watches that cgroup. */
#define SF_SANDBOX_CGROUP_PARENT "scanfarm"
/* Where the init is mounted in the container, and its control fd (init.c). */
#define SF_INIT_PATH "/dev/init"
#define SF_INIT_FD 3
/* init --each: the environment variable naming the label of its lines (init.c) */
#define SF_INIT_EACH_LABEL_ENV "SF_INIT_EACH_LABEL"
#define SF_INIT_GRACE_MAX_MS 60000
/* How often CPU time and the disk are checked while the container runs. */
#define SF_SANDBOX_CHECK_MS 200
/* A disk with less free than this (or no free inode) counts as full. */
#define SF_SANDBOX_DISK_FULL_BYTES (1 << 20)

/* The limits a run can reach (struct sf_sandbox_result.limits). */
enum sf_sandbox_limit {
	SF_LIMIT_TIME = 1 << 0,
	SF_LIMIT_MEMORY = 1 << 1,
	SF_LIMIT_PIDS = 1 << 2,
	SF_LIMIT_CPU = 1 << 3,
	SF_LIMIT_DISK = 1 << 4,
	SF_LIMIT_OUTPUT = 1 << 5,
};

/* A bind mount: a host directory (read-write) or file (read-only). */
struct sf_sandbox_mount {
	const char *source;
	const char *dest;
	bool dir;
};

struct sf_sandbox_spec {
	const char *runtime;	  /* "crun" */
	const char *state_root;	  /* runtime --root */
	const char *rootfs;	  /* absolute path, mounted read-only */
	const char *bundle_dir;	  /* where config.json is written */
	const char *work_dir;	  /* host dir mounted at work_dest (rw) */
	const char *work_dest;	  /* the project tree in the container (NULL: /work) */
	const char *cwd;	  /* inside the container */
	const char *const *argv;  /* NULL-terminated */
	const char *const *env;	  /* NULL-terminated, KEY=VALUE */
	const char *container_id; /* unique on this host */
	const char *hostname;
	const char *resolv_conf;  /* host file bind-mounted at /etc/resolv.conf, or NULL */
	int time_limit_s;
	int memory_mb;
	int pids;
	int tmp_mb;		  /* size of the tmpfs at /tmp (when tmp_dir is NULL) */
	const char *tmp_dir;	  /* host dir bind-mounted at /tmp instead, or NULL */
	/* A network namespace to join (sf_netns_path), or NULL for a new,
	 * empty one the runtime makes. */
	const char *netns_path;
	/* A host directory bind-mounted read-write at cache_dest (inside /tmp,
	 * whose tmpfs can grow the mount point), or NULL. */
	const char *cache_dir;
	const char *cache_dest;
	/* More bind mounts, made in this order after /tmp and before the
	 * project tree's (which may lie inside one of them). */
	const struct sf_sandbox_mount *mounts;
	int nmounts;
	unsigned uid;		  /* inside the container's user namespace */
	unsigned gid;
	/* The user namespace to join (sf_userns_path), or NULL for none: ids
	 * inside are then the host's. */
	const char *userns_path;
	unsigned userns_host_base, userns_size; /* its map: inside 0… = host base… */
	bool seccomp;		  /* apply the seccomp filter (seccomp.c) */
	/* Host path of the init (init.c) bind-mounted at SF_INIT_PATH as pid 1,
	 * or NULL: the command is pid 1 and nothing outlives it. */
	const char *init_host_path;
	int grace_ms;		  /* what processes left running get (init.c) */
	int cpu_limit_s;	  /* CPU seconds of the whole container, 0 = none */
	int64_t output_limit;	  /* bytes of stdout + stderr, 0 = none */
	/* A path on the job's disk (statfs'd to tell it is full), or NULL. */
	const char *disk_path;
};

struct sf_sandbox_result {
	bool exited;	 /* normal exit: exit_status is valid */
	int exit_status; /* or 128 + signal, as a shell reports it */
	bool timed_out;
	unsigned limits;     /* enum sf_sandbox_limit bits reached */
	bool command_ended;  /* the init saw the command end (init_status valid) */
	bool left_running;   /* …while other processes were still running */
	int64_t duration_ms;
	int64_t cpu_ms;	     /* CPU time the container used */
	int64_t output_bytes; /* stdout + stderr read */
	uint64_t oom_kills;  /* processes the OOM killer took */
	char *stdout_tail; /* malloc'd, NUL-terminated; a NUL of the output reads "\\0" */
	char *stderr_tail;
};

/* Returns 0 when the container ran (whatever its exit status), or a negative
 * errno with err filled when it could not be started. */
int sf_sandbox_run(const struct sf_sandbox_spec *spec, struct sf_sandbox_result *res, char *err,
		   size_t errlen);
void sf_sandbox_result_free(struct sf_sandbox_result *res);

/* The init's control stream (init.c): feeds n bytes read from it; true
 * when they completed an "E <status> <left>" line (*status, *left set).
 * Over-long lines are cut, anything else is ignored. Exposed for the
 * fuzzer: the bytes come from inside the sandbox. */
struct sf_init_ctl {
	char line[64];
	size_t len;
};
bool sf_init_ctl_feed(struct sf_init_ctl *c, const char *data, size_t n, int *status, int *left);

/* Force-deletes every container left in state_root (a worker killed mid-job
 * leaves its container behind); returns how many were removed. */
int sf_sandbox_sweep(const char *runtime, const char *state_root);

#endif
