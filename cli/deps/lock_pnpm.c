/* lock_pnpm — see lock_pnpm.h. */
#include "lock_pnpm.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lock_npm.h"
#include "util.h"
#include "yamldoc.h"

#define PNPM_KEY_MAX 1024

/* A packages key → name and version. major is the lockfile's major
 * version (5, 6 or 9). false when the key is not of that form. */
static bool pnpm_key(const char *key, int major, char *name, char *version)
{
	char buf[PNPM_KEY_MAX];
	if (sf_strlcpy(buf, key[0] == '/' ? key + 1 : key, sizeof(buf)))
		return false;
	char *sep;
	if (major == 5) {
		char *slash = strchr(buf + (buf[0] == '@'), '/');
		if (buf[0] == '@' && slash)
			slash = strchr(slash + 1, '/');
		if (!slash)
			return false;
		sep = slash;
		char *peer = strchr(sep + 1, '_');
		if (peer)
			*peer = '\0';
	} else {
		char *peer = strchr(buf, '(');
		if (peer)
			*peer = '\0';
		sep = strrchr(buf + 1, '@');
		if (!sep)
			return false;
	}
	*sep = '\0';
	if (!buf[0] || !sep[1] || strlen(buf) > 214)
		return false;
	memcpy(name, buf, strlen(buf) + 1);
	memcpy(version, sep + 1, strlen(sep + 1) + 1);
	return true;
}

static int pnpm_entry(struct sf_lockfile *lf, struct sf_yamldoc *d, int major, const char *key,
		      yaml_node_t *v, int line)
{
	char name[PNPM_KEY_MAX], version[PNPM_KEY_MAX], source[2 * PNPM_KEY_MAX];
	if (!v || v->type != YAML_MAPPING_NODE)
		return sf_lockfile_fail(lf, line, "packages entry \"%.80s\" is not a mapping", key);
	yaml_node_t *res = sf_yamldoc_get(d, v, "resolution");
	if (!res || res->type != YAML_MAPPING_NODE)
		return sf_lockfile_fail(lf, line, "\"%.80s\" has no resolution mapping", key);
	const char *fname = sf_yamldoc_get_str(d, v, "name");
	const char *fversion = sf_yamldoc_get_str(d, v, "version");
	if (fname && fversion) {
		if (sf_strlcpy(name, fname, sizeof(name)) || sf_strlcpy(version, fversion, sizeof(version)))
			return sf_lockfile_fail(lf, line, "name or version too long");
	} else if (!pnpm_key(key, major, name, version)) {
		return sf_lockfile_fail(lf, line, "malformed package key \"%.80s\"", key);
	}
	const char *type = sf_yamldoc_get_str(d, res, "type");
	const char *integrity = sf_yamldoc_get_str(d, res, "integrity");
	const char *tarball = sf_yamldoc_get_str(d, res, "tarball");
	if (type && strcmp(type, "directory") == 0)
		return 0; /* a folder of the repository itself */
	source[0] = '\0';
	if (type && strcmp(type, "git") == 0) {
		const char *repo = sf_yamldoc_get_str(d, res, "repo");
		const char *commit = sf_yamldoc_get_str(d, res, "commit");
		snprintf(source, sizeof(source), "git+%s#%s", repo ? repo : "?", commit ? commit : "?");
	} else if (tarball && !sf_lock_npm_registry_url(tarball)) {
		sf_strlcpy(source, tarball, sizeof(source));
	} else if (strncmp(version, "file:", 5) == 0 || strncmp(version, "link:", 5) == 0) {
		if (version[0] == 'l')
			return 0;
		sf_strlcpy(source, version, sizeof(source));
	} else if (!integrity && !tarball) {
		return sf_lockfile_fail(lf, line, "\"%.80s\": a resolution without integrity", key);
	}
	return sf_lockfile_add(lf, SF_ECO_NPM, name, version, integrity, source[0] ? source : NULL,
			       line);
}

int sf_lock_pnpm(struct sf_lockfile *lf, const char *data, size_t len)
{
	struct sf_yamldoc d;
	char why[256];
	int line, rc = sf_yamldoc_load(&d, data, len, &line, why, sizeof(why));
	if (rc) {
		sf_yamldoc_free(&d);
		return rc == -ENOMEM ? rc : sf_lockfile_fail(lf, line, "%s", why);
	}
	yaml_node_t *root = sf_yamldoc_root(&d);
	yaml_node_t *ver = sf_yamldoc_get(&d, root, "lockfileVersion");
	const char *vs = sf_yamldoc_scalar(ver);
	char *end = NULL;
	double v = vs ? strtod(vs, &end) : 0;
	int major = (int)v;
	if (!vs || end == vs || !(major == 5 || major == 6 || major == 9)) {
		rc = sf_lockfile_fail(lf, ver ? sf_yamldoc_line(ver) : 1,
				      "lockfileVersion %.20s is not 5.x, 6.x or 9.x",
				      vs ? vs : "(missing)");
		goto out;
	}
	yaml_node_t *pkgs = sf_yamldoc_get(&d, root, "packages");
	if (!pkgs)
		goto out; /* a project without dependencies */
	if (pkgs->type != YAML_MAPPING_NODE) {
		rc = sf_lockfile_fail(lf, sf_yamldoc_line(pkgs), "packages is not a mapping");
		goto out;
	}
	for (yaml_node_pair_t *p = pkgs->data.mapping.pairs.start;
	     rc == 0 && p < pkgs->data.mapping.pairs.top; p++) {
		yaml_node_t *k = sf_yamldoc_node(&d, p->key);
		const char *key = sf_yamldoc_scalar(k);
		if (!key)
			rc = sf_lockfile_fail(lf, sf_yamldoc_line(k), "a key that is not a string");
		else
			rc = pnpm_entry(lf, &d, major, key, sf_yamldoc_node(&d, p->value),
					sf_yamldoc_line(k));
	}
out:
	sf_yamldoc_free(&d);
	return rc;
}
