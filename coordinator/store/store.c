/* store — see store.h. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

int sf_store_open(struct sf_store *store, const char *root)
{
	char path[4096];
	int rc;
	memset(store, 0, sizeof(*store));
	store->objects_fd = store->tmp_fd = -1;
	store->root = strdup(root);
	if (!store->root)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/objects", root);
	if ((rc = sf_mkdirs(path, 0755)))
		goto fail;
	store->objects_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/tmp", root);
	if ((rc = sf_mkdirs(path, 0700)))
		goto fail;
	store->tmp_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (store->objects_fd < 0 || store->tmp_fd < 0) {
		rc = -errno;
		goto fail;
	}
	/* Not swept here: several coordinators may share one store, and a
	 * named temporary (file systems without O_TMPFILE) may be another's
	 * upload in flight. The periodic sweep (sweep.h) removes only what is
	 * older than its grace period. */
	return 0;
fail:
	sf_store_close(store);
	return rc;
}

int sf_store_writable(struct sf_store *store)
{
	if (faccessat(store->tmp_fd, ".", W_OK, AT_EACCESS) != 0 ||
	    faccessat(store->objects_fd, ".", W_OK, AT_EACCESS) != 0)
		return -errno;
	return 0;
}

void sf_store_close(struct sf_store *store)
{
	if (store->objects_fd >= 0)
		close(store->objects_fd);
	if (store->tmp_fd >= 0)
		close(store->tmp_fd);
	free(store->root);
	memset(store, 0, sizeof(*store));
	store->objects_fd = store->tmp_fd = -1;
}

int sf_upload_begin(struct sf_store *store, long long max_size, struct sf_upload *up)
{
	memset(up, 0, sizeof(*up));
	up->store = store;
	up->max_size = max_size;
	up->fd = openat(store->tmp_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (up->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		char rnd[SF_UUID_LEN + 1];
		int rc = sf_uuid4(rnd);
		if (rc)
			return rc;
		snprintf(up->tmpname, sizeof(up->tmpname), "up-%s", rnd);
		up->fd = openat(store->tmp_fd, up->tmpname,
				O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
	}
	if (up->fd < 0)
		return -errno;
	int rc = sf_sha256_init(&up->hash);
	if (rc) {
		close(up->fd);
		up->fd = -1;
	}
	return rc;
}

int sf_upload_write(struct sf_upload *up, const void *data, size_t len)
{
	if (up->max_size > 0 && up->size + (long long)len > up->max_size)
		return -EFBIG;
	int rc = sf_write_all(up->fd, data, len);
	if (rc)
		return rc;
	up->size += (long long)len;
	return sf_sha256_update(&up->hash, data, len);
}

static void upload_close(struct sf_upload *up)
{
	if (up->fd >= 0)
		close(up->fd);
	up->fd = -1;
	if (up->tmpname[0])
		unlinkat(up->store->tmp_fd, up->tmpname, 0);
	up->tmpname[0] = '\0';
	sf_sha256_free(&up->hash);
}

void sf_upload_abort(struct sf_upload *up)
{
	if (up->store)
		upload_close(up);
	up->store = NULL;
}

int sf_upload_commit(struct sf_upload *up, char sha256[SF_SHA256_HEX + 1], long long *size)
{
	int rc;
	char dir[3], name[3 + SF_SHA256_HEX + 1];
	if ((rc = sf_sha256_final(&up->hash, sha256)))
		goto out;
	*size = up->size;
	if (fsync(up->fd) != 0) {
		rc = -errno;
		goto out;
	}
	snprintf(dir, sizeof(dir), "%.2s", sha256);
	snprintf(name, sizeof(name), "%.2s/%s", sha256, sha256);
	if (mkdirat(up->store->objects_fd, dir, 0755) != 0 && errno != EEXIST) {
		rc = -errno;
		goto out;
	}
	struct stat st;
	if (fstatat(up->store->objects_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && st.st_size == up->size) {
		/* Same bytes already stored, perhaps long ago by an upload whose
		 * scan was never committed: refresh the mtime, or the orphan sweep
		 * could take the object before this upload's row is committed. If
		 * the sweep took it already (ENOENT), store ours. */
		if (utimensat(up->store->objects_fd, name, NULL, AT_SYMLINK_NOFOLLOW) == 0) {
			rc = 0;
			goto out;
		}
		if (errno != ENOENT) {
			rc = -errno;
			goto out;
		}
	}
	if (up->tmpname[0]) {
		if (renameat(up->store->tmp_fd, up->tmpname, up->store->objects_fd, name) != 0) {
			rc = -errno;
			goto out;
		}
		up->tmpname[0] = '\0';
	} else {
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", up->fd);
		if (linkat(AT_FDCWD, proc, up->store->objects_fd, name, AT_SYMLINK_FOLLOW) != 0 &&
		    errno != EEXIST) {
			rc = -errno;
			goto out;
		}
	}
	/* The new directory entries must survive a crash too. */
	int dfd = openat(up->store->objects_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	fsync(up->store->objects_fd);
	rc = 0;
out:
	upload_close(up);
	up->store = NULL;
	return rc;
}

int sf_store_open_artifact(struct sf_store *store, const char *sha256, int *fd, long long *size)
{
	if (strlen(sha256) != SF_SHA256_HEX || !sf_is_hex(sha256, SF_SHA256_HEX))
		return -ENOENT;
	char name[3 + SF_SHA256_HEX + 1];
	snprintf(name, sizeof(name), "%.2s/%s", sha256, sha256);
	int f = openat(store->objects_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (f < 0)
		return -errno;
	struct stat st;
	if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(f);
		return -ENOENT;
	}
	*fd = f;
	*size = st.st_size;
	return 0;
}

/* Whether name is <sha256> (64 lower-case hex digits) under directory dir. */
static bool store_object_name(const char *dir, const char *name)
{
	return strlen(name) == SF_SHA256_HEX && sf_is_hex(name, SF_SHA256_HEX) &&
	       name[0] == dir[0] && name[1] == dir[1];
}

int sf_store_each_old_object(struct sf_store *store, time_t before, sf_store_object_fn fn,
			     void *ctx)
{
	int top = openat(store->objects_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (top < 0)
		return -errno;
	DIR *d = fdopendir(top);
	if (!d) {
		int rc = -errno;
		close(top);
		return rc;
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (strlen(e->d_name) != 2 || !sf_is_hex(e->d_name, 2))
			continue;
		int sub = openat(store->objects_fd, e->d_name,
				 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;
		DIR *sd = fdopendir(sub);
		if (!sd) {
			close(sub);
			continue;
		}
		struct dirent *o;
		while (rc == 0 && (o = readdir(sd)) != NULL) {
			struct stat st;
			if (!store_object_name(e->d_name, o->d_name) ||
			    fstatat(sub, o->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
			    !S_ISREG(st.st_mode) || st.st_mtime >= before)
				continue;
			rc = fn(ctx, o->d_name);
		}
		closedir(sd);
	}
	closedir(d);
	return rc;
}

int sf_store_remove_object(struct sf_store *store, const char *sha256, time_t before)
{
	if (strlen(sha256) != SF_SHA256_HEX || !sf_is_hex(sha256, SF_SHA256_HEX))
		return -ENOENT;
	char name[3 + SF_SHA256_HEX + 1], q[8 + SF_SHA256_HEX];
	snprintf(name, sizeof(name), "%.2s/%s", sha256, sha256);
	snprintf(q, sizeof(q), "sweep-%s", sha256);
	/* Out of the way first: from here an upload of these bytes finds no
	 * object (sf_upload_commit stores its own copy), and one that
	 * refreshed the mtime before the rename shows in the mtime below. */
	if (renameat(store->objects_fd, name, store->tmp_fd, q) != 0)
		return -errno;
	struct stat st;
	if (fstatat(store->tmp_fd, q, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return -errno; /* another sweeper put it back meanwhile */
	if (st.st_mtime < before) {
		if (unlinkat(store->tmp_fd, q, 0) != 0)
			return -errno;
		return 0;
	}
	/* Refreshed: put it back, unless the uploader already stored its own. */
	if (linkat(store->tmp_fd, q, store->objects_fd, name, 0) != 0 && errno != EEXIST) {
		int rc = -errno;
		sf_warn("store: cannot put back %s (%s); it stays as tmp/%s", sha256,
			strerror(-rc), q);
		return rc;
	}
	unlinkat(store->tmp_fd, q, 0);
	return -EBUSY;
}

int sf_store_sweep_tmp(struct sf_store *store, time_t before, unsigned *removed)
{
	*removed = 0;
	int fd = openat(store->tmp_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		if (fstatat(store->tmp_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		const char *sha = e->d_name + 6;
		if (strncmp(e->d_name, "sweep-", 6) == 0 && strlen(sha) == SF_SHA256_HEX &&
		    sf_is_hex(sha, SF_SHA256_HEX)) {
			/* A sweep stopped between its rename and its decision: put the
			 * object back (the next sweep decides again). */
			char dir[3], name[3 + SF_SHA256_HEX + 1];
			snprintf(dir, sizeof(dir), "%.2s", sha);
			snprintf(name, sizeof(name), "%.2s/%s", sha, sha);
			mkdirat(store->objects_fd, dir, 0755);
			if (linkat(store->tmp_fd, e->d_name, store->objects_fd, name, 0) == 0 ||
			    errno == EEXIST)
				unlinkat(store->tmp_fd, e->d_name, 0);
			continue;
		}
		/* Only upload temporaries ("up-<uuid>", sf_upload_begin); an
		 * upload in flight writes its file at least every idle-timeout. */
		if (strncmp(e->d_name, "up-", 3) != 0 || st.st_mtime >= before)
			continue;
		if (unlinkat(store->tmp_fd, e->d_name, 0) == 0)
			(*removed)++;
	}
	closedir(d);
	return 0;
}
