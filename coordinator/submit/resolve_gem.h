/*
 * resolve_gem — what a gem source says about one gem version: the rules for
 * gem names and exact versions, and the reader of a compact index's
 * info/<name> file (the lines "VERSION[-PLATFORM] DEPS|checksum:HEX,…"
 * after "---"), which gives the SHA-256 of the .gem to check. A static
 * source (what `gem generate_index` of RubyGems 3.3, Debian 12's, writes:
 * specs.4.8.gz and quick/Marshal.4.8/NAME-VERSION.gemspec.rz, Ruby Marshal data with
 * no checksum of the .gem) has no info/ files; resolve.c then fetches
 * gems/<name>-<version>.gem unverified and says so.
 *
 * Owns: nothing. Calls: util.
 */
#ifndef SF_RESOLVE_GEM_H
#define SF_RESOLVE_GEM_H

#include <stdbool.h>
#include <stddef.h>

#include "sha256.h"

#define SF_GEM_NAME_MAX 128

/* [A-Za-z0-9._-], not starting with '.' or '-', at most SF_GEM_NAME_MAX
 * bytes. An exact version (the ruby platform's): starts with a digit,
 * [0-9A-Za-z.-], at most 128 bytes. */
bool sf_gem_name_valid(const char *name);
bool sf_gem_version_valid(const char *version);

/* Reads a compact index info file (body[0..len), anything at all) for
 * version (platform ruby): 0 with sha256 (hex, lower case); -ENOENT (no
 * such version), -ENODATA (the version's line has no checksum),
 * -EBADMSG (not an info file, malformed checksum); err filled. */
int sf_gem_parse_info(const char *body, size_t len, const char *name, const char *version,
		      char sha256[SF_SHA256_HEX + 1], char *err, size_t errlen);

#endif
