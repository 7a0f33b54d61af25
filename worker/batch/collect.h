/*
 * collect — what one job's scan report keeps of what the sensor saw: the
 * facts (contacted addresses, DNS questions, executed binaries with their
 * SHA-256, files written outside the package tree, processes with their
 * command lines), deduplicated and capped, and the alerts the rules
 * raised, capped per rule and per job and deduplicated; at the end of the
 * job both move into the result batch (struct sf_batch).
 *
 * Executables are hashed when they are exec'd: through /proc/<pid>/exe
 * while the process still runs the executed file, else through the host
 * paths of the sandbox mounts if that is still the executed file (the
 * sensor reports its inode and device); hashes are cached worker-wide by
 * (device, inode, size, mtime).
 *
 * Every fact and alert says which package and which phase caused it;
 * facts are deduplicated by (kind, value, detail, package, phase), alerts
 * by (rule, output, package, phase), and every alert's output_fields end
 * with scanfarm.package and scanfarm.phase.
 *
 * Owns: the facts and alerts until sf_collect_finish moves them into a
 * batch (the batch then owns them: sf_batch_free), the per-rule counts.
 * Used by one thread at a time. Calls: rules (alerts), sha256, wire, util.
 */
#ifndef SF_COLLECT_H
#define SF_COLLECT_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"
#include "wire.h"

#define SF_COLLECT_BUCKETS 1024
#define SF_COLLECT_MAX_FACTS 20000	  /* facts kept per job */
#define SF_COLLECT_MAX_ALERTS 1000	  /* alerts kept per job */
#define SF_COLLECT_MAX_ALERTS_PER_RULE 20 /* then only counted */

struct sf_ruleset;
struct sf_rule;
struct collect_fact;
struct collect_rule_count;

struct sf_collect_opts {
	const struct sf_ruleset *rules; /* renders alerts; NULL: facts only */
	const char *hostname;		/* the worker's, for alerts */
	/* Host directory bind-mounted at work_dir (the project tree; NULL:
	 * "/work"), to hash binaries that exited before they could be read
	 * through /proc; likewise /tmp's and the home's. */
	const char *work_dir;
	const char *work_host_dir;
	const char *tmp_host_dir;  /* host directory mounted at /tmp, or NULL */
	const char *home_dir;	   /* the user's home in the container, or NULL */
	const char *home_host_dir; /* its host directory */
	const char *rootfs;	  /* host path of the read-only rootfs */
};

struct sf_collect {
	struct sf_collect_opts opts;
	struct collect_fact *facts[SF_COLLECT_BUCKETS];
	uint32_t nfacts;
	bool facts_truncated;
	struct sf_alert *alerts;
	uint32_t nalerts, alerts_cap;
	struct collect_rule_count *rule_counts;
	uint64_t alerts_suppressed; /* over the caps */
	uint64_t alerts_repeated;   /* identical to one already kept */
	bool oom; /* an allocation failed: the report says so */
};

void sf_collect_init(struct sf_collect *c, const struct sf_collect_opts *opts);

/* Adds a fact unless it is already known (or the cap is reached):
 * package ("name@version") and phase say who caused it and when (NULL or
 * "": nobody, e.g. the collector's own notes); all are copied. */
void sf_collect_fact(struct sf_collect *c, const char *kind, const char *value,
		     const char *detail, const char *package, const char *phase);

/* Adds the "exec" fact of process pid that just exec'd exepath, the file
 * with inode ino on device dev (the kernel's encoding; ino 0: unknown):
 * the SHA-256 of that very file, "unverified: …" when what can still be
 * read is another file, or "unreadable: ENOENT" and the like. */
void sf_collect_exec(struct sf_collect *c, int32_t pid, const char *exepath, uint64_t ino,
		     uint32_t dev, const char *package, const char *phase);

/* Keeps the alert rule raised on ev, within the caps, unless the same
 * rule already said the same thing. */
void sf_collect_alert(struct sf_collect *c, const struct sf_rule *rule, const struct sf_event *ev);

/* Keeps an alert that arrived rendered (from Falco, which evaluated the
 * rule itself) on the same terms: the caps, counted by rule name, and
 * the deduplication. Takes *a over (it is zeroed): kept or freed. Its
 * output_fields should already say scanfarm.package and scanfarm.phase. */
void sf_collect_alert_take(struct sf_collect *c, struct sf_alert *a);

/* Moves the facts (sorted, with the collector's own notes: suppressed and
 * repeated alerts, truncation, memory) and the alerts into *b. Call once;
 * -ENOMEM leaves them with the collector. */
int sf_collect_finish(struct sf_collect *c, struct sf_batch *b);

void sf_collect_free(struct sf_collect *c);

#endif
