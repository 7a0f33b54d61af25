/* packages — see packages.h. */
#include "packages.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "body.h"
#include "util.h"

static char packages_empty[] = "";
static char packages_unknown[] = "?";

void sf_packages_init(struct sf_packages *pk, const char *work_dir, const char *work_host_dir,
		      const char *tmp_host_dir, const char *project_dir, bool *oom)
{
	memset(pk, 0, sizeof(*pk));
	pk->work_dir = work_dir && work_dir[0] == '/' ? work_dir : "/work";
	pk->work_len = strlen(pk->work_dir);
	while (pk->work_len > 1 && pk->work_dir[pk->work_len - 1] == '/')
		pk->work_len--;
	pk->work_host_dir = work_host_dir;
	pk->tmp_host_dir = tmp_host_dir;
	pk->oom = oom;
	pk->root.dir = packages_empty;
	pk->root.path = packages_empty;
	pk->overflow.dir = packages_unknown;
	pk->overflow.path = packages_unknown;
	snprintf(pk->overflow.id, sizeof(pk->overflow.id), "<too many packages>");
	if (project_dir && project_dir[0] == '/') {
		snprintf(pk->root_dir, sizeof(pk->root_dir), "%s", project_dir);
		size_t n = strlen(pk->root_dir);
		while (n > 1 && pk->root_dir[n - 1] == '/')
			pk->root_dir[--n] = 0;
		pk->root_fixed = true;
	}
}

/* --- paths ---------------------------------------------------------------- */

size_t sf_packages_dir_len(const char *path)
{
	static const char nm[] = "/node_modules/";
	size_t best = 0;
	for (const char *p = strstr(path, nm); p; p = strstr(p + 1, nm)) {
		const char *name = p + sizeof(nm) - 1;
		if (!name[0] || name[0] == '/' || name[0] == '.')
			continue; /* node_modules/.bin, .package-lock.json, .cache */
		const char *end = strchrnul(name, '/');
		if (name[0] == '@') { /* a scope: the package is the next component */
			if (!end[0] || !end[1] || end[1] == '/' || end[1] == '.')
				continue;
			end = strchrnul(end + 1, '/');
		}
		best = (size_t)(end - path);
	}
	return best;
}

/* The component of path starting at c, and its length. */
static size_t packages_component(const char *c) { return (size_t)(strchrnul(c, '/') - c); }

size_t sf_packages_py_dir_len(const char *path)
{
	size_t best = 0;
	for (const char *c = strchr(path, '/'); c; c = strchr(c + 1, '/')) {
		const char *name = c + 1;
		size_t n = packages_component(name);
		if (n > 10 && !strncmp(name + n - 10, ".dist-info", 10))
			best = (size_t)(name + n - path);
		else if (n > 14 && !strncmp(name, "pip-req-build-", 14))
			best = (size_t)(name + n - path);
		else if (n > 4 && !strncmp(name, "pip-", 4) && name[n] == '/' && name[n + 1] &&
			 name[n + 1] != '.')
			best = (size_t)(name + n + 1 + packages_component(name + n + 1) - path);
	}
	return best;
}

size_t sf_packages_gem_dir_len(const char *path)
{
	static const char gems[] = "/gems/";
	size_t best = 0;
	for (const char *p = strstr(path, gems); p; p = strstr(p + 1, gems)) {
		const char *name = p + sizeof(gems) - 1;
		size_t n = packages_component(name);
		/* name-version: a dash followed by a digit, not first */
		const char *dash = NULL;
		for (const char *q = name + 1; q < name + n; q++)
			if (*q == '-' && q[1] >= '0' && q[1] <= '9')
				dash = q;
		if (dash && name[0] != '.')
			best = (size_t)(name + n - path);
	}
	return best;
}

static size_t packages_dir_len(const struct sf_packages *pk, const char *path)
{
	if (pk->eco == SF_PACKAGES_PYPI)
		return sf_packages_py_dir_len(path);
	if (pk->eco == SF_PACKAGES_RUBYGEMS)
		return sf_packages_gem_dir_len(path);
	return sf_packages_dir_len(path);
}

/* Is dir equal to or below the project tree? */
static bool packages_in_work(const struct sf_packages *pk, const char *dir)
{
	return !strncmp(dir, pk->work_dir, pk->work_len) &&
	       (dir[pk->work_len] == '/' || !dir[pk->work_len]);
}

/* Is dir equal to or below parent? */
static bool packages_within(const char *dir, const char *parent)
{
	size_t n = strlen(parent);
	return n && !strncmp(dir, parent, n) && (dir[n] == '/' || dir[n] == 0);
}

/* The host directory of the mount holding container path dir, and the
 * rest of dir below it; false when dir is on no mount we can read. */
static bool packages_host(const struct sf_packages *pk, const char *dir, const char **root,
			  const char **rel)
{
	if (packages_in_work(pk, dir) && pk->work_host_dir) {
		*root = pk->work_host_dir;
		*rel = dir + pk->work_len;
		return true;
	}
	if (!strncmp(dir, "/tmp", 4) && (dir[4] == '/' || !dir[4]) && pk->tmp_host_dir) {
		*root = pk->tmp_host_dir;
		*rel = dir + 4;
		return true;
	}
	return false;
}

/* --- package.json ----------------------------------------------------------- */

/* Copies at most max bytes of s, printable ASCII only ('?' for the rest). */
static size_t packages_clean(char *out, size_t outlen, const char *s, size_t max)
{
	size_t n = 0;
	for (; s[n] && n < max && n + 1 < outlen; n++)
		out[n] = s[n] > 0x20 && s[n] < 0x7f ? s[n] : '?';
	out[n] = 0;
	return n;
}

/* Reads container directory dir's package.json (host side, beneath its
 * mount, at most SF_PACKAGES_JSON_MAX bytes) into a jansson object. */
static int packages_load_json(const struct sf_packages *pk, const char *dir, json_t **out)
{
	const char *root, *rel;
	if (!packages_host(pk, dir, &root, &rel))
		return -ENOENT;
	char path[1200];
	if (snprintf(path, sizeof(path), "%s/package.json", rel) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	/* non-blocking: a FIFO planted as package.json must not stall us */
	int fd = sf_open_beneath(root, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return fd;
	int rc = 0;
	char *buf = NULL;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > SF_PACKAGES_JSON_MAX) {
		rc = -EINVAL;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	size_t len = 0;
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	json_error_t jerr;
	*out = json_loadb(buf, len, 0, &jerr);
	if (!*out)
		rc = -EPROTO;
out:
	free(buf);
	close(fd);
	return rc;
}

/* "name==version" from the Name and Version headers of dir's METADATA
 * (a .dist-info) or PKG-INFO (a source tree), read like package.json. */
static int packages_read_py_id(const struct sf_packages *pk, const char *dir, char *id, size_t len)
{
	const char *root, *rel;
	if (!packages_host(pk, dir, &root, &rel))
		return -ENOENT;
	size_t dl = strlen(dir);
	bool info = dl > 10 && !strcmp(dir + dl - 10, ".dist-info");
	char path[1200];
	if (snprintf(path, sizeof(path), "%s/%s", rel, info ? "METADATA" : "PKG-INFO") >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	int fd = sf_open_beneath(root, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return fd;
	char buf[8192];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EPROTO;
	buf[n] = 0;
	char name[215], version[65];
	if (!sf_body_header(buf, (size_t)n, "Name", name, sizeof(name)) ||
	    !sf_body_header(buf, (size_t)n, "Version", version, sizeof(version)))
		return -EPROTO;
	size_t o = packages_clean(id, len, name, 214);
	if (o + 3 < len) {
		memcpy(id + o, "==", 3);
		packages_clean(id + o + 2, len - o - 2, version, 64);
	}
	return 0;
}

/* "name@version" of the package in container directory dir; the
 * identity of another ecosystem's package directory. */
static int packages_read_id(const struct sf_packages *pk, const char *dir, char *id, size_t len)
{
	if (pk->eco == SF_PACKAGES_PYPI)
		return packages_read_py_id(pk, dir, id, len);
	if (pk->eco == SF_PACKAGES_RUBYGEMS) { /* gems/<name>-<version> */
		const char *base = strrchr(dir, '/');
		packages_clean(id, len, base ? base + 1 : dir, len - 1);
		return 0;
	}
	json_t *j = NULL;
	int rc = packages_load_json(pk, dir, &j);
	if (rc)
		return rc;
	const char *name = json_string_value(json_object_get(j, "name"));
	const char *version = json_string_value(json_object_get(j, "version"));
	rc = -EPROTO;
	if (name && name[0]) {
		size_t o = packages_clean(id, len, name, 214);
		if (version && version[0] && o + 2 < len) {
			id[o++] = '@';
			packages_clean(id + o, len - o, version, 64);
		}
		rc = 0;
	}
	json_decref(j);
	return rc;
}

/* The identity of g (re)read from its package.json, else from its
 * directory's name ("a", "@s/a"). */
static void packages_identify(struct sf_packages *pk, struct sf_pkg *g, const char *dir)
{
	g->gen = pk->gen;
	g->provisional = packages_read_id(pk, dir, g->id, sizeof(g->id)) != 0;
	if (!g->provisional)
		return;
	const char *nm = NULL;
	for (const char *p = strstr(dir, "/node_modules/"); p; p = strstr(p + 1, "/node_modules/"))
		nm = p + 14;
	const char *base = strrchr(dir, '/');
	const char *name = nm ? nm : base ? base + 1 : dir;
	packages_clean(g->id, sizeof(g->id), name, sizeof(g->id) - 1);
}

/* --- the project ------------------------------------------------------------ */

/* Reads the project's identity once per phase while it is provisional. */
static void packages_root_refresh(struct sf_packages *pk)
{
	if (!pk->root_fixed || (pk->root_read && !(pk->root.provisional &&
						   pk->root.gen != pk->gen)))
		return;
	pk->root_read = true;
	packages_identify(pk, &pk->root, pk->root_dir);
}

/* A process of the project's exec'd in cwd, outside node_modules: until
 * the project's root is known, cwd is a candidate (in the project tree,
 * with a readable package.json; the first candidate's name stands in). */
static void packages_root_try(struct sf_packages *pk, const char *cwd)
{
	if (pk->root_fixed || pk->root_tries >= SF_PACKAGES_ROOT_TRIES)
		return;
	if (!packages_in_work(pk, cwd) || strstr(cwd, "/node_modules"))
		return; /* outside the tree, or in node_modules/.bin and the like */
	pk->root_tries++;
	char dir[sizeof(pk->root_dir)];
	snprintf(dir, sizeof(dir), "%s", cwd);
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = 0;
	char id[SF_PACKAGES_ID_LEN];
	if (packages_read_id(pk, dir, id, sizeof(id)) == 0) {
		memcpy(pk->root_dir, dir, n + 1);
		memcpy(pk->root.id, id, sizeof(id));
		pk->root.provisional = false;
		pk->root_fixed = pk->root_read = true;
		return;
	}
	if (!pk->root.id[0] && strlen(dir) != pk->work_len) {
		const char *base = strrchr(dir, '/');
		packages_clean(pk->root.id, sizeof(pk->root.id), base + 1, sizeof(pk->root.id) - 1);
	}
}

/* --- the cache ---------------------------------------------------------------- */

static uint64_t packages_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

/* dir's path relative to the project's root; from its first node_modules
 * when outside it (or the root is unknown); dir itself outside the tree. */
static const char *packages_rel(const struct sf_packages *pk, const char *dir)
{
	size_t rl = strlen(pk->root_dir);
	if (rl && !strncmp(dir, pk->root_dir, rl) && dir[rl] == '/')
		return dir + rl + 1;
	const char *nm = strstr(dir, "/node_modules/");
	if (packages_in_work(pk, dir) && nm)
		return nm + 1;
	return dir;
}

/* The package holding path (its deepest node_modules/<name> directory
 * in the project tree or /tmp), created on first sight; NULL when path is in none
 * or memory ran out; the overflow identity when the cache is full. */
static struct sf_pkg *packages_lookup(struct sf_packages *pk, const char *path)
{
	size_t len = packages_dir_len(pk, path);
	const char *root, *rel;
	if (!len || !packages_host(pk, path, &root, &rel))
		return NULL;
	uint64_t h = packages_hash(path, len);
	struct sf_pkg **head = &pk->buckets[h % SF_PACKAGES_BUCKETS];
	for (struct sf_pkg *g = *head; g; g = g->next)
		if (g->hash == h && !strncmp(g->dir, path, len) && !g->dir[len]) {
			if (g->provisional && g->gen != pk->gen)
				packages_identify(pk, g, g->dir);
			return g;
		}
	if (pk->n >= SF_PACKAGES_MAX) {
		pk->truncated = true;
		return &pk->overflow;
	}
	struct sf_pkg *g = calloc(1, sizeof(*g));
	if (!g || !(g->dir = strndup(path, len)) || !(g->path = strdup(packages_rel(pk, g->dir)))) {
		if (g)
			free(g->dir);
		free(g);
		*pk->oom = true;
		return NULL;
	}
	packages_identify(pk, g, g->dir);
	g->hash = h;
	g->next = *head;
	*head = g;
	pk->n++;
	return g;
}

/* --- attribution ---------------------------------------------------------------- */

static void packages_assign(struct sf_proc *p, const struct sf_pkg *g)
{
	p->package = g->id;
	p->package_path = g->path;
	p->package_dir = g->dir;
}

void sf_packages_new_phase(struct sf_packages *pk) { pk->gen++; }

void sf_packages_set_ecosystem(struct sf_packages *pk, const char *ecosystem,
			       const char *project_id)
{
	pk->eco = ecosystem && !strcmp(ecosystem, "pypi")	? SF_PACKAGES_PYPI
		  : ecosystem && !strcmp(ecosystem, "rubygems") ? SF_PACKAGES_RUBYGEMS
								 : SF_PACKAGES_NPM;
	if (project_id && project_id[0]) {
		packages_clean(pk->root.id, sizeof(pk->root.id), project_id, sizeof(pk->root.id) - 1);
		pk->root.provisional = false;
		pk->root_read = true;
	}
}

void sf_packages_adopt(struct sf_packages *pk, struct sf_proc *p)
{
	if (p->package)
		return;
	const struct sf_proc *pp = p->parent;
	if (pp && pp->package) { /* its fork was not seen: inherit all the same */
		p->package = pp->package;
		p->package_path = pp->package_path;
		p->package_dir = pp->package_dir;
		return;
	}
	packages_assign(p, &pk->root);
}

void sf_packages_exec(struct sf_packages *pk, struct sf_proc *p, const char *cwd)
{
	packages_root_refresh(pk);
	sf_packages_adopt(pk, p);
	if (!cwd || cwd[0] != '/')
		return;
	bool project = !p->package_dir[0];
	struct sf_pkg *g = packages_lookup(pk, cwd);
	if (!g) {
		if (project)
			packages_root_try(pk, cwd);
		return;
	}
	if (project || packages_within(g->dir, p->package_dir))
		packages_assign(p, g);
}

const char *sf_packages_file_owner(struct sf_packages *pk, const struct sf_proc *p,
				   const char *path)
{
	if (!path || path[0] != '/' || !strstr(path, "/node_modules/"))
		return "";
	struct sf_pkg *g = packages_lookup(pk, path);
	if (!g || g == &pk->overflow)
		return "";
	const char *own = p && p->package_dir ? p->package_dir : "";
	if (own[0] && packages_within(g->dir, own))
		return "";
	return g->id;
}

void sf_packages_free(struct sf_packages *pk)
{
	for (int b = 0; b < SF_PACKAGES_BUCKETS; b++) {
		struct sf_pkg *g = pk->buckets[b];
		while (g) {
			struct sf_pkg *next = g->next;
			free(g->dir);
			free(g->path);
			free(g);
			g = next;
		}
		pk->buckets[b] = NULL;
	}
	pk->n = 0;
}
