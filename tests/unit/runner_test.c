/*
 * runner_test — the sandbox's CI-runner look (worker/sandbox/runner.c):
 * a scan's look is reproducible from its id and varies between scans
 * across every pattern; host names, paths and variables have the shapes
 * real runners give them; nothing in a look names the product, a scanner,
 * a sandbox or an analysis; the files and mount list a look gives the
 * container; and the rules' workspace and home lists (rules/00-macros.yaml)
 * name exactly the runner's.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "runner.h"
#include "util.h"

static const char *const forbidden[] = {"scanfarm", "sandbox", "scanner", "analysis", "analyzer",
					"malware", "falco",	"honeypot", "canary", "detonat",
					"sinkhole", "ebpf"};

static bool clean(const char *s)
{
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
		if (strcasestr(s, forbidden[i])) {
			fprintf(stderr, "  '%s' names '%s'\n", s, forbidden[i]);
			return false;
		}
	return true;
}

static bool matches(const char *s, const char *re)
{
	regex_t r;
	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB))
		return false;
	bool ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	if (!ok)
		fprintf(stderr, "  '%s' !~ %s\n", s, re);
	return ok;
}

static const char *env_get(const struct sf_argv *e, const char *key)
{
	size_t n = strlen(key);
	for (int i = 0; i < e->n; i++)
		if (!strncmp(e->v[i], key, n) && e->v[i][n] == '=')
			return e->v[i] + n + 1;
	return NULL;
}

static bool one_of(const char *s, const char *const *list, size_t n, bool prefix)
{
	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(list[i]);
		if (prefix ? !strncmp(s, list[i], k) && s[k] == '/' : !strcmp(s, list[i]))
			return true;
	}
	return false;
}

static const char *const workspaces[] = {SF_RUNNER_WORKSPACES};
static const char *const homes[] = {SF_RUNNER_HOMES};

/* The CI variables of a look, as its runner sets them. */
static void check_env(const struct sf_runner *r)
{
	struct sf_argv e = {0};
	sf_runner_env(r, &e);
	CHECK(!e.oom);
	CHECK(env_get(&e, "CI") && !strcmp(env_get(&e, "CI"), "true"));
	CHECK(!strcmp(env_get(&e, "HOME"), r->home) && !strcmp(env_get(&e, "HOSTNAME"), r->hostname));
	for (int i = 0; i < e.n; i++) {
		CHECK(clean(e.v[i]));
		size_t k = strcspn(e.v[i], "=");
		for (int j = 0; j < i; j++) /* no variable twice */
			CHECK(strncmp(e.v[j], e.v[i], k + 1) != 0);
	}
	if (r->kind == SF_RUNNER_GITHUB_ARC) {
		CHECK(!strcmp(env_get(&e, "GITHUB_ACTIONS"), "true") && !env_get(&e, "GITLAB_CI"));
		CHECK(!strcmp(env_get(&e, "GITHUB_WORKSPACE"), r->project_dir));
		CHECK(!strcmp(env_get(&e, "RUNNER_NAME"), r->hostname));
		CHECK(matches(env_get(&e, "GITHUB_SHA"), "^[0-9a-f]{40}$"));
		CHECK(matches(env_get(&e, "GITHUB_RUN_ID"), "^[0-9]{11}$"));
		CHECK(matches(env_get(&e, "GITHUB_REPOSITORY"), "^[a-z0-9-]+/[a-z0-9-]+$"));
		CHECK(matches(env_get(&e, "GITHUB_REF"), "^refs/heads/[a-z0-9/-]+$"));
		CHECK(matches(env_get(&e, "GITHUB_ENV"), "^/home/runner/_work/_temp/_runner_file_commands/set_env_[0-9a-f-]{36}$"));
		CHECK(env_get(&e, "KUBERNETES_SERVICE_HOST") != NULL);
	} else {
		CHECK(!strcmp(env_get(&e, "GITLAB_CI"), "true") && !env_get(&e, "GITHUB_ACTIONS"));
		CHECK(!strcmp(env_get(&e, "CI_PROJECT_DIR"), r->project_dir));
		CHECK(matches(env_get(&e, "CI_COMMIT_SHA"), "^[0-9a-f]{40}$"));
		CHECK(matches(env_get(&e, "CI_JOB_ID"), "^[0-9]{10}$"));
		CHECK(matches(env_get(&e, "CI_SERVER_URL"), "^https://[a-z.]+$"));
		CHECK(matches(env_get(&e, "CI_COMMIT_REF_SLUG"), "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"));
		char want[256];
		snprintf(want, sizeof(want), "%s/%s", env_get(&e, "CI_PROJECT_NAMESPACE"),
			 env_get(&e, "CI_PROJECT_NAME"));
		CHECK(!strcmp(env_get(&e, "CI_PROJECT_PATH"), want));
		snprintf(want, sizeof(want), "runner-%s-project-%s-concurrent-%s",
			 env_get(&e, "CI_RUNNER_SHORT_TOKEN"), env_get(&e, "CI_PROJECT_ID"),
			 env_get(&e, "CI_CONCURRENT_ID"));
		CHECK(!strncmp(r->hostname, want, strlen(want)));
		CHECK((env_get(&e, "KUBERNETES_SERVICE_HOST") != NULL) == (r->kind == SF_RUNNER_GITLAB_K8S));
		/* the job token is a secret: canary.h adds it, the look does not */
		CHECK(!env_get(&e, "CI_JOB_TOKEN") && !env_get(&e, "CI_REPOSITORY_URL"));
	}
	sf_argv_free(&e);
}

static void check_look(const struct sf_runner *r)
{
	static const char *const host_re[] = {
	    "^runner-[a-z0-9]{8}-project-[0-9]+-concurrent-[0-3]$",
	    "^runner-[a-z0-9]{8}-project-[0-9]+-concurrent-[0-3]-[a-z0-9]{8}$",
	    "^[a-z0-9-]+-[a-z0-9]{5}-runner-[a-z0-9]{5}$"};
	CHECK(matches(r->hostname, host_re[r->kind]));
	CHECK(strlen(r->hostname) <= 63);
	CHECK(one_of(r->project_dir, workspaces, sizeof(workspaces) / sizeof(workspaces[0]), true));
	CHECK(one_of(r->home, homes, sizeof(homes) / sizeof(homes[0]), false));
	const char *const fields[] = {r->hostname, r->user,  r->home,	   r->project_dir, r->owner,
				      r->repo,	   r->server, r->actor,	   r->actor_name,  r->branch,
				      r->title,	   r->job_name, r->runner_name};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		CHECK(clean(fields[i]));
	check_env(r);
}

/* The same id, the same look; many ids, every pattern and many hosts. */
static void test_choose(void)
{
	struct sf_runner a, b;
	sf_runner_choose(&a, "0b6f4c0e-3d5e-4c1a-9a63-5f8d2b7e1c44");
	sf_runner_choose(&b, "0b6f4c0e-3d5e-4c1a-9a63-5f8d2b7e1c44");
	memset(a.started, 0, sizeof(a.started)); /* the job's start time is the clock's */
	memset(b.started, 0, sizeof(b.started));
	CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	int kinds[3] = {0}, distinct = 0;
	static char hosts[300][96];
	for (int i = 0; i < 300; i++) {
		char id[64];
		char u[33];
		snprintf(u, sizeof(u), "%08x%08x%08x%08x", i * 2654435761u, i, ~i, i * 40503u);
		snprintf(id, sizeof(id), "%.8s-%.4s-4%.3s-a%.3s-%.12s", u, u + 8, u + 12, u + 15, u + 18);
		sf_runner_choose(&a, id);
		kinds[a.kind]++;
		check_look(&a);
		bool seen = false;
		for (int j = 0; j < distinct && !seen; j++)
			seen = !strcmp(hosts[j], a.hostname);
		if (!seen)
			snprintf(hosts[distinct++], sizeof(hosts[0]), "%s", a.hostname);
	}
	CHECK(kinds[0] > 60 && kinds[1] > 30 && kinds[2] > 60);
	CHECK(distinct > 290);
}

/* Items of "- list: NAME" in a rules file: [a, b] on the next line. */
static int rules_list(const char *text, const char *name, char items[8][64])
{
	char key[128];
	snprintf(key, sizeof(key), "- list: %s\n  items: [", name);
	const char *p = strstr(text, key);
	if (!p)
		return -1;
	p += strlen(key);
	int n = 0;
	while (*p && *p != ']' && n < 8) {
		p += strspn(p, " ,\n");
		size_t k = strcspn(p, ",]\n ");
		snprintf(items[n++], 64, "%.*s", (int)k, p);
		p += k;
		p += strspn(p, " \n");
		if (*p == ',')
			p++;
	}
	return n;
}

static void test_rules_agree(void)
{
	char *text = NULL, items[8][64];
	size_t len;
	CHECK_EQ(sf_read_file(SF_RULES_DIR "/00-macros.yaml", 1 << 20, &text, &len), 0);
	if (!text)
		return;
	int n = rules_list(text, "sf_package_trees", items);
	CHECK_EQ(n, (int)(sizeof(workspaces) / sizeof(workspaces[0])));
	for (int i = 0; i < n; i++)
		CHECK(one_of(items[i], workspaces, sizeof(workspaces) / sizeof(workspaces[0]), false));
	n = rules_list(text, "sf_home_directories", items);
	CHECK_EQ(n, (int)(sizeof(homes) / sizeof(homes[0])));
	for (int i = 0; i < n; i++)
		CHECK(one_of(items[i], homes, sizeof(homes) / sizeof(homes[0]), false));
	free(text);
}

static void put(const char *dir, const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	*strrchr(path, '/') = 0;
	sf_mkdirs(path, 0755);
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	sf_write_file(path, text, strlen(text));
}

static bool has(const char *path, const char *needle)
{
	char *t = NULL;
	size_t n;
	bool ok = sf_read_file(path, 1 << 20, &t, &n) == 0 && strstr(t, needle);
	free(t);
	return ok;
}

/* The files a look gives the container, in a scratch directory. */
static void test_prepare(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "(not root: the prepared files' owners are not checked)\n");
		return;
	}
	char root[] = "/tmp/runner-test-XXXXXX";
	if (!mkdtemp(root))
		return;
	char rootfs[64], scratch[64], err[256], path[600];
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", root);
	snprintf(scratch, sizeof(scratch), "%s/scratch", root);
	put(rootfs, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\nold:x:1000:1000::/home/old:/bin/sh\n");
	put(rootfs, "etc/group", "root:x:0:\n");
	put(rootfs, "etc/skel/.bashrc", "# ~/.bashrc\n");
	for (int k = 0; k < 3; k++) {
		struct sf_runner r;
		char id[16];
		for (int i = 0;; i++) { /* a look of each pattern */
			snprintf(id, sizeof(id), "id-%d", i);
			sf_runner_choose(&r, id);
			if ((int)r.kind == k)
				break;
		}
		sf_rmtree(scratch);
		sf_mkdirs(scratch, 0755);
		CHECK_EQ(sf_runner_prepare(&r, rootfs, scratch, 1000, 1000, err, sizeof(err)), 0);
		snprintf(path, sizeof(path), "%s/etc/passwd", scratch);
		char line[200];
		snprintf(line, sizeof(line), "\n%s:x:1000:1000:", r.user);
		CHECK(has(path, line) && has(path, "root:x:0:0") && !has(path, "old:x:1000"));
		snprintf(path, sizeof(path), "%s/etc/hosts", scratch);
		CHECK(has(path, r.hostname) && has(path, "localhost"));
		snprintf(path, sizeof(path), "%s/etc/hostname", scratch);
		CHECK(has(path, r.hostname));
		char home[4400];
		sf_runner_home_host(&r, scratch, home, sizeof(home));
		struct stat st;
		CHECK(stat(home, &st) == 0 && st.st_uid == 1000 && S_ISDIR(st.st_mode));
		snprintf(path, sizeof(path), "%s/.bashrc", home);
		CHECK(stat(path, &st) == 0 && st.st_uid == 1000);
		/* the project's mount point inside the look's tree */
		snprintf(path, sizeof(path), "%s%s", scratch, r.project_dir);
		CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
		if (r.kind == SF_RUNNER_GITHUB_ARC) {
			snprintf(path, sizeof(path), "%s/_work/_temp/_github_workflow/event.json", home);
			CHECK(has(path, r.sha) && has(path, r.repo));
			snprintf(path, sizeof(path), "%s/_work/_temp/_runner_file_commands/set_env_%s", home,
				 r.uuid);
			CHECK(stat(path, &st) == 0);
		}
		struct sf_runner_mount m[8];
		int n = sf_runner_mounts(&r, scratch, m, 8);
		CHECK_EQ(n, r.kind == SF_RUNNER_GITHUB_ARC ? 5 : 6);
		CHECK(!strcmp(m[0].dest, "/home") && m[0].dir);
		for (int i = 0; i < n; i++)
			CHECK(!strncmp(m[i].source, scratch, strlen(scratch)) && stat(m[i].source, &st) == 0);
	}
	sf_rmtree(root);
}

int main(void)
{
	test_choose();
	test_rules_agree();
	test_prepare();
	TEST_DONE();
}
