/*
 * exceptions — Falco rule exceptions: reads an `exceptions:` sequence
 * (name, fields, comps, values), checks each exception when it is defined
 * (filling in the default operators: `=` per field, `in` for one field),
 * merges the exceptions of an append/override into a rule's, and writes the
 * `and not (...)` clauses they add to the rule's condition, quoting values
 * the way Falco does.
 *
 * Owns: nothing. Calls: yamlnode, ruleset, cond_check (operator names),
 * fields (field names), arena, util (sf_buf). Memory: everything goes to the
 * ruleset's arena; the built condition too.
 */
#ifndef SF_EXCEPTIONS_H
#define SF_EXCEPTIONS_H

#include <stdint.h>

#include "ruleset.h"
#include "yamlnode.h"

/* Reads an `exceptions:` sequence into a fresh arena array (*out, *cnt,
 * *cap); rule names the rule in errors. */
int sf_exceptions_read(const struct rl_yctx *y, const yaml_node_t *n, const char *rule,
		       struct rl_exception **out, uint32_t *cnt, uint32_t *cap);
/* Checks an exception as Falco does when it is defined, filling in the
 * default comparison operators. */
int sf_exceptions_validate(struct sf_ruleset *rs, const struct sf_rule *r, struct rl_exception *x);
/* Adds exceptions of an append/override to rule r: values of a known name
 * are appended to it, a new name is a new exception. */
int sf_exceptions_append(struct sf_ruleset *rs, struct sf_rule *r, struct rl_exception *xs,
			 uint32_t n);
/* Sets r->full_cond: the rule's condition with its exceptions,
 * "(cond) and not (...) ...", or r->cond when it has none. */
int sf_exceptions_cond(struct sf_ruleset *rs, struct sf_rule *r);

#endif
