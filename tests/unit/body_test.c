/*
 * body_test — what a PyPI or RubyGems body is, told from its content
 * (worker/sandbox/body.c), on trees in a temporary directory: an sdist at
 * the top or in its single directory, a wheel and its tag, projects
 * (requirements.txt, Pipfile.lock, Gemfile), a gem's gzip'd specification
 * with its runtime dependencies, and what is refused: no metadata, a
 * PKG-INFO that is a link out of the tree, a hostile name, a gem whose
 * metadata.gz is not gzip, a dependency requirement with Ruby in it. Also
 * the wheel file name (pypi.c) and an installed gemspec's stub (gem.c).
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "body.h"
#include "gem.h"
#include "harness.h"
#include "pypi.h"
#include "util.h"

static char top[64];

/* A fresh tree for one case: top/<n>. */
static const char *tree(int n)
{
	static char dir[128];
	snprintf(dir, sizeof(dir), "%s/%d", top, n);
	if (sf_mkdirs(dir, 0755))
		exit(1);
	return dir;
}

static void put(const char *dir, const char *rel, const char *text, size_t len)
{
	char path[512], parent[512];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	snprintf(parent, sizeof(parent), "%s", path);
	*strrchr(parent, '/') = 0;
	if (sf_mkdirs(parent, 0755) || sf_write_file(path, text, len ? len : strlen(text))) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(1);
	}
}

/* text gzip'd (libarchive's raw writer with the gzip filter) into rel. */
static void put_gz(const char *dir, const char *rel, const char *text)
{
	char buf[65536];
	size_t used = 0;
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	archive_write_set_format_raw(a);
	archive_write_add_filter_gzip(a);
	archive_write_set_bytes_in_last_block(a, 1);
	CHECK_EQ(archive_write_open_memory(a, buf, sizeof(buf), &used), ARCHIVE_OK);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_pathname(e, "metadata");
	CHECK_EQ(archive_write_header(a, e), ARCHIVE_OK);
	CHECK_EQ(archive_write_data(a, text, strlen(text)), (long long)strlen(text));
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
	put(dir, rel, buf, used);
}

static const char gemspec[] =
    "--- !ruby/object:Gem::Specification\n"
    "name: sf-gem\n"
    "version: !ruby/object:Gem::Version\n"
    "  version: 1.2.3\n"
    "platform: ruby\n"
    "dependencies:\n"
    "- !ruby/object:Gem::Dependency\n"
    "  name: rake\n"
    "  requirement: !ruby/object:Gem::Requirement\n"
    "    requirements:\n"
    "    - - \">=\"\n"
    "      - !ruby/object:Gem::Version\n"
    "        version: '12'\n"
    "    - - \"<\"\n"
    "      - !ruby/object:Gem::Version\n"
    "        version: '14'\n"
    "  type: :runtime\n"
    "- !ruby/object:Gem::Dependency\n"
    "  name: rspec\n"
    "  requirement: !ruby/object:Gem::Requirement\n"
    "    requirements:\n"
    "    - - \"~>\"\n"
    "      - !ruby/object:Gem::Version\n"
    "        version: '3.0'\n"
    "  type: :development\n";

int main(void)
{
	struct sf_body b;
	char err[512];
	const char *d;
	snprintf(top, sizeof(top), "/tmp/sf-body-XXXXXX");
	if (!mkdtemp(top))
		SKIP("mkdtemp failed");

	/* an sdist in its single top directory */
	d = tree(1);
	put(d, "x-1.0/PKG-INFO", "Metadata-Version: 2.1\nName: x-pkg\nVersion: 1.0\n\nName: no\n", 0);
	put(d, "x-1.0/setup.py", "", 1);
	CHECK_EQ(sf_body_detect("pypi", NULL, d, &b, err, sizeof(err)), 0);
	CHECK_EQ(b.kind, SF_BODY_SDIST);
	CHECK(!strcmp(b.root, "x-1.0") && !strcmp(b.name, "x-pkg") && !strcmp(b.version, "1.0"));
	char id[256];
	sf_body_id(&b, id, sizeof(id));
	CHECK(!strcmp(id, "x-pkg==1.0"));

	/* a wheel: the tag from WHEEL, and the name pip wants for its file */
	d = tree(2);
	put(d, "y_pkg/__init__.py", "", 1);
	put(d, "y_pkg-2.0.dist-info/WHEEL", "Wheel-Version: 1.0\nTag: py3-none-any\n", 0);
	put(d, "y_pkg-2.0.dist-info/METADATA", "Name: y.pkg\nVersion: 2.0rc1\n", 0);
	CHECK_EQ(sf_body_detect("pypi", NULL, d, &b, err, sizeof(err)), 0);
	CHECK_EQ(b.kind, SF_BODY_WHEEL);
	CHECK(!strcmp(b.tag, "py3-none-any") && !strcmp(b.version, "2.0rc1"));
	char file[300];
	CHECK_EQ(sf_pypi_wheel_name(b.name, b.version, b.tag, file, sizeof(file)), 0);
	CHECK(!strcmp(file, "y_pkg-2.0rc1-py3-none-any.whl"));
	/* a tag that is not python-abi-platform */
	put(d, "y_pkg-2.0.dist-info/WHEEL", "Tag: py3/../../x\n", 0);
	CHECK_EQ(sf_body_detect("pypi", NULL, d, &b, err, sizeof(err)), -EBADMSG);

	/* projects */
	d = tree(3);
	put(d, "app/requirements.txt", "requests==2.31.0\n", 0);
	CHECK_EQ(sf_body_detect("pypi", NULL, d, &b, err, sizeof(err)), 0);
	CHECK(b.kind == SF_BODY_PY_PROJECT && (b.files & SF_BODY_REQUIREMENTS) && !b.name[0]);
	sf_body_id(&b, id, sizeof(id));
	CHECK(!strcmp(id, "app"));
	d = tree(4);
	put(d, "Pipfile.lock", "{}", 0);
	put(d, "README", "", 1);
	CHECK_EQ(sf_body_detect("pypi", NULL, d, &b, err, sizeof(err)), 0);
	CHECK(b.kind == SF_BODY_PY_PROJECT && (b.files & SF_BODY_PIPFILE_LOCK) && !b.root[0]);
	/* nothing Python: refused, saying what was expected */
	d = tree(5);
	put(d, "package.json", "{}", 0);
	CHECK_EQ(sf_body_detect("pypi", NULL, d, &b, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "PKG-INFO") != NULL);
	/* PKG-INFO a link out of the tree; a name with a slash */
	d = tree(6);
	put(d, "setup.py", "", 1);
	char link[256];
	snprintf(link, sizeof(link), "%s/PKG-INFO", d);
	CHECK_EQ(symlink("/etc/os-release", link), 0);
	CHECK(sf_body_detect("pypi", NULL, d, &b, err, sizeof(err)) != 0 || b.kind != SF_BODY_SDIST);
	d = tree(7);
	put(d, "setup.py", "", 1);
	put(d, "PKG-INFO", "Name: ../evil\nVersion: 1\n", 0);
	CHECK_EQ(sf_body_detect("pypi", NULL, d, &b, err, sizeof(err)), -EBADMSG);

	/* a gem: name, version, platform and its runtime dependencies only */
	d = tree(8);
	put_gz(d, "metadata.gz", gemspec);
	put(d, "data.tar.gz", "x", 1);
	CHECK_EQ(sf_body_detect("rubygems", NULL, d, &b, err, sizeof(err)), 0);
	CHECK_EQ(b.kind, SF_BODY_GEM);
	CHECK(!strcmp(b.name, "sf-gem") && !strcmp(b.version, "1.2.3") && !strcmp(b.platform, "ruby"));
	CHECK_EQ(b.ndeps, 1);
	CHECK(!strcmp(b.deps[0].name, "rake") && !strcmp(b.deps[0].req, ">= 12, < 14"));
	sf_body_id(&b, id, sizeof(id));
	CHECK(!strcmp(id, "sf-gem-1.2.3"));
	/* a requirement carrying Ruby; metadata.gz that is not gzip */
	d = tree(9);
	char bad[sizeof(gemspec) + 16];
	snprintf(bad, sizeof(bad), "%s", gemspec);
	memcpy(strstr(bad, "'12'"), "'1;'", 4);
	put_gz(d, "metadata.gz", bad);
	put(d, "data.tar.gz", "x", 1);
	CHECK_EQ(sf_body_detect("rubygems", NULL, d, &b, err, sizeof(err)), -EBADMSG);
	put(d, "metadata.gz", gemspec, 0);
	CHECK_EQ(sf_body_detect("rubygems", NULL, d, &b, err, sizeof(err)), -EBADMSG);
	/* a Gemfile project; a lock alone is not one */
	d = tree(10);
	put(d, "app/Gemfile", "source 'https://rubygems.org'\n", 0);
	put(d, "app/Gemfile.lock", "GEM\n", 0);
	CHECK_EQ(sf_body_detect("rubygems", NULL, d, &b, err, sizeof(err)), 0);
	CHECK(b.kind == SF_BODY_GEM_PROJECT && (b.files & SF_BODY_GEMFILE_LOCK));
	d = tree(11);
	put(d, "Gemfile.lock", "GEM\n", 0);
	CHECK_EQ(sf_body_detect("rubygems", NULL, d, &b, err, sizeof(err)), -ENOENT);
	CHECK_EQ(sf_body_detect("cargo", NULL, d, &b, err, sizeof(err)), -EINVAL);

	/* an installed gemspec's stub line */
	static const char stub[] = "# -*- encoding: utf-8 -*-\n# stub: sf-gem 1.2.3 ruby lib\n"
				   "# stub: ext/x/extconf.rb\n\nGem::Specification.new do |s|\n";
	struct sf_gem_stub st;
	CHECK(sf_gem_stub(stub, strlen(stub), &st));
	CHECK(!strcmp(st.name, "sf-gem") && !strcmp(st.version, "1.2.3") && st.npaths == 1 &&
	      !strcmp(st.paths[0], "lib"));
	/* several require paths, joined by NUL as RubyGems writes them */
	static const char two[] = "# stub: sf-gem 1.2.3 ruby lib\0more/lib\n# stub: x.rb\n";
	CHECK(sf_gem_stub(two, sizeof(two) - 1, &st));
	CHECK(st.npaths == 2 && !strcmp(st.paths[0], "lib") && !strcmp(st.paths[1], "more/lib"));
	static const char escape[] = "# stub: sf-gem 1.2.3 ruby ../../etc\n";
	CHECK(!sf_gem_stub(escape, strlen(escape), &st));
	static const char escape2[] = "# stub: sf-gem 1.2.3 ruby lib\0../../etc\n";
	CHECK(!sf_gem_stub(escape2, sizeof(escape2) - 1, &st));
	static const char absolute[] = "# stub: sf-gem 1.2.3 ruby lib\0/etc\n";
	CHECK(!sf_gem_stub(absolute, sizeof(absolute) - 1, &st));
	static const char nopath[] = "# stub: sf-gem 1.2.3 ruby\n";
	CHECK(!sf_gem_stub(nopath, strlen(nopath), &st));
	static const char late[] = "Gem::Specification.new\n# stub: sf-gem 1.2.3 ruby lib\n";
	CHECK(!sf_gem_stub(late, strlen(late), &st));

	/* the kind the coordinator named: that check alone, never re-guessed */
	d = tree(14);
	put(d, "PKG-INFO", "Name: both\nVersion: 1.0\n", 0);
	put(d, "setup.py", "", 1);
	put(d, "pyproject.toml", "[project]\n", 0);
	CHECK_EQ(sf_body_detect("pypi", NULL, d, &b, err, sizeof(err)), 0);
	CHECK_EQ(b.kind, SF_BODY_SDIST); /* guessed: an sdist */
	CHECK_EQ(sf_body_detect("pypi", "project", d, &b, err, sizeof(err)), 0);
	CHECK(b.kind == SF_BODY_PY_PROJECT && !b.name[0]); /* told: a project */
	CHECK_EQ(sf_body_detect("pypi", "sdist", d, &b, err, sizeof(err)), 0);
	CHECK(b.kind == SF_BODY_SDIST && !strcmp(b.name, "both"));
	CHECK_EQ(sf_body_detect("pypi", "wheel", d, &b, err, sizeof(err)), -EBADMSG);
	CHECK(strstr(err, "read this body as kind wheel") && strstr(err, "disagrees"));
	CHECK_EQ(sf_body_detect("pypi", "gem", d, &b, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "'gem'") != NULL);
	CHECK_EQ(sf_body_detect("pypi", "", d, &b, err, sizeof(err)), 0); /* "": not told */
	CHECK_EQ(b.kind, SF_BODY_SDIST);
	d = tree(2); /* the wheel, told to be an sdist */
	put(d, "y_pkg-2.0.dist-info/WHEEL", "Wheel-Version: 1.0\nTag: py3-none-any\n", 0);
	CHECK_EQ(sf_body_detect("pypi", "wheel", d, &b, err, sizeof(err)), 0);
	CHECK_EQ(sf_body_detect("pypi", "sdist", d, &b, err, sizeof(err)), -EBADMSG);
	d = tree(10); /* a Ruby project, told to be a gem */
	CHECK_EQ(sf_body_detect("rubygems", "project", d, &b, err, sizeof(err)), 0);
	CHECK_EQ(sf_body_detect("rubygems", "gem", d, &b, err, sizeof(err)), -EBADMSG);
	CHECK(strstr(err, "metadata.gz") != NULL);

	/* a Gemfile.lock's BUNDLED WITH */
	char bv[32];
	static const char lock[] = "GEM\n  specs:\n    x (1.0)\n\nBUNDLED WITH\r\n   2.4.22\r\n";
	CHECK(sf_gem_lock_bundler(lock, strlen(lock), bv, sizeof(bv)) && !strcmp(bv, "2.4.22"));
	static const char nolock[] = "GEM\n  specs:\n\nPLATFORMS\n  ruby\n";
	CHECK(!sf_gem_lock_bundler(nolock, strlen(nolock), bv, sizeof(bv)) && bv[0] == '\0');
	static const char badlock[] = "BUNDLED WITH\n   2.4; rm -rf /\n";
	CHECK(!sf_gem_lock_bundler(badlock, strlen(badlock), bv, sizeof(bv)));

	/* the image's bundler: the highest of the specifications it has */
	d = tree(12);
	put(d, "usr/share/rubygems-integration/all/specifications/bundler-2.3.15.gemspec", "x", 0);
	put(d, "usr/share/rubygems-integration/all/specifications/rake-13.0.6.gemspec", "x", 0);
	put(d, "usr/lib/ruby/gems/3.1.0/specifications/default/bundler-2.3.7.gemspec", "x", 0);
	CHECK_EQ(sf_gem_image_bundler(d, bv, sizeof(bv)), 0);
	CHECK(!strcmp(bv, "2.3.15"));
	put(d, "usr/lib/ruby/gems/3.1.0/specifications/bundler-2.10.1.gemspec", "x", 0);
	CHECK_EQ(sf_gem_image_bundler(d, bv, sizeof(bv)), 0);
	CHECK(!strcmp(bv, "2.10.1"));
	CHECK_EQ(sf_gem_image_bundler(tree(13), bv, sizeof(bv)), -ENOENT);
	CHECK_EQ(sf_gem_image_bundler(NULL, bv, sizeof(bv)), -ENOENT);

	CHECK(sf_body_valid_name("a.b_c-9") && !sf_body_valid_name("-a") && !sf_body_valid_name("a/b") &&
	      !sf_body_valid_name(""));
	sf_rmtree(top);
	TEST_DONE();
}
