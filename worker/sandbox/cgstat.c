/* cgstat — see cgstat.h. */
#include "cgstat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether comma-separated opts holds word. */
static bool cgstat_has_opt(const char *opts, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = opts; p && *p;) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == n && strncmp(p, word, n) == 0)
			return true;
		p = e ? e + 1 : NULL;
	}
	return false;
}

/* The mount points of the v2 hierarchy and of the v1 memory, pids and
 * cpuacct hierarchies, from /proc/self/mountinfo. */
static void cgstat_mounts(char *v2, char *mem, char *pids, char *cpu, size_t len)
{
	v2[0] = mem[0] = pids[0] = cpu[0] = '\0';
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	char line[1024];
	while (fgets(line, sizeof(line), f)) {
		/* id parent maj:min root mountpoint opts ... - fstype source superopts */
		char mp[512], fstype[32], superopts[256];
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %*s %511s", mp) != 1 ||
		    sscanf(dash + 3, "%31s %*s %255s", fstype, superopts) != 2)
			continue;
		if (strcmp(fstype, "cgroup2") == 0 && !v2[0])
			snprintf(v2, len, "%s", mp);
		if (strcmp(fstype, "cgroup") != 0)
			continue;
		if (cgstat_has_opt(superopts, "memory") && !mem[0])
			snprintf(mem, len, "%s", mp);
		if (cgstat_has_opt(superopts, "pids") && !pids[0])
			snprintf(pids, len, "%s", mp);
		if (cgstat_has_opt(superopts, "cpuacct") && !cpu[0])
			snprintf(cpu, len, "%s", mp);
	}
	fclose(f);
}

int sf_cgstat_locate(struct sf_cgstat *c, const char *rel)
{
	char v2[512], mem[512], pids[512], cpu[512];
	cgstat_mounts(v2, mem, pids, cpu, sizeof(v2));
	memset(c, 0, sizeof(*c));
	if (mem[0]) { /* v1 or hybrid: the controllers have their own hierarchies */
		snprintf(c->mem, sizeof(c->mem), "%s/%s", mem, rel);
		if (pids[0])
			snprintf(c->pids, sizeof(c->pids), "%s/%s", pids, rel);
		if (cpu[0])
			snprintf(c->cpu, sizeof(c->cpu), "%s/%s", cpu, rel);
		return 0;
	}
	if (!v2[0])
		return -ENOENT;
	c->v2 = true;
	snprintf(c->mem, sizeof(c->mem), "%s/%s", v2, rel);
	snprintf(c->pids, sizeof(c->pids), "%s/%s", v2, rel);
	snprintf(c->cpu, sizeof(c->cpu), "%s/%s", v2, rel);
	return 0;
}

/* The number after "key " in dir/file (a "key value" line), or after
 * nothing when key is NULL (a file that is one number). 0 when absent. */
static uint64_t cgstat_value(const char *dir, const char *file, const char *key)
{
	if (!dir[0])
		return 0;
	char path[640], line[256];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	uint64_t v = 0;
	size_t kl = key ? strlen(key) : 0;
	while (fgets(line, sizeof(line), f)) {
		if (!key) {
			v = strtoull(line, NULL, 10);
			break;
		}
		if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
			v = strtoull(line + kl + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

uint64_t sf_cgstat_cpu_us(const struct sf_cgstat *c)
{
	if (c->v2)
		return cgstat_value(c->cpu, "cpu.stat", "usage_usec");
	return cgstat_value(c->cpu, "cpuacct.usage", NULL) / 1000; /* ns */
}

void sf_cgstat_read(const struct sf_cgstat *c, struct sf_cgstat_counts *k)
{
	k->oom_kills = c->v2 ? cgstat_value(c->mem, "memory.events", "oom_kill")
			     : cgstat_value(c->mem, "memory.oom_control", "oom_kill");
	k->pids_refused = cgstat_value(c->pids, "pids.events", "max");
	k->cpu_us = sf_cgstat_cpu_us(c);
}
