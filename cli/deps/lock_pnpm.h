/*
 * lock_pnpm — pnpm-lock.yaml, read with libyaml (yamldoc): lockfileVersion
 * 5.x ("/name/1.0.0_peer" keys), 6.x ("/name@1.0.0(peer@2)") and 9.x
 * ("name@1.0.0"; its snapshots section repeats the packages with their
 * dependencies and is not read). Each key of "packages" is one package;
 * its resolution gives the integrity, or a tarball URL, a git repository
 * and commit (the source), or a directory (the repository's own code: not
 * a package). Entries that carry name and version fields (non-registry
 * ones) are named by those.
 *
 * Owns: nothing after return. Calls: depset, yamldoc, lock_npm (registry
 * URLs), libc.
 */
#ifndef SF_LOCK_PNPM_H
#define SF_LOCK_PNPM_H

#include <stddef.h>

#include "depset.h"

/* Reads data[0..len) into lf: 0, -EPROTO (malformed: sf_lockfile_fail
 * said why) or -ENOMEM. */
int sf_lock_pnpm(struct sf_lockfile *lf, const char *data, size_t len);

#endif
