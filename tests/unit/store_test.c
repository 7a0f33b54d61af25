/* store_test — the content-addressed artifact store on a real directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "sha256.h"
#include "store.h"

static int count_old(void *ctx, const char *sha256)
{
	(void)sha256;
	(*(int *)ctx)++;
	return 0;
}

static void age(const char *path)
{
	struct timespec t[2] = {{.tv_sec = time(NULL) - 7200}, {.tv_sec = time(NULL) - 7200}};
	CHECK_EQ(utimensat(AT_FDCWD, path, t, 0), 0);
}

static void put(const char *path, const char *text)
{
	CHECK_EQ(sf_write_file(path, text, strlen(text)), 0);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	if (d)
		closedir(d);
	return n;
}

int main(void)
{
	char root[] = "/tmp/sf-store-test-XXXXXX";
	CHECK(mkdtemp(root) != NULL);
	struct sf_store st;
	CHECK_EQ(sf_store_open(&st, root), 0);

	/* A 3 MiB upload in uneven chunks hashes like sha256 of the same bytes. */
	size_t total = 3u << 20;
	unsigned char *data = malloc(total);
	for (size_t i = 0; i < total; i++)
		data[i] = (unsigned char)(i * 2654435761u >> 13);
	char want[65], got[65];
	sf_sha256_buf(data, total, want);
	struct sf_upload up;
	CHECK_EQ(sf_upload_begin(&st, 0, &up), 0);
	for (size_t off = 0; off < total;) {
		size_t n = 1 + (off * 7919) % 70001;
		if (n > total - off)
			n = total - off;
		CHECK_EQ(sf_upload_write(&up, data + off, n), 0);
		off += n;
	}
	long long size = 0;
	CHECK_EQ(sf_upload_commit(&up, got, &size), 0);
	CHECK(strcmp(got, want) == 0);
	CHECK_EQ(size, (long long)total);

	int fd;
	long long stored;
	CHECK_EQ(sf_store_open_artifact(&st, want, &fd, &stored), 0);
	CHECK_EQ(stored, (long long)total);
	char rehash[65];
	sf_sha256_fd(fd, rehash, NULL);
	close(fd);
	CHECK(strcmp(rehash, want) == 0);

	/* The same bytes again: still one object. */
	CHECK_EQ(sf_upload_begin(&st, 0, &up), 0);
	CHECK_EQ(sf_upload_write(&up, data, total), 0);
	CHECK_EQ(sf_upload_commit(&up, got, &size), 0);
	char objdir[4200];
	snprintf(objdir, sizeof(objdir), "%s/objects/%.2s", root, want);
	CHECK_EQ(count_entries(objdir), 1);

	/* An aborted upload leaves nothing, in tmp/ or objects/. */
	char tmpdir[4200], objects[4200];
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", root);
	snprintf(objects, sizeof(objects), "%s/objects", root);
	int before = count_entries(objects);
	CHECK_EQ(sf_upload_begin(&st, 0, &up), 0);
	CHECK_EQ(sf_upload_write(&up, "partial", 7), 0);
	sf_upload_abort(&up);
	CHECK_EQ(count_entries(tmpdir), 0);
	CHECK_EQ(count_entries(objects), before);

	/* A size limit stops the upload. */
	CHECK_EQ(sf_upload_begin(&st, 10, &up), 0);
	CHECK_EQ(sf_upload_write(&up, "0123456789", 10), 0);
	CHECK_EQ(sf_upload_write(&up, "x", 1), -EFBIG);
	sf_upload_abort(&up);

	/* Malformed or unknown hashes are not found, and never escape. */
	CHECK_EQ(sf_store_open_artifact(&st, "../../etc/passwd", &fd, &stored), -ENOENT);
	CHECK(sf_store_open_artifact(&st, "0000000000000000000000000000000000000000000000000000000000000000",
				     &fd, &stored) != 0);

	/* The sweep's operations (sweep.h). An old object uploaded again gets
	 * a fresh mtime: the sweep must not take it before the row comes. */
	char objpath[4300], path[4300];
	snprintf(objpath, sizeof(objpath), "%s/objects/%.2s/%s", root, want, want);
	time_t cutoff = time(NULL) - 3600;
	struct stat sst;
	int nold = 0;
	age(objpath);
	CHECK_EQ(sf_store_each_old_object(&st, cutoff, count_old, &nold), 0);
	CHECK_EQ(nold, 1);
	CHECK_EQ(sf_upload_begin(&st, 0, &up), 0);
	CHECK_EQ(sf_upload_write(&up, data, total), 0);
	CHECK_EQ(sf_upload_commit(&up, got, &size), 0);
	CHECK(stat(objpath, &sst) == 0 && sst.st_mtime >= cutoff);
	nold = 0;
	CHECK_EQ(sf_store_each_old_object(&st, cutoff, count_old, &nold), 0);
	CHECK_EQ(nold, 0);
	/* A fresh object is put back, not deleted; an old one goes. */
	CHECK_EQ(sf_store_remove_object(&st, want, cutoff), -EBUSY);
	CHECK(stat(objpath, &sst) == 0);
	CHECK_EQ(count_entries(tmpdir), 0);
	age(objpath);
	CHECK_EQ(sf_store_remove_object(&st, want, cutoff), 0);
	CHECK(stat(objpath, &sst) != 0);
	CHECK_EQ(count_entries(tmpdir), 0);
	CHECK_EQ(sf_store_remove_object(&st, want, cutoff), -ENOENT);
	CHECK_EQ(sf_store_remove_object(&st, "../../etc/passwd", cutoff), -ENOENT);
	/* tmp/: old upload temporaries go; fresh ones and other files stay; a
	 * crashed sweep's quarantined object is put back. */
	unsigned removed = 99;
	snprintf(path, sizeof(path), "%s/up-old", tmpdir);
	put(path, "x");
	age(path);
	snprintf(path, sizeof(path), "%s/up-fresh", tmpdir);
	put(path, "x");
	snprintf(path, sizeof(path), "%s/notes", tmpdir);
	put(path, "x");
	age(path);
	snprintf(path, sizeof(path), "%s/sweep-%s", tmpdir, want);
	put(path, "quarantined");
	CHECK_EQ(sf_store_sweep_tmp(&st, cutoff, &removed), 0);
	CHECK_EQ(removed, 1);
	CHECK_EQ(count_entries(tmpdir), 2); /* up-fresh, notes */
	CHECK(stat(objpath, &sst) == 0 && sst.st_size == 11);

	sf_store_close(&st);
	free(data);
	sf_rmtree(root);
	TEST_DONE();
}
