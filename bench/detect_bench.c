/*
 * detect_bench — what runtime detection costs, measured against a
 * baseline taken in the same run (never a timed assertion).
 *
 *  1. Overhead: a fork+exec(/bin/true) loop and an open() loop inside a
 *     job cgroup, first with no sensor loaded, then watched by the sensor
 *     with the shipped rules evaluated on every event. Prints the ratio
 *     watched/unwatched wall time.
 *  2. Throughput: the open() loop paced at rising rates; prints the
 *     highest rate the sensor + rule engine kept up with, with zero drops,
 *     and its ratio to the unwatched syscall rate.
 *
 * usage: detect_bench RULES_DIR [seconds-per-step]   (root, BTF)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "observe.h"
#include "rules.h"
#include "sensor.h"
#include "util.h"

static atomic_ullong bench_events;

static void bench_on_event(void *arg, const struct sf_event *ev)
{
	(void)arg;
	(void)ev;
	atomic_fetch_add(&bench_events, 1);
}

static double bench_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* The workload, run by a child that has joined cgroup procs_path and
 * exec'd this binary: "exec N" forks and execs /bin/true N times; "open N
 * RATE" opens a missing file N times at RATE per second (0 = flat out). */
static int bench_child(int argc, char **argv)
{
	long n = atol(argv[2]);
	if (!strcmp(argv[1], "exec")) {
		for (long i = 0; i < n; i++) {
			pid_t p = fork();
			if (p == 0) {
				execl("/bin/true", "true", (char *)NULL);
				_exit(127);
			}
			int st;
			waitpid(p, &st, 0);
		}
		return 0;
	}
	double rate = argc > 3 ? atof(argv[3]) : 0;
	double start = bench_now();
	for (long i = 0; i < n; i++) {
		int fd = open("/nonexistent/scanfarm-bench", O_RDONLY);
		if (fd >= 0)
			close(fd);
		if (rate > 0 && (i & 255) == 0) {
			double ahead = i / rate - (bench_now() - start);
			if (ahead > 0)
				usleep((useconds_t)(ahead * 1e6));
		}
	}
	return 0;
}

/* Runs the workload in cgroup dir cg and returns its wall time. */
static double bench_run(const char *cg, const char *what, long n, double rate)
{
	char procs[600], ns[32], rs[32];
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
	snprintf(ns, sizeof(ns), "%ld", n);
	snprintf(rs, sizeof(rs), "%.0f", rate);
	double t0 = bench_now();
	pid_t p = fork();
	if (p == 0) {
		char me[32], self[512];
		snprintf(me, sizeof(me), "%d", getpid());
		if (sf_write_file(procs, me, strlen(me)) != 0)
			_exit(20);
		ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (l <= 0)
			_exit(21);
		self[l] = 0;
		execl(self, "detect_bench", "--child", what, ns, rs, (char *)NULL);
		_exit(22);
	}
	int st;
	waitpid(p, &st, 0);
	return bench_now() - t0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "--child"))
		return bench_child(argc - 1, argv + 1);
	if (argc < 2) {
		fprintf(stderr, "usage: detect_bench RULES_DIR [seconds-per-step]\n");
		return 64;
	}
	double step_s = argc > 2 ? atof(argv[2]) : 1.0;
	sf_log_setup("bench", "warn");
	char err[1024];
	struct sf_ruleset *rules;
	const char *paths[] = {argv[1]};
	if (sf_rules_load(&rules, paths, 1, err, sizeof(err))) {
		fprintf(stderr, "rules: %s\n", err);
		return 1;
	}
	/* Baseline: a plain cgroup, no BPF program loaded at all. */
	char cg[512];
	snprintf(cg, sizeof(cg), "/sys/fs/cgroup/unified/scanfarm-bench/base-%d", getpid());
	struct stat st;
	if (stat("/sys/fs/cgroup/unified", &st) != 0 ||
	    stat("/sys/fs/cgroup/unified/cgroup.procs", &st) != 0)
		snprintf(cg, sizeof(cg), "/sys/fs/cgroup/scanfarm-bench/base-%d", getpid());
	if (sf_mkdirs(cg, 0755)) {
		fprintf(stderr, "cannot create %s\n", cg);
		return 1;
	}
	const long execs = 2000, opens = 400000;
	double base_exec = bench_run(cg, "exec", execs, 0);
	double base_open = bench_run(cg, "open", opens, 0);

	struct sf_sensor *sensor;
	if (sf_sensor_open(&sensor, "scanfarm-bench", err, sizeof(err))) {
		fprintf(stderr, "sensor: %s\n", err);
		return 1;
	}
	/* What every other process on a worker host pays: the sensor is
	 * attached, but their cgroup is not watched. */
	double idle_exec = bench_run(cg, "exec", execs, 0);
	double idle_open = bench_run(cg, "open", opens, 0);
	rmdir(cg);
	char name[64];
	snprintf(name, sizeof(name), "watched-%d", getpid());
	struct sf_observe_opts oo = {.rules = rules, .container_id = name, .image = "bench",
				     .hostname = "bench", .on_event = bench_on_event};
	struct sf_observe *obs;
	if (sf_observe_start(&obs, sensor, name, &oo)) {
		fprintf(stderr, "cannot watch\n");
		return 1;
	}
	sf_sensor_cgroup_path(sensor, name, cg, sizeof(cg));
	double watched_exec = bench_run(cg, "exec", execs, 0);
	double watched_open = bench_run(cg, "open", opens, 0);
	struct sf_batch b = {0};
	sf_observe_finish(obs, &b);
	sf_observe_free(obs);
	printf("outside the sandbox, sensor attached: fork+exec ratio %.2f, open ratio %.2f\n",
	       idle_exec / base_exec, idle_open / base_open);
	printf("overhead fork+exec loop (%ld execs): unwatched %.3f s, watched %.3f s, ratio %.2f\n",
	       execs, base_exec, watched_exec, watched_exec / base_exec);
	printf("overhead open loop (%ld opens): unwatched %.3f s, watched %.3f s, ratio %.2f"
	       " (%llu events, %llu drops)\n",
	       opens, base_open, watched_open, watched_open / base_open,
	       (unsigned long long)b.events, (unsigned long long)b.drops);
	sf_batch_free(&b);

	/* Throughput: rising paced rates until the ring buffer overflows. */
	double raw_rate = opens / base_open, best = 0;
	for (double rate = 25000; rate <= raw_rate * 1.01; rate *= 1.5) {
		long n = (long)(rate * step_s);
		snprintf(name, sizeof(name), "rate-%d-%.0f", getpid(), rate);
		oo.container_id = name;
		if (sf_observe_start(&obs, sensor, name, &oo))
			break;
		sf_sensor_cgroup_path(sensor, name, cg, sizeof(cg));
		atomic_store(&bench_events, 0);
		double t = bench_run(cg, "open", n, rate);
		struct sf_batch rb = {0};
		sf_observe_finish(obs, &rb);
		sf_observe_free(obs);
		double achieved = n / t;
		printf("  paced %8.0f/s: achieved %8.0f events/s, %llu events, %llu drops\n", rate,
		       achieved, (unsigned long long)rb.events, (unsigned long long)rb.drops);
		if (rb.drops == 0 && rb.events >= (uint64_t)n)
			best = achieved;
		sf_batch_free(&rb);
		if (achieved < rate * 0.8)
			break; /* the workload itself cannot go faster while watched */
	}
	printf("throughput: %.0f events/s with zero drops; unwatched syscall rate %.0f/s;"
	       " ratio %.2f\n",
	       best, raw_rate, best / raw_rate);
	sf_sensor_close(sensor);
	sf_rules_free(rules);
	return 0;
}
