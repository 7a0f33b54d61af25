/* lock_yarn — see lock_yarn.h. */
#include "lock_yarn.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lock_npm.h"
#include "util.h"
#include "yamldoc.h"

#define YARN_FIELD_MAX 4096 /* the longest value or key kept */

/* ------------------------------------------------------------ classic */

/* The entry being read. */
struct yarn_entry {
	int line; /* of its patterns; 0: none open */
	char name[YARN_FIELD_MAX], range[YARN_FIELD_MAX];
	char version[YARN_FIELD_MAX], resolved[YARN_FIELD_MAX], integrity[YARN_FIELD_MAX];
};

/* Splits one pattern (name@range, scoped names keep their leading @) and
 * resolves an alias (alias@npm:real@range). false when it is not one. */
static bool yarn_pattern(const char *pat, size_t len, char *name, char *range)
{
	char buf[YARN_FIELD_MAX];
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, pat, len);
	buf[len] = '\0';
	char *at = strchr(buf + 1, '@');
	if (!at || at == buf + 1)
		return false;
	*at = '\0';
	const char *r = at + 1;
	if (strncmp(r, "npm:", 4) == 0 && strchr(r + 5, '@')) {
		const char *real = r + 4;
		char *at2 = strchr(real + 1, '@');
		*at2 = '\0';
		sf_strlcpy(name, real, YARN_FIELD_MAX);
		sf_strlcpy(range, at2 + 1, YARN_FIELD_MAX);
		return name[0] != '\0';
	}
	sf_strlcpy(name, buf, YARN_FIELD_MAX);
	sf_strlcpy(range, r, YARN_FIELD_MAX);
	return true;
}

/* One token at s: a "quoted" string (JSON-style escapes kept as they are:
 * lockfile values need none) or a bare word ending at a space, comma or
 * ':'. Copies it to out; returns the characters consumed, or -1. */
static int yarn_token(const char *s, size_t len, char *out, size_t outlen)
{
	size_t i = 0, o = 0;
	if (len > 0 && s[0] == '"') {
		for (i = 1; i < len && s[i] != '"'; i++) {
			if (s[i] == '\\' && i + 1 < len)
				i++;
			if (o + 1 >= outlen)
				return -1;
			out[o++] = s[i];
		}
		if (i >= len)
			return -1; /* unterminated */
		out[o] = '\0';
		return (int)i + 1;
	}
	for (; i < len && s[i] != ' ' && s[i] != ',' && !(s[i] == ':' && (i + 1 == len ||
									     s[i + 1] == ' '));
	     i++) {
		if (o + 1 >= outlen || s[i] == '"')
			return -1;
		out[o++] = s[i];
	}
	out[o] = '\0';
	return o ? (int)i : -1;
}

/* An entry ends: it must have had a version. */
static int yarn_flush(struct sf_lockfile *lf, struct yarn_entry *e)
{
	if (!e->line)
		return 0;
	int line = e->line;
	e->line = 0;
	if (!e->version[0])
		return sf_lockfile_fail(lf, line, "entry \"%.80s\" has no version", e->name);
	const char *source = NULL;
	char *hash = strchr(e->resolved, '#');
	char integrity[128] = "";
	if (!e->integrity[0] && hash && strlen(hash + 1) == 40 && sf_dep_hex(hash + 1, 40)) {
		/* yarn < 1.10 kept only the tarball's sha1, after the URL's # */
		unsigned char raw[20];
		for (int i = 0; i < 20; i++)
			raw[i] = (unsigned char)strtoul((char[]){hash[1 + 2 * i], hash[2 + 2 * i], 0},
							NULL, 16);
		memcpy(integrity, "sha1-", 5);
		EVP_EncodeBlock((unsigned char *)integrity + 5, raw, 20);
	}
	if (hash)
		*hash = '\0';
	if (strncmp(e->range, "file:", 5) == 0 || strncmp(e->range, "link:", 5) == 0)
		source = e->range;
	else if (e->resolved[0] && !sf_lock_npm_registry_url(e->resolved))
		source = e->resolved;
	if (strncmp(e->range, "link:", 5) == 0)
		return 0; /* a folder of the repository itself */
	return sf_lockfile_add(lf, SF_ECO_NPM, e->name, e->version,
			       e->integrity[0] ? e->integrity : integrity[0] ? integrity : NULL,
			       source, line);
}

/* A line at indent 0: the entry's patterns, "a@1", "a@^1":. */
static int yarn_header(struct sf_lockfile *lf, struct yarn_entry *e, const char *s, size_t len,
		       int line)
{
	if (len < 2 || s[len - 1] != ':')
		return sf_lockfile_fail(lf, line, "expected an entry's patterns ending in ':'");
	len--;
	memset(e, 0, sizeof(*e));
	e->line = line;
	char tok[YARN_FIELD_MAX], name[YARN_FIELD_MAX], range[YARN_FIELD_MAX];
	for (size_t i = 0; i < len;) {
		int n = yarn_token(s + i, len - i, tok, sizeof(tok));
		if (n < 0 || !yarn_pattern(tok, strlen(tok), name, range))
			return sf_lockfile_fail(lf, line, "malformed pattern (name@range expected)");
		if (!e->name[0]) {
			memcpy(e->name, name, sizeof(e->name));
			memcpy(e->range, range, sizeof(e->range));
		} else if (strcmp(e->name, name) != 0) {
			return sf_lockfile_fail(lf, line, "one entry names two packages (%.60s, %.60s)",
						e->name, name);
		}
		i += (size_t)n;
		if (i < len && s[i] == ',')
			i++;
		while (i < len && s[i] == ' ')
			i++;
	}
	return e->name[0] ? 0 : sf_lockfile_fail(lf, line, "an entry without a pattern");
}

/* A line at indent 2 (a field) or deeper (a block's line: checked, not
 * kept). *block says whether the last field opened a block. */
static int yarn_field(struct sf_lockfile *lf, struct yarn_entry *e, const char *s, size_t len,
		      int indent, int line, bool *block)
{
	char key[YARN_FIELD_MAX], val[YARN_FIELD_MAX];
	if (!e->line || (indent > 2 && !*block) || indent > 4)
		return sf_lockfile_fail(lf, line, "unexpected indentation");
	int n = yarn_token(s, len, key, sizeof(key));
	if (n < 0)
		return sf_lockfile_fail(lf, line, "malformed key");
	size_t i = (size_t)n;
	if (i < len && s[i] == ':' && i + 1 == len) {
		if (indent != 2)
			return sf_lockfile_fail(lf, line, "blocks nest two levels at most");
		*block = true;
		return 0;
	}
	if (i < len && s[i] == ':')
		i++; /* "key": value, as in yarn's own JSON-ish output */
	if (i >= len || s[i] != ' ')
		return sf_lockfile_fail(lf, line, "expected \"key value\"");
	while (i < len && s[i] == ' ')
		i++;
	if (i >= len || yarn_token(s + i, len - i, val, sizeof(val)) < 0)
		return sf_lockfile_fail(lf, line, "malformed value of %.60s", key);
	if (indent == 4)
		return 0;
	*block = false;
	if (strcmp(key, "version") == 0)
		sf_strlcpy(e->version, val, sizeof(e->version));
	else if (strcmp(key, "resolved") == 0)
		sf_strlcpy(e->resolved, val, sizeof(e->resolved));
	else if (strcmp(key, "integrity") == 0)
		sf_strlcpy(e->integrity, val, sizeof(e->integrity));
	return 0;
}

static int yarn_classic(struct sf_lockfile *lf, const char *data, size_t len)
{
	struct yarn_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	bool block = false;
	int line = 0, rc = 0;
	const char *at = data, *s;
	size_t n;
	while (rc == 0 && sf_next_line(&at, data + len, &s, &n)) {
		line++;
		size_t indent = 0;
		while (indent < n && s[indent] == ' ')
			indent++;
		if (indent == n || s[indent] == '#')
			continue;
		if (memchr(s, '\t', n) || memchr(s, '\0', n)) {
			rc = sf_lockfile_fail(lf, line, "tab or NUL character");
		} else if (indent % 2) {
			rc = sf_lockfile_fail(lf, line, "odd indentation");
		} else if (indent == 0) {
			block = false;
			if ((rc = yarn_flush(lf, e)) == 0)
				rc = yarn_header(lf, e, s, n, line);
		} else {
			rc = yarn_field(lf, e, s + indent, n - indent, (int)indent, line, &block);
		}
	}
	if (rc == 0)
		rc = yarn_flush(lf, e);
	free(e);
	return rc;
}

/* -------------------------------------------------------------- berry */

/* "name@protocol:rest" → name (scoped names keep their @) and the rest. */
static bool berry_split(const char *res, char *name, size_t namelen, const char **rest)
{
	const char *at = strchr(res + 1, '@');
	if (!at || at == res + 1 || (size_t)(at - res) >= namelen)
		return false;
	memcpy(name, res, (size_t)(at - res));
	name[at - res] = '\0';
	*rest = at + 1;
	return true;
}

static int berry_entry(struct sf_lockfile *lf, struct sf_yamldoc *d, const char *key,
		       yaml_node_t *v, int line)
{
	if (!v || v->type != YAML_MAPPING_NODE)
		return sf_lockfile_fail(lf, line, "entry \"%.80s\" is not a mapping", key);
	const char *res = sf_yamldoc_get_str(d, v, "resolution");
	const char *version = sf_yamldoc_get_str(d, v, "version");
	char name[256];
	const char *rest;
	if (!res || !version || !berry_split(res, name, sizeof(name), &rest))
		return sf_lockfile_fail(lf, line, "entry \"%.80s\" lacks a resolution or version",
					key);
	static const char *const local[] = {"workspace:", "link:", "portal:", "patch:"};
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
		if (strncmp(rest, local[i], strlen(local[i])) == 0)
			return 0;
	if (strncmp(rest, "npm:", 4) == 0) {
		if (strcmp(rest + 4, version) != 0)
			return sf_lockfile_fail(lf, line, "resolution %.80s does not match version %.40s",
						res, version);
		return sf_lockfile_add(lf, SF_ECO_NPM, name, version, NULL, NULL, line);
	}
	return sf_lockfile_add(lf, SF_ECO_NPM, name, version, NULL, rest, line);
}

static int yarn_berry(struct sf_lockfile *lf, const char *data, size_t len)
{
	struct sf_yamldoc d;
	char why[256];
	int line, rc = sf_yamldoc_load(&d, data, len, &line, why, sizeof(why));
	if (rc) {
		sf_yamldoc_free(&d);
		return rc == -ENOMEM ? rc : sf_lockfile_fail(lf, line, "%s", why);
	}
	yaml_node_t *root = sf_yamldoc_root(&d);
	if (root->type != YAML_MAPPING_NODE) {
		rc = sf_lockfile_fail(lf, 1, "the document is not a mapping");
		goto out;
	}
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	     rc == 0 && p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = sf_yamldoc_node(&d, p->key);
		const char *key = sf_yamldoc_scalar(k);
		if (!key)
			rc = sf_lockfile_fail(lf, sf_yamldoc_line(k), "a key that is not a string");
		else if (strcmp(key, "__metadata") != 0)
			rc = berry_entry(lf, &d, key, sf_yamldoc_node(&d, p->value),
					 sf_yamldoc_line(k));
	}
out:
	sf_yamldoc_free(&d);
	return rc;
}

/* Berry's files have a top-level __metadata key; classic files never do. */
static bool yarn_is_berry(const char *data, size_t len)
{
	for (size_t i = 0; i + 11 <= len; i++) {
		if ((i == 0 || data[i - 1] == '\n') && memcmp(data + i, "__metadata:", 11) == 0)
			return true;
		const char *nl = memchr(data + i, '\n', len - i);
		if (!nl)
			break;
		i = (size_t)(nl - data);
	}
	return false;
}

int sf_lock_yarn(struct sf_lockfile *lf, const char *data, size_t len)
{
	return yarn_is_berry(data, len) ? yarn_berry(lf, data, len) : yarn_classic(lf, data, len);
}
