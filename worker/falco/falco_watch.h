/*
 * falco_watch — one job's view of a Falco that watches the worker's
 * sandboxes: observe's counterpart of the eBPF sensor's cgroup watch when
 * the worker runs with `--sensor falco-grpc` or `falco-json`.
 *
 * At the start it waits for a pulse (falco_feed: Falco is delivering, and
 * its epoch is noted), then receives every alert the feed matches to the
 * job's container cgroups ("<container id>-<phase>"), attributes it to a
 * package and the phase, and keeps it in the job's collector. At the end
 * it waits for a second pulse — every alert on an event of the job has
 * then been dispatched — and stops: if the feed's epoch moved meanwhile
 * (Falco restarted, a pulse went missing, the gRPC stream broke) alerts
 * of the job may be lost and the job says so (sf_falco_watch_finish's
 * error), so the scan fails with the reason instead of reading clean.
 *
 * Attribution, from the fields the worker's Falco configuration appends
 * to every alert: the package whose directory holds proc.cwd (packages.c,
 * as the eBPF path does at exec); when that is the project itself, the
 * package whose package.json proc.env[npm_package_json] names (npm sets
 * it for every lifecycle script, and children inherit it); else the
 * project. The phase is the cgroup's. Both go into output_fields as
 * scanfarm.package and scanfarm.phase, as on the eBPF path.
 *
 * Owns: the watch registration; borrows the job's collector and package
 * cache, which it uses on the feed's dispatcher thread between start and
 * finish (phase changes lock it). Calls: falco_feed, falco_alert,
 * packages, collect, log.
 */
#ifndef SF_FALCO_WATCH_H
#define SF_FALCO_WATCH_H

#include <stddef.h>

#include "wire.h"

struct sf_falco;
struct sf_collect;
struct sf_packages;
struct sf_falco_watch;

#define SF_FALCO_SYNC_MS 15000 /* how long a pulse may take to come back */

/* Waits for Falco's pulse, then watches cid's cgroups. 0, or -ETIMEDOUT /
 * -ENOMEM / the feed's error with err filled. */
int sf_falco_watch_start(struct sf_falco_watch **out, struct sf_falco *falco, const char *cid,
			 struct sf_collect *collect, struct sf_packages *packages, char *err,
			 size_t errlen);

/* A new phase begins (identities read from directory names are read
 * again, as on the eBPF path). */
void sf_falco_watch_phase(struct sf_falco_watch *w);

/* Waits for the closing pulse and stops; b->events = the job's alerts,
 * b->drops = alerts of the job the worker's full queue dropped (those
 * naming no cgroup, which could be anyone's, included). 0, or -EIO with
 * err saying why alerts of the job may be missing: Falco lost some (the
 * pulses tell), or the worker dropped some of the job's. */
int sf_falco_watch_finish(struct sf_falco_watch *w, struct sf_batch *b, char *err, size_t errlen);

/* Stops watching if still watching; NULL is fine. */
void sf_falco_watch_free(struct sf_falco_watch *w);

#endif
