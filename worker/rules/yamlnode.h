/*
 * yamlnode — typed reading of libyaml document nodes for the rules loader
 * (Falco's rule_loader_reader): a node's file and line, mapping look-ups,
 * refusal of unknown keys, strings, booleans and string sequences, each
 * failing with "FILE:LINE: reason" through sf_ruleset_fail. Every scalar
 * read spends one unit of the load's budget, so that YAML aliases cannot
 * make a small file expensive.
 *
 * Owns: nothing. Calls: libyaml (<yaml.h>), ruleset, arena. Memory:
 * strings it returns are copies in the ruleset's arena; nodes belong to the
 * document.
 */
#ifndef SF_YAMLNODE_H
#define SF_YAMLNODE_H

#include <stdbool.h>
#include <stdint.h>
#include <yaml.h>

#include "ruleset.h"

/* The document being read and the file it came from. */
struct rl_yctx {
	struct sf_ruleset *rs;
	yaml_document_t *doc;
	uint32_t file; /* index in rs->files */
};

struct rl_loc sf_yaml_loc(const struct rl_yctx *y, const yaml_node_t *n);
/* Is n the scalar s? */
bool sf_yaml_scalar_is(const yaml_node_t *n, const char *s);
/* YAML null: an empty plain scalar, ~ or null. */
bool sf_yaml_is_null(const yaml_node_t *n);
/* The value of key in a mapping (the first one, like yaml-cpp), or NULL. */
yaml_node_t *sf_yaml_get(const struct rl_yctx *y, const yaml_node_t *map, const char *key);
/* Refuses keys not in allowed (NULL-terminated); what and name say where. */
int sf_yaml_check_keys(const struct rl_yctx *y, const yaml_node_t *map, const char *what,
		       const char *name, const char *const *allowed);
/* A scalar as an arena string. nonempty: refuse "". */
int sf_yaml_str(const struct rl_yctx *y, const yaml_node_t *n, const char *what, bool nonempty,
		char **out);
/* true/false (also yes/no, on/off in their YAML spellings). */
int sf_yaml_bool(const struct rl_yctx *y, const yaml_node_t *n, const char *what, bool *out);
/* A sequence of scalars appended to *items (arena array of *cnt, *cap). */
int sf_yaml_strseq(const struct rl_yctx *y, const yaml_node_t *n, const char *what, char ***items,
		   uint32_t *cnt, uint32_t *cap);

#endif
