/* falco_feed — see falco_feed.h. */
#include "falco_feed.h"

#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "falco_alert.h"
#include "falco_grpc.h"
#include "falco_http.h"
#include "falco_relay.h"
#include "log.h"
#include "util.h"

struct feed_watch {
	char cid[96];
	sf_falco_alert_fn fn;
	void *arg;
	bool used;
	uint64_t drops; /* its alerts the full queue lost (f->mu) */
};

struct sf_falco {
	struct sf_falco_opts opts;
	char token[40]; /* this worker's pulses: "p<pid>-<hex>" */

	pthread_mutex_t mu; /* queue, stats, pulse state */
	pthread_cond_t qcond; /* queue not empty, or stop */
	pthread_cond_t pcond; /* a pulse came back, or stop */
	pthread_cond_t scond; /* stop (the pulser's sleep) */
	struct sf_alert *ring;
	unsigned head, count;
	bool stop;
	struct sf_falco_stats st;
	uint64_t pulse_sent, pulse_seen; /* seqs */
	int64_t pulse_evtnum;		 /* evt.num of the last pulse seen */
	bool warned_unplaced;

	/* The watch table; held during callbacks. Writers of a watch's cid
	 * and used also hold mu (taken after wmu), so the intake may match a
	 * dropped alert to its job under mu alone, never waiting on a
	 * callback. */
	pthread_mutex_t wmu;
	struct feed_watch watches[SF_FALCO_MAX_WATCHES];
	uint64_t drops_unplaced; /* dropped alerts no job can be told from (mu) */

	pthread_mutex_t pmu; /* pulses go out one at a time, in seq order */
	pthread_t dispatcher, pulser;
	bool dispatcher_started, pulser_started;
	struct sf_falco_grpc *grpc;
	struct sf_falco_http *http;
	struct sf_falco_relay *relay; /* shared with the machine's other workers, or NULL */
	bool source_pending;	      /* another worker reads Falco: take over when it stops */
};

static int feed_start_source(struct sf_falco *f, char *err, size_t errlen);

static void feed_deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* --- intake (source threads) --------------------------------------------- */

/* The watch whose container an alert's cgroup name starts with (followed
 * by '-'), or NULL. The caller holds wmu or mu. */
static struct feed_watch *feed_watch_of(struct sf_falco *f, const char *name)
{
	for (int i = 0; i < SF_FALCO_MAX_WATCHES; i++) {
		struct feed_watch *w = &f->watches[i];
		size_t n = strlen(w->cid);
		if (w->used && strncmp(name, w->cid, n) == 0 && name[n] == '-')
			return w;
	}
	return NULL;
}

/* An alert the full queue lost (f->mu held): counted against the job
 * whose sandbox it came from, so that job knows its alerts are
 * incomplete and the jobs beside it do not; one without thread.cgroups
 * could be any job's, and counts against every job watched meanwhile.
 * A host process's or another worker's sandbox's is none of this
 * worker's jobs'. */
static void feed_count_drop(struct sf_falco *f, const struct sf_alert *a)
{
	char name[128];
	const char *cg = sf_falco_alert_field(a, "thread.cgroups");
	if (!cg) {
		f->drops_unplaced++;
		return;
	}
	if (sf_falco_cgroup_name(cg, f->opts.cgroup_parent, name, sizeof(name)) != 0)
		return;
	struct feed_watch *w = feed_watch_of(f, name);
	if (w)
		w->drops++;
}

int sf_falco_deliver(struct sf_falco *f, enum sf_falco_format fmt, const void *buf, size_t len)
{
	struct sf_alert a;
	int rc = fmt == SF_FALCO_PROTOBUF ? sf_falco_alert_from_pb(buf, len, &a)
					  : sf_falco_alert_from_json(buf, len, &a);
	pthread_mutex_lock(&f->mu);
	f->st.received++;
	if (rc == -EMSGSIZE)
		f->st.oversized++;
	else if (rc)
		f->st.malformed++;
	else if (f->count == f->opts.queue) {
		f->st.queue_full++;
		feed_count_drop(f, &a);
	}
	if (rc == 0 && f->count < f->opts.queue) {
		f->ring[(f->head + f->count) % f->opts.queue] = a;
		f->count++;
		pthread_cond_signal(&f->qcond);
	} else if (rc == 0) {
		sf_alert_free(&a);
	}
	pthread_mutex_unlock(&f->mu);
	return rc;
}

void sf_falco_oversized(struct sf_falco *f)
{
	pthread_mutex_lock(&f->mu);
	f->st.received++;
	f->st.oversized++;
	pthread_mutex_unlock(&f->mu);
}

void sf_falco_stream_state(struct sf_falco *f, bool connected, bool lost)
{
	pthread_mutex_lock(&f->mu);
	f->st.connected = connected;
	if (lost) {
		f->st.streams++;
		f->st.epoch++;
	}
	pthread_mutex_unlock(&f->mu);
}

/* --- pulses --------------------------------------------------------------- */

/* Runs `<pulse exe> scanfarm-falco-pulse <token> <seq>` and reaps it.
 * posix_spawn returns once the child has exec'd, so pulses reach the
 * kernel in seq order. Returns the seq, or 0 when it could not run. */
static uint64_t feed_pulse(struct sf_falco *f)
{
	pthread_mutex_lock(&f->pmu);
	pthread_mutex_lock(&f->mu);
	uint64_t seq = ++f->pulse_sent;
	pthread_mutex_unlock(&f->mu);
	char seqs[32];
	snprintf(seqs, sizeof(seqs), "%llu", (unsigned long long)seq);
	char *argv[] = {"true", SF_FALCO_PULSE_ARG, f->token, seqs, NULL};
	char *envp[] = {NULL}; /* the worker's environment (a secret?) is not the pulse's */
	pid_t pid;
	int rc = posix_spawn(&pid, f->opts.pulse_exe, NULL, NULL, argv, envp);
	if (rc == 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	pthread_mutex_unlock(&f->pmu);
	if (rc) {
		sf_warn("falco: cannot run the pulse %s: %s", f->opts.pulse_exe, strerror(rc));
		return 0;
	}
	return seq;
}

/* A pulse came back (dispatcher thread, f->mu held). */
static void feed_pulse_seen(struct sf_falco *f, const struct sf_alert *a)
{
	const char *args = sf_falco_alert_field(a, "proc.args");
	const char *evtnum = sf_falco_alert_field(a, "evt.num");
	char token[32];
	unsigned long long seq = 0;
	if (!args || sscanf(args, SF_FALCO_PULSE_ARG " %31s %llu", token, &seq) != 2)
		return;
	if (strcmp(token, f->token) != 0) {
		pid_t pid = sf_falco_relay_pid(token, "p");
		f->st.foreign++;
		if (f->relay && pid && pid != getpid() && sf_falco_relay_send(f->relay, pid, a) == 0)
			f->st.relayed++;
		return;
	}
	if (seq <= f->pulse_seen || seq > f->pulse_sent)
		return;
	long long num = evtnum ? strtoll(evtnum, NULL, 10) : 0;
	/* a pulse that never came back, or a Falco that counts events from
	 * zero again: alerts of that time are gone */
	if (f->pulse_seen && (seq != f->pulse_seen + 1 || (num > 0 && num < f->pulse_evtnum))) {
		f->st.epoch++;
		sf_warn("falco: %s between pulses %llu and %llu: alerts may have been lost",
			seq != f->pulse_seen + 1 ? "pulses missing" : "Falco restarted",
			(unsigned long long)f->pulse_seen, seq);
	}
	f->pulse_seen = seq;
	f->pulse_evtnum = num;
	f->st.pulses++;
	f->st.last_pulse_ms = sf_monotonic_ms();
	pthread_cond_broadcast(&f->pcond);
}

/* The worker reading Falco for the machine stopped: this one takes over
 * (pulser thread; the sources are only started here or in open). */
static void feed_take_over(struct sf_falco *f)
{
	char err[512] = "";
	if (!f->source_pending || !sf_falco_relay_lead(f->relay))
		return;
	if (feed_start_source(f, err, sizeof(err)) == 0) {
		f->source_pending = false;
		sf_info("falco: this worker now reads Falco for the machine");
	} else {
		sf_warn("falco: cannot take over reading Falco: %s", err);
	}
}

static void *feed_pulser(void *arg)
{
	struct sf_falco *f = arg;
	int64_t quiet_logged = 0, started = sf_monotonic_ms();
	pthread_mutex_lock(&f->mu);
	while (!f->stop) {
		struct timespec ts;
		feed_deadline(&ts, f->opts.pulse_ms);
		pthread_cond_timedwait(&f->scond, &f->mu, &ts);
		if (f->stop)
			break;
		int64_t now = sf_monotonic_ms(), last = f->st.last_pulse_ms;
		pthread_mutex_unlock(&f->mu);
		feed_take_over(f);
		feed_pulse(f);
		int64_t quiet = now - (last ? last : started);
		if (quiet > 30000 && now - quiet_logged > 60000) {
			sf_warn("falco: no pulse came back for %lld s: is Falco running with the"
				" worker's configuration (docs/falco.md)?",
				(long long)(quiet / 1000));
			quiet_logged = now;
		}
		pthread_mutex_lock(&f->mu);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

int sf_falco_sync(struct sf_falco *f, int timeout_ms, uint64_t *epoch)
{
	uint64_t seq = feed_pulse(f);
	struct timespec ts;
	feed_deadline(&ts, timeout_ms);
	pthread_mutex_lock(&f->mu);
	int rc = seq ? 0 : -ETIMEDOUT;
	while (rc == 0 && f->pulse_seen < seq && !f->stop)
		if (pthread_cond_timedwait(&f->pcond, &f->mu, &ts) == ETIMEDOUT)
			rc = -ETIMEDOUT;
	if (f->pulse_seen < seq)
		rc = -ETIMEDOUT;
	*epoch = f->st.epoch;
	pthread_mutex_unlock(&f->mu);
	return rc;
}

/* --- dispatch --------------------------------------------------------------- */

/* Hands a to the job whose container cgroup it names, or drops it. */
static void feed_route(struct sf_falco *f, struct sf_alert *a)
{
	char name[128];
	int rc = sf_falco_cgroup_name(sf_falco_alert_field(a, "thread.cgroups"),
				      f->opts.cgroup_parent, name, sizeof(name));
	bool handed = false, unplaced = !sf_falco_alert_field(a, "thread.cgroups");
	pid_t pid = rc == 0 ? sf_falco_relay_pid(name, "sf-") : 0;
	if (f->relay && pid && pid != getpid()) {
		/* another worker's sandbox on this machine: its alert */
		int sent = sf_falco_relay_send(f->relay, pid, a);
		pthread_mutex_lock(&f->mu);
		if (sent == 0)
			f->st.relayed++;
		else if (sent == -ENOENT)
			f->st.unmatched++;
		else
			f->st.relay_dropped++;
		pthread_mutex_unlock(&f->mu);
		sf_alert_free(a);
		return;
	}
	if (rc == 0) {
		pthread_mutex_lock(&f->wmu);
		struct feed_watch *w = feed_watch_of(f, name);
		if (w) {
			w->fn(w->arg, a, name + strlen(w->cid) + 1);
			handed = true;
		}
		pthread_mutex_unlock(&f->wmu);
	}
	pthread_mutex_lock(&f->mu);
	if (handed)
		f->st.matched++;
	else if (unplaced)
		f->st.unplaced++;
	else
		f->st.unmatched++;
	bool warn = unplaced && !f->warned_unplaced;
	f->warned_unplaced |= unplaced;
	pthread_mutex_unlock(&f->mu);
	if (warn)
		sf_warn("falco: alert \"%s\" has no thread.cgroups field, so no job can be matched:"
			" install the worker's Falco configuration (append_output, docs/falco.md)",
			a->rule);
	if (!handed)
		sf_alert_free(a);
}

static void *feed_dispatch(void *arg)
{
	struct sf_falco *f = arg;
	pthread_mutex_lock(&f->mu);
	for (;;) {
		while (!f->count && !f->stop)
			pthread_cond_wait(&f->qcond, &f->mu);
		if (!f->count)
			break;
		struct sf_alert a = f->ring[f->head];
		f->head = (f->head + 1) % f->opts.queue;
		f->count--;
		if (!strcmp(a.rule, SF_FALCO_PULSE_RULE)) {
			feed_pulse_seen(f, &a);
			sf_alert_free(&a);
			continue;
		}
		pthread_mutex_unlock(&f->mu);
		feed_route(f, &a);
		pthread_mutex_lock(&f->mu);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

/* --- watches ---------------------------------------------------------------- */

int sf_falco_watch(struct sf_falco *f, const char *cid, sf_falco_alert_fn fn, void *arg)
{
	if (strlen(cid) >= sizeof(f->watches[0].cid))
		return -ENAMETOOLONG;
	int rc = -ENOSPC;
	pthread_mutex_lock(&f->wmu);
	for (int i = 0; i < SF_FALCO_MAX_WATCHES; i++)
		if (f->watches[i].used && !strcmp(f->watches[i].cid, cid))
			rc = -EEXIST;
	for (int i = 0; i < SF_FALCO_MAX_WATCHES && rc == -ENOSPC; i++) {
		struct feed_watch *w = &f->watches[i];
		if (w->used)
			continue;
		pthread_mutex_lock(&f->mu);
		sf_strlcpy(w->cid, cid, sizeof(w->cid));
		w->fn = fn;
		w->arg = arg;
		w->used = true;
		w->drops = 0;
		pthread_mutex_unlock(&f->mu);
		rc = 0;
	}
	pthread_mutex_unlock(&f->wmu);
	return rc;
}

void sf_falco_unwatch(struct sf_falco *f, const char *cid, uint64_t *drops)
{
	if (drops)
		*drops = 0;
	pthread_mutex_lock(&f->wmu);
	pthread_mutex_lock(&f->mu);
	for (int i = 0; i < SF_FALCO_MAX_WATCHES; i++)
		if (f->watches[i].used && !strcmp(f->watches[i].cid, cid)) {
			f->watches[i].used = false;
			if (drops)
				*drops = f->watches[i].drops;
		}
	pthread_mutex_unlock(&f->mu);
	pthread_mutex_unlock(&f->wmu);
}

uint64_t sf_falco_drops_unplaced(struct sf_falco *f)
{
	pthread_mutex_lock(&f->mu);
	uint64_t n = f->drops_unplaced;
	pthread_mutex_unlock(&f->mu);
	return n;
}

void sf_falco_stats(struct sf_falco *f, struct sf_falco_stats *st)
{
	pthread_mutex_lock(&f->mu);
	*st = f->st;
	pthread_mutex_unlock(&f->mu);
}

/* --- lifecycle -------------------------------------------------------------- */

static int feed_start_source(struct sf_falco *f, char *err, size_t errlen)
{
	if (!strcmp(f->opts.kind, "falco-grpc"))
		return sf_falco_grpc_start(&f->grpc, f, f->opts.grpc_address, f->opts.grpc_ca,
					   f->opts.grpc_cert, f->opts.grpc_key, err, errlen);
	if (!strcmp(f->opts.kind, "falco-json")) {
		int rc = sf_falco_http_start(&f->http, f, f->opts.http_address, err, errlen);
		if (rc == 0)
			sf_falco_stream_state(f, true, false);
		return rc;
	}
	snprintf(err, errlen, "unknown Falco source %s", f->opts.kind);
	return -EINVAL;
}

int sf_falco_open(struct sf_falco **out, const struct sf_falco_opts *opts, char *err,
		  size_t errlen)
{
	char uuid[SF_UUID_LEN + 1];
	struct sf_falco *f = calloc(1, sizeof(*f));
	if (!f || opts->queue == 0 || opts->pulse_ms <= 0) {
		free(f);
		snprintf(err, errlen, "%s", f ? "bad queue or pulse interval" : strerror(ENOMEM));
		return f ? -EINVAL : -ENOMEM;
	}
	f->opts = *opts;
	if (!(f->ring = calloc(opts->queue, sizeof(*f->ring))) || sf_uuid4(uuid) != 0) {
		free(f->ring);
		free(f);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(f->token, sizeof(f->token), "p%d-%.8s%.8s", (int)getpid(), uuid, uuid + 9);
	pthread_mutex_init(&f->mu, NULL);
	pthread_mutex_init(&f->wmu, NULL);
	pthread_mutex_init(&f->pmu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->qcond, &ca);
	pthread_cond_init(&f->pcond, &ca);
	pthread_cond_init(&f->scond, &ca);
	pthread_condattr_destroy(&ca);
	int rc = pthread_create(&f->dispatcher, NULL, feed_dispatch, f);
	f->dispatcher_started = rc == 0;
	if (rc == 0 && (rc = pthread_create(&f->pulser, NULL, feed_pulser, f)) == 0)
		f->pulser_started = true;
	if (rc) {
		snprintf(err, errlen, "cannot start a thread: %s", strerror(rc));
		sf_falco_close(f);
		return -rc;
	}
	if (opts->relay_dir && (rc = sf_falco_relay_open(&f->relay, f, opts->relay_dir, err, errlen))) {
		sf_falco_close(f);
		return rc;
	}
	if (f->relay && !sf_falco_relay_lead(f->relay)) {
		/* the pulser takes over when the reader stops */
		f->source_pending = true;
		sf_info("falco: another worker on this machine reads Falco (%s/reader.lock): this"
			" worker's alerts are relayed to it", opts->relay_dir);
	} else if ((rc = feed_start_source(f, err, errlen))) {
		sf_falco_close(f);
		return rc;
	}
	*out = f;
	return 0;
}

void sf_falco_close(struct sf_falco *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->mu);
	f->stop = true;
	pthread_cond_broadcast(&f->qcond);
	pthread_cond_broadcast(&f->pcond);
	pthread_cond_broadcast(&f->scond);
	pthread_mutex_unlock(&f->mu);
	/* the pulser first (it may start a source), then the sources, then
	 * the dispatcher (which relays), then the relay's receiver */
	if (f->pulser_started)
		pthread_join(f->pulser, NULL);
	sf_falco_grpc_stop(f->grpc);
	sf_falco_http_stop(f->http);
	if (f->dispatcher_started)
		pthread_join(f->dispatcher, NULL);
	sf_falco_relay_close(f->relay);
	for (unsigned i = 0; i < f->count; i++)
		sf_alert_free(&f->ring[(f->head + i) % f->opts.queue]);
	sf_info("falco: %llu messages, %llu malformed, %llu oversized, %llu queue full, %llu for"
		" jobs, %llu for none, %llu without thread.cgroups, %llu relayed, %llu relay full,"
		" %llu pulses, epoch %llu",
		(unsigned long long)f->st.received, (unsigned long long)f->st.malformed,
		(unsigned long long)f->st.oversized, (unsigned long long)f->st.queue_full,
		(unsigned long long)f->st.matched, (unsigned long long)f->st.unmatched,
		(unsigned long long)f->st.unplaced, (unsigned long long)f->st.relayed,
		(unsigned long long)f->st.relay_dropped, (unsigned long long)f->st.pulses,
		(unsigned long long)f->st.epoch);
	free(f->ring);
	pthread_cond_destroy(&f->qcond);
	pthread_cond_destroy(&f->pcond);
	pthread_cond_destroy(&f->scond);
	pthread_mutex_destroy(&f->mu);
	pthread_mutex_destroy(&f->wmu);
	pthread_mutex_destroy(&f->pmu);
	free(f);
}
