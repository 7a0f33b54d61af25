/*
 * walk — finds and reads the lockfiles of checkouts: each PATH is one
 * repository (a directory walked to any depth, or one lockfile), or a git
 * URL from a --repos list, cloned shallowly (git clone --depth 1) into a
 * scratch directory first. Every file whose name is a lockfile's is read
 * (at most SF_WALK_MAX_FILE bytes) and handed to its parser; directories
 * that hold installed or vendored copies (node_modules, .git, vendor/bundle,
 * virtual environments) are not entered, nor are symbolic links followed.
 *
 * Files recognised: package-lock.json, npm-shrinkwrap.json, yarn.lock,
 * pnpm-lock.yaml, requirements*.txt (and *.txt in a requirements/ folder),
 * Pipfile.lock, poetry.lock, Gemfile.lock.
 *
 * Owns: nothing after return (cloned checkouts are removed). Calls:
 * depset, lock_npm, lock_yarn, lock_pnpm, lock_python, lock_gem, util,
 * git (a child process), libc.
 */
#ifndef SF_WALK_H
#define SF_WALK_H

#include <stddef.h>

#include "depset.h"

#define SF_WALK_MAX_FILE (256u << 20)

/* The parser for a lockfile's base name, or NULL when it is not one. dir
 * is the name of the folder holding it (a requirements folder). */
typedef int (*sf_lock_parser)(struct sf_lockfile *lf, const char *data, size_t len);
sf_lock_parser sf_walk_parser(const char *base, const char *dir);

/* Parses data as the lockfile named file (its base name picks the parser)
 * of repo into s. 0 (also when it was malformed: a diagnostic says so),
 * -ENOENT (not a lockfile name), -ENOMEM. */
int sf_walk_parse(struct sf_depset *s, const char *repo, const char *file, const char *data,
		  size_t len);

/* Reads every lockfile below path (a directory, or one file) as the
 * repository named repo (NULL: path itself). -errno when path cannot be
 * read at all (a message on stderr); unreadable lockfiles below it become
 * diagnostics. */
int sf_walk_path(struct sf_depset *s, const char *path, const char *repo);

/* Clones url shallowly into a scratch directory under tmpdir and walks it
 * as the repository named url. A clone that fails is a diagnostic, not an
 * error (-ENOMEM only). */
int sf_walk_git(struct sf_depset *s, const char *url, const char *tmpdir);

#endif
