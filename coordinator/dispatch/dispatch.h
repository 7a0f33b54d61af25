/*
 * dispatch — the jobs channel: moves jobs from PostgreSQL to the workers
 * that ask for them.
 *
 * One NNG rep socket listens on the coordinator (jobs-url): workers ask for
 * work (`want`: free slots, running jobs) and get the reply `jobs`. A
 * request is held open until jobs are claimed for it or its wait_ms passes,
 * so jobs go only to workers that asked, with free slots, and each job is
 * leased to its worker. NNG has no acknowledgements, so a job is sent only
 * after it was claimed under a lease in PostgreSQL (jobs.h). The dispatcher
 * thread serves the waiting requests and reaps: expired leases, jobs of
 * workers gone silent, jobs a worker never received. It sleeps on LISTEN
 * scanfarm_jobs (a wake-up hint only; the table is re-checked) and on new
 * requests, never polling fast. Results come back on another socket
 * (aggregate/ingest.h).
 *
 * Owns: the rep socket and its request contexts, a LISTEN connection, an
 * eventfd, the dispatcher thread. Calls: jobs (claims, re-queues), db
 * (pool), secret, wire, NNG, libpq, log.
 */
#ifndef SF_DISPATCH_H
#define SF_DISPATCH_H

#include <nng/nng.h>
#include <pthread.h>
#include <stdatomic.h>

#include "db.h"
#include "nngtls.h"

/* Requests the jobs socket holds open at once (one per idle worker);
 * more workers than this queue inside NNG until a slot frees up. */
#define SF_DISPATCH_REQUESTS 256
/* Slots (jobs) claimed by one statement for all waiting requests. */
#define SF_DISPATCH_CLAIM_MAX 256

struct sf_dispatch_config {
	const char *jobs_url;	/* "tcp://127.0.0.1:7301", or tls+tcp:// with tls */
	const struct sf_tls_files *tls; /* the coordinator's certificate and the farm's CA */
	const char *public_url; /* base URL workers fetch artifacts from */
	const char *dsn;	/* for the LISTEN connection */
	int time_limit_s;
	int memory_mb;
	int pids;
	int disk_mb;
	int lease_grace_s; /* lease = time limit + grace */
	int reap_interval_s;
	int retry_backoff_s;
	int worker_live_s; /* a worker silent this long loses its jobs */
	const char *worker_secret; /* requests without it are dropped (NULL: open) */
};

struct sf_dispatch_stats {
	atomic_ullong dispatched;
	atomic_ullong messages_malformed; /* on the jobs channel */
	atomic_ullong leases_expired;
	atomic_ullong dead_lettered;
	atomic_ullong messages_unauthenticated; /* requests without the worker secret */
	atomic_ullong wants;	     /* requests for work received */
	atomic_ullong lost_requeued; /* jobs re-queued because their reply was lost */
	atomic_int waiting;	     /* requests parked now */
};

struct dispatch_req;

struct sf_dispatch {
	struct sf_dispatch_config cfg;
	struct sf_db_pool *pool;
	nng_socket rep;
	PGconn *listen;
	int wake_fd; /* eventfd: a request was parked, or stop */
	struct dispatch_req *reqs;
	int nreqs;
	pthread_mutex_t lock; /* guards the waiting list */
	struct dispatch_req *waiting, **waiting_tail;
	pthread_t dispatcher;
	bool threads_started;
	atomic_bool stop;
	atomic_bool hold; /* sf_dispatch_hold: no new claims */
	struct sf_dispatch_stats stats;
};

int sf_dispatch_start(struct sf_dispatch *d, const struct sf_dispatch_config *cfg,
		      struct sf_db_pool *pool);
/* Stops the dispatcher thread after it answered every parked request (with
 * no jobs); the socket stays open so that those replies can leave. */
void sf_dispatch_finish(struct sf_dispatch *d);
/* Finishes (if not done yet) and closes the socket. Let the replies of
 * sf_dispatch_finish leave first (the coordinator stops its results socket
 * in between): closing a rep socket while a reply is being sent can hang in
 * nng_close with NNG before 1.8 (nanomsg/nng#1813). */
void sf_dispatch_stop(struct sf_dispatch *d);
/* Hands out no more jobs (requests get empty replies at their deadline)
 * while results are still ingested: for a graceful shutdown, during which
 * this coordinator's artifact URL stops answering new connections. */
void sf_dispatch_hold(struct sf_dispatch *d);

#endif
