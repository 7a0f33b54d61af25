/* observe — see observe.h. */
#include "observe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "collect.h"
#include "decode.h"
#include "falco_watch.h"
#include "packages.h"
#include "proctable.h"
#include "rules.h"
#include "run.h"

struct sf_observe {
	struct sf_sensor *sensor;
	struct sf_observe_opts opts;
	uint64_t cgid;
	bool watching;
	struct sf_rules_ctx rctx; /* the rule engine's per-thread scratch */
	struct sf_proctable procs;
	struct sf_packages packages; /* who each process and file belongs to */
	struct sf_decoder decoder;
	struct sf_collect collect;
	uint64_t records, evaluated;
	uint64_t drops_at_start;
	/* The phase being watched ("fetch", "install", "import", or "" before
	 * the first): what the phase's events and facts are attributed to. */
	char phase[16];
	/* thread.cgroups of the phase's events: the container cgroup the
	 * worker made for it (under the sandbox cgroup parent) */
	char cgroups[160];
	struct sf_falco_watch *falco; /* alerts from Falco instead of the sensor */
	char error[512];	      /* why alerts may be missing, "" if not */
};

/* --- the rule call ------------------------------------------------------ */

static void obs_on_match(void *arg, const struct sf_rule *rule, const struct sf_event *ev)
{
	struct sf_observe *o = arg;
	sf_collect_alert(&o->collect, rule, ev);
}

/* Runs on the sensor thread for every record of the job's cgroup. */
static void obs_record(void *arg, const struct sf_bpf_event *r, size_t len)
{
	struct sf_observe *o = arg;
	struct sf_decode_scratch sc;
	struct sf_event ev;
	o->records++;
	if (!sf_decode_record(&o->decoder, r, len, &sc, &ev))
		return;
	o->evaluated++;
	if (o->opts.rules)
		sf_rules_eval(o->opts.rules, &o->rctx, &ev, obs_on_match, o);
	if (o->opts.on_event)
		o->opts.on_event(o->opts.on_event_arg, &ev);
}

/* --- the decoder's sink: facts go to the collector ---------------------- */

static void obs_fact(void *arg, const struct sf_proc *p, const char *kind, const char *value,
		     const char *detail)
{
	struct sf_observe *o = arg;
	sf_collect_fact(&o->collect, kind, value, detail, p ? p->package : NULL, o->phase);
}

static void obs_exec(void *arg, const struct sf_proc *p, uint64_t ino, uint32_t dev)
{
	struct sf_observe *o = arg;
	sf_collect_exec(&o->collect, p->pid, p->exepath, ino, dev, p->package, o->phase);
}

/* --- lifecycle ---------------------------------------------------------- */

int sf_observe_start(struct sf_observe **out, struct sf_sensor *sensor, const char *name,
		     const struct sf_observe_opts *opts)
{
	struct sf_observe *o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->sensor = sensor;
	o->opts = *opts;
	sf_rules_ctx_init(&o->rctx);
	struct sf_collect_opts co = {.rules = opts->rules,
				     .hostname = opts->hostname,
				     .work_host_dir = opts->work_host_dir,
				     .tmp_host_dir = opts->tmp_host_dir,
				     .rootfs = opts->rootfs};
	sf_collect_init(&o->collect, &co);
	sf_proctable_init(&o->procs, &o->collect.oom);
	sf_packages_init(&o->packages, opts->work_host_dir, opts->tmp_host_dir, opts->project_dir,
			 &o->collect.oom);
	o->decoder = (struct sf_decoder){.sensor = sensor,
					 .container_id = opts->container_id,
					 .image = opts->image,
					 .procs = &o->procs,
					 .packages = &o->packages,
					 .phase = o->phase,
					 .cgroups = o->cgroups,
					 .sink = {.fact = obs_fact, .exec = obs_exec, .arg = o}};
	int rc = 0;
	if (opts->falco) {
		char err[512] = "";
		rc = sf_falco_watch_start(&o->falco, opts->falco, opts->container_id, &o->collect,
					  &o->packages, err, sizeof(err));
		if (rc && opts->err)
			snprintf(opts->err, opts->errlen, "%s", err);
		name = NULL;
	} else {
		uint64_t events;
		sf_sensor_counters(sensor, &events, &o->drops_at_start);
	}
	if (rc == 0 && name) {
		snprintf(o->cgroups, sizeof(o->cgroups), "memory=/%s/%s", SF_SANDBOX_CGROUP_PARENT,
			 name);
		rc = sf_sensor_watch(sensor, name, obs_record, o, &o->cgid);
	}
	if (rc) {
		sf_observe_free(o);
		return rc;
	}
	o->watching = name != NULL;
	*out = o;
	return 0;
}

int sf_observe_phase(struct sf_observe *o, const char *phase, const char *name)
{
	if (o->watching) {
		sf_sensor_unwatch(o->sensor, o->cgid);
		o->watching = false;
	}
	snprintf(o->phase, sizeof(o->phase), "%s", phase);
	snprintf(o->cgroups, sizeof(o->cgroups), "memory=/%s/%s", SF_SANDBOX_CGROUP_PARENT, name);
	if (o->falco) {
		/* the phase is the container cgroup's, which Falco reports */
		sf_falco_watch_phase(o->falco);
		return 0;
	}
	sf_packages_new_phase(&o->packages);
	/* each phase is a container of its own: its runtime's setup again
	 * comes before its first exec */
	o->decoder.started = false;
	int rc = sf_sensor_watch(o->sensor, name, obs_record, o, &o->cgid);
	if (rc == 0)
		o->watching = true;
	return rc;
}

const char *sf_observe_current_phase(const struct sf_observe *o) { return o->phase; }

const char *sf_observe_error(const struct sf_observe *o) { return o->error[0] ? o->error : NULL; }

int sf_observe_finish(struct sf_observe *o, struct sf_batch *b)
{
	if (o->watching) {
		sf_sensor_unwatch(o->sensor, o->cgid);
		o->watching = false;
	}
	if (o->falco) {
		sf_falco_watch_finish(o->falco, b, o->error, sizeof(o->error));
		sf_falco_watch_free(o->falco);
		o->falco = NULL;
	} else {
		uint64_t events, drops;
		sf_sensor_counters(o->sensor, &events, &drops);
		b->events = o->records;
		b->drops = drops - o->drops_at_start;
	}
	if (o->packages.truncated)
		sf_collect_fact(&o->collect, "sensor", "packages_truncated", "yes", NULL, NULL);
	return sf_collect_finish(&o->collect, b);
}

void sf_observe_free(struct sf_observe *o)
{
	if (!o)
		return;
	if (o->watching)
		sf_sensor_unwatch(o->sensor, o->cgid);
	sf_falco_watch_free(o->falco); /* no callback after this */
	sf_proctable_free(&o->procs);
	sf_packages_free(&o->packages);
	sf_collect_free(&o->collect);
	free(o);
}

int sf_observe_dns_name(const unsigned char *msg, size_t len, char *name, size_t namelen)
{
	return sf_decode_dns_name(msg, len, name, namelen);
}
