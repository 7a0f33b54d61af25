/* ingest — see ingest.h. */
#include "ingest.h"

#include <errno.h>
#include <nng/protocol/pipeline0/pull.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest_db.h"
#include "log.h"
#include "secret.h"
#include "webhook.h"
#include "workers.h"

static void ingest_batch(struct sf_ingest *g, const struct sf_batch *b)
{
	enum sf_ingest_result res = SF_INGEST_STORED;
	char scan_id[SF_UUID_LEN + 1] = "";
	int rc = -EIO;
	/* A batch exists only in this message: retry while PostgreSQL is away
	 * (restart, failover) rather than drop it. If we still fail, the lease
	 * expires and the job runs again, so nothing is lost either way. */
	for (int tries = 0; tries < 30 && !atomic_load(&g->stop); tries++) {
		PGconn *db = sf_db_get(g->pool);
		rc = sf_ingest_db_store_scan(db, b, &res, scan_id);
		sf_db_put(g->pool, db);
		if (rc != -EIO)
			break;
		usleep(1000 * 1000);
	}
	if (rc) {
		sf_error("batch job=%lld attempt=%d seq=%d not stored: %s", (long long)b->job_id,
			 b->attempt, b->seq, strerror(-rc));
		return;
	}
	switch (res) {
	case SF_INGEST_STORED:
		atomic_fetch_add(&g->stats.batches_stored, 1);
		if (g->cfg.webhook && b->nalerts)
			sf_webhook_post(g->cfg.webhook, scan_id, b->alerts, b->nalerts);
		sf_info("batch job=%lld attempt=%d seq=%d%s stored: %u alert(s), %u fact(s)%s%s",
			(long long)b->job_id, b->attempt, b->seq, b->final ? " (final)" : "",
			b->nalerts, b->nfacts, b->error ? ", error: " : "",
			b->error ? b->error : "");
		break;
	case SF_INGEST_DUPLICATE:
		atomic_fetch_add(&g->stats.batches_duplicate, 1);
		break;
	case SF_INGEST_STALE:
	case SF_INGEST_UNKNOWN:
		atomic_fetch_add(&g->stats.batches_stale, 1);
		sf_info("batch job=%lld attempt=%d seq=%d discarded (superseded or unknown)",
			(long long)b->job_id, b->attempt, b->seq);
		break;
	}
}

/* A hello or heartbeat: the workers table learns what the worker runs. */
static void ingest_hello(struct sf_ingest *g, const struct sf_hello *h, bool joined)
{
	atomic_fetch_add(&g->stats.hellos, 1);
	PGconn *db = sf_db_get(g->pool);
	if (db) {
		/* best effort: the next heartbeat refreshes it */
		sf_workers_seen(db, h);
		sf_db_put(g->pool, db);
	}
	if (joined)
		sf_info("worker %s joined (version %s, capacity %d, sensor %s)", h->worker_id,
			h->version ? h->version : "?", h->capacity, h->sensor ? h->sensor : "none");
}

static void *ingest_loop(void *arg)
{
	struct sf_ingest *g = arg;
	while (!atomic_load(&g->stop)) {
		void *buf = NULL;
		size_t len = 0;
		int rc = nng_recv(g->pull, &buf, &len, NNG_FLAG_ALLOC);
		if (rc == NNG_ETIMEDOUT)
			continue;
		if (rc) {
			if (rc == NNG_ECLOSED)
				break;
			continue;
		}
		struct sf_msg msg;
		rc = sf_wire_decode(buf, len, &msg);
		nng_free(buf, len);
		if (rc) {
			unsigned long long n = atomic_fetch_add(&g->stats.messages_malformed, 1) + 1;
			sf_warn("dropped a malformed message (%zu bytes): %s [%llu so far]", len,
				strerror(-rc), n);
			continue;
		}
		const char *presented = msg.type == SF_MSG_BATCH ? msg.u.batch.auth
					: (msg.type == SF_MSG_HELLO || msg.type == SF_MSG_HEARTBEAT)
					    ? msg.u.hello.auth
					    : NULL;
		if (g->cfg.worker_secret && !sf_secret_equal(presented, g->cfg.worker_secret)) {
			/* Not one of our workers: its results and hellos count for nothing. */
			unsigned long long n = atomic_fetch_add(&g->stats.messages_unauthenticated, 1) + 1;
			sf_warn("dropped a message without the worker secret [%llu so far]", n);
		} else if (msg.type == SF_MSG_BATCH) {
			ingest_batch(g, &msg.u.batch);
		} else if (msg.type == SF_MSG_HELLO || msg.type == SF_MSG_HEARTBEAT) {
			ingest_hello(g, &msg.u.hello, msg.type == SF_MSG_HELLO);
		} else {
			atomic_fetch_add(&g->stats.messages_malformed, 1);
			sf_warn("dropped a message of unexpected type %d", (int)msg.type);
		}
		sf_msg_free(&msg);
	}
	return NULL;
}

int sf_ingest_start(struct sf_ingest *g, const struct sf_ingest_config *cfg,
		    struct sf_db_pool *pool)
{
	memset(g, 0, sizeof(*g));
	g->cfg = *cfg;
	g->pool = pool;
	int rc;
	if ((rc = nng_pull0_open(&g->pull)))
		return -EADDRINUSE;
	if ((rc = nng_socket_set_size(g->pull, NNG_OPT_RECVMAXSZ, SF_WIRE_MAX_MSG)) ||
	    (rc = nng_socket_set_ms(g->pull, NNG_OPT_RECVTIMEO, 500)) ||
	    /* results queue here rather than in each worker's pipe, so every
	     * ingest thread has work while a worker sends a reply's batches */
	    (rc = nng_socket_set_int(g->pull, NNG_OPT_RECVBUF, 256)))
		goto fail;
	char err[512];
	if ((rc = sf_nng_listen(g->pull, cfg->results_url, cfg->tls, err, sizeof(err)))) {
		sf_error("%s", err);
		goto fail;
	}
	for (int i = 0; i < SF_INGEST_THREADS; i++) {
		if (pthread_create(&g->threads[i], NULL, ingest_loop, g) != 0) {
			atomic_store(&g->stop, true);
			for (int j = 0; j < g->nthreads; j++)
				pthread_join(g->threads[j], NULL);
			goto fail;
		}
		g->nthreads++;
	}
	return 0;
fail:
	nng_close(g->pull);
	return -EADDRINUSE;
}

void sf_ingest_stop(struct sf_ingest *g)
{
	atomic_store(&g->stop, true);
	for (int i = 0; i < g->nthreads; i++)
		pthread_join(g->threads[i], NULL);
	g->nthreads = 0;
	nng_close(g->pull);
}
