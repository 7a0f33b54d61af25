/*
 * project — what the worker reads of an unpacked npm project on the host,
 * before and after its dependencies are fetched: which lockfile it has
 * (so the fetch respects it), its own lifecycle scripts (so the install
 * phase runs them in npm's order), its direct dependencies (what the
 * import phase requires), and, once node_modules exists, the installed
 * tree (the report's per-package summary). A project's .npmrc may not send
 * the fetch elsewhere: the registry-related settings are taken out of it
 * (and reported) before the fetch runs.
 *
 * Nothing here runs package code; every file is read with a size bound and
 * without following symbolic links out of the tree.
 *
 * Owns: the strings in struct sf_project (sf_project_free) and the
 * packages it lists (moved into a batch by sf_project_inventory).
 * Calls: jansson, wire (struct sf_package), util.
 */
#ifndef SF_PROJECT_H
#define SF_PROJECT_H

#include <stdbool.h>
#include <stddef.h>

#include "wire.h"

#define SF_PROJECT_MAX_DEPS 512	   /* direct dependencies imported */
#define SF_PROJECT_MAX_PACKAGES 20000 /* installed packages listed */

enum sf_lockfile {
	SF_LOCK_NONE,	     /* npm install */
	SF_LOCK_NPM,	     /* package-lock.json or npm-shrinkwrap.json: npm ci */
	SF_LOCK_YARN,	     /* yarn.lock */
	SF_LOCK_PNPM,	     /* pnpm-lock.yaml */
};

struct sf_project {
	char *name, *version;   /* from package.json ("" when absent) */
	bool packed;		/* an `npm pack` tarball (root directory "package") */
	enum sf_lockfile lock;
	/* The project's own install-time scripts present in package.json, in
	 * the order npm runs them. */
	const char *scripts[8];
	int nscripts;
	/* a binding.gyp at the root with no install or preinstall script:
	 * npm builds it with node-gyp (its implicit install script); the
	 * install phase's npm rebuild does it at the root (npm run-script has
	 * no such default) */
	bool root_gyp;
	char *deps[SF_PROJECT_MAX_DEPS]; /* direct dependencies, validated names */
	int ndeps;
	bool has_deps; /* any dependencies at all (something to fetch) */
};

/* Reads <dir>/package.json (dir: the project's root on the host). root is
 * its name inside the unpacked tree ("package" for npm pack). 0, -ENOENT
 * (no package.json), -EBADMSG (not a JSON object) with err filled. */
int sf_project_read(struct sf_project *p, const char *dir, const char *root, char *err,
		    size_t errlen);
void sf_project_free(struct sf_project *p);

/* Whether s is a name npm accepts for a package (scoped or not). */
bool sf_project_valid_name(const char *s);

/* Takes registry, proxy and auth settings out of <dir>/.npmrc (the worker's
 * own settings must win) and calls fn for each line removed. 0 when there
 * was nothing to neutralise or the file was rewritten. */
int sf_project_neutralise_npmrc(const char *dir,
				void (*fn)(void *arg, const char *line), void *arg);

/* Points the URLs of the project's lockfile that name the origin `from`
 * (scheme://host[:port]) at the origin `to` instead: yarn classic fetches a
 * yarn.lock's resolved URLs as written, pnpm a pnpm-lock.yaml's tarball
 * URLs, and a private registry's are answered by the worker's gateway.
 * Integrity lines are untouched, so the tree is the one the lockfile pins.
 * *changed: how many URLs were rewritten. 0 also when there is no such
 * lockfile (npm's are retargeted by npm itself). */
int sf_project_retarget_lockfile(const struct sf_project *p, const char *dir, const char *from,
				 const char *to, unsigned *changed);

/* Lists the packages under <dir>/node_modules (npm's and yarn classic's
 * layout, nested and scoped; pnpm's, whose packages are real directories
 * in node_modules/.pnpm/<id>/node_modules/<name> behind links) into
 * b->packages: name, version, path, whether they declare install scripts,
 * whether the project depends on them directly. */
int sf_project_inventory(const struct sf_project *p, const char *dir, struct sf_batch *b);

#endif
