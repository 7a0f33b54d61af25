/*
 * gem — what each phase of a RubyGems scan runs inside the sandbox
 * (struct sf_ecosystem sf_ecosystem_rubygems, ecosystem.h), with bundler
 * resolving and gem / bundler installing into SF_ECO_GEMS:
 *
 *   fetch    bundle cache --no-install: the Gemfile's tree (frozen to a
 *            Gemfile.lock: its versions exactly, a lock that disagrees with
 *            the Gemfile fails) downloaded into SF_ECO_DIST from the
 *            worker's gem source (bundler's mirror.all: whatever source a
 *            Gemfile names, the worker's answers) through the proxy; for
 *            a .gem, a Gemfile the worker writes with the gem's runtime
 *            dependencies (none: nothing to fetch). Evaluating a Gemfile
 *            runs the project's Ruby: watched, phase fetch
 *   install  bundle install --local (a project; frozen to its Gemfile.lock) or gem install --local of
 *            the .gem with its dependencies from SF_ECO_DIST, offline:
 *            native extensions built (extconf.rb, make, gcc)
 *   import   `require` of each top-level file of each installed gem's
 *            require paths, after `gem NAME, "= VERSION"`, in a fresh ruby
 *            whose cwd is the gem's directory (what attributes it), each
 *            bounded in time
 *
 * A project's own .bundle/config is not read (BUNDLE_APP_CONFIG points
 * elsewhere): only the worker's settings count. Every phase runs the
 * image's bundler (BUNDLER_VERSION, sf_gem_image_bundler), whatever a
 * lock's BUNDLED WITH says; that version is noted as a bundled_with fact.
 *
 * Owns: nothing beyond ecosystem.h's. Calls: ecosystem, body, util.
 */
#ifndef SF_GEM_H
#define SF_GEM_H

#include "ecosystem.h"

#define SF_GEM_STUB_PATHS 16 /* require paths read from a stub line */

/* What an installed gemspec's stub line says. */
struct sf_gem_stub {
	char name[SF_BODY_NAME_MAX];
	char version[SF_BODY_VERSION_MAX];
	char paths[SF_GEM_STUB_PATHS][200]; /* require paths, relative to the gem */
	int npaths;
};

/* Reads an installed gemspec's "# stub: NAME VERSION PLATFORM PATHS" line
 * (what RubyGems writes first in specifications/<full name>.gemspec; PATHS
 * are the require paths joined by NUL) into out. true when it is well
 * formed: a valid name, at least one require path, none absolute or with
 * "..". Paths beyond SF_GEM_STUB_PATHS are left out. */
bool sf_gem_stub(const char *text, size_t len, struct sf_gem_stub *out);

/* The version of the bundler a `bundle` of the sandbox image runs: the
 * highest of the bundler specifications in rootfs (Debian's
 * rubygems-integration and Ruby's own gem directories), as RubyGems
 * picks it. 0, or -ENOENT with out "". */
int sf_gem_image_bundler(const char *rootfs, char *out, size_t outlen);

/* The bundler version a Gemfile.lock names (its "BUNDLED WITH" section).
 * true when there is one of RubyGems' version characters. */
bool sf_gem_lock_bundler(const char *text, size_t len, char *out, size_t outlen);

#endif
