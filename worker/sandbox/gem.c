/* gem — see gem.h. */
#include "gem.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define GEM_SPEC_MAX (1u << 20)
#define GEM_SANDBOX_UID 1000
/* files required at most: four import arguments each must fit an argv */
#define GEM_MAX_IMPORTS ((SF_ARGV_MAX - 8) / 4)

/* The gem's file in SF_ECO_DIST: its full name, as RubyGems names it. */
static void gem_file_name(const struct sf_body *b, char *out, size_t outlen)
{
	if (strcmp(b->platform, "ruby"))
		snprintf(out, outlen, "%s-%s-%s.gem", b->name, b->version, b->platform);
	else
		snprintf(out, outlen, "%s-%s.gem", b->name, b->version);
}

/* For a .gem with runtime dependencies: a Gemfile naming them, which the
 * fetch resolves (the source is the worker's whatever the line says). Every
 * name and requirement was checked against RubyGems' characters. */
static int gem_write_gemfile(const struct sf_eco_job *e, const char *tree, char *err,
			     size_t errlen)
{
	struct sf_buf g = {0};
	int rc = sf_buf_appendf(&g, "source \"https://rubygems.org\"\n");
	for (int i = 0; i < e->body.ndeps && rc == 0; i++) {
		rc = sf_buf_appendf(&g, "gem \"%s\"", e->body.deps[i].name);
		/* ">= 1, < 2" → ">= 1", "< 2" */
		char req[sizeof(e->body.deps[i].req)];
		sf_strlcpy(req, e->body.deps[i].req, sizeof(req));
		char *save = NULL;
		for (char *r = strtok_r(req, ",", &save); r && rc == 0; r = strtok_r(NULL, ",", &save))
			rc = sf_buf_appendf(&g, ", \"%s\"", r + strspn(r, " "));
		if (rc == 0)
			rc = sf_buf_append(&g, "\n", 1);
	}
	char path[4600];
	snprintf(path, sizeof(path), "%s/Gemfile", tree);
	if (rc == 0)
		rc = sf_write_file(path, g.data, g.len);
	if (rc == 0 && chown(path, GEM_SANDBOX_UID, GEM_SANDBOX_UID) != 0)
		rc = -errno;
	sf_buf_free(&g);
	if (rc)
		snprintf(err, errlen, "cannot write the gem's Gemfile: %s", strerror(-rc));
	return rc;
}

/* Reads rel below dir: a regular file, bounded, no link out. */
static int gem_read(const char *dir, const char *rel, char *buf, size_t buflen, size_t *len)
{
	int fd = sf_open_beneath(dir, rel, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0)
		return fd;
	struct stat st;
	ssize_t n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? read(fd, buf, buflen - 1) : -1;
	close(fd);
	if (n < 0)
		return -EBADMSG;
	buf[n] = '\0';
	*len = (size_t)n;
	return 0;
}

/* Whether s is a version as RubyGems writes one: digits first, then
 * [0-9A-Za-z.-]. */
static bool gem_version_ok(const char *s, size_t n)
{
	if (n == 0 || s[0] < '0' || s[0] > '9')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

bool sf_gem_lock_bundler(const char *text, size_t len, char *out, size_t outlen)
{
	const char *p = text, *end = text + len, *line;
	size_t n;
	bool section = false;
	out[0] = '\0';
	while (sf_next_line(&p, end, &line, &n)) {
		if (!section) {
			section = n == 12 && !memcmp(line, "BUNDLED WITH", 12);
			continue;
		}
		while (n && (*line == ' ' || *line == '\t'))
			line++, n--;
		while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
			n--;
		if (!gem_version_ok(line, n) || n >= outlen)
			return false;
		memcpy(out, line, n);
		out[n] = '\0';
		return true;
	}
	return false;
}

/* The highest bundler-VERSION.gemspec in dir into best (left alone when
 * there is none higher). */
static void gem_best_bundler(const char *dir, char *best, size_t bestlen)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n <= 16 || strncmp(de->d_name, "bundler-", 8) ||
		    strcmp(de->d_name + n - 8, ".gemspec"))
			continue;
		const char *v = de->d_name + 8;
		size_t vn = n - 16;
		if (!gem_version_ok(v, vn) || vn >= bestlen)
			continue;
		char ver[64];
		snprintf(ver, sizeof(ver), "%.*s", (int)vn, v);
		if (!best[0] || strverscmp(ver, best) > 0)
			sf_strlcpy(best, ver, bestlen);
	}
	closedir(d);
}

int sf_gem_image_bundler(const char *rootfs, char *out, size_t outlen)
{
	out[0] = '\0';
	if (!rootfs)
		return -ENOENT;
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/usr/share/rubygems-integration/all/specifications", rootfs);
	gem_best_bundler(dir, out, outlen);
	/* Ruby's own: usr/lib/ruby/gems/<abi>/specifications{,/default} */
	snprintf(dir, sizeof(dir), "%s/usr/lib/ruby/gems", rootfs);
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) > 32)
			continue;
		char spec[4300];
		snprintf(spec, sizeof(spec), "%s/%s/specifications", dir, de->d_name);
		gem_best_bundler(spec, out, outlen);
		snprintf(spec, sizeof(spec), "%s/%s/specifications/default", dir, de->d_name);
		gem_best_bundler(spec, out, outlen);
	}
	if (d)
		closedir(d);
	return out[0] ? 0 : -ENOENT;
}

/* A project's Gemfile.lock naming a bundler: noted (the scan runs the
 * image's bundler whatever the lock says). */
static void gem_note_lock(struct sf_eco_job *e, const char *tree)
{
	char want[64];
	size_t len;
	if (!(e->body.files & SF_BODY_GEMFILE_LOCK) || !e->fact)
		return;
	char *text = malloc(GEM_SPEC_MAX);
	bool named = text && gem_read(tree, "Gemfile.lock", text, GEM_SPEC_MAX, &len) == 0 &&
		     sf_gem_lock_bundler(text, len, want, sizeof(want));
	free(text);
	if (!named)
		return;
	char detail[128];
	snprintf(detail, sizeof(detail), "run with the image's bundler %s",
		 e->bundler[0] ? e->bundler : "(unknown)");
	e->fact(e->note_arg, "bundled_with", want, detail);
}

static int gem_prepare(struct sf_eco_job *e, const char *tree, const char *artifact, char *err,
		       size_t errlen)
{
	int rc;
	if (e->body.kind == SF_BODY_GEM) {
		/* the gem is installed from its file; its unpacked copy is gone */
		gem_file_name(&e->body, e->file, sizeof(e->file));
		if ((rc = sf_rmtree(tree)) || (rc = sf_mkdirs(tree, 0755)) ||
		    (rc = chown(tree, GEM_SANDBOX_UID, GEM_SANDBOX_UID) ? -errno : 0)) {
			snprintf(err, errlen, "cannot lay out the gem: %s", strerror(-rc));
			return rc;
		}
	}
	sf_gem_image_bundler(e->rootfs, e->bundler, sizeof(e->bundler));
	/* A project's .dist is left to bundler: a frozen bundler 2.3 that
	 * finds its cache directory installs from it alone ("local"), so a
	 * fetch that found one would download nothing. */
	bool project = e->body.kind == SF_BODY_GEM_PROJECT;
	if ((!project && (rc = sf_eco_mkdir(tree, ".dist"))) || (rc = sf_eco_mkdir(tree, ".tmp")) ||
	    (rc = sf_eco_mkdir(tree, ".gems"))) {
		snprintf(err, errlen, "cannot prepare the tree: %s", strerror(-rc));
		return rc;
	}
	if (project)
		gem_note_lock(e, tree);
	if (e->body.kind != SF_BODY_GEM)
		return 0;
	char rel[500];
	snprintf(rel, sizeof(rel), ".dist/%s", e->file);
	if ((rc = sf_eco_place(artifact, tree, rel, err, errlen)))
		return rc;
	return e->body.ndeps ? gem_write_gemfile(e, tree, err, errlen) : 0;
}

/* What every phase's gem, bundle and ruby see. */
static void gem_env(const struct sf_eco_job *e, bool fetch, struct sf_argv *env)
{
	sf_eco_base_env(e, fetch, env);
	/* GEM_PATH stays the default: GEM_HOME and the image's gems (its
	 * bundler among them) */
	sf_argv_add(env, "GEM_HOME=%s/" SF_ECO_GEMS, e->work);
	sf_argv_add(env, "BUNDLE_GEMFILE=%s/Gemfile", e->dir);
	/* not the project's .bundle/config: the worker's settings only */
	sf_argv_add(env, "BUNDLE_APP_CONFIG=%s/" SF_ECO_TMP "/bundle", e->work);
	sf_argv_add(env, "BUNDLE_USER_HOME=/tmp/.bundle");
	sf_argv_add(env, "BUNDLE_PATH__SYSTEM=true");
	sf_argv_add(env, "BUNDLE_CACHE_PATH=%s/" SF_ECO_DIST, e->work);
	sf_argv_add(env, "BUNDLE_DISABLE_VERSION_CHECK=true");
	sf_argv_add(env, "BUNDLE_SILENCE_ROOT_WARNING=true");
	sf_argv_add(env, "BUNDLE_NO_PRUNE=true");
	/* the image's bundler, whatever a Gemfile.lock's BUNDLED WITH says:
	 * bundler 2.3 would otherwise install the lock's version from the
	 * source and restart with it (its SelfManager switches only while
	 * BUNDLER_VERSION is unset) */
	if (e->bundler[0])
		sf_argv_add(env, "BUNDLER_VERSION=%s", e->bundler);
	/* a project's Gemfile.lock is the tree exactly, in every phase: a lock
	 * that disagrees with its Gemfile fails (bundler's "The dependencies
	 * in your gemfile changed") instead of being re-resolved */
	if (e->body.kind == SF_BODY_GEM_PROJECT && (e->body.files & SF_BODY_GEMFILE_LOCK))
		sf_argv_add(env, "BUNDLE_FROZEN=true");
}

static int gem_fetch(const struct sf_eco_job *e, struct sf_argv *argv, struct sf_argv *env)
{
	if (e->body.kind == SF_BODY_GEM && e->body.ndeps == 0)
		return -ENOENT; /* a self-contained gem: nothing to fetch */
	sf_argv_add(argv, "bundle");
	sf_argv_add(argv, "cache");
	sf_argv_add(argv, "--no-install");
	gem_env(e, true, env);
	if (e->index && e->index[0])
		sf_argv_add(env, "BUNDLE_MIRROR__ALL=%s", e->index);
	sf_argv_add(env, "BUNDLE_RETRY=2");
	if (e->proxy_port) {
		sf_argv_add(env, "http_proxy=http://127.0.0.1:%u", (unsigned)e->proxy_port);
		sf_argv_add(env, "https_proxy=http://127.0.0.1:%u", (unsigned)e->proxy_port);
	}
	return sf_eco_done(argv, env);
}

static int gem_install(const struct sf_eco_job *e, struct sf_argv *argv, struct sf_argv *env)
{
	if (e->body.kind == SF_BODY_GEM) {
		/* --local: the gem's dependencies from the .gem files beside it */
		sf_argv_add(argv, "/bin/sh");
		sf_argv_add(argv, "-c");
		sf_argv_add(argv, "cd \"$1\" && exec gem install --local --no-document"
				  " --install-dir \"$2\" --bindir \"$2/bin\" \"$3\"");
		sf_argv_add(argv, "gem-install");
		sf_argv_add(argv, "%s/" SF_ECO_DIST, e->work);
		sf_argv_add(argv, "%s/" SF_ECO_GEMS, e->work);
		sf_argv_add(argv, "%s", e->file);
	} else {
		sf_argv_add(argv, "bundle");
		sf_argv_add(argv, "install");
		sf_argv_add(argv, "--local");
	}
	gem_env(e, false, env);
	return sf_eco_done(argv, env);
}

/* Runs in the sandbox: one fresh ruby per file, cwd the gem's directory,
 * killed after ARGV[0] seconds. */
static const char gem_import_driver[] =
    "require 'rbconfig'\n"
    "limit = ARGV.shift.to_i\n"
    "one = 'gem ARGV[0], \"= #{ARGV[1]}\"; require ARGV[2]'\n"
    "ARGV.each_slice(4) do |dir, name, ver, file|\n"
    "  how = begin\n"
    "    pid = Process.spawn(RbConfig.ruby, '-e', one, name, ver, file, chdir: dir, in: :close)\n"
    "    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + limit\n"
    "    st = nil\n"
    "    until (st = Process.wait2(pid, Process::WNOHANG))\n"
    "      if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline\n"
    "        Process.kill(:KILL, pid); Process.wait(pid); break\n"
    "      end\n"
    "      sleep 0.05\n"
    "    end\n"
    "    st.nil? ? 'timed out' : st[1].success? ? 'ok' : \"failed (#{st[1].exitstatus ||"
    " st[1].termsig})\"\n"
    "  rescue SystemCallError => e\n"
    "    \"not run: #{e.message}\"\n"
    "  end\n"
    "  puts \"" SF_NPM_IMPORT_MARK "#{name}/#{file}: #{how}\"\n"
    "  $stdout.flush\n"
    "end\n";

static int gem_import(const struct sf_eco_job *e, struct sf_argv *argv, struct sf_argv *env)
{
	if (e->nimports == 0)
		return -ENOENT;
	sf_argv_add(argv, "ruby");
	sf_argv_add(argv, "-e");
	sf_argv_add(argv, "%s", gem_import_driver);
	sf_argv_add(argv, "%d", SF_ECO_IMPORT_TIMEOUT_S);
	/* import_name holds "name\tversion\tfile" */
	for (int i = 0; i < e->nimports; i++) {
		char parts[3][200] = {"", "", ""};
		const char *p = e->import_name[i];
		for (int k = 0; k < 3 && p; k++) {
			const char *tab = strchr(p, '\t');
			size_t n = tab ? (size_t)(tab - p) : strlen(p);
			snprintf(parts[k], sizeof(parts[k]), "%.*s", (int)n, p);
			p = tab ? tab + 1 : NULL;
		}
		sf_argv_add(argv, "%s", e->import_dir[i]);
		sf_argv_add(argv, "%s", parts[0]);
		sf_argv_add(argv, "%s", parts[1]);
		sf_argv_add(argv, "%s", parts[2]);
	}
	gem_env(e, false, env);
	return sf_eco_done(argv, env);
}

/* --- after the install ---------------------------------------------------- */

/* The next space-separated word of [*p, end) into out; false when there
 * is none or it does not fit. */
static bool gem_word(const char **p, const char *end, char *out, size_t outlen)
{
	const char *w = *p;
	const char *sp = memchr(w, ' ', (size_t)(end - w));
	size_t n = (size_t)((sp ? sp : end) - w);
	if (n == 0 || n >= outlen)
		return false;
	memcpy(out, w, n);
	out[n] = '\0';
	*p = sp ? sp + 1 : end;
	return true;
}

bool sf_gem_stub(const char *text, size_t len, struct sf_gem_stub *out)
{
	static const char mark[] = "# stub: ";
	const char *p = text, *end = text + len, *line;
	size_t n;
	memset(out, 0, sizeof(*out));
	while (sf_next_line(&p, end, &line, &n)) {
		if (n > sizeof(mark) && !strncmp(line, mark, sizeof(mark) - 1)) {
			const char *w = line + sizeof(mark) - 1, *le = line + n;
			char platform[64];
			if (!gem_word(&w, le, out->name, sizeof(out->name)) ||
			    !gem_word(&w, le, out->version, sizeof(out->version)) ||
			    !gem_word(&w, le, platform, sizeof(platform)) || w >= le ||
			    !sf_body_valid_name(out->name))
				return false;
			/* the rest: the require paths, joined by NUL (RubyGems'
			 * raw_require_paths.join("\0")) */
			while (w < le) {
				const char *nul = memchr(w, '\0', (size_t)(le - w));
				size_t k = (size_t)((nul ? nul : le) - w);
				if (k && out->npaths < SF_GEM_STUB_PATHS) {
					char *dst = out->paths[out->npaths];
					if (k >= sizeof(out->paths[0]) || memchr(w, '/', 1) ||
					    memmem(w, k, "..", 2))
						return false;
					memcpy(dst, w, k);
					dst[k] = '\0';
					out->npaths++;
				}
				w = nul ? nul + 1 : le;
			}
			return out->npaths > 0;
		}
		if (n == 0 || line[0] != '#')
			return false; /* the stub comes before any code */
	}
	return false;
}

/* Whether the gem's imports, from index `first` on, already load `file`
 * (a file of that name in an earlier require path: what `require` finds). */
static bool gem_imported(const struct sf_eco_job *e, int first, const char *what)
{
	for (int i = first; i < e->nimports; i++)
		if (!strcmp(e->import_name[i], what))
			return true;
	return false;
}

/* The top-level .rb files of each of a gem's require paths, in the
 * gemspec's order: what `require` loads. A name the gem has in two paths
 * is loaded once, as `require` would (from the first). */
static int gem_imports(struct sf_eco_job *e, const char *gems, const char *full,
		       const struct sf_gem_stub *stub)
{
	int first = e->nimports, rc = 0;
	char cwd[600];
	snprintf(cwd, sizeof(cwd), "%s/" SF_ECO_GEMS "/gems/%s", e->work, full);
	for (int p = 0; rc == 0 && p < stub->npaths; p++) {
		char dir[4800];
		snprintf(dir, sizeof(dir), "%s/%s/%s", gems, full, stub->paths[p]);
		DIR *d = opendir(dir);
		if (!d)
			continue;
		struct dirent *de;
		while (rc == 0 && e->nimports < GEM_MAX_IMPORTS && (de = readdir(d))) {
			size_t n = strlen(de->d_name);
			if (n <= 3 || strcmp(de->d_name + n - 3, ".rb") || de->d_name[0] == '.' ||
			    de->d_type != DT_REG || n > 100)
				continue;
			char what[400];
			snprintf(what, sizeof(what), "%s\t%s\t%.*s", stub->name, stub->version,
				 (int)(n - 3), de->d_name);
			if (gem_imported(e, first, what))
				continue;
			rc = sf_eco_add_import(e, cwd, what);
			if (rc == -E2BIG)
				rc = 0;
		}
		closedir(d);
	}
	return rc;
}

static int gem_inventory(struct sf_eco_job *e, const char *tree, struct sf_batch *b)
{
	const struct sf_body *body = &e->body;
	int rc = sf_eco_add_package(b, body->name[0] ? body->name : e->id, body->version, "",
				    false, false);
	char specs[4600], gems[4600];
	snprintf(specs, sizeof(specs), "%s/.gems/specifications", tree);
	snprintf(gems, sizeof(gems), "%s/.gems/gems", tree);
	DIR *d = rc ? NULL : opendir(specs);
	if (!d)
		return rc;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n <= 8 || strcmp(de->d_name + n - 8, ".gemspec") || n > 300)
			continue;
		char text[4096];
		struct sf_gem_stub stub;
		size_t len;
		if (gem_read(specs, de->d_name, text, sizeof(text), &len) != 0 ||
		    !sf_gem_stub(text, len, &stub))
			continue;
		const char *name = stub.name, *version = stub.version;
		char full[300], path[400], ext[4900];
		snprintf(full, sizeof(full), "%.*s", (int)(n - 8), de->d_name);
		snprintf(path, sizeof(path), ".gems/gems/%s", full);
		snprintf(ext, sizeof(ext), "%s/%s/ext", gems, full);
		struct stat st;
		bool native = lstat(ext, &st) == 0 && S_ISDIR(st.st_mode);
		bool self = body->kind == SF_BODY_GEM && !strcmp(name, body->name);
		if (self)
			b->packages[0].install_scripts = native;
		else
			rc = sf_eco_add_package(b, name, version, path, native, false);
		if (rc == 0)
			rc = gem_imports(e, gems, full, &stub);
	}
	closedir(d);
	return rc;
}

const struct sf_ecosystem sf_ecosystem_rubygems = {
    .name = "rubygems",
    .prepare = gem_prepare,
    .fetch = gem_fetch,
    .install = gem_install,
    .import = gem_import,
    .inventory = gem_inventory,
};
