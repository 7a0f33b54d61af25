/* observe — see observe.h. */
#include "observe.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect.h"
#include "decode.h"
#include "falco_watch.h"
#include "netevent.h"
#include "packages.h"
#include "proctable.h"
#include "rules.h"
#include "run.h"
#include "sockets.h"

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
	uint64_t drops; /* of the job's cgroups, so far */
	/* The phase being watched ("fetch", "install", "import", or "" before
	 * the first): what the phase's events and facts are attributed to. */
	char phase[16];
	struct sf_observe_net net;	/* the phase's network (read on the sensor thread) */
	struct sf_observe_net next_net; /* the next phase's, taken by sf_observe_phase */
	struct sf_sockets sockets; /* the phase's sockets, by local end */
	/* thread.cgroups of the phase's events: the container cgroup the
	 * worker made for it (under the sandbox cgroup parent) */
	char cgroups[160];
	struct sf_falco_watch *falco; /* alerts from Falco instead of the sensor */
	char error[512];	      /* why alerts may be missing, "" if not */
};

/* --- the rule call ------------------------------------------------------ */

/* Stops watching the phase's cgroup, keeping what the ring buffer lost of
 * its records: the job's drops, not the other slots'. */
static void obs_unwatch(struct sf_observe *o)
{
	uint64_t lost = 0;
	if (sf_sensor_unwatch(o->sensor, o->cgid, &lost) == 0)
		o->drops += lost;
}

static void obs_on_match(void *arg, const struct sf_rule *rule, const struct sf_event *ev)
{
	struct sf_observe *o = arg;
	sf_collect_alert(&o->collect, rule, ev);
}

/* A socket event in the phase's network: whether its destination is
 * blocked, the name the sinkhole gave it, and the socket's local end for
 * the sinkhole's records. */
static void obs_socket(struct sf_observe *o, struct sf_event *ev, char *name, size_t namelen)
{
	if ((ev->fd_type != SF_FD_IPV4 && ev->fd_type != SF_FD_IPV6) || ev->is_server)
		return;
	const struct sf_endpoint *dst = &ev->server;
	ev->dst_blocked = sf_netpolicy_match(o->net.blocked, o->net.nblocked, dst->family, dst->addr);
	if (o->net.sinkhole &&
	    sf_sinkhole_name_of(o->net.sinkhole, dst->family, dst->addr, name, namelen) == 0)
		ev->sip_name = name;
	if (ev->client.family && ev->l4proto && ev->proc)
		sf_sockets_note(&o->sockets, strcmp(ev->l4proto, "udp") ? IPPROTO_TCP : IPPROTO_UDP,
				&ev->client, ev->proc->pid, ev->time_ns);
}

/* Runs on the sensor thread for every record of the job's cgroup. */
static void obs_record(void *arg, const struct sf_bpf_event *r, size_t len)
{
	struct sf_observe *o = arg;
	struct sf_decode_scratch sc;
	struct sf_event ev;
	char name[SF_DNS_NAME_MAX];
	o->records++;
	if (!sf_decode_record(&o->decoder, r, len, &sc, &ev))
		return;
	obs_socket(o, &ev, name, sizeof(name));
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
	sf_sockets_reset(&o->sockets);
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
	sf_packages_set_ecosystem(&o->packages, opts->ecosystem, opts->project_id);
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
					 .cgroups = o->cgroups,
					 .sink = {.fact = obs_fact, .exec = obs_exec, .arg = o},
					 .uid_base = opts->uid_base,
					 .uid_count = opts->uid_count,
					 .has_init = opts->init};
	int rc = 0;
	if (opts->falco) {
		char err[512] = "";
		rc = sf_falco_watch_start(&o->falco, opts->falco, opts->container_id, &o->collect,
					  &o->packages, err, sizeof(err));
		if (rc && opts->err)
			snprintf(opts->err, opts->errlen, "%s", err);
		name = NULL;
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
		obs_unwatch(o);
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
	sf_sockets_reset(&o->sockets);
	o->net = o->next_net; /* nothing reads it while no cgroup is watched */
	/* each phase is a container of its own: its runtime's setup again
	 * comes before its first exec */
	o->decoder.started = false;
	o->decoder.command_pid = 0;
	o->decoder.command_ended = false;
	int rc = sf_sensor_watch(o->sensor, name, obs_record, o, &o->cgid);
	if (rc == 0)
		o->watching = true;
	return rc;
}

const char *sf_observe_current_phase(const struct sf_observe *o) { return o->phase; }

void sf_observe_network(struct sf_observe *o, const struct sf_observe_net *net)
{
	if (net)
		o->next_net = *net;
	else
		memset(&o->next_net, 0, sizeof(o->next_net));
}

/* A fact of a sinkhole record, attributed as its event is. */
struct obs_net_ctx {
	struct sf_observe *o;
	const struct sf_proc *proc;
};

static void obs_net_fact(void *arg, const char *kind, const char *value, const char *detail)
{
	struct obs_net_ctx *c = arg;
	sf_collect_fact(&c->o->collect, kind, value, detail, c->proc->package, c->o->phase);
}

/* What the sinkhole could not keep, as the collector's own notes. */
static void obs_net_notes(struct sf_observe *o, const struct sf_sinkhole_stats *st)
{
	char n[32];
	const struct {
		const char *what;
		uint64_t count;
	} notes[] = {{"sinkhole_records_dropped", st->records_dropped},
		     {"sinkhole_bytes_not_kept", st->data_dropped},
		     {"sinkhole_connections_refused", st->conns_refused},
		     {"sinkhole_sockets_unattributed", o->sockets.dropped}};
	for (size_t i = 0; i < sizeof(notes) / sizeof(notes[0]); i++) {
		if (!notes[i].count)
			continue;
		snprintf(n, sizeof(n), "%llu", (unsigned long long)notes[i].count);
		sf_collect_fact(&o->collect, "sensor", notes[i].what, n, NULL, o->phase);
	}
}

void sf_observe_sinkhole(struct sf_observe *o, const struct sf_net_record *r, size_t n,
			 const struct sf_sinkhole_stats *st)
{
	if (o->watching) {
		obs_unwatch(o);
		o->watching = false;
	}
	/* a record nobody's socket explains (the sensor missed it, or there
	 * is no sensor event for it) still says when: the phase */
	static const struct sf_proc nobody = {.name = "", .exe = "", .exepath = "", .args = "",
					      .cwd = ""};
	struct sf_netevent_scratch *sc = malloc(sizeof(*sc));
	if (!sc) {
		o->collect.oom = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int32_t pid = sf_sockets_find(&o->sockets, r[i].proto, &r[i].client, r[i].time_ns);
		struct sf_proc_entry *pe = pid ? sf_proctable_find(&o->procs, pid) : NULL;
		struct obs_net_ctx c = {.o = o, .proc = pe ? &pe->p : &nobody};
		struct sf_event ev;
		sf_netevent_build(&r[i], c.proc, o->phase, o->opts.container_id, o->opts.image, sc,
				  &ev);
		o->evaluated++;
		if (o->opts.rules)
			sf_rules_eval(o->opts.rules, &o->rctx, &ev, obs_on_match, o);
		if (o->opts.on_event)
			o->opts.on_event(o->opts.on_event_arg, &ev);
		sf_netevent_facts(&r[i], sc, obs_net_fact, &c);
	}
	free(sc);
	if (st)
		obs_net_notes(o, st);
}

const char *sf_observe_error(const struct sf_observe *o) { return o->error[0] ? o->error : NULL; }

int sf_observe_finish(struct sf_observe *o, struct sf_batch *b)
{
	if (o->watching) {
		obs_unwatch(o);
		o->watching = false;
	}
	if (o->falco) {
		sf_falco_watch_finish(o->falco, b, o->error, sizeof(o->error));
		sf_falco_watch_free(o->falco);
		o->falco = NULL;
	} else {
		b->events = o->records;
		b->drops = o->drops;
		/* a lost record may have been the one a rule fires on: the job's
		 * alerts and facts are incomplete, so it must not read clean */
		if (o->drops)
			snprintf(o->error, sizeof(o->error),
				 "the sensor lost %llu of this job's records (its ring buffer was"
				 " full): alerts and facts of the install may be missing",
				 (unsigned long long)o->drops);
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
		obs_unwatch(o);
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
