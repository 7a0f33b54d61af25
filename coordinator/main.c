/*
 * scanfarm-coordinator — REST API, artifact store, PostgreSQL queue, NNG
 * dispatch and result ingestion. See README.md for the options.
 *
 * This file only reads the options into each stage's settings, starts the
 * stages in order (database, store, sweep, webhook, dispatch, ingest,
 * resolver, API), waits for a signal and stops them in reverse.
 * Calls: every stage's start/stop, auth (the token command), migrate,
 * http_client (curl's global set-up), config, log.
 */
#include <errno.h>
#include <stdint.h>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "db.h"
#include "dispatch.h"
#include "http_client.h"
#include "ingest.h"
#include "log.h"
#include "migrate.h"
#include "resolve.h"
#include "server.h"
#include "store.h"
#include "sweep.h"
#include "webhook.h"

static struct sf_option opts[] = {
    {"http-address", "127.0.0.1:3000", "address:port of the REST API", NULL},
    {"public-url", NULL, "base URL workers use to reach this coordinator (default http(s)://<http-address>)", NULL},
    {"db-dsn", NULL, "PostgreSQL connection string (required)", NULL},
    {"db-pool", "8", "PostgreSQL connections", NULL},
    {"store-dir", "var/artifacts", "artifact store directory", NULL},
    {"jobs-url", "tcp://127.0.0.1:7301", "NNG rep address workers ask for jobs at", NULL},
    {"results-url", "tcp://127.0.0.1:7302", "NNG pull address workers push results to", NULL},
    {"max-upload-bytes", "0", "largest accepted upload in bytes, 0 = unlimited", NULL},
    {"idle-timeout", "60", "seconds a request's body may stay silent before it is dropped", NULL},
    {"header-timeout", "10", "seconds a request's headers may take to arrive (slow clients are cut)", NULL},
    {"max-connections", "4096", "simultaneous HTTP connections (the file limit is raised to fit)", NULL},
    {"max-connections-per-ip", "128", "simultaneous HTTP connections from one address; 0: no limit", NULL},
    {"http-threads", "4", "threads of the API's event loop", NULL},
    {"ops-address", NULL, "address:port of an operations listener (/healthz, /readyz, /metrics"
			  " only, no token): probes answered while the API port is busy", NULL},
    {"job-time-limit", "300", "seconds an install may run", NULL},
    {"job-memory-mb", "2048", "memory limit of the sandbox", NULL},
    {"job-pids", "1024", "process limit of the sandbox", NULL},
    {"job-disk-mb", "1024", "size of the sandbox's writable /tmp", NULL},
    {"lease-grace", "120", "seconds added to the time limit to form a job's lease", NULL},
    {"max-attempts", "3", "attempts before a job is dead-lettered", NULL},
    {"worker-live", "60", "seconds after its last heartbeat a worker counts as gone", NULL},
    {"auth", "off", "on = /v1 routes need an API token (see the token command)", NULL},
    {"auth-package-hunter", "0", "1 = Package Hunter's routes need a token too", NULL},
    {"quota-submissions-per-minute", "0", "submissions a token may make a minute, unless it has"
					  " its own limit (token limits); 0: none", NULL},
    {"quota-bytes-per-day", "0", "bytes a token may upload a UTC day, unless it has its own"
				 " limit; 0: none", NULL},
    {"worker-secret", NULL, "shared secret workers must present (artifacts, NNG messages)", NULL},
    {"tls-cert", NULL, "the coordinator's certificate (PEM, from the farm's CA) for tls+tcp:// jobs and results URLs", NULL},
    {"tls-key", NULL, "its private key (PEM)", NULL},
    {"tls-ca", NULL, "the farm's CA certificate(s) (PEM): workers' certificates must chain to it", NULL},
    {"http-tls-cert", NULL, "certificate (PEM chain) of the REST API: it then speaks HTTPS only", NULL},
    {"http-tls-key", NULL, "its private key (PEM)", NULL},
    {"webhook-url", NULL, "POST every alert there as Falco JSON (e.g. Falcosidekick)", NULL},
    {"webhook-queue", "10000", "alerts waiting for the webhook before new ones are dropped", NULL},
    {"npm-registry", "https://registry.npmjs.org", "npm registry batches' package references are fetched from", NULL},
    {"npm-registry-auth", NULL, "file with the registry's token (or a whole Authorization value),"
				" sent to the registry's origin only", NULL},
    {"npm-registry-ca", NULL, "CA certificates (PEM) to verify the registry with", NULL},
    {"pypi-index", "https://pypi.org/simple", "PEP 503 simple index batches' pypi references are"
					      " fetched from", NULL},
    {"pypi-index-auth", NULL, "file with the index's token (or a whole Authorization value),"
			      " sent to the index's origin only", NULL},
    {"pypi-index-ca", NULL, "CA certificates (PEM) to verify the index with", NULL},
    {"gem-source", "https://rubygems.org", "gem source batches' rubygems references are fetched"
					   " from (compact index, or a static gem generate_index"
					   " source)", NULL},
    {"gem-source-auth", NULL, "file with the gem source's token (or a whole Authorization"
			      " value), sent to the source's origin only", NULL},
    {"gem-source-ca", NULL, "CA certificates (PEM) to verify the gem source with", NULL},
    {"max-entries", "100000", "entries a submitted body may hold (its kind is read from"
			      " its content)", NULL},
    {"max-unpacked-mb", "2048", "MiB a submitted body may unpack to", NULL},
    {"resolve-concurrency", "4", "package references fetched at once", NULL},
    {"max-batch-items", "10000", "items of one POST /v1/batches", NULL},
    {"max-batch-bytes", "16777216", "size of one POST /v1/batches body", NULL},
    {"max-stream-items", "1000000", "items of one streamed (NDJSON) POST /v1/batches", NULL},
    {"reap-interval", "5", "seconds between checks for expired leases", NULL},
    {"retry-backoff", "5", "seconds (times the attempt) before a re-queued job runs again", NULL},
    {"drain-timeout", "30", "on SIGTERM, seconds uploads in progress may take to finish", NULL},
    {"sweep-interval", "3600", "seconds between sweeps of orphan objects and stale temporaries", NULL},
    {"orphan-grace", "3600", "seconds a stored object may lack its row before the sweep deletes it", NULL},
    {"log-level", "info", "debug, info, warn or error", NULL},
    {"log-format", "text", "text or json (one JSON object per line)", NULL},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static int geti(const char *name, long long min, long long max, int *out)
{
	long long v;
	int rc = sf_config_int(opts, NOPTS, name, min, max, &v);
	*out = (int)v;
	return rc;
}

/*
 * Graceful shutdown of the REST API: no new connections, and uploads in
 * progress get up to drain_s seconds to finish and be answered as usual (a
 * finished one gets its 201 and its scan is committed). A second signal
 * ends the wait. sf_api_stop then discards whatever is left.
 */
static void coord_drain(struct sf_api *api, const sigset_t *sigs, int drain_s)
{
	if (sf_api_quiesce(api) != 0) {
		sf_warn("cannot stop accepting connections; stopping at once");
		return;
	}
	unsigned n = sf_api_uploads(api);
	if (n == 0)
		return;
	sf_info("draining: %u upload(s) in progress, waiting up to %d s", n, drain_s);
	int64_t deadline = sf_monotonic_ms() + drain_s * 1000LL;
	while ((n = sf_api_uploads(api)) > 0) {
		int64_t left = deadline - sf_monotonic_ms();
		if (left <= 0) {
			sf_warn("drain timeout: %u upload(s) unfinished, discarded", n);
			return;
		}
		struct timespec ts = {.tv_sec = 0, .tv_nsec = (left < 100 ? left : 100) * 1000000L};
		int sig = sigtimedwait(sigs, NULL, &ts);
		if (sig > 0) {
			sf_warn("signal %d while draining: %u upload(s) discarded", sig, n);
			return;
		}
	}
	sf_info("drained: every upload in progress was answered");
}

#define COORD_USAGE                                                                        \
	"usage: scanfarm-coordinator [--option value]...\n"                                 \
	"       scanfarm-coordinator --db-dsn DSN token create NAME | token revoke ID | token list\n" \
	"       scanfarm-coordinator --db-dsn DSN token limits ID SUBMISSIONS_PER_MINUTE|default" \
	" BYTES_PER_DAY|default"

/* token limits ID SPM BPD: a token's own quotas ("default": the
 * coordinator's). */
static int coord_token_limits(PGconn *c, const char *id_arg, const char *spm, const char *bpd)
{
	long long id;
	int rc;
	if (sf_parse_ll(id_arg, 1, INT64_MAX, &id) != 0 ||
	    (rc = sf_auth_token_limits(c, id, spm, bpd)) == -EINVAL) {
		fprintf(stderr, "token limits: expected ID and two numbers (0: none) or default\n");
		return 64;
	}
	if (rc == -ENOENT) {
		fprintf(stderr, "no live token %lld\n", id);
		return 1;
	}
	return rc ? 2 : 0;
}

/* The token command: API tokens are managed next to the database. */
static int coord_token(const char *dsn, char **args, int nargs)
{
	PGconn *c = PQconnectdb(dsn);
	int rc = 2;
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "cannot connect to PostgreSQL: %s", PQerrorMessage(c));
		goto out;
	}
	if (sf_migrate(c)) {
		fprintf(stderr, "schema migration failed\n");
		goto out;
	}
	if (nargs == 3 && strcmp(args[1], "create") == 0) {
		char token[SF_TOKEN_LEN + 1];
		long long id;
		if (sf_auth_token_create(c, args[2], token, &id) == 0) {
			printf("%s\n", token);
			fprintf(stderr, "token %lld (%s) created; it is shown only now\n", id, args[2]);
			rc = 0;
		}
	} else if (nargs == 3 && strcmp(args[1], "revoke") == 0) {
		long long id;
		if (sf_parse_ll(args[2], 1, INT64_MAX, &id) != 0) {
			fprintf(stderr, "token revoke: expected a token id\n");
			rc = 64;
		} else if ((rc = sf_auth_token_revoke(c, id)) == -ENOENT) {
			fprintf(stderr, "no live token %lld\n", id);
			rc = 1;
		} else {
			rc = rc ? 2 : 0;
		}
	} else if (nargs == 2 && strcmp(args[1], "list") == 0) {
		rc = sf_auth_token_list(c) ? 2 : 0;
	} else if (nargs == 5 && strcmp(args[1], "limits") == 0) {
		rc = coord_token_limits(c, args[2], args[3], args[4]);
	} else {
		fprintf(stderr, "%s\n", COORD_USAGE);
		rc = 64;
	}
out:
	PQfinish(c);
	return rc;
}

/* What the options say, as each stage's settings. */
struct coord_settings {
	const char *dsn;
	const char *store_dir;
	int pool_size;
	int drain_s;
	struct sf_api_setup api; /* its store, pool and stages' stats: set at start */
	struct sf_dispatch_config dispatch;
	struct sf_ingest_config ingest;
	struct sf_sweep_config sweep;
	struct sf_resolve_config resolve;
	struct sf_tls_files tls; /* the NNG links' (tls+tcp:// URLs) */
	char public_url[512];
};

/* The options of the API, the queue and the sandbox, in the order they
 * are checked; 0, or 2 (the exit code) after a message. */
static int coord_options(struct coord_settings *s)
{
	struct sf_api_setup *a = &s->api;
	struct sf_dispatch_config *dc = &s->dispatch;
	const char *auth = sf_config_get(opts, NOPTS, "auth");
	if (strcmp(auth, "on") != 0 && strcmp(auth, "off") != 0) {
		fprintf(stderr, "--auth: expected on or off\n");
		return 2;
	}
	a->api.address = sf_config_get(opts, NOPTS, "http-address");
	a->api.ops_address = sf_config_get(opts, NOPTS, "ops-address");
	a->access.auth = strcmp(auth, "on") == 0;
	a->access.worker_secret = sf_config_get(opts, NOPTS, "worker-secret");
	int auth_ph = 0;
	if (geti("auth-package-hunter", 0, 1, &auth_ph))
		return 2;
	a->access.auth_package_hunter = auth_ph != 0;
	if (geti("quota-submissions-per-minute", 0, 1000000000, &a->access.submissions_per_minute) ||
	    sf_config_int(opts, NOPTS, "quota-bytes-per-day", 0, INT64_MAX,
			  &a->access.bytes_per_day))
		return 2;
	dc->jobs_url = sf_config_get(opts, NOPTS, "jobs-url");
	dc->dsn = s->dsn;
	dc->worker_secret = a->access.worker_secret;
	s->ingest.results_url = sf_config_get(opts, NOPTS, "results-url");
	s->ingest.worker_secret = a->access.worker_secret;
	s->tls = (struct sf_tls_files){.cert = sf_config_get(opts, NOPTS, "tls-cert"),
				       .key = sf_config_get(opts, NOPTS, "tls-key"),
				       .ca = sf_config_get(opts, NOPTS, "tls-ca")};
	dc->tls = &s->tls;
	s->ingest.tls = &s->tls;
	a->api.tls_cert = sf_config_get(opts, NOPTS, "http-tls-cert");
	a->api.tls_key = sf_config_get(opts, NOPTS, "http-tls-key");
	if (!a->api.tls_cert != !a->api.tls_key) {
		fprintf(stderr, "--http-tls-cert and --http-tls-key go together\n");
		return 2;
	}
	int max_attempts, live_s;
	long long max_upload;
	if (geti("db-pool", 2, 256, &s->pool_size) ||
	    geti("idle-timeout", 1, 86400, &a->api.idle_timeout_s) ||
	    geti("max-connections", 1, 1000000, &a->api.max_connections) ||
	    geti("header-timeout", 1, 3600, &a->api.header_timeout_s) ||
	    geti("max-connections-per-ip", 0, 1000000, &a->api.max_per_ip) ||
	    geti("http-threads", 1, 256, &a->api.threads) ||
	    sf_config_int(opts, NOPTS, "max-upload-bytes", 0, INT64_MAX, &max_upload) ||
	    geti("job-time-limit", 1, 86400, &dc->time_limit_s) ||
	    geti("job-memory-mb", 16, 1 << 20, &dc->memory_mb) ||
	    geti("job-pids", 8, 1 << 22, &dc->pids) || geti("job-disk-mb", 1, 1 << 20, &dc->disk_mb) ||
	    geti("lease-grace", 1, 86400, &dc->lease_grace_s) ||
	    geti("max-attempts", 1, 100, &max_attempts) ||
	    geti("worker-live", 1, 86400, &live_s) ||
	    geti("reap-interval", 1, 3600, &dc->reap_interval_s) ||
	    geti("retry-backoff", 0, 3600, &dc->retry_backoff_s) ||
	    geti("drain-timeout", 0, 3600, &s->drain_s) ||
	    geti("sweep-interval", 1, 7 * 86400, &s->sweep.interval_s) ||
	    geti("orphan-grace", 1, 30 * 86400, &s->sweep.grace_s))
		return 2;
	if (s->sweep.grace_s < 600)
		sf_warn("--orphan-grace %d s: below 10 minutes a slow submission's object may be"
			" swept before its row is committed (see coordinator/store/sweep.h); for"
			" tests only",
			s->sweep.grace_s);
	/* one option, several stages' settings */
	dc->worker_live_s = a->api.worker_live_s = a->enqueue.worker_live_s =
	    a->bulk.worker_live_s = a->metrics.worker_live_s = live_s;
	a->enqueue.max_attempts = a->bulk.max_attempts = max_attempts;
	a->upload.max_upload = s->resolve.max_bytes = max_upload;
	return 0;
}

/* The options of batches and package references, and the URL workers
 * fetch artifacts from; 0, or 2. */
static int coord_options_batches(struct coord_settings *s)
{
	struct sf_api_setup *a = &s->api;
	long long max_batch_bytes;
	if (geti("max-batch-items", 1, 1000000, &a->bulk.max_items) ||
	    geti("resolve-concurrency", 1, 64, &s->resolve.concurrency) ||
	    sf_config_int(opts, NOPTS, "max-batch-bytes", 1024, 1LL << 32, &max_batch_bytes) ||
	    sf_config_int(opts, NOPTS, "max-stream-items", 1, 100000000,
			  &a->bulk.max_stream_items))
		return 2;
	a->upload.max_batch_bytes = max_batch_bytes;
	long long max_entries, max_unpacked_mb;
	if (sf_config_int(opts, NOPTS, "max-entries", 1, 100000000, &max_entries) ||
	    sf_config_int(opts, NOPTS, "max-unpacked-mb", 1, 1LL << 30, &max_unpacked_mb))
		return 2;
	a->upload.inspect = a->bulk.inspect = s->resolve.inspect = (struct sf_inspect_limits){
	    .max_entries = max_entries, .max_unpacked = max_unpacked_mb << 20};
	s->resolve.pypi_index = sf_config_get(opts, NOPTS, "pypi-index");
	s->resolve.pypi_index_auth = sf_config_get(opts, NOPTS, "pypi-index-auth");
	s->resolve.pypi_index_ca = sf_config_get(opts, NOPTS, "pypi-index-ca");
	s->resolve.gem_source = sf_config_get(opts, NOPTS, "gem-source");
	s->resolve.gem_source_auth = sf_config_get(opts, NOPTS, "gem-source-auth");
	s->resolve.gem_source_ca = sf_config_get(opts, NOPTS, "gem-source-ca");
	s->resolve.npm_registry = sf_config_get(opts, NOPTS, "npm-registry");
	s->resolve.npm_registry_auth = sf_config_get(opts, NOPTS, "npm-registry-auth");
	s->resolve.npm_registry_ca = sf_config_get(opts, NOPTS, "npm-registry-ca");
	s->store_dir = sf_config_get(opts, NOPTS, "store-dir");
	const char *pu = sf_config_get(opts, NOPTS, "public-url");
	if (pu)
		snprintf(s->public_url, sizeof(s->public_url), "%s", pu);
	else
		snprintf(s->public_url, sizeof(s->public_url), "%s://%s",
			 a->api.tls_cert ? "https" : "http", a->api.address);
	s->dispatch.public_url = s->public_url;
	return 0;
}

/* The running coordinator: what was started, so that it can be stopped. */
struct coord {
	struct sf_db_pool pool;
	struct sf_store store;
	struct sf_sweep sweep;
	struct sf_webhook *webhook;
	struct sf_dispatch dispatch;
	struct sf_ingest ingest;
	struct sf_resolve *resolve;
	struct sf_api api;
	bool have_pool, have_store, have_sweep, have_dispatch, have_ingest, have_api;
};

/* The database (migrated), the artifact store and its sweep. */
static int coord_start_storage(struct coord *co, struct coord_settings *s)
{
	int rc;
	if ((rc = sf_db_pool_open(&co->pool, s->dsn, s->pool_size))) {
		sf_error("cannot connect to PostgreSQL");
		return rc;
	}
	co->have_pool = true;
	PGconn *db = sf_db_get(&co->pool);
	rc = sf_migrate(db);
	sf_db_put(&co->pool, db);
	if (rc) {
		sf_error("schema migration failed");
		return rc;
	}
	if ((rc = sf_store_open(&co->store, s->store_dir))) {
		sf_error("cannot open artifact store %s: %s", s->store_dir, strerror(-rc));
		return rc;
	}
	co->have_store = true;
	if ((rc = sf_sweep_start(&co->sweep, &s->sweep, &co->store, &co->pool))) {
		sf_error("cannot start the store sweep: %s", strerror(-rc));
		return rc;
	}
	co->have_sweep = true;
	return 0;
}

/* Every connection is a descriptor: the soft file limit (often 1024) is
 * raised to the hard one, and a warning says when max-connections still
 * does not fit. */
static void coord_raise_nofile(int max_connections)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) != 0)
			return;
	}
	/* the database pool, NNG, the store and the listeners need some too */
	if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)max_connections + 256 > rl.rlim_cur)
		sf_warn("max-connections %d: the file limit is %llu; raise it (LimitNOFILE=) or"
			" connections beyond it are refused", max_connections,
			(unsigned long long)rl.rlim_cur);
}

/* Every stage in order; 0, or a negative errno (logged) with what did
 * start recorded in co for coord_stop. */
static int coord_start(struct coord *co, struct coord_settings *s)
{
	int rc = coord_start_storage(co, s);
	if (rc)
		return rc;
	const char *webhook_url = sf_config_get(opts, NOPTS, "webhook-url");
	int webhook_queue;
	if (geti("webhook-queue", 1, 10000000, &webhook_queue))
		return -EINVAL;
	/* before any thread: curl's global state is not thread-safe (the
	 * webhook and the package resolver use curl) */
	sf_http_global_init();
	if (webhook_url) {
		if ((rc = sf_webhook_start(&co->webhook, webhook_url, (unsigned)webhook_queue))) {
			sf_error("cannot start the webhook: %s", strerror(-rc));
			return rc;
		}
		s->ingest.webhook = co->webhook;
		sf_info("alerts are posted to %s", webhook_url);
	}
	if ((rc = sf_dispatch_start(&co->dispatch, &s->dispatch, &co->pool)))
		return rc;
	co->have_dispatch = true;
	if ((rc = sf_ingest_start(&co->ingest, &s->ingest, &co->pool)))
		return rc;
	co->have_ingest = true;
	if ((rc = sf_resolve_start(&co->resolve, &s->resolve, &co->pool, &co->store))) {
		sf_error("cannot start the package resolver (--npm-registry %s, --pypi-index %s,"
			 " --gem-source %s): %s",
			 s->resolve.npm_registry, s->resolve.pypi_index, s->resolve.gem_source,
			 strerror(-rc));
		return rc;
	}
	struct sf_api_setup *a = &s->api;
	a->store = a->bulk.store = &co->store;
	a->pool = &co->pool;
	a->bulk.resolve = co->resolve;
	a->metrics.dispatch = &co->dispatch.stats;
	a->metrics.ingest = &co->ingest.stats;
	a->metrics.sweep = &co->sweep.stats;
	a->metrics.resolve = co->resolve;
	a->metrics.webhook = co->webhook ? sf_webhook_stats(co->webhook) : NULL;
	coord_raise_nofile(a->api.max_connections);
	if ((rc = sf_api_start(&co->api, a))) {
		sf_error("cannot serve HTTP on %s%s%s", a->api.address,
			 a->api.ops_address ? " and " : "", a->api.ops_address ? a->api.ops_address : "");
		return rc;
	}
	co->have_api = true;
	sf_info("ready: http=%s jobs=%s results=%s%s%s", a->api.address, s->dispatch.jobs_url,
		s->ingest.results_url, a->api.ops_address ? " ops=" : "",
		a->api.ops_address ? a->api.ops_address : "");
	return 0;
}

static void coord_stop(struct coord *co)
{
	if (co->have_api)
		sf_api_stop(&co->api);
	if (co->have_sweep)
		sf_sweep_stop(&co->sweep);
	sf_resolve_stop(co->resolve); /* after HTTP: nothing new is queued */
	/* The order of the single dispatcher stop before the split: the
	 * dispatcher's last replies, the ingest threads, then the sockets. */
	if (co->have_dispatch)
		sf_dispatch_finish(&co->dispatch);
	if (co->have_ingest)
		sf_ingest_stop(&co->ingest);
	if (co->have_dispatch)
		sf_dispatch_stop(&co->dispatch);
	sf_webhook_stop(co->webhook); /* after ingestion stopped: nothing new is queued */
	if (co->have_store)
		sf_store_close(&co->store);
	if (co->have_pool)
		sf_db_pool_close(&co->pool);
}

int main(int argc, char **argv)
{
	char **rest = NULL;
	int nrest = 0;
	int rc = sf_config_load(opts, NOPTS, argc, argv, COORD_USAGE, &rest, &nrest);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (sf_log_setup("coordinator", sf_config_get(opts, NOPTS, "log-level")) ||
	    sf_log_format(sf_config_get(opts, NOPTS, "log-format")))
		return 2;

	struct coord_settings s = {.dsn = sf_config_get(opts, NOPTS, "db-dsn")};
	if (!s.dsn) {
		fprintf(stderr, "--db-dsn is required (scripts/farm.sh sets it for a local farm)\n");
		return 2;
	}
	if (nrest > 0) {
		if (strcmp(rest[0], "token") != 0) {
			fprintf(stderr, "%s\n", COORD_USAGE);
			return 64;
		}
		rc = coord_token(s.dsn, rest, nrest);
		sf_config_free(opts, NOPTS);
		return rc;
	}
	if (coord_options(&s) || coord_options_batches(&s))
		return 2;

	/* Signals are taken synchronously by main; every thread inherits the mask. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	static struct coord co; /* large; zeroed: nothing started yet */
	int exit_code = 1;
	if (coord_start(&co, &s) == 0) {
		int sig = 0;
		sigwait(&sigs, &sig);
		sf_info("signal %d: shutting down", sig);
		/* No new jobs from here: workers could not fetch their artifacts
		 * once the API stops accepting connections. Results are still
		 * ingested. */
		sf_dispatch_hold(&co.dispatch);
		coord_drain(&co.api, &sigs, s.drain_s);
		exit_code = 0;
	}
	coord_stop(&co);
	sf_config_free(opts, NOPTS);
	return exit_code;
}
