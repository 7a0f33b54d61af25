/*
 * scanfarm-coordinator — REST API, artifact store, PostgreSQL queue, NNG
 * dispatch and result ingestion. See README.md for the options.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "db.h"
#include "dispatch.h"
#include "http.h"
#include "log.h"
#include "resolve.h"
#include "store.h"
#include "sweep.h"
#include "webhook.h"

static struct sf_option opts[] = {
    {"http-address", "127.0.0.1:3000", "address:port of the REST API", NULL},
    {"public-url", NULL, "base URL workers use to reach this coordinator (default http://<http-address>)", NULL},
    {"db-dsn", NULL, "PostgreSQL connection string (required)", NULL},
    {"db-pool", "8", "PostgreSQL connections", NULL},
    {"store-dir", "var/artifacts", "artifact store directory", NULL},
    {"jobs-url", "tcp://127.0.0.1:7301", "NNG rep address workers ask for jobs at", NULL},
    {"results-url", "tcp://127.0.0.1:7302", "NNG pull address workers push results to", NULL},
    {"max-upload-bytes", "0", "largest accepted upload in bytes, 0 = unlimited", NULL},
    {"idle-timeout", "60", "seconds a request may stay silent before it is dropped", NULL},
    {"max-connections", "256", "simultaneous HTTP connections", NULL},
    {"job-time-limit", "300", "seconds an install may run", NULL},
    {"job-memory-mb", "2048", "memory limit of the sandbox", NULL},
    {"job-pids", "1024", "process limit of the sandbox", NULL},
    {"job-disk-mb", "1024", "size of the sandbox's writable /tmp", NULL},
    {"lease-grace", "120", "seconds added to the time limit to form a job's lease", NULL},
    {"max-attempts", "3", "attempts before a job is dead-lettered", NULL},
    {"worker-live", "60", "seconds after its last heartbeat a worker counts as gone", NULL},
    {"auth", "off", "on = /v1 routes need an API token (see the token command)", NULL},
    {"auth-package-hunter", "0", "1 = Package Hunter's routes need a token too", NULL},
    {"worker-secret", NULL, "shared secret workers must present (artifacts, NNG messages)", NULL},
    {"webhook-url", NULL, "POST every alert there as Falco JSON (e.g. Falcosidekick)", NULL},
    {"webhook-queue", "10000", "alerts waiting for the webhook before new ones are dropped", NULL},
    {"npm-registry", "https://registry.npmjs.org", "npm registry batches' package references are fetched from", NULL},
    {"resolve-concurrency", "4", "package references fetched at once", NULL},
    {"max-batch-items", "10000", "items of one POST /v1/batches", NULL},
    {"max-batch-bytes", "16777216", "size of one POST /v1/batches body", NULL},
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
 * ends the wait. sf_http_stop then discards whatever is left.
 */
static void coord_drain(struct sf_http *http, const sigset_t *sigs, int drain_s)
{
	if (sf_http_quiesce(http) != 0) {
		sf_warn("cannot stop accepting connections; stopping at once");
		return;
	}
	unsigned n = sf_http_uploads(http);
	if (n == 0)
		return;
	sf_info("draining: %u upload(s) in progress, waiting up to %d s", n, drain_s);
	int64_t deadline = sf_monotonic_ms() + drain_s * 1000LL;
	while ((n = sf_http_uploads(http)) > 0) {
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
	"       scanfarm-coordinator --db-dsn DSN token create NAME | token revoke ID | token list"

/* The token command: API tokens are managed next to the database. */
static int coord_token(const char *dsn, char **args, int nargs)
{
	PGconn *c = PQconnectdb(dsn);
	int rc = 2;
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "cannot connect to PostgreSQL: %s", PQerrorMessage(c));
		goto out;
	}
	if (sf_db_migrate(c)) {
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
	} else {
		fprintf(stderr, "%s\n", COORD_USAGE);
		rc = 64;
	}
out:
	PQfinish(c);
	return rc;
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

	const char *dsn = sf_config_get(opts, NOPTS, "db-dsn");
	if (!dsn) {
		fprintf(stderr, "--db-dsn is required (scripts/farm.sh sets it for a local farm)\n");
		return 2;
	}
	if (nrest > 0) {
		if (strcmp(rest[0], "token") != 0) {
			fprintf(stderr, "%s\n", COORD_USAGE);
			return 64;
		}
		rc = coord_token(dsn, rest, nrest);
		sf_config_free(opts, NOPTS);
		return rc;
	}
	const char *auth = sf_config_get(opts, NOPTS, "auth");
	if (strcmp(auth, "on") != 0 && strcmp(auth, "off") != 0) {
		fprintf(stderr, "--auth: expected on or off\n");
		return 2;
	}
	struct sf_http_config hc = {.address = sf_config_get(opts, NOPTS, "http-address"),
				    .auth = strcmp(auth, "on") == 0,
				    .worker_secret = sf_config_get(opts, NOPTS, "worker-secret")};
	int auth_ph = 0;
	if (geti("auth-package-hunter", 0, 1, &auth_ph))
		return 2;
	hc.auth_package_hunter = auth_ph != 0;
	struct sf_dispatch_config dc = {
	    .jobs_url = sf_config_get(opts, NOPTS, "jobs-url"),
	    .results_url = sf_config_get(opts, NOPTS, "results-url"),
	    .dsn = dsn,
	    .worker_secret = hc.worker_secret,
	};
	int pool_size, idle, maxconn, drain_s;
	struct sf_sweep_config sc;
	long long max_upload;
	if (geti("db-pool", 2, 256, &pool_size) || geti("idle-timeout", 1, 86400, &idle) ||
	    geti("max-connections", 1, 100000, &maxconn) ||
	    sf_config_int(opts, NOPTS, "max-upload-bytes", 0, INT64_MAX, &max_upload) ||
	    geti("job-time-limit", 1, 86400, &dc.time_limit_s) ||
	    geti("job-memory-mb", 16, 1 << 20, &dc.memory_mb) ||
	    geti("job-pids", 8, 1 << 22, &dc.pids) || geti("job-disk-mb", 1, 1 << 20, &dc.disk_mb) ||
	    geti("lease-grace", 1, 86400, &dc.lease_grace_s) ||
	    geti("max-attempts", 1, 100, &hc.max_attempts) ||
	    geti("worker-live", 1, 86400, &hc.worker_live_s) ||
	    geti("reap-interval", 1, 3600, &dc.reap_interval_s) ||
	    geti("retry-backoff", 0, 3600, &dc.retry_backoff_s) ||
	    geti("drain-timeout", 0, 3600, &drain_s) ||
	    geti("sweep-interval", 1, 7 * 86400, &sc.interval_s) ||
	    geti("orphan-grace", 1, 30 * 86400, &sc.grace_s))
		return 2;
	if (sc.grace_s < 600)
		sf_warn("--orphan-grace %d s: below 10 minutes a slow submission's object may be"
			" swept before its row is committed (see coordinator/sweep.h); for tests only",
			sc.grace_s);
	dc.worker_live_s = hc.worker_live_s;
	int resolve_threads;
	long long max_batch_bytes;
	if (geti("max-batch-items", 1, 1000000, &hc.max_batch_items) ||
	    geti("resolve-concurrency", 1, 64, &resolve_threads) ||
	    sf_config_int(opts, NOPTS, "max-batch-bytes", 1024, 1LL << 32, &max_batch_bytes))
		return 2;
	hc.max_batch_bytes = max_batch_bytes;
	hc.max_upload = max_upload;
	hc.idle_timeout_s = idle;
	hc.max_connections = maxconn;
	char public_url[512];
	const char *pu = sf_config_get(opts, NOPTS, "public-url");
	if (pu)
		snprintf(public_url, sizeof(public_url), "%s", pu);
	else
		snprintf(public_url, sizeof(public_url), "http://%s", hc.address);
	dc.public_url = public_url;

	/* Signals are taken synchronously by main; every thread inherits the mask. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	int exit_code = 1;
	struct sf_db_pool pool;
	struct sf_store store;
	struct sf_http http;
	struct sf_dispatch dispatch;
	struct sf_sweep sweep;
	bool have_pool = false, have_store = false, have_http = false, have_dispatch = false;
	bool have_sweep = false;
	struct sf_webhook *webhook = NULL;
	struct sf_resolve *resolve = NULL;

	if ((rc = sf_db_pool_open(&pool, dsn, pool_size))) {
		sf_error("cannot connect to PostgreSQL");
		goto out;
	}
	have_pool = true;
	PGconn *db = sf_db_get(&pool);
	rc = sf_db_migrate(db);
	sf_db_put(&pool, db);
	if (rc) {
		sf_error("schema migration failed");
		goto out;
	}
	if ((rc = sf_store_open(&store, sf_config_get(opts, NOPTS, "store-dir")))) {
		sf_error("cannot open artifact store %s: %s", sf_config_get(opts, NOPTS, "store-dir"),
			 strerror(-rc));
		goto out;
	}
	have_store = true;
	if ((rc = sf_sweep_start(&sweep, &sc, &store, &pool))) {
		sf_error("cannot start the store sweep: %s", strerror(-rc));
		goto out;
	}
	have_sweep = true;
	hc.sweep_stats = &sweep.stats;
	const char *webhook_url = sf_config_get(opts, NOPTS, "webhook-url");
	int webhook_queue;
	if (geti("webhook-queue", 1, 10000000, &webhook_queue))
		goto out;
	/* before any thread: curl's global state is not thread-safe (the
	 * webhook and the package resolver use curl) */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (webhook_url) {
		if ((rc = sf_webhook_start(&webhook, webhook_url, (unsigned)webhook_queue))) {
			sf_error("cannot start the webhook: %s", strerror(-rc));
			goto out;
		}
		dc.webhook = webhook;
		sf_info("alerts are posted to %s", webhook_url);
	}
	if ((rc = sf_dispatch_start(&dispatch, &dc, &pool)))
		goto out;
	have_dispatch = true;
	hc.webhook_stats = webhook ? sf_webhook_stats(webhook) : NULL;
	struct sf_resolve_config rc_cfg = {.npm_registry = sf_config_get(opts, NOPTS, "npm-registry"),
					   .concurrency = resolve_threads,
					   .max_bytes = max_upload};
	if ((rc = sf_resolve_start(&resolve, &rc_cfg, &pool, &store))) {
		sf_error("cannot start the package resolver (--npm-registry %s): %s",
			 rc_cfg.npm_registry, strerror(-rc));
		goto out;
	}
	hc.resolve = resolve;
	if ((rc = sf_http_start(&http, &hc, &store, &pool, &dispatch.stats))) {
		sf_error("cannot serve HTTP on %s", hc.address);
		goto out;
	}
	have_http = true;
	sf_info("ready: http=%s jobs=%s results=%s", hc.address, dc.jobs_url, dc.results_url);

	int sig = 0;
	sigwait(&sigs, &sig);
	sf_info("signal %d: shutting down", sig);
	/* No new jobs from here: workers could not fetch their artifacts once
	 * the API stops accepting connections. Results are still ingested. */
	sf_dispatch_hold(&dispatch);
	coord_drain(&http, &sigs, drain_s);
	exit_code = 0;
out:
	if (have_http)
		sf_http_stop(&http);
	if (have_sweep)
		sf_sweep_stop(&sweep);
	sf_resolve_stop(resolve); /* after HTTP: nothing new is queued */
	if (have_dispatch)
		sf_dispatch_stop(&dispatch);
	sf_webhook_stop(webhook); /* after ingestion stopped: nothing new is queued */
	if (have_store)
		sf_store_close(&store);
	if (have_pool)
		sf_db_pool_close(&pool);
	sf_config_free(opts, NOPTS);
	return exit_code;
}
