/*
 * body — what a PyPI or RubyGems scan was given, told from the unpacked
 * tree's content, never from a file name: a Python source distribution
 * (PKG-INFO next to setup.py, pyproject.toml or setup.cfg), a wheel (a
 * <name>.dist-info directory with WHEEL and METADATA), a Python project
 * (requirements.txt, pyproject.toml, poetry.lock or Pipfile.lock), a gem
 * (metadata.gz and data.tar.gz: the tar a .gem file is) or a Ruby project
 * (Gemfile, Gemfile.lock). A package's name and version come from its
 * own metadata (PKG-INFO, METADATA, the gem's gzip'd YAML specification).
 *
 * A job names the kind the coordinator read (wire.h artifact.kind): then
 * only that kind's check is made, and a tree it does not fit is refused.
 *
 * Every file is read from the host beneath the tree (sf_open_beneath: no
 * link leads out), non-blocking and bounded; nothing is run.
 *
 * Owns: nothing after return (struct sf_body is plain data). Calls:
 * libarchive (gzip), libyaml, util.
 */
#ifndef SF_BODY_H
#define SF_BODY_H

#include <stdbool.h>
#include <stddef.h>

enum sf_body_kind {
	SF_BODY_SDIST,	     /* Python source distribution */
	SF_BODY_WHEEL,	     /* Python wheel */
	SF_BODY_PY_PROJECT,  /* requirements.txt / pyproject.toml / poetry.lock / Pipfile.lock */
	SF_BODY_GEM,	     /* a .gem file */
	SF_BODY_GEM_PROJECT, /* Gemfile / Gemfile.lock */
};

/* Files a project has at its root. */
enum {
	SF_BODY_REQUIREMENTS = 1 << 0, /* requirements.txt */
	SF_BODY_PYPROJECT = 1 << 1,    /* pyproject.toml */
	SF_BODY_POETRY_LOCK = 1 << 2,  /* poetry.lock */
	SF_BODY_PIPFILE_LOCK = 1 << 3, /* Pipfile.lock */
	SF_BODY_SETUP_PY = 1 << 4,     /* setup.py (or setup.cfg): installable itself */
	SF_BODY_GEMFILE = 1 << 5,      /* Gemfile */
	SF_BODY_GEMFILE_LOCK = 1 << 6, /* Gemfile.lock */
};

#define SF_BODY_NAME_MAX 128
#define SF_BODY_VERSION_MAX 64
#define SF_BODY_MAX_DEPS 64 /* a gem's runtime dependencies */

/* A gem's runtime dependency: its name and requirement (">= 1.2, < 2"),
 * both of the characters RubyGems allows only. */
struct sf_body_dep {
	char name[SF_BODY_NAME_MAX];
	char req[160];
};

struct sf_body {
	enum sf_body_kind kind;
	char root[256];			/* the directory holding it in the tree ("" = the top) */
	char name[SF_BODY_NAME_MAX];	/* the distribution or gem; "" for a project */
	char version[SF_BODY_VERSION_MAX];
	char tag[128];			/* wheel: a compatibility tag of its WHEEL ("py3-none-any") */
	char platform[64];		/* gem: "ruby" unless the gem is prebuilt for one */
	unsigned files;			/* SF_BODY_* files at the root */
	struct sf_body_dep deps[SF_BODY_MAX_DEPS]; /* gem: its runtime dependencies */
	int ndeps;
};

/* Tells the kind of the tree unpacked in dir for ecosystem ("pypi" or
 * "rubygems"). kind: what the coordinator read the body to be (the job's
 * artifact.kind, inspect.h's names: "sdist", "wheel", "project", "gem"),
 * or NULL / "" when it did not say (then the worker tells it itself). A
 * kind named is checked alone, never re-guessed: a tree that is not that
 * kind is -EBADMSG, a kind this worker does not know -EINVAL. 0, or
 * -ENOENT / -EBADMSG / -EINVAL with err saying what was expected or what
 * is malformed. */
int sf_body_detect(const char *ecosystem, const char *kind, const char *dir, struct sf_body *b,
		   char *err, size_t errlen);

/* The coordinator's name of a kind ("sdist", "wheel", "project", "gem"). */
const char *sf_body_kind_name(enum sf_body_kind kind);

/* The identity a report names it by: "name==version" (Python),
 * "name-version" (gems), the root directory's name for a project. */
void sf_body_id(const struct sf_body *b, char *out, size_t outlen);

/* Reads header `key` ("Name", "Version") of an RFC 822-style metadata
 * text (PKG-INFO, METADATA) into out: printable, trimmed. Exposed for
 * packages.c and the tests. true when found. */
bool sf_body_header(const char *text, size_t len, const char *key, char *out, size_t outlen);

/* Whether s is a name pip or gem accepts for a distribution: letters,
 * digits, '.', '-', '_', starting and ending alphanumeric. */
bool sf_body_valid_name(const char *s);

#endif
