/*
 * lock_npm — npm's lockfiles: package-lock.json and npm-shrinkwrap.json,
 * lockfileVersion 1 (nested "dependencies"), 2 and 3 ("packages", keyed
 * by install path; a v2 file's legacy "dependencies" is not read twice).
 * Parsed with jansson; each entry's line comes from jsonpos.
 *
 * What counts as a package: every installed entry with a version. The root
 * project, workspace folders and links are the repository's own code, and
 * bundled entries ship inside their parent's tarball: none is a package of
 * its own. An alias (npm:real@1.0.0, or "name" in a v2 entry) is the real
 * package. An entry resolved from git, a file or a non-registry URL keeps
 * that as its source.
 *
 * Owns: nothing after return. Calls: depset, jsonpos, jansson.
 */
#ifndef SF_LOCK_NPM_H
#define SF_LOCK_NPM_H

#include <stddef.h>

#include "depset.h"

/* Reads data[0..len) into lf: 0, -EPROTO (malformed: sf_lockfile_fail
 * said why) or -ENOMEM. */
int sf_lock_npm(struct sf_lockfile *lf, const char *data, size_t len);

/* Whether resolved is a registry tarball URL (…/-/name-1.0.0.tgz). */
int sf_lock_npm_registry_url(const char *resolved);

#endif
