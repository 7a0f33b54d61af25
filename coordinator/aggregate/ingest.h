/*
 * ingest — the results socket: workers push their result batches, hellos
 * and heartbeats to a pull socket on the coordinator. A few threads read
 * it: a batch is stored (ingest_db.h) and its alerts handed to the webhook,
 * a hello or heartbeat refreshes the workers table (workers.h). Messages
 * that fail to decode, or lack the worker secret when one is configured,
 * are counted and dropped.
 *
 * A batch exists only in its message, so while PostgreSQL is away
 * (restart, failover) it is retried for a while rather than dropped; if
 * it still fails, the job's lease expires and it runs again.
 *
 * Owns: the pull socket, the threads. Calls: ingest_db, workers, webhook,
 * secret, db (pool), wire, NNG, log.
 */
#ifndef SF_INGEST_H
#define SF_INGEST_H

#include "nngtls.h"

#include <nng/nng.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "db.h"

/* Threads reading the results socket: ingestion is round-trip bound, so a
 * few in parallel keep PostgreSQL busy (a job's batches are serialised by
 * its row lock). */
#define SF_INGEST_THREADS 4

struct sf_ingest_config {
	const char *results_url;   /* "tcp://127.0.0.1:7302", or tls+tcp:// with tls */
	const struct sf_tls_files *tls;
	const char *worker_secret; /* messages without it are dropped (NULL: open) */
	struct sf_webhook *webhook; /* stored alerts are posted there, or NULL */
};

struct sf_ingest_stats {
	atomic_ullong batches_stored;
	atomic_ullong batches_duplicate;
	atomic_ullong batches_stale;
	atomic_ullong messages_malformed;
	atomic_ullong messages_unauthenticated;
	atomic_ullong hellos;
};

struct sf_ingest {
	struct sf_ingest_config cfg;
	struct sf_db_pool *pool;
	nng_socket pull;
	pthread_t threads[SF_INGEST_THREADS];
	int nthreads;
	atomic_bool stop;
	struct sf_ingest_stats stats;
};

/* Listens on cfg->results_url and starts the threads; -EADDRINUSE. */
int sf_ingest_start(struct sf_ingest *g, const struct sf_ingest_config *cfg,
		    struct sf_db_pool *pool);
/* Stops reading (a batch being stored is finished) and closes the socket. */
void sf_ingest_stop(struct sf_ingest *g);

#endif
