/*
 * observe — watches one job through the sensor: the per-job pipeline
 * sensor record → decode (struct sf_event, the process tree) → the rules
 * → collect (alerts, capped per rule, and facts: contacted addresses, DNS
 * questions, executed binaries with their SHA-256, files written outside
 * the package tree, processes with their command lines) → the batch.
 *
 * Every event, alert and fact is attributed to the installed package that
 * caused it (packages.h: by the cwd at exec, else inherited; the project
 * itself otherwise) and to the phase being watched.
 *
 * Records of the container runtime's own setup (before the container's
 * first exec) are counted but not evaluated: they are crun's doing, not
 * the package's.
 *
 * The network a phase runs in (sf_observe_network) adds to its socket
 * events: scanfarm.net.blocked for destinations no sandbox may reach, and
 * fd.sip.name for the addresses its sinkhole gave out. What the sandbox
 * sent the sinkhole is handed over when the phase has ended
 * (sf_observe_sinkhole): each record becomes an event for the rules and
 * facts (netevent.h), attributed to the process whose socket it was
 * (sockets.h: its local end, as the sensor saw it connect or send).
 *
 * Owns: the job's process table (proctable) and collector (collect) until
 * sf_observe_finish moves alerts and facts into a batch (which then owns
 * them). Runs on the sensor thread (records) and the job thread
 * (start/network/sinkhole/finish/free), never both at once:
 * sf_sensor_unwatch separates them. Calls: sensor (cgroup watch), decode,
 * proctable, packages, sockets, netevent, netpolicy (matching), sinkhole
 * (names of its addresses), rules, collect, falco_watch.
 *
 * With a Falco feed instead of the sensor (opts.falco), Falco evaluates
 * the rules: the job's alerts come from falco_watch (on the feed's
 * dispatcher thread), attributed to packages and phases the same way;
 * there are no records, facts or process table then.
 */
#ifndef SF_OBSERVE_H
#define SF_OBSERVE_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "netpolicy.h"
#include "sensor.h"
#include "sinkhole.h"
#include "wire.h"

struct sf_ruleset;
struct sf_observe;
struct sf_falco;

/* The network of the phase about to be watched. */
struct sf_observe_net {
	const struct sf_netaddr *blocked; /* scanfarm.net.blocked; the caller's, kept */
	size_t nblocked;
	struct sf_sinkhole *sinkhole;	  /* fd.sip.name of its addresses; NULL: none */
};

struct sf_observe_opts {
	const struct sf_ruleset *rules; /* NULL: collect facts only */
	const char *container_id;	/* the job's container name */
	const char *image;		/* container.image.repository */
	const char *hostname;		/* the worker's, for alerts */
	/* The project tree's path in the container (the runner look's
	 * workspace, "/builds/acme/app"; NULL: "/work") and the host
	 * directory mounted there, to read package.json files and hash
	 * binaries that exited before they could be read through /proc. */
	const char *work_dir;
	const char *work_host_dir;
	const char *tmp_host_dir;	/* host directory mounted at /tmp, or NULL */
	const char *home_dir;		/* the user's home in the container, or NULL */
	const char *home_host_dir;	/* its host directory */
	const char *rootfs;		/* host path of the read-only rootfs */
	const char *user_name;		/* user.name of uid user_id (NULL: numbers) */
	uint32_t user_id;
	/* The project's root in the container (work_dir or below), whose
	 * package.json names the project; NULL: the cwd of the first exec
	 * in work_dir, outside node_modules, that holds a package.json. */
	const char *project_dir;
	/* The job's ecosystem when it is not npm ("pypi", "rubygems"): which
	 * directories are packages (packages.h), and the project's identity
	 * as the worker read it from the body (project_id), or NULL. */
	const char *ecosystem;
	const char *project_id;
	/* The sandbox's user namespace (0, 0: none): the host ids it maps
	 * are reported as the ids inside (user.uid 1000 is the sandbox user). */
	uint32_t uid_base, uid_count;
	/* Each container's pid 1 is our init (init.c), not the package's. */
	bool init;
	/* Alerts from Falco instead of the sensor (sensor is then NULL). */
	struct sf_falco *falco;
	/* Where a failure's reason is written (e.g. Falco does not deliver),
	 * or NULL. */
	char *err;
	size_t errlen;
	/* Optional: every decoded event, after rule evaluation (tests, bench). */
	void (*on_event)(void *arg, const struct sf_event *ev);
	void *on_event_arg;
};

/* Starts watching cgroup `name` (under the sensor's parent) for a job;
 * name NULL: nothing yet, until the first sf_observe_phase. */
int sf_observe_start(struct sf_observe **out, struct sf_sensor *sensor, const char *name,
		     const struct sf_observe_opts *opts);

/* A job runs in phases, each a container of its own: stops watching the
 * previous phase's cgroup (every record of it is delivered first) and
 * watches cgroup `name` as phase `phase` ("fetch", "install", "import").
 * The process table, the facts and the alerts carry on across phases. */
int sf_observe_phase(struct sf_observe *o, const char *phase, const char *name);

/* The network of the phase the next sf_observe_phase starts watching
 * (taken then, when no watch is on); NULL for none of the worker's making.
 * What it points at must last as long as that phase is watched. */
void sf_observe_network(struct sf_observe *o, const struct sf_observe_net *net);

/* After a phase's container has exited and its sinkhole stopped: stops
 * watching (every record of the phase delivered first), then evaluates
 * and records what the sandbox sent the sinkhole, r[0..n), and notes what
 * the sinkhole could not keep (st). The next phase needs sf_observe_phase. */
void sf_observe_sinkhole(struct sf_observe *o, const struct sf_net_record *r, size_t n,
			 const struct sf_sinkhole_stats *st);

/* The phase being watched ("" before the first sf_observe_phase). */
const char *sf_observe_current_phase(const struct sf_observe *o);

/* Stops watching (every record already produced is delivered first) and
 * moves alerts, facts and sensor stats into *b. Call once. */
int sf_observe_finish(struct sf_observe *o, struct sf_batch *b);

/* Why the job's alerts may be incomplete (Falco restarted or lost alerts
 * while it ran; the sensor or the Falco feed lost records or alerts of
 * the job), after sf_observe_finish; NULL when nothing is known. */
const char *sf_observe_error(const struct sf_observe *o);

void sf_observe_free(struct sf_observe *o);

/* Decodes a DNS question (sf_decode_dns_name): writes the lower-case name
 * of the first question into name. Returns 0 or -EPROTO. Exposed for tests. */
int sf_observe_dns_name(const unsigned char *msg, size_t len, char *name, size_t namelen);

#endif
