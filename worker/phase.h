/*
 * phase — runs one phase of a job (fetch, install or import) in a
 * container of its own and describes how it went, as the report shows it:
 * ran or skipped, exit status, timed out, duration, output tails, and the
 * reason it did not complete. The sensor watches the phase's cgroup
 * (observe) so what happens is attributed to the phase.
 *
 * Network per phase: the fetch phase joins a namespace the worker made
 * (netns) whose only way out is the registry proxy; the install and import
 * phases a sinkhole namespace the worker made (every name resolved, every
 * connection answered, nothing leaving; what was sent goes to observe when
 * the phase has ended), or offline, an empty namespace (loopback only) from
 * the runtime.
 *
 * Owns: the phase's network namespace while it runs. The struct sf_phase
 * it fills holds malloc'd strings (freed with the batch). Calls: run
 * (sandbox), netns, sinkhole, observe, npm (struct sf_argv), wire, log,
 * util.
 */
#ifndef SF_PHASE_H
#define SF_PHASE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netpolicy.h"
#include "npm.h"
#include "run.h"
#include "wire.h"

struct sf_observe;
struct sf_userns;

struct sf_phase_spec {
	const char *name;		 /* "fetch", "install", "import" */
	const struct sf_sandbox_spec *base; /* the job's container, argv/env/limits replaced */
	const char *container_id;	 /* unique on this host */
	const struct sf_argv *argv, *env;
	int time_limit_s;
	int cpu_left_s; /* what is left of the job's CPU time (0: the base's) */
	/* fetch: connections to 127.0.0.1:proxy_port in the sandbox reach
	 * *proxy (the registry proxy on the host); 0 = offline */
	uint16_t proxy_port;
	const struct sockaddr_in *proxy;
	const char *cache_dir; /* the worker's tarball cache, or NULL */
	/* not proxied: true for the sinkhole network, false for offline */
	bool sinkhole;
	/* destinations unreachable in every network (netpolicy.h), the job's */
	const struct sf_netaddr *blocked;
	size_t nblocked;
	/* the user namespace the phase's network namespace must belong to
	 * (the one the container joins), or NULL */
	const struct sf_userns *userns;
};

/* What a phase used, besides what the report shows. */
struct sf_phase_usage {
	int64_t cpu_ms;	   /* CPU time of its container */
	bool left_running; /* its command ended with processes still running */
	unsigned limits;   /* enum sf_sandbox_limit bits reached */
};

/* Runs the phase and fills *out (name, ran, outcome) and *use. Returns 0
 * when the container ran, whatever its outcome (out->error says what went
 * wrong: a limit reached is said in words, "memory limit 2048 MiB reached
 * in the install phase"), or a negative errno when it could not be started
 * (err filled). */
int sf_phase_run(const struct sf_phase_spec *ps, struct sf_observe *obs, struct sf_phase *out,
		 struct sf_phase_usage *use, char *err, size_t errlen);

/* A phase that did not run, and why (NULL: an earlier phase stopped the
 * scan); a reason is the scan's failure. */
int sf_phase_skip(struct sf_phase *out, const char *name, const char *why);

/* A phase that did not run because it had nothing to do, and what that
 * was (the report's "skipped": "no install scripts …"); no failure. */
int sf_phase_idle(struct sf_phase *out, const char *name, const char *nothing);

/* Whether the phase completed: it ran, exited 0 and was not killed. */
bool sf_phase_ok(const struct sf_phase *p);

#endif
