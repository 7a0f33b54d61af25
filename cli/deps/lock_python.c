/* lock_python — see lock_python.h. */
#include "lock_python.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonpos.h"
#include "toml.h"
#include "util.h"

#define PY_NAME_MAX 256
#define PY_VERSION_MAX 128
#define PY_MAX_HASHES 256

int sf_pypi_normalize(const char *name, size_t len, char *out, size_t outlen)
{
	size_t o = 0;
	if (len == 0 || !isalnum((unsigned char)name[0]) || !isalnum((unsigned char)name[len - 1]))
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (c == '-' || c == '_' || c == '.') {
			while (i + 1 < len && strchr("-_.", name[i + 1]))
				i++;
			c = '-';
		} else if (!isalnum((unsigned char)c)) {
			return 0;
		}
		if (o + 1 >= outlen)
			return 0;
		out[o++] = (char)tolower((unsigned char)c);
	}
	out[o] = '\0';
	return 1;
}

/* A set of "algo:hex" hashes, joined sorted and unique. */
struct py_hashes {
	char *h[PY_MAX_HASHES];
	size_t n;
};

static int py_hash_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds one hash ("sha256:hex"; "sha256=hex" is read too). false when it is
 * not one. */
static int py_hash_add(struct py_hashes *hs, const char *s, size_t len)
{
	const char *sep = memchr(s, ':', len);
	if (!sep)
		sep = memchr(s, '=', len);
	size_t hexlen = sep ? len - (size_t)(sep - s) - 1 : 0;
	if (!sep || sep == s || hexlen < 32 || hexlen > 128 || !sf_dep_hex(sep + 1, hexlen))
		return -EPROTO;
	if (hs->n == PY_MAX_HASHES)
		return 0; /* more hashes than any package has files: the rest are ignored */
	char *c = malloc(len + 1);
	if (!c)
		return -ENOMEM;
	memcpy(c, s, len);
	c[len] = '\0';
	c[sep - s] = ':';
	for (char *p = c; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	hs->h[hs->n++] = c;
	return 0;
}

/* The integrity string (NULL when there are no hashes), malloc'd in *out. */
static int py_hash_join(struct py_hashes *hs, char **out)
{
	struct sf_buf b = {0};
	*out = NULL;
	if (hs->n == 0)
		return 0;
	qsort(hs->h, hs->n, sizeof(hs->h[0]), py_hash_cmp);
	for (size_t i = 0; i < hs->n; i++) {
		if (i && strcmp(hs->h[i], hs->h[i - 1]) == 0)
			continue;
		if (sf_buf_appendf(&b, "%s%s", b.len ? " " : "", hs->h[i])) {
			sf_buf_free(&b);
			return -ENOMEM;
		}
	}
	*out = b.data;
	return 0;
}

static void py_hash_free(struct py_hashes *hs)
{
	for (size_t i = 0; i < hs->n; i++)
		free(hs->h[i]);
	hs->n = 0;
}

/* Adds name/version with the hashes (consumed). */
static int py_add(struct sf_lockfile *lf, const char *name, const char *version,
		  struct py_hashes *hs, const char *source, int line)
{
	char norm[PY_NAME_MAX], *integrity = NULL;
	int rc;
	if (!sf_pypi_normalize(name, strlen(name), norm, sizeof(norm)))
		rc = sf_lockfile_fail(lf, line, "\"%.80s\" is not a valid distribution name", name);
	else if ((rc = py_hash_join(hs, &integrity)) == 0)
		rc = sf_lockfile_add(lf, SF_ECO_PYPI, norm, version, integrity, source, line);
	free(integrity);
	py_hash_free(hs);
	return rc;
}

/* --------------------------------------------------- requirements.txt */

/* One requirement (a logical line without its comment). */
static int req_line(struct sf_lockfile *lf, char *s, int line)
{
	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return 0;
	if (s[0] == '-') {
		if (!strncmp(s, "-e", 2) || !strncmp(s, "--editable", 10))
			return sf_lockfile_note(lf, line, "editable requirement: the repository's own"
							  " code, not a package");
		return 0; /* pip's options: -r, -c, -i, --extra-index-url, … */
	}
	char name[PY_NAME_MAX], version[PY_VERSION_MAX];
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");
	if (n == 0 || n >= sizeof(name))
		return sf_lockfile_fail(lf, line, "expected a requirement (name==version)");
	memcpy(name, s, n);
	name[n] = '\0';
	char *p = s + n;
	if (*p == '[') { /* extras */
		char *close = strchr(p, ']');
		if (!close)
			return sf_lockfile_fail(lf, line, "unclosed extras of %.80s", name);
		p = close + 1;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	struct py_hashes hs = {0};
	char *source = NULL;
	if (*p == '@') { /* name @ URL */
		p++;
		while (*p == ' ')
			p++;
		size_t u = strcspn(p, " \t;");
		if (u == 0)
			return sf_lockfile_fail(lf, line, "%.80s @: no URL", name);
		source = p;
		p += u;
		if (*p)
			*p++ = '\0';
		sf_strlcpy(version, "", sizeof(version));
	} else if (strncmp(p, "==", 2) == 0) {
		p += 2 + (p[2] == '=');
		while (*p == ' ')
			p++;
		size_t v = strcspn(p, " \t;,");
		if (v == 0 || v >= sizeof(version) || p[v] == ',' || memchr(p, '*', v))
			return sf_lockfile_note(lf, line, "%s: not pinned to one version (==): skipped",
						name);
		memcpy(version, p, v);
		version[v] = '\0';
		p += v;
	} else {
		return sf_lockfile_note(lf, line, "%s: not pinned to one version (==): skipped", name);
	}
	/* the rest: an environment marker, then options such as --hash */
	for (char *h = strstr(p, "--hash"); h; h = strstr(h, "--hash")) {
		h += 6;
		if (*h != '=' && *h != ' ')
			continue;
		while (*h == '=' || *h == ' ')
			h++;
		size_t hl = strcspn(h, " \t");
		int rc = py_hash_add(&hs, h, hl);
		if (rc) {
			py_hash_free(&hs);
			return rc == -EPROTO ? sf_lockfile_fail(lf, line, "malformed --hash of %.80s", name)
					     : rc;
		}
		h += hl;
	}
	return py_add(lf, name, source ? "" : version, &hs, source, line);
}

int sf_lock_requirements(struct sf_lockfile *lf, const char *data, size_t len)
{
	struct sf_buf logical = {0};
	int line = 0, start = 0, rc = 0;
	if (memchr(data, '\0', len))
		return sf_lockfile_fail(lf, 0, "a NUL byte: not a text file");
	const char *at = data, *s;
	size_t n;
	while (rc == 0 && sf_next_line(&at, data + len, &s, &n)) {
		line++;
		if (!logical.len)
			start = line;
		/* a comment: '#' at the start or after whitespace */
		for (size_t k = 0; k < n; k++)
			if (s[k] == '#' && (k == 0 || s[k - 1] == ' ' || s[k - 1] == '\t')) {
				n = k;
				break;
			}
		bool more = n && s[n - 1] == '\\';
		if ((rc = sf_buf_append(&logical, s, more ? n - 1 : n)))
			break;
		if (more && at < data + len) { /* the next line continues this one */
			if ((rc = sf_buf_append(&logical, " ", 1)))
				break;
			continue;
		}
		if ((rc = sf_buf_append(&logical, "", 1)))
			break;
		rc = req_line(lf, logical.data, start);
		logical.len = 0;
	}
	sf_buf_free(&logical);
	return rc;
}

/* ------------------------------------------------------- Pipfile.lock */

static int pipfile_entry(struct sf_lockfile *lf, const char *name, json_t *e, int line)
{
	if (!json_is_object(e))
		return sf_lockfile_fail(lf, line, "\"%.80s\" is not an object", name);
	const char *version = json_string_value(json_object_get(e, "version"));
	const char *git = json_string_value(json_object_get(e, "git"));
	const char *ref = json_string_value(json_object_get(e, "ref"));
	const char *file = json_string_value(json_object_get(e, "file"));
	struct py_hashes hs = {0};
	char source[2048] = "";
	if (json_object_get(e, "path") || json_is_true(json_object_get(e, "editable")))
		return 0; /* the repository's own code */
	if (git)
		snprintf(source, sizeof(source), "git+%s%s%s", git, ref ? "#" : "", ref ? ref : "");
	else if (file)
		sf_strlcpy(source, file, sizeof(source));
	if (!source[0] && (!version || strncmp(version, "==", 2) != 0 || !version[2]))
		return sf_lockfile_fail(lf, line, "\"%.80s\": version is not \"==X\"", name);
	size_t i;
	json_t *h;
	json_array_foreach(json_object_get(e, "hashes"), i, h) {
		const char *s = json_string_value(h);
		int rc = s ? py_hash_add(&hs, s, strlen(s)) : -EPROTO;
		if (rc) {
			py_hash_free(&hs);
			return rc == -EPROTO ? sf_lockfile_fail(lf, line, "a malformed hash of %.80s", name)
					     : rc;
		}
	}
	return py_add(lf, name, version ? version + 2 : "", &hs, source[0] ? source : NULL, line);
}

int sf_lock_pipfile(struct sf_lockfile *lf, const char *data, size_t len)
{
	json_error_t err;
	struct sf_jsonpos pos = {0};
	json_t *doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &err);
	int rc;
	if (!doc)
		return sf_lockfile_fail(lf, err.line > 0 ? err.line : 0, "not JSON: %s", err.text);
	if (!json_is_object(doc) || !json_is_object(json_object_get(doc, "_meta"))) {
		rc = sf_lockfile_fail(lf, 1, "not a Pipfile.lock: no \"_meta\" object");
		goto out;
	}
	if ((rc = sf_jsonpos_scan(data, len, &pos)))
		goto out;
	const char *key;
	json_t *sec;
	json_object_foreach(doc, key, sec) {
		int line = sf_jsonpos_take(&pos);
		if (strcmp(key, "default") != 0 && strcmp(key, "develop") != 0) {
			sf_jsonpos_skip(&pos, sec);
			continue;
		}
		if (!json_is_object(sec)) {
			rc = sf_lockfile_fail(lf, line, "\"%s\" is not an object", key);
			break;
		}
		const char *name;
		json_t *e;
		json_object_foreach(sec, name, e) {
			int eline = sf_jsonpos_take(&pos);
			if ((rc = pipfile_entry(lf, name, e, eline)))
				break;
			sf_jsonpos_skip(&pos, e);
		}
		if (rc)
			break;
	}
out:
	sf_jsonpos_free(&pos);
	json_decref(doc);
	return rc;
}

/* -------------------------------------------------------- poetry.lock */

struct poetry_pkg {
	char name[PY_NAME_MAX], version[PY_VERSION_MAX];
	char source[2048];
	bool local; /* a directory of the repository */
	struct py_hashes hs;
	int line;
};

struct poetry {
	struct sf_lockfile *lf;
	struct poetry_pkg *pkgs;
	size_t n, cap;
	enum { POETRY_OTHER, POETRY_PACKAGE, POETRY_SOURCE, POETRY_FILES } in;
	bool metadata;
	char src_type[32], src_url[1024], src_ref[256];
};

static int poetry_files(struct poetry_pkg *pkg, json_t *files)
{
	size_t i;
	json_t *f;
	json_array_foreach(files, i, f) {
		const char *h = json_string_value(json_object_get(f, "hash"));
		int rc = h ? py_hash_add(&pkg->hs, h, strlen(h)) : -EPROTO;
		if (rc)
			return rc;
	}
	return 0;
}

/* The [package.source] just read, applied to the package it belongs to. */
static void poetry_source_end(struct poetry *po)
{
	if (po->in != POETRY_SOURCE || !po->n)
		return;
	struct poetry_pkg *pkg = &po->pkgs[po->n - 1];
	if (!strcmp(po->src_type, "directory") || !strcmp(po->src_type, "file"))
		pkg->local = !strcmp(po->src_type, "directory");
	if (!strcmp(po->src_type, "git"))
		snprintf(pkg->source, sizeof(pkg->source), "git+%s#%s", po->src_url, po->src_ref);
	else if (po->src_type[0] && strcmp(po->src_type, "directory"))
		snprintf(pkg->source, sizeof(pkg->source), "%s", po->src_url);
	po->src_type[0] = po->src_url[0] = po->src_ref[0] = '\0';
}

static int poetry_table(void *ctx, const char *const *path, size_t n, bool array, int line)
{
	struct poetry *po = ctx;
	poetry_source_end(po);
	po->in = POETRY_OTHER;
	if (n == 1 && array && !strcmp(path[0], "package")) {
		if (po->n == po->cap) {
			size_t ncap = po->cap ? po->cap * 2 : 64;
			struct poetry_pkg *p = realloc(po->pkgs, ncap * sizeof(*p));
			if (!p)
				return -ENOMEM;
			po->pkgs = p;
			po->cap = ncap;
		}
		memset(&po->pkgs[po->n], 0, sizeof(po->pkgs[0]));
		po->pkgs[po->n++].line = line;
		po->in = POETRY_PACKAGE;
	} else if (n == 2 && !strcmp(path[0], "package") && !strcmp(path[1], "source")) {
		po->in = POETRY_SOURCE;
	} else if (n >= 1 && !strcmp(path[0], "metadata")) {
		po->metadata = true;
		if (n == 2 && !strcmp(path[1], "files"))
			po->in = POETRY_FILES;
	}
	return 0;
}

static int poetry_keyval(void *ctx, const char *const *path, size_t n, json_t *v, int line)
{
	struct poetry *po = ctx;
	const char *s = json_string_value(v);
	if (po->in == POETRY_PACKAGE && n == 1) {
		struct poetry_pkg *pkg = &po->pkgs[po->n - 1];
		if (!strcmp(path[0], "name") && s)
			sf_strlcpy(pkg->name, s, sizeof(pkg->name));
		else if (!strcmp(path[0], "version") && s)
			sf_strlcpy(pkg->version, s, sizeof(pkg->version));
		else if (!strcmp(path[0], "files") && poetry_files(pkg, v))
			return sf_lockfile_fail(po->lf, line, "malformed files of %.80s", pkg->name);
	} else if (po->in == POETRY_SOURCE && n == 1 && s) {
		if (!strcmp(path[0], "type"))
			sf_strlcpy(po->src_type, s, sizeof(po->src_type));
		else if (!strcmp(path[0], "url"))
			sf_strlcpy(po->src_url, s, sizeof(po->src_url));
		else if (!strcmp(path[0], "resolved_reference") ||
			 (!strcmp(path[0], "reference") && !po->src_ref[0]))
			sf_strlcpy(po->src_ref, s, sizeof(po->src_ref));
	} else if (po->in == POETRY_FILES && n == 1) {
		/* lock format 1.1: name = [{file, hash}, …] after every package */
		char norm[PY_NAME_MAX], other[PY_NAME_MAX];
		if (!sf_pypi_normalize(path[0], strlen(path[0]), norm, sizeof(norm)))
			return sf_lockfile_fail(po->lf, line, "\"%.80s\" is not a distribution name",
						path[0]);
		for (size_t i = 0; i < po->n; i++) {
			struct poetry_pkg *pkg = &po->pkgs[i];
			if (sf_pypi_normalize(pkg->name, strlen(pkg->name), other, sizeof(other)) &&
			    !strcmp(norm, other) && poetry_files(pkg, v))
				return sf_lockfile_fail(po->lf, line, "malformed files of %.80s", norm);
		}
	}
	return 0;
}

int sf_lock_poetry(struct sf_lockfile *lf, const char *data, size_t len)
{
	struct poetry po = {.lf = lf};
	struct sf_toml_cb cb = {.table = poetry_table, .keyval = poetry_keyval, .ctx = &po};
	char why[200];
	int line, rc = sf_toml_parse(data, len, &cb, &line, why, sizeof(why));
	poetry_source_end(&po);
	if (rc == -EPROTO && why[0])
		rc = sf_lockfile_fail(lf, line, "not TOML: %s", why);
	else if (rc == 0 && !po.metadata)
		rc = sf_lockfile_fail(lf, 0, "not a poetry.lock: no [metadata] table");
	for (size_t i = 0; i < po.n; i++) {
		struct poetry_pkg *pkg = &po.pkgs[i];
		if (rc == 0 && !pkg->local && (!pkg->name[0] || !pkg->version[0]))
			rc = sf_lockfile_fail(lf, pkg->line, "a [[package]] without name or version");
		else if (rc == 0 && !pkg->local)
			rc = py_add(lf, pkg->name, pkg->version, &pkg->hs,
				    pkg->source[0] ? pkg->source : NULL, pkg->line);
		py_hash_free(&pkg->hs);
	}
	free(po.pkgs);
	return rc;
}
