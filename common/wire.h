/*
 * wire — the msgpack messages between coordinator and workers (DESIGN.md
 * "Wire protocol"): every NNG message is one map with `v` and `type`.
 *
 *   want       worker → coordinator   request on the jobs channel: free slots,
 *                                     jobs running now
 *   jobs       coordinator → worker   the reply: up to `slots` installs to run
 *   batch      worker → coordinator   results, seq-numbered, last one final
 *   hello      worker → coordinator   worker id, version, capacity, sensor
 *   heartbeat  worker → coordinator   same fields, periodically
 *
 * Owns: the encoders and the decoder. Decoding checks the structure of the
 * bytes before msgpack-c sees them (declared counts must fit in the bytes
 * that remain, depth and object count are bounded), so hostile input can
 * neither crash us nor make us allocate more than a small multiple of its
 * size. Every decoded string is NUL-free valid UTF-8 (bad bytes become '?'),
 * so it can go into PostgreSQL text columns as it is.
 * Calls: msgpack-c, util. Memory: sf_msg_free releases everything decoded.
 */
#ifndef SF_WIRE_H
#define SF_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define SF_WIRE_VERSION 2 /* 2: the jobs channel became want/jobs request/reply */
#define SF_WIRE_MAX_MSG (8u << 20) /* bytes; sockets set NNG_OPT_RECVMAXSZ to this */
#define SF_WIRE_MAX_DEPTH 16
#define SF_WIRE_MAX_ITEMS 100000 /* alerts or facts in one batch */

enum sf_msg_type { SF_MSG_JOBS = 1, SF_MSG_BATCH, SF_MSG_HELLO, SF_MSG_HEARTBEAT, SF_MSG_WANT };

#define SF_WIRE_MAX_JOBS 64	 /* jobs in one reply, and slots one request may ask for */
#define SF_WIRE_MAX_WAIT_MS 60000

struct sf_kv {
	char *key;
	char *value;
};

/* An alert in Falco's shape (DESIGN.md "Alerts"). */
struct sf_alert {
	int64_t time_ns; /* unix time, nanoseconds */
	char *priority;	 /* "Emergency" … "Debug" */
	char *rule;
	char *output;
	char *source; /* "syscall" */
	char *hostname;
	char **tags;
	uint32_t ntags;
	struct sf_kv *fields; /* output_fields */
	uint32_t nfields;
};

/* A fact observed during the install: kind is one of "connect", "dns",
 * "exec", "file_written", "process", …; value is the thing itself and
 * detail a free-form qualifier (port, sha256, cmdline). */
struct sf_fact {
	char *kind;
	char *value;
	char *detail;
	char *package; /* name@version of the package that caused it, or NULL */
	char *phase;   /* "fetch", "install" or "import", or NULL */
};

/* One phase of a job (DESIGN.md "Data path"): fetch, install, import. */
#define SF_WIRE_MAX_PHASES 8
struct sf_phase {
	char *name;
	bool ran;	     /* false: skipped (an earlier phase failed, nothing to do) */
	bool has_exit_status;
	int32_t exit_status; /* or 128 + signal */
	bool timed_out;
	int64_t duration_ms;
	char *stdout_tail;
	char *stderr_tail;
	char *error; /* why the phase did not complete, or NULL */
	/* why a phase that did not run had nothing to do ("no install scripts
	 * …"; not a failure), or NULL: absent from older workers' batches */
	char *skipped;
};

/* One package of the installed tree, as the report's per-package summary
 * lists it. */
struct sf_package {
	char *name;
	char *version;
	char *path;	      /* "node_modules/a/node_modules/b"; "" for the project itself */
	bool install_scripts; /* declares preinstall/install/postinstall (or binding.gyp) */
	bool direct;	      /* a direct dependency of the project */
};

struct sf_job {
	int64_t job_id;
	int32_t attempt;
	char scan_id[SF_UUID_LEN + 1];
	char *ecosystem; /* "npm" */
	char sha256[SF_SHA256_HEX + 1];
	int64_t size;
	char *url; /* where the worker downloads the artifact */
	/* What the coordinator read the artifact to be from its content
	 * (inspect.h: "sdist", "wheel", "project", "gem", "package"), sent as
	 * artifact.kind; the worker installs it as that kind and refuses a
	 * body its own reading disagrees with. NULL (absent or nil): not told
	 * (a coordinator from before the field, or bytes it did not inspect);
	 * the worker tells the kind itself. Older workers ignore the key, so
	 * the protocol version stays. */
	char *kind;
	char *ruleset_digest;
	int32_t time_limit_s;
	int32_t memory_mb;
	int32_t pids;
	int32_t disk_mb;
	/* The install and import phases' network: "sinkhole" or "offline";
	 * NULL (absent): the worker's default (--network). Older coordinators
	 * sent "none", which means offline. */
	char *network;
	int64_t lease_deadline_ms;
};

struct sf_batch {
	int64_t job_id;
	int32_t attempt;
	int32_t seq;
	char *worker_id;
	bool final;
	struct sf_alert *alerts;
	uint32_t nalerts;
	struct sf_fact *facts;
	uint32_t nfacts;
	uint64_t events;
	uint64_t drops;
	bool has_exit_status;
	int32_t exit_status;
	char *stdout_tail;
	char *stderr_tail;
	char *error; /* NULL when the job ran; the reason when it could not */
	int64_t duration_ms;
	/* What produced the verdict (the verdict cache's key, with the
	 * artifact): the worker's rules and sandbox image. NULL if unknown. */
	char *ruleset_digest;
	char *image_digest;
	char *auth; /* the worker secret, when the coordinator requires one */
	struct sf_phase *phases; /* in the order they ran */
	uint32_t nphases;
	struct sf_package *packages;
	uint32_t npackages;
	char *network; /* the network the job's install and import ran in, or NULL */
};

/*
 * A worker asking for work. The jobs channel is request/reply, so a job is
 * only ever sent to a worker that asked for it and has a free slot. Each
 * request carries a fresh random token that the coordinator stores with the
 * jobs it leases in reply. A reply can be lost (the worker gave up waiting,
 * the connection broke): the worker's next request names that token in
 * `lost`, and those jobs are re-queued at once instead of at lease expiry.
 * `fresh` marks a worker's first request since it started: every job still
 * leased to its id belongs to an earlier run of it and is re-queued too.
 */
struct sf_want {
	char *worker_id;
	int32_t slots;	    /* 1 … SF_WIRE_MAX_JOBS */
	int32_t wait_ms;    /* how long the coordinator may hold the request open */
	int64_t token;	    /* this request's, non-zero */
	int64_t lost_token; /* an earlier request whose reply never came, or 0 */
	bool fresh;
	char *auth; /* the worker secret, when the coordinator requires one */
};

/* The reply to a want: zero jobs when none became ready within wait_ms. */
struct sf_jobs {
	struct sf_job *jobs;
	uint32_t njobs;
};

struct sf_hello {
	char *worker_id;
	char *version;
	int32_t capacity;
	int32_t running;
	char *sensor;
	char *ruleset_digest; /* the rules the worker evaluates */
	char *image_digest;   /* the sandbox root file system it installs in */
	char *auth;	      /* the worker secret, when the coordinator requires one */
};

struct sf_msg {
	enum sf_msg_type type;
	union {
		struct sf_jobs jobs;
		struct sf_batch batch;
		struct sf_hello hello;
		struct sf_want want;
	} u;
};

/* Encoders append one complete message to out (which the caller owns). */
int sf_wire_encode_jobs(const struct sf_job *jobs, uint32_t njobs, struct sf_buf *out);
int sf_wire_encode_want(const struct sf_want *want, struct sf_buf *out);
int sf_wire_encode_batch(const struct sf_batch *batch, struct sf_buf *out);
int sf_wire_encode_hello(const struct sf_hello *hello, bool heartbeat, struct sf_buf *out);

/* Decodes one message. Returns 0, -EPROTO for malformed input,
 * -EPROTONOSUPPORT for an unknown protocol version, -EMSGSIZE when larger
 * than SF_WIRE_MAX_MSG, -ENOMEM. On failure nothing needs freeing. */
int sf_wire_decode(const void *data, size_t len, struct sf_msg *out);
void sf_msg_free(struct sf_msg *msg);
void sf_alert_free(struct sf_alert *a);
void sf_fact_free(struct sf_fact *f);
void sf_batch_free(struct sf_batch *b);
void sf_job_free(struct sf_job *j);
void sf_jobs_free(struct sf_jobs *js);
void sf_want_free(struct sf_want *w);

/* Checks msgpack structure without allocating: 0 or -EPROTO. */
int sf_wire_precheck(const unsigned char *p, size_t len);

/* Replaces NUL bytes and invalid UTF-8 sequences by '?', in place. */
void sf_utf8_sanitize(char *s, size_t len);

#endif
