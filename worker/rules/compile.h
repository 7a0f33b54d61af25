/*
 * compile — turns a collected ruleset into a runnable one (Falco's
 * rule_loader_compiler): expands lists (nested lists, quoted items),
 * compiles every macro once (reporting a broken one at its own line, and
 * handing each a memo slot so it runs once per event), compiles each
 * syscall rule's condition with its exceptions and its output (skipping it,
 * with a warning, under skip-if-unknown-filter), builds the evt.type index
 * and seals the digest and warnings.
 *
 * Owns: nothing. Calls: cond_parse, cond_lex (unquoting list items),
 * exceptions, output, evttypes, ruleset, strmap, arena, sha256, util,
 * libyaml (scalar styles, for error lines). Memory: compiled trees and
 * expanded lists live in the ruleset's arena.
 */
#ifndef SF_COMPILE_H
#define SF_COMPILE_H

#include "ruleset.h"

/* Compiles everything collected into rs. 0, or a negative errno with the
 * load's error recorded. */
int sf_compile_ruleset(struct sf_ruleset *rs);

#endif
