/* project — see project.h. */
#include "project.h"

#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define PROJECT_JSON_MAX (4u << 20) /* bytes of one package.json */
#define PROJECT_NPMRC_MAX (64u << 10)
#define PROJECT_LOCK_MAX (64u << 20) /* a yarn.lock the gateway retargets */
#define PROJECT_DEPTH_MAX 32	   /* nested node_modules levels walked */

/* npm's order of a project's own install-time scripts (npm help scripts). */
static const char *const project_root_scripts[] = {
    "preinstall", "install", "postinstall", "prepublish", "preprepare", "prepare", "postprepare",
};

static char *project_strdup(const char *s) { return strdup(s ? s : ""); }

/* A regular file (not a link) in dir, read whole within max bytes. */
static int project_read_json(const char *path, json_t **out)
{
	struct stat st;
	*out = NULL;
	if (lstat(path, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADMSG;
	char *data = NULL;
	size_t len = 0;
	int rc = sf_read_file(path, PROJECT_JSON_MAX, &data, &len);
	if (rc)
		return rc;
	json_error_t jerr;
	json_t *j = json_loadb(data, len, 0, &jerr);
	free(data);
	if (!json_is_object(j)) {
		json_decref(j);
		return -EBADMSG;
	}
	*out = j;
	return 0;
}

static bool project_is_file(const char *dir, const char *name)
{
	char path[4200];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool sf_project_valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 214)
		return false;
	const char *base = s;
	if (s[0] == '@') {
		const char *slash = strchr(s, '/');
		if (!slash || slash == s + 1 || strchr(slash + 1, '/'))
			return false;
		base = slash + 1;
	}
	if (!base[0] || base[0] == '.' || base[0] == '_')
		return false;
	for (const char *c = s[0] == '@' ? s + 1 : s; *c; c++) {
		bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			  (*c >= '0' && *c <= '9') || strchr("-._~", *c) ||
			  (*c == '/' && s[0] == '@');
		if (!ok)
			return false;
	}
	return true;
}

static int project_add_deps(struct sf_project *p, json_t *deps)
{
	const char *key;
	json_t *v;
	json_object_foreach(deps, key, v)
	{
		p->has_deps = true;
		if (p->ndeps >= SF_PROJECT_MAX_DEPS || !sf_project_valid_name(key))
			continue;
		bool dup = false;
		for (int i = 0; i < p->ndeps && !dup; i++)
			dup = strcmp(p->deps[i], key) == 0;
		if (dup)
			continue;
		if (!(p->deps[p->ndeps] = strdup(key)))
			return -ENOMEM;
		p->ndeps++;
	}
	return 0;
}

int sf_project_read(struct sf_project *p, const char *dir, const char *root, char *err,
		    size_t errlen)
{
	memset(p, 0, sizeof(*p));
	char path[4200];
	snprintf(path, sizeof(path), "%s/package.json", dir);
	json_t *j;
	int rc = project_read_json(path, &j);
	if (rc) {
		snprintf(err, errlen, "package.json: %s",
			 rc == -EBADMSG ? "not a JSON object" : strerror(-rc));
		return rc == -ENOENT ? -ENOENT : -EBADMSG;
	}
	p->name = project_strdup(json_string_value(json_object_get(j, "name")));
	p->version = project_strdup(json_string_value(json_object_get(j, "version")));
	p->packed = strcmp(root, "package") == 0;
	if (!p->name || !p->version) {
		rc = -ENOMEM;
		goto out;
	}
	json_t *scripts = json_object_get(j, "scripts");
	for (size_t i = 0; i < sizeof(project_root_scripts) / sizeof(project_root_scripts[0]); i++)
		if (json_is_string(json_object_get(scripts, project_root_scripts[i])))
			p->scripts[p->nscripts++] = project_root_scripts[i];
	p->root_gyp = project_is_file(dir, "binding.gyp") &&
		      !json_is_string(json_object_get(scripts, "install")) &&
		      !json_is_string(json_object_get(scripts, "preinstall"));
	if ((rc = project_add_deps(p, json_object_get(j, "dependencies"))) ||
	    (rc = project_add_deps(p, json_object_get(j, "optionalDependencies"))))
		goto out;
	/* a project's dev dependencies are installed too (a CI run's npm ci);
	 * a package's are not (installing it as a dependency skips them) */
	if (!p->packed && json_object_size(json_object_get(j, "devDependencies")) > 0)
		p->has_deps = true;
	if (project_is_file(dir, "npm-shrinkwrap.json") || project_is_file(dir, "package-lock.json"))
		p->lock = SF_LOCK_NPM;
	else if (project_is_file(dir, "yarn.lock"))
		p->lock = SF_LOCK_YARN;
	else if (project_is_file(dir, "pnpm-lock.yaml"))
		p->lock = SF_LOCK_PNPM;
out:
	json_decref(j);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory reading package.json");
	return rc;
}

void sf_project_free(struct sf_project *p)
{
	free(p->name);
	free(p->version);
	for (int i = 0; i < p->ndeps; i++)
		free(p->deps[i]);
	memset(p, 0, sizeof(*p));
}

/* Whether an .npmrc key decides where packages come from, with what
 * credentials, or whether scripts run: the worker's settings must win. */
static bool project_npmrc_key_is_ours(const char *key, size_t n)
{
	static const char *const exact[] = {
	    "registry", "proxy", "https-proxy", "http-proxy", "noproxy", "no-proxy",
	    "strict-ssl", "cafile", "ca", "cert", "key", "replace-registry-host",
	    "userconfig", "globalconfig", "script-shell", "ignore-scripts", "node-options",
	    "onload-script", "offline", "prefer-online", "_auth", "_authToken", "_password",
	    "username", "email", "always-auth", "git", "foreground-scripts", "cache"};
	if (n > 0 && key[0] == '/') /* //host/path/:_authToken and friends */
		return true;
	if (n > 9 && memcmp(key + n - 9, ":registry", 9) == 0) /* @scope:registry */
		return true;
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strlen(exact[i]) == n && strncasecmp(exact[i], key, n) == 0)
			return true;
	return false;
}

int sf_project_neutralise_npmrc(const char *dir, void (*fn)(void *arg, const char *line),
				void *arg)
{
	char path[4200];
	struct stat st;
	snprintf(path, sizeof(path), "%s/.npmrc", dir);
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISREG(st.st_mode)) { /* a link or a device: not read, taken away */
		fn(arg, ".npmrc (not a regular file)");
		return unlink(path) == 0 ? 0 : -errno;
	}
	char *data = NULL;
	size_t len = 0;
	int rc = sf_read_file(path, PROJECT_NPMRC_MAX, &data, &len);
	if (rc)
		return rc;
	struct sf_buf kept = {0};
	bool changed = false;
	for (char *line = data, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		const char *k = line;
		while (*k == ' ' || *k == '\t')
			k++;
		size_t klen = strcspn(k, "= \t\r");
		if (*k && *k != '#' && *k != ';' && project_npmrc_key_is_ours(k, klen)) {
			changed = true;
			char shown[300];
			snprintf(shown, sizeof(shown), "%.*s", (int)strcspn(line, "\r"), line);
			fn(arg, shown);
			continue;
		}
		if ((rc = sf_buf_appendf(&kept, "%s\n", line)))
			break;
	}
	if (!rc && changed) {
		if (unlink(path) != 0)
			rc = -errno;
		else
			rc = sf_write_file(path, kept.data ? kept.data : "", kept.len);
	}
	sf_buf_free(&kept);
	free(data);
	return rc;
}

/* Rewrites every `<key>from/` of text into `<key>to/` for each key (the
 * lockfile's words before a URL); 0 with *out NULL when nothing matched. */
static int project_retarget_text(const char *text, const char *const *keys, const char *from,
				 const char *to, struct sf_buf *out, unsigned *changed)
{
	size_t flen = strlen(from);
	const char *at = text;
	int rc = 0;
	for (const char *p = text; !rc && *p;) {
		size_t klen = 0;
		for (size_t k = 0; keys[k] && !klen; k++) {
			size_t n = strlen(keys[k]);
			if (strncmp(p, keys[k], n) == 0 && strncmp(p + n, from, flen) == 0 &&
			    p[n + flen] == '/')
				klen = n;
		}
		if (!klen) {
			p++;
			continue;
		}
		rc = sf_buf_append(out, at, (size_t)(p - at));
		if (!rc)
			rc = sf_buf_appendf(out, "%.*s%s", (int)klen, p, to);
		(*changed)++;
		p += klen + flen;
		at = p;
	}
	if (!rc && *changed)
		rc = sf_buf_append(out, at, strlen(at));
	return rc;
}

int sf_project_retarget_lockfile(const struct sf_project *p, const char *dir, const char *from,
				 const char *to, unsigned *changed)
{
	static const char *const yarn_keys[] = {"resolved \"", NULL};
	static const char *const pnpm_keys[] = {"tarball: ", "tarball: '", "tarball: \"", NULL};
	char path[4200];
	struct stat st;
	*changed = 0;
	if (p->lock != SF_LOCK_YARN && p->lock != SF_LOCK_PNPM)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir,
		 p->lock == SF_LOCK_YARN ? "yarn.lock" : "pnpm-lock.yaml");
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISREG(st.st_mode))
		return 0; /* the package manager refuses it itself */
	char *data = NULL;
	size_t len = 0;
	int rc = sf_read_file(path, PROJECT_LOCK_MAX, &data, &len);
	if (rc)
		return rc;
	struct sf_buf out = {0};
	if (strlen(data) == len) /* (a NUL: not a lockfile they read either) */
		rc = project_retarget_text(data, p->lock == SF_LOCK_YARN ? yarn_keys : pnpm_keys,
					   from, to, &out, changed);
	if (!rc && *changed) {
		rc = unlink(path) == 0 ? 0 : -errno;
		if (!rc)
			rc = sf_write_file(path, out.data, out.len);
		if (!rc && chown(path, st.st_uid, st.st_gid) != 0)
			rc = -errno;
	}
	sf_buf_free(&out);
	free(data);
	return rc;
}

/* --- the installed tree ------------------------------------------------- */

struct project_walk {
	const struct sf_project *p;
	struct sf_batch *b;
	uint32_t cap;
	int rc;
};

static bool project_declares_install(json_t *pkg, const char *dir)
{
	json_t *s = json_object_get(pkg, "scripts");
	if (json_is_string(json_object_get(s, "preinstall")) ||
	    json_is_string(json_object_get(s, "install")) ||
	    json_is_string(json_object_get(s, "postinstall")))
		return true;
	/* npm runs `node-gyp rebuild` for a binding.gyp without an install script */
	return project_is_file(dir, "binding.gyp");
}

static void project_walk_dir(struct project_walk *w, const char *top, const char *rel, int depth);

/* Whether top/link is pnpm's symbolic link to the package directory dir
 * (a direct dependency in pnpm's layout). */
static bool project_pnpm_linked(const char *top, const char *link, const char *dir)
{
	char path[4600], a[PATH_MAX], b[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", top, link);
	if (lstat(path, &st) != 0 || !S_ISLNK(st.st_mode))
		return false;
	return realpath(path, a) && realpath(dir, b) && strcmp(a, b) == 0;
}

/* One package directory: top/rel (rel = "node_modules/…/name"). */
static void project_walk_package(struct project_walk *w, const char *top, const char *rel,
				 int depth)
{
	char dir[8192], path[8300];
	snprintf(dir, sizeof(dir), "%s/%s", top, rel);
	snprintf(path, sizeof(path), "%s/package.json", dir);
	json_t *j;
	if (project_read_json(path, &j) != 0)
		return; /* not a package (npm leaves no such directory) */
	if (w->b->npackages >= SF_PROJECT_MAX_PACKAGES) {
		json_decref(j);
		return;
	}
	if (w->b->npackages == w->cap) {
		uint32_t cap = w->cap ? w->cap * 2 : 64;
		struct sf_package *np = realloc(w->b->packages, cap * sizeof(*np));
		if (!np) {
			json_decref(j);
			w->rc = -ENOMEM;
			return;
		}
		w->b->packages = np;
		w->cap = cap;
	}
	struct sf_package *pk = &w->b->packages[w->b->npackages];
	const char *name = json_string_value(json_object_get(j, "name"));
	memset(pk, 0, sizeof(*pk));
	pk->name = project_strdup(name);
	pk->version = project_strdup(json_string_value(json_object_get(j, "version")));
	pk->path = project_strdup(rel);
	pk->install_scripts = project_declares_install(j, dir);
	for (int i = 0; name && i < w->p->ndeps && !pk->direct; i++) {
		char want[300];
		snprintf(want, sizeof(want), "node_modules/%s", w->p->deps[i]);
		pk->direct = strcmp(w->p->deps[i], name) == 0 &&
			     (strcmp(rel, want) == 0 || project_pnpm_linked(top, want, dir));
	}
	json_decref(j);
	w->b->npackages++;
	if (!pk->name || !pk->version || !pk->path) {
		w->rc = -ENOMEM;
		return;
	}
	char nested[8300];
	snprintf(nested, sizeof(nested), "%s/node_modules", rel);
	project_walk_dir(w, top, nested, depth + 1);
}

/* Opens top/rel as a directory, never through a link; NULL if it is none. */
static DIR *project_opendir(const char *top, const char *rel)
{
	char path[8600];
	snprintf(path, sizeof(path), "%s/%s", top, rel);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d && fd >= 0)
		close(fd);
	return d;
}

/* Each real directory under top/rel not starting with '.' (.bin,
 * .package-lock.json; links are not followed): a package, or with
 * scopes (a node_modules directory) a scope whose packages are one level
 * down. */
static void project_walk_entries(struct project_walk *w, const char *top, const char *rel,
				 int depth, bool scopes)
{
	DIR *d = project_opendir(top, rel);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && !w->rc) {
		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		char sub[8600];
		snprintf(sub, sizeof(sub), "%s/%s", rel, e->d_name);
		if (scopes && e->d_name[0] == '@')
			project_walk_entries(w, top, sub, depth, false);
		else
			project_walk_package(w, top, sub, depth);
	}
	closedir(d);
}

/* A node_modules directory: top/rel. */
static void project_walk_dir(struct project_walk *w, const char *top, const char *rel, int depth)
{
	if (depth <= PROJECT_DEPTH_MAX && !w->rc)
		project_walk_entries(w, top, rel, depth, true);
}

/* pnpm's virtual store: each real directory node_modules/.pnpm/<id> holds
 * its package (and links to its dependencies, not followed) in
 * <id>/node_modules; node_modules/.pnpm/node_modules holds only links. */
static void project_walk_pnpm(struct project_walk *w, const char *top)
{
	static const char store[] = "node_modules/.pnpm";
	DIR *d = project_opendir(top, store);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && !w->rc) {
		if (e->d_name[0] == '.' || e->d_type != DT_DIR || !strcmp(e->d_name, "node_modules"))
			continue;
		char sub[8600];
		snprintf(sub, sizeof(sub), "%s/%s/node_modules", store, e->d_name);
		project_walk_dir(w, top, sub, 1);
	}
	closedir(d);
}

int sf_project_inventory(const struct sf_project *p, const char *dir, struct sf_batch *b)
{
	struct project_walk w = {.p = p, .b = b, .cap = b->npackages};
	project_walk_dir(&w, dir, "node_modules", 0);
	project_walk_pnpm(&w, dir);
	return w.rc;
}
