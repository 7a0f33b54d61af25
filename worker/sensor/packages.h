/*
 * packages — which installed package a process acts for and which
 * package a file belongs to: the attribution behind scanfarm.package,
 * scanfarm.package.path and scanfarm.fd.package, and the package of
 * every fact.
 *
 * A package is a directory node_modules/<name> (or node_modules/@scope/
 * name) of the sandbox's project tree (its work directory, which the
 * runner's look places: /builds/<group>/<project>, …) or /tmp; a path belongs to the DEEPEST
 * such directory holding it (node_modules/.bin and other dot entries are
 * no package). Its identity "name@version" comes from its package.json,
 * read on the host (the work or tmp mount's host directory) beneath that
 * directory only, bounded, non-blocking; when unreadable, the directory's
 * name stands in and is read again in the next phase. Everything outside
 * a package belongs to the project itself, whose identity comes from the
 * package.json of its root: opts' project_dir when given, else the cwd of
 * the first exec (of a process of the project's) in the work directory, outside
 * node_modules, with a readable package.json.
 *
 * Other ecosystems (sf_packages_set_ecosystem) have their own package
 * directories: for PyPI an installed distribution's <name>-<version>.dist-info
 * (identity "name==version" from its METADATA) and a source tree pip
 * builds in (pip-install-X/<name>_<hex>, pip-req-build-X: from its
 * PKG-INFO); for RubyGems an installed gem's gems/<name>-<version>
 * (its directory's name). The project's identity is the one the worker
 * read from the body.
 *
 * A process gets its package at exec, from its cwd; outside any package
 * it keeps what it inherited from its parent (fork copies it). A
 * dependency's process is re-attributed only to a package inside its own
 * directory: a chdir into another package before an exec does not shed
 * the identity (nor frame the other package).
 *
 * Owns: the directory → identity cache (at most SF_PACKAGES_MAX
 * directories per job, then one shared "too many packages" identity) and
 * every string struct sf_proc's package fields and an event's fd_package
 * point at, valid until sf_packages_free. One thread at a time, like the
 * process table. Calls: util (sf_open_beneath), jansson, event, body
 * (sf_body_header).
 */
#ifndef SF_PACKAGES_H
#define SF_PACKAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

#define SF_PACKAGES_BUCKETS 512
#define SF_PACKAGES_MAX 4096		 /* package directories remembered per job */
#define SF_PACKAGES_ID_LEN 300		 /* "name@version" (npm: names <= 214 bytes) */
#define SF_PACKAGES_JSON_MAX (1u << 20) /* bytes of package.json read at most */
#define SF_PACKAGES_ROOT_TRIES 32	 /* cwds tried as the project's root */

/* One package directory and who it is. */
struct sf_pkg {
	char *dir;  /* container path, no trailing '/'; "" for the project */
	char *path; /* relative to the project root: "node_modules/a"; "" for the project */
	char id[SF_PACKAGES_ID_LEN]; /* "name@version", rewritten in place when re-read */
	bool provisional;	     /* package.json was unreadable: id is the dir name */
	uint32_t gen;		     /* the phase it was last read in */
	uint64_t hash;
	struct sf_pkg *next;
};

enum sf_packages_eco { SF_PACKAGES_NPM, SF_PACKAGES_PYPI, SF_PACKAGES_RUBYGEMS };

struct sf_packages {
	enum sf_packages_eco eco;
	const char *work_dir;	   /* the project tree's path in the container */
	size_t work_len;
	const char *work_host_dir; /* host directory mounted at work_dir, or NULL */
	const char *tmp_host_dir;  /* host directory mounted at /tmp, or NULL */
	char root_dir[1024];	   /* the project's root in the container, "" until known */
	bool root_fixed;	   /* root_dir is final */
	bool root_read;		   /* root's package.json was read (or tried) this phase */
	unsigned root_tries;
	struct sf_pkg root;	   /* the project itself: dir "" and path "" */
	struct sf_pkg overflow;	   /* stands for every package over SF_PACKAGES_MAX */
	struct sf_pkg *buckets[SF_PACKAGES_BUCKETS];
	uint32_t n;
	uint32_t gen;	/* phase generation */
	bool truncated; /* a package did not fit */
	bool *oom;	/* the job's out-of-memory flag */
};

/* An empty cache. work_dir: where the project tree is mounted in the
 * container ("/builds/acme/app"; NULL: "/work"), work_host_dir its host
 * side; project_dir: the project's root in the container (work_dir or a
 * directory below it), or NULL to find it from the first execs. The
 * strings are borrowed and must outlive the cache. */
void sf_packages_init(struct sf_packages *pk, const char *work_dir, const char *work_host_dir,
		      const char *tmp_host_dir, const char *project_dir, bool *oom);

/* The job's ecosystem ("pypi", "rubygems"; NULL or anything else: npm)
 * and, when not NULL, the project's identity ("name==version"). */
void sf_packages_set_ecosystem(struct sf_packages *pk, const char *ecosystem,
			       const char *project_id);

/* Exposed for tests: like sf_packages_dir_len, for a Python tree (the
 * deepest NAME.dist-info, pip-req-build-X, or pip-<kind>-X/<dir>) and for a
 * gem home (gems/<name>-<version>). */
size_t sf_packages_py_dir_len(const char *path);
size_t sf_packages_gem_dir_len(const char *path);

/* A new phase began: identities that were read from a directory name
 * (package.json missing, e.g. mid-extraction) are read again once. */
void sf_packages_new_phase(struct sf_packages *pk);

/* Gives p its parent's identity, else the project's, unless it already
 * has one. */
void sf_packages_adopt(struct sf_packages *pk, struct sf_proc *p);

/* p exec'd with cwd (absolute, may end with '/'): re-attributes it. */
void sf_packages_exec(struct sf_packages *pk, struct sf_proc *p, const char *cwd);

/* scanfarm.fd.package of a file path for the acting process p: the
 * identity of the package holding path if that is not p's own package
 * directory nor inside it; "" otherwise. */
const char *sf_packages_file_owner(struct sf_packages *pk, const struct sf_proc *p,
				   const char *path);

/* Exposed for tests: the length of the deepest package directory prefix
 * of path ("/work/p/node_modules/@s/a/x" → length of ".../@s/a"), 0 if
 * none. */
size_t sf_packages_dir_len(const char *path);

void sf_packages_free(struct sf_packages *pk);

#endif
