/* rules — see rules.h: loading rules files. */
#include "rules.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "arena.h"
#include "collect.h"
#include "compile.h"
#include "ruleset.h"
#include "sha256.h"
#include "util.h"
#include "yamlnode.h"

#define RULES_SCALAR_BUDGET 4000000u /* YAML scalars read per load (aliases count again) */

/* ---- reading one file ------------------------------------------------- */

static int rules_doc(struct sf_ruleset *rs, yaml_document_t *doc, uint32_t file)
{
	struct rl_yctx y = {rs, doc, file};
	yaml_node_t *root = yaml_document_get_root_node(doc);
	if (sf_yaml_is_null(root))
		return 0;
	if (root->type != YAML_SEQUENCE_NODE)
		return sf_ruleset_fail(
		    rs, sf_yaml_loc(&y, root), -EINVAL,
		    "rules content must be a YAML sequence of items (- rule: ...)");
	for (yaml_node_item_t *it = root->data.sequence.items.start;
	     it < root->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(doc, *it);
		if (!item || sf_yaml_is_null(item))
			continue;
		int rc = sf_collect_item(&y, item);
		if (rc)
			return rc;
	}
	return 0;
}

/* Line of a byte offset, for libyaml errors that only give an offset. */
static uint32_t rules_offset_line(const char *data, size_t len, size_t off)
{
	uint32_t line = 1;
	for (size_t i = 0; i < off && i < len; i++)
		if (data[i] == '\n')
			line++;
	return line;
}

static const char *rules_basename(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static int rules_load_data(struct sf_ruleset *rs, const char *name, const char *data, size_t len)
{
	int rc = 0;
	if (SF_RULESET_PUSH(rs, rs->files, rs->nfiles, rs->capfiles))
		return sf_ruleset_nomem(rs);
	rs->files[rs->nfiles] = sf_arena_strdup(&rs->arena, name);
	if (!rs->files[rs->nfiles])
		return sf_ruleset_nomem(rs);
	uint32_t file = rs->nfiles++;
	struct rl_loc top = {file, 1};

	const char *base = rules_basename(name);
	char lenbuf[32];
	snprintf(lenbuf, sizeof(lenbuf), "%zu", len);
	if (sf_sha256_update(&rs->sha, base, strlen(base) + 1) ||
	    sf_sha256_update(&rs->sha, lenbuf, strlen(lenbuf) + 1) ||
	    sf_sha256_update(&rs->sha, data, len))
		return sf_ruleset_nomem(rs);

	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser))
		return sf_ruleset_nomem(rs);
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	for (;;) {
		yaml_document_t doc;
		if (!yaml_parser_load(&parser, &doc)) {
			struct rl_loc at = top;
			if (parser.error == YAML_MEMORY_ERROR) {
				rc = sf_ruleset_nomem(rs);
				break;
			}
			if (parser.error == YAML_READER_ERROR)
				at.line = rules_offset_line(data, len, parser.problem_offset);
			else
				at.line = (uint32_t)parser.problem_mark.line + 1;
			rc = sf_ruleset_fail(rs, at, -EINVAL, "YAML error: %s%s%s",
					     parser.problem ? parser.problem : "unknown",
					     parser.context ? " " : "",
					     parser.context ? parser.context : "");
			break;
		}
		bool end = yaml_document_get_root_node(&doc) == NULL;
		if (!end)
			rc = rules_doc(rs, &doc, file);
		yaml_document_delete(&doc);
		if (end || rc)
			break;
	}
	yaml_parser_delete(&parser);
	return rc;
}

/* ---- public: loading -------------------------------------------------- */

static int rules_new(struct sf_ruleset **out, char *err, size_t errlen)
{
	struct sf_ruleset *rs = calloc(1, sizeof(*rs));
	if (!rs) {
		snprintf(err, errlen, "out of memory loading rules");
		return -ENOMEM;
	}
	if (sf_sha256_init(&rs->sha)) {
		free(rs);
		snprintf(err, errlen, "cannot initialise SHA-256");
		return -ENOMEM;
	}
	rs->sha_ok = true;
	rs->err = err;
	rs->errlen = errlen;
	rs->budget = RULES_SCALAR_BUDGET;
	if (err && errlen)
		err[0] = '\0';
	*out = rs;
	return 0;
}

static int rules_load_path(struct sf_ruleset *rs, const char *path)
{
	char *data = NULL;
	size_t len = 0;
	struct rl_loc none = {UINT32_MAX, 0};
	int rc = sf_read_file(path, SF_RULES_MAX_FILE, &data, &len);
	if (rc == -EFBIG)
		return sf_ruleset_fail(rs, none, rc, "%s: larger than %u bytes", path,
				       SF_RULES_MAX_FILE);
	if (rc)
		return sf_ruleset_fail(rs, none, rc, "%s: %s", path, strerror(-rc));
	rc = rules_load_data(rs, path, data, len);
	free(data);
	return rc;
}

static int rules_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool rules_is_yaml(const char *name)
{
	size_t n = strlen(name);
	return name[0] != '.' && ((n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
				  (n > 4 && strcmp(name + n - 4, ".yml") == 0));
}

static int rules_load_dir(struct sf_ruleset *rs, const char *dir)
{
	struct rl_loc none = {UINT32_MAX, 0};
	DIR *d = opendir(dir);
	if (!d)
		return sf_ruleset_fail(rs, none, -errno, "%s: %s", dir, strerror(errno));
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	for (;;) {
		struct dirent *de = readdir(d);
		if (!de)
			break;
		if (!rules_is_yaml(de->d_name))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nn = realloc(names, ncap * sizeof(*nn));
			if (!nn) {
				rc = sf_ruleset_nomem(rs);
				goto out;
			}
			names = nn;
			cap = ncap;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			rc = sf_ruleset_nomem(rs);
			goto out;
		}
		n++;
	}
	qsort(names, n, sizeof(*names), rules_name_cmp);
	for (size_t i = 0; i < n && !rc; i++) {
		char path[4096];
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= (int)sizeof(path)) {
			rc = sf_ruleset_fail(rs, none, -ENAMETOOLONG, "%s/%s: path too long", dir,
					     names[i]);
			break;
		}
		struct stat st;
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
			continue;
		rc = rules_load_path(rs, path);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

static int rules_done(struct sf_ruleset *rs, int rc, struct sf_ruleset **out)
{
	if (!rc)
		rc = sf_compile_ruleset(rs);
	if (rc) {
		if (!rs->failed)
			sf_ruleset_fail(rs, (struct rl_loc){UINT32_MAX, 0}, rc, "%s",
					strerror(-rc));
		sf_rules_free(rs);
		return rc;
	}
	rs->err = NULL;
	rs->errlen = 0;
	*out = rs;
	return 0;
}

int sf_rules_load(struct sf_ruleset **out, const char *const *paths, size_t npaths, char *err,
		  size_t errlen)
{
	struct sf_ruleset *rs;
	*out = NULL;
	int rc = rules_new(&rs, err, errlen);
	if (rc)
		return rc;
	struct rl_loc none = {UINT32_MAX, 0};
	for (size_t i = 0; i < npaths && !rc; i++) {
		struct stat st;
		if (stat(paths[i], &st) != 0)
			rc = sf_ruleset_fail(rs, none, -errno, "%s: %s", paths[i], strerror(errno));
		else if (S_ISDIR(st.st_mode))
			rc = rules_load_dir(rs, paths[i]);
		else
			rc = rules_load_path(rs, paths[i]);
	}
	return rules_done(rs, rc, out);
}

int sf_rules_load_buffer(struct sf_ruleset **out, const char *name, const void *data, size_t len,
			 char *err, size_t errlen)
{
	struct sf_ruleset *rs;
	*out = NULL;
	int rc = rules_new(&rs, err, errlen);
	if (rc)
		return rc;
	struct rl_loc none = {UINT32_MAX, 0};
	if (len > SF_RULES_MAX_FILE)
		rc = sf_ruleset_fail(rs, none, -EFBIG, "%s: larger than %u bytes", name,
				     SF_RULES_MAX_FILE);
	else
		rc = rules_load_data(rs, name, data, len);
	return rules_done(rs, rc, out);
}
