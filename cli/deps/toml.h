/*
 * toml — a TOML reader for lockfiles (poetry.lock). Debian ships no
 * maintained C TOML library (only C++ ones), so this is written here and
 * fuzzed (tests/fuzz/lockfile_fuzz.c). It reads TOML 1.0's syntax: comments,
 * [table] and [[array of tables]] headers, dotted bare or quoted keys,
 * basic, literal and multi-line strings (with \uXXXX escapes), integers,
 * floats, booleans, dates and times (kept as their text), arrays and
 * inline tables, nested up to TOML_MAX_DEPTH. It does not check TOML's
 * rules on redefining keys or tables: a lockfile reader needs the values,
 * and the caller judges what it reads.
 *
 * Events go to callbacks in document order: a header (its key path, and
 * whether it is [[…]]), then each key = value of that table (the key path
 * relative to the table, the value as a jansson value, borrowed for the
 * call). A callback returning non-zero stops the parse with that code.
 *
 * Owns: nothing after return. Calls: jansson, libc.
 */
#ifndef SF_TOML_H
#define SF_TOML_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define TOML_MAX_DEPTH 32 /* arrays and inline tables inside each other */
#define TOML_MAX_KEYS 16  /* parts of a dotted key */

struct sf_toml_cb {
	int (*table)(void *ctx, const char *const *path, size_t n, bool array, int line);
	int (*keyval)(void *ctx, const char *const *path, size_t n, json_t *value, int line);
	void *ctx;
};

/* Parses data[0..len). 0; -EPROTO with *line and why (malformed); a
 * callback's code; -ENOMEM. */
int sf_toml_parse(const char *data, size_t len, const struct sf_toml_cb *cb, int *line,
		  char *why, size_t whylen);

#endif
