/*
 * jsonpos — where the keys of a JSON document are: jansson, which parses
 * the lockfiles, keeps no positions, so this scans the same text for the
 * line of every object key in document order. A jansson tree of the same
 * text (jansson keeps object order) walked in pre-order meets its keys in
 * that order: take the next key's line as a walk enters a key, skip the
 * keys inside a value it does not enter.
 *
 * Only text jansson has accepted is scanned (the scanner assumes valid
 * JSON and stays bounded on anything: it never reads past len). A key is
 * a string followed by ':'.
 *
 * Owns: the lines array (sf_jsonpos_free). Calls: libc, jansson.
 */
#ifndef SF_JSONPOS_H
#define SF_JSONPOS_H

#include <jansson.h>
#include <stddef.h>

struct sf_jsonpos {
	int *lines; /* 1-based line of each key, in document order */
	size_t n, next;
};

/* Scans data[0..len). -ENOMEM. */
int sf_jsonpos_scan(const char *data, size_t len, struct sf_jsonpos *p);
/* The next key's line (0 when the keys have run out). */
int sf_jsonpos_take(struct sf_jsonpos *p);
/* Passes over every key inside v (v's own key already taken). */
void sf_jsonpos_skip(struct sf_jsonpos *p, json_t *v);
void sf_jsonpos_free(struct sf_jsonpos *p);

#endif
