/*
 * uplink — the worker's side of its NNG link to the coordinator. Jobs are
 * asked for over req/rep, only when the worker has a free slot (the
 * coordinator may hold a request open for SF_LINK_WAIT_MS); result
 * batches, the hello and the heartbeats are pushed over push/pull. Each
 * received job is run (or, with noop, answered at once) and its batch
 * sent back. Dials do not block: a worker may start before its
 * coordinator.
 *
 * Owns: the two sockets, the heartbeat thread and the process-wide stop
 * flag (set by sf_link_on_signal). Received jobs and their batches live
 * for one pass of the loop. Strings in struct sf_link are the
 * caller's and must outlive sf_link_close. Calls: job, wire, nng, log,
 * util.
 */
#ifndef SF_UPLINK_H
#define SF_UPLINK_H

#include <nng/nng.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "job.h"

/* How long the coordinator may hold a request for work open. A worker
 * answers signals within about this long. */
#define SF_LINK_WAIT_MS 2000

#include "nngtls.h"

struct sf_link {
	nng_socket req;
	nng_socket push;
	int capacity;
	char id[256];
	atomic_int running;
	int heartbeat_s;
	char sensor[16]; /* "ebpf", "falco-grpc", "falco-json" or "none" */
	const char *ruleset_digest;
	const char *image_digest;
	const char *secret;
	bool noop; /* benchmarks: finish every job at once, install nothing */
	pthread_t heartbeat; /* set by sf_link_open */
	bool heartbeat_started;
};

/* A signal handler (SIGINT, SIGTERM): asks sf_link_serve to return after
 * the jobs it holds. */
void sf_link_on_signal(int sig);

/* Opens both sockets, dials the coordinator, sends the hello and starts
 * the heartbeats. 0, or a negative errno after logging why; call
 * sf_link_close either way. */
int sf_link_open(struct sf_link *l, const char *jobs_url, const char *results_url,
		 const struct sf_tls_files *tls);

/* Asks for jobs and runs them until a signal arrives. */
void sf_link_serve(struct sf_link *l, const struct sf_job_env *env);

/* Stops the heartbeats and closes the sockets. */
void sf_link_close(struct sf_link *l);

#endif
