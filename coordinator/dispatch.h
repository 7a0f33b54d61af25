/*
 * dispatch — moves jobs from PostgreSQL to workers and results back.
 *
 * Two NNG sockets, both listening on the coordinator:
 *   push (jobs-url)     claimed jobs go out to whichever worker pulls;
 *   pull (results-url)  workers' hello/heartbeat and result batches come in.
 * NNG push/pull has no acknowledgements, so a job is sent only after it was
 * claimed under a lease in PostgreSQL; if no worker can take it right now
 * the claim is given back. The dispatcher thread also reaps expired leases.
 * It sleeps on LISTEN scanfarm_jobs (a wake-up hint only; the table is
 * re-checked) rather than polling quickly.
 *
 * Owns: the two sockets, a LISTEN connection and two threads.
 * Calls: db, wire, NNG, libpq, log.
 */
#ifndef SF_DISPATCH_H
#define SF_DISPATCH_H

#include <nng/nng.h>
#include <pthread.h>
#include <stdatomic.h>

#include "db.h"

/* Ingest threads reading the results socket: ingestion is round-trip
 * bound, so a few in parallel keep PostgreSQL busy (a job's batches are
 * serialised by its row lock). */
#define SF_DISPATCH_INGESTERS 4

struct sf_dispatch_config {
	const char *jobs_url;	 /* "tcp://127.0.0.1:7301" */
	const char *results_url; /* "tcp://127.0.0.1:7302" */
	const char *public_url;	 /* base URL workers fetch artifacts from */
	const char *dsn;	 /* for the LISTEN connection */
	int time_limit_s;
	int memory_mb;
	int pids;
	int disk_mb;
	int lease_grace_s; /* lease = time limit + grace */
	int reap_interval_s;
	int retry_backoff_s;
	const char *worker_secret; /* messages without it are dropped (NULL: open) */
	struct sf_webhook *webhook; /* stored alerts are posted there, or NULL */
};

struct sf_dispatch_stats {
	atomic_ullong dispatched;
	atomic_ullong batches_stored;
	atomic_ullong batches_duplicate;
	atomic_ullong batches_stale;
	atomic_ullong messages_malformed;
	atomic_ullong hellos;
	atomic_ullong leases_expired;
	atomic_ullong dead_lettered;
	atomic_ullong messages_unauthenticated;
};

struct sf_dispatch {
	struct sf_dispatch_config cfg;
	struct sf_db_pool *pool;
	nng_socket push;
	nng_socket pull;
	PGconn *listen;
	pthread_t dispatcher;
	pthread_t ingesters[SF_DISPATCH_INGESTERS];
	int ningesters;
	bool threads_started;
	atomic_bool stop;
	struct sf_dispatch_stats stats;
};

int sf_dispatch_start(struct sf_dispatch *d, const struct sf_dispatch_config *cfg,
		      struct sf_db_pool *pool);
void sf_dispatch_stop(struct sf_dispatch *d);

#endif
