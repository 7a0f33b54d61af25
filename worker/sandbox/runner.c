/* runner — see runner.h. */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* --- the look's random source: SHA-256 of the seed and a counter ---------- */

struct runner_rng {
	unsigned char seed[32];
	uint32_t ctr;
	unsigned char block[32];
	unsigned pos;
};

static void runner_sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned int n = 32;
	if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL))
		memset(out, 0, 32); /* cannot happen with a built-in digest */
}

static uint32_t rng_u32(struct runner_rng *g)
{
	if (g->pos == 0 || g->pos + 4 > sizeof(g->block)) {
		unsigned char in[36];
		memcpy(in, g->seed, 32);
		memcpy(in + 32, &g->ctr, 4);
		g->ctr++;
		runner_sha256(in, sizeof(in), g->block);
		g->pos = 0;
	}
	uint32_t v;
	memcpy(&v, g->block + g->pos, 4);
	g->pos += 4;
	return v;
}

static long long rng_range(struct runner_rng *g, long long lo, long long hi)
{
	uint64_t v = (uint64_t)rng_u32(g) << 32 | rng_u32(g);
	return lo + (long long)(v % (uint64_t)(hi - lo + 1));
}

#define PICK(g, list) ((list)[rng_range((g), 0, (long long)N(list) - 1)])

static void rng_chars(struct runner_rng *g, const char *alphabet, size_t n, char *out)
{
	size_t k = strlen(alphabet);
	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[rng_range(g, 0, (long long)k - 1)];
	out[n] = 0;
}

static const char runner_lower_alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
static const char runner_hexdigits[] = "0123456789abcdef";

/* --- what names are drawn from (none names the product, a scanner, a
 * sandbox or an analysis: runner_test checks) ------------------------------ */

static const char *const runner_owners[] = {
    "northwind",   "bluebird-labs", "orbital",	    "ironbridge",   "pixelforge",  "riverbank",
    "tinkerhub",   "vectorly",	    "zenith-dev",   "greenleaf",    "cloudworks",  "fintrack",
    "datapipe",	   "sunset-apps",   "quantaloop",   "harborline",   "kestrel-io",  "mapleworks",
    "copperfield", "lumen-studio",  "brightpath",   "atlas-digital", "redwood-eng", "nimbus-hq"};
static const char *const runner_subgroups[] = {"platform", "web",     "backend", "frontend",
					       "mobile",   "services", "apps",    "tools"};
static const char *const runner_repos[] = {
    "web-app",	      "api-server",	 "dashboard",	   "frontend",	      "checkout-service",
    "admin-portal",   "docs-site",	 "mobile-bff",	   "auth-service",    "billing-api",
    "landing-page",   "design-system",	 "notification-worker", "search-ui",  "inventory-api",
    "customer-portal", "storefront",	 "cms",		   "chat-widget",     "report-builder",
    "scheduler",      "gateway",	 "image-resizer",  "status-page",     "feature-flags",
    "onboarding",     "crm-sync",	 "events-api",	   "order-service",   "ui-kit"};
static const char *const runner_people[][2] = {
    {"jdoe", "Jane Doe"},	     {"mkowalski", "Marta Kowalski"}, {"lchen", "Li Chen"},
    {"rpatel", "Ravi Patel"},	     {"tnguyen", "Thanh Nguyen"},     {"dgarcia", "Diego Garcia"},
    {"emartin", "Emma Martin"},	     {"kwilliams", "Kevin Williams"}, {"sbrown", "Sarah Brown"},
    {"ojohnson", "Olivia Johnson"}, {"hmueller", "Hannah Mueller"}, {"ymori", "Yuki Mori"},
    {"fsilva", "Felipe Silva"},	     {"ppetrov", "Pavel Petrov"},     {"aokafor", "Ada Okafor"},
    {"nlindqvist", "Nils Lindqvist"}};
static const char *const runner_topics[] = {"search", "login",	 "cache",  "retry",   "upload",
					    "billing", "i18n",	 "filters", "signup", "metrics",
					    "sidebar", "webhooks", "export", "dark-mode"};
static const char *const runner_titles[] = {
    "Update dependencies",	    "Fix flaky test in checkout flow", "chore: update lockfile",
    "feat: add search filters",	    "fix: handle empty API response",  "Bump eslint to 8.57.0",
    "Merge branch 'develop'",	    "refactor: split config loader",   "ci: cache node_modules",
    "Add retry to upload client",   "docs: update README",	       "fix(auth): refresh token expiry",
    "Upgrade to Node 18",	    "perf: lazy-load dashboard charts"};
static const char *const runner_jobs[] = {"build", "test", "install", "lint", "unit-tests",
					  "npm-ci", "build-and-test", "test:unit"};
static const char *const runner_companies[] = {"northwind", "harborline", "kestrel", "copperfield",
					       "brightpath", "mapleworks", "redwood", "atlasdigital"};
static const char *const runner_scale_sets[] = {"arc-runner-set", "linux-runners", "k8s-runners",
						"ci-runners",	  "build-runners", "self-hosted-x64"};
static const char *const runner_gitlab_descr[] = {"docker-runner-01", "shared-docker-2",
						  "ci-docker-runner", "gitlab-runner-prod",
						  "build-runner-03", "docker-autoscaler"};
static const char *const runner_k8s_descr[] = {"k8s-runner", "gitlab-runner-eks", "kube-runner-prod",
					       "gke-ci-runner", "runner-k8s-01"};
static const char *const runner_k8s_api[] = {"10.96.0.1", "10.100.0.1", "10.43.0.1", "172.20.0.1"};
static const char *const runner_node_images[] = {"node:18-bookworm", "node:18", "node:18-bookworm-slim",
						 "node:lts-bookworm", "node:18.19-bookworm"};
static const char *const runner_gitlab_versions[] = {"17.3.1", "17.4.2", "17.5.3", "17.6.1",
						     "17.7.0", "16.11.4"};
static const char *const runner_workflows[] = {"CI", "Build", "Node.js CI", "build-and-test", "Test"};

/* --- choosing -------------------------------------------------------------- */

static void runner_hex(struct runner_rng *g, char *out, size_t n) { rng_chars(g, runner_hexdigits, n, out); }

static void runner_branch(struct runner_rng *g, struct sf_runner *r)
{
	long long k = rng_range(g, 0, 99);
	if (k < 55)
		snprintf(r->branch, sizeof(r->branch), "main");
	else if (k < 65)
		snprintf(r->branch, sizeof(r->branch), "master");
	else if (k < 75)
		snprintf(r->branch, sizeof(r->branch), "develop");
	else if (k < 90)
		snprintf(r->branch, sizeof(r->branch), "feature/%s-%lld", PICK(g, runner_topics),
			 rng_range(g, 10, 999));
	else
		snprintf(r->branch, sizeof(r->branch), "fix/%s", PICK(g, runner_topics));
}

/* What every look has: the project, the commit, who pushed it, the ids. */
static void runner_common(struct runner_rng *g, struct sf_runner *r)
{
	const char *owner = PICK(g, runner_owners);
	if (r->kind != SF_RUNNER_GITHUB_ARC && rng_range(g, 0, 9) < 4)
		snprintf(r->owner, sizeof(r->owner), "%s/%s", owner, PICK(g, runner_subgroups));
	else
		snprintf(r->owner, sizeof(r->owner), "%s", owner);
	snprintf(r->repo, sizeof(r->repo), "%s", PICK(g, runner_repos));
	long long who = rng_range(g, 0, (long long)N(runner_people) - 1);
	snprintf(r->actor, sizeof(r->actor), "%s", runner_people[who][0]);
	snprintf(r->actor_name, sizeof(r->actor_name), "%s", runner_people[who][1]);
	runner_branch(g, r);
	runner_hex(g, r->sha, 40);
	runner_hex(g, r->before_sha, 40);
	snprintf(r->title, sizeof(r->title), "%s", PICK(g, runner_titles));
	snprintf(r->job_name, sizeof(r->job_name), "%s", PICK(g, runner_jobs));
	rng_chars(g, runner_lower_alnum, 8, r->token8);
	char u[33];
	runner_hex(g, u, 32);
	snprintf(r->uuid, sizeof(r->uuid), "%.8s-%.4s-4%.3s-%c%.3s-%.12s", u, u + 8, u + 12,
		 "89ab"[rng_range(g, 0, 3)], u + 15, u + 18);
	snprintf(r->k8s_api, sizeof(r->k8s_api), "%s", PICK(g, runner_k8s_api));
	r->concurrent = (int)rng_range(g, 0, 3);
	r->user_id = rng_range(g, 100000, 24000000);
	r->pipeline_iid = rng_range(g, 12, 4800);
	time_t now = time(NULL) - (time_t)rng_range(g, 5, 40);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(r->started, sizeof(r->started), "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void runner_gitlab(struct runner_rng *g, struct sf_runner *r)
{
	if (rng_range(g, 0, 9) < 6)
		snprintf(r->server, sizeof(r->server), "gitlab.com");
	else
		snprintf(r->server, sizeof(r->server), "%s.%s.%s",
			 rng_range(g, 0, 1) ? "gitlab" : "git", PICK(g, runner_companies),
			 rng_range(g, 0, 1) ? "com" : "io");
	r->project_id = rng_range(g, 1000000, 64000000);
	r->job_id = rng_range(g, 5000000000LL, 9800000000LL);
	r->pipeline_id = rng_range(g, 1100000000LL, 1900000000LL);
	r->runner_id = rng_range(g, 100000, 42000000);
	snprintf(r->user, sizeof(r->user), "node");
	snprintf(r->home, sizeof(r->home), "/home/node");
	snprintf(r->project_dir, sizeof(r->project_dir), "/builds/%s/%s", r->owner, r->repo);
	if (r->kind == SF_RUNNER_GITLAB_DOCKER) {
		snprintf(r->hostname, sizeof(r->hostname), "runner-%s-project-%lld-concurrent-%d",
			 r->token8, r->project_id, r->concurrent);
		snprintf(r->runner_name, sizeof(r->runner_name), "%s", PICK(g, runner_gitlab_descr));
		snprintf(r->ip, sizeof(r->ip), "172.17.0.%lld", rng_range(g, 2, 40));
	} else {
		char pod[9];
		rng_chars(g, runner_lower_alnum, 8, pod);
		snprintf(r->hostname, sizeof(r->hostname), "runner-%s-project-%lld-concurrent-%d-%s",
			 r->token8, r->project_id, r->concurrent, pod);
		snprintf(r->runner_name, sizeof(r->runner_name), "%s", PICK(g, runner_k8s_descr));
		snprintf(r->ip, sizeof(r->ip), "10.%lld.%lld.%lld", rng_range(g, 0, 255),
			 rng_range(g, 0, 255), rng_range(g, 2, 254));
	}
}

static void runner_github(struct runner_rng *g, struct sf_runner *r)
{
	snprintf(r->server, sizeof(r->server), "github.com");
	r->project_id = rng_range(g, 300000000, 980000000); /* the repository's id */
	r->job_id = rng_range(g, 30000000000LL, 36000000000LL);
	r->pipeline_id = rng_range(g, 11000000000LL, 13500000000LL); /* the run's id */
	r->runner_id = rng_range(g, 1, 400);
	snprintf(r->user, sizeof(r->user), "runner");
	snprintf(r->home, sizeof(r->home), "/home/runner");
	snprintf(r->project_dir, sizeof(r->project_dir), "/home/runner/_work/%s/%s", r->repo,
		 r->repo);
	char a[6], b[6];
	rng_chars(g, runner_lower_alnum, 5, a);
	rng_chars(g, runner_lower_alnum, 5, b);
	snprintf(r->hostname, sizeof(r->hostname), "%s-%s-runner-%s", PICK(g, runner_scale_sets), a,
		 b);
	snprintf(r->runner_name, sizeof(r->runner_name), "%s", r->hostname);
	snprintf(r->ip, sizeof(r->ip), "10.%lld.%lld.%lld", rng_range(g, 0, 255),
		 rng_range(g, 0, 255), rng_range(g, 2, 254));
}

void sf_runner_choose(struct sf_runner *r, const char *scan_id)
{
	static const char domain[] = "runner-look\n";
	char in[sizeof(domain) + 256];
	size_t n = (size_t)snprintf(in, sizeof(in), "%s%s", domain, scan_id ? scan_id : "");
	memset(r, 0, sizeof(*r));
	struct runner_rng g = {.pos = 0};
	runner_sha256(in, n < sizeof(in) ? n : sizeof(in) - 1, g.seed);
	memcpy(r->seed, g.seed, sizeof(r->seed));
	long long k = rng_range(&g, 0, 99);
	r->kind = k < 40 ? SF_RUNNER_GITLAB_DOCKER : k < 65 ? SF_RUNNER_GITLAB_K8S : SF_RUNNER_GITHUB_ARC;
	runner_common(&g, r);
	if (r->kind == SF_RUNNER_GITHUB_ARC)
		runner_github(&g, r);
	else
		runner_gitlab(&g, r);
}

const char *sf_runner_kind_name(const struct sf_runner *r)
{
	static const char *const names[] = {"gitlab-docker", "gitlab-k8s", "github-arc"};
	return names[r->kind];
}

/* --- the environment --------------------------------------------------------- */

/* GitLab's slug: lower case, [a-z0-9] kept, the rest '-', at most 63,
 * no '-' at either end. */
static void runner_slug(const char *s, char *out, size_t len)
{
	size_t o = 0;
	for (; *s && o + 1 < len && o < 63; s++) {
		char c = *s >= 'A' && *s <= 'Z' ? (char)(*s + 32) : *s;
		out[o++] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? c : '-';
	}
	while (o > 0 && out[o - 1] == '-')
		o--;
	out[o] = 0;
	size_t lead = strspn(out, "-");
	memmove(out, out + lead, strlen(out + lead) + 1);
}

/* A value drawn from the seed again, for what only the environment
 * shows (so it too is the same for every phase of the scan). */
static long long runner_draw(const struct sf_runner *r, uint32_t salt, long long lo, long long hi)
{
	struct runner_rng g = {.pos = 0};
	memcpy(g.seed, r->seed, sizeof(g.seed));
	g.ctr = 0x40000000u + salt;
	return rng_range(&g, lo, hi);
}

static void runner_env_gitlab_server(const struct sf_runner *r, struct sf_argv *e)
{
	bool saas = !strcmp(r->server, "gitlab.com");
	const char *version = runner_gitlab_versions[runner_draw(r, 1, 0, N(runner_gitlab_versions) - 1)];
	int major = 0, minor = 0, patch = 0;
	sscanf(version, "%d.%d.%d", &major, &minor, &patch);
	sf_argv_add(e, "CI_SERVER=yes");
	sf_argv_add(e, "CI_SERVER_NAME=GitLab");
	sf_argv_add(e, "CI_SERVER_HOST=%s", r->server);
	sf_argv_add(e, "CI_SERVER_FQDN=%s", r->server);
	sf_argv_add(e, "CI_SERVER_PORT=443");
	sf_argv_add(e, "CI_SERVER_PROTOCOL=https");
	sf_argv_add(e, "CI_SERVER_URL=https://%s", r->server);
	sf_argv_add(e, "CI_SERVER_SHELL_SSH_HOST=%s", r->server);
	sf_argv_add(e, "CI_SERVER_SHELL_SSH_PORT=22");
	sf_argv_add(e, "CI_SERVER_VERSION=%d.%d.%d%s", major, minor + (saas ? 1 : 0),
		    saas ? 0 : patch, saas ? "-pre" : "-ee");
	sf_argv_add(e, "CI_SERVER_VERSION_MAJOR=%d", major);
	sf_argv_add(e, "CI_SERVER_VERSION_MINOR=%d", minor + (saas ? 1 : 0));
	sf_argv_add(e, "CI_SERVER_VERSION_PATCH=%d", saas ? 0 : patch);
	sf_argv_add(e, "CI_SERVER_REVISION=%.11s", r->before_sha + 20);
	sf_argv_add(e, "CI_API_V4_URL=https://%s/api/v4", r->server);
	sf_argv_add(e, "CI_API_GRAPHQL_URL=https://%s/api/graphql", r->server);
	sf_argv_add(e, "CI_TEMPLATE_REGISTRY_HOST=registry.gitlab.com");
	if (saas)
		sf_argv_add(e, "CI_REGISTRY=registry.gitlab.com");
	else
		sf_argv_add(e, "CI_REGISTRY=%s:5050", r->server);
	sf_argv_add(e, "CI_REGISTRY_IMAGE=%s%s/%s/%s", saas ? "registry.gitlab.com" : r->server,
		    saas ? "" : ":5050", r->owner, r->repo);
	sf_argv_add(e, "CI_REGISTRY_USER=gitlab-ci-token");
	sf_argv_add(e, "CI_DEPENDENCY_PROXY_SERVER=%s:443", r->server);
	sf_argv_add(e, "CI_DEPENDENCY_PROXY_USER=gitlab-ci-token");
	sf_argv_add(e, "CI_RUNNER_ID=%lld", r->runner_id);
	sf_argv_add(e, "CI_RUNNER_DESCRIPTION=%s", r->runner_name);
	sf_argv_add(e, "CI_RUNNER_SHORT_TOKEN=%s", r->token8);
	sf_argv_add(e, "CI_RUNNER_TAGS=[\"%s\", \"linux\"]",
		    r->kind == SF_RUNNER_GITLAB_K8S ? "kubernetes" : "docker");
	sf_argv_add(e, "CI_RUNNER_VERSION=%s", version);
	sf_argv_add(e, "CI_RUNNER_REVISION=%.8s", r->before_sha + 4);
	sf_argv_add(e, "CI_RUNNER_EXECUTABLE_ARCH=linux/amd64");
}

static void runner_env_gitlab(const struct sf_runner *r, struct sf_argv *e)
{
	char ref_slug[64], path_slug[160], job_slug[64];
	runner_slug(r->branch, ref_slug, sizeof(ref_slug));
	char path[200];
	snprintf(path, sizeof(path), "%s/%s", r->owner, r->repo);
	runner_slug(path, path_slug, sizeof(path_slug));
	runner_slug(r->job_name, job_slug, sizeof(job_slug));
	const char *root_ns = r->owner;
	size_t root_len = strcspn(r->owner, "/");
	const char *def = !strcmp(r->branch, "master") ? "master" : "main";
	sf_argv_add(e, "GITLAB_CI=true");
	runner_env_gitlab_server(r, e);
	sf_argv_add(e, "CI_BUILDS_DIR=/builds");
	sf_argv_add(e, "CI_PROJECT_DIR=%s", r->project_dir);
	sf_argv_add(e, "CI_CONCURRENT_ID=%d", r->concurrent);
	sf_argv_add(e, "CI_CONCURRENT_PROJECT_ID=%d", r->concurrent);
	sf_argv_add(e, "CI_PROJECT_ID=%lld", r->project_id);
	sf_argv_add(e, "CI_PROJECT_NAME=%s", r->repo);
	sf_argv_add(e, "CI_PROJECT_TITLE=%s", r->repo);
	sf_argv_add(e, "CI_PROJECT_PATH=%s", path);
	sf_argv_add(e, "CI_PROJECT_PATH_SLUG=%s", path_slug);
	sf_argv_add(e, "CI_PROJECT_NAMESPACE=%s", r->owner);
	sf_argv_add(e, "CI_PROJECT_NAMESPACE_ID=%lld", runner_draw(r, 2, 1000000, 90000000));
	sf_argv_add(e, "CI_PROJECT_ROOT_NAMESPACE=%.*s", (int)root_len, root_ns);
	sf_argv_add(e, "CI_PROJECT_URL=https://%s/%s", r->server, path);
	sf_argv_add(e, "CI_PROJECT_VISIBILITY=%s", runner_draw(r, 3, 0, 3) ? "private" : "internal");
	sf_argv_add(e, "CI_PROJECT_REPOSITORY_LANGUAGES=%s",
		    runner_draw(r, 4, 0, 1) ? "typescript,javascript" : "javascript,css,html");
	sf_argv_add(e, "CI_PROJECT_CLASSIFICATION_LABEL=");
	sf_argv_add(e, "CI_DEFAULT_BRANCH=%s", def);
	sf_argv_add(e, "CI_CONFIG_PATH=.gitlab-ci.yml");
	sf_argv_add(e, "CI_COMMIT_SHA=%s", r->sha);
	sf_argv_add(e, "CI_COMMIT_SHORT_SHA=%.8s", r->sha);
	sf_argv_add(e, "CI_COMMIT_BEFORE_SHA=%s", r->before_sha);
	sf_argv_add(e, "CI_COMMIT_REF_NAME=%s", r->branch);
	sf_argv_add(e, "CI_COMMIT_REF_SLUG=%s", ref_slug);
	sf_argv_add(e, "CI_COMMIT_BRANCH=%s", r->branch);
	sf_argv_add(e, "CI_COMMIT_REF_PROTECTED=%s", strcmp(r->branch, def) ? "false" : "true");
	sf_argv_add(e, "CI_COMMIT_TITLE=%s", r->title);
	sf_argv_add(e, "CI_COMMIT_MESSAGE=%s\n", r->title);
	sf_argv_add(e, "CI_COMMIT_DESCRIPTION=");
	sf_argv_add(e, "CI_COMMIT_AUTHOR=%s <%s@%s>", r->actor_name, r->actor,
		    strcmp(r->server, "gitlab.com") ? r->server + strcspn(r->server, ".") + 1
						    : "users.noreply.gitlab.com");
	sf_argv_add(e, "CI_COMMIT_TIMESTAMP=%.19s+00:00", r->started);
	sf_argv_add(e, "CI_JOB_ID=%lld", r->job_id);
	sf_argv_add(e, "CI_JOB_NAME=%s", r->job_name);
	sf_argv_add(e, "CI_JOB_NAME_SLUG=%s", job_slug);
	sf_argv_add(e, "CI_JOB_STAGE=%s", strstr(r->job_name, "test") ? "test" : "build");
	sf_argv_add(e, "CI_JOB_URL=https://%s/%s/-/jobs/%lld", r->server, path, r->job_id);
	sf_argv_add(e, "CI_JOB_STARTED_AT=%s", r->started);
	sf_argv_add(e, "CI_JOB_STATUS=running");
	sf_argv_add(e, "CI_JOB_TIMEOUT=3600");
	sf_argv_add(e, "CI_JOB_IMAGE=%s", runner_node_images[runner_draw(r, 5, 0, N(runner_node_images) - 1)]);
	sf_argv_add(e, "CI_NODE_TOTAL=1");
	sf_argv_add(e, "CI_DISPOSABLE_ENVIRONMENT=true");
	sf_argv_add(e, "CI_PIPELINE_ID=%lld", r->pipeline_id);
	sf_argv_add(e, "CI_PIPELINE_IID=%lld", r->pipeline_iid);
	sf_argv_add(e, "CI_PIPELINE_SOURCE=push");
	sf_argv_add(e, "CI_PIPELINE_URL=https://%s/%s/-/pipelines/%lld", r->server, path,
		    r->pipeline_id);
	sf_argv_add(e, "CI_PIPELINE_CREATED_AT=%s", r->started);
	sf_argv_add(e, "GITLAB_USER_ID=%lld", r->user_id);
	sf_argv_add(e, "GITLAB_USER_LOGIN=%s", r->actor);
	sf_argv_add(e, "GITLAB_USER_NAME=%s", r->actor_name);
	sf_argv_add(e, "GITLAB_USER_EMAIL=%s@%s", r->actor,
		    strcmp(r->server, "gitlab.com") ? r->server + strcspn(r->server, ".") + 1
						    : "users.noreply.gitlab.com");
	sf_argv_add(e, "GITLAB_FEATURES=");
}

static void runner_env_github(const struct sf_runner *r, struct sf_argv *e)
{
	static const char *const files[][2] = {{"GITHUB_ENV", "set_env_"},
					       {"GITHUB_PATH", "add_path_"},
					       {"GITHUB_OUTPUT", "set_output_"},
					       {"GITHUB_STATE", "save_state_"},
					       {"GITHUB_STEP_SUMMARY", "step_summary_"}};
	const char *workflow = runner_workflows[runner_draw(r, 6, 0, N(runner_workflows) - 1)];
	sf_argv_add(e, "GITHUB_ACTIONS=true");
	sf_argv_add(e, "GITHUB_ACTION=__run");
	sf_argv_add(e, "GITHUB_ACTION_REF=");
	sf_argv_add(e, "GITHUB_ACTION_REPOSITORY=");
	sf_argv_add(e, "GITHUB_ACTOR=%s", r->actor);
	sf_argv_add(e, "GITHUB_ACTOR_ID=%lld", r->user_id);
	sf_argv_add(e, "GITHUB_TRIGGERING_ACTOR=%s", r->actor);
	sf_argv_add(e, "GITHUB_API_URL=https://api.github.com");
	sf_argv_add(e, "GITHUB_GRAPHQL_URL=https://api.github.com/graphql");
	sf_argv_add(e, "GITHUB_SERVER_URL=https://github.com");
	sf_argv_add(e, "GITHUB_BASE_REF=");
	sf_argv_add(e, "GITHUB_HEAD_REF=");
	sf_argv_add(e, "GITHUB_EVENT_NAME=push");
	sf_argv_add(e, "GITHUB_EVENT_PATH=/home/runner/_work/_temp/_github_workflow/event.json");
	for (size_t i = 0; i < N(files); i++)
		sf_argv_add(e, "%s=/home/runner/_work/_temp/_runner_file_commands/%s%s", files[i][0],
			    files[i][1], r->uuid);
	sf_argv_add(e, "GITHUB_JOB=%s", r->job_name);
	sf_argv_add(e, "GITHUB_REF=refs/heads/%s", r->branch);
	sf_argv_add(e, "GITHUB_REF_NAME=%s", r->branch);
	sf_argv_add(e, "GITHUB_REF_PROTECTED=%s",
		    strcmp(r->branch, "main") && strcmp(r->branch, "master") ? "false" : "true");
	sf_argv_add(e, "GITHUB_REF_TYPE=branch");
	sf_argv_add(e, "GITHUB_REPOSITORY=%s/%s", r->owner, r->repo);
	sf_argv_add(e, "GITHUB_REPOSITORY_ID=%lld", r->project_id);
	sf_argv_add(e, "GITHUB_REPOSITORY_OWNER=%s", r->owner);
	sf_argv_add(e, "GITHUB_REPOSITORY_OWNER_ID=%lld", runner_draw(r, 7, 1000000, 190000000));
	sf_argv_add(e, "GITHUB_RETENTION_DAYS=90");
	sf_argv_add(e, "GITHUB_RUN_ATTEMPT=1");
	sf_argv_add(e, "GITHUB_RUN_ID=%lld", r->pipeline_id);
	sf_argv_add(e, "GITHUB_RUN_NUMBER=%lld", r->pipeline_iid);
	sf_argv_add(e, "GITHUB_SHA=%s", r->sha);
	sf_argv_add(e, "GITHUB_WORKFLOW=%s", workflow);
	sf_argv_add(e, "GITHUB_WORKFLOW_REF=%s/%s/.github/workflows/ci.yml@refs/heads/%s", r->owner,
		    r->repo, r->branch);
	sf_argv_add(e, "GITHUB_WORKFLOW_SHA=%s", r->sha);
	sf_argv_add(e, "GITHUB_WORKSPACE=%s", r->project_dir);
	sf_argv_add(e, "RUNNER_ARCH=X64");
	sf_argv_add(e, "RUNNER_OS=Linux");
	sf_argv_add(e, "RUNNER_ENVIRONMENT=self-hosted");
	sf_argv_add(e, "RUNNER_NAME=%s", r->runner_name);
	sf_argv_add(e, "RUNNER_TEMP=/home/runner/_work/_temp");
	sf_argv_add(e, "RUNNER_TOOL_CACHE=/home/runner/_work/_tool");
	sf_argv_add(e, "RUNNER_WORKSPACE=/home/runner/_work/%s", r->repo);
	sf_argv_add(e, "RUNNER_TRACKING_ID=github_%s", r->uuid);
	sf_argv_add(e, "ACTIONS_RUNNER_PRINT_LOG_TO_STDOUT=1");
	sf_argv_add(e, "RUNNER_MANUALLY_TRAP_SIG=1");
	sf_argv_add(e, "DEBIAN_FRONTEND=noninteractive");
}

/* What Kubernetes puts in every pod's environment. */
static void runner_env_k8s(const struct sf_runner *r, struct sf_argv *e)
{
	sf_argv_add(e, "KUBERNETES_SERVICE_HOST=%s", r->k8s_api);
	sf_argv_add(e, "KUBERNETES_SERVICE_PORT=443");
	sf_argv_add(e, "KUBERNETES_SERVICE_PORT_HTTPS=443");
	sf_argv_add(e, "KUBERNETES_PORT=tcp://%s:443", r->k8s_api);
	sf_argv_add(e, "KUBERNETES_PORT_443_TCP=tcp://%s:443", r->k8s_api);
	sf_argv_add(e, "KUBERNETES_PORT_443_TCP_PROTO=tcp");
	sf_argv_add(e, "KUBERNETES_PORT_443_TCP_PORT=443");
	sf_argv_add(e, "KUBERNETES_PORT_443_TCP_ADDR=%s", r->k8s_api);
}

void sf_runner_env(const struct sf_runner *r, struct sf_argv *env)
{
	sf_argv_add(env, "HOSTNAME=%s", r->hostname);
	sf_argv_add(env, "HOME=%s", r->home);
	sf_argv_add(env, "CI=true");
	if (r->kind == SF_RUNNER_GITHUB_ARC)
		runner_env_github(r, env);
	else
		runner_env_gitlab(r, env);
	if (r->kind != SF_RUNNER_GITLAB_DOCKER)
		runner_env_k8s(r, env);
}

/* --- the files the container sees -------------------------------------------- */

static int runner_put(const char *path, const char *text, size_t len, unsigned mode, int uid,
		      int gid)
{
	int rc = sf_write_file(path, text, len);
	if (rc == 0 && chmod(path, mode) != 0)
		rc = -errno;
	if (rc == 0 && uid >= 0 && chown(path, (uid_t)uid, (gid_t)gid) != 0)
		rc = -errno;
	return rc;
}

/* mkdir -p below base, each new directory mode and owner as given. */
static int runner_dirs(const char *base, const char *rel, unsigned mode, int uid, int gid)
{
	char path[4400];
	size_t n = (size_t)snprintf(path, sizeof(path), "%s/", base);
	for (const char *p = rel; n < sizeof(path) && *p;) {
		size_t k = strcspn(p, "/");
		if (k && n + k + 1 < sizeof(path)) {
			memcpy(path + n, p, k);
			n += k;
			path[n] = 0;
			if (mkdir(path, mode) != 0 && errno != EEXIST)
				return -errno;
			if (chmod(path, mode) != 0 ||
			    (uid >= 0 && chown(path, (uid_t)uid, (gid_t)gid) != 0))
				return -errno;
			path[n++] = '/';
		}
		p += k + (p[k] == '/');
	}
	return n < sizeof(path) ? 0 : -ENAMETOOLONG;
}

/* The rootfs's account file with the look's user appended (and any line
 * of the same name or id left out). */
static int runner_accounts(const char *rootfs, const char *file, const char *line,
			   const char *name, const char *out)
{
	char path[4200], *text = NULL;
	size_t len = 0;
	snprintf(path, sizeof(path), "%s/etc/%s", rootfs, file);
	int rc = sf_read_file(path, 1 << 20, &text, &len);
	if (rc)
		return rc;
	struct sf_buf b = {0};
	size_t nl = strlen(name);
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && rc == 0;
	     l = strtok_r(NULL, "\n", &save)) {
		const char *third = strchr(l, ':') ? strchr(strchr(l, ':') + 1, ':') : NULL;
		if ((!strncmp(l, name, nl) && l[nl] == ':') || (third && !strncmp(third, ":1000:", 6)))
			continue;
		rc = sf_buf_appendf(&b, "%s\n", l);
	}
	if (rc == 0)
		rc = sf_buf_appendf(&b, "%s\n", line);
	if (rc == 0)
		rc = runner_put(out, b.data, b.len, 0644, -1, -1);
	sf_buf_free(&b);
	free(text);
	return rc;
}

/* /etc/hosts as the runner's container engine writes it. */
static void runner_hosts(const struct sf_runner *r, char *out, size_t len)
{
	bool k8s = r->kind != SF_RUNNER_GITLAB_DOCKER;
	snprintf(out, len,
		 "%s127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
		 "fe00::0\tip6-localnet\n%s\t%s\n%s\t%s\n%s\t%s\n%s\t%s\n",
		 k8s ? "# Kubernetes-managed hosts file.\n" : "", k8s ? "fe00::0" : "ff00::0",
		 "ip6-mcastprefix", k8s ? "fe00::1" : "ff02::1", "ip6-allnodes",
		 k8s ? "fe00::2" : "ff02::2", "ip6-allrouters", r->ip, r->hostname);
}

/* The rootfs's /etc/skel (regular files) into the new home. */
static int runner_skel(const char *rootfs, const char *home, int uid, int gid)
{
	static const char *const files[] = {".bashrc", ".profile", ".bash_logout"};
	for (size_t i = 0; i < N(files); i++) {
		char src[4200], dst[4400], *text = NULL;
		size_t len = 0;
		snprintf(src, sizeof(src), "%s/etc/skel/%s", rootfs, files[i]);
		snprintf(dst, sizeof(dst), "%s/%s", home, files[i]);
		if (sf_read_file(src, 1 << 20, &text, &len) != 0)
			continue; /* not in this rootfs */
		int rc = runner_put(dst, text, len, 0644, uid, gid);
		free(text);
		if (rc)
			return rc;
	}
	return 0;
}

/* GitHub's runner directory: the workspace, its temporary directory with
 * the workflow's event and the step's file commands, the tool cache. */
static int runner_github_work(const struct sf_runner *r, const char *home, int uid, int gid)
{
	static const char *const cmds[] = {"set_env_", "add_path_", "set_output_", "save_state_",
					   "step_summary_"};
	char rel[512], path[4600], event[1024];
	int rc = runner_dirs(home, "_work/_temp/_github_workflow", 0755, uid, gid);
	if (rc == 0)
		rc = runner_dirs(home, "_work/_temp/_runner_file_commands", 0755, uid, gid);
	if (rc == 0)
		rc = runner_dirs(home, "_work/_tool", 0755, uid, gid);
	if (rc == 0)
		rc = runner_dirs(home, "_work/_actions", 0755, uid, gid);
	snprintf(rel, sizeof(rel), "_work/%s/%s", r->repo, r->repo);
	if (rc == 0)
		rc = runner_dirs(home, rel, 0755, uid, gid);
	for (size_t i = 0; rc == 0 && i < N(cmds); i++) {
		snprintf(path, sizeof(path), "%s/_work/_temp/_runner_file_commands/%s%s", home,
			 cmds[i], r->uuid);
		rc = runner_put(path, "", 0, 0644, uid, gid);
	}
	int n = snprintf(event, sizeof(event),
			 "{\n  \"after\": \"%s\",\n  \"before\": \"%s\",\n  \"ref\": "
			 "\"refs/heads/%s\",\n  \"head_commit\": {\n    \"id\": \"%s\",\n    "
			 "\"message\": \"%s\"\n  },\n  \"pusher\": {\n    \"name\": \"%s\"\n  },\n"
			 "  \"repository\": {\n    \"full_name\": \"%s/%s\",\n    \"id\": %lld,\n"
			 "    \"name\": \"%s\",\n    \"private\": true\n  }\n}\n",
			 r->sha, r->before_sha, r->branch, r->sha, r->title, r->actor, r->owner,
			 r->repo, r->project_id, r->repo);
	snprintf(path, sizeof(path), "%s/_work/_temp/_github_workflow/event.json", home);
	if (rc == 0)
		rc = runner_put(path, event, (size_t)n < sizeof(event) ? (size_t)n : 0, 0644, uid,
				gid);
	return rc;
}

void sf_runner_home_host(const struct sf_runner *r, const char *scratch, char *out, size_t len)
{
	snprintf(out, len, "%s/home/%s", scratch, r->user);
}

static int runner_etc(const struct sf_runner *r, const char *rootfs, const char *scratch,
		      unsigned uid, unsigned gid)
{
	char path[4400], line[256], text[1024];
	snprintf(path, sizeof(path), "%s/etc", scratch);
	int rc = sf_mkdirs(path, 0755);
	snprintf(line, sizeof(line), "%s:x:%u:%u:%s:%s:/bin/bash", r->user, uid, gid,
		 r->kind == SF_RUNNER_GITHUB_ARC ? ",,," : "", r->home);
	snprintf(path, sizeof(path), "%s/etc/passwd", scratch);
	if (rc == 0)
		rc = runner_accounts(rootfs, "passwd", line, r->user, path);
	snprintf(line, sizeof(line), "%s:x:%u:", r->user, gid);
	snprintf(path, sizeof(path), "%s/etc/group", scratch);
	if (rc == 0)
		rc = runner_accounts(rootfs, "group", line, r->user, path);
	snprintf(path, sizeof(path), "%s/etc/hostname", scratch);
	int n = snprintf(text, sizeof(text), "%s\n", r->hostname);
	if (rc == 0)
		rc = runner_put(path, text, (size_t)n, 0644, -1, -1);
	runner_hosts(r, text, sizeof(text));
	snprintf(path, sizeof(path), "%s/etc/hosts", scratch);
	if (rc == 0)
		rc = runner_put(path, text, strlen(text), 0644, -1, -1);
	return rc;
}

int sf_runner_prepare(const struct sf_runner *r, const char *rootfs, const char *scratch,
		      unsigned uid, unsigned gid, char *err, size_t errlen)
{
	char home[4400], rel[512];
	int rc = runner_etc(r, rootfs, scratch, uid, gid);
	const char *what = "/etc";
	sf_runner_home_host(r, scratch, home, sizeof(home));
	if (rc == 0) {
		what = "the home directory";
		snprintf(rel, sizeof(rel), "home/%s", r->user);
		if ((rc = runner_dirs(scratch, "home", 0755, -1, -1)) == 0 &&
		    (rc = runner_dirs(scratch, rel, 0755, (int)uid, (int)gid)) == 0)
			rc = runner_skel(rootfs, home, (int)uid, (int)gid);
	}
	if (rc == 0 && r->kind == SF_RUNNER_GITHUB_ARC) {
		what = "the runner's work directory";
		rc = runner_github_work(r, home, (int)uid, (int)gid);
	} else if (rc == 0) {
		what = "/builds";
		/* the project's mount point, and the directory GitLab keeps
		 * file variables in beside it */
		snprintf(rel, sizeof(rel), "builds/%s/%s", r->owner, r->repo);
		if ((rc = runner_dirs(scratch, rel, 0755, -1, -1)) == 0) {
			snprintf(rel, sizeof(rel), "builds/%s/%s.tmp", r->owner, r->repo);
			rc = runner_dirs(scratch, rel, 0755, (int)uid, (int)gid);
		}
	}
	if (rc)
		snprintf(err, errlen, "cannot prepare the sandbox's %s: %s", what, strerror(-rc));
	return rc;
}

int sf_runner_mounts(const struct sf_runner *r, const char *scratch, struct sf_runner_mount *m,
		     int max)
{
	static const char *const files[] = {"passwd", "group", "hostname", "hosts"};
	int n = 0;
	if (n < max) {
		snprintf(m[n].source, sizeof(m[n].source), "%s/home", scratch);
		snprintf(m[n].dest, sizeof(m[n].dest), "/home");
		m[n++].dir = true;
	}
	if (r->kind != SF_RUNNER_GITHUB_ARC && n < max) {
		snprintf(m[n].source, sizeof(m[n].source), "%s/builds", scratch);
		snprintf(m[n].dest, sizeof(m[n].dest), "/builds");
		m[n++].dir = true;
	}
	for (size_t i = 0; i < N(files) && n < max; i++) {
		snprintf(m[n].source, sizeof(m[n].source), "%s/etc/%s", scratch, files[i]);
		snprintf(m[n].dest, sizeof(m[n].dest), "/etc/%s", files[i]);
		m[n++].dir = false;
	}
	return n;
}
