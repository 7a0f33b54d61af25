/*
 * pylock — a poetry.lock turned into what pip installs from: pinned
 * requirements ("name==version --hash=sha256:…" per package, the hashes of
 * its files), read with the CLI's lockfile reader (cli/deps lock_python,
 * fuzzed). Packages from git, a URL, a directory or another index are
 * refused: the fetch takes index packages only, checked by their digests.
 *
 * Kept apart from pypi.c because the reader's names (struct sf_lockfile)
 * are not npm's (project.h's enum sf_lockfile).
 *
 * Owns: nothing after return (out is the caller's). Calls: depset,
 * lock_python, body (names), util.
 */
#ifndef SF_PYLOCK_H
#define SF_PYLOCK_H

#include <stddef.h>

#include "util.h"

/* Appends the requirements of poetry.lock text[0..len) to out. 0, or
 * -EBADMSG / -EPROTO (err says why) or -ENOMEM. */
int sf_pylock_poetry(const char *text, size_t len, struct sf_buf *out, char *err, size_t errlen);

#endif
