/* inspect — see inspect.h. */
#include "inspect.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "util.h"

#define INSPECT_PATH_MAX 4096
#define INSPECT_NAME_MAX 256 /* a top directory's or .dist-info's name */

/* Files whose presence makes a project, by ecosystem. */
static const char *const inspect_pypi_markers[] = {"requirements.txt", "pyproject.toml",
						   "poetry.lock", "Pipfile.lock", NULL};
static const char *const inspect_gem_markers[] = {"Gemfile", "Gemfile.lock", NULL};
static const char *const inspect_npm_markers[] = {"package.json", NULL};

enum inspect_eco { INSPECT_NPM, INSPECT_PYPI, INSPECT_RUBYGEMS };

/* What the entries seen so far say. */
struct inspect_state {
	bool pypi; /* else rubygems (gems) or npm (neither) */
	bool gems;
	const struct sf_inspect_limits *lim;
	struct sf_inspection *out;
	long long entries, declared;
	char top[INSPECT_NAME_MAX]; /* the first entry's first component */
	bool top_set;
	bool single_top;	    /* every entry lies beneath top/ (or is it) */
	unsigned root_markers;	    /* project markers at the root (bit per marker) */
	unsigned top_markers;	    /* …and in top/ */
	/* sdist: PKG-INFO in a top directory */
	char pkginfo_dir[INSPECT_NAME_MAX];
	struct sf_buf pkginfo;
	bool has_pkginfo;
	/* wheel: the .dist-info directories at the root */
	char distinfo[INSPECT_NAME_MAX];
	int ndistinfo;
	struct sf_buf metadata, wheel;
	bool has_metadata, has_wheel;
	/* gem */
	struct sf_buf metadata_gz;
	bool has_metadata_gz, has_data_tar_gz, data_is_gzip;
};

static int inspect_refuse(struct inspect_state *s, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int inspect_refuse(struct inspect_state *s, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->out->message, sizeof(s->out->message), fmt, ap);
	va_end(ap);
	return rc;
}

bool sf_inspect_ecosystem(const char *ecosystem)
{
	return ecosystem && (strcmp(ecosystem, "npm") == 0 || strcmp(ecosystem, "pypi") == 0 ||
			     strcmp(ecosystem, "rubygems") == 0);
}

/* ------------------------------------------------------------ metadata */

/* A value fit to be recorded and shown: printable ASCII, no quotes or
 * backslashes that would need escaping elsewhere, 1 to max-1 bytes. */
static bool inspect_value_ok(const char *v, size_t len, size_t max)
{
	if (len == 0 || len >= max)
		return false;
	for (size_t i = 0; i < len; i++)
		if (v[i] < 0x21 || v[i] > 0x7e || v[i] == '"' || v[i] == '\\')
			return false;
	return true;
}

/* The value of header field `field` in core metadata (PKG-INFO, METADATA,
 * WHEEL: "Field: value" lines up to the first blank line, RFC 822 style;
 * continuation lines belong to the field before). 0, or -ENOENT. */
static int inspect_field(const struct sf_buf *b, const char *field, char *out, size_t outlen)
{
	size_t flen = strlen(field), n;
	const char *p = b->data ? b->data : "", *end = p + b->len, *line;
	while (sf_next_line(&p, end, &line, &n)) {
		if (n == 0)
			break; /* the headers end; the body (a description) follows */
		if (n > flen && line[flen] == ':' && strncasecmp(line, field, flen) == 0) {
			const char *v = line + flen + 1;
			size_t vn = n - flen - 1;
			while (vn && (*v == ' ' || *v == '\t'))
				v++, vn--;
			while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
				vn--;
			if (!inspect_value_ok(v, vn, outlen))
				return -ENOENT;
			memcpy(out, v, vn);
			out[vn] = '\0';
			return 0;
		}
	}
	return -ENOENT;
}

/* A scalar node's text, if it is a fit value. */
static bool inspect_yaml_scalar(yaml_node_t *n, char *out, size_t outlen)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return false;
	const char *v = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;
	if (!inspect_value_ok(v, len, outlen))
		return false;
	memcpy(out, v, len);
	out[len] = '\0';
	return true;
}

/* The value of key in mapping node m, or NULL. */
static yaml_node_t *inspect_yaml_get(yaml_document_t *doc, yaml_node_t *m, const char *key)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		if (k && k->type == YAML_SCALAR_NODE && k->data.scalar.length == strlen(key) &&
		    memcmp(k->data.scalar.value, key, k->data.scalar.length) == 0)
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

/* A gem's specification (metadata.gz, YAML once gunzipped): name and
 * version (a Gem::Version mapping whose `version` is the text, or plain). */
static int inspect_gemspec(struct inspect_state *s, const char *yaml, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc = -EBADMSG;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_parser_delete(&parser);
		return inspect_refuse(s, -EBADMSG, "the gem's metadata.gz is not YAML: %s",
				      parser.problem ? parser.problem : "unreadable");
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	yaml_node_t *ver = inspect_yaml_get(&doc, root, "version");
	if (ver && ver->type == YAML_MAPPING_NODE)
		ver = inspect_yaml_get(&doc, ver, "version");
	if (!inspect_yaml_scalar(inspect_yaml_get(&doc, root, "name"), s->out->name,
				 sizeof(s->out->name)) ||
	    !inspect_yaml_scalar(ver, s->out->version, sizeof(s->out->version)))
		rc = inspect_refuse(s, -EBADMSG,
				    "the gem's metadata.gz is not a specification with a name and"
				    " a version");
	else
		rc = 0;
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}

/* Gunzips metadata.gz (at most SF_INSPECT_MEMBER_MAX bytes out) and reads
 * the specification in it. */
static int inspect_gem_metadata(struct inspect_state *s)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	struct sf_buf yaml = {0};
	int rc = -ENOMEM;
	if (!a)
		return rc;
	archive_read_support_filter_gzip(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_memory(a, s->metadata_gz.data, s->metadata_gz.len) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK || archive_filter_code(a, 0) !=
								  ARCHIVE_FILTER_GZIP) {
		rc = inspect_refuse(s, -EBADMSG, "the gem's metadata.gz is not gzip data");
		goto out;
	}
	char chunk[16384];
	for (;;) {
		la_ssize_t n = archive_read_data(a, chunk, sizeof(chunk));
		if (n < 0) {
			rc = inspect_refuse(s, -EBADMSG, "the gem's metadata.gz: %s",
					    archive_error_string(a) ? archive_error_string(a)
								    : "corrupt");
			goto out;
		}
		if (n == 0)
			break;
		if (yaml.len + (size_t)n > SF_INSPECT_MEMBER_MAX) {
			rc = inspect_refuse(s, -EFBIG, "the gem's metadata.gz unpacks to more than"
					    " %d bytes", SF_INSPECT_MEMBER_MAX);
			goto out;
		}
		if ((rc = sf_buf_append(&yaml, chunk, (size_t)n)))
			goto out;
	}
	rc = inspect_gemspec(s, yaml.data ? yaml.data : "", yaml.len);
out:
	archive_read_free(a);
	sf_buf_free(&yaml);
	return rc;
}

/* ------------------------------------------------------------ entries */

/* A member read whole, at most SF_INSPECT_MEMBER_MAX bytes. */
static int inspect_read_member(struct inspect_state *s, struct archive *a, const char *what,
			       struct sf_buf *b)
{
	char chunk[16384];
	b->len = 0;
	for (;;) {
		la_ssize_t n = archive_read_data(a, chunk, sizeof(chunk));
		if (n < 0)
			return inspect_refuse(s, -EBADMSG, "%s cannot be read: %s", what,
					      archive_error_string(a) ? archive_error_string(a)
								      : "corrupt archive");
		if (n == 0)
			return 0;
		if (b->len + (size_t)n > SF_INSPECT_MEMBER_MAX)
			return inspect_refuse(s, -EFBIG, "%s is larger than %d bytes", what,
					      SF_INSPECT_MEMBER_MAX);
		int rc = sf_buf_append(b, chunk, (size_t)n);
		if (rc)
			return rc;
	}
}

static unsigned inspect_marker(const struct inspect_state *s, const char *name)
{
	const char *const *m = s->pypi ? inspect_pypi_markers
			       : s->gems ? inspect_gem_markers
					 : inspect_npm_markers;
	for (unsigned i = 0; m[i]; i++)
		if (strcmp(m[i], name) == 0)
			return 1u << i;
	return 0;
}

static bool inspect_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n > k && strcmp(s + n - k, suffix) == 0;
}

/* Splits an entry's path into at most SF_INSPECT_DEPTH_MAX components
 * (leading "./", "." and empty components dropped). 0, -EPERM (absolute,
 * or ".."), -EFBIG (too long or deep). comps point into buf. */
static int inspect_split(struct inspect_state *s, const char *path, char *buf, size_t buflen,
			 const char **comps, int *depth)
{
	*depth = 0;
	if (!path)
		return inspect_refuse(s, -EBADMSG, "an entry has no path");
	if (sf_strlcpy(buf, path, buflen))
		return inspect_refuse(s, -EFBIG, "an entry's path is longer than %d bytes",
				      INSPECT_PATH_MAX);
	if (buf[0] == '/')
		return inspect_refuse(s, -EPERM, "an entry's path is absolute: %.200s", path);
	char *save = NULL;
	for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0)
			return inspect_refuse(s, -EPERM, "an entry's path leaves the archive: %.200s",
					      path);
		if (*depth >= SF_INSPECT_DEPTH_MAX)
			return inspect_refuse(s, -EFBIG, "an entry's path is deeper than %d",
					      SF_INSPECT_DEPTH_MAX);
		comps[(*depth)++] = c;
	}
	return 0;
}

/* One entry: the bounds, the layout (single top directory), and the
 * members that say what the archive is (read when wanted). */
static int inspect_entry(struct inspect_state *s, struct archive *a, struct archive_entry *e)
{
	char buf[INSPECT_PATH_MAX + 1];
	const char *comps[SF_INSPECT_DEPTH_MAX];
	int depth, rc;
	if (++s->entries > s->lim->max_entries)
		return inspect_refuse(s, -EFBIG, "the archive has more than %lld entries",
				      s->lim->max_entries);
	if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0) {
		s->declared += archive_entry_size(e);
		if (s->declared > s->lim->max_unpacked || archive_entry_size(e) > s->lim->max_unpacked)
			return inspect_refuse(s, -EFBIG, "the archive unpacks to more than %lld bytes",
					      s->lim->max_unpacked);
	}
	const char *path = archive_entry_pathname(e);
	if ((rc = inspect_split(s, path, buf, sizeof(buf), comps, &depth)))
		return rc;
	if (depth == 0)
		return 0; /* "./" */
	if (!s->top_set) {
		s->top_set = true;
		s->single_top = sf_strlcpy(s->top, comps[0], sizeof(s->top)) == 0;
	}
	bool regular = archive_entry_filetype(e) == AE_IFREG;
	bool dir = archive_entry_filetype(e) == AE_IFDIR;
	/* a file at the root, or anything outside top/, means no single top
	 * directory */
	if (strcmp(comps[0], s->top) != 0 || (depth == 1 && !dir))
		s->single_top = false;
	if (!regular)
		return 0;
	if (depth == 1)
		s->root_markers |= inspect_marker(s, comps[0]);
	if (depth == 2 && strcmp(comps[0], s->top) == 0)
		s->top_markers |= inspect_marker(s, comps[1]);
	if (s->pypi && depth == 2 && strcmp(comps[1], "PKG-INFO") == 0 && !s->has_pkginfo) {
		if (sf_strlcpy(s->pkginfo_dir, comps[0], sizeof(s->pkginfo_dir)))
			return 0;
		s->has_pkginfo = true;
		return inspect_read_member(s, a, "PKG-INFO", &s->pkginfo);
	}
	if (s->pypi && depth == 2 && inspect_ends_with(comps[0], ".dist-info")) {
		if (strcmp(comps[0], s->distinfo) != 0) {
			if (++s->ndistinfo > 1 || sf_strlcpy(s->distinfo, comps[0], sizeof(s->distinfo)))
				return 0;
		}
		if (strcmp(comps[1], "METADATA") == 0 && !s->has_metadata) {
			s->has_metadata = true;
			return inspect_read_member(s, a, "the wheel's METADATA", &s->metadata);
		}
		if (strcmp(comps[1], "WHEEL") == 0 && !s->has_wheel) {
			s->has_wheel = true;
			return inspect_read_member(s, a, "the wheel's WHEEL", &s->wheel);
		}
	}
	if (s->gems && depth == 1 && strcmp(comps[0], "metadata.gz") == 0 && !s->has_metadata_gz) {
		s->has_metadata_gz = true;
		return inspect_read_member(s, a, "the gem's metadata.gz", &s->metadata_gz);
	}
	if (s->gems && depth == 1 && strcmp(comps[0], "data.tar.gz") == 0 && !s->has_data_tar_gz) {
		unsigned char magic[2];
		s->has_data_tar_gz = true;
		s->data_is_gzip = archive_read_data(a, magic, 2) == 2 && magic[0] == 0x1f &&
				  magic[1] == 0x8b;
	}
	return 0;
}

/* ------------------------------------------------------------ verdicts */

/* A project marker at the root, or in the single top directory. */
static bool inspect_project(const struct inspect_state *s)
{
	return s->root_markers || (s->single_top && s->top_markers);
}

static int inspect_decide_pypi(struct inspect_state *s, bool zip, bool tar)
{
	struct sf_inspection *o = s->out;
	if (zip && s->ndistinfo > 1)
		return inspect_refuse(s, -EBADMSG,
				      "not a wheel: more than one .dist-info directory at its root");
	if (zip && s->ndistinfo == 1 && s->has_wheel && s->has_metadata) {
		char wv[32];
		if (inspect_field(&s->wheel, "Wheel-Version", wv, sizeof(wv)))
			return inspect_refuse(s, -EBADMSG, "not a wheel: %s/WHEEL has no Wheel-Version",
					      s->distinfo);
		if (inspect_field(&s->metadata, "Name", o->name, sizeof(o->name)) ||
		    inspect_field(&s->metadata, "Version", o->version, sizeof(o->version)))
			return inspect_refuse(s, -EBADMSG,
					      "not a wheel: %s/METADATA has no usable Name and Version",
					      s->distinfo);
		sf_strlcpy(o->kind, "wheel", sizeof(o->kind));
		return 0;
	}
	if (s->has_pkginfo && s->single_top && strcmp(s->pkginfo_dir, s->top) == 0) {
		if (inspect_field(&s->pkginfo, "Name", o->name, sizeof(o->name)) ||
		    inspect_field(&s->pkginfo, "Version", o->version, sizeof(o->version)))
			return inspect_refuse(s, -EBADMSG,
					      "not an sdist: %s/PKG-INFO has no usable Name and Version",
					      s->top);
		sf_strlcpy(o->kind, "sdist", sizeof(o->kind));
		return 0;
	}
	if ((tar || zip) && inspect_project(s)) {
		sf_strlcpy(o->kind, "project", sizeof(o->kind));
		return 0;
	}
	return inspect_refuse(
	    s, -EBADMSG,
	    "not a Python package or project: no wheel (a zip with NAME.dist-info/WHEEL and"
	    " METADATA), no sdist (PKG-INFO in its single top directory), and no project file"
	    " (requirements.txt, pyproject.toml, poetry.lock, Pipfile.lock) at the top of a tar"
	    " or zip");
}

static int inspect_decide_gem(struct inspect_state *s, bool zip, bool tar, bool compressed)
{
	if (tar && !compressed && s->has_metadata_gz && s->has_data_tar_gz) {
		if (!s->data_is_gzip)
			return inspect_refuse(s, -EBADMSG, "not a gem: its data.tar.gz is not gzip data");
		int rc = inspect_gem_metadata(s);
		if (rc == 0)
			sf_strlcpy(s->out->kind, "gem", sizeof(s->out->kind));
		return rc;
	}
	if ((tar || zip) && inspect_project(s)) {
		sf_strlcpy(s->out->kind, "project", sizeof(s->out->kind));
		return 0;
	}
	return inspect_refuse(s, -EBADMSG,
			      "not a Ruby gem or project: no gem (an uncompressed tar with"
			      " metadata.gz and data.tar.gz), and no Gemfile or Gemfile.lock at the"
			      " top of a tar or zip");
}

/* npm: what the worker installs (package.json at the root, or in the
 * single top directory), a tar or a zip. npm pack's layout, package/, is
 * a "package"; anything else a "project". */
static int inspect_decide_npm(struct inspect_state *s, bool zip, bool tar)
{
	if ((tar || zip) && s->root_markers) {
		sf_strlcpy(s->out->kind, "project", sizeof(s->out->kind));
		return 0;
	}
	if ((tar || zip) && s->single_top && s->top_markers) {
		sf_strlcpy(s->out->kind, strcmp(s->top, "package") == 0 ? "package" : "project",
			   sizeof(s->out->kind));
		return 0;
	}
	return inspect_refuse(s, -EBADMSG,
			      "not an npm package or project: no package.json at the root of a tar"
			      " or zip, nor in its single top directory");
}

/* Reads every entry of a (opened) and decides. */
static int inspect_run(struct archive *a, struct inspect_state *s)
{
	struct archive_entry *e;
	int rc = 0;
	for (;;) {
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return inspect_refuse(s, -EBADMSG, "not a readable archive: %s",
					      archive_error_string(a) ? archive_error_string(a)
								      : "unknown format");
		if ((rc = inspect_entry(s, a, e)))
			return rc;
		/* the bytes really unpacked so far (a member read, or skipped
		 * through a decompressor): a bomb stops here */
		if (archive_filter_bytes(a, 0) > s->lim->max_unpacked + (1LL << 20))
			return inspect_refuse(s, -EFBIG, "the archive unpacks to more than %lld bytes",
					      s->lim->max_unpacked);
	}
	if (s->entries == 0)
		return inspect_refuse(s, -EBADMSG, "the archive is empty");
	int base = archive_format(a) & ARCHIVE_FORMAT_BASE_MASK;
	bool zip = base == ARCHIVE_FORMAT_ZIP, tar = base == ARCHIVE_FORMAT_TAR;
	bool compressed = archive_filter_count(a) > 1;
	if (s->pypi)
		return inspect_decide_pypi(s, zip, tar);
	if (s->gems)
		return inspect_decide_gem(s, zip, tar, compressed);
	return inspect_decide_npm(s, zip, tar);
}

/* Compressions the worker's unpacker also reads (it takes them all), each
 * taken only where this libarchive decompresses it itself: a filter that
 * would run an external program on the body is left out. */
static int (*const inspect_optional_filters[])(struct archive *) = {
    archive_read_support_filter_zstd, archive_read_support_filter_lz4,
    archive_read_support_filter_lzip, archive_read_support_filter_lzma,
    archive_read_support_filter_compress,
};

static struct archive *inspect_reader(void)
{
	struct archive *a = archive_read_new();
	if (!a)
		return NULL;
	/* the compressions sdists and projects come in, all in-process (no
	 * external programs) */
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	for (size_t i = 0; i < sizeof(inspect_optional_filters) / sizeof(inspect_optional_filters[0]);
	     i++) {
		/* ARCHIVE_WARN: only through an external program */
		struct archive *probe = archive_read_new();
		bool inprocess = probe && inspect_optional_filters[i](probe) == ARCHIVE_OK;
		if (probe)
			archive_read_free(probe);
		if (inprocess)
			inspect_optional_filters[i](a);
	}
	archive_read_support_format_tar(a);
	archive_read_support_format_zip(a);
	return a;
}

static int inspect_with(struct archive *a, int open_rc, const char *ecosystem,
			const struct sf_inspect_limits *lim, struct sf_inspection *out)
{
	enum inspect_eco eco = strcmp(ecosystem, "pypi") == 0	  ? INSPECT_PYPI
			       : strcmp(ecosystem, "rubygems") == 0 ? INSPECT_RUBYGEMS
								    : INSPECT_NPM;
	struct inspect_state s = {.pypi = eco == INSPECT_PYPI,
				  .gems = eco == INSPECT_RUBYGEMS,
				  .lim = lim,
				  .out = out};
	int rc;
	if (open_rc != ARCHIVE_OK)
		rc = inspect_refuse(&s, -EBADMSG, "not a readable archive: %s",
				    archive_error_string(a) ? archive_error_string(a) : "unreadable");
	else
		rc = inspect_run(a, &s);
	if (rc) {
		out->kind[0] = out->name[0] = out->version[0] = '\0';
		if (rc == -ENOMEM)
			snprintf(out->message, sizeof(out->message), "out of memory");
	}
	archive_read_free(a);
	sf_buf_free(&s.pkginfo);
	sf_buf_free(&s.metadata);
	sf_buf_free(&s.wheel);
	sf_buf_free(&s.metadata_gz);
	return rc;
}

int sf_inspect_fd(int fd, const char *ecosystem, const struct sf_inspect_limits *lim,
		  struct sf_inspection *out)
{
	memset(out, 0, sizeof(*out));
	if (!sf_inspect_ecosystem(ecosystem))
		return -EINVAL;
	struct archive *a = inspect_reader();
	if (!a)
		return -ENOMEM;
	return inspect_with(a, archive_read_open_fd(a, fd, 65536), ecosystem, lim, out);
}

int sf_inspect_memory(const void *buf, size_t len, const char *ecosystem,
		      const struct sf_inspect_limits *lim, struct sf_inspection *out)
{
	memset(out, 0, sizeof(*out));
	if (!sf_inspect_ecosystem(ecosystem))
		return -EINVAL;
	struct archive *a = inspect_reader();
	if (!a)
		return -ENOMEM;
	return inspect_with(a, archive_read_open_memory(a, buf, len), ecosystem, lim, out);
}
