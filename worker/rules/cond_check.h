/*
 * cond_check — compiles one check of a condition, `FIELD OP VALUE`,
 * `FIELD exists` or `FIELD in (a, "b c", list_name)`: resolves the field
 * (fields), reads the operator (the operator names of the grammar live
 * here), checks that the operator suits the field's type, and precompiles
 * the right-hand values (numbers and addresses parsed, `in` sets sorted and
 * deduplicated for cond_eval's binary search, pmatch prefixes normalised,
 * case-folded needles prepared).
 *
 * Owns: the operator name tables. Calls: cond_lex, cond_eval (the string
 * order sets are sorted by), fields, arena, and the caller's struct
 * sf_cond_env to expand lists. Memory: nodes and values go to the env's arena.
 */
#ifndef SF_COND_CHECK_H
#define SF_COND_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "cond_ast.h"
#include "cond_lex.h"

/* The check whose field name (namelen bytes) starts at the cursor, into
 * *out. Returns 0, or a negative errno with p->err filled. */
int sf_cond_field_check(struct cond_p *p, size_t namelen, const struct sf_cnode **out);

/* Is op an operator name of the grammar? 0, or -EINVAL with msg filled
 * (the loader checks rule exception `comps` with it). */
int sf_cond_check_op(const char *op, char *msg, size_t msglen);
/* Does op take a list (in, intersects, pmatch)? */
bool sf_cond_op_is_list(const char *op);

#endif
