/*
 * inspect_test — what a pypi or rubygems body is, read from its content
 * (coordinator/submit/inspect.c): real archives written with libarchive
 * here, benign and hostile — sdists (tar.gz, zip), wheels, projects (tar
 * and zip), gems, npm package tarballs and projects,
 * Gemfile projects; an npm tarball posing as a wheel or a gem, a wheel
 * with two .dist-info, a compressed "gem", zip and gzip bombs, a
 * metadata.gz bomb, paths with "..", absolute and 100 deep, truncated and
 * garbage bodies, too many entries. The stored corpus of inspect_fuzz is
 * written from the same builders (INSPECT_TEST_WRITE_CORPUS=DIR).
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "inspect.h"
#include "util.h"

struct member {
	const char *path;
	const char *data; /* NULL: a directory */
	size_t len;	  /* 0: strlen(data) */
};

enum container { TAR_GZ, TAR, ZIP, TAR_XZ, TAR_ZST };

/* An archive of the members, in memory (malloc'd, *len bytes). */
static char *build(enum container c, const struct member *m, size_t n, size_t *len)
{
	size_t cap = 64 << 20;
	char *buf = malloc(cap);
	struct archive *a = archive_write_new();
	if (!buf || !a)
		abort();
	if (c == ZIP)
		archive_write_set_format_zip(a);
	else
		archive_write_set_format_pax_restricted(a);
	if (c == TAR_GZ)
		archive_write_add_filter_gzip(a);
	if (c == TAR_XZ)
		archive_write_add_filter_xz(a);
	if (c == TAR_ZST && archive_write_add_filter_zstd(a) != ARCHIVE_OK)
		abort();
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_memory(a, buf, cap, len) != ARCHIVE_OK)
		abort();
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		size_t dlen = m[i].data ? (m[i].len ? m[i].len : strlen(m[i].data)) : 0;
		archive_entry_set_pathname(e, m[i].path);
		archive_entry_set_filetype(e, m[i].data ? AE_IFREG : AE_IFDIR);
		archive_entry_set_perm(e, m[i].data ? 0644 : 0755);
		archive_entry_set_size(e, (la_int64_t)dlen);
		if (archive_write_header(a, e) != ARCHIVE_OK)
			abort();
		if (dlen && archive_write_data(a, m[i].data, dlen) != (la_ssize_t)dlen)
			abort();
		archive_entry_free(e);
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		abort();
	archive_write_free(a);
	return buf;
}

/* data gzipped (a gem's metadata.gz, data.tar.gz), malloc'd. */
static char *gzip_bytes(const char *data, size_t dlen, size_t *len)
{
	size_t cap = (dlen + 4096) * 2;
	char *buf = malloc(cap);
	struct archive *a = archive_write_new();
	if (!buf || !a)
		abort();
	archive_write_set_format_raw(a);
	archive_write_add_filter_gzip(a);
	if (archive_write_open_memory(a, buf, cap, len) != ARCHIVE_OK)
		abort();
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_pathname(e, "data");
	archive_entry_set_size(e, (la_int64_t)dlen);
	archive_write_header(a, e);
	archive_write_data(a, data, dlen);
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
	return buf;
}

static const struct sf_inspect_limits limits = {.max_entries = 1000, .max_unpacked = 4 << 20};
static const char *corpus_dir;

static int run(const char *buf, size_t len, const char *eco, struct sf_inspection *out)
{
	if (corpus_dir) {
		static int k;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%02d-%s", corpus_dir, k++, eco);
		FILE *f = fopen(path, "wb");
		if (f) {
			fprintf(f, "%s\n", eco);
			fwrite(buf, 1, len, f);
			fclose(f);
		}
	}
	int rc = sf_inspect_memory(buf, len, eco, &limits, out);
	/* the same bytes through a file descriptor, as uploads are read */
	int fd = memfd_create("inspect", 0);
	struct sf_inspection again;
	if (fd >= 0 && write(fd, buf, len) == (ssize_t)len && lseek(fd, 0, SEEK_SET) == 0) {
		CHECK_EQ(sf_inspect_fd(fd, eco, &limits, &again), rc);
		CHECK(strcmp(again.kind, out->kind) == 0);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

#define PKG_INFO "Metadata-Version: 2.1\nName: sf-benign\nVersion: 1.0.0\nSummary: x\n\nbody\n"
#define METADATA "Metadata-Version: 2.1\r\nName: sf_wheel\r\nVersion: 2.3\r\n\r\n"
#define WHEEL "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
#define GEMSPEC                                                                            \
	"--- !ruby/object:Gem::Specification\nname: sf-gem\nversion: !ruby/object:Gem::Version\n" \
	"  version: 0.4.1\nplatform: ruby\nrequire_paths:\n- lib\n"

static void test_pypi(void)
{
	struct sf_inspection o;
	size_t len;
	char *b;
	const struct member sdist[] = {{"sf-benign-1.0.0/", NULL, 0},
				       {"sf-benign-1.0.0/PKG-INFO", PKG_INFO, 0},
				       {"sf-benign-1.0.0/setup.py", "from setuptools import setup\n", 0},
				       {"sf-benign-1.0.0/sf_benign.egg-info/PKG-INFO", "Name: other\n", 0}};
	b = build(TAR_GZ, sdist, 4, &len);
	CHECK_EQ(run(b, len, "pypi", &o), 0);
	CHECK(strcmp(o.kind, "sdist") == 0);
	CHECK(strcmp(o.name, "sf-benign") == 0);
	CHECK(strcmp(o.version, "1.0.0") == 0);
	/* truncated: the second half of the stream is gone */
	CHECK_EQ(run(b, len / 2, "pypi", &o), -EBADMSG);
	CHECK(o.kind[0] == '\0' && o.message[0]);
	/* the same sdist is not a gem */
	CHECK_EQ(run(b, len, "rubygems", &o), -EBADMSG);
	CHECK(strstr(o.message, "not a Ruby gem") != NULL);
	free(b);
	b = build(ZIP, sdist, 4, &len);
	CHECK_EQ(run(b, len, "pypi", &o), 0);
	CHECK(strcmp(o.kind, "sdist") == 0);
	free(b);
	b = build(TAR_XZ, sdist, 4, &len);
	CHECK_EQ(run(b, len, "pypi", &o), 0);
	CHECK(strcmp(o.kind, "sdist") == 0);
	free(b);

	/* PKG-INFO without a version is no sdist */
	const struct member noversion[] = {{"x-1/PKG-INFO", "Name: x\n", 0}};
	b = build(TAR_GZ, noversion, 1, &len);
	CHECK_EQ(run(b, len, "pypi", &o), -EBADMSG);
	CHECK(strstr(o.message, "PKG-INFO") != NULL);
	free(b);

	const struct member wheel[] = {{"sf_wheel/__init__.py", "", 1},
				       {"sf_wheel-2.3.dist-info/METADATA", METADATA, 0},
				       {"sf_wheel-2.3.dist-info/WHEEL", WHEEL, 0},
				       {"sf_wheel-2.3.dist-info/RECORD", "", 1}};
	b = build(ZIP, wheel, 4, &len);
	CHECK_EQ(run(b, len, "pypi", &o), 0);
	CHECK(strcmp(o.kind, "wheel") == 0);
	CHECK(strcmp(o.name, "sf_wheel") == 0);
	CHECK(strcmp(o.version, "2.3") == 0);
	free(b);
	/* a wheel's layout in a tar is not a wheel (nor a project) */
	b = build(TAR_GZ, wheel, 4, &len);
	CHECK_EQ(run(b, len, "pypi", &o), -EBADMSG);
	free(b);
	const struct member two[] = {{"a-1.dist-info/METADATA", METADATA, 0},
				     {"a-1.dist-info/WHEEL", WHEEL, 0},
				     {"b-1.dist-info/METADATA", METADATA, 0}};
	b = build(ZIP, two, 3, &len);
	CHECK_EQ(run(b, len, "pypi", &o), -EBADMSG);
	CHECK(strstr(o.message, "more than one .dist-info") != NULL);
	free(b);

	/* an npm tarball, whatever it is called (x.whl), is not a Python
	 * package: neither gzipped nor zipped */
	const struct member npm[] = {{"package/package.json", "{\"name\":\"x\",\"version\":\"1.0.0\"}", 0},
				     {"package/index.js", "module.exports = 1\n", 0}};
	b = build(TAR_GZ, npm, 2, &len);
	CHECK_EQ(run(b, len, "pypi", &o), -EBADMSG);
	CHECK(strstr(o.message, "not a Python package or project") != NULL);
	CHECK_EQ(run(b, len, "rubygems", &o), -EBADMSG);
	free(b);
	b = build(ZIP, npm, 2, &len);
	CHECK_EQ(run(b, len, "pypi", &o), -EBADMSG);
	free(b);

	const struct member proj[] = {{"app/", NULL, 0},
				      {"app/requirements.txt", "requests==2.31.0\n", 0},
				      {"app/main.py", "print(1)\n", 0}};
	b = build(TAR_GZ, proj, 3, &len);
	CHECK_EQ(run(b, len, "pypi", &o), 0);
	CHECK(strcmp(o.kind, "project") == 0);
	CHECK(o.name[0] == '\0');
	free(b);
	const struct member rootproj[] = {{"./pyproject.toml", "[project]\nname='x'\n", 0},
					  {"./poetry.lock", "", 1}};
	b = build(TAR, rootproj, 2, &len);
	CHECK_EQ(run(b, len, "pypi", &o), 0);
	CHECK(strcmp(o.kind, "project") == 0);
	free(b);
	/* a marker two levels down, or beside a second top directory, is not
	 * at the project's top */
	const struct member deep[] = {{"a/b/requirements.txt", "x\n", 0}};
	b = build(TAR_GZ, deep, 1, &len);
	CHECK_EQ(run(b, len, "pypi", &o), -EBADMSG);
	free(b);
	const struct member twotops[] = {{"a/requirements.txt", "x\n", 0}, {"b/x.py", "x\n", 0}};
	b = build(TAR_GZ, twotops, 2, &len);
	CHECK_EQ(run(b, len, "pypi", &o), -EBADMSG);
	free(b);
	/* a project delivered as a zip, with the same bounds as a tar */
	b = build(ZIP, proj, 3, &len);
	CHECK_EQ(run(b, len, "pypi", &o), 0);
	CHECK(strcmp(o.kind, "project") == 0 && o.name[0] == '\0');
	free(b);
	const struct member zipdotdot[] = {{"app/requirements.txt", "x\n", 0},
					   {"app/../../etc/cron.d/x", "x\n", 0}};
	b = build(ZIP, zipdotdot, 2, &len);
	CHECK_EQ(run(b, len, "pypi", &o), -EPERM);
	free(b);
	const struct member zipabs[] = {{"/requirements.txt", "x\n", 0}};
	b = build(ZIP, zipabs, 1, &len);
	CHECK_EQ(run(b, len, "pypi", &o), -EPERM);
	free(b);
	size_t big = 16 << 20;
	char *zeros = calloc(1, big);
	const struct member zipbomb[] = {{"app/requirements.txt", "x\n", 0},
					 {"app/zeros", zeros, big}};
	b = build(ZIP, zipbomb, 2, &len);
	CHECK(len < big / 100);
	CHECK_EQ(run(b, len, "pypi", &o), -EFBIG);
	CHECK(strstr(o.message, "unpacks to more than") != NULL);
	free(b);
	free(zeros);
}

static void test_gems(void)
{
	struct sf_inspection o;
	size_t len, mlen, dlen;
	char *meta = gzip_bytes(GEMSPEC, strlen(GEMSPEC), &mlen);
	const struct member inner[] = {{"lib/sf.rb", "puts 1\n", 0}};
	size_t ilen;
	char *innertar = build(TAR, inner, 1, &ilen);
	char *data = gzip_bytes(innertar, ilen, &dlen);
	const struct member gem[] = {{"metadata.gz", meta, mlen},
				     {"data.tar.gz", data, dlen},
				     {"checksums.yaml.gz", meta, mlen}};
	char *b = build(TAR, gem, 3, &len);
	CHECK_EQ(run(b, len, "rubygems", &o), 0);
	CHECK(strcmp(o.kind, "gem") == 0);
	CHECK(strcmp(o.name, "sf-gem") == 0);
	CHECK(strcmp(o.version, "0.4.1") == 0);
	/* a gem is no Python package */
	CHECK_EQ(run(b, len, "pypi", &o), -EBADMSG);
	free(b);
	/* a gem's members gzipped once more are not a gem */
	b = build(TAR_GZ, gem, 3, &len);
	CHECK_EQ(run(b, len, "rubygems", &o), -EBADMSG);
	free(b);
	/* data.tar.gz that is not gzip */
	const struct member plain[] = {{"metadata.gz", meta, mlen}, {"data.tar.gz", innertar, ilen}};
	b = build(TAR, plain, 2, &len);
	CHECK_EQ(run(b, len, "rubygems", &o), -EBADMSG);
	CHECK(strstr(o.message, "data.tar.gz") != NULL);
	free(b);
	/* metadata.gz that is not a specification */
	size_t jlen;
	char *junk = gzip_bytes("[1, 2, 3]\n", 10, &jlen);
	const struct member notspec[] = {{"metadata.gz", junk, jlen}, {"data.tar.gz", data, dlen}};
	b = build(TAR, notspec, 2, &len);
	CHECK_EQ(run(b, len, "rubygems", &o), -EBADMSG);
	CHECK(strstr(o.message, "specification") != NULL);
	free(b);
	free(junk);
	/* a metadata.gz bomb: 8 MiB of spaces in a few KiB */
	size_t big = 8 << 20, blen;
	char *spaces = malloc(big);
	memset(spaces, ' ', big);
	char *bomb = gzip_bytes(spaces, big, &blen);
	CHECK(blen < big / 100);
	const struct member mbomb[] = {{"metadata.gz", bomb, blen}, {"data.tar.gz", data, dlen}};
	b = build(TAR, mbomb, 2, &len);
	CHECK_EQ(run(b, len, "rubygems", &o), -EFBIG);
	free(b);
	free(bomb);
	free(spaces);

	const struct member gemfile[] = {{"site/Gemfile", "source 'https://rubygems.org'\n", 0},
					 {"site/Gemfile.lock", "GEM\n", 0}};
	b = build(TAR_GZ, gemfile, 2, &len);
	CHECK_EQ(run(b, len, "rubygems", &o), 0);
	CHECK(strcmp(o.kind, "project") == 0);
	CHECK_EQ(run(b, len, "pypi", &o), -EBADMSG);
	free(b);
	free(meta);
	free(data);
	free(innertar);
}

static void test_hostile(void)
{
	struct sf_inspection o;
	size_t len;
	char *b;
	/* a zip bomb: a wheel whose METADATA unpacks to 16 MiB (of a few KiB) */
	size_t big = 16 << 20;
	char *zeros = calloc(1, big);
	memcpy(zeros, METADATA, strlen(METADATA));
	const struct member zbomb[] = {{"x-1.dist-info/METADATA", zeros, big},
				       {"x-1.dist-info/WHEEL", WHEEL, 0}};
	b = build(ZIP, zbomb, 2, &len);
	CHECK(len < big / 100);
	CHECK_EQ(run(b, len, "pypi", &o), -EFBIG);
	free(b);
	/* a gzip bomb: an sdist with a 16 MiB file of zeros (the limit is 4) */
	const struct member gbomb[] = {{"x-1/PKG-INFO", PKG_INFO, 0}, {"x-1/zeros", zeros, big}};
	b = build(TAR_GZ, gbomb, 2, &len);
	CHECK(len < big / 100);
	CHECK_EQ(run(b, len, "pypi", &o), -EFBIG);
	CHECK(strstr(o.message, "unpacks to more than") != NULL);
	free(b);
	free(zeros);
	/* paths */
	const struct member dotdot[] = {{"x-1/../../etc/PKG-INFO", PKG_INFO, 0}};
	b = build(TAR_GZ, dotdot, 1, &len);
	CHECK_EQ(run(b, len, "pypi", &o), -EPERM);
	free(b);
	const struct member absolute[] = {{"/x-1/PKG-INFO", PKG_INFO, 0}};
	b = build(TAR, absolute, 1, &len);
	CHECK_EQ(run(b, len, "pypi", &o), -EPERM);
	free(b);
	char deep[1024] = "x-1";
	for (int i = 0; i < 100; i++)
		strcat(deep, "/d");
	const struct member deeppath[] = {{"x-1/PKG-INFO", PKG_INFO, 0}, {deep, "x", 0}};
	b = build(TAR_GZ, deeppath, 2, &len);
	CHECK_EQ(run(b, len, "pypi", &o), -EFBIG);
	CHECK(strstr(o.message, "deeper") != NULL);
	free(b);
	/* too many entries (the limit is 1000) */
	struct member *many = calloc(1200, sizeof(*many));
	char (*names)[32] = calloc(1200, 32);
	for (int i = 0; i < 1200; i++) {
		snprintf(names[i], 32, "p/f%d", i);
		many[i] = (struct member){names[i], "x", 0};
	}
	b = build(TAR_GZ, many, 1200, &len);
	CHECK_EQ(run(b, len, "pypi", &o), -EFBIG);
	free(b);
	free(many);
	free(names);
	/* not archives */
	CHECK_EQ(run("hello, world\n", 13, "pypi", &o), -EBADMSG);
	CHECK(strstr(o.message, "not a readable archive") != NULL);
	CHECK_EQ(run("", 0, "rubygems", &o), -EBADMSG);
	const struct member none[] = {{"empty/", NULL, 0}};
	b = build(TAR, none, 0, &len);
	CHECK_EQ(run(b, len, "pypi", &o), -EBADMSG);
	free(b);
	/* directory only */
	b = build(TAR_GZ, none, 1, &len);
	CHECK_EQ(run(b, len, "pypi", &o), -EBADMSG);
	free(b);
	CHECK_EQ(sf_inspect_memory("x", 1, "cargo", &limits, &o), -EINVAL);
	CHECK(!sf_inspect_ecosystem("cargo") && sf_inspect_ecosystem("npm") &&
	      sf_inspect_ecosystem("pypi") && sf_inspect_ecosystem("rubygems"));
}

/* npm: what the worker installs — package.json at the root or in the
 * single top directory, npm pack's package/ named a "package" */
static void test_npm(void)
{
	struct sf_inspection o;
	size_t len;
	char *b;
	const char *pj = "{\"name\":\"x\",\"version\":\"1.0.0\"}\n";
	const struct member packed[] = {{"package/package.json", pj, 0},
					{"package/index.js", "module.exports = 1\n", 0}};
	b = build(TAR_GZ, packed, 2, &len);
	CHECK_EQ(run(b, len, "npm", &o), 0);
	CHECK(strcmp(o.kind, "package") == 0 && o.name[0] == '\0');
	/* the same bytes are no Python or Ruby body */
	CHECK_EQ(run(b, len, "pypi", &o), -EBADMSG);
	free(b);
	const struct member rootproj[] = {{"package.json", pj, 0}, {"src/a.js", "1\n", 0}};
	b = build(TAR, rootproj, 2, &len);
	CHECK_EQ(run(b, len, "npm", &o), 0);
	CHECK(strcmp(o.kind, "project") == 0);
	free(b);
	const struct member topproj[] = {{"app/", NULL, 0}, {"app/package.json", pj, 0},
					 {"app/package-lock.json", "{}", 0}};
	b = build(TAR_XZ, topproj, 3, &len);
	CHECK_EQ(run(b, len, "npm", &o), 0);
	CHECK(strcmp(o.kind, "project") == 0);
	free(b);
	b = build(ZIP, topproj, 3, &len);
	CHECK_EQ(run(b, len, "npm", &o), 0);
	CHECK(strcmp(o.kind, "project") == 0);
	free(b);
	/* zstd, which the worker's unpacker reads too */
	b = build(TAR_ZST, packed, 2, &len);
	CHECK_EQ(run(b, len, "npm", &o), 0);
	CHECK(strcmp(o.kind, "package") == 0);
	free(b);
	/* neither: no package.json, two top directories, deeper down, a link */
	const struct member none[] = {{"README.md", "hi\n", 0}};
	b = build(TAR_GZ, none, 1, &len);
	CHECK_EQ(run(b, len, "npm", &o), -EBADMSG);
	CHECK(strstr(o.message, "not an npm package or project") != NULL);
	free(b);
	const struct member twotops[] = {{"a/package.json", pj, 0}, {"b/x.js", "1\n", 0}};
	b = build(TAR_GZ, twotops, 2, &len);
	CHECK_EQ(run(b, len, "npm", &o), -EBADMSG);
	free(b);
	const struct member deep[] = {{"a/b/package.json", pj, 0}};
	b = build(TAR_GZ, deep, 1, &len);
	CHECK_EQ(run(b, len, "npm", &o), -EBADMSG);
	free(b);
	const struct member dirjson[] = {{"package.json/", NULL, 0}, {"package.json/x", "1", 0}};
	b = build(TAR_GZ, dirjson, 2, &len);
	CHECK_EQ(run(b, len, "npm", &o), -EBADMSG);
	free(b);
	/* hostile: a path out, a bomb; not an archive */
	const struct member dotdot[] = {{"package/package.json", pj, 0},
					{"package/../../x", "1", 0}};
	b = build(TAR_GZ, dotdot, 2, &len);
	CHECK_EQ(run(b, len, "npm", &o), -EPERM);
	free(b);
	size_t big = 16 << 20;
	char *zeros = calloc(1, big);
	const struct member bomb[] = {{"package/package.json", pj, 0}, {"package/z", zeros, big}};
	b = build(TAR_GZ, bomb, 2, &len);
	CHECK_EQ(run(b, len, "npm", &o), -EFBIG);
	free(b);
	free(zeros);
	CHECK_EQ(run("hello", 5, "npm", &o), -EBADMSG);
	CHECK(strstr(o.message, "not a readable archive") != NULL);
}

/* Gemfile projects as a zip too. */
static void test_gem_zip(void)
{
	struct sf_inspection o;
	size_t len;
	const struct member proj[] = {{"app/Gemfile", "source 'https://rubygems.org'\n", 0},
				      {"app/Gemfile.lock", "GEM\n", 0}};
	char *b = build(ZIP, proj, 2, &len);
	CHECK_EQ(run(b, len, "rubygems", &o), 0);
	CHECK(strcmp(o.kind, "project") == 0);
	free(b);
}

int main(void)
{
	corpus_dir = getenv("INSPECT_TEST_WRITE_CORPUS");
	test_pypi();
	test_gems();
	test_hostile();
	test_npm();
	test_gem_zip();
	TEST_DONE();
}
