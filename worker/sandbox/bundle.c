/* bundle — see bundle.h. */
#include "bundle.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "run.h"
#include "seccomp.h"

static json_t *bundle_str_array(const char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; a && v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* The process's argv: the command, behind our init when there is one. */
static json_t *bundle_args(const struct sf_sandbox_spec *s)
{
	json_t *cmd = bundle_str_array(s->argv);
	if (!cmd || !s->init_host_path)
		return cmd;
	json_t *a = json_pack("[s,s]", SF_INIT_PATH, "--");
	if (a && json_array_extend(a, cmd) == 0) {
		json_decref(cmd);
		return a;
	}
	json_decref(a);
	json_decref(cmd);
	return NULL;
}

/* What the spec adds to linux{}: the user namespace to join, the seccomp
 * filter. 0 or -ENOMEM. */
static int bundle_linux_extras(const struct sf_sandbox_spec *s, json_t *linux_)
{
	json_t *ns = json_object_get(linux_, "namespaces");
	if (s->userns_path &&
	    json_array_append_new(ns, json_pack("{s:s,s:s}", "type", "user", "path", s->userns_path)))
		return -ENOMEM;
	/* the namespace's own maps, stated again: runc wants them even when
	 * it joins (crun checks nothing); they must be the joined ones */
	static const char *const maps[] = {"uidMappings", "gidMappings"};
	for (int i = 0; s->userns_path && s->userns_size && i < 2; i++)
		if (json_object_set_new(linux_, maps[i],
					json_pack("[{s:i,s:I,s:I}]", "containerID", 0, "hostID",
						  (json_int_t)s->userns_host_base, "size",
						  (json_int_t)s->userns_size)))
			return -ENOMEM;
	if (s->seccomp) {
		json_t *f = sf_seccomp_profile();
		if (!f || json_object_set_new(linux_, "seccomp", f))
			return -ENOMEM;
	}
	return 0;
}

int sf_sandbox_write_bundle(const struct sf_sandbox_spec *s)
{
	char tmpsize[64], path[4096], cgpath[256];
	snprintf(tmpsize, sizeof(tmpsize), "size=%dm", s->tmp_mb);
	snprintf(cgpath, sizeof(cgpath), "/%s/%s", SF_SANDBOX_CGROUP_PARENT, s->container_id);
	static const char *const masked[] = {
	    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
	    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
	    "/sys/firmware", "/sys/fs/selinux", "/sys/kernel",
	    /* the host's block devices: a loop device's backing_file names
	     * the rootfs image's host path */
	    "/sys/block", "/sys/devices/virtual/block", "/sys/dev/block", NULL};
	static const char *const ro[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
					 "/proc/sysrq-trigger", NULL};
	json_t *caps = json_pack("{s:[],s:[],s:[],s:[],s:[]}", "bounding", "effective",
				 "inheritable", "permitted", "ambient");
	json_t *process = json_pack(
	    "{s:b,s:{s:i,s:i},s:o,s:o,s:s,s:o,s:[{s:s,s:i,s:i}],s:b}", "terminal", 0, "user",
	    "uid", (int)s->uid, "gid", (int)s->gid, "args", bundle_args(s), "env",
	    bundle_str_array(s->env), "cwd", s->cwd, "capabilities", caps, "rlimits", "type",
	    "RLIMIT_NOFILE", "hard", 1024, "soft", 1024, "noNewPrivileges", 1);
	json_t *mounts = json_pack(
	    "[{s:s,s:s,s:s},"
	    "{s:s,s:s,s:s,s:[s,s,s,s]},"
	    "{s:s,s:s,s:s,s:[s,s,s,s,s]},"
	    "{s:s,s:s,s:s,s:[s,s,s,s,s]},"
	    "{s:s,s:s,s:s,s:[s,s,s]},"
	    "{s:s,s:s,s:s,s:[s,s,s,s]}]",
	    "destination", "/proc", "type", "proc", "source", "proc",
	    "destination", "/dev", "type", "tmpfs", "source", "tmpfs", "options", "nosuid",
	    "strictatime", "mode=755", "size=65536k",
	    "destination", "/dev/pts", "type", "devpts", "source", "devpts", "options", "nosuid",
	    "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
	    "destination", "/dev/shm", "type", "tmpfs", "source", "shm", "options", "nosuid",
	    "noexec", "nodev", "mode=1777", "size=65536k",
	    "destination", "/dev/mqueue", "type", "mqueue", "source", "mqueue", "options",
	    "nosuid", "noexec", "nodev",
	    "destination", "/sys", "type", "sysfs", "source", "sysfs", "options", "nosuid",
	    "noexec", "nodev", "ro");
	if (mounts && s->tmp_dir)
		/* the caller's own tmpfs is the container's /tmp */
		json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:[s,s,s,s]}", "destination",
							"/tmp", "type", "bind", "source",
							s->tmp_dir, "options", "rbind", "rw",
							"nosuid", "nodev"));
	else if (mounts)
		json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:[s,s,s,s]}", "destination",
							"/tmp", "type", "tmpfs", "source", "tmpfs",
							"options", "nosuid", "nodev", "mode=1777",
							tmpsize));
	if (mounts && s->resolv_conf)
		/* nodev: a bind of the job's (idmapped, nodev) disk keeps it */
		json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:[s,s,s,s]}", "destination",
							"/etc/resolv.conf", "type", "bind", "source",
							s->resolv_conf, "options", "bind", "ro",
							"nosuid", "nodev"));
	if (mounts && s->init_host_path) /* pid 1 (init.c), where Docker's --init once was */
		json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:[s,s,s,s]}", "destination",
							SF_INIT_PATH, "type", "bind", "source",
							s->init_host_path, "options", "bind", "ro",
							"nosuid", "nodev"));
	/* the look's mounts, then the project tree (perhaps inside one);
	 * nodev on every one: binds of the job's (nodev) disk keep it */
	for (int i = 0; mounts && i < s->nmounts; i++)
		json_array_append_new(
		    mounts, s->mounts[i].dir
				? json_pack("{s:s,s:s,s:s,s:[s,s,s,s]}", "destination", s->mounts[i].dest,
					    "type", "bind", "source", s->mounts[i].source, "options",
					    "rbind", "rw", "nosuid", "nodev")
				: json_pack("{s:s,s:s,s:s,s:[s,s,s,s]}", "destination", s->mounts[i].dest,
					    "type", "bind", "source", s->mounts[i].source, "options",
					    "bind", "ro", "nosuid", "nodev"));
	if (mounts)
		json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:[s,s,s,s]}", "destination",
							s->work_dest ? s->work_dest : "/work", "type",
							"bind", "source", s->work_dir, "options",
							"rbind", "rw", "nosuid", "nodev"));
	if (mounts && s->cache_dir && s->cache_dest)
		json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:[s,s,s,s]}", "destination",
							s->cache_dest, "type", "bind", "source",
							s->cache_dir, "options", "rbind", "rw",
							"nosuid", "nodev"));
	json_t *linux_ = json_pack(
	    "{s:[{s:s},{s:s},{s:s},{s:s},{s:s},{s:s}],s:{s:{s:I,s:I},s:{s:I}},s:s,s:o,s:o}",
	    "namespaces", "type", "pid", "type", "network", "type", "ipc", "type", "uts", "type",
	    "mount", "type", "cgroup", "resources", "memory", "limit",
	    (json_int_t)s->memory_mb << 20, "swap", (json_int_t)s->memory_mb << 20, "pids",
	    "limit", (json_int_t)s->pids, "cgroupsPath",
	    cgpath, "maskedPaths", bundle_str_array(masked), "readonlyPaths", bundle_str_array(ro));
	/* the network namespace the worker made (loopback, and in the fetch
	 * phase the registry path), if it made one */
	json_t *ns = json_object_get(linux_, "namespaces");
	for (size_t i = 0; ns && s->netns_path && i < json_array_size(ns); i++) {
		json_t *e = json_array_get(ns, i);
		const char *type = json_string_value(json_object_get(e, "type"));
		if (type && strcmp(type, "network") == 0)
			json_object_set_new(e, "path", json_string(s->netns_path));
	}
	if (linux_ && bundle_linux_extras(s, linux_)) {
		json_decref(linux_);
		linux_ = NULL;
	}
	json_t *cfg = json_pack("{s:s,s:o,s:{s:s,s:b},s:s,s:o,s:o}", "ociVersion", "1.0.2",
				"process", process, "root", "path", s->rootfs, "readonly", 1,
				"hostname", s->hostname, "mounts", mounts, "linux", linux_);
	if (!cfg)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/config.json", s->bundle_dir);
	int rc = json_dump_file(cfg, path, JSON_INDENT(1)) == 0 ? 0 : -EIO;
	json_decref(cfg);
	return rc;
}
