/*
 * scanfarm-worker — asks the coordinator for jobs over NNG (req/rep: only
 * when it has a free slot), runs each in the sandbox, pushes the result
 * batches back. See README.md for options.
 *
 * This file is options → wiring only: the rules and the sensor (or the
 * link to Falco), the job
 * environment (job.c runs one job), the sandbox image's digest, the sweep
 * of what a killed worker left, and the link to the coordinator (uplink.c).
 *
 * With --capacity N the worker runs N jobs at once, each in a slot of
 * its own: per slot, a user namespace (an id range of its own) and a
 * registry proxy (whose log tells the slot's refusals from the others');
 * each job also makes its own cgroups, network namespaces (and sinkhole),
 * job directory and disk (job.c). Shared by the slots: the rules (read
 * only), the sensor (one eBPF program, its records handed to each job's
 * observer by cgroup) or the Falco feed (alerts matched to containers),
 * the rootfs image, the registry gateway (a thread per connection) and the
 * tarball cache (job.c keeps it from being emptied under a running fetch).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "http_client.h"
#include "image.h"
#include "job.h"
#include "uplink.h"
#include "log.h"
#include "gateway.h"
#include "netns.h"
#include "proxy.h"
#include "rootimg.h"
#include "rules.h"
#include "run.h"
#include "sensor.h"
#include "userns.h"
#include "falco_feed.h"

static struct sf_option opts[] = {
    {"jobs-url", "tcp://127.0.0.1:7301", "coordinator address to ask for jobs at", NULL},
    {"results-url", "tcp://127.0.0.1:7302", "coordinator address to push results to", NULL},
    {"worker-id", NULL, "name of this worker (default: hostname-pid)", NULL},
    {"rootfs", "var/rootfs.img", "sandbox root file system: the image scripts/setup.sh rootfs"
				 " builds (mounted read-only for the worker's lifetime), or a"
				 " directory (development: its host path shows in the sandbox's"
				 " mount table)", NULL},
    {"work-dir", "var/worker", "scratch space for jobs", NULL},
    {"runtime", "crun", "OCI runtime: crun or runc", NULL},
    {"max-entries", "100000", "most entries an archive may have", NULL},
    {"max-unpacked-mb", "2048", "largest expanded size of an archive", NULL},
    {"heartbeat-interval", "10", "seconds between heartbeats", NULL},
    {"keep-jobs", "0", "1 = keep job directories for debugging", NULL},
    {"sensor", "ebpf", "runtime sensor: ebpf (embedded CO-RE sensor), falco-grpc (Falco's gRPC"
		       " outputs), falco-json (Falco's http_output) or none", NULL},
    {"sensor-ring-kb", "16384", "ebpf: the sensor's ring buffer (KiB, a power of two), shared"
				" by the slots; records it loses fail their job", NULL},
    {"falco-grpc-address", "unix:///run/falco/falco.sock", "falco-grpc: Falco's gRPC server"
							     " (unix socket, or host:port with mTLS)", NULL},
    {"falco-grpc-ca", NULL, "falco-grpc over TCP: CA certificate (PEM) to check Falco with", NULL},
    {"falco-grpc-cert", NULL, "falco-grpc over TCP: the worker's certificate (PEM)", NULL},
    {"falco-grpc-key", NULL, "falco-grpc over TCP: the worker's private key (PEM)", NULL},
    {"falco-http-address", "127.0.0.1:7310", "falco-json: loopback address Falco's http_output"
					      " posts to", NULL},
    {"falco-queue", "4096", "Falco alerts buffered for the jobs (then dropped and counted)", NULL},
    {"falco-pulse-ms", "1000", "milliseconds between the pulses that prove Falco delivers", NULL},
    {"falco-relay-dir", "/run/scanfarm/falco", "directory this machine's workers share one Falco"
					       " through (one reads it, the others get their alerts"
					       " relayed; \"\" = this worker alone)", NULL},
    {"rules", "rules", "Falco-format rule files or directories, comma-separated", NULL},
    {"worker-secret", NULL, "shared secret the coordinator requires (if it does)", NULL},
    {"tls-cert", NULL, "this worker's certificate (PEM, from the farm's CA) for tls+tcp:// URLs", NULL},
    {"tls-key", NULL, "its private key (PEM)", NULL},
    {"tls-ca", NULL, "the farm's CA certificate(s) (PEM) the coordinator's must chain to", NULL},
    {"tls-server-name", NULL, "the name in the coordinator's certificate (default: the URL's host)", NULL},
    {"http-ca", NULL, "CA certificate(s) (PEM) of an https:// coordinator's artifact downloads"
		      " (default: the system's)", NULL},
    {"noop", "0", "1 = answer every job at once without running it (dispatch benchmarks)", NULL},
    {"capacity", "1", "slots: jobs run at once, each with its own user namespace (slots"
		      " --userns-slot … --userns-slot + capacity - 1), cgroups, network"
		      " namespaces and disk", NULL},
    {"npm-registry", "https://registry.npmjs.org/", "npm registry the fetch phase installs"
		      " from (http or https; the sandbox reaches nothing else)", NULL},
    {"npm-registry-auth", NULL, "file holding the registry's token (or a whole Authorization"
				" value): added by the worker's gateway, never seen by the sandbox", NULL},
    {"npm-registry-ca", NULL, "extra CA certificates (PEM) to verify the registry with", NULL},
    {"pypi-index", "https://pypi.org/simple/", "PEP 503 simple index the fetch phase of PyPI"
		   " scans resolves from (http or https; \"\": none, a body installs from what"
		   " it brings)", NULL},
    {"pypi-index-auth", NULL, "file holding the index's token or Authorization value: added by"
			      " the worker's gateway, never seen by the sandbox", NULL},
    {"pypi-index-ca", NULL, "extra CA certificates (PEM) to verify the index with", NULL},
    {"gem-source", "https://rubygems.org/", "gem source the fetch phase of RubyGems scans"
		   " resolves from (http or https; \"\": none)", NULL},
    {"gem-source-auth", NULL, "file holding the gem source's token or Authorization value"
			      " (the worker's gateway adds it)", NULL},
    {"gem-source-ca", NULL, "extra CA certificates (PEM) to verify the gem source with", NULL},
    {"registry-proxy", "tinyproxy", "the allowlisting forward proxy the worker starts for the"
				    " fetch phase", NULL},
    {"npm-cache-mb", "2048", "tarball cache shared by this worker's jobs: emptied when over", NULL},
    {"network", "sinkhole", "the install and import phases' network for jobs that name none:"
			    " sinkhole (every name resolved, every connection answered and"
			    " recorded, nothing leaves) or offline (loopback only)", NULL},
    {"userns-base", "2013265920", "first host id of the sandbox user namespaces: slot k maps"
				  " ids 0-65535 to base + k * 65536 onwards (an unassigned range)", NULL},
    {"userns-slot", "0", "this worker's first slot number k: it uses k … k + capacity - 1"
			 " (workers sharing a host need ranges that do not overlap)", NULL},
    {"init", NULL, "the sandbox's init (default: scanfarm-init next to this program or in"
		   " ../lib/scanfarm)", NULL},
    {"grace", "5", "seconds processes still running when a phase's command ends get, watched,"
		   " before they are killed", NULL},
    {"cpu-limit", "0", "CPU seconds a job may use (0: its time limit)", NULL},
    {"output-limit-mb", "1024", "stdout + stderr a phase may write before it is killed"
				" (0: unlimited)", NULL},
    {"log-level", "info", "debug, info, warn or error", NULL},
    {"log-format", "text", "text or json (one JSON object per line)", NULL},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* What each slot has of its own: its user namespace and its registry
 * proxy (its job environment, the worker's with these two, is in
 * struct worker's slot_envs). */
struct worker_slot {
	struct sf_userns userns;
	struct sf_proxy proxy;
	bool proxy_running;
};

/* What main wires together; lives as long as the process. */
struct worker {
	struct sf_link link;
	struct sf_job_env env;
	char rootfs[PATH_MAX], workdir[PATH_MAX];
	char rootfs_mount[PATH_MAX + 16]; /* where the image is mounted, "" for a directory */
	char hostname[256];
	char image_digest[SF_SHA256_HEX + 1];
	struct sf_ruleset *rules;
	struct sf_sensor *sensor;
	struct sf_falco *falco;
	struct worker_slot slots[SF_WIRE_MAX_JOBS];
	int nslots; /* slots[0..nslots) are set up (user namespace made) */
	struct sf_job_env slot_envs[SF_WIRE_MAX_JOBS];
	struct sf_gateway *gateway; /* in front of a registry that wants credentials */
	/* the PyPI index and the gem source: what the sandbox is given (the
	 * gateway's URL when the worker holds their credential), and the
	 * origins the proxy allows for them */
	struct sf_gateway *pypi_gateway, *gem_gateway;
	char pypi_url[1400], gem_url[1400];
	char allow[4][320];
	int nallow;
	char cache_dir[PATH_MAX + 16];
	long long cache_max_mb;
	char init_path[PATH_MAX];
};

/* The numeric options, the worker's name and the job environment they
 * set. 0, or 2 (the exit code) after saying why. */
static int worker_options(struct worker *w)
{
	long long entries, unpacked_mb, hb, keep;
	if (sf_config_int(opts, NOPTS, "max-entries", 1, 100000000, &entries) ||
	    sf_config_int(opts, NOPTS, "max-unpacked-mb", 1, 1 << 24, &unpacked_mb) ||
	    sf_config_int(opts, NOPTS, "heartbeat-interval", 1, 3600, &hb) ||
	    sf_config_int(opts, NOPTS, "keep-jobs", 0, 1, &keep))
		return 2;
	w->link.heartbeat_s = (int)hb;
	long long noop;
	if (sf_config_int(opts, NOPTS, "noop", 0, 1, &noop))
		return 2;
	w->link.noop = noop != 0;
	long long capacity;
	if (sf_config_int(opts, NOPTS, "capacity", 1, SF_WIRE_MAX_JOBS, &capacity))
		return 2;
	w->link.capacity = (int)capacity;
	const char *id = sf_config_get(opts, NOPTS, "worker-id");
	if (id) {
		snprintf(w->link.id, sizeof(w->link.id), "%s", id);
	} else {
		char host[200] = "worker";
		gethostname(host, sizeof(host) - 1);
		snprintf(w->link.id, sizeof(w->link.id), "%s-%d", host, (int)getpid());
	}
	w->env = (struct sf_job_env){.worker_id = w->link.id,
				     .work_dir = w->workdir,
				     .rootfs = w->rootfs,
				     .runtime = sf_config_get(opts, NOPTS, "runtime"),
				     .keep = keep != 0};
	if (sf_config_int(opts, NOPTS, "npm-cache-mb", 16, 1 << 24, &w->cache_max_mb))
		return 2;
	w->env.registry = sf_config_get(opts, NOPTS, "npm-registry");
	w->env.network = sf_config_get(opts, NOPTS, "network");
	if (strcmp(w->env.network, "sinkhole") && strcmp(w->env.network, "offline")) {
		fprintf(stderr, "--network: expected sinkhole or offline, got %s\n", w->env.network);
		return 2;
	}
	sf_unpack_default_limits(&w->env.unpack);
	w->env.unpack.max_entries = (uint64_t)entries;
	w->env.unpack.max_bytes = (uint64_t)unpacked_mb << 20;
	long long grace, cpu, out_mb;
	if (sf_config_int(opts, NOPTS, "grace", 0, SF_INIT_GRACE_MAX_MS / 1000, &grace) ||
	    sf_config_int(opts, NOPTS, "cpu-limit", 0, 1 << 20, &cpu) ||
	    sf_config_int(opts, NOPTS, "output-limit-mb", 0, 1 << 24, &out_mb))
		return 2;
	w->env.grace_ms = (int)grace * 1000;
	w->env.cpu_limit_s = (int)cpu;
	w->env.output_limit_mb = out_mb;
	return 0;
}

/* The sandbox's init: --init, or scanfarm-init next to this program, or
 * in ../lib/scanfarm beside its bin directory (the installed layout). */
static int worker_find_init(struct worker *w)
{
	const char *opt = sf_config_get(opts, NOPTS, "init");
	char self[PATH_MAX] = "", cand[2][PATH_MAX + 64];
	int n = 0;
	if (opt) {
		snprintf(cand[n++], sizeof(cand[0]), "%s", opt);
	} else {
		ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
		self[l > 0 ? l : 0] = '\0';
		char *slash = strrchr(self, '/');
		if (slash)
			*slash = '\0';
		snprintf(cand[n++], sizeof(cand[0]), "%s/scanfarm-init", self);
		snprintf(cand[n++], sizeof(cand[0]), "%s/../lib/scanfarm/scanfarm-init", self);
	}
	for (int i = 0; i < n; i++) {
		if (access(cand[i], X_OK) == 0 && realpath(cand[i], w->init_path)) {
			w->env.init_path = w->init_path;
			return 0;
		}
	}
	fprintf(stderr, "--init: no sandbox init at %s%s%s (it is built with the worker)\n",
		cand[0], n > 1 ? " or " : "", n > 1 ? cand[1] : "");
	return 2;
}

/* The sandbox's runtime sets the container up as the user namespace's
 * root, an unprivileged host user: every directory above the rootfs and
 * the work dir must be searchable by others. 0, or 2 after saying which is
 * not. */
static int worker_check_reachable(const char *what, const char *path)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s", path);
	for (char *slash = p + strlen(p); slash; slash = strrchr(p, '/')) {
		struct stat st;
		if (stat(p[0] ? p : "/", &st) == 0 && S_ISDIR(st.st_mode) && !(st.st_mode & S_IXOTH)) {
			fprintf(stderr, "%s: %s is not searchable by others (mode %03o): the sandbox's"
					" user namespace cannot reach %s (chmod o+x %s)\n",
				what, p[0] ? p : "/", (unsigned)st.st_mode & 0777, path, p[0] ? p : "/");
			return 2;
		}
		*slash = '\0';
	}
	return 0;
}

/* Each slot's user namespace, and proof that the rootfs can be seen
 * through one (an idmapped mount): a worker must not run installs
 * without. Slot i of a worker whose first is k maps ids 0-65535 to
 * base + (k + i) * 65536 onwards. */
static int worker_userns(struct worker *w)
{
	long long base, first;
	char err[256] = "", probe[PATH_MAX + 32];
	int n = w->link.noop ? 1 : w->link.capacity;
	if (sf_config_int(opts, NOPTS, "userns-base", 65536, 0xfffeffffLL, &base) ||
	    sf_config_int(opts, NOPTS, "userns-slot", 0, 65535, &first) ||
	    worker_check_reachable("--rootfs", w->rootfs) ||
	    worker_check_reachable("--work-dir", w->workdir))
		return 2;
	if (base + (first + n) * (long long)SF_USERNS_SIZE > 0xfffffffeLL) {
		fprintf(stderr, "--userns-base %lld + slots %lld-%lld: beyond the 32-bit id range\n",
			base, first, first + n - 1);
		return 2;
	}
	for (int i = 0; i < n; i++) {
		unsigned host_base = (unsigned)(base + (first + i) * SF_USERNS_SIZE);
		w->slots[i].userns.fd = -1;
		if (sf_userns_create(&w->slots[i].userns, host_base, SF_USERNS_SIZE, err,
				     sizeof(err))) {
			fprintf(stderr, "%s (the worker must run as root)\n", err);
			return 2;
		}
		w->nslots = i + 1;
		sf_info("slot %d: sandbox ids 0-%u are host ids %u-%u (user namespace slot %lld)", i,
			SF_USERNS_SIZE - 1, host_base, host_base + SF_USERNS_SIZE - 1, first + i);
	}
	snprintf(probe, sizeof(probe), "%s/idmap-probe", w->workdir);
	int rc = sf_mkdirs(probe, 0755);
	if (rc == 0)
		rc = sf_userns_idmap(&w->slots[0].userns, w->rootfs, probe, true);
	if (rc == 0)
		umount2(probe, MNT_DETACH);
	rmdir(probe);
	if (rc) {
		fprintf(stderr, "cannot make an idmapped mount of %s (%s): the kernel or the file"
				" system does not support idmapped mounts\n", w->rootfs, strerror(-rc));
		return 2;
	}
	return 0;
}

/* The sandbox rootfs and the scratch space, as absolute paths; a rootfs
 * image is mounted below the work dir. */
static int worker_dirs(struct worker *w)
{
	const char *rootfs = sf_config_get(opts, NOPTS, "rootfs");
	struct stat st;
	if (!realpath(rootfs, w->rootfs) || stat(w->rootfs, &st) != 0) {
		fprintf(stderr, "--rootfs %s: %s (build it with scripts/setup.sh rootfs)\n", rootfs,
			strerror(errno));
		return 2;
	}
	if (sf_mkdirs(sf_config_get(opts, NOPTS, "work-dir"), 0755) ||
	    !realpath(sf_config_get(opts, NOPTS, "work-dir"), w->workdir)) {
		fprintf(stderr, "--work-dir: cannot create %s\n", sf_config_get(opts, NOPTS, "work-dir"));
		return 2;
	}
	if (S_ISDIR(st.st_mode)) {
		sf_warn("--rootfs %s is a directory: its host path shows in the sandbox's mount"
			" table (use the image for scans)", w->rootfs);
		return 0;
	}
	char err[512];
	snprintf(w->rootfs_mount, sizeof(w->rootfs_mount), "%s/rootfs", w->workdir);
	if (sf_rootimg_mount(w->rootfs, w->rootfs_mount, err, sizeof(err))) {
		fprintf(stderr, "--rootfs: %s\n", err);
		w->rootfs_mount[0] = 0;
		return 2;
	}
	sf_info("rootfs image %s mounted at %s", w->rootfs, w->rootfs_mount);
	snprintf(w->rootfs, sizeof(w->rootfs), "%s", w->rootfs_mount);
	return 0;
}

/* Rules first: a worker must not scan without them. A broken file is
 * reported with its file and line, and the worker refuses to start. */
static int worker_load_rules(struct worker *w)
{
	char rules_err[1024] = "";
	char *list = strdup(sf_config_get(opts, NOPTS, "rules"));
	const char *paths[64];
	size_t npaths = 0;
	char *save = NULL;
	for (char *t = list ? strtok_r(list, ",", &save) : NULL; t && npaths < 64;
	     t = strtok_r(NULL, ",", &save))
		paths[npaths++] = t;
	int rc = list ? sf_rules_load(&w->rules, paths, npaths, rules_err, sizeof(rules_err))
		      : -ENOMEM;
	free(list);
	if (rc) {
		fprintf(stderr, "rules: %s\n", rules_err[0] ? rules_err : strerror(-rc));
		sf_error("cannot load rules: %s", rules_err[0] ? rules_err : strerror(-rc));
		return 2;
	}
	sf_info("rules: %zu enabled, digest %s", sf_rules_count(w->rules), sf_rules_digest(w->rules));
	return 0;
}

/* --sensor falco-grpc / falco-json: Falco evaluates the rules (the same
 * files, loaded here too: checked, and digested for the verdict cache);
 * the worker receives its alerts (falco_feed). */
static int worker_falco(struct worker *w, const char *kind)
{
	long long queue, pulse_ms;
	if (sf_config_int(opts, NOPTS, "falco-queue", 16, 1 << 20, &queue) ||
	    sf_config_int(opts, NOPTS, "falco-pulse-ms", 50, 60000, &pulse_ms) ||
	    worker_load_rules(w))
		return 2;
	struct sf_falco_opts fo = {.kind = kind,
				   .grpc_address = sf_config_get(opts, NOPTS, "falco-grpc-address"),
				   .grpc_ca = sf_config_get(opts, NOPTS, "falco-grpc-ca"),
				   .grpc_cert = sf_config_get(opts, NOPTS, "falco-grpc-cert"),
				   .grpc_key = sf_config_get(opts, NOPTS, "falco-grpc-key"),
				   .http_address = sf_config_get(opts, NOPTS, "falco-http-address"),
				   .cgroup_parent = SF_SANDBOX_CGROUP_PARENT,
				   .pulse_exe = "/bin/true",
				   .relay_dir = sf_config_get(opts, NOPTS, "falco-relay-dir"),
				   .queue = (unsigned)queue,
				   .pulse_ms = (int)pulse_ms};
	if (fo.relay_dir && !fo.relay_dir[0])
		fo.relay_dir = NULL;
	char err[512] = "";
	if (sf_falco_open(&w->falco, &fo, err, sizeof(err))) {
		fprintf(stderr, "--sensor %s: %s\n", kind, err);
		sf_rules_free(w->rules);
		w->rules = NULL;
		return 2;
	}
	w->env.falco = w->falco;
	return 0;
}

/* --sensor ebpf: the rules and the eBPF sensor; falco-*: Falco's alerts;
 * --sensor none: neither. */
static int worker_detection(struct worker *w)
{
	const char *sensor_kind = sf_config_get(opts, NOPTS, "sensor");
	bool falco = !strcmp(sensor_kind, "falco-grpc") || !strcmp(sensor_kind, "falco-json");
	if (strcmp(sensor_kind, "ebpf") && strcmp(sensor_kind, "none") && !falco) {
		fprintf(stderr, "--sensor: expected ebpf, falco-grpc, falco-json or none, got %s\n",
			sensor_kind);
		return 2;
	}
	sf_strlcpy(w->link.sensor, sensor_kind, sizeof(w->link.sensor));
	if (falco)
		return worker_falco(w, sensor_kind);
	if (strcmp(sensor_kind, "ebpf")) {
		sf_warn("--sensor none: installs run without runtime detection");
		return 0;
	}
	if (worker_load_rules(w))
		return 2;
	char serr[512] = "";
	long long ring_kb;
	if (sf_config_int(opts, NOPTS, "sensor-ring-kb", 4, 1 << 20, &ring_kb) ||
	    (ring_kb & (ring_kb - 1))) {
		fprintf(stderr, "--sensor-ring-kb: a power of two from 4 to 1048576\n");
		sf_rules_free(w->rules);
		w->rules = NULL;
		return 2;
	}
	if (sf_sensor_open_sized(&w->sensor, SF_SANDBOX_CGROUP_PARENT, (size_t)ring_kb << 10, serr,
				 sizeof(serr))) {
		fprintf(stderr, "sensor: %s (run as root on a kernel with BTF, or pass"
				" --sensor none to scan without runtime detection)\n", serr);
		sf_rules_free(w->rules);
		w->rules = NULL;
		return 2;
	}
	w->env.sensor = w->sensor;
	w->env.rules = w->rules;
	return 0;
}

/* What results and hellos carry besides the outcome: the hostname (in
 * alerts), the secret, and the digests that key the verdict cache. */
static void worker_identity(struct worker *w)
{
	sf_strlcpy(w->hostname, "worker", sizeof(w->hostname));
	gethostname(w->hostname, sizeof(w->hostname) - 1);
	w->env.hostname = w->hostname;
	w->link.secret = w->env.worker_secret = sf_config_get(opts, NOPTS, "worker-secret");
	int rc = sf_image_digest(w->rootfs, w->image_digest);
	if (rc == 0) {
		w->env.image_digest = w->image_digest;
		w->link.image_digest = w->image_digest;
	} else {
		sf_warn("cannot digest the sandbox image (%s/var/lib/dpkg/status: %s): results"
			" will not be cached", w->rootfs, strerror(-rc));
	}
	if (w->rules) {
		w->env.ruleset_digest = sf_rules_digest(w->rules);
		w->link.ruleset_digest = w->env.ruleset_digest;
	}
}

#define WORKER_YARN_REGISTRY "https://registry.yarnpkg.com/"

/* Whether url is npm's public registry (https://registry.npmjs.org, any
 * path, with or without the default port). */
static bool worker_is_npmjs(const char *url)
{
	static const char host[] = "https://registry.npmjs.org";
	size_t n = sizeof(host) - 1;
	if (strncmp(url, host, n) != 0)
		return false;
	url += n;
	if (strncmp(url, ":443", 4) == 0)
		url += 4;
	return url[0] == '\0' || url[0] == '/';
}

/* A registry that wants credentials is reached through the worker's
 * gateway, which holds them: the sandbox (and the proxy's allowlist) get
 * the gateway's URL instead of the registry's. */
static int worker_gateway(struct worker *w)
{
	const char *auth = sf_config_get(opts, NOPTS, "npm-registry-auth");
	char dir[PATH_MAX + 16], err[512] = "";
	if (!auth || !auth[0])
		return 0;
	snprintf(dir, sizeof(dir), "%s/gateway", w->workdir);
	int rc = sf_gateway_start(&w->gateway, w->env.registry, auth,
				  sf_config_get(opts, NOPTS, "npm-registry-ca"), dir, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "--npm-registry-auth: %s\n", err[0] ? err : strerror(-rc));
		return 2;
	}
	sf_info("registry gateway on %s adds the credential for %s", sf_gateway_origin(w->gateway),
		w->env.registry);
	w->env.registry = sf_gateway_url(w->gateway);
	w->env.registry_origin = sf_gateway_registry_origin(w->gateway);
	w->env.gateway_origin = sf_gateway_origin(w->gateway);
	return 0;
}

/* A PyPI index or gem source (option opt, with opt-auth and opt-ca): the
 * URL the sandbox uses for it (url), and the origins the proxy must allow
 * (its files may lie anywhere on its host: a simple index links to
 * /packages/…; public PyPI's and RubyGems' on a second host). With a
 * credential, a gateway of its own in front of the whole origin holds it. */
static int worker_index(struct worker *w, const char *opt, const char *extra_host,
			const char *extra, struct sf_gateway **gw, char *url, size_t urllen)
{
	const char *index = sf_config_get(opts, NOPTS, opt);
	char name[64], dir[PATH_MAX + 32], err[512] = "";
	struct sf_url_parts u;
	url[0] = '\0';
	if (!index || !index[0])
		return 0;
	if (sf_url_split(index, &u)) {
		fprintf(stderr, "--%s %s: not an http(s) URL with a host\n", opt, index);
		return 2;
	}
	snprintf(name, sizeof(name), "%s-auth", opt);
	const char *auth = sf_config_get(opts, NOPTS, name);
	if (auth && auth[0]) {
		char origin[320], ca[64];
		snprintf(origin, sizeof(origin), "%s/", u.origin);
		snprintf(ca, sizeof(ca), "%s-ca", opt);
		snprintf(dir, sizeof(dir), "%s/gateway-%s", w->workdir, opt);
		int rc = sf_gateway_start(gw, origin, auth, sf_config_get(opts, NOPTS, ca), dir, err,
					  sizeof(err));
		if (rc) {
			fprintf(stderr, "--%s: %s\n", name, err[0] ? err : strerror(-rc));
			return 2;
		}
		snprintf(url, urllen, "%s%s", sf_gateway_origin(*gw), u.path);
		snprintf(w->allow[w->nallow++], sizeof(w->allow[0]), "%s/", sf_gateway_origin(*gw));
		sf_info("gateway on %s adds the credential for %s", sf_gateway_origin(*gw), index);
		return 0;
	}
	snprintf(url, urllen, "%s", index);
	snprintf(w->allow[w->nallow++], sizeof(w->allow[0]), "%s/", u.origin);
	if (!strcmp(u.host, extra_host) && !strcmp(u.scheme, "https"))
		snprintf(w->allow[w->nallow++], sizeof(w->allow[0]), "%s", extra);
	return 0;
}

/* The fetch phase's way to the registry: the allowlisting proxy, and the
 * tarball cache its jobs share (owned by the sandbox user). */
static int worker_registry_path(struct worker *w)
{
	char dir[PATH_MAX + 32], err[512] = "";
	/* yarn classic fetches a yarn.lock's resolved URLs as they are, and
	 * real-world ones name registry.yarnpkg.com (npm's registry by
	 * another name): allowed too when the registry is npm's */
	int rc = worker_gateway(w);
	if (rc)
		return rc;
	if ((rc = worker_index(w, "pypi-index", "pypi.org", "https://files.pythonhosted.org/",
			       &w->pypi_gateway, w->pypi_url, sizeof(w->pypi_url))) ||
	    (rc = worker_index(w, "gem-source", "rubygems.org", "https://index.rubygems.org/",
			       &w->gem_gateway, w->gem_url, sizeof(w->gem_url))))
		return rc;
	w->env.pypi_index = w->pypi_url;
	w->env.gem_source = w->gem_url;
	const char *registries[SF_PROXY_MAX_REGISTRIES] = {w->env.registry, WORKER_YARN_REGISTRY};
	int nreg = !w->gateway && worker_is_npmjs(w->env.registry) ? 2 : 1;
	for (int i = 0; i < w->nallow && nreg < SF_PROXY_MAX_REGISTRIES; i++)
		registries[nreg++] = w->allow[i];
	/* a proxy per slot: what it refused (read back from its log) is
	 * then that slot's job's alone */
	for (int i = 0; i < w->nslots; i++) {
		struct worker_slot *sl = &w->slots[i];
		if (i == 0)
			snprintf(dir, sizeof(dir), "%s/proxy", w->workdir);
		else
			snprintf(dir, sizeof(dir), "%s/proxy-%d", w->workdir, i);
		rc = sf_proxy_start(&sl->proxy, sf_config_get(opts, NOPTS, "registry-proxy"), dir,
				    registries, nreg, err, sizeof(err));
		if (rc) {
			fprintf(stderr, "registry proxy: %s\n", err[0] ? err : strerror(-rc));
			sf_error("cannot start the registry proxy: %s", err[0] ? err : strerror(-rc));
			return 2;
		}
		sl->proxy_running = true;
		sf_info("slot %d: registry proxy on 127.0.0.1:%u allows %s%s only", i,
			(unsigned)sl->proxy.port, w->env.registry,
			nreg > 1 ? " and the yarn, PyPI and gem hosts configured" : "");
	}
	snprintf(w->cache_dir, sizeof(w->cache_dir), "%s/npm-cache", w->workdir);
	if (sf_job_cache_prepare(w->cache_dir, w->cache_max_mb) != 0) {
		fprintf(stderr, "--work-dir: cannot create the tarball cache %s\n", w->cache_dir);
		return 2;
	}
	w->env.cache_dir = w->cache_dir;
	w->env.cache_max_mb = w->cache_max_mb;
	return 0;
}

/* The default network must be one this host can make: a sinkhole needs
 * nf_tables with tproxy and rtnetlink in a new namespace. Checked once at
 * start (a few milliseconds) rather than failing every scan. */
static int worker_network_probe(const struct worker *w)
{
	if (w->link.noop || strcmp(w->env.network, "sinkhole") != 0)
		return 0;
	struct sf_netns *ns = NULL;
	struct sf_netns_opts o = {.sinkhole = true};
	char err[300] = "";
	int rc = sf_netns_create(&ns, &o, err, sizeof(err));
	sf_netns_free(ns);
	if (rc) {
		fprintf(stderr, "--network sinkhole: %s (needs root and a kernel with nf_tables and"
				" tproxy; or --network offline)\n", err);
		return 2;
	}
	return 0;
}

/* Each slot's job environment: the worker's, with the slot's user
 * namespace and registry proxy. */
static void worker_slot_envs(struct worker *w)
{
	for (int i = 0; i < w->nslots; i++) {
		struct worker_slot *sl = &w->slots[i];
		w->slot_envs[i] = w->env;
		w->slot_envs[i].userns = &sl->userns;
		w->slot_envs[i].proxy = sl->proxy_running ? &sl->proxy : NULL;
	}
}

/* Stops what the slots started. */
static void worker_slots_close(struct worker *w)
{
	for (int i = 0; i < w->nslots; i++) {
		if (w->slots[i].proxy_running)
			sf_proxy_stop(&w->slots[i].proxy);
		w->slots[i].proxy_running = false;
		sf_userns_close(&w->slots[i].userns);
	}
	w->nslots = 0;
}

/* A worker killed mid-job leaves its container and job directory. */
static void worker_sweep(const struct worker *w)
{
	char state[PATH_MAX + 32], jobs[PATH_MAX + 32];
	snprintf(state, sizeof(state), "%s/runtime-state", w->workdir);
	snprintf(jobs, sizeof(jobs), "%s/jobs", w->workdir);
	sf_sandbox_sweep(w->env.runtime, state);
	sf_job_sweep(jobs);
}

/* Everything main() started, in reverse: the slots (their proxies), the
 * gateways, the detection backend, the rootfs image's mount. */
static void worker_close(struct worker *w)
{
	worker_slots_close(w);
	sf_gateway_stop(w->gateway);
	sf_gateway_stop(w->pypi_gateway);
	sf_gateway_stop(w->gem_gateway);
	sf_falco_close(w->falco);
	sf_sensor_close(w->sensor);
	sf_rules_free(w->rules);
	if (w->rootfs_mount[0])
		sf_rootimg_unmount(w->rootfs_mount);
}

int main(int argc, char **argv)
{
	static struct worker w;
	int rc = sf_config_load(opts, NOPTS, argc, argv, "usage: scanfarm-worker [--option value]...",
				NULL, NULL);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (sf_log_setup("worker", sf_config_get(opts, NOPTS, "log-level")) ||
	    sf_log_format(sf_config_get(opts, NOPTS, "log-format")))
		return 2;
	if (worker_options(&w) || worker_dirs(&w) || worker_find_init(&w) || worker_userns(&w) ||
	    worker_network_probe(&w) ||
	    worker_detection(&w) || worker_registry_path(&w)) {
		worker_close(&w);
		return 2;
	}
	worker_identity(&w);
	w.env.http_ca = sf_config_get(opts, NOPTS, "http-ca");
	/* last: each slot's environment is a copy of the worker's */
	worker_slot_envs(&w);
	worker_sweep(&w);

	struct sigaction sa = {.sa_handler = sf_link_on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (sf_http_global_init() != 0) {
		sf_error("cannot initialise libcurl");
		worker_close(&w);
		return 2;
	}

	int exit_code = 1;
	const char *jobs_url = sf_config_get(opts, NOPTS, "jobs-url");
	const char *results_url = sf_config_get(opts, NOPTS, "results-url");
	struct sf_tls_files tls = {.cert = sf_config_get(opts, NOPTS, "tls-cert"),
				   .key = sf_config_get(opts, NOPTS, "tls-key"),
				   .ca = sf_config_get(opts, NOPTS, "tls-ca"),
				   .server_name = sf_config_get(opts, NOPTS, "tls-server-name")};
	if (sf_link_open(&w.link, jobs_url, results_url, &tls) == 0) {
		sf_info("worker %s ready: jobs=%s results=%s runtime=%s sensor=%s capacity=%d"
			" network=%s",
			w.link.id, jobs_url, results_url, w.env.runtime, w.link.sensor,
			w.link.capacity, w.env.network);
		sf_link_serve(&w.link, w.slot_envs);
		sf_info("stopping");
		exit_code = 0;
	}
	sf_link_close(&w.link);
	worker_close(&w);
	sf_http_global_cleanup();
	sf_config_free(opts, NOPTS);
	return exit_code;
}
