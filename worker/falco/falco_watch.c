/* falco_watch — see falco_watch.h. */
#include "falco_watch.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect.h"
#include "falco_alert.h"
#include "falco_feed.h"
#include "log.h"
#include "packages.h"

struct sf_falco_watch {
	struct sf_falco *falco;
	char cid[96];
	struct sf_collect *collect;
	struct sf_packages *packages;
	pthread_mutex_t mu; /* collect and packages: the dispatcher vs phase changes */
	bool watching;
	uint64_t epoch;	     /* at the opening pulse */
	uint64_t unplaced;   /* the feed's drops of no known cgroup, at the start */
	uint64_t alerts;     /* this job's */
};

/* Adds key = value to a's output_fields unless Falco's output has it. */
static int watch_add_field(struct sf_alert *a, const char *key, const char *value)
{
	if (sf_falco_alert_field(a, key))
		return 0;
	struct sf_kv *f = realloc(a->fields, (a->nfields + 1) * sizeof(*f));
	if (!f)
		return -ENOMEM;
	a->fields = f;
	struct sf_kv *kv = &a->fields[a->nfields];
	kv->key = strdup(key);
	kv->value = strdup(value ? value : "");
	if (!kv->key || !kv->value) {
		free(kv->key);
		free(kv->value);
		return -ENOMEM;
	}
	a->nfields++;
	return 0;
}

/* The package directory of an npm_package_json path, with a trailing
 * '/' ("/work/p/node_modules/a/package.json" → "/work/p/node_modules/a/"). */
static bool watch_json_dir(const char *json, char *dir, size_t len)
{
	static const char tail[] = "/package.json";
	size_t n = json ? strlen(json) : 0;
	if (n <= sizeof(tail) - 1 || json[0] != '/' || strcmp(json + n - (sizeof(tail) - 1), tail))
		return false;
	n -= sizeof(tail) - 2; /* keep the '/' */
	if (n >= len)
		return false;
	memcpy(dir, json, n);
	dir[n] = '\0';
	return true;
}

/* Which package the alert's process acts for (see falco_watch.h). */
static const char *watch_package(struct sf_falco_watch *w, const struct sf_alert *a)
{
	const char *pid = sf_falco_alert_field(a, "proc.pid");
	struct sf_proc p = {.pid = pid ? atoi(pid) : 0};
	sf_packages_adopt(w->packages, &p);
	sf_packages_exec(w->packages, &p, sf_falco_alert_field(a, "proc.cwd"));
	char dir[1024];
	if (p.package_dir && !p.package_dir[0] &&
	    watch_json_dir(sf_falco_alert_field(a, "proc.env[npm_package_json]"), dir, sizeof(dir)))
		sf_packages_exec(w->packages, &p, dir);
	return p.package ? p.package : "";
}

/* The feed's callback: one alert of this job's sandbox. */
static void watch_alert(void *arg, struct sf_alert *a, const char *phase)
{
	struct sf_falco_watch *w = arg;
	pthread_mutex_lock(&w->mu);
	w->alerts++;
	const char *pkg = watch_package(w, a);
	if (watch_add_field(a, "scanfarm.package", pkg) == 0 &&
	    watch_add_field(a, "scanfarm.phase", phase) == 0) {
		sf_collect_alert_take(w->collect, a);
	} else {
		w->collect->oom = true;
		sf_alert_free(a);
	}
	pthread_mutex_unlock(&w->mu);
}

int sf_falco_watch_start(struct sf_falco_watch **out, struct sf_falco *falco, const char *cid,
			 struct sf_collect *collect, struct sf_packages *packages, char *err,
			 size_t errlen)
{
	struct sf_falco_watch *w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	w->falco = falco;
	w->collect = collect;
	w->packages = packages;
	pthread_mutex_init(&w->mu, NULL);
	snprintf(w->cid, sizeof(w->cid), "%s", cid);
	int rc = sf_falco_sync(falco, SF_FALCO_SYNC_MS, &w->epoch);
	if (rc) {
		snprintf(err, errlen, "Falco delivered no pulse within %d s: it is not running, or"
				      " not with the worker's configuration (docs/falco.md)",
			 SF_FALCO_SYNC_MS / 1000);
	} else if ((rc = sf_falco_watch(falco, w->cid, watch_alert, w))) {
		snprintf(err, errlen, "cannot watch %s through Falco: %s", cid, strerror(-rc));
	}
	if (rc) {
		sf_falco_watch_free(w);
		return rc;
	}
	w->unplaced = sf_falco_drops_unplaced(falco);
	w->watching = true;
	*out = w;
	return 0;
}

void sf_falco_watch_phase(struct sf_falco_watch *w)
{
	pthread_mutex_lock(&w->mu);
	sf_packages_new_phase(w->packages);
	pthread_mutex_unlock(&w->mu);
}

int sf_falco_watch_finish(struct sf_falco_watch *w, struct sf_batch *b, char *err, size_t errlen)
{
	uint64_t epoch = w->epoch;
	int rc = sf_falco_sync(w->falco, SF_FALCO_SYNC_MS, &epoch);
	uint64_t drops = 0;
	sf_falco_unwatch(w->falco, w->cid, &drops);
	w->watching = false;
	struct sf_falco_stats st;
	sf_falco_stats(w->falco, &st);
	b->events = w->alerts;
	b->drops = drops + (sf_falco_drops_unplaced(w->falco) - w->unplaced);
	if (rc) {
		snprintf(err, errlen, "Falco's closing pulse did not come back within %d s: alerts"
				      " of the install may be missing",
			 SF_FALCO_SYNC_MS / 1000);
		return -EIO;
	}
	if (epoch != w->epoch) {
		snprintf(err, errlen, "Falco restarted, or its alerts were lost (%s), during the"
				      " install: alerts of the install may be missing",
			 st.connected ? "a pulse went missing or the stream broke" : "disconnected");
		return -EIO;
	}
	if (b->drops) {
		snprintf(err, errlen, "the worker's Falco queue was full and lost %llu alerts of this"
				      " job (--falco-queue): alerts of the install may be missing",
			 (unsigned long long)b->drops);
		return -EIO;
	}
	return 0;
}

void sf_falco_watch_free(struct sf_falco_watch *w)
{
	if (!w)
		return;
	if (w->watching)
		sf_falco_unwatch(w->falco, w->cid, NULL);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
