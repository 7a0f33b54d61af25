/* npm — see npm.h. */
#include "npm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

void sf_argv_add(struct sf_argv *a, const char *fmt, ...)
{
	if (a->n >= SF_ARGV_MAX) {
		a->oom = true;
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int rc = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (rc < 0) {
		a->oom = true;
		return;
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

void sf_argv_free(struct sf_argv *a)
{
	for (int i = 0; i < a->n; i++)
		free(a->v[i]);
	a->n = 0;
	a->v[0] = NULL;
	a->oom = false;
}

/* What every phase's npm and node see. home: HOME, or NULL when the
 * caller sets it (the install and import phases: the runner look's). */
static void npm_base_env(struct sf_argv *env, const char *cache, const char *home)
{
	sf_argv_add(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	if (home)
		sf_argv_add(env, "HOME=%s", home);
	sf_argv_add(env, "npm_config_cache=%s", cache);
	sf_argv_add(env, "npm_config_update_notifier=false");
	sf_argv_add(env, "npm_config_fund=false");
	sf_argv_add(env, "npm_config_audit=false");
	sf_argv_add(env, "TERM=dumb");
}

static int npm_done(struct sf_argv *argv, struct sf_argv *env)
{
	if (!argv->oom && !env->oom)
		return 0;
	sf_argv_free(argv);
	sf_argv_free(env);
	return -ENOMEM;
}

/* yarn classic for a yarn.lock: the lockfile frozen (a package.json asking
 * for what it lacks fails the fetch), resolved URLs taken as they are. No
 * .yarnrc or .npmrc is read (--no-default-rc) and a yarn-path in one is
 * not followed (YARN_IGNORE_PATH): only the worker's settings apply. */
static void npm_fetch_yarn(const struct sf_project *p, const char *registry, uint16_t port,
			   struct sf_argv *argv, struct sf_argv *env)
{
	sf_argv_add(argv, "yarnpkg");
	sf_argv_add(argv, "install");
	sf_argv_add(argv, "--frozen-lockfile");
	sf_argv_add(argv, "--ignore-scripts");
	sf_argv_add(argv, "--non-interactive");
	sf_argv_add(argv, "--no-default-rc");
	sf_argv_add(argv, "--no-progress");
	sf_argv_add(argv, "--registry");
	sf_argv_add(argv, "%s", registry);
	sf_argv_add(argv, "--proxy");
	sf_argv_add(argv, "http://127.0.0.1:%u", (unsigned)port);
	sf_argv_add(argv, "--https-proxy");
	sf_argv_add(argv, "http://127.0.0.1:%u", (unsigned)port);
	sf_argv_add(argv, "--cache-folder");
	sf_argv_add(argv, "%s", SF_NPM_YARN_CACHE);
	sf_argv_add(argv, "--network-timeout");
	sf_argv_add(argv, "60000");
	if (p->packed)
		sf_argv_add(argv, "--production");
	sf_argv_add(env, "YARN_IGNORE_PATH=1");
	sf_argv_add(env, "YARN_ENABLE_TELEMETRY=0");
}

/* pnpm for a pnpm-lock.yaml: the lockfile frozen, no .pnpmfile.cjs (it
 * would run the project's code in the fetch phase), the store in the
 * worker's tarball cache, the version pnpm is never swapped for the one a
 * packageManager field names. The proxy comes from the environment. */
static void npm_fetch_pnpm(const struct sf_project *p, const char *registry, uint16_t port,
			   struct sf_argv *argv, struct sf_argv *env)
{
	sf_argv_add(argv, "pnpm");
	sf_argv_add(argv, "install");
	sf_argv_add(argv, "--frozen-lockfile");
	sf_argv_add(argv, "--ignore-scripts");
	sf_argv_add(argv, "--ignore-pnpmfile");
	sf_argv_add(argv, "--reporter=append-only");
	sf_argv_add(argv, "--registry=%s", registry);
	sf_argv_add(argv, "--store-dir=%s", SF_NPM_PNPM_STORE);
	sf_argv_add(argv, "--cache-dir=%s", SF_NPM_PNPM_CACHE);
	sf_argv_add(argv, "--config.manage-package-manager-versions=false");
	sf_argv_add(argv, "--config.package-manager-strict=false");
	if (p->packed)
		sf_argv_add(argv, "--prod");
	sf_argv_add(env, "npm_config_proxy=http://127.0.0.1:%u", (unsigned)port);
	sf_argv_add(env, "npm_config_https_proxy=http://127.0.0.1:%u", (unsigned)port);
	sf_argv_add(env, "npm_config_noproxy=");
}

int sf_npm_fetch(const struct sf_project *p, const char *registry, uint16_t proxy_port,
		 bool any_host, struct sf_argv *argv, struct sf_argv *env)
{
	if (p->lock == SF_LOCK_YARN || p->lock == SF_LOCK_PNPM) {
		if (p->lock == SF_LOCK_YARN)
			npm_fetch_yarn(p, registry, proxy_port, argv, env);
		else
			npm_fetch_pnpm(p, registry, proxy_port, argv, env);
		npm_base_env(env, SF_NPM_CACHE_DIR, "/tmp");
		return npm_done(argv, env);
	}
	sf_argv_add(argv, "npm");
	sf_argv_add(argv, p->lock == SF_LOCK_NPM ? "ci" : "install");
	/* scripts stay off until the install phase, which has no network */
	sf_argv_add(argv, "--ignore-scripts");
	sf_argv_add(argv, "--no-audit");
	sf_argv_add(argv, "--no-fund");
	sf_argv_add(argv, "--loglevel=warn");
	/* on the command line: a project's .npmrc cannot override it */
	sf_argv_add(argv, "--registry=%s", registry);
	sf_argv_add(argv, "--proxy=http://127.0.0.1:%u", (unsigned)proxy_port);
	sf_argv_add(argv, "--https-proxy=http://127.0.0.1:%u", (unsigned)proxy_port);
	sf_argv_add(argv, "--noproxy=");
	if (any_host)
		sf_argv_add(argv, "--replace-registry-host=always");
	/* transient registry errors are retried, quickly */
	sf_argv_add(argv, "--fetch-retries=2");
	sf_argv_add(argv, "--fetch-retry-mintimeout=1000");
	sf_argv_add(argv, "--fetch-retry-maxtimeout=4000");
	if (p->packed)
		sf_argv_add(argv, "--omit=dev");
	/* the cache is shared by the worker's jobs: no job's log files in it */
	sf_argv_add(argv, "--logs-max=0");
	npm_base_env(env, SF_NPM_CACHE_DIR, "/tmp");
	return npm_done(argv, env);
}

int sf_npm_install(const struct sf_project *p, bool rebuild, struct sf_argv *argv,
		   struct sf_argv *env)
{
	if (!rebuild && p->nscripts == 0)
		return -ENOENT;
	/* The script text is built from fixed words only (the script names
	 * come from a static list, never from the package). The last command
	 * is exec'd: with one command npm is the container's first process,
	 * as in a plain npm install. */
	const char *cmds[1 + 8];
	char runs[8][96];
	int n = 0;
	/* npm rebuild runs the scripts of yarn classic's flat tree as of
	 * npm's; pnpm's tree (.pnpm/<id>/node_modules/<name>) is pnpm's to
	 * rebuild, with the store it was linked from named (absent here) */
	if (rebuild && p->lock == SF_LOCK_PNPM)
		cmds[n++] = "pnpm rebuild --reporter=append-only --store-dir=" SF_NPM_PNPM_STORE;
	else if (rebuild)
		cmds[n++] = "npm rebuild --offline --foreground-scripts --ignore-scripts=false"
			    " --loglevel=warn";
	/* npm rebuild takes the project's root with the tree (arborist's
	 * rebuild of the actual tree includes the project root): the root's
	 * preinstall, install — node-gyp rebuild for a binding.gyp without
	 * one — and postinstall run there, once; running them again here would
	 * run them twice. Its prepare family is left to npm run-script. */
	bool root_built = rebuild && p->lock != SF_LOCK_PNPM;
	/* npm run --ignore-scripts runs the named script without its pre/post
	 * hooks: each hook is in the list in its own right */
	for (int i = 0; i < p->nscripts && i < 8; i++) {
		if (root_built && (!strcmp(p->scripts[i], "preinstall") ||
				   !strcmp(p->scripts[i], "install") ||
				   !strcmp(p->scripts[i], "postinstall")))
			continue;
		snprintf(runs[i], sizeof(runs[i]), "npm run-script --offline --ignore-scripts %s",
			 p->scripts[i]);
		cmds[n++] = runs[i];
	}
	char script[2048];
	size_t used = (size_t)snprintf(script, sizeof(script), "set -e\n");
	for (int i = 0; i < n && used < sizeof(script); i++)
		used += (size_t)snprintf(script + used, sizeof(script) - used, "%s%s\n",
					 i == n - 1 ? "exec " : "", cmds[i]);
	if (used >= sizeof(script))
		return -ENAMETOOLONG;
	sf_argv_add(argv, "/bin/sh");
	sf_argv_add(argv, "-c");
	sf_argv_add(argv, "%s", script);
	npm_base_env(env, SF_NPM_CACHE_DIR, NULL);
	return npm_done(argv, env);
}

/* What each package's node runs (argv[1]: its name, or "." for the
 * package itself): require() it, import() it when it is an ES module; a
 * failure is said on stderr and in the exit status. The sandbox's init
 * runs one per package (init.c, --each), cwd that package's directory, so
 * what a package does when it is loaded is attributed to it (the sensor
 * takes a process's package from its cwd at exec); as many at a time as
 * there are CPUs (at least two), each with its own time bound, one line per
 * package as each ends. */
static const char npm_import_one[] =
    "const n = process.argv[1], t = n === '.' ? process.cwd() : n;"
    "const say = (e) => { console.error('import ' + n + ': ' + String(e && e.message || e));"
    " process.exitCode = 3; };"
    "try { require(t); } catch (e) {"
    " if (e && e.code === 'ERR_REQUIRE_ESM') import(n === '.' ?"
    " require('url').pathToFileURL(t).href : n).catch(say); else say(e); }";

int sf_npm_import(const struct sf_project *p, struct sf_argv *argv, struct sf_argv *env)
{
	if (!p->packed && p->ndeps == 0)
		return -ENOENT;
	sf_argv_add(argv, "--each");
	sf_argv_add(argv, "%d", SF_NPM_IMPORT_TIMEOUT_MS);
	sf_argv_add(argv, "node");
	sf_argv_add(argv, "-e");
	sf_argv_add(argv, "%s", npm_import_one);
	sf_argv_add(argv, "--");
	if (p->packed) {
		sf_argv_add(argv, ".");
		sf_argv_add(argv, ".");
	}
	for (int i = 0; i < p->ndeps; i++) {
		sf_argv_add(argv, "node_modules/%s", p->deps[i]);
		sf_argv_add(argv, "%s", p->deps[i]);
	}
	npm_base_env(env, SF_NPM_CACHE_DIR, NULL);
	sf_argv_add(env, SF_INIT_EACH_LABEL_ENV "=" SF_NPM_IMPORT_MARK);
	return npm_done(argv, env);
}
