/*
 * gem — what each phase of a RubyGems scan runs inside the sandbox
 * (struct sf_ecosystem sf_ecosystem_rubygems, ecosystem.h), with bundler
 * resolving and gem / bundler installing into SF_ECO_GEMS:
 *
 *   fetch    bundle cache --no-install: the Gemfile's tree (a Gemfile.lock's
 *            versions, as bundler keeps them) downloaded into SF_ECO_DIST from the
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
 * elsewhere): only the worker's settings count.
 *
 * Owns: nothing beyond ecosystem.h's. Calls: ecosystem, body, util.
 */
#ifndef SF_GEM_H
#define SF_GEM_H

#include "ecosystem.h"

/* Reads an installed gemspec's "# stub: NAME VERSION PLATFORM PATHS" line
 * (what RubyGems writes first in specifications/<full name>.gemspec): name, version
 * and the first require path. true when it is well formed. */
bool sf_gem_stub(const char *text, size_t len, char *name, size_t namelen, char *version,
		 size_t verlen, char *path, size_t pathlen);

#endif
