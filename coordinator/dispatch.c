/* dispatch — see dispatch.h. */
#include "dispatch.h"

#include <errno.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "log.h"
#include "webhook.h"

/* ------------------------------------------------------------ wake-ups */

static void dispatch_listen_connect(struct sf_dispatch *d)
{
	if (d->listen && PQstatus(d->listen) == CONNECTION_OK)
		return;
	if (d->listen)
		PQfinish(d->listen);
	d->listen = PQconnectdb(d->cfg.dsn);
	if (PQstatus(d->listen) != CONNECTION_OK || sf_db_exec(d->listen, "LISTEN scanfarm_jobs")) {
		PQfinish(d->listen);
		d->listen = NULL;
	}
}

/* Sleeps until a NOTIFY arrives or timeout_ms passes. */
static void dispatch_wait(struct sf_dispatch *d, int timeout_ms)
{
	dispatch_listen_connect(d);
	if (!d->listen) {
		usleep((useconds_t)timeout_ms * 1000);
		return;
	}
	struct pollfd p = {.fd = PQsocket(d->listen), .events = POLLIN};
	if (poll(&p, 1, timeout_ms) > 0) {
		PQconsumeInput(d->listen);
		PGnotify *n;
		while ((n = PQnotifies(d->listen)))
			PQfreemem(n);
	}
}

/* ------------------------------------------------------------ dispatcher */

static int dispatch_send(struct sf_dispatch *d, const struct sf_claim *c)
{
	char url[1024];
	snprintf(url, sizeof(url), "%s/v1/artifacts/%s", d->cfg.public_url, c->sha256);
	struct sf_job job = {.job_id = c->job_id,
			     .attempt = c->attempt,
			     .ecosystem = (char *)c->ecosystem,
			     .size = c->size,
			     .url = url,
			     .ruleset_digest = NULL,
			     .time_limit_s = d->cfg.time_limit_s,
			     .memory_mb = d->cfg.memory_mb,
			     .pids = d->cfg.pids,
			     .disk_mb = d->cfg.disk_mb,
			     .network = "none",
			     .lease_deadline_ms = c->lease_deadline_ms};
	memcpy(job.scan_id, c->scan_id, sizeof(job.scan_id));
	memcpy(job.sha256, c->sha256, sizeof(job.sha256));
	struct sf_buf msg = {0};
	int rc = sf_wire_encode_job(&job, &msg);
	if (rc == 0) {
		/* Waits up to the socket's send timeout for a worker pipe to be
		 * ready: cheaper than giving the claim back and taking it again. */
		int nrc = nng_send(d->push, msg.data, msg.len, 0);
		rc = nrc == 0 ? 0 : (nrc == NNG_EAGAIN || nrc == NNG_ETIMEDOUT) ? -EAGAIN : -EIO;
	}
	sf_buf_free(&msg);
	return rc;
}

/* Jobs claimed per statement. */
#define DISPATCH_BATCH 32

static void *dispatch_loop(void *arg)
{
	struct sf_dispatch *d = arg;
	int64_t next_reap = 0;
	bool workers_busy = false;
	while (!atomic_load(&d->stop)) {
		int64_t now = sf_monotonic_ms();
		if (now >= next_reap) {
			int requeued = 0, dead = 0;
			PGconn *db = sf_db_get(d->pool);
			if (sf_db_reap(db, d->cfg.retry_backoff_s, &requeued, &dead) == 0 &&
			    (requeued || dead)) {
				sf_warn("leases expired: %d job(s) re-queued, %d dead-lettered",
					requeued, dead);
				atomic_fetch_add(&d->stats.leases_expired, (unsigned)(requeued + dead));
				atomic_fetch_add(&d->stats.dead_lettered, (unsigned)dead);
			}
			sf_db_put(d->pool, db);
			next_reap = now + d->cfg.reap_interval_s * 1000LL;
		}

		/* A batch of claims per statement; what cannot be sent now is
		 * given back untouched, in order. */
		struct sf_claim cs[DISPATCH_BATCH];
		int n = 0, sent = 0;
		PGconn *db = sf_db_get(d->pool);
		/* after workers were busy, probe with one claim, not a batch */
		int rc = sf_db_claim_many(db, d->cfg.time_limit_s + d->cfg.lease_grace_s,
					  workers_busy ? 1 : DISPATCH_BATCH, cs, &n);
		for (; rc == 0 && sent < n; sent++) {
			if ((rc = dispatch_send(d, &cs[sent])))
				break;
			atomic_fetch_add(&d->stats.dispatched, 1);
			sf_info("job %lld (scan %s, attempt %d) dispatched",
				(long long)cs[sent].job_id, cs[sent].scan_id, cs[sent].attempt);
		}
		for (int i = sent; i < n; i++)
			sf_db_unclaim(db, cs[i].job_id, cs[i].attempt); /* no worker can take it now */
		sf_db_put(d->pool, db);
		workers_busy = rc == -EAGAIN;
		if (rc == 0 && n > 0)
			continue; /* all sent: maybe more are ready */
		int64_t until_reap = next_reap - sf_monotonic_ms();
		int wait = rc == -EAGAIN ? 100 : 1000;
		if (until_reap < wait)
			wait = until_reap > 0 ? (int)until_reap : 0;
		dispatch_wait(d, wait);
	}
	return NULL;
}

/* -------------------------------------------------------------- ingester */

static void dispatch_ingest(struct sf_dispatch *d, const struct sf_batch *b)
{
	enum sf_ingest_result res = SF_INGEST_STORED;
	char scan_id[SF_UUID_LEN + 1] = "";
	int rc = -EIO;
	/* A batch exists only in this message: retry while PostgreSQL is away
	 * (restart, failover) rather than drop it. If we still fail, the lease
	 * expires and the job runs again, so nothing is lost either way. */
	for (int tries = 0; tries < 30 && !atomic_load(&d->stop); tries++) {
		PGconn *db = sf_db_get(d->pool);
		rc = sf_db_ingest_scan(db, b, &res, scan_id);
		sf_db_put(d->pool, db);
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
		atomic_fetch_add(&d->stats.batches_stored, 1);
		if (d->cfg.webhook && b->nalerts)
			sf_webhook_post(d->cfg.webhook, scan_id, b->alerts, b->nalerts);
		sf_info("batch job=%lld attempt=%d seq=%d%s stored: %u alert(s), %u fact(s)%s%s",
			(long long)b->job_id, b->attempt, b->seq, b->final ? " (final)" : "",
			b->nalerts, b->nfacts, b->error ? ", error: " : "",
			b->error ? b->error : "");
		break;
	case SF_INGEST_DUPLICATE:
		atomic_fetch_add(&d->stats.batches_duplicate, 1);
		break;
	case SF_INGEST_STALE:
	case SF_INGEST_UNKNOWN:
		atomic_fetch_add(&d->stats.batches_stale, 1);
		sf_info("batch job=%lld attempt=%d seq=%d discarded (superseded or unknown)",
			(long long)b->job_id, b->attempt, b->seq);
		break;
	}
}

static void *ingest_loop(void *arg)
{
	struct sf_dispatch *d = arg;
	while (!atomic_load(&d->stop)) {
		void *buf = NULL;
		size_t len = 0;
		int rc = nng_recv(d->pull, &buf, &len, NNG_FLAG_ALLOC);
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
			unsigned long long n = atomic_fetch_add(&d->stats.messages_malformed, 1) + 1;
			sf_warn("dropped a malformed message (%zu bytes): %s [%llu so far]", len,
				strerror(-rc), n);
			continue;
		}
		const char *presented = msg.type == SF_MSG_BATCH ? msg.u.batch.auth
					: (msg.type == SF_MSG_HELLO || msg.type == SF_MSG_HEARTBEAT)
					    ? msg.u.hello.auth
					    : NULL;
		if (d->cfg.worker_secret && !sf_auth_secret_equal(presented, d->cfg.worker_secret)) {
			/* Not one of our workers: its results and hellos count for nothing. */
			unsigned long long n = atomic_fetch_add(&d->stats.messages_unauthenticated, 1) + 1;
			sf_warn("dropped a message without the worker secret [%llu so far]", n);
		} else if (msg.type == SF_MSG_BATCH) {
			dispatch_ingest(d, &msg.u.batch);
		} else if (msg.type == SF_MSG_HELLO || msg.type == SF_MSG_HEARTBEAT) {
			atomic_fetch_add(&d->stats.hellos, 1);
			PGconn *db = sf_db_get(d->pool);
			if (db) {
				/* best effort: the next heartbeat refreshes it */
				sf_db_worker_seen(db, &msg.u.hello);
				sf_db_put(d->pool, db);
			}
			if (msg.type == SF_MSG_HELLO)
				sf_info("worker %s joined (version %s, capacity %d, sensor %s)",
					msg.u.hello.worker_id,
					msg.u.hello.version ? msg.u.hello.version : "?",
					msg.u.hello.capacity,
					msg.u.hello.sensor ? msg.u.hello.sensor : "none");
		} else {
			atomic_fetch_add(&d->stats.messages_malformed, 1);
			sf_warn("dropped a message of unexpected type %d", (int)msg.type);
		}
		sf_msg_free(&msg);
	}
	return NULL;
}

/* ----------------------------------------------------------------- setup */

int sf_dispatch_start(struct sf_dispatch *d, const struct sf_dispatch_config *cfg,
		      struct sf_db_pool *pool)
{
	memset(d, 0, sizeof(*d));
	d->cfg = *cfg;
	d->pool = pool;
	int rc;
	if ((rc = nng_push0_open(&d->push)) || (rc = nng_pull0_open(&d->pull)))
		goto fail;
	if ((rc = nng_socket_set_size(d->push, NNG_OPT_RECVMAXSZ, SF_WIRE_MAX_MSG)) ||
	    (rc = nng_socket_set_size(d->pull, NNG_OPT_RECVMAXSZ, SF_WIRE_MAX_MSG)) ||
	    (rc = nng_socket_set_ms(d->pull, NNG_OPT_RECVTIMEO, 500)) ||
	    (rc = nng_socket_set_ms(d->push, NNG_OPT_SENDTIMEO, 200)))
		goto fail;
	if ((rc = nng_listen(d->push, cfg->jobs_url, NULL, 0))) {
		sf_error("cannot listen on %s: %s", cfg->jobs_url, nng_strerror(rc));
		goto fail;
	}
	if ((rc = nng_listen(d->pull, cfg->results_url, NULL, 0))) {
		sf_error("cannot listen on %s: %s", cfg->results_url, nng_strerror(rc));
		goto fail;
	}
	if (pthread_create(&d->dispatcher, NULL, dispatch_loop, d) != 0)
		goto fail;
	for (int i = 0; i < SF_DISPATCH_INGESTERS; i++) {
		if (pthread_create(&d->ingesters[i], NULL, ingest_loop, d) != 0) {
			atomic_store(&d->stop, true);
			pthread_join(d->dispatcher, NULL);
			for (int j = 0; j < d->ningesters; j++)
				pthread_join(d->ingesters[j], NULL);
			goto fail;
		}
		d->ningesters++;
	}
	d->threads_started = true;
	return 0;
fail:
	nng_close(d->push);
	nng_close(d->pull);
	return -EADDRINUSE;
}

void sf_dispatch_stop(struct sf_dispatch *d)
{
	atomic_store(&d->stop, true);
	if (d->threads_started) {
		pthread_join(d->dispatcher, NULL);
		for (int i = 0; i < d->ningesters; i++)
			pthread_join(d->ingesters[i], NULL);
	}
	nng_close(d->push);
	nng_close(d->pull);
	if (d->listen)
		PQfinish(d->listen);
	d->listen = NULL;
}
