/*
 * collect — the top-level items of a rules file (Falco's
 * rule_loader_collector): required_engine_version, required_plugin_versions
 * (accepted, nothing to check), list, macro and rule, each defining a new
 * item, replacing one, appending to one (`append: true`, or `override:` with
 * append/replace per key) or re-enabling a rule, in the order the files
 * give them. Nothing is compiled here: conditions stay text until compile.
 *
 * Owns: nothing. Calls: yamlnode, exceptions, ruleset, strmap, arena.
 * Memory: every item goes to the ruleset's arena and its name maps.
 */
#ifndef SF_COLLECT_H
#define SF_COLLECT_H

#include "ruleset.h"
#include "yamlnode.h"

/* Collects one item (a mapping of a document's top-level sequence). */
int sf_collect_item(const struct rl_yctx *y, const yaml_node_t *item);

#endif
