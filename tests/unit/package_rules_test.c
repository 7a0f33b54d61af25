/*
 * package_rules_test — the rule engine's scanfarm.* attribution fields
 * (scanfarm.package, scanfarm.package.path, scanfarm.phase,
 * scanfarm.fd.package) on synthetic events, and the shipped rule
 * "Dependency tampering" (rules/91-scanfarm-packages.yaml) loaded with the
 * whole rules/ directory: it fires for a dependency writing into another
 * package and for nothing npm or the project itself does. And "Delete or
 * rename below system directory" on unlink and rename events with no fd
 * name, as Falco sees them: a workspace below /home (GitHub's) is the
 * package's, a system file is not. And "Python start-up hook written
 * during install": a .pth or sitecustomize.py that persists fires, the
 * sitecustomize.py pip's build isolation writes into each temporary build
 * environment does not. (The fields'
 * values are computed by worker/sensor/packages.c: packages_test.)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "rules.h"
#include "wire.h"

#ifndef SF_RULES_DIR
#error "SF_RULES_DIR: the rules/ directory"
#endif

static struct sf_proc p_npm = {.pid = 200,
			       .ppid = 100,
			       .vpid = 2,
			       .uid = 1000,
			       .gid = 1000,
			       .name = "npm",
			       .exe = "npm",
			       .exepath = "/usr/bin/node",
			       .args = "/usr/bin/npm rebuild",
			       .cwd = "/work/package/",
			       .package = "proj@1.0.0",
			       .package_path = "",
			       .package_dir = ""};
static struct sf_proc p_tamper = {.pid = 300,
				  .ppid = 200,
				  .vpid = 3,
				  .uid = 1000,
				  .gid = 1000,
				  .name = "node",
				  .exe = "node",
				  .exepath = "/usr/bin/node",
				  .args = "tamper.js",
				  .cwd = "/work/package/node_modules/sf-tamper/",
				  .package = "sf-tamper@1.0.0",
				  .package_path = "node_modules/sf-tamper",
				  .package_dir = "/work/package/node_modules/sf-tamper",
				  .parent = &p_npm};

/* An open for writing of file by p in phase, the file being in package
 * victim ("" when it is p's own or in no package). */
static struct sf_event write_ev(const struct sf_proc *p, const char *file, const char *victim,
				const char *phase)
{
	struct sf_event ev = {
	    .type = "openat",
	    .time_ns = 1700000000123456789LL,
	    .res = 3,
	    .proc = p,
	    .fd_type = SF_FD_FILE,
	    .fd_name = file,
	    .open_flags = O_WRONLY | O_CREAT | O_TRUNC,
	    .is_open_write = true,
	    .args = {{"name", file}, {"flags", "O_WRONLY|O_CREAT|O_TRUNC"}, {"mode", "0644"}},
	    .nargs = 3,
	    .fd_package = victim,
	    .phase = phase,
	    .container_id = "sf-job-1",
	    .container_name = "sf-job-1",
	    .cgroups = "cpuset=/ memory=/scanfarm/sf-job-1-install",
	};
	return ev;
}

static void test_fields(void)
{
	struct sf_event ev =
	    write_ev(&p_tamper, "/work/package/node_modules/sf-victim/index.js", "sf-victim@1.0.0",
		     "install");
	static const char *const want[][2] = {
	    {"scanfarm.package", "sf-tamper@1.0.0"},
	    {"scanfarm.package.path", "node_modules/sf-tamper"},
	    {"scanfarm.phase", "install"},
	    {"scanfarm.fd.package", "sf-victim@1.0.0"},
	};
	char buf[256];
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int rc = sf_rules_field_render(want[i][0], &ev, buf, sizeof(buf));
		CHECK(rc == 0 && !strcmp(buf, want[i][1]));
		if (rc || strcmp(buf, want[i][1]))
			fprintf(stderr, "  %s: '%s' (rc %d), want '%s'\n", want[i][0], buf, rc,
				want[i][1]);
	}
	/* nothing attributed: empty values, never missing */
	struct sf_proc bare = {.pid = 1, .name = "sh"};
	struct sf_event none = write_ev(&bare, "/tmp/x", NULL, NULL);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int rc = sf_rules_field_render(want[i][0], &none, buf, sizeof(buf));
		CHECK(rc == 0 && buf[0] == 0);
	}
}

struct matches {
	int tamper, other;
	char others[512];
};

static void on_match(void *arg, const struct sf_rule *rule, const struct sf_event *ev)
{
	(void)ev;
	struct matches *m = arg;
	if (!strcmp(sf_rule_name(rule), "Dependency tampering")) {
		m->tamper++;
	} else {
		m->other++;
		size_t n = strlen(m->others);
		snprintf(m->others + n, sizeof(m->others) - n, "[%s]", sf_rule_name(rule));
	}
}

static int tampering(const struct sf_ruleset *rs, const struct sf_event *ev)
{
	struct sf_rules_ctx *ctx = malloc(sizeof(*ctx));
	if (!ctx)
		return -1;
	sf_rules_ctx_init(ctx);
	struct matches m = {0};
	sf_rules_eval(rs, ctx, ev, on_match, &m);
	free(ctx);
	return m.tamper;
}

static void test_rule(void)
{
	const char *paths[] = {SF_RULES_DIR};
	char err[1024];
	struct sf_ruleset *rs;
	int rc = sf_rules_load(&rs, paths, 1, err, sizeof(err));
	CHECK_EQ(rc, 0);
	if (rc) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	const struct sf_rule *r = sf_rules_find(rs, "Dependency tampering");
	CHECK(r != NULL);
	if (!r) {
		sf_rules_free(rs);
		return;
	}
	CHECK(sf_rule_priority(r) <= SF_PRIO_WARNING);

	const char *victim = "/work/package/node_modules/sf-victim/index.js";
	/* a dependency's script writes into another package: in the install
	 * phase, the import phase, a job of one phase */
	struct sf_event ev = write_ev(&p_tamper, victim, "sf-victim@1.0.0", "install");
	CHECK_EQ(tampering(rs, &ev), 1);
	ev.phase = "import";
	CHECK_EQ(tampering(rs, &ev), 1);
	ev.phase = NULL;
	CHECK_EQ(tampering(rs, &ev), 1);
	ev.res = -13; /* an attempt counts */
	CHECK_EQ(tampering(rs, &ev), 1);
	/* renamed onto, deleted, chmod'ed */
	struct sf_event mv = ev;
	mv.type = "renameat2";
	mv.res = 0;
	mv.args[0] = (struct sf_event_arg){"oldpath", "/tmp/x"};
	mv.args[1] = (struct sf_event_arg){"newpath", victim};
	mv.nargs = 2;
	CHECK_EQ(tampering(rs, &mv), 1);
	mv.type = "unlinkat";
	mv.args[0] = (struct sf_event_arg){"name", victim};
	mv.nargs = 1;
	CHECK_EQ(tampering(rs, &mv), 1);
	mv.type = "fchmodat";
	mv.args[0] = (struct sf_event_arg){"filename", victim};
	mv.args[1] = (struct sf_event_arg){"mode", "S_IXUSR|S_IWUSR|S_IRUSR"};
	mv.nargs = 2;
	CHECK_EQ(tampering(rs, &mv), 1);

	/* not counted: the fetch phase (npm extracting), npm or the project's
	 * own scripts (root), a package's own directory or .bin (fd.package
	 * ""), reads */
	ev = write_ev(&p_tamper, victim, "sf-victim@1.0.0", "fetch");
	CHECK_EQ(tampering(rs, &ev), 0);
	ev = write_ev(&p_npm, victim, "sf-victim@1.0.0", "install");
	CHECK_EQ(tampering(rs, &ev), 0);
	ev = write_ev(&p_tamper, "/work/package/node_modules/sf-tamper/build/out.js", "", "install");
	CHECK_EQ(tampering(rs, &ev), 0);
	ev = write_ev(&p_tamper, "/work/package/node_modules/.bin/victim", "", "install");
	CHECK_EQ(tampering(rs, &ev), 0);
	ev = write_ev(&p_tamper, victim, "sf-victim@1.0.0", "install");
	ev.is_open_write = false;
	ev.open_flags = O_RDONLY;
	ev.is_open_read = true;
	CHECK_EQ(tampering(rs, &ev), 0);

	/* the alert names writer, victim, file and command; every alert's
	 * fields carry package and phase through the collector */
	ev = write_ev(&p_tamper, victim, "sf-victim@1.0.0", "install");
	struct sf_alert a;
	CHECK_EQ(sf_rules_alert(rs, r, &ev, "worker-1", &a), 0);
	CHECK(strstr(a.output, "writer=sf-tamper@1.0.0 ") != NULL);
	CHECK(strstr(a.output, "victim=sf-victim@1.0.0 ") != NULL);
	CHECK(strstr(a.output, "file=/work/package/node_modules/sf-victim/index.js") != NULL);
	CHECK(strstr(a.output, "command=node tamper.js") != NULL);
	CHECK(strstr(a.output, "phase=install") != NULL);
	fprintf(stderr, "alert: %s\n", a.output);
	sf_alert_free(&a);
	sf_rules_free(rs);
}

struct rule_count {
	const char *rule;
	int n;
};

static void on_rule(void *arg, const struct sf_rule *rule, const struct sf_event *ev)
{
	(void)ev;
	struct rule_count *c = arg;
	c->n += !strcmp(sf_rule_name(rule), c->rule);
}

/* How often rule fires on a delete (newpath NULL: unlinkat of oldpath) or
 * a rename, with no fd name (Falco has none for these calls). */
static int fires_on_move(const struct sf_ruleset *rs, const char *rule, const char *oldpath,
			 const char *newpath)
{
	struct sf_event ev = write_ev(&p_tamper, NULL, NULL, "install");
	ev.fd_type = 0;
	ev.open_flags = 0;
	ev.is_open_write = false;
	ev.res = 0;
	if (newpath) {
		ev.type = "renameat2";
		ev.args[0] = (struct sf_event_arg){"oldpath", oldpath};
		ev.args[1] = (struct sf_event_arg){"newpath", newpath};
		ev.nargs = 2;
	} else {
		ev.type = "unlinkat";
		ev.args[0] = (struct sf_event_arg){"name", oldpath};
		ev.nargs = 1;
	}
	struct sf_rules_ctx *ctx = malloc(sizeof(*ctx));
	if (!ctx)
		return -1;
	sf_rules_ctx_init(ctx);
	struct rule_count c = {rule, 0};
	sf_rules_eval(rs, ctx, &ev, on_rule, &c);
	free(ctx);
	return c.n;
}

static void test_system_delete(void)
{
	const char *paths[] = {SF_RULES_DIR};
	char err[1024];
	struct sf_ruleset *rs;
	int rc = sf_rules_load(&rs, paths, 1, err, sizeof(err));
	CHECK_EQ(rc, 0);
	if (rc)
		return;
	static const char rule[] = "Delete or rename below system directory";
	CHECK(sf_rules_find(rs, rule) != NULL);
	const char *ws = "/home/runner/_work/app/app/build/out.tmp";
	const char *ws2 = "/home/runner/_work/app/app/build/out.js";
	/* the build's own files, in GitHub's and GitLab's workspaces, the
	 * home, /tmp: nothing */
	CHECK_EQ(fires_on_move(rs, rule, ws, NULL), 0);
	CHECK_EQ(fires_on_move(rs, rule, ws, ws2), 0);
	CHECK_EQ(fires_on_move(rs, rule, "/builds/acme/app/a.tmp", "/builds/acme/app/a"), 0);
	CHECK_EQ(fires_on_move(rs, rule, "/home/node/.cache/x", NULL), 0);
	CHECK_EQ(fires_on_move(rs, rule, "/tmp/x", "/tmp/y"), 0);
	/* a system file deleted, or one replaced from the workspace */
	CHECK_EQ(fires_on_move(rs, rule, "/etc/passwd", NULL), 1);
	CHECK_EQ(fires_on_move(rs, rule, ws, "/usr/bin/ls"), 1);
	CHECK_EQ(fires_on_move(rs, rule, "/usr/lib/node_modules/npm/x", ws), 1);
	sf_rules_free(rs);
}

static struct sf_proc p_pip = {.pid = 400,
			       .ppid = 100,
			       .vpid = 4,
			       .uid = 1000,
			       .gid = 1000,
			       .name = "python3",
			       .exe = "python3",
			       .exepath = "/usr/bin/python3.11",
			       .args = "-I -m pip install --no-index --find-links /work/.dist .",
			       .cwd = "/work/",
			       .package = "sf-py-built==1.0.0",
			       .package_path = "",
			       .package_dir = ""};

/* How often the start-up hook rule fires on p writing file. */
static int startup_hook(const struct sf_ruleset *rs, const char *file)
{
	struct sf_event ev = write_ev(&p_pip, file, "", "install");
	struct sf_rules_ctx *ctx = malloc(sizeof(*ctx));
	if (!ctx)
		return -1;
	sf_rules_ctx_init(ctx);
	struct rule_count c = {"Python start-up hook written during install", 0};
	sf_rules_eval(rs, ctx, &ev, on_rule, &c);
	free(ctx);
	return c.n;
}

static void test_python_startup_hook(void)
{
	const char *paths[] = {SF_RULES_DIR};
	char err[1024];
	struct sf_ruleset *rs;
	int rc = sf_rules_load(&rs, paths, 1, err, sizeof(err));
	CHECK_EQ(rc, 0);
	if (rc)
		return;
	const char *site = "/work/.venv/lib/python3.11/site-packages";
	const char *env = "/work/.tmp/pip-build-env-2k7_x9qe";
	char f[300];
	/* what persists: a .pth or sitecustomize.py in the environment */
	snprintf(f, sizeof(f), "%s/sf-hook.pth", site);
	CHECK_EQ(startup_hook(rs, f), 1);
	snprintf(f, sizeof(f), "%s/sitecustomize.py", site);
	CHECK_EQ(startup_hook(rs, f), 1);
	CHECK_EQ(startup_hook(rs, "/home/runner/.local/usercustomize.py"), 1);
	/* a sitecustomize.py anywhere else in a build environment than its
	 * site directory is still one */
	snprintf(f, sizeof(f), "%s/overlay/lib/python3.11/site-packages/sitecustomize.py", env);
	CHECK_EQ(startup_hook(rs, f), 1);
	snprintf(f, sizeof(f), "%s/sitecustomize.py", env);
	CHECK_EQ(startup_hook(rs, f), 1);
	/* pip's build isolation: its own sitecustomize.py of the build
	 * environment, and setuptools' allowed .pth installed into it */
	snprintf(f, sizeof(f), "%s/site/sitecustomize.py", env);
	CHECK_EQ(startup_hook(rs, f), 0);
	snprintf(f, sizeof(f), "%s/overlay/lib/python3.11/site-packages/distutils-precedence.pth",
		 env);
	CHECK_EQ(startup_hook(rs, f), 0);
	sf_rules_free(rs);
}

int main(void)
{
	test_fields();
	test_rule();
	test_system_delete();
	test_python_startup_hook();
	TEST_DONE();
}
