/* dispatch — see dispatch.h. */
#include "dispatch.h"

#include <errno.h>
#include <nng/protocol/reqrep0/rep.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "jobs.h"
#include "log.h"
#include "secret.h"

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

/* ------------------------------------------------------- the jobs channel */

/*
 * One receive slot on the jobs socket (an NNG rep context). A worker's
 * `want` parks here until jobs are claimed for it or its wait_ms passes
 * (then it gets an empty reply and asks again): long polling, so a job is
 * only ever sent to a worker that asked for it, with a free slot.
 */
struct dispatch_req {
	struct sf_dispatch *d;
	nng_ctx ctx;
	nng_aio *aio;
	bool sending;	     /* the aio carries our reply */
	bool checked;	     /* its worker's lost jobs were looked for */
	struct sf_want want; /* the parked request */
	int64_t deadline_ms; /* reply (possibly empty) by then */
	struct dispatch_req *next; /* in d->waiting */
};

static void dispatch_wake(struct sf_dispatch *d)
{
	uint64_t one = 1;
	if (write(d->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		sf_warn("dispatcher wake-up: %s", strerror(errno));
}

static void dispatch_recv_next(struct dispatch_req *r)
{
	sf_want_free(&r->want);
	r->sending = false;
	r->checked = false;
	nng_ctx_recv(r->ctx, r->aio);
}

/* Runs on an NNG thread: must not block. Parks a valid request for the
 * dispatcher thread; anything else is counted and forgotten (a rep context
 * that receives again abandons the request, so nothing is answered). */
static void dispatch_req_done(void *arg)
{
	struct dispatch_req *r = arg;
	struct sf_dispatch *d = r->d;
	int rv = nng_aio_result(r->aio);
	if (r->sending) {
		if (rv != 0) {
			/* The jobs in it are leased to this worker: its next want
			 * re-queues them, or its silence, or the lease. */
			nng_msg_free(nng_aio_get_msg(r->aio));
			sf_warn("reply to worker %s not sent: %s", r->want.worker_id,
				nng_strerror(rv));
		}
		if (rv == NNG_ECLOSED || atomic_load(&d->stop))
			return;
		dispatch_recv_next(r);
		return;
	}
	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
		return;
	if (rv != 0) {
		dispatch_recv_next(r);
		return;
	}
	nng_msg *m = nng_aio_get_msg(r->aio);
	size_t len = nng_msg_len(m);
	struct sf_msg msg;
	int drc = sf_wire_decode(nng_msg_body(m), len, &msg);
	nng_msg_free(m);
	if (drc || msg.type != SF_MSG_WANT) {
		unsigned long long n = atomic_fetch_add(&d->stats.messages_malformed, 1) + 1;
		sf_warn("jobs channel: dropped a malformed or unexpected message (%zu bytes): %s"
			" [%llu so far]", len, drc ? strerror(-drc) : "not a want", n);
		if (drc == 0)
			sf_msg_free(&msg);
		dispatch_recv_next(r);
		return;
	}
	if (d->cfg.worker_secret && !sf_secret_equal(msg.u.want.auth, d->cfg.worker_secret)) {
		/* Not one of our workers: it gets no jobs, not even an answer. */
		unsigned long long n = atomic_fetch_add(&d->stats.messages_unauthenticated, 1) + 1;
		sf_warn("jobs channel: dropped a request without the worker secret [%llu so far]", n);
		sf_msg_free(&msg);
		dispatch_recv_next(r);
		return;
	}
	r->want = msg.u.want; /* moved: msg is not freed */
	r->deadline_ms = sf_monotonic_ms() + r->want.wait_ms;
	atomic_fetch_add(&d->stats.wants, 1);
	pthread_mutex_lock(&d->lock);
	r->next = NULL;
	*d->waiting_tail = r;
	d->waiting_tail = &r->next;
	pthread_mutex_unlock(&d->lock);
	atomic_fetch_add(&d->stats.waiting, 1);
	dispatch_wake(d);
}

/* Answers a parked request with the jobs claimed for it (maybe none). */
static void dispatch_reply(struct sf_dispatch *d, struct dispatch_req *r, PGconn *db,
			   const struct sf_claim *cs, int n)
{
	char urls[SF_WIRE_MAX_JOBS][1024];
	struct sf_job jobs[SF_WIRE_MAX_JOBS];
	for (int i = 0; i < n; i++) {
		const struct sf_claim *c = &cs[i];
		snprintf(urls[i], sizeof(urls[i]), "%s/v1/artifacts/%s", d->cfg.public_url, c->sha256);
		jobs[i] = (struct sf_job){.job_id = c->job_id,
					  .attempt = c->attempt,
					  .ecosystem = (char *)c->ecosystem,
					  .size = c->size,
					  .url = urls[i],
					  .time_limit_s = d->cfg.time_limit_s,
					  .memory_mb = d->cfg.memory_mb,
					  .pids = d->cfg.pids,
					  .disk_mb = d->cfg.disk_mb,
					  .network = c->network[0] ? (char *)c->network : NULL,
					  .kind = c->kind[0] ? (char *)c->kind : NULL,
					  .lease_deadline_ms = c->lease_deadline_ms};
		memcpy(jobs[i].scan_id, c->scan_id, sizeof(jobs[i].scan_id));
		memcpy(jobs[i].sha256, c->sha256, sizeof(jobs[i].sha256));
	}
	struct sf_buf body = {0};
	nng_msg *m = NULL;
	int rc = sf_wire_encode_jobs(jobs, (uint32_t)n, &body);
	if (rc == 0 && (nng_msg_alloc(&m, 0) || nng_msg_append(m, body.data, body.len)))
		rc = -ENOMEM;
	sf_buf_free(&body);
	atomic_fetch_sub(&d->stats.waiting, 1);
	if (rc) {
		if (m)
			nng_msg_free(m);
		for (int i = 0; i < n; i++)
			sf_jobs_unclaim(db, cs[i].job_id, cs[i].attempt);
		sf_error("cannot build a reply for worker %s: %s", r->want.worker_id, strerror(-rc));
		dispatch_recv_next(r);
		return;
	}
	for (int i = 0; i < n; i++) {
		atomic_fetch_add(&d->stats.dispatched, 1);
		sf_info("job %lld (scan %s, attempt %d) dispatched to %s", (long long)cs[i].job_id,
			cs[i].scan_id, cs[i].attempt, r->want.worker_id);
	}
	r->sending = true;
	nng_aio_set_msg(r->aio, m);
	nng_ctx_send(r->ctx, r->aio);
}

/* Sleeps until a NOTIFY, a new request or timeout_ms. */
static void dispatch_wait(struct sf_dispatch *d, int timeout_ms)
{
	dispatch_listen_connect(d);
	struct pollfd p[2] = {{.fd = d->wake_fd, .events = POLLIN},
			      {.fd = d->listen ? PQsocket(d->listen) : -1, .events = POLLIN}};
	if (poll(p, 2, timeout_ms) <= 0)
		return;
	uint64_t count;
	if (p[0].revents & POLLIN)
		(void)!read(d->wake_fd, &count, sizeof(count));
	if (d->listen && (p[1].revents & POLLIN)) {
		PQconsumeInput(d->listen);
		PGnotify *n;
		while ((n = PQnotifies(d->listen)))
			PQfreemem(n);
	}
}

static void dispatch_reap(struct sf_dispatch *d)
{
	int requeued = 0, dead = 0;
	PGconn *db = sf_db_get(d->pool);
	if (sf_jobs_reap(db, d->cfg.retry_backoff_s, d->cfg.worker_live_s, &requeued, &dead) == 0 &&
	    (requeued || dead)) {
		sf_warn("expired leases and silent workers: %d job(s) re-queued, %d dead-lettered",
			requeued, dead);
		atomic_fetch_add(&d->stats.leases_expired, (unsigned)(requeued + dead));
		atomic_fetch_add(&d->stats.dead_lettered, (unsigned)dead);
	}
	sf_db_put(d->pool, db);
}

/* Re-queues what this request says its worker never got (once). */
static void dispatch_check_lost(struct sf_dispatch *d, PGconn *db, struct dispatch_req *r)
{
	if (r->checked)
		return;
	if (!r->want.fresh && !r->want.lost_token) {
		r->checked = true;
		return;
	}
	int requeued = 0, dead = 0;
	/* jobs of an earlier run of this worker, or of a reply it never got:
	 * nobody runs them */
	if (sf_jobs_requeue_lost(db, r->want.worker_id, r->want.fresh ? 0 : r->want.lost_token,
			       &requeued, &dead) != 0)
		return; /* looked for again next time */
	r->checked = true;
	if (requeued || dead) {
		sf_warn("worker %s never got %d job(s)%s: re-queued %d, dead-lettered %d",
			r->want.worker_id, requeued + dead,
			r->want.fresh ? " before it restarted" : "", requeued, dead);
		atomic_fetch_add(&d->stats.lost_requeued, (unsigned)(requeued + dead));
	}
}

/*
 * Serves the parked requests: one statement claims jobs for all their free
 * slots at once (the most urgent for the earliest request), each leased to
 * its worker and request token. Those the queue has nothing for stay
 * parked until their deadline. (Requests that arrive meanwhile have
 * written the eventfd: the next wait returns at once.)
 */
static void dispatch_serve(struct sf_dispatch *d, int64_t *next_deadline)
{
	pthread_mutex_lock(&d->lock);
	struct dispatch_req *list = d->waiting;
	d->waiting = NULL;
	d->waiting_tail = &d->waiting;
	pthread_mutex_unlock(&d->lock);
	if (!list)
		return;

	PGconn *db = sf_db_get(d->pool);
	struct sf_slot slots[SF_DISPATCH_CLAIM_MAX];
	struct sf_claim cs[SF_DISPATCH_CLAIM_MAX];
	bool taken[SF_DISPATCH_CLAIM_MAX] = {false};
	int nslots = 0, n = 0;
	bool claiming = !atomic_load(&d->stop) && !atomic_load(&d->hold);
	for (struct dispatch_req *r = list; r; r = r->next) {
		dispatch_check_lost(d, db, r);
		for (int k = 0; claiming && k < r->want.slots && k < SF_WIRE_MAX_JOBS &&
				nslots < SF_DISPATCH_CLAIM_MAX;
		     k++)
			slots[nslots++] = (struct sf_slot){r->want.worker_id, r->want.token};
	}
	/* one statement for every waiting request's free slots */
	if (nslots && sf_jobs_claim_slots(db, d->cfg.time_limit_s + d->cfg.lease_grace_s, slots,
					nslots, cs, &n))
		n = 0;

	struct dispatch_req *keep = NULL, **keep_tail = &keep, *next;
	int64_t now = sf_monotonic_ms();
	for (struct dispatch_req *r = list; r; r = next) {
		next = r->next;
		r->next = NULL;
		struct sf_claim mine[SF_WIRE_MAX_JOBS];
		int m = 0;
		for (int i = 0; i < n && m < SF_WIRE_MAX_JOBS; i++)
			if (!taken[i] && cs[i].token == r->want.token) {
				taken[i] = true;
				mine[m++] = cs[i];
			}
		if (m > 0 || now >= r->deadline_ms || atomic_load(&d->stop)) {
			dispatch_reply(d, r, db, mine, m);
		} else {
			*keep_tail = r;
			keep_tail = &r->next;
			if (r->deadline_ms < *next_deadline)
				*next_deadline = r->deadline_ms;
		}
	}
	for (int i = 0; i < n; i++)
		if (!taken[i]) /* cannot happen: every claim names a waiting request */
			sf_jobs_unclaim(db, cs[i].job_id, cs[i].attempt);
	sf_db_put(d->pool, db);
	/* still-waiting requests go back ahead of those that came meanwhile */
	pthread_mutex_lock(&d->lock);
	if (keep) {
		*keep_tail = d->waiting;
		if (!d->waiting)
			d->waiting_tail = keep_tail;
		d->waiting = keep;
	}
	pthread_mutex_unlock(&d->lock);
}

static void *dispatch_loop(void *arg)
{
	struct sf_dispatch *d = arg;
	int64_t next_reap = 0;
	while (!atomic_load(&d->stop)) {
		int64_t now = sf_monotonic_ms();
		if (now >= next_reap) {
			dispatch_reap(d);
			next_reap = now + d->cfg.reap_interval_s * 1000LL;
		}
		int64_t wake_at = now + 1000; /* jobs whose back-off ends send no NOTIFY */
		dispatch_serve(d, &wake_at);
		if (next_reap < wake_at)
			wake_at = next_reap;
		int64_t wait = wake_at - sf_monotonic_ms();
		dispatch_wait(d, wait > 0 ? (int)wait : 0);
	}
	/* Whoever is still waiting gets an empty answer, not a dropped request. */
	dispatch_serve(d, &(int64_t){0});
	return NULL;
}

/* ----------------------------------------------------------------- setup */

static void dispatch_close(struct sf_dispatch *d)
{
	/* Closing the sockets completes every pending operation with
	 * NNG_ECLOSED; aio_stop waits for those callbacks to finish. */
	nng_close(d->rep);
	for (int i = 0; i < d->nreqs; i++) {
		nng_aio_stop(d->reqs[i].aio);
		nng_aio_free(d->reqs[i].aio);
		sf_want_free(&d->reqs[i].want);
	}
	free(d->reqs);
	d->reqs = NULL;
	d->nreqs = 0;
	if (d->wake_fd >= 0)
		close(d->wake_fd);
	d->wake_fd = -1;
	if (d->listen)
		PQfinish(d->listen);
	d->listen = NULL;
}

int sf_dispatch_start(struct sf_dispatch *d, const struct sf_dispatch_config *cfg,
		      struct sf_db_pool *pool)
{
	memset(d, 0, sizeof(*d));
	d->cfg = *cfg;
	d->pool = pool;
	d->waiting_tail = &d->waiting;
	d->wake_fd = -1;
	pthread_mutex_init(&d->lock, NULL);
	int rc;
	if ((rc = nng_rep0_open(&d->rep)) ||
	    (rc = nng_socket_set_size(d->rep, NNG_OPT_RECVMAXSZ, SF_WIRE_MAX_MSG)))
		goto fail;
	if ((d->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    !(d->reqs = calloc(SF_DISPATCH_REQUESTS, sizeof(*d->reqs))))
		goto fail;
	for (; d->nreqs < SF_DISPATCH_REQUESTS; d->nreqs++) {
		struct dispatch_req *r = &d->reqs[d->nreqs];
		r->d = d;
		if ((rc = nng_aio_alloc(&r->aio, dispatch_req_done, r)))
			goto fail;
		if ((rc = nng_ctx_open(&r->ctx, d->rep))) {
			nng_aio_free(r->aio);
			goto fail;
		}
	}
	char err[512];
	if ((rc = sf_nng_listen(d->rep, cfg->jobs_url, cfg->tls, err, sizeof(err)))) {
		sf_error("%s", err);
		goto fail;
	}
	for (int i = 0; i < d->nreqs; i++)
		nng_ctx_recv(d->reqs[i].ctx, d->reqs[i].aio);
	if (pthread_create(&d->dispatcher, NULL, dispatch_loop, d) != 0)
		goto fail;
	d->threads_started = true;
	return 0;
fail:
	dispatch_close(d);
	pthread_mutex_destroy(&d->lock);
	return -EADDRINUSE;
}

void sf_dispatch_finish(struct sf_dispatch *d)
{
	atomic_store(&d->stop, true);
	if (d->threads_started) {
		dispatch_wake(d);
		pthread_join(d->dispatcher, NULL);
	}
	d->threads_started = false;
}

void sf_dispatch_stop(struct sf_dispatch *d)
{
	sf_dispatch_finish(d);
	dispatch_close(d);
	pthread_mutex_destroy(&d->lock);
}

void sf_dispatch_hold(struct sf_dispatch *d)
{
	atomic_store(&d->hold, true);
}
