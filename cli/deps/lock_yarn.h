/*
 * lock_yarn — yarn.lock, both kinds:
 *   classic (yarn 1, "# yarn lockfile v1"): yarn's own indented format,
 *     which no library reads: parsed here by hand, line by line (fuzzed:
 *     tests/fuzz/lockfile_fuzz.c). An entry is a line of patterns at
 *     indent 0 ending in ':' ("a@^1.0.0", "a@~1.0.0":), its fields at indent
 *     2 (version, resolved, integrity; blocks such as dependencies: whose
 *     lines sit at indent 4). An entry without integrity but with a
 *     resolved URL ending #<sha1 hex> gets "sha1-<base64>".
 *   berry (yarn 2+, a top-level __metadata): YAML, read with libyaml
 *     (yamldoc). Each entry's resolution ("name@npm:1.2.3") names it;
 *     workspace:, link:, portal: and patch: resolutions are not packages
 *     of their own (a patch's base is listed as its own entry). Berry's
 *     checksum hashes yarn's zip, not the registry's tarball: no integrity.
 * Aliases (alias@npm:real@^1) name the real package; patterns or
 * resolutions from git, file: or a URL keep that as the source.
 *
 * Owns: nothing after return. Calls: depset, lock_npm (registry URLs),
 * yamldoc, OpenSSL (base64), libc.
 */
#ifndef SF_LOCK_YARN_H
#define SF_LOCK_YARN_H

#include <stddef.h>

#include "depset.h"

/* Reads data[0..len) into lf, classic or berry: 0, -EPROTO (malformed:
 * sf_lockfile_fail said why) or -ENOMEM. */
int sf_lock_yarn(struct sf_lockfile *lf, const char *data, size_t len);

#endif
