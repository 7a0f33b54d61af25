/*
 * packages_test — which package a process or a file belongs to
 * (worker/sensor/packages.c), on a project tree in a temporary directory
 * standing in for the host side of /work: the deepest node_modules
 * package of a path, identities from package.json (scoped, nested, none,
 * hostile: a symlink out of the tree, a FIFO, control characters),
 * attribution at exec and inheritance, scanfarm.fd.package, re-reading in
 * a new phase, the project's root, and the cache's bound.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "packages.h"
#include "util.h"

static char host[64];

static void put(const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", host, rel);
	char dir[512];
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = 0;
	if (sf_mkdirs(dir, 0755) || (text && sf_write_file(path, text, strlen(text)))) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(1);
	}
}

static void check_str(const char *what, const char *got, const char *want, int line)
{
	bool ok = got && !strcmp(got, want);
	if (!ok)
		fprintf(stderr, "packages_test.c:%d: %s: '%s', want '%s'\n", line, what,
			got ? got : "(null)", want);
	CHECK(ok);
}
#define STR(what, got, want) check_str((what), (got), (want), __LINE__)

static void test_dir_len(void)
{
	static const struct {
		const char *path, *dir;
	} cases[] = {
	    {"/work/p/node_modules/a/x.js", "/work/p/node_modules/a"},
	    {"/work/p/node_modules/a", "/work/p/node_modules/a"},
	    {"/work/p/node_modules/a/", "/work/p/node_modules/a"},
	    {"/work/p/node_modules/@s/a/lib/x", "/work/p/node_modules/@s/a"},
	    {"/work/p/node_modules/a/node_modules/b/", "/work/p/node_modules/a/node_modules/b"},
	    {"/work/p/node_modules/a/node_modules/.bin/x", "/work/p/node_modules/a"},
	    {"/work/p/node_modules/.bin/a", ""},
	    {"/work/p/node_modules/.package-lock.json", ""},
	    {"/work/p/node_modules/@s", ""},
	    {"/work/p/node_modules/@s/", ""},
	    {"/work/p/node_modules", ""},
	    {"/work/p/src/node_modules.js", ""},
	    {"/work/p/src/x", ""},
	    /* pnpm's layout: the real directories behind node_modules/<name> */
	    {"/work/p/node_modules/.pnpm/leaf@1.0.0/node_modules/leaf/steal.js",
	     "/work/p/node_modules/.pnpm/leaf@1.0.0/node_modules/leaf"},
	    {"/work/p/node_modules/.pnpm/@s+a@2.0.0/node_modules/@s/a",
	     "/work/p/node_modules/.pnpm/@s+a@2.0.0/node_modules/@s/a"},
	    {"/work/p/node_modules/.pnpm/lock.yaml", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = sf_packages_dir_len(cases[i].path);
		char got[256];
		snprintf(got, sizeof(got), "%.*s", (int)n, cases[i].path);
		STR(cases[i].path, got, cases[i].dir);
	}
}

/* The project: proj@1.0.0 with a, a's nested b, c without a package.json,
 * scoped @s/d, and hostile entries. */
static void make_tree(void)
{
	put("package/package.json", "{\"name\": \"proj\", \"version\": \"1.0.0\"}");
	put("package/node_modules/a/package.json", "{\"name\": \"a\", \"version\": \"1.0.0\"}");
	put("package/node_modules/a/node_modules/b/package.json",
	    "{\"name\": \"b\", \"version\": \"2.0.0\"}");
	put("package/node_modules/c/index.js", "");
	put("package/node_modules/@s/d/package.json", "{\"name\": \"@s/d\", \"version\": \"3.0.0\"}");
	put("package/node_modules/weird/package.json",
	    "{\"name\": \"we ird\\n\\u001b[31m\", \"version\": \"1\"}");
	put("package/node_modules/.bin/x", "");
	char p[512];
	/* a package.json that is a symlink out of the tree, a directory that
	 * is one, and a FIFO: none may be read (or block) */
	put("package/node_modules/esc/index.js", "");
	snprintf(p, sizeof(p), "%s/package/node_modules/esc/package.json", host);
	CHECK_EQ(symlink("/etc/os-release", p), 0);
	snprintf(p, sizeof(p), "%s/package/node_modules/up", host);
	CHECK_EQ(symlink("../../../../../../../../etc", p), 0);
	put("package/node_modules/fifo/index.js", "");
	snprintf(p, sizeof(p), "%s/package/node_modules/fifo/package.json", host);
	CHECK_EQ(mkfifo(p, 0644), 0);
}

static void test_attribution(void)
{
	bool oom = false;
	struct sf_packages pk;
	sf_packages_init(&pk, "/work", host, NULL, NULL, &oom);
	/* npm's first process: /work has no package.json, the project's root does */
	struct sf_proc npm = {.pid = 2};
	sf_packages_exec(&pk, &npm, "/work/");
	STR("before the root", npm.package, "");
	sf_packages_exec(&pk, &npm, "/work/package/node_modules/.bin/");
	STR("not a root: .bin", npm.package, "");
	sf_packages_exec(&pk, &npm, "/work/package/");
	STR("root", npm.package, "proj@1.0.0");
	STR("root path", npm.package_path, "");
	STR("root dir", npm.package_dir, "");

	/* npm runs a's script in a's directory */
	struct sf_proc a = npm; /* fork */
	sf_packages_exec(&pk, &a, "/work/package/node_modules/a/");
	STR("a", a.package, "a@1.0.0");
	STR("a path", a.package_path, "node_modules/a");
	STR("a dir", a.package_dir, "/work/package/node_modules/a");
	/* a's child chdir'ing out (to the project, to another package) stays a */
	struct sf_proc a2 = a;
	sf_packages_exec(&pk, &a2, "/work/package/");
	STR("a in the root", a2.package, "a@1.0.0");
	sf_packages_exec(&pk, &a2, "/work/package/node_modules/@s/d/lib/");
	STR("a in d", a2.package, "a@1.0.0");
	sf_packages_exec(&pk, &a2, "/tmp/");
	STR("a in /tmp", a2.package, "a@1.0.0");
	/* ...but a nested package of a's is b */
	struct sf_proc b = a;
	sf_packages_exec(&pk, &b, "/work/package/node_modules/a/node_modules/b/");
	STR("b", b.package, "b@2.0.0");
	STR("b path", b.package_path, "node_modules/a/node_modules/b");

	/* a process whose fork was not seen takes its parent's */
	struct sf_proc orphan = {.pid = 9, .parent = &b};
	sf_packages_adopt(&pk, &orphan);
	STR("unseen fork", orphan.package, "b@2.0.0");

	/* files */
	STR("a writes c", sf_packages_file_owner(&pk, &a, "/work/package/node_modules/c/index.js"),
	    "c");
	STR("a writes d", sf_packages_file_owner(&pk, &a, "/work/package/node_modules/@s/d/x"),
	    "@s/d@3.0.0");
	STR("a writes its own", sf_packages_file_owner(&pk, &a, "/work/package/node_modules/a/x"),
	    "");
	STR("a writes its nested b",
	    sf_packages_file_owner(&pk, &a, "/work/package/node_modules/a/node_modules/b/x"), "");
	STR("b writes a", sf_packages_file_owner(&pk, &b, "/work/package/node_modules/a/x"),
	    "a@1.0.0");
	STR("a links a bin", sf_packages_file_owner(&pk, &a, "/work/package/node_modules/.bin/x"),
	    "");
	STR("a writes the project", sf_packages_file_owner(&pk, &a, "/work/package/index.js"), "");
	STR("a writes /tmp", sf_packages_file_owner(&pk, &a, "/tmp/node_modules/x/y"), "");
	STR("npm extracts a", sf_packages_file_owner(&pk, &npm, "/work/package/node_modules/a/x"),
	    "a@1.0.0");
	STR("a renames onto a directory",
	    sf_packages_file_owner(&pk, &a, "/work/package/node_modules/c"), "c");

	/* hostile package.json files: the directory's name stands in */
	struct sf_proc h = npm;
	sf_packages_exec(&pk, &h, "/work/package/node_modules/esc/");
	STR("symlinked package.json", h.package, "esc");
	h = npm;
	sf_packages_exec(&pk, &h, "/work/package/node_modules/up/");
	STR("symlinked directory", h.package, "up");
	STR("fifo", sf_packages_file_owner(&pk, &a, "/work/package/node_modules/fifo/x"), "fifo");
	STR("weird name", sf_packages_file_owner(&pk, &a, "/work/package/node_modules/weird/x"),
	    "we?ird??[31m@1");

	/* c gets a package.json: read again in the next phase, in place */
	const char *c_id = sf_packages_file_owner(&pk, &a, "/work/package/node_modules/c/x");
	put("package/node_modules/c/package.json", "{\"name\": \"c\", \"version\": \"4.0.0\"}");
	STR("c, same phase", sf_packages_file_owner(&pk, &a, "/work/package/node_modules/c/x"),
	    "c");
	sf_packages_new_phase(&pk);
	STR("c, next phase", sf_packages_file_owner(&pk, &a, "/work/package/node_modules/c/x"),
	    "c@4.0.0");
	STR("c, the string first returned", c_id, "c@4.0.0");

	/* the cache is bounded: then one shared identity, and "" for files */
	for (int i = 0; i <= SF_PACKAGES_MAX; i++) {
		char p[128];
		snprintf(p, sizeof(p), "/work/package/node_modules/many%d/x", i);
		sf_packages_file_owner(&pk, &a, p);
	}
	CHECK(pk.truncated);
	STR("over the bound",
	    sf_packages_file_owner(&pk, &a, "/work/package/node_modules/one-more/x"), "");
	h = npm;
	sf_packages_exec(&pk, &h, "/work/package/node_modules/one-more/");
	STR("a process over the bound", h.package, "<too many packages>");
	CHECK(h.package_path && h.package_path[0]); /* still a dependency */
	STR("known ones still known", sf_packages_file_owner(&pk, &b, "/work/package/node_modules/a/x"),
	    "a@1.0.0");
	CHECK(!oom);
	sf_packages_free(&pk);
}

/* The project's root given by the job: known at the first exec, wherever. */
static void test_project_dir(void)
{
	bool oom = false;
	struct sf_packages pk;
	sf_packages_init(&pk, "/work", host, NULL, "/work/package/", &oom);
	struct sf_proc sh = {.pid = 1};
	sf_packages_adopt(&pk, &sh);
	sf_packages_exec(&pk, &sh, "/");
	STR("root by option", sh.package, "proj@1.0.0");
	struct sf_proc dep = sh;
	sf_packages_exec(&pk, &dep, "/work/package/node_modules/a/node_modules/b/");
	STR("nested by option", dep.package_path, "node_modules/a/node_modules/b");
	sf_packages_free(&pk);
}

/* PyPI's and RubyGems' package directories, and their identities. */
static void test_other_ecosystems(void)
{
	static const struct {
		const char *path, *dir;
	} py[] = {
	    {"/work/.venv/lib/python3.11/site-packages/foo-1.0.dist-info",
	     "/work/.venv/lib/python3.11/site-packages/foo-1.0.dist-info"},
	    {"/work/.venv/lib/python3.11/site-packages/foo-1.0.dist-info/",
	     "/work/.venv/lib/python3.11/site-packages/foo-1.0.dist-info"},
	    {"/work/.venv/lib/python3.11/site-packages/foo/x.py", ""},
	    {"/work/.tmp/pip-install-ab12/foo-bar_0f1e/build/lib",
	     "/work/.tmp/pip-install-ab12/foo-bar_0f1e"},
	    {"/work/.tmp/pip-download-x/foo_1/", "/work/.tmp/pip-download-x/foo_1"},
	    {"/work/.tmp/pip-req-build-zz/src", "/work/.tmp/pip-req-build-zz"},
	    {"/work/.tmp/pip-install-ab12", ""},
	    {"/work/.tmp/pip-install-ab12/.x", ""},
	    {"/work/foo-1.0/setup.py", ""},
	}, gem[] = {
	    {"/work/.gems/gems/bar-2.0/ext/bar", "/work/.gems/gems/bar-2.0"},
	    {"/work/.gems/gems/bar-baz-2.0.1-x86_64-linux/lib", "/work/.gems/gems/bar-baz-2.0.1-x86_64-linux"},
	    {"/work/.gems/gems/nover/lib", ""},
	    {"/work/.gems/specifications/bar-2.0.gemspec", ""},
	    {"/work/app/lib/gems/x", ""},
	};
	char got[256];
	for (size_t i = 0; i < sizeof(py) / sizeof(py[0]); i++) {
		snprintf(got, sizeof(got), "%.*s", (int)sf_packages_py_dir_len(py[i].path), py[i].path);
		STR(py[i].path, got, py[i].dir);
	}
	for (size_t i = 0; i < sizeof(gem) / sizeof(gem[0]); i++) {
		snprintf(got, sizeof(got), "%.*s", (int)sf_packages_gem_dir_len(gem[i].path), gem[i].path);
		STR(gem[i].path, got, gem[i].dir);
	}

	put(".venv/lib/python3.11/site-packages/foo-1.0.dist-info/METADATA",
	    "Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n\nName: not this\n");
	put(".tmp/pip-install-ab12/evil_0f1e/PKG-INFO", "Name: evil-pkg\nVersion: 6.6.6\n");
	put(".tmp/pip-install-ab12/nometa_1/setup.py", "");
	bool oom = false;
	struct sf_packages pk;
	sf_packages_init(&pk, "/work", host, NULL, "/work/foo-1.0", &oom);
	sf_packages_set_ecosystem(&pk, "pypi", "foo==1.0");
	struct sf_proc pip = {0}, setup = {.parent = &pip}, imp = {.parent = &pip}, other = {.parent = &pip};
	sf_packages_exec(&pk, &pip, "/work/foo-1.0/");
	STR("pip is the project's", pip.package, "foo==1.0");
	sf_packages_exec(&pk, &setup, "/work/.tmp/pip-install-ab12/evil_0f1e/");
	STR("a dependency's setup.py", setup.package, "evil-pkg==6.6.6");
	sf_packages_exec(&pk, &imp, "/work/.venv/lib/python3.11/site-packages/foo-1.0.dist-info");
	STR("an import", imp.package, "foo==1.0");
	sf_packages_exec(&pk, &other, "/work/.tmp/pip-install-ab12/nometa_1");
	STR("no PKG-INFO: the directory's name", other.package, "nometa_1");
	sf_packages_free(&pk);

	sf_packages_init(&pk, "/work", host, NULL, "/work", &oom);
	sf_packages_set_ecosystem(&pk, "rubygems", "app");
	struct sf_proc bundle = {0}, ext = {.parent = &bundle}, make = {.parent = &ext};
	sf_packages_exec(&pk, &bundle, "/work/app/");
	STR("bundler is the project's", bundle.package, "app");
	sf_packages_exec(&pk, &ext, "/work/.gems/gems/bar-2.0/ext/bar");
	STR("extconf.rb", ext.package, "bar-2.0");
	sf_packages_exec(&pk, &make, "/work/.gems/gems/bar-2.0/ext/bar/");
	STR("make below it", make.package, "bar-2.0");
	sf_packages_free(&pk);
	CHECK(!oom);
}

/* The project tree where a CI runner has it, the tree's host side its
 * directory "package": the same attribution, and nothing under /work. */
static void test_workspace(void)
{
	bool oom = false;
	struct sf_packages pk;
	char tree[128];
	snprintf(tree, sizeof(tree), "%s/package", host);
	sf_packages_init(&pk, "/builds/acme/web-app", tree, NULL, NULL, &oom);
	struct sf_proc npm = {.pid = 2};
	sf_packages_exec(&pk, &npm, "/builds/acme/web-app/");
	STR("the project found at the workspace", npm.package, "proj@1.0.0");
	struct sf_proc a = npm;
	sf_packages_exec(&pk, &a, "/builds/acme/web-app/node_modules/a/");
	STR("a in the workspace", a.package, "a@1.0.0");
	STR("a's path in the workspace", a.package_path, "node_modules/a");
	STR("b in the workspace",
	    sf_packages_file_owner(&pk, &a, "/builds/acme/web-app/node_modules/a/node_modules/b/x"), "");
	STR("a writes d", sf_packages_file_owner(&pk, &a, "/builds/acme/web-app/node_modules/@s/d/x"),
	    "@s/d@3.0.0");
	/* the same names elsewhere are no package of the tree's: the process
	 * stays the project's */
	struct sf_proc w = npm;
	sf_packages_exec(&pk, &w, "/work/package/node_modules/a/");
	STR("outside the workspace", w.package, "proj@1.0.0");
	sf_packages_free(&pk);
	/* a workspace inside the home (GitHub's): the home is not the tree */
	sf_packages_init(&pk, "/home/runner/_work/web-app/web-app/", tree, NULL,
			 "/home/runner/_work/web-app/web-app", &oom);
	struct sf_proc g = {.pid = 3};
	sf_packages_exec(&pk, &g, "/home/runner/_work/web-app/web-app/node_modules/@s/d/");
	STR("d in GitHub's workspace", g.package, "@s/d@3.0.0");
	STR("the home's files are no package's",
	    sf_packages_file_owner(&pk, &g, "/home/runner/node_modules/a/x"), "");
	CHECK(!oom);
	sf_packages_free(&pk);
}

int main(void)
{
	alarm(60); /* a FIFO that blocked would hang us: fail instead */
	snprintf(host, sizeof(host), "/tmp/sf-packages-XXXXXX");
	if (!mkdtemp(host))
		SKIP("mkdtemp failed");
	test_dir_len();
	make_tree();
	test_attribution();
	test_project_dir();
	test_workspace();
	test_other_ecosystems();
	sf_rmtree(host);
	TEST_DONE();
}
