/* observe — see observe.h. */
#include "observe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "collect.h"
#include "decode.h"
#include "packages.h"
#include "proctable.h"
#include "rules.h"

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
				     .work_dir = opts->work_dir,
				     .work_host_dir = opts->work_host_dir,
				     .tmp_host_dir = opts->tmp_host_dir,
				     .home_dir = opts->home_dir,
				     .home_host_dir = opts->home_host_dir,
				     .rootfs = opts->rootfs};
	sf_collect_init(&o->collect, &co);
	sf_proctable_init(&o->procs, &o->collect.oom);
	sf_packages_init(&o->packages, opts->work_dir, opts->work_host_dir, opts->tmp_host_dir,
			 opts->project_dir, &o->collect.oom);
	o->decoder = (struct sf_decoder){.sensor = sensor,
					 .container_id = opts->container_id,
					 .image = opts->image,
					 .procs = &o->procs,
					 .packages = &o->packages,
					 .phase = o->phase,
					 .work_dir = opts->work_dir,
					 .home_dir = opts->home_dir,
					 .user_name = opts->user_name,
					 .user_id = opts->user_id,
					 .sink = {.fact = obs_fact, .exec = obs_exec, .arg = o}};
	uint64_t events;
	sf_sensor_counters(sensor, &events, &o->drops_at_start);
	int rc = name ? sf_sensor_watch(sensor, name, obs_record, o, &o->cgid) : 0;
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

int sf_observe_finish(struct sf_observe *o, struct sf_batch *b)
{
	if (o->watching) {
		sf_sensor_unwatch(o->sensor, o->cgid);
		o->watching = false;
	}
	uint64_t events, drops;
	sf_sensor_counters(o->sensor, &events, &drops);
	b->events = o->records;
	b->drops = drops - o->drops_at_start;
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
	sf_proctable_free(&o->procs);
	sf_packages_free(&o->packages);
	sf_collect_free(&o->collect);
	free(o);
}

int sf_observe_dns_name(const unsigned char *msg, size_t len, char *name, size_t namelen)
{
	return sf_decode_dns_name(msg, len, name, namelen);
}
