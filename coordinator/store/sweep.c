/* sweep — see sweep.h. */
#include "sweep.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* Candidates checked against PostgreSQL per statement. */
#define SWEEP_BATCH 256

struct sweep_pass {
	struct sf_sweep *s;
	time_t before;
	char shas[SWEEP_BATCH][SF_SHA256_HEX + 1];
	int n;
	unsigned deleted;
};

/* Deletes the batch's objects that have no artifacts row. A row committed
 * after this statement belongs to an upload that refreshed the object's
 * mtime first, which sf_store_remove_object sees. */
static int sweep_flush(struct sweep_pass *p)
{
	if (p->n == 0)
		return 0;
	struct sf_buf arr = {0};
	int rc = sf_buf_append(&arr, "{", 1);
	for (int i = 0; rc == 0 && i < p->n; i++)
		rc = sf_buf_appendf(&arr, "%s%s", i ? "," : "", p->shas[i]);
	if (rc == 0)
		rc = sf_buf_append(&arr, "}", 2); /* with the NUL */
	if (rc) {
		sf_buf_free(&arr);
		return rc;
	}
	const char *params[] = {arr.data};
	PGconn *db = sf_db_get(p->s->pool);
	PGresult *r = PQexecParams(db,
				   "SELECT u.i FROM unnest($1::text[]) WITH ORDINALITY AS u(sha, i)"
				   " WHERE NOT EXISTS (SELECT 1 FROM artifacts a WHERE a.sha256 = u.sha)",
				   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		sf_warn("sweep: cannot check objects against PostgreSQL (%s); nothing deleted",
			PQerrorMessage(db));
		rc = -EIO;
	}
	for (int k = 0; rc == 0 && k < PQntuples(r); k++) {
		long i = strtol(PQgetvalue(r, k, 0), NULL, 10);
		if (i < 1 || i > p->n)
			continue;
		const char *sha = p->shas[i - 1];
		int rm = sf_store_remove_object(p->s->store, sha, p->before);
		if (rm == 0) {
			p->deleted++;
			atomic_fetch_add(&p->s->stats.objects_deleted, 1);
			sf_info("sweep: deleted orphan object %s (no artifacts row)", sha);
		} else if (rm != -EBUSY && rm != -ENOENT) {
			sf_warn("sweep: cannot delete orphan object %s: %s", sha, strerror(-rm));
		}
	}
	PQclear(r);
	sf_db_put(p->s->pool, db);
	sf_buf_free(&arr);
	p->n = 0;
	return rc;
}

static int sweep_candidate(void *ctx, const char *sha256)
{
	struct sweep_pass *p = ctx;
	if (atomic_load(&p->s->stop))
		return -ECANCELED;
	memcpy(p->shas[p->n++], sha256, SF_SHA256_HEX + 1);
	return p->n == SWEEP_BATCH ? sweep_flush(p) : 0;
}

int sf_sweep_run(struct sf_sweep *s)
{
	struct sweep_pass *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->s = s;
	p->before = time(NULL) - s->cfg.grace_s;
	unsigned tmp = 0;
	int rc = sf_store_sweep_tmp(s->store, p->before, &tmp);
	if (rc)
		sf_warn("sweep: cannot read the store's tmp dir: %s", strerror(-rc));
	if (tmp) {
		atomic_fetch_add(&s->stats.tmp_deleted, tmp);
		sf_info("sweep: deleted %u stale upload temporar%s", tmp, tmp == 1 ? "y" : "ies");
	}
	rc = sf_store_each_old_object(s->store, p->before, sweep_candidate, p);
	if (rc == 0)
		rc = sweep_flush(p);
	if (rc && rc != -ECANCELED && rc != -EIO)
		sf_warn("sweep: pass stopped: %s", strerror(-rc));
	if (p->deleted)
		sf_info("sweep: %u orphan object(s) deleted", p->deleted);
	atomic_fetch_add(&s->stats.runs, 1);
	free(p);
	return rc == -ECANCELED ? 0 : rc;
}

static void *sweep_loop(void *arg)
{
	struct sf_sweep *s = arg;
	pthread_mutex_lock(&s->lock);
	while (!atomic_load(&s->stop)) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += s->cfg.interval_s;
		int w = 0;
		while (!atomic_load(&s->stop) && w != ETIMEDOUT)
			w = pthread_cond_timedwait(&s->wake, &s->lock, &until);
		if (atomic_load(&s->stop))
			break;
		pthread_mutex_unlock(&s->lock);
		sf_sweep_run(s);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int sf_sweep_start(struct sf_sweep *s, const struct sf_sweep_config *cfg, struct sf_store *store,
		   struct sf_db_pool *pool)
{
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	s->store = store;
	s->pool = pool;
	pthread_condattr_t ca;
	if (pthread_condattr_init(&ca) != 0)
		return -ENOMEM;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	int rc = pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (rc)
		return -rc;
	if ((rc = pthread_mutex_init(&s->lock, NULL))) {
		pthread_cond_destroy(&s->wake);
		return -rc;
	}
	if ((rc = pthread_create(&s->thread, NULL, sweep_loop, s))) {
		pthread_mutex_destroy(&s->lock);
		pthread_cond_destroy(&s->wake);
		return -rc;
	}
	s->started = true;
	return 0;
}

void sf_sweep_stop(struct sf_sweep *s)
{
	if (!s->started)
		return;
	pthread_mutex_lock(&s->lock);
	atomic_store(&s->stop, true);
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->wake);
	s->started = false;
}
