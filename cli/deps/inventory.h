/*
 * inventory — a depset as JSON, the form `scanfarm deps --scan no` prints
 * and the report modules start from:
 *   {"lockfiles": N,
 *    "packages": [{"ecosystem", "name", "version", "integrity", "source",
 *                  "uses": [{"repository", "file", "line"}]}],
 *    "problems": [{"repository", "file", "line", "reason", "skipped"}]}
 * ("integrity" and "source" are null when the lockfile had none / the
 * package comes from its registry; "skipped" true: the whole lockfile was
 * malformed and not used).
 *
 * Owns: nothing; the returned json_t is the caller's. Calls: depset,
 * jansson.
 */
#ifndef SF_INVENTORY_H
#define SF_INVENTORY_H

#include <jansson.h>

#include "depset.h"

json_t *sf_inventory_json(const struct sf_depset *s);
/* One package's "uses" array. */
json_t *sf_inventory_uses(const struct sf_dep *d);

#endif
