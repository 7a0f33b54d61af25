/* yamlnode — see yamlnode.h. */
#include "yamlnode.h"

#include <errno.h>
#include <string.h>

#include "arena.h"

struct rl_loc sf_yaml_loc(const struct rl_yctx *y, const yaml_node_t *n)
{
	struct rl_loc l = {y->file, (uint32_t)n->start_mark.line + 1};
	return l;
}

bool sf_yaml_scalar_is(const yaml_node_t *n, const char *s)
{
	return n && n->type == YAML_SCALAR_NODE && n->data.scalar.length == strlen(s) &&
	       memcmp(n->data.scalar.value, s, n->data.scalar.length) == 0;
}

/* YAML null: an empty plain scalar, ~ or null. */
bool sf_yaml_is_null(const yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return n->data.scalar.length == 0 || sf_yaml_scalar_is(n, "~") ||
	       sf_yaml_scalar_is(n, "null") || sf_yaml_scalar_is(n, "Null") ||
	       sf_yaml_scalar_is(n, "NULL");
}

/* The value of key in a mapping (the first one, like yaml-cpp), or NULL. */
yaml_node_t *sf_yaml_get(const struct rl_yctx *y, const yaml_node_t *map, const char *key)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(y->doc, p->key);
		if (sf_yaml_scalar_is(k, key))
			return yaml_document_get_node(y->doc, p->value);
	}
	return NULL;
}

/* Refuses keys not in allowed (NULL-terminated). */
int sf_yaml_check_keys(const struct rl_yctx *y, const yaml_node_t *map, const char *what,
		       const char *name, const char *const *allowed)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(y->doc, p->key);
		bool ok = false;
		for (size_t i = 0; allowed[i] && !ok; i++)
			ok = sf_yaml_scalar_is(k, allowed[i]);
		if (ok)
			continue;
		if (k && k->type == YAML_SCALAR_NODE)
			return sf_ruleset_fail(
			    y->rs, sf_yaml_loc(y, k), -EINVAL, "%s '%s': unknown key '%.*s'", what,
			    name, (int)(k->data.scalar.length > 64 ? 64 : k->data.scalar.length),
			    (const char *)k->data.scalar.value);
		return sf_ruleset_fail(y->rs, sf_yaml_loc(y, k ? k : map), -EINVAL,
				       "%s '%s': keys must be strings", what, name);
	}
	return 0;
}

static int rules_spend(const struct rl_yctx *y, const yaml_node_t *n)
{
	if (y->rs->budget == 0)
		return sf_ruleset_fail(y->rs, sf_yaml_loc(y, n), -E2BIG,
				       "rules file too large or too repetitive");
	y->rs->budget--;
	return 0;
}

/* A scalar as an arena string. nonempty: refuse "". */
int sf_yaml_str(const struct rl_yctx *y, const yaml_node_t *n, const char *what, bool nonempty,
		char **out)
{
	int rc = rules_spend(y, n);
	if (rc)
		return rc;
	if (n->type != YAML_SCALAR_NODE)
		return sf_ruleset_fail(y->rs, sf_yaml_loc(y, n), -EINVAL, "%s: expected a string",
				       what);
	const char *v = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;
	if (memchr(v, '\0', len))
		return sf_ruleset_fail(y->rs, sf_yaml_loc(y, n), -EINVAL, "%s: NUL byte in string",
				       what);
	if (nonempty && len == 0)
		return sf_ruleset_fail(y->rs, sf_yaml_loc(y, n), -EINVAL,
				       "%s: value must not be empty", what);
	*out = sf_arena_strndup(&y->rs->arena, v, len);
	return *out ? 0 : sf_ruleset_nomem(y->rs);
}

int sf_yaml_bool(const struct rl_yctx *y, const yaml_node_t *n, const char *what, bool *out)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
					  "YES",  "on",   "On",   "ON",  NULL};
	static const char *const no[] = {"false", "False", "FALSE", "no",  "No",
					 "NO",    "off",   "Off",   "OFF", NULL};
	for (size_t i = 0; yes[i]; i++) {
		if (sf_yaml_scalar_is(n, yes[i])) {
			*out = true;
			return 0;
		}
		if (sf_yaml_scalar_is(n, no[i])) {
			*out = false;
			return 0;
		}
	}
	return sf_ruleset_fail(y->rs, sf_yaml_loc(y, n), -EINVAL, "%s: expected true or false",
			       what);
}

/* A sequence of scalars appended to *items (arena array). */
int sf_yaml_strseq(const struct rl_yctx *y, const yaml_node_t *n, const char *what, char ***items,
		   uint32_t *cnt, uint32_t *cap)
{
	if (sf_yaml_is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return sf_ruleset_fail(y->rs, sf_yaml_loc(y, n), -EINVAL, "%s: expected a sequence",
				       what);
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *v = yaml_document_get_node(y->doc, *it);
		if (!v || v->type != YAML_SCALAR_NODE)
			return sf_ruleset_fail(y->rs, sf_yaml_loc(y, v ? v : n), -EINVAL,
					       "%s: items must be strings", what);
		char *s;
		int rc = sf_yaml_str(y, v, what, false, &s);
		if (rc)
			return rc;
		if (SF_RULESET_PUSH(y->rs, *items, *cnt, *cap))
			return sf_ruleset_nomem(y->rs);
		(*items)[(*cnt)++] = s;
	}
	return 0;
}
