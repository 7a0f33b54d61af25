/* depset — see depset.h. */
#include "depset.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char *const depset_eco_names[SF_ECO_COUNT] = {"npm", "pypi", "rubygems"};

bool sf_dep_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
			return false;
	return true;
}

const char *sf_eco_name(enum sf_eco e)
{
	return (unsigned)e < SF_ECO_COUNT ? depset_eco_names[e] : "unknown";
}

int sf_eco_parse(const char *s)
{
	for (int i = 0; s && i < SF_ECO_COUNT; i++)
		if (strcmp(s, depset_eco_names[i]) == 0)
			return i;
	return -1;
}

/* Grows an array of elem-byte elements to hold n + 1. */
static int depset_grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 16;
	if (ncap > SIZE_MAX / elem)
		return -ENOMEM;
	void *p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static char *depset_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

void sf_depset_init(struct sf_depset *s)
{
	memset(s, 0, sizeof(*s));
}

void sf_depset_free(struct sf_depset *s)
{
	for (size_t i = 0; i < s->ndeps; i++) {
		struct sf_dep *d = &s->deps[i];
		free(d->name);
		free(d->version);
		free(d->integrity);
		free(d->source);
		free(d->uses);
	}
	for (size_t i = 0; i < s->ndiags; i++)
		free(s->diags[i].reason);
	for (size_t i = 0; i < s->nstrings; i++)
		free(s->strings[i]);
	free(s->deps);
	free(s->slots);
	free(s->diags);
	free(s->strings);
	memset(s, 0, sizeof(*s));
}

/* FNV-1a over the key's parts, each ended by a NUL. */
static uint64_t depset_hash(enum sf_eco eco, const char *name, const char *version,
			    const char *integrity, const char *source)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)eco;
	const char *parts[] = {name, version, integrity ? integrity : "", source ? source : ""};
	for (size_t i = 0; i < 4; i++) {
		for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++)
			h = (h ^ *p) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL;
	}
	return h;
}

static bool depset_same(const struct sf_dep *d, enum sf_eco eco, const char *name,
			const char *version, const char *integrity, const char *source)
{
	return d->eco == eco && strcmp(d->name, name) == 0 && strcmp(d->version, version) == 0 &&
	       strcmp(d->integrity, integrity ? integrity : "") == 0 &&
	       strcmp(d->source ? d->source : "", source ? source : "") == 0;
}

/* The slot holding the key, or the empty slot where it would go. */
static size_t *depset_slot(const struct sf_depset *s, enum sf_eco eco, const char *name,
			   const char *version, const char *integrity, const char *source)
{
	size_t mask = s->nslots - 1;
	size_t i = (size_t)depset_hash(eco, name, version, integrity, source) & mask;
	for (;;) {
		size_t *slot = &s->slots[i];
		if (*slot == 0 ||
		    depset_same(&s->deps[*slot - 1], eco, name, version, integrity, source))
			return slot;
		i = (i + 1) & mask;
	}
}

/* Keeps the index at most half full. */
static int depset_rehash(struct sf_depset *s)
{
	if (s->nslots && (s->ndeps + 1) * 2 <= s->nslots)
		return 0;
	size_t n = s->nslots ? s->nslots * 2 : 64;
	size_t *old = s->slots;
	s->slots = calloc(n, sizeof(*s->slots));
	if (!s->slots) {
		s->slots = old;
		return -ENOMEM;
	}
	s->nslots = n;
	free(old);
	for (size_t k = 0; k < s->ndeps; k++) {
		const struct sf_dep *d = &s->deps[k];
		*depset_slot(s, d->eco, d->name, d->version, d->integrity, d->source) = k + 1;
	}
	return 0;
}

struct sf_dep *sf_depset_find(const struct sf_depset *s, enum sf_eco eco, const char *name,
			      const char *version, const char *integrity, const char *source)
{
	if (!s->nslots)
		return NULL;
	size_t *slot = depset_slot(s, eco, name, version, integrity, source);
	return *slot ? &s->deps[*slot - 1] : NULL;
}

/* The set's copy of str (one per distinct string: repositories and files
 * repeat in every use). */
static const char *depset_intern(struct sf_depset *s, const char *str)
{
	/* few distinct names: the most recent ones are the likely match */
	for (size_t i = s->nstrings; i-- > 0;)
		if (strcmp(s->strings[i], str) == 0)
			return s->strings[i];
	if (depset_grow((void **)&s->strings, &s->capstrings, s->nstrings, sizeof(char *)))
		return NULL;
	char *c = strdup(str);
	if (!c)
		return NULL;
	s->strings[s->nstrings++] = c;
	return c;
}

/* Adds one use of the key, creating the entry if it is new. */
static int depset_use(struct sf_depset *s, const struct sf_lockfile_entry *e, const char *repo,
		      const char *file)
{
	int rc = depset_rehash(s);
	if (rc)
		return rc;
	size_t *slot = depset_slot(s, e->eco, e->name, e->version, e->integrity, e->source);
	if (*slot == 0) {
		if ((rc = depset_grow((void **)&s->deps, &s->capdeps, s->ndeps, sizeof(*s->deps))))
			return rc;
		struct sf_dep *d = &s->deps[s->ndeps];
		memset(d, 0, sizeof(*d));
		d->eco = e->eco;
		d->name = strdup(e->name);
		d->version = strdup(e->version);
		d->integrity = strdup(e->integrity ? e->integrity : "");
		d->source = depset_strdup(e->source);
		if (!d->name || !d->version || !d->integrity || (e->source && !d->source)) {
			free(d->name);
			free(d->version);
			free(d->integrity);
			free(d->source);
			return -ENOMEM;
		}
		*slot = ++s->ndeps;
	}
	struct sf_dep *d = &s->deps[*slot - 1];
	/* the same package twice on one line of one file counts once */
	if (d->nuses && d->uses[d->nuses - 1].file == file && d->uses[d->nuses - 1].repo == repo &&
	    d->uses[d->nuses - 1].line == e->line)
		return 0;
	if ((rc = depset_grow((void **)&d->uses, &d->cap, d->nuses, sizeof(*d->uses))))
		return rc;
	d->uses[d->nuses++] = (struct sf_dep_use){.repo = repo, .file = file, .line = e->line};
	return 0;
}

int sf_lockfile_begin(struct sf_lockfile *lf, struct sf_depset *s, const char *repo,
		      const char *file)
{
	memset(lf, 0, sizeof(*lf));
	lf->set = s;
	lf->repo = depset_intern(s, repo);
	lf->file = depset_intern(s, file);
	lf->first_diag = s->ndiags;
	return lf->repo && lf->file ? 0 : -ENOMEM;
}

static void depset_entry_free(struct sf_lockfile_entry *e)
{
	free(e->name);
	free(e->version);
	free(e->integrity);
	free(e->source);
}

int sf_lockfile_add(struct sf_lockfile *lf, enum sf_eco eco, const char *name,
		    const char *version, const char *integrity, const char *source, int line)
{
	if (lf->failed)
		return 0;
	int rc = depset_grow((void **)&lf->pending, &lf->cap, lf->npending, sizeof(*lf->pending));
	if (rc)
		return rc;
	struct sf_lockfile_entry *e = &lf->pending[lf->npending];
	*e = (struct sf_lockfile_entry){.eco = eco,
					.name = strdup(name),
					.version = strdup(version),
					.integrity = depset_strdup(integrity),
					.source = depset_strdup(source),
					.line = line};
	if (!e->name || !e->version || (integrity && !e->integrity) || (source && !e->source)) {
		depset_entry_free(e);
		return -ENOMEM;
	}
	lf->npending++;
	return 0;
}

static int depset_diag(struct sf_lockfile *lf, int line, bool skipped, const char *fmt,
		       va_list ap)
{
	struct sf_depset *s = lf->set;
	int rc = depset_grow((void **)&s->diags, &s->capdiags, s->ndiags, sizeof(*s->diags));
	if (rc)
		return rc;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	char *reason = strdup(msg);
	if (!reason)
		return -ENOMEM;
	s->diags[s->ndiags++] = (struct sf_dep_diag){
	    .repo = lf->repo, .file = lf->file, .line = line, .reason = reason, .skipped_file = skipped};
	return 0;
}

int sf_lockfile_fail(struct sf_lockfile *lf, int line, const char *fmt, ...)
{
	if (lf->failed)
		return -EPROTO;
	lf->failed = true;
	/* the notes of a file that is skipped whole would only mislead */
	struct sf_depset *s = lf->set;
	for (size_t i = lf->first_diag; i < s->ndiags; i++)
		free(s->diags[i].reason);
	s->ndiags = lf->first_diag;
	va_list ap;
	va_start(ap, fmt);
	int rc = depset_diag(lf, line, true, fmt, ap);
	va_end(ap);
	return rc ? rc : -EPROTO;
}

int sf_lockfile_note(struct sf_lockfile *lf, int line, const char *fmt, ...)
{
	if (lf->failed)
		return 0;
	va_list ap;
	va_start(ap, fmt);
	int rc = depset_diag(lf, line, false, fmt, ap);
	va_end(ap);
	return rc;
}

int sf_lockfile_end(struct sf_lockfile *lf)
{
	int rc = 0;
	if (!lf->failed) {
		for (size_t i = 0; rc == 0 && i < lf->npending; i++)
			rc = depset_use(lf->set, &lf->pending[i], lf->repo, lf->file);
		if (rc == 0)
			lf->set->lockfiles++;
	}
	for (size_t i = 0; i < lf->npending; i++)
		depset_entry_free(&lf->pending[i]);
	free(lf->pending);
	lf->pending = NULL;
	lf->npending = lf->cap = 0;
	return rc;
}
