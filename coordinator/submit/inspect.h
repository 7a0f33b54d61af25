/*
 * inspect — what a submitted body is, read from its content, never from a
 * file name: an npm package or project, a Python sdist, wheel or project,
 * a Ruby gem or Gemfile project. Uploads (POST /v1/scans?ecosystem=…,
 * Package Hunter's POST /monitor/project/npm and /bundler), batch items
 * that name stored bytes, and pypi and rubygems package references the
 * resolver fetched are all judged here before a scan is queued; a body
 * that is not an artifact of its ecosystem is refused with the reason
 * (Package Hunter's npm route passes it on instead: upload.c). The kind
 * goes to the worker with the job (wire.h artifact.kind).
 *
 *   npm       package  a tar or zip whose single top directory, package/,
 *                      holds package.json (npm pack's layout)
 *             project  a tar or zip with package.json at its root or in its
 *                      single top directory (what the worker installs)
 *   pypi      sdist    a tar (any compression libarchive reads) or zip
 *                      whose single top directory holds PKG-INFO (Name,
 *                      Version)
 *             wheel    a zip with exactly one top-level NAME-VER.dist-info/
 *                      holding WHEEL (Wheel-Version) and METADATA (Name,
 *                      Version)
 *             project  a tar or zip with requirements.txt, pyproject.toml,
 *                      poetry.lock or Pipfile.lock at its root or in its
 *                      single top directory
 *   rubygems  gem      an uncompressed tar with metadata.gz (a gzipped YAML
 *                      Gem::Specification: name, version) and data.tar.gz
 *                      (gzip) at its root
 *             project  a tar or zip with Gemfile or Gemfile.lock at its
 *                      root or in its single top directory
 *
 * The body is hostile: archives are read as a stream with bounds on the
 * entries, on the bytes they unpack to (declared and actual, so a zip or
 * gzip bomb stops at the bound, not at the disk), on the depth and length
 * of paths, and on the few members that are read whole (metadata files,
 * at most SF_INSPECT_MEMBER_MAX bytes). Paths with ".." or an absolute
 * root are refused, as the worker's unpacker would. Nothing is written to
 * disk.
 *
 * Owns: nothing after return. Calls: libarchive, libyaml, util.
 */
#ifndef SF_INSPECT_H
#define SF_INSPECT_H

#include <stdbool.h>
#include <stddef.h>

#define SF_INSPECT_MEMBER_MAX (1 << 20) /* bytes of PKG-INFO, METADATA, metadata.gz … */
#define SF_INSPECT_DEPTH_MAX 64		/* path components of one entry */

struct sf_inspect_limits {
	long long max_entries;	/* entries of the archive */
	long long max_unpacked; /* bytes the entries unpack to */
};

struct sf_inspection {
	char kind[16];	     /* "package", "sdist", "wheel", "project", "gem" */
	char name[256];	     /* from the metadata; "" for projects */
	char version[128];   /* likewise */
	char message[512];   /* why the body was refused */
};

/* Whether an ecosystem's bodies are inspected here ("npm", "pypi",
 * "rubygems"). */
bool sf_inspect_ecosystem(const char *ecosystem);

/*
 * Inspects the archive in fd (read from its start; the caller closes it),
 * or in buf[0..len), as an artifact of ecosystem. 0 with *out filled;
 * -EBADMSG (not an artifact of that ecosystem, or not a readable archive),
 * -EFBIG (a bound was passed) or -EPERM (an unsafe path), each with
 * out->message saying why; -ENOMEM; -EINVAL for an ecosystem not
 * inspected.
 */
int sf_inspect_fd(int fd, const char *ecosystem, const struct sf_inspect_limits *lim,
		  struct sf_inspection *out);
int sf_inspect_memory(const void *buf, size_t len, const char *ecosystem,
		      const struct sf_inspect_limits *lim, struct sf_inspection *out);

#endif
