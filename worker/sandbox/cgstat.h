/*
 * cgstat — what a container's cgroup counted: processes the OOM killer
 * killed there, forks refused at its pids limit, CPU time used. The OCI
 * runtime makes the cgroup (cgroupsPath) and sets its limits; this module
 * only finds and reads it, on a cgroup v2 host (one hierarchy:
 * memory.events, pids.events, cpu.stat) or a v1/hybrid one (one hierarchy
 * per controller: memory.oom_control, pids.events, cpuacct.usage), which
 * it tells apart from /proc/self/mountinfo.
 *
 * The runtime deletes a container's cgroup with the container (crun
 * delete), so read it before that: run.c does, between the container's
 * exit and its deletion.
 *
 * Owns: nothing (paths in the caller's struct). Calls: libc.
 */
#ifndef SF_CGSTAT_H
#define SF_CGSTAT_H

#include <stdbool.h>
#include <stdint.h>

struct sf_cgstat {
	bool v2;	/* memory is a v2 controller: every file under one path */
	char mem[512];	/* the container's cgroup directory per controller */
	char pids[512];
	char cpu[512];
};

struct sf_cgstat_counts {
	uint64_t oom_kills;	/* processes killed by the OOM killer at the memory limit */
	uint64_t pids_refused;	/* forks refused at the pids limit */
	uint64_t cpu_us;	/* CPU time of every process, user + system */
};

/* Where cgroup `rel` ("scanfarm/<container id>", relative to each
 * hierarchy's root) lives on this host. 0 or -ENOENT (no cgroup file
 * system mounted that holds the memory controller). */
int sf_cgstat_locate(struct sf_cgstat *c, const char *rel);

/* Reads the counters; a file missing (the cgroup is not there yet, or a
 * controller is absent) leaves its count 0. */
void sf_cgstat_read(const struct sf_cgstat *c, struct sf_cgstat_counts *k);

/* CPU time only (cheap: one small file), 0 when unreadable. */
uint64_t sf_cgstat_cpu_us(const struct sf_cgstat *c);

#endif
