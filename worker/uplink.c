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

static void link_handle(struct sf_link *lk, const struct sf_job_env *env, const struct sf_job *job)
{
	if (job->lease_deadline_ms > 0 && sf_now_ms() > job->lease_deadline_ms) {
		/* The coordinator has already given this attempt up. */
		sf_warn("job %lld attempt %d arrived after its lease; skipped",
			(long long)job->job_id, job->attempt);
		return;
	}
	sf_info("job %lld attempt %d: scan %s, %s artifact %s (%lld bytes)", (long long)job->job_id,
		job->attempt, job->scan_id, job->ecosystem, job->sha256, (long long)job->size);
	atomic_store(&lk->running, 1);
	struct sf_batch batch;
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
		rc = sf_job_run(env, job, &batch);
	}
	atomic_store(&lk->running, 0);
	if (rc) {
		sf_error("job %lld: out of memory building the result", (long long)job->job_id);
		sf_batch_free(&batch);
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

void sf_link_serve(struct sf_link *lk, const struct sf_job_env *env)
{
	struct sf_want want = {.worker_id = lk->id,
			       .slots = lk->capacity,
			       .wait_ms = SF_LINK_WAIT_MS,
			       .fresh = true,
			       .auth = (char *)lk->secret};
	while (!link_stop) {
		struct sf_jobs jobs = {0};
		want.token = link_token();
		int rc = link_ask(lk, &want, &jobs);
		if (rc == -EAGAIN) {
			continue; /* coordinator not there: the send timed out */
		} else if (rc) {
			/* Whatever the coordinator sent in reply to this request
			 * is leased to us but will never be run: say so. */
			want.lost_token = want.token;
			if (rc != -ETIMEDOUT)
				usleep(200 * 1000);
			continue;
		}
		want.fresh = false;
		want.lost_token = 0;
		/* Received jobs are leased to us: run them even when asked
		 * to stop (a graceful stop finishes what it took on). */
		for (uint32_t i = 0; i < jobs.njobs; i++)
			link_handle(lk, env, &jobs.jobs[i]);
		sf_jobs_free(&jobs);
	}
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
