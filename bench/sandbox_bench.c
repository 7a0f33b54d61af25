/*
 * sandbox_bench — what the hardening costs per job and per container,
 * against the previous shape measured in the same run (medians of N):
 *
 *   job set-up + tear-down
 *     baseline  a tmpfs mounted for /tmp, unmounted (what a job did before)
 *     disk      the job's disk (sparse image, mkfs.ext4, loop, mount), its
 *               reserve, the idmapped views of the rootfs and the disk,
 *               then all unmounted and removed
 *   one container running `true`, start to end
 *     baseline  no user namespace, no seccomp filter, the command as pid 1
 *     hardened  the slot's user namespace, the filter, our init as pid 1
 *
 *   sandbox_bench ROOTFS INIT [N]     (root; crun on the PATH)
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "disk.h"
#include "log.h"
#include "run.h"
#include "userns.h"
#include "util.h"

#define BENCH_BASE (2013265920u + 300u * SF_USERNS_SIZE)

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

static long long median(long long *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_ll);
	return v[n / 2];
}


static long long clock_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The old /tmp: a tmpfs mounted and unmounted. */
static long long bench_tmpfs(const char *dir)
{
	char d[600];
	snprintf(d, sizeof(d), "%s/tmpfs", dir);
	sf_mkdirs(d, 0755);
	long long t = clock_us();
	if (mount("tmpfs", d, "tmpfs", MS_NOSUID | MS_NODEV, "size=1024m,mode=1777") == 0)
		umount2(d, 0);
	return clock_us() - t;
}

/* The job's disk as job.c makes it (default limits: 2048 MiB unpacked,
 * 100 000 entries, 1024 MiB to write), its views, and their removal. */
static long long bench_disk(const char *dir, const struct sf_userns *u, const char *rootfs)
{
	char image[600], mnt[600], cdisk[600], sysroot[600], err[256];
	snprintf(image, sizeof(image), "%s/disk.img", dir);
	snprintf(mnt, sizeof(mnt), "%s/disk", dir);
	snprintf(cdisk, sizeof(cdisk), "%s/cdisk", dir);
	snprintf(sysroot, sizeof(sysroot), "%s/sysroot", dir);
	sf_mkdirs(cdisk, 0755);
	sf_mkdirs(sysroot, 0755);
	long long t = clock_us();
	struct sf_disk d;
	if (sf_disk_create(&d, image, mnt, 2048 + 390 + 1024 + 64, 100000 + 1024 * 128 + 1024, err,
			   sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	char work[700];
	snprintf(work, sizeof(work), "%s/work", mnt);
	sf_mkdirs(work, 0755);
	sf_disk_reserve(&d, 1024);
	sf_userns_idmap(u, rootfs, sysroot, true);
	sf_userns_idmap(u, mnt, cdisk, false);
	umount2(cdisk, 0);
	umount2(sysroot, 0);
	sf_disk_destroy(&d);
	return clock_us() - t;
}

/* One container running `true`. */
static long long bench_run(const char *dir, int i, const char *rootfs, const char *init,
			   const struct sf_userns *u)
{
	char bundle[600], state[600], cid[64], err[256];
	snprintf(bundle, sizeof(bundle), "%s/bundle", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(cid, sizeof(cid), "sfb-%d-%d", (int)getpid(), i);
	sf_mkdirs(bundle, 0755);
	sf_mkdirs(state, 0700);
	static const char *const argv[] = {"/bin/true", NULL};
	static const char *const env[] = {"PATH=/usr/bin:/bin", NULL};
	struct sf_sandbox_spec s = {
	    .runtime = "crun", .state_root = state, .rootfs = rootfs, .bundle_dir = bundle,
	    .work_dir = dir, .cwd = "/", .argv = argv, .env = env, .container_id = cid,
	    .hostname = "bench", .time_limit_s = 30, .memory_mb = 256, .pids = 64, .tmp_mb = 16,
	    .uid = 1000, .gid = 1000, .userns_path = u ? sf_userns_path(u) : NULL,
	    .userns_host_base = u ? u->host_base : 0, .userns_size = u ? u->size : 0,
	    .seccomp = u != NULL, .init_host_path = u ? init : NULL};
	struct sf_sandbox_result r;
	long long t = clock_us();
	int rc = sf_sandbox_run(&s, &r, err, sizeof(err));
	t = clock_us() - t;
	if (rc || r.exit_status != 0)
		fprintf(stderr, "run %s: rc %d exit %d %s\n", u ? "hardened" : "baseline", rc,
			r.exit_status, r.stderr_tail ? r.stderr_tail : err);
	sf_sandbox_result_free(&r);
	return t;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: sandbox_bench ROOTFS INIT [N]\n");
		return 2;
	}
	char rootfs[4096];
	if (!realpath(argv[1], rootfs)) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	int n = argc > 3 ? atoi(argv[3]) : 15;
	if (n < 3 || n > 1000)
		n = 15;
	sf_log_setup("sandbox_bench", "warn");
	char dir[128], err[256], sysroot[200], init[300], cmd[800];
	snprintf(dir, sizeof(dir), "/tmp/sf-sandbox-bench-%d", (int)getpid());
	sf_mkdirs(dir, 0755);
	struct sf_userns u;
	if (sf_userns_create(&u, BENCH_BASE, SF_USERNS_SIZE, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	snprintf(sysroot, sizeof(sysroot), "%s/sysroot-run", dir);
	sf_mkdirs(sysroot, 0755);
	sf_userns_idmap(&u, rootfs, sysroot, true);
	snprintf(init, sizeof(init), "%s/init", dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", argv[2], init);
	if (system(cmd) != 0)
		return 1;
	long long *a = calloc((size_t)n, sizeof(*a)), *b = calloc((size_t)n, sizeof(*b));
	if (!a || !b)
		return 1;
	for (int i = 0; i < n; i++) {
		a[i] = bench_tmpfs(dir);
		b[i] = bench_disk(dir, &u, rootfs);
	}
	long long ma = median(a, n), mb = median(b, n);
	printf("job set-up + tear-down: tmpfs /tmp %.2f ms, job disk + idmapped views %.2f ms"
	       " (+%.2f ms a job)\n", ma / 1000.0, mb / 1000.0, (mb - ma) / 1000.0);
	for (int i = 0; i < n; i++) {
		a[i] = bench_run(dir, 2 * i, rootfs, init, NULL);
		b[i] = bench_run(dir, 2 * i + 1, sysroot, init, &u);
	}
	ma = median(a, n);
	mb = median(b, n);
	printf("container running true: baseline %.1f ms, user namespace + seccomp + init %.1f ms"
	       " (%.2fx)\n", ma / 1000.0, mb / 1000.0, ma ? (double)mb / (double)ma : 0.0);
	umount2(sysroot, MNT_DETACH);
	sf_userns_close(&u);
	sf_rmtree(dir);
	free(a);
	free(b);
	return 0;
}
