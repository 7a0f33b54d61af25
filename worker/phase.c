/* phase — see phase.h. */
#include "phase.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netns.h"
#include "observe.h"
#include "sinkhole.h"

int sf_phase_skip(struct sf_phase *out, const char *name, const char *why)
{
	memset(out, 0, sizeof(*out));
	out->name = strdup(name);
	out->error = why ? strdup(why) : NULL;
	return out->name && (!why || out->error) ? 0 : -ENOMEM;
}

int sf_phase_idle(struct sf_phase *out, const char *name, const char *nothing)
{
	memset(out, 0, sizeof(*out));
	out->name = strdup(name);
	out->skipped = strdup(nothing);
	return out->name && out->skipped ? 0 : -ENOMEM;
}

bool sf_phase_ok(const struct sf_phase *p)
{
	return p->ran && p->has_exit_status && p->exit_status == 0 && !p->timed_out && !p->error;
}

/* What npm said went wrong: its "npm ERR! code X" and the line after it;
 * pnpm's " ERR_PNPM_X  message" line (on stdout, before its notes); pip's
 * first "ERROR: " line; bundler's "Could not find …" message; else
 * the last non-empty line of the tail that is not about its log (yarn's
 * "error …"). */
static void phase_last_line(const char *tail, char *out, size_t outlen)
{
	out[0] = '\0';
	if (!tail)
		return;
	const char *pnpm = strstr(tail, "ERR_PNPM_");
	if (pnpm) {
		size_t n = strcspn(pnpm, "\r\n");
		snprintf(out, outlen, "%.*s", (int)(n > 240 ? 240 : n), pnpm);
		return;
	}
	/* pip's first "ERROR: " line; bundler's "Could not find …", wrapped
	 * over lines up to an empty one */
	const char *pip = !strncmp(tail, "ERROR: ", 7) ? tail : strstr(tail, "\nERROR: ");
	const char *bundler = strstr(tail, "Could not find ");
	if (pip || bundler) {
		const char *m = pip ? pip + (pip[0] == '\n') : bundler;
		size_t n = 0;
		for (; m[0] && n + 1 < outlen && n < 240; m++) {
			if (m[0] == '\n' && (pip || m[1] == '\n' || !m[1]))
				break;
			if (m[0] != '\r')
				out[n++] = m[0] == '\n' ? ' ' : m[0];
		}
		out[n] = '\0';
		return;
	}
	const char *code = strstr(tail, "npm ERR! code ");
	if (code) {
		code += strlen("npm ERR! code ");
		size_t cl = strcspn(code, "\r\n");
		const char *next = code + cl;
		next += strspn(next, "\r\n");
		size_t ml = 0;
		if (strncmp(next, "npm ERR! ", 9) == 0) {
			next += 9;
			ml = strcspn(next, "\r\n");
		}
		snprintf(out, outlen, "%.*s%s%.*s", (int)(cl > 40 ? 40 : cl), code, ml ? ": " : "",
			 (int)(ml > 200 ? 200 : ml), next);
		return;
	}
	const char *end = tail + strlen(tail);
	while (end > tail) {
		const char *e = end;
		while (e > tail && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' '))
			e--;
		const char *b = e;
		while (b > tail && b[-1] != '\n')
			b--;
		size_t n = (size_t)(e - b);
		if (n > 0 && !memmem(b, n, "complete log", 12) && !memmem(b, n, "_logs/", 6)) {
			snprintf(out, outlen, "%.*s", (int)(n > 200 ? 200 : n), b);
			return;
		}
		end = b;
		if (b == tail)
			break;
	}
}

/* The limits the run reached, in words ("memory limit 2048 MiB reached;
 * …"), with the job's limits (the phase's own are what was left of them). */
static void phase_limits(const struct sf_sandbox_spec *b, unsigned limits, char *why, size_t len)
{
	size_t o = 0;
	why[0] = '\0';
#define PHASE_LIMIT(bit, ...)                                                                     \
	if ((limits & (bit)) && o < len) {                                                         \
		o += (size_t)snprintf(why + o, len - o, "%s", o ? "; " : "");                      \
		if (o < len)                                                                       \
			o += (size_t)snprintf(why + o, len - o, __VA_ARGS__);                      \
	}
	PHASE_LIMIT(SF_LIMIT_TIME, "timeout after %d s", b->time_limit_s)
	PHASE_LIMIT(SF_LIMIT_MEMORY, "memory limit %d MiB reached", b->memory_mb)
	PHASE_LIMIT(SF_LIMIT_PIDS, "process limit %d reached", b->pids)
	PHASE_LIMIT(SF_LIMIT_CPU, "CPU time limit %d s reached", b->cpu_limit_s)
	PHASE_LIMIT(SF_LIMIT_DISK, "disk limit %d MiB reached", b->tmp_mb)
	PHASE_LIMIT(SF_LIMIT_OUTPUT, "output limit %lld MiB reached",
		    (long long)(b->output_limit >> 20))
#undef PHASE_LIMIT
}

/* Why a phase that ran did not complete, or nothing when it did. A limit
 * reached is the reason even when the command then exited 0. */
static int phase_reason(const struct sf_phase_spec *ps, const struct sf_sandbox_result *res,
			struct sf_phase *out)
{
	char why[512] = "", last[256], limits[300];
	/* the tails have moved into out by now */
	/* pnpm reports its errors on stdout */
	bool pnpm = out->stdout_tail && strstr(out->stdout_tail, "ERR_PNPM_");
	phase_last_line(pnpm ? out->stdout_tail : out->stderr_tail, last, sizeof(last));
	if (!last[0])
		phase_last_line(out->stdout_tail, last, sizeof(last));
	phase_limits(ps->base, res->limits, limits, sizeof(limits));
	if (limits[0])
		snprintf(why, sizeof(why), "%s in the %s phase", limits, ps->name);
	else if (!res->exited)
		snprintf(why, sizeof(why), "%s: the sandbox runtime was killed (status %d)",
			 ps->name, res->exit_status);
	else if (res->exit_status == 125 || res->exit_status == 127)
		/* the runtime's own failures; the container's stderr says why. */
		snprintf(why, sizeof(why), "sandbox failed to start for %s (runtime exit %d)",
			 ps->name, res->exit_status);
	else if (res->exit_status > 128 && res->exit_status < 128 + 65)
		snprintf(why, sizeof(why), "%s was killed by signal %d (exit %d)", ps->name,
			 res->exit_status - 128, res->exit_status);
	else if (res->exit_status != 0)
		snprintf(why, sizeof(why), "%s failed: %s exited %d%s%s", ps->name, ps->argv->v[0],
			 res->exit_status, last[0] ? ": " : "", last);
	if (!why[0])
		return 0;
	out->error = strdup(why);
	return out->error ? 0 : -ENOMEM;
}

/* The phase's network namespace, when the worker makes it (proxied or
 * sinkhole; offline is the runtime's empty one: *ns NULL), and what the
 * sensor's watch needs to know of it. */
static int phase_network(const struct sf_phase_spec *ps, struct sf_observe *obs,
			 struct sf_netns **ns, char *err, size_t errlen)
{
	bool sinkhole = !ps->proxy_port && ps->sinkhole;
	struct sf_netns_opts no = {.forward_port = ps->proxy_port,
				   .forward_to = ps->proxy,
				   .sinkhole = sinkhole,
				   .blocked = ps->blocked,
				   .nblocked = ps->nblocked,
				   .owner = ps->userns};
	char nerr[300];
	int rc;
	*ns = NULL;
	if ((ps->proxy_port || sinkhole) && (rc = sf_netns_create(ns, &no, nerr, sizeof(nerr)))) {
		snprintf(err, errlen, "cannot make the %s phase's network: %s", ps->name, nerr);
		return rc;
	}
	if (obs) {
		struct sf_observe_net on = {.blocked = ps->blocked,
					    .nblocked = ps->nblocked,
					    .sinkhole = *ns ? sf_netns_sinkhole(*ns) : NULL};
		sf_observe_network(obs, &on);
	}
	return 0;
}

/* After the container: the sinkhole stops, and what it was sent goes to
 * the sensor's findings of the phase. */
static void phase_sinkhole_done(const struct sf_phase_spec *ps, struct sf_netns *ns,
				struct sf_observe *obs)
{
	struct sf_sinkhole *sh = ns ? sf_netns_sinkhole(ns) : NULL;
	if (!sh)
		return;
	sf_sinkhole_stop(sh);
	size_t n;
	const struct sf_net_record *r = sf_sinkhole_records(sh, &n);
	struct sf_sinkhole_stats st;
	sf_sinkhole_stats(sh, &st);
	if (obs)
		sf_observe_sinkhole(obs, r, n, &st);
	sf_debug("%s phase: sinkhole saw %llu connections, %llu datagrams, %llu DNS questions",
		 ps->name, (unsigned long long)st.connections, (unsigned long long)st.datagrams,
		 (unsigned long long)st.questions);
}

int sf_phase_run(const struct sf_phase_spec *ps, struct sf_observe *obs, struct sf_phase *out,
		 struct sf_phase_usage *use, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	memset(use, 0, sizeof(*use));
	if (!(out->name = strdup(ps->name)))
		return -ENOMEM;
	struct sf_netns *ns = NULL;
	int rc = phase_network(ps, obs, &ns, err, errlen);
	if (rc)
		return rc;
	struct sf_sandbox_spec spec = *ps->base;
	spec.container_id = ps->container_id;
	spec.argv = (const char *const *)ps->argv->v;
	spec.env = (const char *const *)ps->env->v;
	spec.time_limit_s = ps->time_limit_s;
	if (ps->cpu_left_s > 0)
		spec.cpu_limit_s = ps->cpu_left_s;
	spec.netns_path = ns ? sf_netns_path(ns) : NULL;
	spec.cache_dir = ps->cache_dir;
	spec.cache_dest = ps->cache_dir ? SF_NPM_CACHE_DIR : NULL;
	if (obs && (rc = sf_observe_phase(obs, ps->name, ps->container_id))) {
		snprintf(err, errlen, "cannot watch the %s phase: %s", ps->name, strerror(-rc));
		goto out;
	}
	struct sf_sandbox_result res;
	if ((rc = sf_sandbox_run(&spec, &res, err, errlen)))
		goto out;
	out->ran = true;
	out->has_exit_status = res.exited;
	out->exit_status = res.exit_status;
	out->timed_out = res.timed_out;
	out->duration_ms = res.duration_ms;
	use->cpu_ms = res.cpu_ms;
	use->left_running = res.left_running;
	use->limits = res.limits;
	out->stdout_tail = res.stdout_tail;
	out->stderr_tail = res.stderr_tail;
	res.stdout_tail = res.stderr_tail = NULL;
	/* Untrusted output may hold NULs or bad UTF-8: make it safe to store. */
	if (out->stdout_tail)
		sf_utf8_sanitize(out->stdout_tail, strlen(out->stdout_tail));
	if (out->stderr_tail)
		sf_utf8_sanitize(out->stderr_tail, strlen(out->stderr_tail));
	rc = phase_reason(ps, &res, out);
	sf_info("%s phase (%s): exit %d in %lld ms, %lld ms CPU, %lld KiB of output%s%s",
		ps->name, ps->container_id, res.exit_status, (long long)res.duration_ms,
		(long long)res.cpu_ms, (long long)(res.output_bytes >> 10),
		res.left_running ? ", processes left running" : "",
		out->error ? "" : ", completed");
	sf_sandbox_result_free(&res);
	phase_sinkhole_done(ps, ns, obs);
	if (ns && ps->proxy_port) {
		struct sf_netns_stats st;
		sf_netns_stats(ns, &st);
		sf_debug("%s phase: %llu registry connections, %llu bytes out, %llu in", ps->name,
			 (unsigned long long)st.connections, (unsigned long long)st.bytes_out,
			 (unsigned long long)st.bytes_in);
	}
out:
	sf_netns_free(ns);
	return rc;
}
