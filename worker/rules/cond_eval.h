/*
 * cond_eval — evaluates a compiled condition (cond_ast.h) against one event
 * without allocating: and/or/not, macro results shared within an event
 * (struct sf_cond_run), and the operators on field values (string, number,
 * address and network comparisons, sets, pmatch, glob/iglob with fnmatch
 * semantics).
 *
 * A check on a field that has no value for the event is false, whatever the
 * operator (`!=` included), like Falco; `not` of it is true.
 *
 * Owns: nothing. Calls: fields (values of the event). Memory: field values
 * built on the fly go to the caller's scratch in struct sf_cond_run.
 */
#ifndef SF_COND_EVAL_H
#define SF_COND_EVAL_H

#include <stdbool.h>

#include "cond_ast.h"
#include "event.h"

/* Evaluates n for ev. Never allocates. */
bool sf_cond_eval(const struct sf_cnode *n, const struct sf_event *ev, struct sf_cond_run *run);

/* The order of text sets: bytes, then length. cond_check sorts `in` sets
 * with it, evaluation searches them with it. */
int sf_cond_strcmp(const struct sf_str *a, const struct sf_str *b);

#endif
