/* unpack — see unpack.h. */
#include "unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

#define UNPACK_RESOLVE (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

void sf_unpack_default_limits(struct sf_unpack_limits *l)
{
	l->max_entries = 100000;
	l->max_bytes = 2ULL << 30;
	l->max_depth = 64;
	l->max_path = 1024;
}

static int unpack_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

static int openat2_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
	struct open_how how = {.flags = (uint64_t)flags | O_CLOEXEC,
			       .mode = (flags & O_CREAT) ? mode : 0,
			       .resolve = UNPACK_RESOLVE};
	long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

/*
 * Normalises an entry path in place: drops "./" and empty components, and
 * refuses absolute paths and "..". Returns the component count or -EPERM.
 */
static int unpack_clean_path(char *path)
{
	if (path[0] == '/')
		return -EPERM;
	char *out = path;
	int depth = 0;
	char *save = NULL;
	char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			free(copy);
			return -EPERM;
		}
		size_t n = strlen(c);
		if (out != path)
			*out++ = '/';
		memmove(out, c, n);
		out += n;
		depth++;
	}
	*out = '\0';
	free(copy);
	return depth;
}

/* Does `target` of a symlink at `entry` stay inside the tree? Lexically:
 * the tree is extracted without following links, so a chain of in-tree
 * links cannot leave it either. */
static int unpack_link_inside(const char *entry, const char *target)
{
	if (target[0] == '/' || target[0] == '\0')
		return 0;
	int depth = 0;
	for (const char *p = entry; *p; p++) /* components of the parent dir */
		if (*p == '/')
			depth++;
	char *copy = strdup(target);
	if (!copy)
		return 0;
	char *save = NULL;
	int ok = 1;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			if (--depth < 0) {
				ok = 0;
				break;
			}
		} else {
			depth++;
		}
	}
	free(copy);
	return ok;
}

/* Opens (creating as needed) the parent directory of `path` beneath root;
 * *base points at the last component. */
static int unpack_parent(int rootfd, char *path, int *parentfd, const char **base)
{
	char *slash = strrchr(path, '/');
	if (!slash) {
		*base = path;
		*parentfd = dup(rootfd);
		return *parentfd < 0 ? -errno : 0;
	}
	*slash = '\0';
	*base = slash + 1;
	int cur = dup(rootfd);
	if (cur < 0) {
		*slash = '/';
		return -errno;
	}
	char *save = NULL;
	int rc = 0;
	char *dirs = strdup(path);
	*slash = '/';
	if (!dirs) {
		close(cur);
		return -ENOMEM;
	}
	for (char *c = strtok_r(dirs, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (mkdirat(cur, c, 0755) != 0 && errno != EEXIST) {
			rc = -errno;
			break;
		}
		int next = openat2_beneath(cur, c, O_RDONLY | O_DIRECTORY, 0);
		close(cur);
		cur = next;
		if (cur < 0) {
			rc = cur;
			break;
		}
	}
	free(dirs);
	if (rc) {
		if (cur >= 0)
			close(cur);
		return rc;
	}
	*parentfd = cur;
	return 0;
}

static int unpack_write_data(struct archive *a, int fd, const struct sf_unpack_limits *l,
			     struct sf_unpack_stats *st)
{
	const void *buf;
	size_t size;
	la_int64_t offset;
	for (;;) {
		int r = archive_read_data_block(a, &buf, &size, &offset);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return -EINVAL;
		if (st->bytes + size > l->max_bytes)
			return -EFBIG;
		st->bytes += size;
		if (pwrite(fd, buf, size, offset) != (ssize_t)size)
			return -errno ? -errno : -EIO;
	}
}

static int unpack_copy_file(int rootfd, const char *from, int to_fd, const struct sf_unpack_limits *l,
			    struct sf_unpack_stats *st)
{
	int src = openat2_beneath(rootfd, from, O_RDONLY, 0);
	if (src < 0)
		return src;
	struct stat sb;
	int rc = 0;
	if (fstat(src, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		rc = -EPERM;
		goto out;
	}
	char chunk[65536];
	ssize_t n;
	while ((n = read(src, chunk, sizeof(chunk))) > 0) {
		if (st->bytes + (uint64_t)n > l->max_bytes) {
			rc = -EFBIG;
			goto out;
		}
		st->bytes += (uint64_t)n;
		if ((rc = sf_write_all(to_fd, chunk, (size_t)n)))
			goto out;
	}
	if (n < 0)
		rc = -errno;
	if (rc == 0)
		fchmod(to_fd, sb.st_mode & 0777);
out:
	close(src);
	return rc;
}

#define UNPACK_PATH_BUF 4096 /* a cleaned entry path */

/* Checks an entry's path against the limits and cleans it into path
 * (UNPACK_PATH_BUF bytes); *depth receives its component count (0 for
 * the archive's "./" itself). */
static int unpack_entry_path(struct archive_entry *e, const struct sf_unpack_limits *l,
			     uint64_t entry_no, char *path, int *depth, char *err, size_t errlen)
{
	const char *raw = archive_entry_pathname(e);
	if (!raw || strlen(raw) > l->max_path)
		return unpack_fail(err, errlen, -EFBIG, "entry %llu: path missing or longer than %u bytes",
				   (unsigned long long)entry_no, l->max_path);
	sf_strlcpy(path, raw, UNPACK_PATH_BUF);
	*depth = unpack_clean_path(path);
	if (*depth < 0)
		return unpack_fail(err, errlen, -EPERM,
				   "entry '%s' has an absolute path or a '..' component", raw);
	if ((unsigned)*depth > l->max_depth)
		return unpack_fail(err, errlen, -EFBIG, "entry '%s' is nested deeper than %u", raw,
				   l->max_depth);
	return 0;
}

/* Refuses what may not be extracted: a symlink leaving the tree, a
 * device, fifo or socket, a hard link to outside; cleans a hard link's
 * target into linkpath (UNPACK_PATH_BUF bytes). */
static int unpack_entry_kind(struct archive_entry *e, const char *path, char *linkpath, char *err,
			     size_t errlen)
{
	const char *raw = archive_entry_pathname(e);
	mode_t type = archive_entry_filetype(e);
	const char *hardlink = archive_entry_hardlink(e);
	if (type == AE_IFLNK) {
		const char *target = archive_entry_symlink(e);
		if (!target || !unpack_link_inside(path, target))
			return unpack_fail(err, errlen, -EPERM,
					   "symlink '%s' -> '%s' points outside the tree", raw,
					   target ? target : "");
	} else if (!hardlink && type != AE_IFREG) {
		return unpack_fail(err, errlen, -EPERM,
				   "entry '%s' is a device, fifo or socket; refused", raw);
	}
	if (hardlink) {
		sf_strlcpy(linkpath, hardlink, UNPACK_PATH_BUF);
		if (unpack_clean_path(linkpath) <= 0)
			return unpack_fail(err, errlen, -EPERM,
					   "hard link '%s' -> '%s' points outside the tree", raw,
					   hardlink);
	}
	return 0;
}

/* Writes a symlink, file or hard link (as a copy of linkpath) at path,
 * replacing an earlier file of the same name. */
static int unpack_entry_write(struct archive *a, struct archive_entry *e, int rootfd, char *path,
			      const char *linkpath, const struct sf_unpack_limits *l,
			      struct sf_unpack_stats *st, char *err, size_t errlen)
{
	const char *raw = archive_entry_pathname(e);
	const char *hardlink = archive_entry_hardlink(e);
	int pfd, rc = 0;
	const char *base;
	if ((rc = unpack_parent(rootfd, path, &pfd, &base)))
		return unpack_fail(err, errlen, -EPERM, "entry '%s': %s", raw, strerror(-rc));
	/* A later entry of the same name replaces an earlier file (tar semantics). */
	if (unlinkat(pfd, base, 0) != 0 && errno != ENOENT) {
		rc = unpack_fail(err, errlen, -EPERM, "entry '%s' replaces a directory", raw);
		close(pfd);
		return rc;
	}
	if (archive_entry_filetype(e) == AE_IFLNK) {
		if (symlinkat(archive_entry_symlink(e), pfd, base) != 0)
			rc = unpack_fail(err, errlen, -errno, "symlink '%s': %s", raw,
					 strerror(errno));
		close(pfd);
		return rc;
	}
	int fd = openat2_beneath(pfd, base, O_WRONLY | O_CREAT | O_EXCL, 0600);
	close(pfd);
	if (fd < 0)
		return unpack_fail(err, errlen, -EPERM, "entry '%s': %s", raw, strerror(-fd));
	if (hardlink)
		rc = unpack_copy_file(rootfd, linkpath, fd, l, st);
	else
		rc = unpack_write_data(a, fd, l, st);
	if (rc == 0 && !hardlink)
		fchmod(fd, archive_entry_perm(e) & 0777);
	close(fd);
	if (rc == -EFBIG)
		return unpack_fail(err, errlen, rc, "expanded size exceeds %llu bytes",
				   (unsigned long long)l->max_bytes);
	if (rc)
		return unpack_fail(err, errlen, rc, "entry '%s': %s", raw,
				   rc == -EINVAL ? archive_error_string(a) : strerror(-rc));
	return 0;
}

/* Extracts one entry (st->entries already counts it). */
static int unpack_entry(struct archive *a, struct archive_entry *e, int rootfd,
			const struct sf_unpack_limits *l, struct sf_unpack_stats *st, char *err,
			size_t errlen)
{
	char path[UNPACK_PATH_BUF];
	int depth = 0, rc;
	if ((rc = unpack_entry_path(e, l, st->entries, path, &depth, err, errlen)))
		return rc;
	if (depth == 0)
		return 0; /* "./" itself */
	if (archive_entry_filetype(e) == AE_IFDIR) {
		char dirpath[UNPACK_PATH_BUF + 2];
		snprintf(dirpath, sizeof(dirpath), "%s/", path);
		int pfd;
		const char *base;
		if ((rc = unpack_parent(rootfd, dirpath, &pfd, &base)))
			return unpack_fail(err, errlen, -EPERM, "entry '%s': %s",
					   archive_entry_pathname(e), strerror(-rc));
		close(pfd);
		return 0;
	}
	char linkpath[UNPACK_PATH_BUF] = "";
	if ((rc = unpack_entry_kind(e, path, linkpath, err, errlen)))
		return rc;
	return unpack_entry_write(a, e, rootfd, path, linkpath, l, st, err, errlen);
}

int sf_unpack(const char *archive_path, const char *dest, const struct sf_unpack_limits *l,
	      struct sf_unpack_stats *stats, char *err, size_t errlen)
{
	struct sf_unpack_stats st = {0};
	int rc = 0;
	int rootfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return unpack_fail(err, errlen, -errno, "cannot open %s", dest);
	struct archive *a = archive_read_new();
	if (!a) {
		close(rootfd);
		return -ENOMEM;
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	/* wheels and zip sdists; entries are checked the same way */
	archive_read_support_format_zip(a);
	if (archive_read_open_filename(a, archive_path, 65536) != ARCHIVE_OK) {
		rc = unpack_fail(err, errlen, -EINVAL, "not a readable archive: %s",
				 archive_error_string(a));
		goto out;
	}
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			rc = unpack_fail(err, errlen, -EINVAL, "corrupt archive after %llu entries: %s",
					 (unsigned long long)st.entries, archive_error_string(a));
			goto out;
		}
		if (++st.entries > l->max_entries) {
			rc = unpack_fail(err, errlen, -EFBIG, "more than %llu entries",
					 (unsigned long long)l->max_entries);
			goto out;
		}
		if ((rc = unpack_entry(a, e, rootfd, l, &st, err, errlen)))
			goto out;
	}
out:
	archive_read_free(a);
	close(rootfd);
	if (stats)
		*stats = st;
	return rc;
}

static int unpack_has_manifest(int dirfd)
{
	struct stat st;
	return fstatat(dirfd, "package.json", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

int sf_unpack_find_root(const char *dest, char *root, size_t rootlen, char *err, size_t errlen)
{
	int rc = -ENOENT;
	DIR *d = opendir(dest);
	if (!d)
		return unpack_fail(err, errlen, -errno, "cannot open %s", dest);
	if (unpack_has_manifest(dirfd(d))) {
		root[0] = '\0';
		closedir(d);
		return 0;
	}
	char only[256] = "";
	int entries = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		entries++;
		if (de->d_type == DT_DIR)
			sf_strlcpy(only, de->d_name, sizeof(only));
	}
	if (entries == 1 && only[0]) {
		int sub = openat(dirfd(d), only, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0 && unpack_has_manifest(sub)) {
			sf_strlcpy(root, only, rootlen);
			rc = 0;
		}
		if (sub >= 0)
			close(sub);
	}
	closedir(d);
	if (rc)
		unpack_fail(err, errlen, rc,
			    "no package.json at the root of the tarball or in its single top directory");
	return rc;
}
