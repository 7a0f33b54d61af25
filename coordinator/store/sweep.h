/*
 * sweep — deletes what the artifact store keeps for nobody, periodically:
 *
 *   orphan objects   bytes stored by an upload whose scan was never
 *                    committed (answered 503 while PostgreSQL was away, or
 *                    the coordinator died between the two): an object with
 *                    no artifacts row and an mtime older than the grace;
 *   stale temporaries  named upload files in tmp/ left by a crashed
 *                    coordinator (file systems without O_TMPFILE).
 *
 * Why a grace period, and why an hour by default: several coordinators may
 * share one store, and each upload first stores its bytes (a new object, or
 * an existing one whose mtime it refreshes, see store.h) and only then
 * commits its artifacts row (sf_enqueue_submit). Between the two an object is
 * legitimately row-less. That gap is one sf_enqueue_submit: milliseconds
 * normally; at worst a wait for a pooled connection plus a statement or a
 * reconnect that hangs until TCP gives up (minutes), after which the upload
 * fails with 503 and the object is a real orphan. So an object whose mtime
 * is older than the grace and which has no row cannot belong to an upload
 * still committing, as long as the grace is well above that worst case and
 * above the clock skew between the coordinators sharing the store (mtimes
 * come from the store's file system, "now" from this host). One hour leaves
 * an order of magnitude. The same grace covers temporaries: an upload in
 * flight writes to its file at least once per idle-timeout or is dropped.
 * The row check and the deletion do not race an upload that refreshes the
 * object in between: sf_store_remove_object renames first and decides on
 * the mtime it then sees. If PostgreSQL does not answer, nothing is deleted.
 *
 * Owns: one thread and its counters. Calls: store, db (pool), libpq, log.
 */
#ifndef SF_SWEEP_H
#define SF_SWEEP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "db.h"
#include "store.h"

struct sf_sweep_config {
	int interval_s; /* between passes; the first pass runs one interval after start */
	int grace_s;	/* files younger than this are never deleted */
};

struct sf_sweep_stats {
	atomic_ullong runs;
	atomic_ullong objects_deleted;
	atomic_ullong tmp_deleted;
};

struct sf_sweep {
	struct sf_sweep_config cfg;
	struct sf_store *store;
	struct sf_db_pool *pool;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	atomic_bool stop;
	struct sf_sweep_stats stats;
};

int sf_sweep_start(struct sf_sweep *s, const struct sf_sweep_config *cfg, struct sf_store *store,
		   struct sf_db_pool *pool);
/* One pass now (the thread calls it every interval). 0, or -EIO when
 * PostgreSQL did not answer (the rest of the pass is skipped). */
int sf_sweep_run(struct sf_sweep *s);
void sf_sweep_stop(struct sf_sweep *s);

#endif
