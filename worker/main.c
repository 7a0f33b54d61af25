/*
 * scanfarm-worker — asks the coordinator for jobs over NNG (req/rep: only
 * when it has a free slot), runs each in the sandbox, pushes the result
 * batches back. See README.md for options.
 */
#include <errno.h>
#include <limits.h>
#include <nng/nng.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <curl/curl.h>

#include "config.h"
#include "job.h"
#include "run.h"
#include "log.h"
#include "rules.h"
#include "sensor.h"
#include "sha256.h"

#define WORKER_VERSION "0.1.0"

static struct sf_option opts[] = {
    {"jobs-url", "tcp://127.0.0.1:7301", "coordinator address to ask for jobs at", NULL},
    {"results-url", "tcp://127.0.0.1:7302", "coordinator address to push results to", NULL},
    {"worker-id", NULL, "name of this worker (default: hostname-pid)", NULL},
    {"rootfs", "var/rootfs", "sandbox root file system (scripts/setup.sh rootfs)", NULL},
    {"work-dir", "var/worker", "scratch space for jobs", NULL},
    {"runtime", "crun", "OCI runtime: crun or runc", NULL},
    {"max-entries", "100000", "most entries an archive may have", NULL},
    {"max-unpacked-mb", "2048", "largest expanded size of an archive", NULL},
    {"heartbeat-interval", "10", "seconds between heartbeats", NULL},
    {"keep-jobs", "0", "1 = keep job directories for debugging", NULL},
    {"sensor", "ebpf", "runtime sensor: ebpf (embedded CO-RE sensor) or none", NULL},
    {"rules", "rules", "Falco-format rule files or directories, comma-separated", NULL},
    {"worker-secret", NULL, "shared secret the coordinator requires (if it does)", NULL},
    {"noop", "0", "1 = answer every job at once without running it (dispatch benchmarks)", NULL},
    {"capacity", "1", "jobs asked for at once; above 1 only with --noop 1 (for parallel"
		      " installs run one worker process per slot)", NULL},
    {"log-level", "info", "debug, info, warn or error", NULL},
    {"log-format", "text", "text or json (one JSON object per line)", NULL},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static volatile sig_atomic_t worker_stop;
static void worker_on_signal(int sig) { worker_stop = sig; }

/* How long the coordinator may hold a request for work open. A worker
 * answers signals within about this long. */
#define WORKER_WAIT_MS 2000

struct worker {
	nng_socket req;
	nng_socket push;
	int capacity;
	char id[256];
	atomic_int running;
	int heartbeat_s;
	char sensor[16]; /* "ebpf" or "none" */
	const char *ruleset_digest;
	const char *image_digest;
	const char *secret;
	bool noop; /* benchmarks: finish every job at once, install nothing */
};

/* How long a hello or heartbeat may wait for the results connection. A
 * lost one is harmless (the next follows); a long wait would hold up a
 * worker started before its coordinator, and its stop. */
#define WORKER_HELLO_SEND_MS 2000

/* Sends msg on sock, giving up after timeout_ms (the socket's own send
 * timeout is for result batches, which may wait much longer). */
static int worker_send_within(nng_socket sock, const struct sf_buf *msg, int timeout_ms)
{
	nng_aio *aio;
	nng_msg *m;
	if (nng_aio_alloc(&aio, NULL, NULL))
		return -ENOMEM;
	if (nng_msg_alloc(&m, 0) || nng_msg_append(m, msg->data, msg->len)) {
		nng_aio_free(aio);
		return -ENOMEM;
	}
	nng_aio_set_msg(aio, m);
	nng_aio_set_timeout(aio, timeout_ms);
	nng_send_aio(sock, aio);
	nng_aio_wait(aio);
	int rv = nng_aio_result(aio);
	if (rv)
		nng_msg_free(nng_aio_get_msg(aio)); /* not sent: still ours */
	nng_aio_free(aio);
	return rv == 0 ? 0 : rv == NNG_ETIMEDOUT ? -ETIMEDOUT : -EIO;
}

static int worker_send_hello(struct worker *w, bool heartbeat)
{
	struct sf_hello h = {.worker_id = w->id,
			     .version = WORKER_VERSION,
			     .capacity = w->capacity,
			     .running = atomic_load(&w->running),
			     .sensor = w->sensor,
			     .ruleset_digest = (char *)w->ruleset_digest,
			     .image_digest = (char *)w->image_digest,
			     .auth = (char *)w->secret};
	struct sf_buf msg = {0};
	int rc = sf_wire_encode_hello(&h, heartbeat, &msg);
	if (rc == 0)
		rc = worker_send_within(w->push, &msg, WORKER_HELLO_SEND_MS);
	sf_buf_free(&msg);
	return rc;
}

/*
 * The sandbox image's digest: what was installed in the rootfs (dpkg's
 * status file lists every package and version) plus the version of the
 * sandbox recipe. Together with the rules' digest it says whether a
 * verdict from another run still holds.
 */
#define WORKER_SANDBOX_RECIPE "scanfarm-sandbox-1"
static int worker_image_digest(const char *rootfs, char hex[SF_SHA256_HEX + 1])
{
	char path[PATH_MAX + 64];
	struct sf_sha256 h;
	char *status = NULL;
	size_t len = 0;
	snprintf(path, sizeof(path), "%s/var/lib/dpkg/status", rootfs);
	int rc = sf_read_file(path, 64 << 20, &status, &len);
	if (rc)
		return rc;
	if ((rc = sf_sha256_init(&h)) == 0) {
		if ((rc = sf_sha256_update(&h, WORKER_SANDBOX_RECIPE "\n",
					   sizeof(WORKER_SANDBOX_RECIPE))) == 0 &&
		    (rc = sf_sha256_update(&h, status, len)) == 0)
			rc = sf_sha256_final(&h, hex);
		sf_sha256_free(&h);
	}
	free(status);
	return rc;
}

static void *worker_heartbeat(void *arg)
{
	struct worker *w = arg;
	while (!worker_stop) {
		for (int i = 0; i < w->heartbeat_s * 10 && !worker_stop; i++)
			usleep(100 * 1000);
		if (!worker_stop)
			worker_send_hello(w, true);
	}
	return NULL;
}

static void worker_handle(struct worker *w, const struct sf_job_env *env, const struct sf_job *job)
{
	if (job->lease_deadline_ms > 0 && sf_now_ms() > job->lease_deadline_ms) {
		/* The coordinator has already given this attempt up. */
		sf_warn("job %lld attempt %d arrived after its lease; skipped",
			(long long)job->job_id, job->attempt);
		return;
	}
	sf_info("job %lld attempt %d: scan %s, %s artifact %s (%lld bytes)", (long long)job->job_id,
		job->attempt, job->scan_id, job->ecosystem, job->sha256, (long long)job->size);
	atomic_store(&w->running, 1);
	struct sf_batch batch;
	int rc;
	if (w->noop) {
		/* what the dispatch benchmark measures is the queue, not installs */
		memset(&batch, 0, sizeof(batch));
		batch.job_id = job->job_id;
		batch.attempt = job->attempt;
		batch.final = true;
		batch.has_exit_status = true;
		batch.worker_id = strdup(w->id);
		rc = batch.worker_id ? 0 : -ENOMEM;
	} else {
		rc = sf_job_run(env, job, &batch);
	}
	atomic_store(&w->running, 0);
	if (rc) {
		sf_error("job %lld: out of memory building the result", (long long)job->job_id);
		sf_batch_free(&batch);
		return;
	}
	struct sf_buf msg = {0};
	if (w->secret && !(batch.auth = strdup(w->secret)))
		rc = -ENOMEM;
	else
		rc = sf_wire_encode_batch(&batch, &msg);
	if (rc == 0 && (rc = nng_send(w->push, msg.data, msg.len, 0)) != 0)
		sf_error("job %lld: cannot send the result: %s", (long long)job->job_id,
			 nng_strerror(rc));
	else if (rc == 0)
		sf_info("job %lld done in %lld ms: exit %d%s%s", (long long)job->job_id,
			(long long)batch.duration_ms, batch.exit_status, batch.error ? ", error: " : "",
			batch.error ? batch.error : "");
	sf_buf_free(&msg);
	sf_batch_free(&batch);
}

/* A request's token: random, so a restarted worker's never match. */
static int64_t worker_token(void)
{
	int64_t t = 0;
	while (t == 0)
		if (getrandom(&t, sizeof(t), 0) != sizeof(t))
			t = (int64_t)sf_now_ms() ^ ((int64_t)getpid() << 40);
	return t;
}

/*
 * One request for work and its reply: 0 with the jobs (maybe none, when
 * nothing became ready in time), -EAGAIN when the request could not even be
 * sent, -ETIMEDOUT / -EIO / -EPROTO when its reply never came or was bad
 * (then jobs leased in reply to it must be reported as lost).
 */
static int worker_ask(struct worker *w, const struct sf_want *want, struct sf_jobs *jobs)
{
	struct sf_buf msg = {0};
	int rc = sf_wire_encode_want(want, &msg);
	if (rc) {
		sf_buf_free(&msg);
		return rc;
	}
	rc = nng_send(w->req, msg.data, msg.len, 0);
	sf_buf_free(&msg);
	if (rc)
		return -EAGAIN;
	void *buf = NULL;
	size_t len = 0;
	rc = nng_recv(w->req, &buf, &len, NNG_FLAG_ALLOC);
	if (rc) {
		if (rc != NNG_ECLOSED)
			sf_warn("no answer to a request for jobs: %s", nng_strerror(rc));
		return rc == NNG_ETIMEDOUT ? -ETIMEDOUT : -EIO;
	}
	struct sf_msg m;
	rc = sf_wire_decode(buf, len, &m);
	nng_free(buf, len);
	if (rc || m.type != SF_MSG_JOBS) {
		sf_warn("dropped a malformed or unexpected reply (%zu bytes)", len);
		if (rc == 0)
			sf_msg_free(&m);
		return -EPROTO;
	}
	*jobs = m.u.jobs; /* moved */
	return 0;
}

int main(int argc, char **argv)
{
	int rc = sf_config_load(opts, NOPTS, argc, argv, "usage: scanfarm-worker [--option value]...",
				NULL, NULL);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (sf_log_setup("worker", sf_config_get(opts, NOPTS, "log-level")) ||
	    sf_log_format(sf_config_get(opts, NOPTS, "log-format")))
		return 2;

	struct worker w = {0};
	long long entries, unpacked_mb, hb, keep;
	if (sf_config_int(opts, NOPTS, "max-entries", 1, 100000000, &entries) ||
	    sf_config_int(opts, NOPTS, "max-unpacked-mb", 1, 1 << 24, &unpacked_mb) ||
	    sf_config_int(opts, NOPTS, "heartbeat-interval", 1, 3600, &hb) ||
	    sf_config_int(opts, NOPTS, "keep-jobs", 0, 1, &keep))
		return 2;
	w.heartbeat_s = (int)hb;
	long long noop;
	if (sf_config_int(opts, NOPTS, "noop", 0, 1, &noop))
		return 2;
	w.noop = noop != 0;
	long long capacity;
	if (sf_config_int(opts, NOPTS, "capacity", 1, SF_WIRE_MAX_JOBS, &capacity))
		return 2;
	if (capacity > 1 && !w.noop) {
		fprintf(stderr, "--capacity %lld: a worker runs one install at a time; start one"
				" worker process per slot instead\n", capacity);
		return 2;
	}
	w.capacity = (int)capacity;
	const char *id = sf_config_get(opts, NOPTS, "worker-id");
	if (id) {
		snprintf(w.id, sizeof(w.id), "%s", id);
	} else {
		char host[200] = "worker";
		gethostname(host, sizeof(host) - 1);
		snprintf(w.id, sizeof(w.id), "%s-%d", host, (int)getpid());
	}

	char rootfs[PATH_MAX], workdir[PATH_MAX];
	if (!realpath(sf_config_get(opts, NOPTS, "rootfs"), rootfs)) {
		fprintf(stderr, "--rootfs %s: %s (build it with scripts/setup.sh rootfs)\n",
			sf_config_get(opts, NOPTS, "rootfs"), strerror(errno));
		return 2;
	}
	if ((rc = sf_mkdirs(sf_config_get(opts, NOPTS, "work-dir"), 0755)) ||
	    !realpath(sf_config_get(opts, NOPTS, "work-dir"), workdir)) {
		fprintf(stderr, "--work-dir: cannot create %s\n", sf_config_get(opts, NOPTS, "work-dir"));
		return 2;
	}
	struct sf_job_env env = {.worker_id = w.id,
				 .work_dir = workdir,
				 .rootfs = rootfs,
				 .runtime = sf_config_get(opts, NOPTS, "runtime"),
				 .keep = keep != 0};
	sf_unpack_default_limits(&env.unpack);
	env.unpack.max_entries = (uint64_t)entries;
	env.unpack.max_bytes = (uint64_t)unpacked_mb << 20;

	/* Rules first: a worker must not scan without them. A broken file is
	 * reported with its file and line, and the worker refuses to start. */
	char rules_err[1024] = "", hostname[256] = "worker";
	struct sf_ruleset *rules = NULL;
	struct sf_sensor *sensor = NULL;
	gethostname(hostname, sizeof(hostname) - 1);
	const char *sensor_kind = sf_config_get(opts, NOPTS, "sensor");
	if (strcmp(sensor_kind, "ebpf") && strcmp(sensor_kind, "none")) {
		fprintf(stderr, "--sensor: expected ebpf or none, got %s\n", sensor_kind);
		return 2;
	}
	sf_strlcpy(w.sensor, sensor_kind, sizeof(w.sensor));
	if (!strcmp(sensor_kind, "ebpf")) {
		char *list = strdup(sf_config_get(opts, NOPTS, "rules"));
		const char *paths[64];
		size_t npaths = 0;
		char *save = NULL;
		for (char *t = list ? strtok_r(list, ",", &save) : NULL; t && npaths < 64;
		     t = strtok_r(NULL, ",", &save))
			paths[npaths++] = t;
		rc = list ? sf_rules_load(&rules, paths, npaths, rules_err, sizeof(rules_err)) : -ENOMEM;
		free(list);
		if (rc) {
			fprintf(stderr, "rules: %s\n", rules_err[0] ? rules_err : strerror(-rc));
			sf_error("cannot load rules: %s", rules_err[0] ? rules_err : strerror(-rc));
			return 2;
		}
		sf_info("rules: %zu enabled, digest %s", sf_rules_count(rules), sf_rules_digest(rules));
		char serr[512] = "";
		if ((rc = sf_sensor_open(&sensor, SF_SANDBOX_CGROUP_PARENT, serr, sizeof(serr)))) {
			fprintf(stderr, "sensor: %s (run as root on a kernel with BTF, or pass"
					" --sensor none to scan without runtime detection)\n", serr);
			sf_rules_free(rules);
			return 2;
		}
		env.sensor = sensor;
		env.rules = rules;
	} else {
		sf_warn("--sensor none: installs run without runtime detection");
	}
	env.hostname = hostname;
	w.secret = env.worker_secret = sf_config_get(opts, NOPTS, "worker-secret");
	static char image_digest[SF_SHA256_HEX + 1];
	if ((rc = worker_image_digest(rootfs, image_digest)) == 0) {
		env.image_digest = image_digest;
		w.image_digest = image_digest;
	} else {
		sf_warn("cannot digest the sandbox image (%s/var/lib/dpkg/status: %s): results"
			" will not be cached", rootfs, strerror(-rc));
	}
	if (rules) {
		env.ruleset_digest = sf_rules_digest(rules);
		w.ruleset_digest = env.ruleset_digest;
	}

	/* A worker killed mid-job leaves its container and job directory. */
	char state[PATH_MAX + 32], jobs[PATH_MAX + 32];
	snprintf(state, sizeof(state), "%s/runtime-state", workdir);
	snprintf(jobs, sizeof(jobs), "%s/jobs", workdir);
	sf_sandbox_sweep(env.runtime, state);
	sf_job_sweep(jobs);

	struct sigaction sa = {.sa_handler = worker_on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	int exit_code = 1;
	pthread_t hb_thread;
	bool hb_started = false;
	const char *jobs_url = sf_config_get(opts, NOPTS, "jobs-url");
	const char *results_url = sf_config_get(opts, NOPTS, "results-url");
	if ((rc = nng_req0_open(&w.req)) || (rc = nng_push0_open(&w.push)) ||
	    (rc = nng_socket_set_size(w.req, NNG_OPT_RECVMAXSZ, SF_WIRE_MAX_MSG)) ||
	    (rc = nng_socket_set_size(w.push, NNG_OPT_RECVMAXSZ, SF_WIRE_MAX_MSG)) ||
	    /* the coordinator answers within WORKER_WAIT_MS; the margin covers
	     * a busy database. A receive that times out abandons the request:
	     * the next one reports it as lost. */
	    (rc = nng_socket_set_ms(w.req, NNG_OPT_RECVTIMEO, WORKER_WAIT_MS + 10000)) ||
	    (rc = nng_socket_set_ms(w.req, NNG_OPT_SENDTIMEO, 1000)) ||
	    (rc = nng_socket_set_ms(w.push, NNG_OPT_SENDTIMEO, 60000))) {
		sf_error("nng: %s", nng_strerror(rc));
		goto out;
	}
	/* Non-blocking dials keep retrying in the background until the
	 * coordinator is up, so workers may start first. */
	if ((rc = nng_dial(w.req, jobs_url, NULL, NNG_FLAG_NONBLOCK)) ||
	    (rc = nng_dial(w.push, results_url, NULL, NNG_FLAG_NONBLOCK))) {
		sf_error("cannot dial the coordinator: %s", nng_strerror(rc));
		goto out;
	}
	worker_send_hello(&w, false);
	if (pthread_create(&hb_thread, NULL, worker_heartbeat, &w) == 0)
		hb_started = true;
	sf_info("worker %s ready: jobs=%s results=%s runtime=%s sensor=%s capacity=%d", w.id,
		jobs_url, results_url, env.runtime, w.sensor, w.capacity);

	struct sf_want want = {.worker_id = w.id,
			       .slots = w.capacity,
			       .wait_ms = WORKER_WAIT_MS,
			       .fresh = true,
			       .auth = (char *)w.secret};
	while (!worker_stop) {
		struct sf_jobs jobs = {0};
		want.token = worker_token();
		rc = worker_ask(&w, &want, &jobs);
		if (rc == -EAGAIN) {
			continue; /* coordinator not there: the send timed out */
		} else if (rc) {
			/* Whatever the coordinator sent in reply to this request
			 * is leased to us but will never be run: say so. */
			want.lost_token = want.token;
			if (rc != -ETIMEDOUT)
				usleep(200 * 1000);
			continue;
		}
		want.fresh = false;
		want.lost_token = 0;
		/* Received jobs are leased to us: run them even when asked
		 * to stop (a graceful stop finishes what it took on). */
		for (uint32_t i = 0; i < jobs.njobs; i++)
			worker_handle(&w, &env, &jobs.jobs[i]);
		sf_jobs_free(&jobs);
	}
	sf_info("stopping");
	exit_code = 0;
out:
	worker_stop = 1;
	if (hb_started)
		pthread_join(hb_thread, NULL);
	nng_close(w.req);
	nng_close(w.push);
	sf_sensor_close(sensor);
	sf_rules_free(rules);
	curl_global_cleanup();
	sf_config_free(opts, NOPTS);
	return exit_code;
}
