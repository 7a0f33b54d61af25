/* lock_gem — see lock_gem.h. */
#include "lock_gem.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define GEM_FIELD_MAX 512
#define GEM_REGISTRY "https://rubygems.org/"

struct gem_spec {
	char name[GEM_FIELD_MAX], version[GEM_FIELD_MAX];
	char *source; /* NULL: rubygems.org */
	char integrity[100];
	bool local;
	int line;
};

struct gem {
	struct sf_lockfile *lf;
	struct gem_spec *specs;
	size_t n, cap;
	enum { GEM_NONE, GEM_SRC_GEM, GEM_SRC_GIT, GEM_SRC_PATH, GEM_CHECKSUMS, GEM_OTHER } sec;
	bool specs_open, known;
	char remote[GEM_FIELD_MAX], revision[GEM_FIELD_MAX];
	size_t first; /* the current section's first spec */
};

/* "name (version)" followed by the rest (after one space) in *rest. */
static bool gem_name_version(const char *s, size_t len, char *name, char *version,
			     const char **rest)
{
	const char *open = memchr(s, ' ', len);
	if (!open || open == s || (size_t)(open - s) >= GEM_FIELD_MAX || open + 1 >= s + len ||
	    open[1] != '(')
		return false;
	const char *v = open + 2, *close = memchr(v, ')', len - (size_t)(v - s));
	if (!close || close == v || (size_t)(close - v) >= GEM_FIELD_MAX)
		return false;
	memcpy(name, s, (size_t)(open - s));
	name[open - s] = '\0';
	memcpy(version, v, (size_t)(close - v));
	version[close - v] = '\0';
	if (strpbrk(version, " ,<>=~!") || strpbrk(name, "()"))
		return false; /* a requirement, not an exact version */
	*rest = close + 1;
	return true;
}

static int gem_spec(struct gem *g, const char *s, size_t len, int line)
{
	struct gem_spec sp = {.line = line};
	const char *rest;
	if (!gem_name_version(s, len, sp.name, sp.version, &rest) || rest != s + len)
		return sf_lockfile_fail(g->lf, line, "expected a gem as \"name (version)\"");
	if (g->n == g->cap) {
		size_t ncap = g->cap ? g->cap * 2 : 64;
		struct gem_spec *p = realloc(g->specs, ncap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		g->specs = p;
		g->cap = ncap;
	}
	g->specs[g->n++] = sp;
	return 0;
}

/* A source section ends: its gems learn where they come from. */
static int gem_section_end(struct gem *g)
{
	char src[2 * GEM_FIELD_MAX + 8] = "";
	if (g->sec == GEM_SRC_GIT)
		snprintf(src, sizeof(src), "git+%s#%s", g->remote, g->revision);
	else if (g->sec == GEM_SRC_GEM && strcmp(g->remote, GEM_REGISTRY) != 0 &&
		 strcmp(g->remote, "https://rubygems.org") != 0)
		snprintf(src, sizeof(src), "%s", g->remote);
	for (size_t i = g->first; i < g->n; i++) {
		g->specs[i].local = g->sec == GEM_SRC_PATH;
		if (src[0] && !(g->specs[i].source = strdup(src)))
			return -ENOMEM;
	}
	g->first = g->n;
	g->remote[0] = g->revision[0] = '\0';
	g->specs_open = false;
	return 0;
}

static int gem_header(struct gem *g, const char *s, size_t len)
{
	static const struct {
		const char *name;
		int sec;
	} secs[] = {{"GEM", GEM_SRC_GEM},	  {"GIT", GEM_SRC_GIT},	   {"PATH", GEM_SRC_PATH},
		    {"PLUGIN SOURCE", GEM_SRC_GEM}, {"CHECKSUMS", GEM_CHECKSUMS}, {"PLATFORMS", GEM_OTHER},
		    {"DEPENDENCIES", GEM_OTHER},	  {"RUBY VERSION", GEM_OTHER}, {"BUNDLED WITH", GEM_OTHER}};
	int rc = gem_section_end(g);
	g->sec = GEM_OTHER;
	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++)
		if (strlen(secs[i].name) == len && memcmp(s, secs[i].name, len) == 0) {
			g->sec = secs[i].sec;
			g->known = true;
		}
	return rc;
}

/* CHECKSUMS: "name (version) sha256=hex[,other=…]". */
static int gem_checksum(struct gem *g, const char *s, size_t len, int line)
{
	char name[GEM_FIELD_MAX], version[GEM_FIELD_MAX];
	const char *rest;
	if (!gem_name_version(s, len, name, version, &rest))
		return sf_lockfile_fail(g->lf, line, "expected \"name (version) sha256=…\"");
	const char *sha = memmem(rest, len - (size_t)(rest - s), "sha256=", 7);
	if (!sha)
		return 0; /* a gem without a checksum (a git or path gem) */
	sha += 7;
	size_t hl = 0, left = len - (size_t)(sha - s);
	while (hl < left && sha[hl] != ',')
		hl++;
	if (hl != 64 || !sf_dep_hex(sha, 64))
		return sf_lockfile_fail(g->lf, line, "malformed sha256 of %.80s", name);
	for (size_t i = 0; i < g->n; i++)
		if (!strcmp(g->specs[i].name, name) && !strcmp(g->specs[i].version, version))
			snprintf(g->specs[i].integrity, sizeof(g->specs[i].integrity), "sha256:%.64s",
				 sha);
	return 0;
}

static int gem_line(struct gem *g, const char *s, size_t n, size_t indent, int line)
{
	const char *t = s + indent;
	size_t tn = n - indent;
	if (indent == 0)
		return gem_header(g, s, n);
	bool src = g->sec == GEM_SRC_GEM || g->sec == GEM_SRC_GIT || g->sec == GEM_SRC_PATH;
	if (src && indent == 2) {
		if (tn == 6 && !memcmp(t, "specs:", 6)) {
			g->specs_open = true;
		} else if (tn > 8 && !memcmp(t, "remote: ", 8)) {
			if (tn - 8 >= GEM_FIELD_MAX)
				return sf_lockfile_fail(g->lf, line, "remote too long");
			memcpy(g->remote, t + 8, tn - 8);
			g->remote[tn - 8] = '\0';
		} else if (tn > 10 && !memcmp(t, "revision: ", 10)) {
			if (tn - 10 >= GEM_FIELD_MAX)
				return sf_lockfile_fail(g->lf, line, "revision too long");
			memcpy(g->revision, t + 10, tn - 10);
			g->revision[tn - 10] = '\0';
		}
		return 0; /* branch:, ref:, glob:, … */
	}
	if (src && indent == 4 && g->specs_open)
		return gem_spec(g, t, tn, line);
	if (src && indent == 6 && g->specs_open)
		return 0; /* a gem's own requirement */
	if (src)
		return sf_lockfile_fail(g->lf, line, "unexpected indentation in a source section");
	if (g->sec == GEM_CHECKSUMS && indent == 2)
		return gem_checksum(g, t, tn, line);
	return 0;
}

int sf_lock_gemfile(struct sf_lockfile *lf, const char *data, size_t len)
{
	struct gem g = {.lf = lf, .sec = GEM_NONE};
	int line = 0, rc = 0;
	if (memchr(data, '\0', len))
		rc = sf_lockfile_fail(lf, 0, "a NUL byte: not a text file");
	const char *at = data, *s;
	size_t n;
	while (rc == 0 && sf_next_line(&at, data + len, &s, &n)) {
		line++;
		size_t indent = 0;
		while (indent < n && s[indent] == ' ')
			indent++;
		if (indent == n)
			continue;
		if (memchr(s, '\t', n))
			rc = sf_lockfile_fail(lf, line, "a tab character");
		else if (g.sec == GEM_NONE && indent > 0)
			rc = sf_lockfile_fail(lf, line, "text before the first section");
		else
			rc = gem_line(&g, s, n, indent, line);
	}
	if (rc == 0)
		rc = gem_section_end(&g);
	if (rc == 0 && !g.known)
		rc = sf_lockfile_fail(lf, 0, "not a Gemfile.lock: no GEM, GIT or PATH section");
	for (size_t i = 0; i < g.n; i++) {
		struct gem_spec *sp = &g.specs[i];
		if (rc == 0 && !sp->local)
			rc = sf_lockfile_add(lf, SF_ECO_RUBYGEMS, sp->name, sp->version,
					     sp->integrity[0] ? sp->integrity : NULL, sp->source,
					     sp->line);
		free(sp->source);
	}
	free(g.specs);
	return rc;
}
