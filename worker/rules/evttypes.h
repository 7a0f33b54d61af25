/*
 * evttypes — the evt.type index (Falco's evttype_index_ruleset): works out
 * which event types a compiled condition can be true for, gives every type
 * a condition names a number (one more stands for all the others), builds
 * one bucket of enabled rules per type, and runs an event through the rules
 * of its type's bucket (sf_rules_eval and sf_rules_ctx_init, in rules.h).
 *
 * Owns: nothing. Calls: cond_eval, fields (evt.type checks), ruleset,
 * strmap, arena. Memory: buckets and type sets live in the ruleset's arena;
 * evaluation allocates nothing.
 */
#ifndef SF_EVTTYPES_H
#define SF_EVTTYPES_H

#include <stddef.h>
#include <stdint.h>

#include "cond_ast.h"
#include "ruleset.h"

/* Calls cb for every string an evt.type check in n compares with (=, !=,
 * in, intersects). Stops at and returns the first non-zero cb result. */
int sf_cond_evttype_names(const struct sf_cnode *n, int (*cb)(void *arg, const struct sf_str *s),
			  void *arg);

/*
 * The event types n can be true for, as a bit set over type numbers
 * 0..ntypes-1, where number ntypes-1 stands for every type not named in any
 * condition. index(arg, s) gives a named type's number. out has
 * (ntypes + 63) / 64 words. Returns 0 or -ENOMEM.
 */
int sf_cond_evttypes(const struct sf_cnode *n, size_t ntypes,
		     int (*index)(void *arg, const struct sf_str *s), void *arg, uint64_t *out);

/* Builds the per-event-type rule lists of rs->ours (warning about rules
 * that run for every type or for none). 0 or -ENOMEM. */
int sf_evttypes_index(struct sf_ruleset *rs);

#endif
