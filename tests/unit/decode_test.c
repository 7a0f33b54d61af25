/*
 * decode_test — the decoder (worker/sensor/decode.c) on records made up
 * here the way the kernel half writes them, for what a real sensor shows
 * only by chance: a process whose exit is reported twice (two of its
 * threads ended at once and both saw the live count at zero) exits once,
 * and the second report does not make the phase's command a process
 * "left running" after itself; a process that did outlive the command
 * still is one.
 */
#include <stdio.h>
#include <string.h>

#include "decode.h"
#include "harness.h"
#include "proctable.h"

static int left_running_facts;

static void on_fact(void *arg, const struct sf_proc *p, const char *kind, const char *value,
		    const char *detail)
{
	(void)arg, (void)p, (void)value, (void)detail;
	left_running_facts += strcmp(kind, "left_running") == 0;
}

static void on_exec(void *arg, const struct sf_proc *p, uint64_t ino, uint32_t dev)
{
	(void)arg, (void)p, (void)ino, (void)dev;
}

static struct sf_bpf_event rec(uint16_t kind, uint32_t pid, uint32_t vpid, uint32_t ppid)
{
	static uint64_t ts;
	struct sf_bpf_event r;
	memset(&r, 0, sizeof(r));
	r.ts_ns = ++ts;
	r.kind = kind;
	r.pid = r.tid = pid;
	r.vpid = vpid;
	r.ppid = ppid;
	snprintf(r.comm, sizeof(r.comm), "%s", vpid == 1 ? "init" : "npm");
	return r;
}

int main(void)
{
	bool oom = false;
	struct sf_proctable procs;
	sf_proctable_init(&procs, &oom);
	struct sf_decoder d = {.container_id = "sf-1-1-1", .procs = &procs, .phase = "install",
			       .sink = {.fact = on_fact, .exec = on_exec}, .has_init = true};
	static struct sf_decode_scratch sc;
	struct sf_event ev;

	/* our init (pid 100, 1 inside) forks the phase's command (101), which
	 * forks a child (102) */
	struct sf_bpf_event r = rec(SF_BPF_FORK, 100, 1, 99);
	r.u.fork.child_pid = 101;
	r.u.fork.child_vpid = 2;
	CHECK(!sf_decode_record(&d, &r, sizeof(r), &sc, &ev));
	CHECK_EQ(d.command_pid, 101);
	d.started = true; /* as after the command's exec */
	r = rec(SF_BPF_FORK, 101, 2, 100);
	r.u.fork.child_pid = 102;
	r.u.fork.child_vpid = 3;
	CHECK(sf_decode_record(&d, &r, sizeof(r), &sc, &ev));

	/* the command ends, and its exit is reported a second time */
	r = rec(SF_BPF_EXIT, 101, 2, 100);
	CHECK(sf_decode_record(&d, &r, sizeof(r), &sc, &ev));
	CHECK(strcmp(ev.type, "procexit") == 0 && !ev.left_running);
	CHECK(d.command_ended);
	r = rec(SF_BPF_EXIT, 101, 2, 100);
	CHECK(!sf_decode_record(&d, &r, sizeof(r), &sc, &ev)); /* no second procexit */
	CHECK_EQ(left_running_facts, 0);

	/* the child did outlive the command: left running, once */
	r = rec(SF_BPF_EXIT, 102, 3, 101);
	CHECK(sf_decode_record(&d, &r, sizeof(r), &sc, &ev));
	CHECK(ev.left_running);
	CHECK_EQ(left_running_facts, 1);
	CHECK(!sf_decode_record(&d, &r, sizeof(r), &sc, &ev));
	CHECK_EQ(left_running_facts, 1);

	/* a pid used again by a new process (forked by init) exits again */
	r = rec(SF_BPF_FORK, 100, 1, 99);
	r.u.fork.child_pid = 102;
	r.u.fork.child_vpid = 4;
	CHECK(!sf_decode_record(&d, &r, sizeof(r), &sc, &ev)); /* init's */
	r = rec(SF_BPF_EXIT, 102, 4, 100);
	CHECK(sf_decode_record(&d, &r, sizeof(r), &sc, &ev));
	CHECK_EQ(left_running_facts, 2);
	CHECK(!oom);
	sf_proctable_free(&procs);
	TEST_DONE();
}
