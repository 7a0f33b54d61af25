/* collect — see collect.h. */
#include "collect.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "exceptions.h"
#include "strmap.h"
#include "yamlnode.h"

/* "x.y.z" into three numbers; integers N mean 0.N.0 (Falco). */
static int rules_semver(const char *s, unsigned long v[3])
{
	char *end;
	v[0] = v[1] = v[2] = 0;
	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	unsigned long a = strtoul(s, &end, 10);
	if (*end == '\0') {
		v[1] = a;
		return 0;
	}
	v[0] = a;
	for (int i = 1; i < 3; i++) {
		if (*end != '.' || !isdigit((unsigned char)end[1]))
			return -EINVAL;
		v[i] = strtoul(end + 1, &end, 10);
	}
	return *end == '\0' ? 0 : -EINVAL;
}

static int rules_item_engine_version(const struct rl_yctx *y, const yaml_node_t *item)
{
	static const char *const keys[] = {"required_engine_version", NULL};
	yaml_node_t *v = sf_yaml_get(y, item, "required_engine_version");
	char *s;
	int rc = sf_yaml_str(y, v, "required_engine_version", true, &s);
	if (rc)
		return rc;
	rc = sf_yaml_check_keys(y, item, "item", "required_engine_version", keys);
	if (rc)
		return rc;
	unsigned long need[3], have[3];
	if (rules_semver(s, need))
		return sf_ruleset_fail(
		    y->rs, sf_yaml_loc(y, v), -EINVAL,
		    "required_engine_version: '%s' is not a version (N or x.y.z)", s);
	rules_semver(SF_RULES_ENGINE_VERSION, have);
	bool newer =
	    need[0] != have[0] || need[1] > have[1] || (need[1] == have[1] && need[2] > have[2]);
	if (newer)
		return sf_ruleset_fail(
		    y->rs, sf_yaml_loc(y, v), -EPROTONOSUPPORT,
		    "rules require engine version %lu.%lu.%lu, but engine version is %s", need[0],
		    need[1], need[2], SF_RULES_ENGINE_VERSION);
	return 0;
}

/* override: {key: append or replace}; bit i of app and rep is keys[i]. */
static int rules_overrides(const struct rl_yctx *y, const yaml_node_t *ov, const char *what,
			   const char *name, const char *const *keys, unsigned appendable,
			   unsigned replaceable, unsigned *app, unsigned *rep)
{
	*app = *rep = 0;
	if (!ov)
		return 0;
	if (ov->type != YAML_MAPPING_NODE)
		return sf_ruleset_fail(y->rs, sf_yaml_loc(y, ov), -EINVAL,
				       "%s '%s': override must be a mapping", what, name);
	for (yaml_node_pair_t *p = ov->data.mapping.pairs.start; p < ov->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(y->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
		int idx = -1;
		for (int i = 0; keys[i] && idx < 0; i++)
			if (sf_yaml_scalar_is(k, keys[i]))
				idx = i;
		if (idx < 0 || !(((appendable | replaceable) >> idx) & 1u))
			return sf_ruleset_fail(
			    y->rs, sf_yaml_loc(y, k ? k : ov), -EINVAL,
			    "%s '%s': key '%.*s' cannot be overridden", what, name,
			    k && k->type == YAML_SCALAR_NODE
				? (int)(k->data.scalar.length > 64 ? 64 : k->data.scalar.length)
				: 1,
			    k && k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value
							     : "?");
		if (sf_yaml_scalar_is(v, "append")) {
			if (!((appendable >> idx) & 1u))
				return sf_ruleset_fail(
				    y->rs, sf_yaml_loc(y, v), -EINVAL,
				    "%s '%s': key '%s' cannot be appended to, use "
				    "'replace' instead",
				    what, name, keys[idx]);
			*app |= 1u << idx;
		} else if (sf_yaml_scalar_is(v, "replace")) {
			if (!((replaceable >> idx) & 1u))
				return sf_ruleset_fail(y->rs, sf_yaml_loc(y, v), -EINVAL,
						       "%s '%s': key '%s' cannot be replaced", what,
						       name, keys[idx]);
			*rep |= 1u << idx;
		} else {
			return sf_ruleset_fail(
			    y->rs, sf_yaml_loc(y, v ? v : ov), -EINVAL,
			    "%s '%s': invalid override operation for key '%s' (append or replace)",
			    what, name, keys[idx]);
		}
	}
	return 0;
}

/* A list's or macro's old-style `append: true` or new-style `override:`
 * (only one of the two); *append says whether the item extends an earlier
 * one rather than replacing it. */
static int rules_append_mode(const struct rl_yctx *y, const yaml_node_t *item, const char *kind,
			     const char *name, const char *const *okeys, bool *append)
{
	*append = false;
	yaml_node_t *ap = sf_yaml_get(y, item, "append");
	int rc = ap ? sf_yaml_bool(y, ap, "append", append) : 0;
	if (rc)
		return rc;
	unsigned oa, orp;
	rc = rules_overrides(y, sf_yaml_get(y, item, "override"), kind, name, okeys, 1, 1, &oa,
			     &orp);
	if (rc)
		return rc;
	if (*append && (oa | orp))
		return sf_ruleset_fail(y->rs, sf_yaml_loc(y, item), -EINVAL,
				       "%s '%s': 'append' and 'override' cannot be used together",
				       kind, name);
	*append = *append || oa;
	return 0;
}

static int rules_item_list(const struct rl_yctx *y, const yaml_node_t *item)
{
	static const char *const keys[] = {"list", "items", "append", "override", NULL};
	static const char *const okeys[] = {"items", NULL};
	struct sf_ruleset *rs = y->rs;
	char *name;
	int rc = sf_yaml_str(y, sf_yaml_get(y, item, "list"), "list name", true, &name);
	if (rc)
		return rc;
	rc = sf_yaml_check_keys(y, item, "list", name, keys);
	if (rc)
		return rc;
	yaml_node_t *items = sf_yaml_get(y, item, "items");
	if (!items)
		return sf_ruleset_fail(rs, sf_yaml_loc(y, item), -EINVAL,
				       "list '%s': missing 'items'", name);
	bool append;
	rc = rules_append_mode(y, item, "list", name, okeys, &append);
	if (rc)
		return rc;
	struct rl_list *l = sf_strmap_get(&rs->list_map, name, strlen(name));
	if (append) {
		if (!l)
			return sf_ruleset_fail(rs, sf_yaml_loc(y, item), -EINVAL,
					       "list '%s': append to a list that is not defined",
					       name);
		return sf_yaml_strseq(y, items, "list items", &l->items, &l->n, &l->cap);
	}
	if (!l) {
		l = sf_arena_alloc(&rs->arena, sizeof(*l));
		if (!l || SF_RULESET_PUSH(rs, rs->lists, rs->nlists, rs->caplists))
			return sf_ruleset_nomem(rs);
		l->name = name;
		rs->lists[rs->nlists++] = l;
		if (sf_strmap_put(&rs->list_map, name, strlen(name), l))
			return sf_ruleset_nomem(rs);
	}
	l->items = NULL;
	l->n = l->cap = 0;
	l->loc = sf_yaml_loc(y, item);
	return sf_yaml_strseq(y, items, "list items", &l->items, &l->n, &l->cap);
}

static int rules_item_macro(const struct rl_yctx *y, const yaml_node_t *item)
{
	static const char *const keys[] = {"macro", "condition", "append", "override", NULL};
	static const char *const okeys[] = {"condition", NULL};
	struct sf_ruleset *rs = y->rs;
	char *name, *cond;
	int rc = sf_yaml_str(y, sf_yaml_get(y, item, "macro"), "macro name", true, &name);
	if (rc)
		return rc;
	rc = sf_yaml_check_keys(y, item, "macro", name, keys);
	if (rc)
		return rc;
	yaml_node_t *cn = sf_yaml_get(y, item, "condition");
	if (!cn)
		return sf_ruleset_fail(rs, sf_yaml_loc(y, item), -EINVAL,
				       "macro '%s': missing 'condition'", name);
	rc = sf_yaml_str(y, cn, "condition", true, &cond);
	if (rc)
		return rc;
	bool append;
	rc = rules_append_mode(y, item, "macro", name, okeys, &append);
	if (rc)
		return rc;
	struct rl_macro *m = sf_strmap_get(&rs->macro_map, name, strlen(name));
	if (append) {
		if (!m)
			return sf_ruleset_fail(rs, sf_yaml_loc(y, item), -EINVAL,
					       "macro '%s': append to a macro that is not defined",
					       name);
		m->cond = sf_ruleset_concat(rs, m->cond, cond);
		return m->cond ? 0 : sf_ruleset_nomem(rs);
	}
	if (!m) {
		m = sf_arena_alloc(&rs->arena, sizeof(*m));
		if (!m || SF_RULESET_PUSH(rs, rs->macros, rs->nmacros, rs->capmacros))
			return sf_ruleset_nomem(rs);
		m->name = name;
		rs->macros[rs->nmacros++] = m;
		if (sf_strmap_put(&rs->macro_map, name, strlen(name), m))
			return sf_ruleset_nomem(rs);
	}
	m->cond = cond;
	m->loc = sf_yaml_loc(y, item);
	m->cond_loc = sf_yaml_loc(y, cn);
	m->cond_style = cn->data.scalar.style;
	return 0;
}

enum {
	RK_CONDITION,
	RK_OUTPUT,
	RK_DESC,
	RK_PRIORITY,
	RK_TAGS,
	RK_EXCEPTIONS,
	RK_ENABLED,
	RK_WARN_EVTTYPES,
	RK_SKIP_UNKNOWN,
	RK_CAPTURE,
	RK_CAPTURE_DURATION,
};

static const char *const rules_rule_okeys[] = {"condition",
					       "output",
					       "desc",
					       "priority",
					       "tags",
					       "exceptions",
					       "enabled",
					       "warn_evttypes",
					       "skip-if-unknown-filter",
					       "capture",
					       "capture_duration",
					       NULL};

#define RK(k) (1u << (k))
#define RK_APPENDABLE                                                                              \
	(RK(RK_CONDITION) | RK(RK_OUTPUT) | RK(RK_DESC) | RK(RK_TAGS) | RK(RK_EXCEPTIONS))
#define RK_REPLACEABLE 0x7ffu

static int rules_priority(const struct rl_yctx *y, const yaml_node_t *n, const char *rule,
			  enum sf_priority *out)
{
	char *s;
	int rc = sf_yaml_str(y, n, "priority", true, &s);
	if (rc)
		return rc;
	if (sf_priority_parse(s, out))
		return sf_ruleset_fail(
		    y->rs, sf_yaml_loc(y, n), -EINVAL,
		    "rule '%s': unknown priority '%s' (emergency, alert, critical, error, warning, "
		    "notice, informational, debug)",
		    rule, s);
	return 0;
}

/* Applies the keys selected by mask from item to rule r, appending (app)
 * or replacing. */
static int rules_apply(const struct rl_yctx *y, const yaml_node_t *item, struct sf_rule *r,
		       unsigned mask, bool app)
{
	struct sf_ruleset *rs = y->rs;
	int rc = 0;
	for (unsigned k = 0; rules_rule_okeys[k]; k++) {
		if (!((mask >> k) & 1u))
			continue;
		yaml_node_t *v = sf_yaml_get(y, item, rules_rule_okeys[k]);
		char *s = NULL;
		switch (k) {
		case RK_CONDITION:
		case RK_OUTPUT:
		case RK_DESC: {
			rc = sf_yaml_str(y, v, rules_rule_okeys[k], !app, &s);
			if (rc)
				return rc;
			char **field = k == RK_CONDITION ? &r->cond
				       : k == RK_OUTPUT  ? &r->output
							 : &r->desc;
			if (k == RK_OUTPUT)
				sf_ruleset_trim(s);
			if (app && !s[0])
				break;
			*field = app ? sf_ruleset_concat(rs, *field, s) : s;
			if (!*field)
				return sf_ruleset_nomem(rs);
			if (k == RK_CONDITION && !app) {
				r->cond_loc = sf_yaml_loc(y, v);
				r->cond_style = v->data.scalar.style;
			}
			if (k == RK_OUTPUT && !app)
				r->output_loc = sf_yaml_loc(y, v);
			break;
		}
		case RK_PRIORITY:
			rc = rules_priority(y, v, r->name, &r->prio);
			break;
		case RK_TAGS:
			if (app) {
				char **tags = NULL;
				uint32_t n = 0, cap = 0;
				rc = sf_yaml_strseq(y, v, "tags", &tags, &n, &cap);
				for (uint32_t i = 0; !rc && i < n; i++) {
					bool dup = false;
					for (uint32_t j = 0; j < r->ntags && !dup; j++)
						dup = strcmp(r->tags[j], tags[i]) == 0;
					if (dup)
						continue;
					if (SF_RULESET_PUSH(rs, r->tags, r->ntags, r->captags))
						return sf_ruleset_nomem(rs);
					r->tags[r->ntags++] = tags[i];
				}
			} else {
				r->tags = NULL;
				r->ntags = r->captags = 0;
				rc = sf_yaml_strseq(y, v, "tags", &r->tags, &r->ntags, &r->captags);
			}
			break;
		case RK_EXCEPTIONS: {
			struct rl_exception *xs;
			uint32_t n, cap;
			rc = sf_exceptions_read(y, v, r->name, &xs, &n, &cap);
			if (rc)
				return rc;
			if (app) {
				rc = sf_exceptions_append(rs, r, xs, n);
			} else {
				for (uint32_t i = 0; i < n && !rc; i++)
					rc = sf_exceptions_validate(rs, r, &xs[i]);
				r->exc = xs;
				r->nexc = n;
				r->capexc = cap;
			}
			break;
		}
		case RK_ENABLED:
			rc = sf_yaml_bool(y, v, "enabled", &r->enabled);
			break;
		case RK_WARN_EVTTYPES:
			rc = sf_yaml_bool(y, v, "warn_evttypes", &r->warn_evttypes);
			break;
		case RK_SKIP_UNKNOWN:
			rc = sf_yaml_bool(y, v, "skip-if-unknown-filter", &r->skip_unknown);
			break;
		default: /* capture, capture_duration: no captures here */
			break;
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* A rule item with `override:`: the keys it lists (oa to append, orp to
 * replace) must be exactly the keys it gives, and prev must exist. */
static int rules_rule_override(const struct rl_yctx *y, const yaml_node_t *item,
			       struct sf_rule *prev, const char *name, struct rl_loc loc,
			       unsigned oa, unsigned orp)
{
	struct sf_ruleset *rs = y->rs;
	int rc;
	unsigned present = 0;
	for (unsigned k = 0; rules_rule_okeys[k]; k++)
		if (sf_yaml_get(y, item, rules_rule_okeys[k]))
			present |= 1u << k;
	for (unsigned k = 0; rules_rule_okeys[k]; k++) {
		unsigned bit = 1u << k;
		if ((present & bit) && !((oa | orp) & bit))
			return sf_ruleset_fail(
			    rs, sf_yaml_loc(y, sf_yaml_get(y, item, rules_rule_okeys[k])), -EINVAL,
			    "rule '%s': key '%s' has no entry under 'override'", name,
			    rules_rule_okeys[k]);
		if (!(present & bit) && ((oa | orp) & bit))
			return sf_ruleset_fail(
			    rs, loc, -EINVAL,
			    "rule '%s': an override for '%s' was given but '%s' is not", name,
			    rules_rule_okeys[k], rules_rule_okeys[k]);
	}
	if (!prev)
		return sf_ruleset_fail(rs, loc, -EINVAL,
				       "rule '%s': override of a rule that is not defined", name);
	rc = rules_apply(y, item, prev, oa, true);
	if (!rc)
		rc = rules_apply(y, item, prev, orp, false);
	return rc;
}

/* A rule item with `append: true`: adds condition and/or exceptions to
 * prev, and nothing else. */
static int rules_rule_append(const struct rl_yctx *y, const yaml_node_t *item, struct sf_rule *prev,
			     const char *name, struct rl_loc loc)
{
	struct sf_ruleset *rs = y->rs;
	static const char *const extra[] = {"output", "desc", "priority", "tags", "enabled", NULL};
	if (!prev)
		return sf_ruleset_fail(rs, loc, -EINVAL,
				       "rule '%s': append to a rule that is not defined", name);
	for (size_t k = 0; extra[k]; k++)
		if (sf_yaml_get(y, item, extra[k]))
			return sf_ruleset_fail(rs, loc, -EINVAL,
					       "rule '%s': with 'append: true' only condition "
					       "and exceptions are "
					       "appended ('%s' is not); use 'override'",
					       name, extra[k]);
	unsigned mask = 0;
	if (sf_yaml_get(y, item, "condition"))
		mask |= RK(RK_CONDITION);
	if (sf_yaml_get(y, item, "exceptions"))
		mask |= RK(RK_EXCEPTIONS);
	if (!mask)
		return sf_ruleset_fail(
		    rs, loc, -EINVAL,
		    "rule '%s': appended rule must have a condition or exceptions", name);
	return rules_apply(y, item, prev, mask, true);
}

/* A rule item with only `enabled:` (no condition, output, desc or
 * priority): switches prev on or off. */
static int rules_rule_enable(const struct rl_yctx *y, const yaml_node_t *item, struct sf_rule *prev,
			     const char *name, struct rl_loc loc)
{
	struct sf_ruleset *rs = y->rs;
	yaml_node_t *en = sf_yaml_get(y, item, "enabled");
	if (!en)
		return sf_ruleset_fail(rs, loc, -EINVAL, "rule '%s': missing 'condition'", name);
	if (!prev)
		return sf_ruleset_fail(rs, loc, -EINVAL,
				       "rule '%s': 'enabled' given but no rule by that name exists",
				       name);
	return sf_yaml_bool(y, en, "enabled", &prev->enabled);
}

/* A full rule item: defines the rule, or redefines prev in place (keeping
 * its position in definition order). */
static int rules_rule_define(const struct rl_yctx *y, const yaml_node_t *item, struct sf_rule *prev,
			     char *name, char *source, struct rl_loc loc)
{
	struct sf_ruleset *rs = y->rs;
	static const char *const required[] = {"condition", "output", "desc", "priority", NULL};
	for (size_t k = 0; required[k]; k++)
		if (!sf_yaml_get(y, item, required[k]))
			return sf_ruleset_fail(rs, loc, -EINVAL, "rule '%s': missing '%s'", name,
					       required[k]);
	struct sf_rule *r = prev;
	if (!r) {
		r = sf_arena_alloc(&rs->arena, sizeof(*r));
		if (!r || SF_RULESET_PUSH(rs, rs->rules, rs->nrules, rs->caprules))
			return sf_ruleset_nomem(rs);
		rs->rules[rs->nrules++] = r;
		if (sf_strmap_put(&rs->rule_map, name, strlen(name), r))
			return sf_ruleset_nomem(rs);
	}
	memset(r, 0, sizeof(*r));
	r->name = name;
	r->loc = loc;
	r->source = source ? source : "syscall";
	r->ours = strcmp(r->source, "syscall") == 0;
	r->enabled = true;
	r->warn_evttypes = true;
	unsigned mask = RK(RK_CONDITION) | RK(RK_OUTPUT) | RK(RK_DESC) | RK(RK_PRIORITY);
	for (unsigned k = RK_TAGS; rules_rule_okeys[k]; k++)
		if (sf_yaml_get(y, item, rules_rule_okeys[k]))
			mask |= 1u << k;
	return rules_apply(y, item, r, mask, false);
}

static int rules_item_rule(const struct rl_yctx *y, const yaml_node_t *item)
{
	static const char *const keys[] = {"rule",
					   "condition",
					   "output",
					   "desc",
					   "priority",
					   "source",
					   "enabled",
					   "capture",
					   "capture_duration",
					   "warn_evttypes",
					   "skip-if-unknown-filter",
					   "tags",
					   "exceptions",
					   "override",
					   "append",
					   NULL};
	struct sf_ruleset *rs = y->rs;
	struct rl_loc loc = sf_yaml_loc(y, item);
	char *name, *source = NULL;
	int rc = sf_yaml_str(y, sf_yaml_get(y, item, "rule"), "rule name", true, &name);
	if (rc)
		return rc;
	rc = sf_yaml_check_keys(y, item, "rule", name, keys);
	if (rc)
		return rc;
	yaml_node_t *src = sf_yaml_get(y, item, "source");
	rc = src && !sf_yaml_is_null(src) ? sf_yaml_str(y, src, "source", false, &source) : 0;
	if (rc)
		return rc;
	if (source && !source[0])
		source = NULL;
	bool append = false;
	yaml_node_t *ap = sf_yaml_get(y, item, "append");
	rc = ap ? sf_yaml_bool(y, ap, "append", &append) : 0;
	if (rc)
		return rc;
	unsigned oa, orp;
	rc = rules_overrides(y, sf_yaml_get(y, item, "override"), "rule", name, rules_rule_okeys,
			     RK_APPENDABLE, RK_REPLACEABLE, &oa, &orp);
	if (rc)
		return rc;
	if (append && (oa | orp))
		return sf_ruleset_fail(rs, loc, -EINVAL,
				       "rule '%s': 'append' and 'override' cannot be used together",
				       name);
	struct sf_rule *prev = sf_strmap_get(&rs->rule_map, name, strlen(name));
	if (prev && source && prev->source && strcmp(prev->source, source) != 0)
		return sf_ruleset_fail(rs, loc, -EINVAL,
				       "rule '%s' has been re-defined with a different source",
				       name);

	if (oa | orp)
		return rules_rule_override(y, item, prev, name, loc, oa, orp);
	if (append)
		return rules_rule_append(y, item, prev, name, loc);
	bool full = sf_yaml_get(y, item, "condition") || sf_yaml_get(y, item, "output") ||
		    sf_yaml_get(y, item, "desc") || sf_yaml_get(y, item, "priority");
	if (!full)
		return rules_rule_enable(y, item, prev, name, loc);
	return rules_rule_define(y, item, prev, name, source, loc);
}

int sf_collect_item(const struct rl_yctx *y, const yaml_node_t *item)
{
	if (item->type != YAML_MAPPING_NODE)
		return sf_ruleset_fail(
		    y->rs, sf_yaml_loc(y, item), -EINVAL,
		    "unexpected element type: each item must be a mapping (rule, "
		    "macro, list, ...)");
	if (sf_yaml_get(y, item, "required_engine_version"))
		return rules_item_engine_version(y, item);
	if (sf_yaml_get(y, item, "required_plugin_versions"))
		return 0; /* no plugins here: nothing to check */
	if (sf_yaml_get(y, item, "list"))
		return rules_item_list(y, item);
	if (sf_yaml_get(y, item, "macro"))
		return rules_item_macro(y, item);
	if (sf_yaml_get(y, item, "rule"))
		return rules_item_rule(y, item);
	yaml_node_pair_t *p = item->data.mapping.pairs.start;
	yaml_node_t *k =
	    p < item->data.mapping.pairs.top ? yaml_document_get_node(y->doc, p->key) : NULL;
	if (k && k->type == YAML_SCALAR_NODE)
		return sf_ruleset_fail(
		    y->rs, sf_yaml_loc(y, item), -EINVAL,
		    "unknown top-level item '%.*s' (expected rule, macro, list, "
		    "required_engine_version or required_plugin_versions)",
		    (int)(k->data.scalar.length > 64 ? 64 : k->data.scalar.length),
		    (const char *)k->data.scalar.value);
	return sf_ruleset_fail(y->rs, sf_yaml_loc(y, item), -EINVAL, "unknown top-level item");
}
