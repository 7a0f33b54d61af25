/*
 * rules_falco_test — the rule engine speaking today's Falco (issue 16):
 * the engine version (0.58.0, Falco 0.43's), Falco fields the sensor cannot
 * know (fields_absent.c: they load and evaluate as Falco evaluates a field
 * without a value), the fields added for Falco's rules (evt.num, fd.num,
 * fd.connected, fd.nameraw, proc.is_exe_from_memfd, thread.tid,
 * thread.ismain, thread.cgroups), the byte operators bcontains and
 * bstartswith, `scanfarm-rules check --explain`'s list, and — where the
 * Falco test kit is next to the project — falcosecurity/rules' three files
 * loading unchanged.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "rules.h"

static struct sf_proc proc = {.pid = 100, .vpid = 5, .name = "node", .exe = "node",
			       .exepath = "/usr/bin/node", .args = "x.js", .cwd = "/work/"};

static struct sf_event open_ev(void)
{
	struct sf_event ev = {.type = "openat", .res = 7, .proc = &proc, .tid = 100, .num = 42,
			      .fd_type = SF_FD_FILE, .has_fd_num = true, .fd_num = 7,
			      .fd_name = "/etc/passwd", .is_open_read = true,
			      .cgroups = "cpuset=/ memory=/scanfarm/sf-1-2-1-install"};
	return ev;
}

/* 1 if cond matches ev, 0 if not, -1 if the rule does not load. */
static int eval(const char *cond, const struct sf_event *ev)
{
	char yaml[4096], err[512];
	snprintf(yaml, sizeof(yaml),
		 "- required_engine_version: 0.58.0\n- rule: t\n  desc: t\n  condition: %s\n"
		 "  output: 'o %%proc.tty %%k8s.ns.name'\n  priority: info\n",
		 cond);
	struct sf_ruleset *rs;
	if (sf_rules_load_buffer(&rs, "t.yaml", yaml, strlen(yaml), err, sizeof(err)) != 0) {
		fprintf(stderr, "  load error: %s\n", err);
		return -1;
	}
	struct sf_rules_ctx *ctx = malloc(sizeof(*ctx));
	sf_rules_ctx_init(ctx);
	int m = sf_rules_eval(rs, ctx, ev, NULL, NULL);
	free(ctx);
	sf_rules_free(rs);
	return m;
}

#define EXPECT(ev, want, cond)                                                                     \
	do {                                                                                       \
		int r_ = eval((cond), (ev));                                                       \
		if (r_ != (want))                                                                  \
			fprintf(stderr, "  %s -> %d, want %d\n", (cond), r_, (want));              \
		CHECK_EQ(r_, (want));                                                              \
	} while (0)

static void test_absent_fields(void)
{
	struct sf_event ev = open_ev();
	/* as in Falco for a field without a value: every check false */
	EXPECT(&ev, 0, "proc.tty != 0");
	EXPECT(&ev, 1, "evt.type = openat and not proc.tty != 0");
	EXPECT(&ev, 0, "k8s.ns.name exists");
	EXPECT(&ev, 0, "container.privileged = true");
	EXPECT(&ev, 1, "not container.privileged = true");
	EXPECT(&ev, 0, "proc.env[HOME] = /tmp");
	EXPECT(&ev, 0, "fd.cip.name in (a, b)");
	EXPECT(&ev, -1, "container.privileged[1] = true"); /* takes no argument */
	EXPECT(&ev, -1, "nosuch.field = 1");		    /* unknown stays an error */
}

static void test_new_fields(void)
{
	struct sf_event ev = open_ev();
	EXPECT(&ev, 1, "evt.num = 42");
	EXPECT(&ev, 1, "fd.num >= 0 and fd.num = 7");
	EXPECT(&ev, 1, "fd.nameraw = /etc/passwd");
	EXPECT(&ev, 1, "thread.tid = 100 and thread.ismain = true");
	EXPECT(&ev, 1, "thread.cgroups contains \"=/scanfarm/\"");
	EXPECT(&ev, 0, "fd.connected = false"); /* a file: no value */
	struct sf_event th = ev;
	th.tid = 101;
	EXPECT(&th, 1, "thread.ismain = false");
	struct sf_event failed = ev;
	failed.res = failed.fd_num = -2;
	EXPECT(&failed, 0, "fd.num >= 0"); /* Falco's open_read: successful opens */
	struct sf_event nofd = ev;
	nofd.has_fd_num = false;
	EXPECT(&nofd, 0, "fd.num >= 0");
	struct sf_event c = {.type = "connect", .res = -115, .proc = &proc, .fd_type = SF_FD_IPV4,
			     .l4proto = "tcp", .fd_name = "a->b"};
	EXPECT(&c, 1, "fd.connected = true"); /* EINPROGRESS */
	c.type = "bind";
	c.res = 0;
	EXPECT(&c, 1, "fd.connected = false");
	struct sf_proc m = proc;
	m.exepath = "memfd:payload";
	struct sf_event x = {.type = "execve", .proc = &m};
	EXPECT(&x, 1, "proc.is_exe_from_memfd = true");
	EXPECT(&ev, 1, "proc.is_exe_from_memfd = false");
}

static void test_byte_operators(void)
{
	struct sf_event ev = open_ev();
	EXPECT(&ev, 1, "fd.name bcontains 2f706173"); /* "/pas" */
	EXPECT(&ev, 1, "fd.name bstartswith 2f657463");
	EXPECT(&ev, 0, "fd.name bstartswith 706173");
	EXPECT(&ev, 0, "evt.buffer bcontains cafebabe"); /* an open has none */
	EXPECT(&ev, -1, "fd.name bcontains 2f7");	  /* odd */
	EXPECT(&ev, -1, "fd.name bcontains zz");
}

static void test_explain(void)
{
	static const char y[] =
	    "- macro: m\n  condition: proc.tty != 0 or k8s.pod.name exists\n"
	    "- rule: t\n  desc: t\n  condition: evt.type = openat and not m\n  output: o\n"
	    "  priority: info\n";
	char err[256];
	struct sf_ruleset *rs;
	CHECK_EQ(sf_rules_load_buffer(&rs, "x.yaml", y, strlen(y), err, sizeof(err)), 0);
	char *a = sf_rules_absent_fields(rs);
	CHECK(a && strstr(a, "proc.tty: ") && strstr(a, "k8s.pod.name: ") && !strstr(a, "proc.env"));
	free(a);
	sf_rules_free(rs);
}

/* falcosecurity/rules as the Falco test kit keeps them (see tests/farm/
 * falcolib.sh), when they are there. */
static void test_upstream_files(void)
{
	static const char *const files[] = {"falco_rules.yaml", "falco-incubating_rules.yaml",
					    "falco-sandbox_rules.yaml"};
	char path[3][1024];
	const char *paths[3];
	struct stat st;
	for (int i = 0; i < 3; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/%s", SF_UPSTREAM_RULES, files[i]);
		paths[i] = path[i];
		if (stat(path[i], &st) != 0) {
			fprintf(stderr, "note: %s absent: upstream files not checked\n", path[i]);
			return;
		}
	}
	for (int i = 0; i < 3; i++) {
		char err[1024] = "";
		struct sf_ruleset *rs;
		int rc = sf_rules_load(&rs, &paths[i], 1, err, sizeof(err));
		if (rc)
			fprintf(stderr, "%s\n", err);
		CHECK_EQ(rc, 0);
		if (rc == 0) {
			CHECK(sf_rules_count(rs) > 10);
			sf_rules_free(rs);
		}
	}
	/* all three together, in Falco's order */
	char err[1024] = "";
	struct sf_ruleset *rs;
	CHECK_EQ(sf_rules_load(&rs, paths, 3, err, sizeof(err)), 0);
	if (!err[0])
		sf_rules_free(rs);
}

int main(void)
{
	test_absent_fields();
	test_new_fields();
	test_byte_operators();
	test_explain();
	test_upstream_files();
	TEST_DONE();
}
