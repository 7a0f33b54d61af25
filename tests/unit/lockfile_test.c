/*
 * lockfile_test — every lockfile format on fixtures written in its real
 * format (tests/fixtures/lockfiles/: npm v1/v2/v3 and the yarn classic and
 * pnpm 9 files made by the real tools, the rest written by hand the way
 * the tools write them), malformed ones included: what each yields (name,
 * version, integrity, source, the line of its entry), what is left out
 * (roots, workspaces, links, bundled copies, local folders), that a
 * malformed lockfile is reported with its line and reason and contributes
 * nothing, and that packages shared by several repositories and formats
 * are one entry with every use.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "depset.h"
#include "harness.h"
#include "jsonpos.h"
#include "lock_python.h"
#include "walk.h"

#define FX SF_FIXTURES_DIR "/lockfiles/"

static struct sf_depset set;

static void load(const char *dir)
{
	sf_depset_free(&set);
	sf_depset_init(&set);
	CHECK(sf_walk_path(&set, dir, "repo") == 0);
}

/* The entry of eco/name/version (whatever its integrity and source). */
static const struct sf_dep *dep(enum sf_eco eco, const char *name, const char *version)
{
	for (size_t i = 0; i < set.ndeps; i++) {
		const struct sf_dep *d = &set.deps[i];
		if (d->eco == eco && !strcmp(d->name, name) && !strcmp(d->version, version))
			return d;
	}
	fprintf(stderr, "no %s %s@%s\n", sf_eco_name(eco), name, version);
	return NULL;
}

/* name@version is there, used once in file at line, its integrity
 * starting with integrity (NULL: none) and its source (NULL: registry)
 * containing source. */
static void expect(enum sf_eco eco, const char *name, const char *version, const char *file,
		   int line, const char *integrity, const char *source)
{
	const struct sf_dep *d = dep(eco, name, version);
	CHECK(d != NULL);
	if (!d)
		return;
	CHECK_EQ(d->nuses, 1);
	CHECK(!strcmp(d->uses[0].file, file));
	if (d->uses[0].line != line)
		fprintf(stderr, "%s@%s: line %d, expected %d\n", name, version, d->uses[0].line, line);
	CHECK_EQ(d->uses[0].line, line);
	CHECK(integrity ? !strncmp(d->integrity, integrity, strlen(integrity)) : !d->integrity[0]);
	CHECK(source ? d->source && strstr(d->source, source) : d->source == NULL);
}

/* The one diagnostic of a malformed lockfile: skipped, at line, saying why. */
static void expect_malformed(const char *dir, int line, const char *why)
{
	char path[512];
	snprintf(path, sizeof(path), FX "malformed/%s", dir);
	load(path);
	CHECK_EQ(set.ndeps, 0);
	CHECK_EQ(set.lockfiles, 0);
	CHECK_EQ(set.ndiags, 1);
	if (set.ndiags != 1)
		return;
	const struct sf_dep_diag *g = &set.diags[0];
	if (g->line != line || !strstr(g->reason, why))
		fprintf(stderr, "%s: line %d \"%s\"; expected line %d \"%s\"\n", dir, g->line,
			g->reason, line, why);
	CHECK(g->skipped_file);
	CHECK_EQ(g->line, line);
	CHECK(strstr(g->reason, why) != NULL);
}

/* The four packages the tool-made npm, yarn and pnpm fixtures hold. */
static void expect_tool_made(const char *file, int banner, int leaf, int mid, int victim)
{
	CHECK_EQ(set.ndeps, 4);
	CHECK_EQ(set.ndiags, 0);
	expect(SF_ECO_NPM, "scanfarm-test-benign-banner", "1.0.0", file, banner, "sha512-Ru1D1g",
	       NULL);
	expect(SF_ECO_NPM, "sf-tree-leaf", "1.0.0", file, leaf, "sha512-UAvgrO", NULL);
	expect(SF_ECO_NPM, "sf-tree-mid", "1.0.0", file, mid, "sha512-+E38YO", NULL);
	/* installed as victim-alias, an alias of sf-victim */
	expect(SF_ECO_NPM, "sf-victim", "1.0.0", file, victim, "sha512-+V4o3r", NULL);
}

static void test_npm(void)
{
	load(FX "npm-v1");
	expect_tool_made("package-lock.json", 7, 12, 17, 25);
	load(FX "npm-v2");
	expect_tool_made("package-lock.json", 16, 23, 30, 39);
	load(FX "npm-v3");
	expect_tool_made("package-lock.json", 16, 23, 30, 39);

	load(FX "npm-edge");
	CHECK_EQ(set.ndeps, 6); /* not: the root, the workspace, its link, the bundled copy */
	expect(SF_ECO_NPM, "@scope/util", "1.2.3", "package-lock.json", 16, "sha512-AAAA", NULL);
	expect(SF_ECO_NPM, "tiny", "1.0.0", "package-lock.json", 24, "sha512-BBBB", NULL);
	expect(SF_ECO_NPM, "tiny", "2.0.0", "package-lock.json", 29, "sha512-CCCC", NULL);
	expect(SF_ECO_NPM, "left-pad", "1.3.0", "package-lock.json", 34, NULL, "git+ssh://");
	expect(SF_ECO_NPM, "bundler", "3.0.0", "package-lock.json", 39, "sha512-DDDD", NULL);
	expect(SF_ECO_NPM, "real-pkg", "4.5.6", "package-lock.json", 53, "sha512-EEEE", NULL);

	load(FX "shrinkwrap");
	CHECK_EQ(set.ndeps, 4);
	expect(SF_ECO_NPM, "outer", "1.0.0", "npm-shrinkwrap.json", 7, "sha1-2Iyzy3", NULL);
	expect(SF_ECO_NPM, "inner", "2.1.0", "npm-shrinkwrap.json", 15, "sha512-FFFF", NULL);
	expect(SF_ECO_NPM, "inner", "1.0.0", "npm-shrinkwrap.json", 22, "sha512-GGGG", NULL);
	const struct sf_dep *g = dep(SF_ECO_NPM, "from-git",
				     "github:user/from-git#0123456789abcdef0123456789abcdef01234567");
	CHECK(g && g->source && !strncmp(g->source, "github:", 7));
}

static void test_yarn(void)
{
	load(FX "yarn-classic");
	expect_tool_made("yarn.lock", 5, 10, 15, 22);
	load(FX "yarn-old");
	CHECK_EQ(set.ndeps, 4);
	CHECK_EQ(set.ndiags, 0);
	/* before yarn 1.10: the sha1 after the URL's # becomes the integrity */
	expect(SF_ECO_NPM, "@types/node", "14.14.31", "yarn.lock", 5,
	       "sha1-cihr0z0TeqDRUtR+x8F2JWPTQFU=", NULL);
	expect(SF_ECO_NPM, "local-lib", "0.1.0", "yarn.lock", 9, NULL, "file:../local-lib");
	expect(SF_ECO_NPM, "string-width", "4.2.3", "yarn.lock", 12, "sha512-wKyQRQ", NULL);
	expect(SF_ECO_NPM, "tarball-dep", "1.0.0", "yarn.lock", 20, "sha1-",
	       "https://example.com/tarballs/tarball-dep-1.0.0.tgz");
	const struct sf_dep *t = dep(SF_ECO_NPM, "tarball-dep", "1.0.0");
	CHECK(t && t->source && !strchr(t->source, '#'));

	load(FX "yarn-berry");
	CHECK_EQ(set.ndeps, 4); /* not: the workspace, the patch of resolve */
	CHECK_EQ(set.ndiags, 0);
	expect(SF_ECO_NPM, "@babel/code-frame", "7.12.13", "yarn.lock", 8, NULL, NULL);
	expect(SF_ECO_NPM, "left-pad", "1.3.0", "yarn.lock", 27, NULL, NULL);
	expect(SF_ECO_NPM, "resolve", "1.22.8", "yarn.lock", 34, NULL, NULL);
	expect(SF_ECO_NPM, "tool", "2.0.0", "yarn.lock", 48, NULL, "https://github.com/user/tool.git");
}

static void test_pnpm(void)
{
	load(FX "pnpm-v9");
	expect_tool_made("pnpm-lock.yaml", 23, 26, 29, 32);
	load(FX "pnpm-v6");
	CHECK_EQ(set.ndeps, 5); /* not: the local directory */
	CHECK_EQ(set.ndiags, 0);
	expect(SF_ECO_NPM, "@babel/core", "7.0.0", "pnpm-lock.yaml", 20, "sha512-HHHH", NULL);
	expect(SF_ECO_NPM, "express", "4.18.2", "pnpm-lock.yaml", 27, "sha512-5/PsL6", NULL);
	expect(SF_ECO_NPM, "accepts", "1.3.8", "pnpm-lock.yaml", 34, "sha512-PYAth", NULL);
	expect(SF_ECO_NPM, "supports-color", "5.5.0", "pnpm-lock.yaml", 39, "sha512-QjVjw", NULL);
	expect(SF_ECO_NPM, "gitdep", "1.1.0", "pnpm-lock.yaml", 50, NULL, "codeload.github.com");
}

#define HA "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HB "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HC "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define HD "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"

static void test_python(void)
{
	load(FX "python-req");
	CHECK_EQ(set.ndeps, 6);
	/* two hashes, given b then a: sorted */
	expect(SF_ECO_PYPI, "certifi", "2024.2.2", "requirements.txt", 9, HA " " HB, NULL);
	expect(SF_ECO_PYPI, "urllib3", "2.2.1", "requirements.txt", 15, NULL, NULL);
	expect(SF_ECO_PYPI, "mypkg", "", "requirements.txt", 20, NULL, "https://example.com/");
	expect(SF_ECO_PYPI, "zope-interface", "6.2", "requirements.txt", 21, NULL, NULL);
	expect(SF_ECO_PYPI, "pytest", "8.0.2", "requirements-dev.txt", 1, NULL, NULL);
	/* Requests[socks]==2.31.0 and requests==2.31.0 with the same hash: one */
	const struct sf_dep *r = dep(SF_ECO_PYPI, "requests", "2.31.0");
	CHECK(r && r->nuses == 2 && !strcmp(r->integrity, HC));
	CHECK_EQ(set.ndiags, 3); /* flask>=2.0, django, -e: noted, the file kept */
	for (size_t i = 0; i < set.ndiags; i++)
		CHECK(!set.diags[i].skipped_file);
	CHECK(set.ndiags == 3 && set.diags[0].line == 16 && strstr(set.diags[0].reason, "not pinned"));

	load(FX "python-pipfile");
	CHECK_EQ(set.ndeps, 3);
	expect(SF_ECO_PYPI, "certifi", "2024.2.2", "Pipfile.lock", 19, HA " " HB, NULL);
	expect(SF_ECO_PYPI, "toolkit", "", "Pipfile.lock", 32, NULL, "git+https://github.com/user");
	expect(SF_ECO_PYPI, "py-test", "8.0.2", "Pipfile.lock", 38, HD, NULL);

	load(FX "python-poetry");
	CHECK_EQ(set.ndeps, 3); /* not: the directory package */
	expect(SF_ECO_PYPI, "certifi", "2024.2.2", "poetry.lock", 3, HA " " HB, NULL);
	expect(SF_ECO_PYPI, "charset-normalizer", "3.3.2", "poetry.lock", 14, HC, NULL);
	expect(SF_ECO_PYPI, "toolkit", "1.2.0", "poetry.lock", 41, NULL,
	       "#0123456789abcdef0123456789abcdef01234567");
	load(FX "python-poetry11");
	CHECK_EQ(set.ndeps, 2);
	expect(SF_ECO_PYPI, "certifi", "2021.10.8", "poetry.lock", 1, HA " " HB, NULL);
	expect(SF_ECO_PYPI, "idna", "3.3", "poetry.lock", 9, HC, NULL);

	char out[64];
	CHECK(sf_pypi_normalize("Zope__Interface", 15, out, sizeof(out)) && !strcmp(out, "zope-interface"));
	CHECK(!sf_pypi_normalize("-bad", 4, out, sizeof(out)));
	CHECK(!sf_pypi_normalize("a b", 3, out, sizeof(out)));
}

static void test_ruby(void)
{
	load(FX "ruby");
	CHECK_EQ(set.ndeps, 5); /* not: the PATH gem */
	CHECK_EQ(set.ndiags, 0);
	expect(SF_ECO_RUBYGEMS, "private_gem", "0.3.0", "Gemfile.lock", 6, NULL,
	       "git+https://github.com/user/private_gem.git#0123456789abcdef");
	expect(SF_ECO_RUBYGEMS, "nokogiri", "1.16.2-x86_64-linux", "Gemfile.lock", 18, HA, NULL);
	expect(SF_ECO_RUBYGEMS, "rack", "3.0.9", "Gemfile.lock", 20, HB, NULL);
	expect(SF_ECO_RUBYGEMS, "racc", "1.7.3", "Gemfile.lock", 21, NULL, NULL);
	expect(SF_ECO_RUBYGEMS, "rails", "7.1.3", "Gemfile.lock", 22, HC, NULL);
}

static void test_malformed(void)
{
	expect_malformed("npm-truncated", 17, "not JSON");
	expect_malformed("npm-version", 0, "lockfileVersion");
	expect_malformed("npm-entry", 12, "not an object");
	expect_malformed("yarn-indent", 8, "odd indentation");
	expect_malformed("yarn-noversion", 7, "has no version");
	expect_malformed("berry-noresolution", 8, "lacks a resolution");
	expect_malformed("pnpm-yaml", 10, "not YAML");
	expect_malformed("pnpm-version", 1, "lockfileVersion 3.0");
	expect_malformed("req-garbage", 4, "expected a requirement");
	expect_malformed("req-hash", 1, "malformed --hash");
	expect_malformed("pipfile-version", 5, "version is not");
	expect_malformed("poetry-string", 6, "not TOML");
	expect_malformed("gem-spec", 5, "expected a gem");
	/* every malformed file at once: each reported, the walk goes on */
	load(FX "malformed");
	CHECK_EQ(set.ndiags, 13);
	CHECK_EQ(set.ndeps, 0);
}

/* Two repositories and five formats sharing packages: one entry each,
 * with every use. */
static void test_shared(void)
{
	sf_depset_free(&set);
	sf_depset_init(&set);
	CHECK(sf_walk_path(&set, FX "npm-v3", "app-npm") == 0);
	CHECK(sf_walk_path(&set, FX "yarn-classic", "app-yarn") == 0);
	CHECK(sf_walk_path(&set, FX "pnpm-v9", "app-pnpm") == 0);
	CHECK(sf_walk_path(&set, FX "npm-v1", "app-npm") == 0);
	CHECK_EQ(set.ndeps, 4);
	CHECK_EQ(set.lockfiles, 4);
	const struct sf_dep *d = dep(SF_ECO_NPM, "sf-tree-leaf", "1.0.0");
	CHECK(d && d->nuses == 4);
	CHECK(d && !strcmp(d->uses[1].repo, "app-yarn") && d->uses[1].line == 10);
	CHECK(d && !strcmp(d->uses[2].repo, "app-pnpm") && !strcmp(d->uses[2].file, "pnpm-lock.yaml"));
	/* the same name and version with other bytes is another entry */
	struct sf_lockfile lf;
	CHECK(sf_lockfile_begin(&lf, &set, "other", "package-lock.json") == 0);
	CHECK(sf_lockfile_add(&lf, SF_ECO_NPM, "sf-tree-leaf", "1.0.0", "sha512-other", NULL, 3) == 0);
	CHECK(sf_lockfile_end(&lf) == 0);
	CHECK_EQ(set.ndeps, 5);
	CHECK(sf_depset_find(&set, SF_ECO_NPM, "sf-tree-leaf", "1.0.0", "sha512-other", NULL));
}

/* jsonpos on text with escapes, keys split over lines, strings as values. */
static void test_jsonpos(void)
{
	const char *doc = "{\"a\\\"b\": \"x:\",\n \"c\"\n :\n {\"d\": [1, {\"e\": 2}]},\n\"f\": 3}";
	struct sf_jsonpos p;
	CHECK(sf_jsonpos_scan(doc, strlen(doc), &p) == 0);
	CHECK_EQ(p.n, 5);
	if (p.n == 5) {
		CHECK_EQ(p.lines[0], 1);
		CHECK_EQ(p.lines[1], 2);
		CHECK_EQ(p.lines[2], 4);
		CHECK_EQ(p.lines[3], 4);
		CHECK_EQ(p.lines[4], 5);
	}
	sf_jsonpos_free(&p);
}

int main(void)
{
	sf_depset_init(&set);
	test_npm();
	test_yarn();
	test_pnpm();
	test_python();
	test_ruby();
	test_malformed();
	test_shared();
	test_jsonpos();
	sf_depset_free(&set);
	TEST_DONE();
}
