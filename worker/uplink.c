/* uplink — see uplink.h. */
#include "uplink.h"

#include <errno.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "wire.h"

#define LINK_WORKER_VERSION "0.1.0"

static volatile sig_atomic_t link_stop;

void sf_link_on_signal(int sig) { link_stop = sig; }

/* How long a hello or heartbeat may wait for the results connection. A
 * lost one is harmless (the next follows); a long wait would hold up a
 * worker started before its coordinator, and its stop. */
#define LINK_HELLO_SEND_MS 2000

/* Sends msg on sock, giving up after timeout_ms (the socket's own send
 * timeout is for result batches, which may wait much longer). */
static int link_send_within(nng_socket sock, const struct sf_buf *msg, int timeout_ms)
{
	nng_aio *aio;
	nng_msg *m;
	if (nng_aio_alloc(&aio, NULL, NULL))
		return -ENOMEM;
	if (nng_msg_alloc(&m, 0) || nng_msg_append(m, msg->data, msg->len)) {
		nng_aio_free(aio);
		return -ENOMEM;
	}
	nng_aio_set_msg(aio, m);
	nng_aio_set_timeout(aio, timeout_ms);
	nng_send_aio(sock, aio);
	nng_aio_wait(aio);
	int rv = nng_aio_result(aio);
	if (rv)
		nng_msg_free(nng_aio_get_msg(aio)); /* not sent: still ours */
	nng_aio_free(aio);
	return rv == 0 ? 0 : rv == NNG_ETIMEDOUT ? -ETIMEDOUT : -EIO;
}

static int link_send_hello(struct sf_link *lk, bool heartbeat)
{
	struct sf_hello h = {.worker_id = lk->id,
			     .version = LINK_WORKER_VERSION,
			     .capacity = lk->capacity,
			     .running = atomic_load(&lk->running),
			     .sensor = lk->sensor,
			     .ruleset_digest = (char *)lk->ruleset_digest,
			     .image_digest = (char *)lk->image_digest,
			     .auth = (char *)lk->secret};
	struct sf_buf msg = {0};
	int rc = sf_wire_encode_hello(&h, heartbeat, &msg);
	if (rc == 0)
		rc = link_send_within(lk->push, &msg, LINK_HELLO_SEND_MS);
	sf_buf_free(&msg);
	return rc;
}

static void *link_heartbeat(void *arg)
{
	struct sf_link *lk = arg;
	while (!link_stop) {
		for (int i = 0; i < lk->heartbeat_s * 10 && !link_stop; i++)
			usleep(100 * 1000);
		if (!link_stop)
			link_send_hello(lk, true);
	}
	return NULL;
}

/* Runs one job (or, with noop, answers it at once) and pushes its batch.
 * Called on a slot's thread, several at once: nng sockets are safe to
 * send on from any thread. */
static void link_handle(struct sf_link *lk, const struct sf_job_env *env, const struct sf_job *job,
			int slot)
{
	if (job->lease_deadline_ms > 0 && sf_now_ms() > job->lease_deadline_ms) {
		/* The coordinator has already given this attempt up. */
		sf_warn("job %lld attempt %d arrived after its lease; skipped",
			(long long)job->job_id, job->attempt);
		return;
	}
	sf_info("job %lld attempt %d: scan %s, %s artifact %s (%lld bytes), slot %d",
		(long long)job->job_id, job->attempt, job->scan_id, job->ecosystem, job->sha256,
		(long long)job->size, slot);
	struct sf_batch batch;
	struct sf_job_rest *rest = NULL;
	int rc;
	if (lk->noop) {
		/* what the dispatch benchmark measures is the queue, not installs */
		memset(&batch, 0, sizeof(batch));
		batch.job_id = job->job_id;
		batch.attempt = job->attempt;
		batch.final = true;
		batch.has_exit_status = true;
		batch.worker_id = strdup(lk->id);
		rc = batch.worker_id ? 0 : -ENOMEM;
	} else {
		rc = sf_job_run(env, job, &batch, &rest);
	}
	if (rc) {
		sf_error("job %lld: out of memory building the result", (long long)job->job_id);
		sf_batch_free(&batch);
		sf_job_rest_undo(rest);
		return;
	}
	struct sf_buf msg = {0};
	if (lk->secret && !(batch.auth = strdup(lk->secret)))
		rc = -ENOMEM;
	else
		rc = sf_wire_encode_batch(&batch, &msg);
	if (rc == 0 && (rc = nng_send(lk->push, msg.data, msg.len, 0)) != 0)
		sf_error("job %lld: cannot send the result: %s", (long long)job->job_id,
			 nng_strerror(rc));
	else if (rc == 0)
		sf_info("job %lld done in %lld ms: exit %d%s%s", (long long)job->job_id,
			(long long)batch.duration_ms, batch.exit_status, batch.error ? ", error: " : "",
			batch.error ? batch.error : "");
	sf_buf_free(&msg);
	sf_batch_free(&batch);
	/* the job's disk goes once the result is on its way: the slot takes
	 * no other job before this is done */
	sf_job_rest_undo(rest);
}

/* A slot: one job at a time, on a thread of its own, with the slot's job
 * environment (its user namespace, its registry proxy). */
enum link_slot_state { LINK_SLOT_FREE, LINK_SLOT_RUNNING, LINK_SLOT_DONE };

struct link_slot {
	struct sf_link *lk;
	const struct sf_job_env *env;
	int index;
	struct sf_job job; /* owned while running */
	pthread_t thread;
	enum link_slot_state state; /* under the pool's lock */
	struct link_pool *pool;
};

/* The slots of sf_link_serve, and the lock and condition a finished job
 * signals the asking thread with. */
struct link_pool {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	struct link_slot *slots;
	int n;
};

static void *link_slot_main(void *arg)
{
	struct link_slot *sl = arg;
	link_handle(sl->lk, sl->env, &sl->job, sl->index);
	sf_job_free(&sl->job);
	atomic_fetch_sub(&sl->lk->running, 1);
	pthread_mutex_lock(&sl->pool->lock);
	sl->state = LINK_SLOT_DONE;
	pthread_cond_signal(&sl->pool->freed);
	pthread_mutex_unlock(&sl->pool->lock);
	return NULL;
}

/* Joins the slots whose job has ended; how many slots are free. Called
 * with the lock held (a finished thread only takes it to say so). */
static int link_pool_reap(struct link_pool *p)
{
	int free_slots = 0;
	for (int i = 0; i < p->n; i++) {
		if (p->slots[i].state == LINK_SLOT_DONE) {
			pthread_join(p->slots[i].thread, NULL);
			p->slots[i].state = LINK_SLOT_FREE;
		}
		free_slots += p->slots[i].state == LINK_SLOT_FREE;
	}
	return free_slots;
}

/* Waits until a slot is free (or, with stop_early, until asked to stop):
 * how many are free then. */
static int link_pool_wait(struct link_pool *p, bool stop_early)
{
	pthread_mutex_lock(&p->lock);
	int free_slots = link_pool_reap(p);
	while (free_slots == 0 && !(stop_early && link_stop)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->freed, &p->lock, &ts);
		free_slots = link_pool_reap(p);
	}
	pthread_mutex_unlock(&p->lock);
	return free_slots;
}

/* Hands a received job (moved out of *job) to a free slot, waiting for
 * one if the coordinator sent more than were asked for: a job leased to
 * this worker is run, never dropped. Without a thread it runs here. */
static void link_pool_start(struct link_pool *p, struct sf_job *job)
{
	link_pool_wait(p, false);
	pthread_mutex_lock(&p->lock);
	struct link_slot *sl = NULL;
	for (int i = 0; i < p->n && !sl; i++)
		if (p->slots[i].state == LINK_SLOT_FREE)
			sl = &p->slots[i];
	sl->job = *job;
	memset(job, 0, sizeof(*job));
	sl->state = LINK_SLOT_RUNNING;
	atomic_fetch_add(&sl->lk->running, 1);
	int rc = pthread_create(&sl->thread, NULL, link_slot_main, sl);
	pthread_mutex_unlock(&p->lock);
	if (rc) {
		sf_warn("cannot start a thread for job %lld (%s): running it on the asking thread",
			(long long)sl->job.job_id, strerror(rc));
		link_handle(sl->lk, sl->env, &sl->job, sl->index);
		sf_job_free(&sl->job);
		atomic_fetch_sub(&sl->lk->running, 1);
		pthread_mutex_lock(&p->lock);
		sl->state = LINK_SLOT_FREE;
		pthread_mutex_unlock(&p->lock);
	}
}

/* A request's token: random, so a restarted worker's never match. */
static int64_t link_token(void)
{
	int64_t t = 0;
	while (t == 0)
		if (getrandom(&t, sizeof(t), 0) != sizeof(t))
			t = (int64_t)sf_now_ms() ^ ((int64_t)getpid() << 40);
	return t;
}

/*
 * One request for work and its reply: 0 with the jobs (maybe none, when
 * nothing became ready in time), -EAGAIN when the request could not even be
 * sent, -ETIMEDOUT / -EIO / -EPROTO when its reply never came or was bad
 * (then jobs leased in reply to it must be reported as lost).
 */
static int link_ask(struct sf_link *lk, const struct sf_want *want, struct sf_jobs *jobs)
{
	struct sf_buf msg = {0};
	int rc = sf_wire_encode_want(want, &msg);
	if (rc) {
		sf_buf_free(&msg);
		return rc;
	}
	rc = nng_send(lk->req, msg.data, msg.len, 0);
	sf_buf_free(&msg);
	if (rc)
		return -EAGAIN;
	void *buf = NULL;
	size_t len = 0;
	rc = nng_recv(lk->req, &buf, &len, NNG_FLAG_ALLOC);
	if (rc) {
		if (rc != NNG_ECLOSED)
			sf_warn("no answer to a request for jobs: %s", nng_strerror(rc));
		return rc == NNG_ETIMEDOUT ? -ETIMEDOUT : -EIO;
	}
	struct sf_msg m;
	rc = sf_wire_decode(buf, len, &m);
	nng_free(buf, len);
	if (rc || m.type != SF_MSG_JOBS) {
		sf_warn("dropped a malformed or unexpected reply (%zu bytes)", len);
		if (rc == 0)
			sf_msg_free(&m);
		return -EPROTO;
	}
	*jobs = m.u.jobs; /* moved */
	return 0;
}

int sf_link_open(struct sf_link *lk, const char *jobs_url, const char *results_url,
		 const struct sf_tls_files *tls)
{
	int rc;
	if ((rc = nng_req0_open(&lk->req)) || (rc = nng_push0_open(&lk->push)) ||
	    (rc = nng_socket_set_size(lk->req, NNG_OPT_RECVMAXSZ, SF_WIRE_MAX_MSG)) ||
	    (rc = nng_socket_set_size(lk->push, NNG_OPT_RECVMAXSZ, SF_WIRE_MAX_MSG)) ||
	    /* the coordinator answers within SF_LINK_WAIT_MS; the margin covers
	     * a busy database. A receive that times out abandons the request:
	     * the next one reports it as lost. */
	    (rc = nng_socket_set_ms(lk->req, NNG_OPT_RECVTIMEO, SF_LINK_WAIT_MS + 10000)) ||
	    (rc = nng_socket_set_ms(lk->req, NNG_OPT_SENDTIMEO, 1000)) ||
	    (rc = nng_socket_set_ms(lk->push, NNG_OPT_SENDTIMEO, 60000))) {
		sf_error("nng: %s", nng_strerror(rc));
		return -EIO;
	}
	/* Non-blocking dials keep retrying in the background until the
	 * coordinator is up, so workers may start first. */
	char err[512];
	if ((rc = sf_nng_dial(lk->req, jobs_url, tls, NNG_FLAG_NONBLOCK, err, sizeof(err))) ||
	    (rc = sf_nng_dial(lk->push, results_url, tls, NNG_FLAG_NONBLOCK, err, sizeof(err)))) {
		fprintf(stderr, "%s\n", err);
		sf_error("%s", err);
		return -EIO;
	}
	link_send_hello(lk, false);
	if (pthread_create(&lk->heartbeat, NULL, link_heartbeat, lk) == 0)
		lk->heartbeat_started = true;
	return 0;
}

void sf_link_serve(struct sf_link *lk, const struct sf_job_env *envs)
{
	struct link_pool pool = {.n = lk->capacity};
	if (!(pool.slots = calloc((size_t)lk->capacity, sizeof(*pool.slots)))) {
		sf_error("out of memory for %d slots", lk->capacity);
		return;
	}
	pthread_mutex_init(&pool.lock, NULL);
	pthread_cond_init(&pool.freed, NULL);
	for (int i = 0; i < pool.n; i++)
		pool.slots[i] = (struct link_slot){
		    .lk = lk, .env = &envs[lk->noop ? 0 : i], .index = i, .pool = &pool};
	struct sf_want want = {.worker_id = lk->id,
			       .wait_ms = SF_LINK_WAIT_MS,
			       .fresh = true,
			       .auth = (char *)lk->secret};
	while (!link_stop) {
		/* ask only for the slots free now: the coordinator leases to
		 * a worker no more than it can start at once */
		int free_slots = link_pool_wait(&pool, true);
		if (link_stop)
			break;
		struct sf_jobs jobs = {0};
		want.slots = free_slots;
		want.token = link_token();
		int rc = link_ask(lk, &want, &jobs);
		if (rc == -EAGAIN) {
			continue; /* coordinator not there: the send timed out */
		} else if (rc) {
			/* Whatever the coordinator sent in reply to this request
			 * is leased to us but will never be run: say so. The
			 * jobs of earlier requests, still running, carry other
			 * tokens and stay ours. */
			want.lost_token = want.token;
			if (rc != -ETIMEDOUT)
				usleep(200 * 1000);
			continue;
		}
		want.fresh = false;
		want.lost_token = 0;
		/* Received jobs are leased to us: run them even when asked
		 * to stop (a graceful stop finishes what it took on). */
		for (uint32_t i = 0; i < jobs.njobs; i++) {
			if (lk->noop) { /* the queue's speed, not threads', is measured */
				atomic_fetch_add(&lk->running, 1);
				link_handle(lk, &envs[0], &jobs.jobs[i], 0);
				atomic_fetch_sub(&lk->running, 1);
			} else {
				link_pool_start(&pool, &jobs.jobs[i]);
			}
		}
		sf_jobs_free(&jobs);
	}
	/* a graceful stop: the jobs in flight finish and their batches go */
	pthread_mutex_lock(&pool.lock);
	while (link_pool_reap(&pool) < pool.n)
		pthread_cond_wait(&pool.freed, &pool.lock);
	pthread_mutex_unlock(&pool.lock);
	pthread_cond_destroy(&pool.freed);
	pthread_mutex_destroy(&pool.lock);
	free(pool.slots);
}

void sf_link_close(struct sf_link *lk)
{
	link_stop = 1;
	if (lk->heartbeat_started)
		pthread_join(lk->heartbeat, NULL);
	lk->heartbeat_started = false;
	nng_close(lk->req);
	nng_close(lk->push);
}
