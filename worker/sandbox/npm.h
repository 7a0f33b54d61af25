/*
 * npm — what each phase of an npm scan runs inside the sandbox, and with
 * which environment:
 *
 *   fetch    npm ci (a package-lock.json or npm-shrinkwrap.json),
 *            yarnpkg install --frozen-lockfile (a yarn.lock: yarn classic),
 *            pnpm install --frozen-lockfile (a pnpm-lock.yaml) or
 *            npm install, lifecycle scripts off, from the worker's registry
 *            through the proxy at 127.0.0.1:<port> (the phase's only way
 *            out); a package's own dev dependencies are left out
 *   install  npm rebuild (npm's and yarn classic's flat trees) or pnpm
 *            rebuild (pnpm's): every dependency's preinstall, install and
 *            postinstall; then the project's own install-time scripts
 *            (preinstall … postprepare), offline
 *   import   the sandbox's init (init.c, --each: no node of its own) starts
 *            a fresh node per direct dependency — and for the package
 *            itself when it is an npm pack tarball — whose cwd is that
 *            package's directory, which require()s (or import()s, for
 *            ESM) it, each bounded in time; one process per CPU at a time
 *            (the phase's container must have the init: job.c's do)
 *
 * npm's cache lives in the sandbox's /tmp; the fetch phase's cache is the
 * worker's tarball cache, mounted at SF_NPM_CACHE_DIR. The fetch phase's
 * HOME is /tmp too (no canary credential is within npm's reach while it
 * talks to the registry); the install and import phases get theirs, and
 * the rest of their environment, from the runner look (job.c, runner.h).
 *
 * Owns: the strings of a struct sf_argv (sf_argv_free). Calls: project, util.
 */
#ifndef SF_NPM_H
#define SF_NPM_H

#include <stdbool.h>
#include <stdint.h>

#include "project.h"

#define SF_NPM_CACHE_DIR "/tmp/.npm" /* npm's cache; the worker's tarball cache in the fetch phase */
/* yarn's cache and pnpm's store and metadata: in the tarball cache too */
#define SF_NPM_YARN_CACHE SF_NPM_CACHE_DIR "/yarn"
#define SF_NPM_PNPM_STORE SF_NPM_CACHE_DIR "/pnpm-store"
#define SF_NPM_PNPM_CACHE SF_NPM_CACHE_DIR "/pnpm-cache"
/* the import phase names each dependency twice (its directory, its name) */
#define SF_ARGV_MAX (2 * SF_PROJECT_MAX_DEPS + 32)
#define SF_NPM_IMPORT_TIMEOUT_MS 10000 /* per required package */

/* A NULL-terminated argv (or environment) of malloc'd strings. */
struct sf_argv {
	char *v[SF_ARGV_MAX + 1];
	int n;
	bool oom;
};
void sf_argv_add(struct sf_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sf_argv_free(struct sf_argv *a);

/* The fetch phase: argv and env. registry: the worker's npm registry URL
 * (or its gateway's). any_host: every tarball URL of a lockfile or a
 * packument is fetched from registry whatever host it names (npm's
 * replace-registry-host=always; what a gateway in front of a private
 * registry needs). */
int sf_npm_fetch(const struct sf_project *p, const char *registry, uint16_t proxy_port,
		 bool any_host, struct sf_argv *argv, struct sf_argv *env);

/* The install phase. rebuild: whether any installed dependency declares
 * install scripts. Returns -ENOENT when there is nothing to run. */
int sf_npm_install(const struct sf_project *p, bool rebuild, struct sf_argv *argv,
		   struct sf_argv *env);

/* The import phase; -ENOENT when there is nothing to import. */
int sf_npm_import(const struct sf_project *p, struct sf_argv *argv, struct sf_argv *env);

/* The line the import phase prints per package ("scanfarm-import NAME: …"). */
#define SF_NPM_IMPORT_MARK "scanfarm-import "

#endif
