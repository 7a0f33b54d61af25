/*
 * proctable — one job's process table: every process of the sandbox the
 * sensor has seen, by host pid, with the strings (exe, exepath, args,
 * cwd) that struct sf_proc points at. Decoding keeps it current from
 * exec, fork, chdir and exit records; rules read it through ev->proc and
 * its parent chain.
 *
 * Owns: the entries and their strings, until sf_proctable_free; the
 * struct sf_proc views stay valid as long as the table. At most
 * SF_PROCTABLE_MAX entries; a full table drops new processes. The
 * package fields of struct sf_proc are borrowed from packages (the job's
 * attribution cache), never freed here. Used by one
 * thread at a time (the sensor thread, or the job thread once the watch
 * has ended). Calls: record (the record header), event (struct sf_proc).
 */
#ifndef SF_PROCTABLE_H
#define SF_PROCTABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"
#include "record.h"

#define SF_PROCTABLE_BUCKETS 1024
#define SF_PROCTABLE_MAX 20000 /* process entries kept per job */

struct sf_proc_entry {
	struct sf_proc p;
	char *exe, *exepath, *args, *cwd; /* owned; p points at them */
	bool exited;
	struct sf_proc_entry *next; /* hash chain */
};

struct sf_proctable {
	struct sf_proc_entry *buckets[SF_PROCTABLE_BUCKETS];
	uint32_t n;
	/* The job's out-of-memory flag, shared with the collector (which
	 * reports it): set when an entry cannot be made. */
	bool *oom;
};

/* An empty table whose allocation failures set *oom. */
void sf_proctable_init(struct sf_proctable *t, bool *oom);

struct sf_proc_entry *sf_proctable_find(struct sf_proctable *t, int32_t pid);

/* The process a record came from, its ids and name refreshed from the
 * record; created if unknown (it was forked before the watch began).
 * NULL when the table is full or memory ran out. */
struct sf_proc_entry *sf_proctable_get(struct sf_proctable *t, const struct sf_bpf_event *r);

/* A new, empty entry for pid (a fork's child), or NULL when the table is
 * full or memory ran out (not counted as out of memory: the child is
 * created from its own records later). */
struct sf_proc_entry *sf_proctable_add(struct sf_proctable *t, int32_t pid);

/* Replaces the entry's strings with copies (NULL = ""); keeps the old
 * ones if memory runs out. */
void sf_proctable_set_strings(struct sf_proc_entry *p, const char *exe, const char *exepath,
			      const char *args, const char *cwd);

void sf_proctable_free(struct sf_proctable *t);

#endif
