/*
 * run — runs one command in a fresh OCI container (the sandbox) with crun
 * (or runc).
 *
 * The bundle is a read-only root file system shared by all jobs, a tmpfs
 * /tmp, the runner look's own mounts (etc files, home), and the job's
 * project tree bind-mounted read-write where the look puts it. The
 * process runs as uid/gid 1000 with no capabilities and no_new_privs, in
 * new pid, mount, network (loopback only), ipc, uts and cgroup namespaces,
 * with cgroup memory and pids limits and a wall-clock timeout after which the
 * container is killed. The container is deleted afterwards, whatever happened.
 * A bounded tail of stdout and stderr is kept.
 *
 * Owns: the container it starts (bundle writes its config.json), the
 * pipes of its output; the result's tails are malloc'd, released by
 * sf_sandbox_result_free. Calls: bundle, fork/exec of the runtime, util,
 * log.
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
	unsigned uid;
	unsigned gid;
};

struct sf_sandbox_result {
	bool exited;	 /* normal exit: exit_status is valid */
	int exit_status; /* or 128 + signal, as a shell reports it */
	bool timed_out;
	int64_t duration_ms;
	char *stdout_tail; /* malloc'd, NUL-terminated; a NUL of the output reads "\\0" */
	char *stderr_tail;
};

/* Returns 0 when the container ran (whatever its exit status), or a negative
 * errno with err filled when it could not be started. */
int sf_sandbox_run(const struct sf_sandbox_spec *spec, struct sf_sandbox_result *res, char *err,
		   size_t errlen);
void sf_sandbox_result_free(struct sf_sandbox_result *res);

/* Force-deletes every container left in state_root (a worker killed mid-job
 * leaves its container behind); returns how many were removed. */
int sf_sandbox_sweep(const char *runtime, const char *state_root);

#endif
