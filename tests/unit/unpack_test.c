/* unpack_test — real tarballs, benign and hostile, through the safe unpacker. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "harness.h"
#include "unpack.h"
#include "util.h"

struct entry {
	const char *path;
	char kind; /* f file, d dir, l symlink, h hardlink, c char device */
	const char *data; /* file content or link target */
};

static char base[64];

static void make_tar(const char *name, const struct entry *e, size_t n)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", base, name);
	struct archive *a = archive_write_new();
	archive_write_add_filter_gzip(a);
	archive_write_set_format_pax_restricted(a);
	archive_write_open_filename(a, path);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_pathname(ae, e[i].path);
		archive_entry_set_perm(ae, 04755);
		switch (e[i].kind) {
		case 'f':
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_size(ae, (la_int64_t)strlen(e[i].data));
			break;
		case 'd':
			archive_entry_set_filetype(ae, AE_IFDIR);
			break;
		case 'l':
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_symlink(ae, e[i].data);
			break;
		case 'h':
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_hardlink(ae, e[i].data);
			break;
		case 'c':
			archive_entry_set_filetype(ae, AE_IFCHR);
			archive_entry_set_rdev(ae, makedev(1, 3));
			break;
		}
		archive_write_header(a, ae);
		if (e[i].kind == 'f')
			archive_write_data(a, e[i].data, strlen(e[i].data));
		archive_entry_free(ae);
	}
	archive_write_close(a);
	archive_write_free(a);
}

/* Unpacks base/name into a fresh base/out-name; returns sf_unpack's code. */
static int unpack(const char *name, const struct sf_unpack_limits *l, char *dest, size_t destlen,
		  char *err, size_t errlen)
{
	char archive[256];
	snprintf(archive, sizeof(archive), "%s/%s", base, name);
	snprintf(dest, destlen, "%s/out-%s", base, name);
	mkdir(dest, 0755);
	struct sf_unpack_limits def;
	sf_unpack_default_limits(&def);
	struct sf_unpack_stats st;
	err[0] = '\0';
	int rc = sf_unpack(archive, dest, l ? l : &def, &st, err, errlen);
	if (rc)
		fprintf(stderr, "  (%s refused as expected?) %s\n", name, err);
	return rc;
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

int main(void)
{
	snprintf(base, sizeof(base), "/tmp/sf-unpack-test-XXXXXX");
	CHECK(mkdtemp(base) != NULL);
	char dest[300], err[512], p[600], root[64];

	/* An npm pack tarball: package/ with package.json. */
	struct entry npm[] = {{"package/package.json", 'f', "{\"name\":\"x\"}"},
			      {"package/lib/index.js", 'f', "module.exports = 1;"},
			      {"package/bin/tool", 'f', "#!/bin/sh\n"},
			      {"package/lib/alias.js", 'l', "index.js"},
			      {"package/lib/up.js", 'l', "../bin/tool"},
			      {"package/copy.js", 'h', "package/lib/index.js"}};
	make_tar("npm.tgz", npm, 6);
	CHECK_EQ(unpack("npm.tgz", NULL, dest, sizeof(dest), err, sizeof(err)), 0);
	snprintf(p, sizeof(p), "%s/package/lib/index.js", dest);
	CHECK(exists(p));
	struct stat st;
	snprintf(p, sizeof(p), "%s/package/bin/tool", dest);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0755); /* setuid dropped */
	snprintf(p, sizeof(p), "%s/package/copy.js", dest);
	CHECK(lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 19);
	CHECK_EQ(sf_unpack_find_root(dest, root, sizeof(root), err, sizeof(err)), 0);
	CHECK(strcmp(root, "package") == 0);

	/* A project tarball with package.json at the top (and ./ prefixes). */
	struct entry proj[] = {{"./", 'd', NULL}, {"./package.json", 'f', "{}"},
			       {"./src/a.js", 'f', "1"}};
	make_tar("proj.tgz", proj, 3);
	CHECK_EQ(unpack("proj.tgz", NULL, dest, sizeof(dest), err, sizeof(err)), 0);
	CHECK_EQ(sf_unpack_find_root(dest, root, sizeof(root), err, sizeof(err)), 0);
	CHECK(strcmp(root, "") == 0);

	/* No package.json anywhere sensible. */
	struct entry nopkg[] = {{"a/x.js", 'f', "1"}, {"b/package.json", 'f', "{}"}};
	make_tar("nopkg.tgz", nopkg, 2);
	CHECK_EQ(unpack("nopkg.tgz", NULL, dest, sizeof(dest), err, sizeof(err)), 0);
	CHECK_EQ(sf_unpack_find_root(dest, root, sizeof(root), err, sizeof(err)), -ENOENT);

	/* Hostile: ../ traversal. */
	struct entry dotdot[] = {{"package/package.json", 'f', "{}"},
				 {"package/../../evil-dotdot", 'f', "pwned"}};
	make_tar("dotdot.tgz", dotdot, 2);
	CHECK_EQ(unpack("dotdot.tgz", NULL, dest, sizeof(dest), err, sizeof(err)), -EPERM);
	CHECK(strstr(err, "..") != NULL);
	snprintf(p, sizeof(p), "%s/evil-dotdot", base);
	CHECK(!exists(p));

	/* Hostile: absolute path. */
	snprintf(p, sizeof(p), "%s/evil-absolute", base);
	struct entry abs[] = {{p, 'f', "pwned"}};
	make_tar("abs.tgz", abs, 1);
	CHECK_EQ(unpack("abs.tgz", NULL, dest, sizeof(dest), err, sizeof(err)), -EPERM);
	CHECK(!exists(p));

	/* Hostile: a symlink out of the tree, then a file written through it. */
	struct entry esc[] = {{"package/link", 'l', "../../.."},
			      {"package/link/evil-symlink", 'f', "pwned"}};
	make_tar("symlink.tgz", esc, 2);
	CHECK_EQ(unpack("symlink.tgz", NULL, dest, sizeof(dest), err, sizeof(err)), -EPERM);
	CHECK(strstr(err, "outside") != NULL);
	snprintf(p, sizeof(p), "%s/evil-symlink", base);
	CHECK(!exists(p));

	/* Hostile: absolute symlink target. */
	struct entry abslink[] = {{"package/etc", 'l', "/etc"}};
	make_tar("abslink.tgz", abslink, 1);
	CHECK_EQ(unpack("abslink.tgz", NULL, dest, sizeof(dest), err, sizeof(err)), -EPERM);

	/* Hostile: an in-tree symlink to a directory, then a write through it
	 * (a directory-swap trick): refused, because extraction never follows links. */
	struct entry via[] = {{"package/real/x", 'f', "1"},
			      {"package/alias", 'l', "real"},
			      {"package/alias/y", 'f', "2"}};
	make_tar("via.tgz", via, 3);
	CHECK_EQ(unpack("via.tgz", NULL, dest, sizeof(dest), err, sizeof(err)), -EPERM);

	/* Hostile: a hard link to a file outside. */
	struct entry hard[] = {{"package/passwd", 'h', "../../../etc/passwd"}};
	make_tar("hard.tgz", hard, 1);
	CHECK_EQ(unpack("hard.tgz", NULL, dest, sizeof(dest), err, sizeof(err)), -EPERM);

	/* Hostile: a device node. */
	struct entry dev[] = {{"package/null", 'c', NULL}};
	make_tar("dev.tgz", dev, 1);
	CHECK_EQ(unpack("dev.tgz", NULL, dest, sizeof(dest), err, sizeof(err)), -EPERM);
	CHECK(strstr(err, "device") != NULL);

	/* Limits: too many entries, too many bytes, too deep. */
	struct entry many[50];
	char names[50][32];
	for (int i = 0; i < 50; i++) {
		snprintf(names[i], sizeof(names[i]), "package/f%d", i);
		many[i] = (struct entry){names[i], 'f', "x"};
	}
	make_tar("many.tgz", many, 50);
	struct sf_unpack_limits lim;
	sf_unpack_default_limits(&lim);
	lim.max_entries = 20;
	CHECK_EQ(unpack("many.tgz", &lim, dest, sizeof(dest), err, sizeof(err)), -EFBIG);
	sf_unpack_default_limits(&lim);
	lim.max_bytes = 30;
	CHECK_EQ(unpack("many.tgz", &lim, dest, sizeof(dest), err, sizeof(err)), -EFBIG);
	sf_unpack_default_limits(&lim);
	lim.max_depth = 3;
	struct entry deep[] = {{"a/b/c/d/e", 'f', "x"}};
	make_tar("deep.tgz", deep, 1);
	CHECK_EQ(unpack("deep.tgz", &lim, dest, sizeof(dest), err, sizeof(err)), -EFBIG);

	/* Not an archive at all. */
	snprintf(p, sizeof(p), "%s/garbage.tgz", base);
	sf_write_file(p, "this is not a tarball", 21);
	CHECK_EQ(unpack("garbage.tgz", NULL, dest, sizeof(dest), err, sizeof(err)), -EINVAL);

	sf_rmtree(base);
	TEST_DONE();
}
