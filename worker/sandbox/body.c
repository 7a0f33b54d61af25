/* body — see body.h. */
#include "body.h"

#include <archive.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "util.h"

#define BODY_META_MAX (1u << 20) /* PKG-INFO, METADATA, WHEEL, metadata.gz */

/* Reads rel below dir (no link out, non-blocking, a regular file of at
 * most max bytes) into a NUL-terminated malloc'd buffer. */
static int body_read(const char *dir, const char *rel, size_t max, char **out, size_t *len)
{
	int fd = sf_open_beneath(dir, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW);
	if (fd < 0)
		return fd;
	struct stat st;
	int rc = 0;
	char *buf = NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		rc = -EBADMSG;
		goto out;
	}
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		rc = -ENOMEM;
		goto out;
	}
	size_t n = 0;
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

/* Whether rel below dir is a regular file (not a link). */
static bool body_has(const char *dir, const char *rel)
{
	int fd = sf_open_beneath(dir, rel, O_PATH | O_NOFOLLOW);
	struct stat st;
	bool yes = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	if (fd >= 0)
		close(fd);
	return yes;
}

bool sf_body_header(const char *text, size_t len, const char *key, char *out, size_t outlen)
{
	size_t kl = strlen(key);
	const char *end = text + len;
	for (const char *line = text; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *le = nl ? nl : end;
		/* the headers end at the first empty line (the description follows) */
		if (le == line || (le - line == 1 && line[0] == '\r'))
			return false;
		if ((size_t)(le - line) > kl && strncasecmp(line, key, kl) == 0 && line[kl] == ':') {
			const char *v = line + kl + 1;
			while (v < le && (*v == ' ' || *v == '\t'))
				v++;
			size_t n = 0;
			for (; v < le && n + 1 < outlen; v++)
				if (*v > 0x20 && *v < 0x7f)
					out[n++] = *v;
			out[n] = '\0';
			return n > 0;
		}
		line = nl ? nl + 1 : end;
	}
	return false;
}

bool sf_body_valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= SF_BODY_NAME_MAX || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(".-_", s[i]))
			return false;
	return true;
}

/* A version as it may appear in a file name: PEP 440's and RubyGems'
 * characters only. */
static bool body_valid_version(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= SF_BODY_VERSION_MAX || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(".-_+!", s[i]))
			return false;
	return true;
}

/* Name and Version of an RFC 822 metadata file below dir. */
static int body_metadata(const char *dir, const char *rel, struct sf_body *b, char *err,
			 size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int rc = body_read(dir, rel, BODY_META_MAX, &text, &len);
	if (rc) {
		snprintf(err, errlen, "cannot read %s: %s", rel, strerror(-rc));
		return rc == -ENOMEM ? rc : -EBADMSG;
	}
	bool ok = sf_body_header(text, len, "Name", b->name, sizeof(b->name)) &&
		  sf_body_header(text, len, "Version", b->version, sizeof(b->version));
	free(text);
	if (!ok || !sf_body_valid_name(b->name) || !body_valid_version(b->version)) {
		snprintf(err, errlen, "%s has no valid Name and Version", rel);
		return -EBADMSG;
	}
	return 0;
}

/* The directory the tree's content is in: the top, or its single
 * directory (an sdist's name-version/, a project's checkout). */
static void body_root(const char *dir, char *root, size_t rootlen)
{
	root[0] = '\0';
	DIR *d = opendir(dir);
	if (!d)
		return;
	char only[256] = "";
	int entries = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		entries++;
		if (de->d_type == DT_DIR)
			sf_strlcpy(only, de->d_name, sizeof(only));
	}
	closedir(d);
	if (entries == 1 && only[0])
		sf_strlcpy(root, only, rootlen);
}

/* The files at the root that make it a project (or an sdist). */
static unsigned body_files(const char *dir, const char *root)
{
	static const struct {
		const char *name;
		unsigned bit;
	} known[] = {{"requirements.txt", SF_BODY_REQUIREMENTS}, {"pyproject.toml", SF_BODY_PYPROJECT},
		     {"poetry.lock", SF_BODY_POETRY_LOCK},	 {"Pipfile.lock", SF_BODY_PIPFILE_LOCK},
		     {"setup.py", SF_BODY_SETUP_PY},		 {"setup.cfg", SF_BODY_SETUP_PY},
		     {"Gemfile", SF_BODY_GEMFILE},		 {"Gemfile.lock", SF_BODY_GEMFILE_LOCK}};
	unsigned files = 0;
	char rel[512];
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		snprintf(rel, sizeof(rel), "%s%s%s", root, root[0] ? "/" : "", known[i].name);
		if (body_has(dir, rel))
			files |= known[i].bit;
	}
	return files;
}

/* A wheel: <name>-<version>.dist-info/WHEEL at the top, and its METADATA. */
static int body_wheel(const char *dir, struct sf_body *b, char *err, size_t errlen, bool *found)
{
	*found = false;
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	char info[300] = "";
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char rel[600];
		snprintf(rel, sizeof(rel), "%s/WHEEL", de->d_name);
		if (n > 10 && n < sizeof(info) && !strcmp(de->d_name + n - 10, ".dist-info") &&
		    body_has(dir, rel)) {
			sf_strlcpy(info, de->d_name, sizeof(info));
			break;
		}
	}
	closedir(d);
	if (!info[0])
		return 0;
	*found = true;
	b->kind = SF_BODY_WHEEL;
	char rel[600], *text = NULL;
	size_t len = 0;
	snprintf(rel, sizeof(rel), "%s/METADATA", info);
	int rc = body_metadata(dir, rel, b, err, errlen);
	if (rc)
		return rc;
	snprintf(rel, sizeof(rel), "%s/WHEEL", info);
	if ((rc = body_read(dir, rel, BODY_META_MAX, &text, &len))) {
		snprintf(err, errlen, "cannot read %s: %s", rel, strerror(-rc));
		return rc == -ENOMEM ? rc : -EBADMSG;
	}
	bool ok = sf_body_header(text, len, "Tag", b->tag, sizeof(b->tag));
	free(text);
	/* a tag is python-abi-platform: three words of [A-Za-z0-9_.] */
	int dashes = 0;
	for (const char *p = b->tag; ok && *p; p++) {
		if (*p == '-')
			dashes++;
		else if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.')
			ok = false;
	}
	if (!ok || dashes != 2) {
		snprintf(err, errlen, "%s has no valid Tag", rel);
		return -EBADMSG;
	}
	return 0;
}

/* --- gems ------------------------------------------------------------------ */

/* metadata.gz: the gzip'd YAML Gem::Specification, decompressed (bounded). */
static int body_gunzip(const char *dir, const char *rel, char **out, size_t *outlen)
{
	char *gz = NULL;
	size_t gzlen = 0;
	int rc = body_read(dir, rel, BODY_META_MAX, &gz, &gzlen);
	if (rc)
		return rc;
	struct archive *a = archive_read_new();
	struct sf_buf text = {0};
	if (!a) {
		free(gz);
		return -ENOMEM;
	}
	archive_read_support_filter_gzip(a);
	archive_read_support_format_raw(a);
	struct archive_entry *e;
	rc = -EBADMSG;
	if (archive_read_open_memory(a, gz, gzlen) == ARCHIVE_OK &&
	    archive_read_next_header(a, &e) == ARCHIVE_OK && archive_filter_code(a, 0) == ARCHIVE_FILTER_GZIP) {
		char chunk[16384];
		la_ssize_t n;
		rc = 0;
		while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0 && rc == 0)
			rc = text.len + (size_t)n > BODY_META_MAX ? -EFBIG
								 : sf_buf_append(&text, chunk, (size_t)n);
		if (n < 0 && rc == 0)
			rc = -EBADMSG;
	}
	archive_read_free(a);
	free(gz);
	if (rc == 0 && (rc = sf_buf_append(&text, "", 1)) == 0) {
		*out = text.data;
		*outlen = text.len - 1;
		return 0;
	}
	sf_buf_free(&text);
	return rc;
}

/* The scalar value of key in a YAML mapping node, or NULL. */
static const char *body_yaml_get(yaml_document_t *doc, yaml_node_t *map, const char *key,
				 yaml_node_t **node)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		if (!k || !v || k->type != YAML_SCALAR_NODE ||
		    strcmp((const char *)k->data.scalar.value, key))
			continue;
		if (node)
			*node = v;
		return v->type == YAML_SCALAR_NODE ? (const char *)v->data.scalar.value : NULL;
	}
	return NULL;
}

/* The item nodes of a YAML sequence node (NULL, 0 when it is none). */
static yaml_node_item_t *body_yaml_items(yaml_node_t *seq, size_t *n)
{
	*n = 0;
	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return NULL;
	*n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	return seq->data.sequence.items.start;
}

/* A requirement's operator and version: RubyGems' own, nothing else. */
static bool body_gem_op(const char *op)
{
	static const char *const ops[] = {"=", "!=", ">", "<", ">=", "<=", "~>"};
	for (size_t i = 0; op && i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(op, ops[i]))
			return true;
	return false;
}

/* The runtime dependencies of a spec ("dependencies": Gem::Dependency
 * mappings with name, type :runtime, requirement.requirements [[op,
 * {version}]…]). A malformed one fails the body. */
static int body_gem_deps(yaml_document_t *doc, yaml_node_t *root, struct sf_body *b)
{
	yaml_node_t *deps = NULL;
	body_yaml_get(doc, root, "dependencies", &deps);
	size_t n;
	yaml_node_item_t *it = body_yaml_items(deps, &n);
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *d = yaml_document_get_node(doc, it[i]), *req = NULL, *reqs = NULL;
		const char *name = body_yaml_get(doc, d, "name", NULL);
		const char *type = body_yaml_get(doc, d, "type", NULL);
		if (type && strcmp(type, ":runtime"))
			continue;
		if (b->ndeps >= SF_BODY_MAX_DEPS || !name || !sf_body_valid_name(name))
			return -EBADMSG;
		struct sf_body_dep *dep = &b->deps[b->ndeps];
		sf_strlcpy(dep->name, name, sizeof(dep->name));
		dep->req[0] = '\0';
		body_yaml_get(doc, d, "requirement", &req);
		body_yaml_get(doc, req, "requirements", &reqs);
		size_t nr;
		yaml_node_item_t *ri = body_yaml_items(reqs, &nr);
		for (size_t k = 0; k < nr; k++) {
			size_t np;
			yaml_node_item_t *pi = body_yaml_items(yaml_document_get_node(doc, ri[k]), &np);
			yaml_node_t *opn = np == 2 ? yaml_document_get_node(doc, pi[0]) : NULL;
			yaml_node_t *vn = np == 2 ? yaml_document_get_node(doc, pi[1]) : NULL;
			const char *op = opn && opn->type == YAML_SCALAR_NODE
					     ? (const char *)opn->data.scalar.value
					     : NULL;
			const char *v = body_yaml_get(doc, vn, "version", NULL);
			size_t used = strlen(dep->req);
			if (!body_gem_op(op) || !v || !body_valid_version(v) ||
			    used + strlen(op) + strlen(v) + 4 >= sizeof(dep->req))
				return -EBADMSG;
			snprintf(dep->req + used, sizeof(dep->req) - used, "%s%s %s", used ? ", " : "", op, v);
		}
		b->ndeps++;
	}
	return 0;
}

/* name, version (a Gem::Version mapping) and platform of the spec. */
static int body_gemspec(const char *yaml, size_t len, struct sf_body *b)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	int rc = -EBADMSG;
	if (yaml_parser_load(&parser, &doc)) {
		yaml_node_t *root = yaml_document_get_root_node(&doc), *ver = NULL;
		const char *name = body_yaml_get(&doc, root, "name", NULL);
		body_yaml_get(&doc, root, "version", &ver);
		const char *version = body_yaml_get(&doc, ver, "version", NULL);
		const char *platform = body_yaml_get(&doc, root, "platform", NULL);
		if (name && version && sf_strlcpy(b->name, name, sizeof(b->name)) == 0 &&
		    sf_strlcpy(b->version, version, sizeof(b->version)) == 0 &&
		    sf_body_valid_name(b->name) && body_valid_version(b->version)) {
			sf_strlcpy(b->platform, platform && platform[0] ? platform : "ruby",
				   sizeof(b->platform));
			rc = sf_body_valid_name(b->platform) ? body_gem_deps(&doc, root, b) : -EBADMSG;
		}
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	return rc;
}

static int body_gem(const char *dir, struct sf_body *b, char *err, size_t errlen)
{
	char *yaml = NULL;
	size_t len = 0;
	b->kind = SF_BODY_GEM;
	int rc = body_gunzip(dir, "metadata.gz", &yaml, &len);
	if (rc == 0) {
		rc = body_gemspec(yaml, len, b);
		free(yaml);
	}
	if (rc && rc != -ENOMEM)
		snprintf(err, errlen, "the gem's metadata.gz is not a gzip'd specification with a"
				      " valid name and version");
	return rc;
}

/* --- detection --------------------------------------------------------------- */

/* The kinds as the coordinator names them (inspect.h), by ecosystem. */
static const struct {
	const char *ecosystem, *name;
	enum sf_body_kind kind;
} body_kinds[] = {
    {"pypi", "sdist", SF_BODY_SDIST},	     {"pypi", "wheel", SF_BODY_WHEEL},
    {"pypi", "project", SF_BODY_PY_PROJECT}, {"rubygems", "gem", SF_BODY_GEM},
    {"rubygems", "project", SF_BODY_GEM_PROJECT},
};

const char *sf_body_kind_name(enum sf_body_kind kind)
{
	for (size_t i = 0; i < sizeof(body_kinds) / sizeof(body_kinds[0]); i++)
		if (body_kinds[i].kind == kind)
			return body_kinds[i].name;
	return "?";
}

/* An sdist: PKG-INFO next to setup.py or pyproject.toml in the root
 * (b->root and b->files read). *found false when that is not there. */
static int body_sdist(const char *dir, struct sf_body *b, char *err, size_t errlen, bool *found)
{
	char rel[300];
	snprintf(rel, sizeof(rel), "%s%sPKG-INFO", b->root, b->root[0] ? "/" : "");
	*found = body_has(dir, rel) && (b->files & (SF_BODY_SETUP_PY | SF_BODY_PYPROJECT));
	if (!*found)
		return 0;
	b->kind = SF_BODY_SDIST;
	return body_metadata(dir, rel, b, err, errlen);
}

static bool body_py_project(const struct sf_body *b)
{
	return b->files & (SF_BODY_REQUIREMENTS | SF_BODY_PYPROJECT | SF_BODY_POETRY_LOCK |
			   SF_BODY_PIPFILE_LOCK | SF_BODY_SETUP_PY);
}

static int body_pypi(const char *dir, struct sf_body *b, char *err, size_t errlen)
{
	bool found;
	int rc = body_wheel(dir, b, err, errlen, &found);
	if (rc || found)
		return rc;
	body_root(dir, b->root, sizeof(b->root));
	b->files = body_files(dir, b->root);
	if ((rc = body_sdist(dir, b, err, errlen, &found)) || found)
		return rc;
	if (body_py_project(b)) {
		b->kind = SF_BODY_PY_PROJECT;
		return 0;
	}
	snprintf(err, errlen, "not a Python package or project: no sdist (PKG-INFO with setup.py or"
			      " pyproject.toml), no wheel (*.dist-info/WHEEL), no requirements.txt,"
			      " pyproject.toml, poetry.lock or Pipfile.lock at the root of the"
			      " archive or in its single top directory");
	return -ENOENT;
}

static bool body_is_gem(const char *dir)
{
	return body_has(dir, "metadata.gz") && body_has(dir, "data.tar.gz");
}

/* A Ruby project: Gemfile (and Gemfile.lock) in the root (read here). */
static int body_gem_project(const char *dir, struct sf_body *b, char *err, size_t errlen)
{
	body_root(dir, b->root, sizeof(b->root));
	b->files = body_files(dir, b->root);
	if (b->files & (SF_BODY_GEMFILE | SF_BODY_GEMFILE_LOCK)) {
		b->kind = SF_BODY_GEM_PROJECT;
		if (!(b->files & SF_BODY_GEMFILE)) {
			snprintf(err, errlen, "a Gemfile.lock without its Gemfile");
			return -ENOENT;
		}
		return 0;
	}
	snprintf(err, errlen, "not a gem (metadata.gz and data.tar.gz) nor a Ruby project (Gemfile)"
			      " at the root of the archive or in its single top directory");
	return -ENOENT;
}

static int body_rubygems(const char *dir, struct sf_body *b, char *err, size_t errlen)
{
	if (body_is_gem(dir))
		return body_gem(dir, b, err, errlen);
	return body_gem_project(dir, b, err, errlen);
}

/* The body read as the kind the coordinator named: that kind's check
 * alone, nothing guessed. */
static int body_as(const char *dir, enum sf_body_kind kind, struct sf_body *b, char *err,
		   size_t errlen)
{
	bool found = false;
	int rc = 0;
	switch (kind) {
	case SF_BODY_WHEEL:
		rc = body_wheel(dir, b, err, errlen, &found);
		if (rc == 0 && !found)
			snprintf(err, errlen, "no *.dist-info directory with WHEEL at the top");
		break;
	case SF_BODY_SDIST:
		body_root(dir, b->root, sizeof(b->root));
		b->files = body_files(dir, b->root);
		rc = body_sdist(dir, b, err, errlen, &found);
		if (rc == 0 && !found)
			snprintf(err, errlen, "no PKG-INFO next to setup.py or pyproject.toml at the"
					      " root or in its single top directory");
		break;
	case SF_BODY_PY_PROJECT:
		body_root(dir, b->root, sizeof(b->root));
		b->files = body_files(dir, b->root);
		b->kind = SF_BODY_PY_PROJECT;
		found = body_py_project(b);
		if (!found)
			snprintf(err, errlen, "no requirements.txt, pyproject.toml, poetry.lock,"
					      " Pipfile.lock or setup.py at the root or in its single"
					      " top directory");
		break;
	case SF_BODY_GEM:
		found = body_is_gem(dir);
		if (found)
			rc = body_gem(dir, b, err, errlen);
		else
			snprintf(err, errlen, "no metadata.gz and data.tar.gz at the top");
		break;
	case SF_BODY_GEM_PROJECT:
		rc = body_gem_project(dir, b, err, errlen);
		found = rc == 0;
		break;
	}
	if (rc == -ENOMEM)
		return rc;
	if (rc == 0 && found)
		return 0;
	char why[400];
	snprintf(why, sizeof(why), "%s", err);
	snprintf(err, errlen, "the coordinator read this body as kind %s, but the worker's reading of"
			      " the unpacked tree disagrees: %s", sf_body_kind_name(kind), why);
	return -EBADMSG;
}

int sf_body_detect(const char *ecosystem, const char *kind, const char *dir, struct sf_body *b,
		   char *err, size_t errlen)
{
	memset(b, 0, sizeof(*b));
	err[0] = '\0';
	bool known = ecosystem && (!strcmp(ecosystem, "pypi") || !strcmp(ecosystem, "rubygems"));
	if (!known) {
		snprintf(err, errlen, "unknown ecosystem '%s'", ecosystem ? ecosystem : "");
		return -EINVAL;
	}
	if (kind && kind[0]) {
		for (size_t i = 0; i < sizeof(body_kinds) / sizeof(body_kinds[0]); i++)
			if (!strcmp(body_kinds[i].ecosystem, ecosystem) &&
			    !strcmp(body_kinds[i].name, kind))
				return body_as(dir, body_kinds[i].kind, b, err, errlen);
		snprintf(err, errlen, "the coordinator read this body as kind '%.40s', which is not a"
				      " kind of %s body this worker installs", kind, ecosystem);
		return -EINVAL;
	}
	if (!strcmp(ecosystem, "pypi"))
		return body_pypi(dir, b, err, errlen);
	return body_rubygems(dir, b, err, errlen);
}

void sf_body_id(const struct sf_body *b, char *out, size_t outlen)
{
	if (b->kind == SF_BODY_GEM)
		snprintf(out, outlen, "%s-%s", b->name, b->version);
	else if (b->name[0])
		snprintf(out, outlen, "%s==%s", b->name, b->version);
	else
		snprintf(out, outlen, "%s", b->root[0] ? b->root : "project");
}
