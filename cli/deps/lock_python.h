/*
 * lock_python — PyPI's lockfiles:
 *   requirements.txt (pip's format; hand-parsed, fuzzed): logical lines
 *     (backslash continuations joined, comments cut), each "name[extras]
 *     ==version [; marker] [--hash=algo:hex …]"; "name @ URL" has that
 *     source; a requirement not pinned with == is noted and skipped; pip's
 *     options (-r, -c, -i, --extra-index-url, …) are not packages (files
 *     named by -r are found by the walk when they are requirements files);
 *     -e lines are the repository's own code.
 *   Pipfile.lock (JSON, jansson; lines from jsonpos): "default" and
 *     "develop", each name → {version: "==1.0", hashes, or git/path}.
 *   poetry.lock (TOML, toml.h): each [[package]] (name, version, files'
 *     hashes, [package.source] for git, URLs, other indexes, directories),
 *     and lock format 1.1's [metadata.files] hashes.
 * Names are normalised as PEP 503 says (lower case, runs of -_. as one -);
 * hashes become the entry's integrity: "algo:hex", sorted, space-separated.
 *
 * Owns: nothing after return. Calls: depset, jsonpos, toml, jansson, libc.
 */
#ifndef SF_LOCK_PYTHON_H
#define SF_LOCK_PYTHON_H

#include <stddef.h>

#include "depset.h"

/* Each reads data[0..len) into lf: 0, -EPROTO (malformed:
 * sf_lockfile_fail said why) or -ENOMEM. */
int sf_lock_requirements(struct sf_lockfile *lf, const char *data, size_t len);
int sf_lock_pipfile(struct sf_lockfile *lf, const char *data, size_t len);
int sf_lock_poetry(struct sf_lockfile *lf, const char *data, size_t len);

/* PEP 503's normal form of name into out (outlen bytes); false when name
 * is not a valid distribution name. */
int sf_pypi_normalize(const char *name, size_t len, char *out, size_t outlen);

#endif
