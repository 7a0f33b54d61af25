/* store — see store.h. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
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
	 * upload in flight. */
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
		rc = 0; /* same bytes already stored */
		goto out;
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
