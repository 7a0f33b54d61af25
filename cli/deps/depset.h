/*
 * depset — what `scanfarm deps` found: the unique packages (ecosystem,
 * name, version, integrity, source) of every lockfile read, each with the
 * places that use it (repository, lockfile, line), and the lockfiles that
 * could not be read (file, line, reason).
 *
 * A lockfile parser reads one file through a struct sf_lockfile: it adds
 * entries with sf_lockfile_add and ends with sf_lockfile_fail (the file is
 * malformed: its entries are dropped, the reason kept) or nothing (the
 * caller ends with sf_lockfile_end, which commits). sf_lockfile_note records an
 * entry skipped for a reason (an unpinned requirement) without failing the
 * file. So a malformed lockfile never contributes half its entries.
 *
 * Owns: every string and array it holds (freed by sf_depset_free). Calls:
 * libc, util. Strings passed in are copied.
 */
#ifndef SF_DEPSET_H
#define SF_DEPSET_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum sf_eco { SF_ECO_NPM, SF_ECO_PYPI, SF_ECO_RUBYGEMS, SF_ECO_COUNT };

/* Whether s[0..n) are n hex digits (either case); unlike util's
 * sf_is_hex, the text may go on after them. */
bool sf_dep_hex(const char *s, size_t n);

/* "npm", "pypi", "rubygems"; sf_eco_parse: -1 when unknown. */
const char *sf_eco_name(enum sf_eco e);
int sf_eco_parse(const char *s);

/* One place a package is used: the lockfile (relative to its repository)
 * and the 1-based line of the package's entry. */
struct sf_dep_use {
	const char *repo; /* interned in the set */
	const char *file; /* interned */
	int line;
};

struct sf_dep {
	enum sf_eco eco;
	char *name;	 /* as the registry spells it (PyPI: normalised, PEP 503) */
	char *version;	 /* exact */
	char *integrity; /* npm: SRI ("sha512-…"); PyPI, RubyGems: "sha256:…" hashes,
			    sorted and space-separated; "" when the lockfile has none */
	char *source;	 /* NULL: the ecosystem's registry; else where it comes from
			    ("git+https://…", "file:…", a tarball URL) */
	struct sf_dep_use *uses;
	size_t nuses, cap;
};

/* A lockfile that was skipped (malformed) or an entry that was (a note). */
struct sf_dep_diag {
	const char *repo, *file; /* interned */
	int line;		 /* 0: the whole file */
	char *reason;
	bool skipped_file; /* true: malformed, nothing of it was used */
};

struct sf_depset {
	struct sf_dep *deps; /* in the order first seen */
	size_t ndeps, capdeps;
	size_t *slots; /* open-addressing index of deps + 1 (0 = empty) */
	size_t nslots;
	struct sf_dep_diag *diags;
	size_t ndiags, capdiags;
	char **strings; /* interned repo and file names */
	size_t nstrings, capstrings;
	size_t lockfiles; /* read and used */
};

/* One lockfile being read: entries wait here until committed. */
struct sf_lockfile {
	struct sf_depset *set;
	const char *repo, *file; /* interned */
	struct sf_lockfile_entry {
		enum sf_eco eco;
		char *name, *version, *integrity, *source;
		int line;
	} *pending;
	size_t npending, cap;
	size_t first_diag; /* the set's diagnostics from here on are this file's */
	bool failed;
};

void sf_depset_init(struct sf_depset *s);
void sf_depset_free(struct sf_depset *s);
/* The entry of that key, or NULL. */
struct sf_dep *sf_depset_find(const struct sf_depset *s, enum sf_eco eco, const char *name,
			      const char *version, const char *integrity, const char *source);

/* Begins reading file of repo. -ENOMEM. */
int sf_lockfile_begin(struct sf_lockfile *lf, struct sf_depset *s, const char *repo,
		      const char *file);
/* Adds one entry (integrity and source may be NULL). -ENOMEM. */
int sf_lockfile_add(struct sf_lockfile *lf, enum sf_eco eco, const char *name,
		    const char *version, const char *integrity, const char *source, int line);
/* The file is malformed at line (0: no line): its entries are dropped.
 * Returns -EPROTO (or -ENOMEM) for the parser to return. */
int sf_lockfile_fail(struct sf_lockfile *lf, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An entry was skipped for a reason, the file goes on. -ENOMEM. */
int sf_lockfile_note(struct sf_lockfile *lf, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Moves the pending entries into the set (unless the file failed) and
 * frees the reader. */
int sf_lockfile_end(struct sf_lockfile *lf);

#endif
