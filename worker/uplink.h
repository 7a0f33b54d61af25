/*
 * uplink — the worker's side of its NNG link to the coordinator. Jobs are
 * asked for over req/rep, only when the worker has a free slot (the
 * coordinator may hold a request open for SF_LINK_WAIT_MS); result
 * batches, the hello and the heartbeats are pushed over push/pull. The
 * worker has `capacity` slots: each received job runs on a thread of its
 * own with its slot's job environment (or, with noop, is answered at
 * once on the asking thread), and its batch is pushed from there; a
 * request asks for the slots free at the time. Every request carries a
 * token its jobs are leased under, so a request whose reply was lost is
 * reported (lost_token) without touching the jobs still running from
 * earlier ones. Heartbeats report how many jobs are running. Dials do not
 * block: a worker may start before its coordinator.
 *
 * Owns: the two sockets, the heartbeat thread, the slot threads and the
 * process-wide stop flag (set by sf_link_on_signal). A received job is
 * its slot's until its batch is sent. Strings in struct sf_link are the
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
	int capacity; /* slots: jobs run at once */
	char id[256];
	atomic_int running; /* jobs in flight, as heartbeats report them */
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

/* Asks for jobs and runs them, up to l->capacity at once, until a signal
 * arrives; then waits for the jobs in flight. envs[k] is slot k's job
 * environment (with noop, envs[0] serves every job). */
void sf_link_serve(struct sf_link *l, const struct sf_job_env *envs);

/* Stops the heartbeats and closes the sockets. */
void sf_link_close(struct sf_link *l);

#endif
