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
 *   - limits: wall time, CPU time, output, memory, pids and disk (in /builds
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
#include "syscalls.h"
#include "userns.h"
#include "util.h"
#include "wire.h"

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
	    resolv[700], hwork[700], htmp[700], cid[64];
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
	/* resolv.conf from the disk, as the job binds it */
	char hresolv[700];
	snprintf(hresolv, sizeof(hresolv), "%s/resolv.conf", mnt);
	CHECK(sf_write_file(hresolv, "nameserver 127.0.0.1\n", 21) == 0);
	snprintf(b->resolv, sizeof(b->resolv), "%s/resolv.conf", b->cdisk);
	b->argv[0] = "/bin/sh";
	b->argv[1] = "-c";
	b->argv[2] = sh;
	static const char *const env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", NULL};
	const char *rt = getenv("SF_TEST_RUNTIME");
	b->spec = (struct sf_sandbox_spec){
	    .runtime = rt && rt[0] ? rt : "crun", .state_root = b->state, .rootfs = sysroot,
	    .bundle_dir = b->bundle, .work_dir = b->work, .work_dest = "/builds", .cwd = "/builds",
	    .argv = b->argv,
	    .env = env, .container_id = b->cid, .hostname = "box", .resolv_conf = b->resolv,
	    .time_limit_s = 60, .memory_mb = 256, .pids = 256, .tmp_mb = (int)limit_mb,
	    .tmp_dir = b->tmp, .uid = 1000, .gid = 1000,
	    .userns_path = sf_userns_path(&userns), .userns_host_base = TEST_USERNS_BASE,
	    .userns_size = SF_USERNS_SIZE, .seccomp = true, .init_host_path = b->init,
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

/* --- identity and the read-only / masked parts -------------------------- */

struct watch_arg {
	struct box *b;
	volatile int done;
};

static void *watch_run(void *arg)
{
	struct watch_arg *w = arg;
	box_run(w->b);
	w->done = 1;
	return NULL;
}

/* The host uid of a process named comm in container cid, or -1. */
static long host_uid_of(const char *cid, const char *comm)
{
	char cmd[512], line[256];
	snprintf(cmd, sizeof(cmd),
		 "for p in /proc/[0-9]*; do grep -q '%s' $p/cgroup 2>/dev/null &&"
		 " [ \"$(cat $p/comm 2>/dev/null)\" = %s ] && awk '/^Uid:/ {print $2}' $p/status"
		 " && break; done",
		 cid, comm);
	FILE *f = popen(cmd, "r");
	long uid = -1;
	if (f && fgets(line, sizeof(line), f))
		uid = strtol(line, NULL, 10);
	if (f)
		pclose(f);
	return uid;
}

static void test_identity(void)
{
	struct box b;
	box_init(&b, 64,
		 "cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //;s/^/map /'; echo uid $(id -u);"
		 " stat -c 'passwd %u:%g' /etc/passwd; stat -c 'work %u:%g' /builds;"
		 " echo x > /builds/mine; stat -c 'mine %u' /builds/mine;"
		 " grep -E '^(NoNewPrivs|CapEff|CapBnd|Seccomp):' /proc/self/status | tr -d '\\t' |"
		 " sed 's/:/ /';"
		 " touch /etc/x 2>/dev/null || echo etc_write refused; touch /usr/bin/x 2>/dev/null ||"
		 " echo usr_write refused;"
		 " for p in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug"
		 " /proc/latency_stats; do [ -e $p ] && echo masked $p $(wc -c < $p); done;"
		 " for d in /sys/firmware /sys/kernel /proc/acpi /proc/scsi; do"
		 " [ -e $d ] && echo masked $d $(ls -A $d | wc -l); done;"
		 " (echo x > /proc/sys/kernel/domainname) 2>/dev/null || echo procsys refused;"
		 " (echo b > /proc/sysrq-trigger) 2>/dev/null || echo sysrq refused;"
		 " sleep 2");
	struct watch_arg w = {.b = &b};
	pthread_t t;
	CHECK(pthread_create(&t, NULL, watch_run, &w) == 0);
	long uid = -1;
	for (int i = 0; i < 100 && uid < 0 && !w.done; i++) {
		usleep(50000);
		uid = host_uid_of(b.cid, "sleep");
	}
	pthread_join(t, NULL);
	char line[128];
	snprintf(line, sizeof(line), "map 0 %u %u", TEST_USERNS_BASE, SF_USERNS_SIZE);
	CHECK(box_said(&b, line));		    /* ids inside are the slot's range */
	CHECK_EQ(uid, TEST_USERNS_BASE + 1000);	    /* uid 1000 inside is base + 1000 */
	CHECK(box_said(&b, "uid 1000"));
	CHECK(box_said(&b, "passwd 0:0"));	    /* the rootfs's files are root's */
	CHECK(box_said(&b, "work 1000:1000"));	    /* the tree is the sandbox user's */
	CHECK(box_said(&b, "mine 1000"));
	struct stat st;
	snprintf(line, sizeof(line), "%s/mine", b.hwork);
	CHECK(stat(line, &st) == 0 && st.st_uid == 1000); /* on disk as inside */
	CHECK(box_said(&b, "NoNewPrivs 1"));
	CHECK(box_said(&b, "CapEff 0000000000000000"));
	CHECK(box_said(&b, "CapBnd 0000000000000000"));
	CHECK(box_said(&b, "Seccomp 2"));	    /* a filter is installed */
	CHECK(box_said(&b, "etc_write refused"));   /* read-only rootfs */
	CHECK(box_said(&b, "usr_write refused"));
	/* masked: what exists on the host reads empty inside */
	static const char *const masked[] = {"/proc/kcore", "/proc/keys", "/proc/timer_list",
					     "/proc/sched_debug", "/proc/latency_stats",
					     "/sys/firmware", "/sys/kernel", "/proc/acpi",
					     "/proc/scsi"};
	int nmasked = 0;
	for (size_t i = 0; i < sizeof(masked) / sizeof(masked[0]); i++) {
		if (access(masked[i], F_OK) != 0)
			continue;
		snprintf(line, sizeof(line), "masked %s 0", masked[i]);
		CHECK(box_said(&b, line));
		nmasked++;
	}
	CHECK(nmasked >= 3);
	CHECK(box_said(&b, "procsys refused"));	    /* read-only */
	CHECK(box_said(&b, "sysrq refused"));
	if (harness_failures)
		box_show(&b, "identity");
	box_free(&b);
}

/* --- seccomp ------------------------------------------------------------ */

static const struct sf_ruleset *rules;
static struct sf_rules_ctx rctx;
#define MAX_SEEN 256
static char seen[MAX_SEEN][96];
static int nseen;
static long event_uid = -1; /* user.uid of the events: the id inside */

static void on_denied_match(void *arg, const struct sf_rule *r, const struct sf_event *ev)
{
	int *hit = arg;
	(void)ev;
	if (strcmp(sf_rule_name(r), "Denied system call") == 0)
		*hit = 1;
}

/* Every event: "TYPE RES ALERT" (ALERT: whether "Denied system call" matched). */
static void on_event(void *arg, const struct sf_event *ev)
{
	(void)arg;
	int hit = 0;
	sf_rules_eval(rules, &rctx, ev, on_denied_match, &hit);
	if (event_uid != -2)
		event_uid = event_uid == -1 || event_uid == (long)ev->proc->uid ? (long)ev->proc->uid
										: -2;
	if (nseen < MAX_SEEN)
		snprintf(seen[nseen++], sizeof(seen[0]), "%s %lld %s", ev->type, (long long)ev->res,
			 hit ? "alert" : "-");
}

static bool was_seen(const char *line)
{
	for (int i = 0; i < nseen; i++)
		if (strcmp(seen[i], line) == 0)
			return true;
	return false;
}

static void probe_copy(const struct box *b)
{
	char cmd[1600];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s/probe'", SF_PROBE_BIN, b->hwork);
	CHECK(system(cmd) == 0);
}

static void test_seccomp(struct sf_sensor *sensor)
{
	struct box b;
	box_init(&b, 64, "/builds/probe denied");
	b.argv[0] = "/builds/probe";
	b.argv[1] = "denied";
	b.argv[2] = NULL;
	probe_copy(&b);
	struct sf_observe *obs = NULL;
	struct sf_observe_opts oo = {.rules = rules, .container_id = b.cid, .image = "box",
				     .hostname = "test", .work_dir = "/builds", .work_host_dir = b.hwork,
				     .tmp_host_dir = b.htmp, .rootfs = SF_ROOTFS,
				     .uid_base = TEST_USERNS_BASE, .uid_count = SF_USERNS_SIZE,
				     .init = true, .on_event = on_event};
	if (sensor)
		CHECK(sf_observe_start(&obs, sensor, b.cid, &oo) == 0);
	box_run(&b);
	struct sf_batch batch;
	memset(&batch, 0, sizeof(batch));
	if (obs) {
		CHECK(sf_observe_finish(obs, &batch) == 0);
		sf_observe_free(obs);
	}
	char line[128];
	/* the filter: EPERM for each denied call, whatever the kernel would
	 * have said; namespaces refused; clone3 and io_uring "not there" */
#define SEEN_DENIED(name, nr)                                                                   \
	CHECK(box_said(&b, #name "=EPERM"));                                                     \
	if (sensor) {                                                                            \
		snprintf(line, sizeof(line), "%s %d alert", #name, -EPERM);                      \
		CHECK(was_seen(line));                                                           \
	}
	SF_SYSCALLS_DENIED(SEEN_DENIED)
#undef SEEN_DENIED
	CHECK(box_said(&b, "mount=EPERM"));
	CHECK(box_said(&b, "unshare_newuser=EPERM"));
	CHECK(box_said(&b, "unshare_newns=EPERM"));
	CHECK(box_said(&b, "unshare_fs=ok"));
	CHECK(box_said(&b, "clone_newuser=EPERM"));
	CHECK(box_said(&b, "clone_plain=ok"));
	CHECK(box_said(&b, "clone3=ENOSYS"));
	CHECK(box_said(&b, "io_uring_setup=ENOSYS"));
	if (sensor) {
		/* the sensor sees them (sys_exit still fires for a call seccomp
		 * refused at entry) and the shipped rule alerts on each */
		snprintf(line, sizeof(line), "unshare %d alert", -EPERM);
		CHECK(was_seen(line));
		snprintf(line, sizeof(line), "clone %d alert", -EPERM);
		CHECK(was_seen(line));
		snprintf(line, sizeof(line), "unshare 0 -"); /* CLONE_FS: not reported */
		CHECK(!was_seen(line));
		/* user.uid means what it meant without a user namespace */
		CHECK_EQ(event_uid, 1000);
		bool alert = false;
		for (uint32_t i = 0; i < batch.nalerts; i++)
			alert |= strcmp(batch.alerts[i].rule, "Denied system call") == 0 &&
				 strstr(batch.alerts[i].output, "syscall=syslog") != NULL;
		CHECK(alert); /* and the job's batch has the alert */
	}
	if (harness_failures)
		box_show(&b, "seccomp");
	sf_batch_free(&batch);
	box_free(&b);

	/* the same calls without the filter: the user namespace alone would
	 * let the package make a namespace of its own */
	box_init(&b, 64, "");
	b.argv[0] = "/builds/probe";
	b.argv[1] = "userns";
	b.argv[2] = NULL;
	b.spec.seccomp = false;
	probe_copy(&b);
	box_run(&b);
	CHECK(box_said(&b, "unshare_newuser=ok"));
	CHECK(!box_said(&b, "keyctl=EPERM"));
	box_free(&b);

	/* a 32-bit system call kills the process: nothing reaches the kernel
	 * under a number the sensor would misread */
	box_init(&b, 64, "");
	b.argv[0] = "/builds/probe";
	b.argv[1] = "i386";
	b.argv[2] = NULL;
	probe_copy(&b);
	box_run(&b);
	CHECK(box_said(&b, "calling int 0x80"));
	CHECK(!strstr(b.res.stdout_tail, "i386_getpid"));
	CHECK_EQ(b.res.exit_status, 128 + SIGSYS);
	box_free(&b);
}

/* --- limits ------------------------------------------------------------- */

static void test_limits(void)
{
	struct box b;
	box_init(&b, 64, "echo started; sleep 30");
	b.spec.time_limit_s = 2;
	box_run(&b);
	CHECK(b.res.limits == SF_LIMIT_TIME && b.res.timed_out);
	CHECK(box_said(&b, "started"));
	box_free(&b);

	box_init(&b, 64, "while :; do :; done");
	b.spec.cpu_limit_s = 1;
	box_run(&b);
	CHECK(b.res.limits == SF_LIMIT_CPU && !b.res.timed_out);
	CHECK(b.res.cpu_ms >= 1000);
	box_free(&b);

	box_init(&b, 64, "yes | head -c 8000000; echo not reached");
	b.spec.output_limit = 1 << 20;
	box_run(&b);
	CHECK(b.res.limits == SF_LIMIT_OUTPUT);
	CHECK(b.res.output_bytes > (1 << 20) && b.res.output_bytes < 8000000);
	box_free(&b);

	box_init(&b, 64, "");
	static const char *const node_argv[] = {
	    "/usr/bin/node", "-e",
	    "const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1));", NULL};
	memcpy(b.argv, node_argv, sizeof(node_argv));
	b.spec.memory_mb = 96;
	box_run(&b);
	CHECK(b.res.limits == SF_LIMIT_MEMORY);
	CHECK(b.res.oom_kills >= 1);
	CHECK_EQ(b.res.exit_status, 137);
	box_free(&b);

	box_init(&b, 64, "i=0; while [ $i -lt 60 ]; do sleep 5 & i=$((i+1)); done; echo forked");
	b.spec.pids = 24;
	box_run(&b);
	CHECK(b.res.limits & SF_LIMIT_PIDS);
	CHECK(!(b.res.limits & SF_LIMIT_TIME));
	box_free(&b);

	/* the disk: /builds and /tmp share one budget of 16 MiB */
	box_init(&b, 16, "head -c 10000000 /dev/zero > /tmp/a && echo tmp ok;"
			 " head -c 10000000 /dev/zero > /builds/b || echo work full");
	box_run(&b);
	CHECK(b.res.limits == SF_LIMIT_DISK);
	CHECK(box_said(&b, "tmp ok"));
	CHECK(box_said(&b, "work full"));
	struct stat st;
	char path[800];
	snprintf(path, sizeof(path), "%s/b", b.hwork);
	CHECK(stat(path, &st) == 0 && st.st_size < 8000000);
	box_free(&b);

	/* the same writes within the budget: no limit reached */
	box_init(&b, 64, "head -c 10000000 /dev/zero > /tmp/a; head -c 10000000 /dev/zero > /builds/b");
	box_run(&b);
	CHECK(b.res.limits == 0 && b.res.exit_status == 0);
	box_free(&b);
}

/* --- the grace for processes left running ------------------------------- */

static bool host_file(const struct box *b, const char *name)
{
	char path[800];
	snprintf(path, sizeof(path), "%s/%s", b->hwork, name);
	return access(path, F_OK) == 0;
}

static void test_grace(void)
{
	struct box b;
	/* without a grace, nothing outlives the command */
	box_init(&b, 64, "(sleep 1; echo late > /builds/late) & echo started");
	box_run(&b);
	CHECK(b.res.command_ended && b.res.left_running && b.res.exit_status == 0);
	CHECK(!host_file(&b, "late"));
	box_free(&b);

	/* with one, what it left acts while watched */
	box_init(&b, 64, "(sleep 1; echo late > /builds/late) & echo started");
	b.spec.grace_ms = 4000;
	box_run(&b);
	CHECK(b.res.command_ended && b.res.left_running && b.res.exit_status == 0);
	CHECK(host_file(&b, "late"));
	CHECK(b.res.limits == 0);
	box_free(&b);

	/* and what runs on past the grace is killed: the run ends */
	box_init(&b, 64, "(sleep 30; echo never > /builds/never) & exit 3");
	b.spec.grace_ms = 1000;
	box_run(&b);
	CHECK(b.res.command_ended && b.res.left_running);
	CHECK_EQ(b.res.exit_status, 3); /* the command's status */
	CHECK(b.res.limits == 0 && !b.res.timed_out);
	CHECK(!host_file(&b, "never"));
	box_free(&b);

	/* a command that leaves nothing ends the run at once */
	box_init(&b, 64, "echo alone");
	b.spec.grace_ms = 30000;
	box_run(&b);
	CHECK(b.res.command_ended && !b.res.left_running);
	CHECK(b.res.duration_ms < 30000);
	box_free(&b);
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
	char err[1024] = "";
	snprintf(top, sizeof(top), "/tmp/sf-sandbox-test-%d", (int)getpid());
	snprintf(sysroot, sizeof(sysroot), "%s/sysroot", top);
	sf_mkdirs(sysroot, 0755);
	chmod(top, 0755);
	if (sf_userns_create(&userns, TEST_USERNS_BASE, SF_USERNS_SIZE, err, sizeof(err)) ||
	    sf_userns_idmap(&userns, SF_ROOTFS, sysroot, true)) {
		fprintf(stderr, "%s\n", err);
		CHECK(!"user namespace and idmapped rootfs");
		TEST_DONE();
	}
	const char *dir = SF_RULES_DIR;
	struct sf_ruleset *rs = NULL;
	CHECK(sf_rules_load(&rs, &dir, 1, err, sizeof(err)) == 0);
	rules = rs;
	sf_rules_ctx_init(&rctx);
	struct sf_sensor *sensor = NULL;
	if (sf_sensor_open(&sensor, SF_SANDBOX_CGROUP_PARENT, err, sizeof(err)) != 0) {
		fprintf(stderr, "sensor unavailable (%s): the seccomp case checks the filter only\n",
			err);
		sensor = NULL;
	}

	test_identity();
	test_seccomp(sensor);
	test_limits();
	test_grace();

	sf_sensor_close(sensor);
	sf_rules_free(rs);
	umount2(sysroot, MNT_DETACH);
	sf_userns_close(&userns);
	sf_rmtree(top);
	TEST_DONE();
}
