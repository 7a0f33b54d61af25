/*
 * ecosystem — the phases of a scan in an ecosystem other than npm (whose
 * phases job.c builds with npm.c and project.c): PyPI (pypi.c) and
 * RubyGems (gem.c). A job's ecosystem names its builders
 * (sf_ecosystem_find); each turns the body (body.h) into what the fetch,
 * install and import phases run, and lists what the install put in the
 * tree, on the host, between the install and the import.
 *
 * Paths in the sandbox, all in the project tree (the directory the job's
 * tree is mounted at, struct sf_eco_job's work), so that the rules see an
 * install's own files there: SF_ECO_DIST, the distributions and gems the
 * fetch downloaded (a submitted wheel or .gem waits there too) and the
 * install's only source; SF_ECO_TMP, the package managers' scratch (pip
 * builds dependencies' sdists there); SF_ECO_VENV, the Python environment
 * installed into; SF_ECO_GEMS, the gems' home.
 *
 * Owns: the strings of struct sf_eco_job (sf_eco_job_free); the packages
 * an inventory lists are the batch's. Calls: body, npm (struct sf_argv),
 * wire, util, jansson.
 */
#ifndef SF_ECOSYSTEM_H
#define SF_ECOSYSTEM_H

#include <stdbool.h>
#include <stdint.h>

#include "body.h"
#include "npm.h"
#include "wire.h"

/* below the tree (work in the sandbox, the tree given to prepare on the host) */
#define SF_ECO_DIST ".dist"
#define SF_ECO_TMP ".tmp"
#define SF_ECO_VENV ".venv"
#define SF_ECO_GEMS ".gems"
#define SF_ECO_MAX_IMPORTS 256	  /* modules or require paths loaded */
#define SF_ECO_IMPORT_TIMEOUT_S 10 /* per module */

/* What a job's phases work from. */
struct sf_eco_job {
	struct sf_body body;
	char id[SF_BODY_NAME_MAX + SF_BODY_VERSION_MAX + 4]; /* sf_body_id */
	char work[300]; /* where the tree is mounted in the sandbox ("/work") */
	char rel[256];	/* the body's directory below the tree ("" or its root) */
	char dir[600];	/* the same in the sandbox: work/rel */
	/* HOME of the install and import phases ("/tmp"; NULL: the caller
	 * sets it); the fetch's is /tmp */
	const char *home;
	char file[400]; /* a wheel's or gem's file in SF_ECO_DIST ("" otherwise) */
	/* the index (PEP 503 simple index) or gem source the sandbox fetches
	 * from, the worker's gateway's when it holds a credential; NULL: none */
	const char *index;
	/* called by prepare for each setting of the body taken out because it
	 * would send the fetch elsewhere (a requirements file's --index-url…) */
	void (*note)(void *arg, const char *line);
	void *note_arg;
	/* called by prepare for a fact about the body the worker reads on the
	 * host (a Gemfile.lock's BUNDLED WITH), phase fetch; note_arg */
	void (*fact)(void *arg, const char *kind, const char *value, const char *detail);
	/* the sandbox's root file system on the host (what its tools are), or
	 * NULL */
	const char *rootfs;
	char bundler[32]; /* gem: the image's bundler version ("" unknown) */
	uint16_t proxy_port; /* the registry proxy inside the sandbox (fetch) */
	bool cache;	     /* the worker's download cache is mounted (fetch) */
	/* after the install: what the import loads, each in a fresh
	 * interpreter whose cwd is the package's installed directory */
	char *import_dir[SF_ECO_MAX_IMPORTS];
	char *import_name[SF_ECO_MAX_IMPORTS];
	int nimports;
};

struct sf_ecosystem {
	const char *name; /* as on the wire: "pypi", "rubygems" */
	/* host side, before the sandbox: the tree laid out for the phases
	 * (tree: the host directory mounted at /work; artifact: the
	 * submitted file). err filled on failure. */
	int (*prepare)(struct sf_eco_job *e, const char *tree, const char *artifact, char *err,
		       size_t errlen);
	/* argv and env of each phase; -ENOENT: nothing to run */
	int (*fetch)(const struct sf_eco_job *e, struct sf_argv *argv, struct sf_argv *env);
	int (*install)(const struct sf_eco_job *e, struct sf_argv *argv, struct sf_argv *env);
	int (*import)(const struct sf_eco_job *e, struct sf_argv *argv, struct sf_argv *env);
	/* host side, after the install: the installed packages into
	 * b->packages (the body itself first) and e's imports */
	int (*inventory)(struct sf_eco_job *e, const char *tree, struct sf_batch *b);
};

/* The builders of ecosystem `name`; NULL for npm (and unknown names). */
const struct sf_ecosystem *sf_ecosystem_find(const char *name);

/* Reads the body of the tree unpacked at `tree` as the kind the
 * coordinator named (NULL: not named; body.h) and names the job's
 * identity. */
int sf_eco_job_init(struct sf_eco_job *e, const char *ecosystem, const char *kind, const char *tree,
		    char *err, size_t errlen);
/* Where the tree the phases see is mounted in the sandbox (work) and the
 * body's directory below it (rel). */
void sf_eco_job_place(struct sf_eco_job *e, const char *work, const char *rel);
void sf_eco_job_free(struct sf_eco_job *e);

/* Helpers shared by pypi.c and gem.c. */
/* Copies the artifact to <tree>/<rel> (mode 0644, the sandbox user's). */
int sf_eco_place(const char *artifact, const char *tree, const char *rel, char *err, size_t errlen);
/* Creates <tree>/<rel> for the sandbox user. */
int sf_eco_mkdir(const char *tree, const char *rel);
/* Appends a package to b->packages. */
int sf_eco_add_package(struct sf_batch *b, const char *name, const char *version,
		       const char *path, bool install_scripts, bool direct);
/* Appends an import (the directory it runs in, what it loads). */
int sf_eco_add_import(struct sf_eco_job *e, const char *dir, const char *name);
/* The base environment: PATH, HOME (/tmp in the fetch, else e->home),
 * TMPDIR, LANG, TERM. */
void sf_eco_base_env(const struct sf_eco_job *e, bool fetch, struct sf_argv *env);
int sf_eco_done(struct sf_argv *argv, struct sf_argv *env);

extern const struct sf_ecosystem sf_ecosystem_pypi;
extern const struct sf_ecosystem sf_ecosystem_rubygems;

#endif
