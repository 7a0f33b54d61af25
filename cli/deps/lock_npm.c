/* lock_npm — see lock_npm.h. */
#include "lock_npm.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "jsonpos.h"

#define NPM_MAX_NAME 214 /* npm's own limit on package names */

int sf_lock_npm_registry_url(const char *resolved)
{
	size_t len = strlen(resolved);
	return (strncmp(resolved, "https://", 8) == 0 || strncmp(resolved, "http://", 7) == 0) &&
	       strstr(resolved, "/-/") && len > 4 && strcmp(resolved + len - 4, ".tgz") == 0;
}

/* A name as npm allows it, loosely: printable, no spaces, 1–214 bytes. */
static bool npm_name_ok(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > NPM_MAX_NAME)
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* One entry: name, version (exact, or v1's alias/URL forms), resolved and
 * integrity; added to lf or noted. */
static int npm_entry(struct sf_lockfile *lf, const char *name, json_t *e, int line, bool v1)
{
	const char *version = json_string_value(json_object_get(e, "version"));
	const char *resolved = json_string_value(json_object_get(e, "resolved"));
	const char *integrity = json_string_value(json_object_get(e, "integrity"));
	const char *alias = json_string_value(json_object_get(e, "name"));
	char real[NPM_MAX_NAME + 1];
	if (!version)
		return sf_lockfile_note(lf, line, "%s: no version, not a package of its own", name);
	if (!v1 && alias)
		name = alias;
	if (v1 && strncmp(version, "npm:", 4) == 0) {
		/* an alias: "npm:real-name@1.0.0" */
		const char *at = strrchr(version + 5, '@');
		size_t n = at ? (size_t)(at - (version + 4)) : 0;
		if (!at || n == 0 || n >= sizeof(real))
			return sf_lockfile_fail(lf, line, "%s: malformed alias version \"%s\"", name,
						version);
		memcpy(real, version + 4, n);
		real[n] = '\0';
		name = real;
		version = at + 1;
	}
	if (!npm_name_ok(name))
		return sf_lockfile_fail(lf, line, "malformed package name \"%.80s\"", name);
	const char *source = NULL;
	if (resolved && !sf_lock_npm_registry_url(resolved))
		source = resolved;
	else if (v1 && strchr(version, ':'))
		source = version; /* github:…, git+…, file:… in place of a version */
	if (!source && strchr(version, ':'))
		return sf_lockfile_fail(lf, line, "%s: version \"%.80s\" is not a version", name,
					version);
	return sf_lockfile_add(lf, SF_ECO_NPM, name, version, integrity, source, line);
}

/* lockfileVersion 2 and 3: "packages", keyed by install path. */
static int npm_packages(struct sf_lockfile *lf, struct sf_jsonpos *pos, json_t *pkgs)
{
	const char *key;
	json_t *e;
	if (!json_is_object(pkgs))
		return sf_lockfile_fail(lf, 0, "\"packages\" is not an object");
	json_object_foreach(pkgs, key, e) {
		int line = sf_jsonpos_take(pos), rc = 0;
		const char *nm = strstr(key, "node_modules/"), *last = nm;
		while (last) {
			nm = last;
			last = strstr(nm + 1, "node_modules/");
		}
		if (!json_is_object(e))
			rc = sf_lockfile_fail(lf, line, "packages[\"%.80s\"] is not an object", key);
		else if (!nm || json_is_true(json_object_get(e, "link")) ||
			 json_is_true(json_object_get(e, "inBundle")))
			rc = 0; /* the root, a workspace, a link or a bundled copy */
		else
			rc = npm_entry(lf, nm + strlen("node_modules/"), e, line, false);
		sf_jsonpos_skip(pos, e);
		if (rc)
			return rc;
	}
	return 0;
}

/* lockfileVersion 1: "dependencies", nested where npm nested them. */
static int npm_dependencies(struct sf_lockfile *lf, struct sf_jsonpos *pos, json_t *deps)
{
	const char *key;
	json_t *e;
	if (!json_is_object(deps))
		return sf_lockfile_fail(lf, 0, "\"dependencies\" is not an object");
	json_object_foreach(deps, key, e) {
		int line = sf_jsonpos_take(pos), rc = 0;
		if (!json_is_object(e))
			return sf_lockfile_fail(lf, line, "dependencies[\"%.80s\"] is not an object",
						key);
		if (!json_is_true(json_object_get(e, "bundled")) &&
		    (rc = npm_entry(lf, key, e, line, true)))
			return rc;
		const char *k;
		json_t *v;
		json_object_foreach(e, k, v) {
			sf_jsonpos_take(pos);
			if (strcmp(k, "dependencies") == 0)
				rc = npm_dependencies(lf, pos, v);
			else
				sf_jsonpos_skip(pos, v);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int sf_lock_npm(struct sf_lockfile *lf, const char *data, size_t len)
{
	json_error_t err;
	struct sf_jsonpos pos = {0};
	json_t *doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &err);
	int rc;
	if (!doc)
		return sf_lockfile_fail(lf, err.line > 0 ? err.line : 0, "not JSON: %s", err.text);
	if (!json_is_object(doc)) {
		rc = sf_lockfile_fail(lf, 1, "not a lockfile: the document is not an object");
		goto out;
	}
	json_t *ver = json_object_get(doc, "lockfileVersion");
	json_int_t v = json_is_integer(ver) ? json_integer_value(ver) : ver ? -1 : 1;
	if (v < 1 || v > 3) {
		rc = sf_lockfile_fail(lf, 0, "lockfileVersion %s is not 1, 2 or 3",
				      json_is_integer(ver) ? "out of range" : "not a number");
		goto out;
	}
	if ((rc = sf_jsonpos_scan(data, len, &pos)))
		goto out;
	bool packages = v >= 2 && json_object_get(doc, "packages");
	const char *key;
	json_t *e;
	json_object_foreach(doc, key, e) {
		sf_jsonpos_take(&pos);
		if (packages && strcmp(key, "packages") == 0)
			rc = npm_packages(lf, &pos, e);
		else if (!packages && strcmp(key, "dependencies") == 0)
			rc = npm_dependencies(lf, &pos, e);
		else
			sf_jsonpos_skip(&pos, e);
		if (rc)
			break;
	}
out:
	sf_jsonpos_free(&pos);
	json_decref(doc);
	return rc;
}
