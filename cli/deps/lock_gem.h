/*
 * lock_gem — Bundler's Gemfile.lock, which no library outside Ruby reads:
 * parsed here by hand (fuzzed: tests/fuzz/lockfile_fuzz.c). Sections start
 * at indent 0 (GEM, GIT, PATH, PLUGIN SOURCE, PLATFORMS, DEPENDENCIES,
 * CHECKSUMS, RUBY VERSION, BUNDLED WITH). In a source section, "remote:"
 * and "revision:" sit at indent 2, and under "specs:" each gem is
 * "name (version)" at indent 4 (a platform gem's version carries its
 * platform, 1.13.10-x86_64-linux: another file), its own requirements at
 * indent 6. CHECKSUMS (Bundler 2.5+) gives "name (version) sha256=hex",
 * the gem's integrity. Gems of GEM https://rubygems.org/ come from the
 * registry; another GEM remote, a GIT checkout (git+remote#revision) keep
 * that as their source; PATH gems are the repository's own code.
 *
 * Owns: nothing after return. Calls: depset, util, libc.
 */
#ifndef SF_LOCK_GEM_H
#define SF_LOCK_GEM_H

#include <stddef.h>

#include "depset.h"

/* Reads data[0..len) into lf: 0, -EPROTO (malformed: sf_lockfile_fail
 * said why) or -ENOMEM. */
int sf_lock_gemfile(struct sf_lockfile *lf, const char *data, size_t len);

#endif
