/*
 * falco_feed — the worker's side of a Falco that watches its sandboxes
 * (`--sensor falco-grpc` and `--sensor falco-json`, docs/falco.md): what
 * the alert sources (falco_grpc: Falco's gRPC outputs; falco_http: its
 * http_output) deliver goes through here to the jobs.
 *
 *   source thread ──bytes──▶ decode (falco_alert) ──▶ bounded queue
 *        ──▶ dispatcher thread: pulses; each alert matched to the job
 *            whose sandbox produced it (thread.cgroups names the job's
 *            container cgroup /<cgroup parent>/<container id>-<phase>),
 *            handed to that job's watch; others ignored and counted
 *
 * The queue never makes a source wait: when it is full the alert is
 * dropped and counted — against the job its cgroup names, so that job,
 * and only that one, knows its alerts are incomplete — and a slow job
 * never backs up into Falco.
 *
 * Pulses: Falco's alerts carry no end-of-stream mark, and a Falco that
 * restarts loses what it had queued and sees nothing while it is down.
 * So the worker runs, every pulse interval and whenever a job asks
 * (sf_falco_sync), `/bin/true scanfarm-falco-pulse <token> <seq>`, on
 * which the shipped rule "scanfarm falco pulse" (rules/99-scanfarm-falco
 * .yaml) fires. Falco handles events in order, so when pulse N comes back
 * every alert on an event before it has been dispatched. Lost alerts show
 * as a missing pulse (a gap in seq), a pulse whose evt.num went backwards
 * (a new Falco counts from zero), or a source reporting a broken stream;
 * each moves the feed's epoch on, and a job whose first and last pulse
 * saw different epochs knows it may have missed alerts.
 *
 * Several workers on one machine share one Falco through falco_relay: the
 * one holding the reader's lock runs the source and passes other workers'
 * alerts and pulses on; the others take over when it stops.
 *
 * Owns: the queue, the dispatcher and pulse threads, the watch table and
 * the counters, the relay. Sources are started by sf_falco_open (or by the pulse
 * thread on taking over) and stopped by sf_falco_close.
 * Thread-safe. A watch's callback runs on the dispatcher thread with the
 * watch table locked: once sf_falco_unwatch returns it is never called
 * again. Calls: falco_alert, falco_grpc, falco_http, falco_relay, util,
 * log.
 */
#ifndef SF_FALCO_FEED_H
#define SF_FALCO_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define SF_FALCO_PULSE_RULE "scanfarm falco pulse"
#define SF_FALCO_PULSE_ARG "scanfarm-falco-pulse"
#define SF_FALCO_MAX_WATCHES 64

struct sf_falco;

struct sf_falco_opts {
	const char *kind;	   /* "falco-grpc" or "falco-json" */
	const char *grpc_address;  /* "unix:///run/falco/falco.sock" or "host:port" (mTLS) */
	const char *grpc_ca;	   /* mTLS: CA (PEM file) Falco's certificate is checked with */
	const char *grpc_cert;	   /* mTLS: the worker's certificate chain (PEM file) */
	const char *grpc_key;	   /* mTLS: its private key (PEM file) */
	const char *http_address;  /* "127.0.0.1:7310": where http_output posts */
	const char *cgroup_parent; /* "scanfarm": job cgroups are /<parent>/<name> */
	const char *pulse_exe;	   /* "/bin/true" */
	/* Shared by the machine's worker processes (falco_relay): one reads
	 * Falco and passes the others their alerts. NULL: this worker alone. */
	const char *relay_dir;
	unsigned queue;		   /* alerts buffered between source and dispatcher */
	int pulse_ms;		   /* between pulses */
};

struct sf_falco_stats {
	uint64_t received;   /* messages the source delivered */
	uint64_t malformed;  /* not an alert: dropped */
	uint64_t oversized;  /* over SF_FALCO_MAX_ALERT: dropped */
	uint64_t queue_full; /* dropped because the dispatcher lagged */
	uint64_t matched;    /* handed to a job */
	uint64_t unmatched;  /* no job of this worker's: ignored */
	uint64_t unplaced;   /* no thread.cgroups field: the configuration lacks it */
	uint64_t pulses;     /* this worker's pulses that came back */
	uint64_t foreign;    /* pulses of other workers */
	uint64_t relayed;    /* alerts and pulses passed to this machine's other workers */
	uint64_t relay_dropped; /* could not be passed (their socket full, too large) */
	uint64_t streams;    /* subscriptions (gRPC calls) that ended */
	uint64_t epoch;	     /* times alerts may have been lost */
	int64_t last_pulse_ms; /* monotonic, 0 = none yet */
	bool connected;	       /* gRPC: a subscription delivers; JSON: always */
};

/* Called with each alert of a watched job, on the dispatcher thread; the
 * callee owns what *a holds (keeps it, or sf_alert_free), not *a itself. phase is the part of the cgroup name
 * after "<container id>-". */
typedef void (*sf_falco_alert_fn)(void *arg, struct sf_alert *a, const char *phase);

/* Starts the source named by opts->kind, the dispatcher and the pulses.
 * 0, or a negative errno with err filled. */
int sf_falco_open(struct sf_falco **out, const struct sf_falco_opts *opts, char *err,
		  size_t errlen);
void sf_falco_close(struct sf_falco *f);

void sf_falco_stats(struct sf_falco *f, struct sf_falco_stats *st);

/* Delivers alerts of cgroups named "<cid>-<phase>" to fn until unwatched.
 * -EEXIST, -ENOSPC (SF_FALCO_MAX_WATCHES), -ENAMETOOLONG. */
int sf_falco_watch(struct sf_falco *f, const char *cid, sf_falco_alert_fn fn, void *arg);
/* Stops delivering cid's alerts; *drops (drops may be NULL) receives how
 * many of them the full queue lost while it was watched: each job knows
 * its own, whatever the jobs beside it lost. */
void sf_falco_unwatch(struct sf_falco *f, const char *cid, uint64_t *drops);

/* Alerts the full queue lost that name no cgroup (thread.cgroups absent),
 * so could have been any job's: a count since open, to compare. */
uint64_t sf_falco_drops_unplaced(struct sf_falco *f);

/* Runs a pulse and waits up to timeout_ms for it to come back: then every
 * alert on an earlier event has been dispatched. *epoch receives the
 * feed's epoch at that moment. 0 or -ETIMEDOUT. */
int sf_falco_sync(struct sf_falco *f, int timeout_ms, uint64_t *epoch);

/* --- for the sources ------------------------------------------------------ */

enum sf_falco_format { SF_FALCO_PROTOBUF, SF_FALCO_JSON };

/* One message as the source received it: decoded, counted, queued.
 * Returns what decoding said (0, -EPROTO, -EMSGSIZE, -ENOMEM). */
int sf_falco_deliver(struct sf_falco *f, enum sf_falco_format fmt, const void *buf, size_t len);

/* A message the source refused itself (over its size limit). */
void sf_falco_oversized(struct sf_falco *f);

/* The source's stream ended or broke: what Falco had queued for it may be
 * lost. connected: whether a stream delivers now. */
void sf_falco_stream_state(struct sf_falco *f, bool connected, bool lost);

#endif
