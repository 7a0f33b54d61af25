/*
 * sensor_test — the eBPF sensor and its decoder (sensor.c, observe.c) on
 * the real kernel: a child process moves itself into a dedicated cgroup,
 * re-executes this binary and performs every kind of syscall the sensor
 * reports; the test checks the decoded events and facts, and that a
 * process outside the cgroup is not seen. Also: each process's package
 * (a dependency's script writing into another package), and that an exec
 * fact carries the hash of the file executed even when the process has
 * exec'd another program before the record is read (`env sleep`). Needs
 * root and BTF.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "log.h"
#include "observe.h"
#include "rules.h"
#include "sensor.h"
#include "util.h"

/* --- the child: runs inside the cgroup after its first exec ------------- */

/* Packages and a wrapper, in the cgroup: a dependency's script (cwd: its
 * package directory) writes into another package and into its own, then
 * `env sleep 1` runs. */
static int child_packages(const char *dir)
{
	char path[600];
	int st;
	pid_t a = fork();
	if (a == 0) {
		snprintf(path, sizeof(path), "%s/node_modules/dep-a", dir);
		if (chdir(path) != 0)
			_exit(40);
		execl("/bin/sh", "sh", "-c", "echo x > ../dep-b/index.js; echo y > own.txt",
		      (char *)NULL);
		_exit(41);
	}
	waitpid(a, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return 18;

	/* a wrapper that runs another program at once: the test's event hook
	 * holds the sensor thread at the marker until the wrapper has become
	 * sleep, so its exec record is read when /proc/<pid>/exe is sleep */
	pid_t w = fork();
	if (w == 0) {
		snprintf(path, sizeof(path), "%s/env-marker", dir);
		close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
		execl("/usr/bin/env", "env", "sleep", "1", (char *)NULL);
		_exit(127);
	}
	waitpid(w, &st, 0);
	return 0;
}

static int child_main(const char *dir)
{
	char path[600];
	char buf[64];
	/* a new network namespace: connects can never leave the host */
	if (unshare(CLONE_NEWNET) != 0)
		return 10;
	int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf)) < 0)
			return 11;
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/written", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "x", 1) != 1)
		return 12;
	close(fd);
	if (chdir(dir) != 0)
		return 13;
	fd = open("rel", O_WRONLY | O_CREAT | O_TRUNC, 0644); /* relative to the cwd */
	close(fd);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	fd = openat(dfd, "viafd", O_WRONLY | O_CREAT, 0600); /* relative to a dirfd */
	close(fd);
	close(dfd);
	char renamed[600];
	snprintf(renamed, sizeof(renamed), "%s/renamed", dir);
	if (rename(path, renamed) != 0 || unlink(renamed) != 0)
		return 14;
	if (chmod("rel", 04755) != 0)
		return 15;
	if (chown("rel", 1234, 1234) != 0)
		return 17;
	open("/nonexistent/sensor-test", O_RDONLY); /* a failed open is an event too */

	/* an outbound attempt to TEST-NET: ENETUNREACH in the empty netns */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(443)};
	inet_pton(AF_INET, "192.0.2.10", &sa.sin_addr);
	connect(s, (struct sockaddr *)&sa, sizeof(sa));
	close(s);

	/* a DNS question to port 53 (never delivered: lo is down) */
	static const unsigned char q[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
					  11, 's', 'e', 'n', 's', 'o', 'r', '-', 't', 'e', 's', 't',
					  7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1};
	s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in dns = {.sin_family = AF_INET, .sin_port = htons(53)};
	inet_pton(AF_INET, "127.0.0.1", &dns.sin_addr);
	sendto(s, q, sizeof(q), 0, (struct sockaddr *)&dns, sizeof(dns));
	close(s);

	/* a listening socket */
	s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in any = {.sin_family = AF_INET, .sin_port = htons(31337)};
	bind(s, (struct sockaddr *)&any, sizeof(any));
	listen(s, 1);
	close(s);

	/* an IP socket put on other descriptors (as a reverse shell dup2()s its
	 * connection onto stdin and stdout): reported; a file's dup is not */
	s = socket(AF_INET, SOCK_STREAM, 0);
	dup2(s, 57);
	dup3(s, 58, O_CLOEXEC);
	int nul = open("/dev/null", O_RDONLY);
	dup2(nul, 59);
	close(59);
	close(nul);
	close(58);
	close(57);
	close(s);

	int m = memfd_create("sf-memfd", MFD_CLOEXEC);
	close(m);
	/* a program run from a memfd (fileless execution) */
	pid_t mc = fork();
	if (mc == 0) {
		int src = open("/bin/true", O_RDONLY | O_CLOEXEC);
		int mem = memfd_create("sf-exec", 0);
		char chunk[65536];
		ssize_t got;
		while ((got = read(src, chunk, sizeof(chunk))) > 0)
			if (write(mem, chunk, (size_t)got) != got)
				_exit(30);
		char *const av[] = {"memexec", NULL}, *const envp[] = {NULL};
		fexecve(mem, av, envp);
		_exit(31);
	}
	int mst;
	waitpid(mc, &mst, 0);
	ptrace(PTRACE_PEEKDATA, 999999, NULL, NULL);   /* ESRCH: nobody is touched */
	struct iovec l = {buf, 1}, r = {buf, 1};
	process_vm_readv(999999, &l, 1, &r, 1, 0);
	if (setuid(getuid()) != 0)
		return 16;

	pid_t c = fork();
	if (c == 0) {
		execl("/bin/true", "true", "from-child", (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(c, &st, 0);
	return child_packages(dir);
}

/* --- the test ----------------------------------------------------------- */

#define MAX_SEEN 4096
static char *seen[MAX_SEEN];
static int nseen;

/* Each event as one line: "type res=.. fd=.. proc=.. exepath=.. arg.k=v…". */
static void on_event(void *arg, const struct sf_event *ev)
{
	(void)arg;
	char line[2048];
	int o = snprintf(line, sizeof(line), "%s res=%lld fd=%s proc=%s exepath=%s dns=%s",
			 ev->type, (long long)ev->res, ev->fd_name ? ev->fd_name : "-",
			 ev->proc->name, ev->proc->exepath ? ev->proc->exepath : "-",
			 ev->dns_name ? ev->dns_name : "-");
	for (uint32_t i = 0; i < ev->nargs && o < (int)sizeof(line); i++)
		o += snprintf(line + o, sizeof(line) - o, " %s=%s", ev->args[i].name,
			      ev->args[i].value);
	if (ev->proc->parent && o < (int)sizeof(line))
		o += snprintf(line + o, sizeof(line) - o, " parent=%s", ev->proc->parent->name);
	if (o < (int)sizeof(line))
		snprintf(line + o, sizeof(line) - o, " pkg=%s ppath=[%s] fdpkg=[%s] phase=%s",
			 ev->proc->package ? ev->proc->package : "-",
			 ev->proc->package_path ? ev->proc->package_path : "-",
			 ev->fd_package ? ev->fd_package : "", ev->phase ? ev->phase : "-");
	if (nseen < MAX_SEEN)
		seen[nseen++] = strdup(line);
	/* the wrapper's marker: hold the sensor thread until the wrapper
	 * runs sleep (at most 3 s) */
	if (!strcmp(ev->type, "openat") && ev->fd_name && strstr(ev->fd_name, "/env-marker")) {
		char exe[64], target[512];
		snprintf(exe, sizeof(exe), "/proc/%d/exe", ev->proc->pid);
		for (int i = 0; i < 3000; i++) {
			ssize_t n = readlink(exe, target, sizeof(target) - 1);
			target[n > 0 ? n : 0] = 0;
			if (n > 6 && !strcmp(target + n - 6, "/sleep"))
				break;
			usleep(1000);
		}
	}
}

/* The SHA-256 of a file, by sha256sum (independent of the worker's). */
static void sha256sum(const char *file, char want[SF_SHA256_HEX + 1])
{
	char cmd[600];
	want[0] = 0;
	snprintf(cmd, sizeof(cmd), "sha256sum '%s'", file);
	FILE *f = popen(cmd, "r");
	if (f) {
		if (fscanf(f, "%64s", want) != 1)
			want[0] = 0;
		pclose(f);
	}
}

/* The detail of the fact (kind, value) that package caused in phase. */
static const char *fact_of(const struct sf_batch *b, const char *kind, const char *value,
			   const char *package, const char *phase)
{
	for (uint32_t i = 0; i < b->nfacts; i++) {
		const struct sf_fact *f = &b->facts[i];
		if (!strcmp(f->kind, kind) && strstr(f->value, value) &&
		    (!package || (f->package && !strcmp(f->package, package))) &&
		    (!phase || (f->phase && !strcmp(f->phase, phase))))
			return f->detail;
	}
	fprintf(stderr, "no fact %s %s of %s in %s\n", kind, value, package ? package : "-",
		phase ? phase : "-");
	return NULL;
}

/* True when some event line contains every one of the given parts. */
static int saw(const char *a, const char *b, const char *c)
{
	for (int i = 0; i < nseen; i++)
		if (seen[i] && strstr(seen[i], a) && (!b || strstr(seen[i], b)) &&
		    (!c || strstr(seen[i], c)))
			return 1;
	fprintf(stderr, "no event with [%s] [%s] [%s]\n", a, b ? b : "", c ? c : "");
	return 0;
}

static int fact(const struct sf_batch *b, const char *kind, const char *value, const char *detail)
{
	for (uint32_t i = 0; i < b->nfacts; i++)
		if (!strcmp(b->facts[i].kind, kind) && strstr(b->facts[i].value, value) &&
		    (!detail || strstr(b->facts[i].detail, detail)))
			return 1;
	fprintf(stderr, "no fact %s %s %s\n", kind, value, detail ? detail : "");
	return 0;
}

/* The events the child's syscalls must have produced. */
static void check_events(const char *dir)
{
	char p[700];
	/* exec: resolved path, argv, cwd */
	CHECK(saw("execve res=0", "exe=sensor_test", "args=--child"));
	CHECK(saw("execve res=0", "exepath=/usr/bin/true", "args=from-child"));
	CHECK(saw("execve res=0", "proc=true", "parent=sensor_test"));
	CHECK(saw("clone", "proc=sensor_test", NULL) || saw("fork", "proc=sensor_test", NULL));
	CHECK(saw("procexit", "proc=true", NULL));
	/* files */
	CHECK(saw("openat res=", "fd=/etc/hostname", "flags=O_RDONLY|O_CLOEXEC"));
	snprintf(p, sizeof(p), "fd=%s/written", dir);
	CHECK(saw("openat", p, "O_WRONLY|O_CREAT|O_TRUNC"));
	snprintf(p, sizeof(p), "fd=%s/rel ", dir);
	CHECK(saw("openat", p, NULL)); /* relative to the cwd */
	snprintf(p, sizeof(p), "fd=%s/viafd ", dir);
	CHECK(saw("openat", p, NULL)); /* relative to a dirfd */
	snprintf(p, sizeof(p), "newpath=%s/renamed", dir);
	CHECK(saw("rename", p, NULL));
	snprintf(p, sizeof(p), "fd=%s/renamed", dir);
	CHECK(saw("unlink", p, NULL));
	CHECK(saw("chmod res=0", "S_ISUID", NULL));
	snprintf(p, sizeof(p), "fd=%s/rel ", dir);
	CHECK(saw("chown res=0", p, "uid=1234 gid=1234"));
	CHECK(saw("openat res=-2", "fd=/nonexistent/sensor-test", NULL));
	/* network */
	CHECK(saw("connect res=-101", "->192.0.2.10:443", "addr=192.0.2.10:443")); /* ENETUNREACH */
	CHECK(saw("sendto", "dns=sensor-test.example", NULL));
	CHECK(saw("bind res=0", "fd=0.0.0.0:31337", NULL));
	CHECK(saw("listen res=0", "fd=0.0.0.0:31337", NULL));
	CHECK(saw("dup2 res=57", "newfd=57", "oldfd="));
	CHECK(saw("dup3 res=58", "newfd=58", "oldfd="));
	int dup_of_file = 0;
	for (int i = 0; i < nseen; i++)
		dup_of_file |= seen[i] && strstr(seen[i], "dup2 res=59") != NULL;
	CHECK(!dup_of_file);
	/* processes and memory */
	CHECK(saw("memfd_create", "name=sf-memfd", NULL));
	CHECK(saw("execve", "exepath=/memfd:sf-exec", "exe=memexec")); /* or execveat */
	CHECK(saw("ptrace res=-3", "request=PTRACE_PEEKDATA", "pid=999999"));
	CHECK(saw("process_vm_readv res=-3", "pid=999999", NULL));
	CHECK(saw("setuid res=0", "uid=0", NULL));
	/* the parent's open outside the cgroup was not seen */
	for (int i = 0; i < nseen; i++)
		CHECK(!strstr(seen[i], "/outside"));
}

/* A project in dir with two installed packages. */
static void make_project(const char *dir)
{
	char pj[600];
	snprintf(pj, sizeof(pj), "%s/node_modules/dep-a", dir);
	CHECK_EQ(sf_mkdirs(pj, 0755), 0);
	snprintf(pj, sizeof(pj), "%s/node_modules/dep-b", dir);
	CHECK_EQ(sf_mkdirs(pj, 0755), 0);
	static const char proj_json[] = "{\"name\": \"proj\", \"version\": \"0.1.0\"}";
	static const char a_json[] = "{\"name\": \"dep-a\", \"version\": \"1.2.3\"}";
	static const char b_json[] = "{\"name\": \"dep-b\", \"version\": \"2.0.0\"}";
	snprintf(pj, sizeof(pj), "%s/package.json", dir);
	CHECK_EQ(sf_write_file(pj, proj_json, strlen(proj_json)), 0);
	snprintf(pj, sizeof(pj), "%s/node_modules/dep-a/package.json", dir);
	CHECK_EQ(sf_write_file(pj, a_json, strlen(a_json)), 0);
	snprintf(pj, sizeof(pj), "%s/node_modules/dep-b/package.json", dir);
	CHECK_EQ(sf_write_file(pj, b_json, strlen(b_json)), 0);
}

/* Attribution of real processes, and the wrapper's exec fact. */
static void check_packages(const struct sf_batch *b, const char *dir)
{
	char p[700];
	const char *d;
	/* attribution: the project, a dependency's script, its writes */
	CHECK(saw("execve res=0", "exe=sensor_test",
		  "pkg=proj@0.1.0 ppath=[] fdpkg=[] phase=install"));
	snprintf(p, sizeof(p), "fd=%s/node_modules/dep-b/index.js", dir);
	CHECK(saw("openat", p, "pkg=dep-a@1.2.3 ppath=[node_modules/dep-a] fdpkg=[dep-b@2.0.0]"));
	CHECK(saw("openat", "dep-a/own.txt", "pkg=dep-a@1.2.3 ppath=[node_modules/dep-a] fdpkg=[]"));
	d = fact_of(b, "process", "", "dep-a@1.2.3", "install");
	CHECK(d && strstr(d, "own.txt"));
	CHECK(fact_of(b, "exec", "/usr/bin/true", "proj@0.1.0", "install") != NULL);
	/* the wrapper's exec fact carries the wrapper's hash, though by the
	 * time it was read the process ran sleep */
	CHECK(saw("execve res=0", "exepath=/usr/bin/env", "args=sleep 1"));
	char env_want[SF_SHA256_HEX + 1], sleep_want[SF_SHA256_HEX + 1];
	sha256sum("/usr/bin/env", env_want);
	sha256sum("/usr/bin/sleep", sleep_want);
	d = fact_of(b, "exec", "/usr/bin/env", "proj@0.1.0", "install");
	CHECK(d && env_want[0] && !strcmp(d, env_want));
	if (d && strcmp(d, env_want))
		fprintf(stderr, "env hashed as %s (env %s, sleep %s)\n", d, env_want, sleep_want);
	d = fact_of(b, "exec", "/usr/bin/sleep", "proj@0.1.0", "install");
	CHECK(d && sleep_want[0] && !strcmp(d, sleep_want));
	/* the alert: output_fields end with the package and the phase */
	CHECK_EQ(b->nalerts, 1);
	for (uint32_t i = 0; i < b->nalerts; i++) {
		const struct sf_alert *al = &b->alerts[i];
		CHECK(!strcmp(al->output, "into dep-b@2.0.0"));
		CHECK(al->nfields == 3 && !strcmp(al->fields[1].key, "scanfarm.package") &&
		      !strcmp(al->fields[1].value, "dep-a@1.2.3") &&
		      !strcmp(al->fields[2].key, "scanfarm.phase") &&
		      !strcmp(al->fields[2].value, "install"));
	}
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--child"))
		return child_main(argv[2]);
	if (geteuid() != 0)
		SKIP("needs root to load BPF programs");
	sf_log_setup("sensor_test", getenv("SF_TEST_DEBUG") ? "debug" : "warn");

	char err[512] = "";
	struct sf_sensor *sensor;
	int rc = sf_sensor_open(&sensor, "scanfarm-test", err, sizeof(err));
	if (rc == -ENOTSUP)
		SKIP(err);
	CHECK_EQ(rc, 0);
	if (rc) {
		fprintf(stderr, "sensor: %s\n", err);
		TEST_DONE();
	}

	char dir[] = "/tmp/sf-sensor-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char name[64], cgpath[512], procs[600], outside[600];
	snprintf(name, sizeof(name), "sensor-test-%d", getpid());
	make_project(dir);
	/* rootfs "": the child runs on the host's root, where exited
	 * programs are hashed from; its /tmp is the host's */
	/* one rule, on writes into another package: its alerts carry the
	 * writer's package and the phase */
	static const char rule[] = "- rule: t\n  desc: d\n  condition: scanfarm.fd.package != \"\"\n"
				   "  output: into %scanfarm.fd.package\n  priority: error\n";
	struct sf_ruleset *rs = NULL;
	CHECK_EQ(sf_rules_load_buffer(&rs, "t.yaml", rule, strlen(rule), err, sizeof(err)), 0);
	struct sf_observe_opts opts = {.rules = rs,
				       .container_id = name,
				       .rootfs = "",
				       .tmp_host_dir = "/tmp",
				       .project_dir = dir,
				       .on_event = on_event};
	struct sf_observe *obs;
	CHECK_EQ(sf_observe_start(&obs, sensor, name, &opts), 0);
	CHECK_EQ(sf_observe_phase(obs, "install", name), 0); /* the same cgroup, as a phase */
	CHECK(!strcmp(sf_observe_current_phase(obs), "install"));
	CHECK_EQ(sf_sensor_cgroup_path(sensor, name, cgpath, sizeof(cgpath)), 0);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cgpath);

	pid_t pid = fork();
	if (pid == 0) {
		char me[32];
		snprintf(me, sizeof(me), "%d", getpid());
		if (sf_write_file(procs, me, strlen(me)) != 0)
			_exit(20);
		/* exec the binary by its real path so its comm is "sensor_test" */
		char self[512];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			_exit(22);
		self[n] = 0;
		execl(self, "sensor_test", "--child", dir, (char *)NULL);
		_exit(21);
	}
	/* the parent, outside the cgroup, does something the child also does */
	snprintf(outside, sizeof(outside), "%s/outside", dir);
	int fd = open(outside, O_WRONLY | O_CREAT, 0644);
	close(fd);
	int st = 0;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fprintf(stderr, "child status %d\n", WEXITSTATUS(st));

	struct sf_batch b = {0};
	CHECK_EQ(sf_observe_finish(obs, &b), 0);
	sf_observe_free(obs);
	if (getenv("SF_TEST_DEBUG"))
		for (int i = 0; i < nseen; i++)
			fprintf(stderr, "EVENT %s\n", seen[i]);

	char p[700];
	CHECK(b.events > 0);
	CHECK_EQ(b.drops, 0);
	check_events(dir);
	/* facts */
	CHECK(fact(&b, "connect", "192.0.2.10:443/tcp", "ENETUNREACH"));
	CHECK(fact(&b, "dns", "sensor-test.example", NULL));
	CHECK(fact(&b, "listen", "0.0.0.0:31337/tcp", "succeeded"));
	CHECK(fact(&b, "exec", "/usr/bin/true", NULL));
	CHECK(fact(&b, "process", "", "from-child"));
	snprintf(p, sizeof(p), "%s/rel", dir);
	CHECK(fact(&b, "file_written", p, NULL));
	/* the SHA-256 of /usr/bin/true matches */
	char hex[SF_SHA256_HEX + 1] = "";
	for (uint32_t i = 0; i < b.nfacts; i++)
		if (!strcmp(b.facts[i].kind, "exec") && !strcmp(b.facts[i].value, "/usr/bin/true"))
			sf_strlcpy(hex, b.facts[i].detail, sizeof(hex));
	char cmd[200], want[100] = "";
	snprintf(cmd, sizeof(cmd), "sha256sum /usr/bin/true");
	FILE *f = popen(cmd, "r");
	if (f) {
		if (fscanf(f, "%64s", want) != 1)
			want[0] = 0;
		pclose(f);
	}
	CHECK(want[0] && !strcmp(hex, want));

	check_packages(&b, dir);
	/* a DNS decoder that refuses what is not a question */
	char dn[64];
	static const unsigned char resp[] = {0, 0, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1};
	CHECK(sf_observe_dns_name(resp, sizeof(resp), dn, sizeof(dn)) != 0);
	static const unsigned char trunc[] = {0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 9, 'a'};
	CHECK(sf_observe_dns_name(trunc, sizeof(trunc), dn, sizeof(dn)) != 0);

	sf_batch_free(&b);
	sf_rules_free(rs);
	sf_sensor_close(sensor);
	sf_rmtree(dir);
	for (int i = 0; i < nseen; i++)
		free(seen[i]);
	TEST_DONE();
}
