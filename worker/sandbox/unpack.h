/*
 * unpack — extracts an untrusted tarball beneath a directory, safely.
 *
 * libarchive reads the archive (tar family; gzip/bzip2/xz/zstd filters); we
 * write every entry ourselves beneath a directory fd with openat2(2)
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, so no entry can land outside the
 * tree or go through a link. The whole archive is refused, with a reason,
 * when any entry has an absolute path, a `..` component, a symlink whose
 * target leaves the tree, a device/fifo/socket type, or when the entry
 * count, path depth/length or expanded size exceed the limits. Hard links
 * (in-tree only) are materialised as copies. setuid/setgid/sticky bits are
 * dropped.
 *
 * Owns: nothing after return. Calls: libarchive, util, libc.
 */
#ifndef SF_UNPACK_H
#define SF_UNPACK_H

#include <stddef.h>
#include <stdint.h>

struct sf_unpack_limits {
	uint64_t max_entries;
	uint64_t max_bytes; /* sum of all file contents written */
	unsigned max_depth; /* path components */
	unsigned max_path;  /* bytes in one entry path */
};

struct sf_unpack_stats {
	uint64_t entries;
	uint64_t bytes;
};

/* Default limits: 100k entries, 2 GiB expanded, depth 64, path 1024. */
void sf_unpack_default_limits(struct sf_unpack_limits *l);

/* Returns 0, or -EPERM (hostile entry), -EFBIG (limits), -EINVAL (not an
 * archive) with a human-readable reason in err. dest must be an empty dir. */
int sf_unpack(const char *archive_path, const char *dest, const struct sf_unpack_limits *l,
	      struct sf_unpack_stats *stats, char *err, size_t errlen);

/* Finds the package root after unpacking: "" when package.json is at the top,
 * "<dir>" when it is in the only top-level directory (npm pack: "package").
 * -ENOENT with a reason otherwise. */
int sf_unpack_find_root(const char *dest, char *root, size_t rootlen, char *err, size_t errlen);

#endif
