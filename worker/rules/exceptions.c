/* exceptions — see exceptions.h. */
#include "exceptions.h"

#include <errno.h>
#include <string.h>

#include "arena.h"
#include "cond_check.h"
#include "fields.h"
#include "util.h"

#define RULES_COND_MAX (4u << 20) /* bytes of one condition, exceptions included */

/* ---- reading ---------------------------------------------------------- */

static int rules_exval(const struct rl_yctx *y, const yaml_node_t *n, const char *what,
		       unsigned depth, struct rl_exval *out)
{
	memset(out, 0, sizeof(*out));
	out->valid = true;
	if (n->type == YAML_SCALAR_NODE)
		return sf_yaml_str(y, n, what, true, &out->item);
	if (n->type != YAML_SEQUENCE_NODE || depth >= 3)
		return sf_ruleset_fail(y->rs, sf_yaml_loc(y, n), -EINVAL,
				       "%s: expected a string or a sequence of strings", what);
	out->is_list = true;
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	out->items = sf_arena_calloc(&y->rs->arena, cnt ? cnt : 1, sizeof(*out->items));
	if (!out->items)
		return sf_ruleset_nomem(y->rs);
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *v = yaml_document_get_node(y->doc, *it);
		if (!v)
			return sf_ruleset_fail(y->rs, sf_yaml_loc(y, n), -EINVAL, "%s: bad node",
					       what);
		int rc = rules_exval(y, v, what, depth + 1, &out->items[out->n]);
		if (rc)
			return rc;
		out->n++;
	}
	return 0;
}

/* Reads an `exceptions:` sequence into a fresh array. */
int sf_exceptions_read(const struct rl_yctx *y, const yaml_node_t *n, const char *rule,
		       struct rl_exception **out, uint32_t *cnt, uint32_t *cap)
{
	static const char *const keys[] = {"name", "fields", "comps", "values", NULL};
	*out = NULL;
	*cnt = *cap = 0;
	if (sf_yaml_is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return sf_ruleset_fail(y->rs, sf_yaml_loc(y, n), -EINVAL,
				       "rule '%s': exceptions must be a sequence", rule);
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *e = yaml_document_get_node(y->doc, *it);
		if (!e || e->type != YAML_MAPPING_NODE)
			return sf_ruleset_fail(y->rs, sf_yaml_loc(y, e ? e : n), -EINVAL,
					       "rule '%s': each exception must be a mapping", rule);
		yaml_node_t *name = sf_yaml_get(y, e, "name");
		if (!name)
			return sf_ruleset_fail(y->rs, sf_yaml_loc(y, e), -EINVAL,
					       "rule '%s': exception without a name", rule);
		if (SF_RULESET_PUSH(y->rs, *out, *cnt, *cap))
			return sf_ruleset_nomem(y->rs);
		struct rl_exception *x = &(*out)[*cnt];
		memset(x, 0, sizeof(*x));
		x->loc = sf_yaml_loc(y, e);
		int rc = sf_yaml_str(y, name, "exception name", true, &x->name);
		if (!rc)
			rc = sf_yaml_check_keys(y, e, "exception", x->name, keys);
		yaml_node_t *f = sf_yaml_get(y, e, "fields");
		if (!rc && f)
			rc = rules_exval(y, f, "exception fields", 1, &x->fields);
		yaml_node_t *c = sf_yaml_get(y, e, "comps");
		if (!rc && c)
			rc = rules_exval(y, c, "exception comps", 1, &x->comps);
		yaml_node_t *vals = sf_yaml_get(y, e, "values");
		if (!rc && vals && !sf_yaml_is_null(vals)) {
			if (vals->type != YAML_SEQUENCE_NODE)
				return sf_ruleset_fail(
				    y->rs, sf_yaml_loc(y, vals), -EINVAL,
				    "rule '%s': exception values must be a sequence", rule);
			for (yaml_node_item_t *vi = vals->data.sequence.items.start;
			     !rc && vi < vals->data.sequence.items.top; vi++) {
				yaml_node_t *v = yaml_document_get_node(y->doc, *vi);
				if (SF_RULESET_PUSH(y->rs, x->values, x->nvalues, x->capvalues))
					return sf_ruleset_nomem(y->rs);
				rc = rules_exval(y, v ? v : vals, "exception values", 1,
						 &x->values[x->nvalues]);
				if (!rc)
					x->nvalues++;
			}
		}
		if (rc)
			return rc;
		(*cnt)++;
	}
	return 0;
}

/* Checks an exception as Falco does when it is defined, filling in the
 * default comparison operators. */
int sf_exceptions_validate(struct sf_ruleset *rs, const struct sf_rule *r, struct rl_exception *x)
{
	char msg[256];
	struct sf_field f;
	if (!x->fields.valid)
		return sf_ruleset_fail(rs, x->loc, -EINVAL,
				       "rule '%s': exception '%s' has no fields", r->name, x->name);
	if (x->fields.is_list) {
		if (!x->comps.valid) {
			x->comps.valid = x->comps.is_list = true;
			x->comps.n = x->fields.n;
			x->comps.items = sf_arena_calloc(&rs->arena, x->fields.n ? x->fields.n : 1,
							 sizeof(*x->comps.items));
			if (!x->comps.items)
				return sf_ruleset_nomem(rs);
			for (uint32_t i = 0; i < x->fields.n; i++) {
				x->comps.items[i].valid = true;
				x->comps.items[i].item = sf_arena_strdup(&rs->arena, "=");
				if (!x->comps.items[i].item)
					return sf_ruleset_nomem(rs);
			}
		}
		if (!x->comps.is_list || x->comps.n != x->fields.n)
			return sf_ruleset_fail(
			    rs, x->loc, -EINVAL,
			    "rule '%s': exception '%s': fields and comps lists must "
			    "have equal length",
			    r->name, x->name);
		for (uint32_t i = 0; i < x->fields.n; i++) {
			struct rl_exval *fv = &x->fields.items[i], *cv = &x->comps.items[i];
			if (fv->is_list || cv->is_list)
				return sf_ruleset_fail(
				    rs, x->loc, -EINVAL,
				    "rule '%s': exception '%s': fields and comps must be strings",
				    r->name, x->name);
			sf_ruleset_trim(cv->item);
			if (sf_cond_check_op(cv->item, msg, sizeof(msg)))
				return sf_ruleset_fail(rs, x->loc, -EINVAL,
						       "rule '%s': exception '%s': %s", r->name,
						       x->name, msg);
			if (r->ours && sf_field_parse(fv->item, strlen(fv->item), &f))
				return sf_ruleset_fail(rs, x->loc, -EINVAL,
						       "rule '%s': exception '%s': '%s' is not a "
						       "supported filter field",
						       r->name, x->name, fv->item);
		}
		return 0;
	}
	if (!x->comps.valid) {
		x->comps.valid = true;
		x->comps.item = sf_arena_strdup(&rs->arena, "in");
		if (!x->comps.item)
			return sf_ruleset_nomem(rs);
	}
	if (x->comps.is_list)
		return sf_ruleset_fail(
		    rs, x->loc, -EINVAL,
		    "rule '%s': exception '%s': fields and comps must both be strings", r->name,
		    x->name);
	sf_ruleset_trim(x->comps.item);
	if (!sf_cond_op_is_list(x->comps.item))
		return sf_ruleset_fail(
		    rs, x->loc, -EINVAL,
		    "rule '%s': exception '%s': with a single field, comps must be "
		    "one of in, pmatch, "
		    "intersects",
		    r->name, x->name);
	if (r->ours && sf_field_parse(x->fields.item, strlen(x->fields.item), &f))
		return sf_ruleset_fail(
		    rs, x->loc, -EINVAL,
		    "rule '%s': exception '%s': '%s' is not a supported filter field", r->name,
		    x->name, x->fields.item);
	return 0;
}

/* Adds exceptions of an append/override to rule r: values of a known name
 * are appended to it, a new name is a new exception. */
int sf_exceptions_append(struct sf_ruleset *rs, struct sf_rule *r, struct rl_exception *xs,
			 uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct rl_exception *x = &xs[i], *prev = NULL;
		for (uint32_t k = 0; k < r->nexc && !prev; k++)
			if (strcmp(r->exc[k].name, x->name) == 0)
				prev = &r->exc[k];
		if (!prev) {
			if (!x->values)
				return sf_ruleset_fail(
				    rs, x->loc, -EINVAL,
				    "rule '%s': new exception '%s' has no values", r->name,
				    x->name);
			int rc = sf_exceptions_validate(rs, r, x);
			if (rc)
				return rc;
			if (SF_RULESET_PUSH(rs, r->exc, r->nexc, r->capexc))
				return sf_ruleset_nomem(rs);
			r->exc[r->nexc++] = *x;
			continue;
		}
		if (x->fields.valid || x->comps.valid)
			return sf_ruleset_fail(
			    rs, x->loc, -EINVAL,
			    "rule '%s': exception '%s' exists: only its values can be appended",
			    r->name, x->name);
		for (uint32_t k = 0; k < x->nvalues; k++) {
			if (SF_RULESET_PUSH(rs, prev->values, prev->nvalues, prev->capvalues))
				return sf_ruleset_nomem(rs);
			prev->values[prev->nvalues++] = x->values[k];
		}
	}
	return 0;
}

/* ---- the condition they add ------------------------------------------ */

/* Appends s to b the way Falco writes a value into generated conditions:
 * quoted when it holds a blank (and is not quoted already). */
static int rules_quote_item(struct sf_buf *b, const char *s)
{
	if (strchr(s, ' ') && s[0] != '"' && s[0] != '\'')
		return sf_buf_appendf(b, "\"%s\"", s);
	return sf_buf_append(b, s, strlen(s));
}

/* The rule's condition with its exceptions: (cond) and not (...) ... */
int sf_exceptions_cond(struct sf_ruleset *rs, struct sf_rule *r)
{
	struct sf_buf b = {0};
	int rc = 0;
	if (!r->nexc) {
		r->full_cond = r->cond;
		return 0;
	}
	rc = sf_buf_appendf(&b, "(%s)", r->cond);
	for (uint32_t i = 0; !rc && i < r->nexc; i++) {
		struct rl_exception *x = &r->exc[i];
		if (!x->nvalues)
			continue;
		rc = sf_buf_append(&b, " and not (", 10);
		for (uint32_t v = 0; !rc && v < x->nvalues; v++) {
			struct rl_exval *val = &x->values[v];
			if (!x->fields.is_list) {
				if (val->is_list) {
					rc = sf_ruleset_fail(
					    rs, x->loc, -EINVAL,
					    "rule '%s': exception '%s': with a single "
					    "field, values must be "
					    "a list of strings",
					    r->name, x->name);
					break;
				}
				rc = v ? sf_buf_append(&b, ", ", 2)
				       : sf_buf_appendf(&b, "%s %s (", x->fields.item,
							x->comps.item);
				if (!rc)
					rc = rules_quote_item(&b, val->item);
				if (!rc && b.len > RULES_COND_MAX)
					rc = sf_ruleset_fail(
					    rs, r->loc, -E2BIG,
					    "rule '%s': condition with exceptions too long",
					    r->name);
				continue;
			}
			if (!val->is_list || val->n != x->fields.n) {
				rc = sf_ruleset_fail(
				    rs, x->loc, -EINVAL,
				    "rule '%s': exception '%s': each value must be a "
				    "list as long as fields (%u)",
				    r->name, x->name, x->fields.n);
				break;
			}
			rc = sf_buf_append(&b, v ? " or (" : "(", v ? 5 : 1);
			for (uint32_t k = 0; !rc && k < x->fields.n; k++) {
				const struct rl_exval *it = &val->items[k];
				const char *op = x->comps.items[k].item;
				rc = sf_buf_appendf(&b, "%s%s %s ", k ? " and " : "",
						    x->fields.items[k].item, op);
				if (rc)
					break;
				if (it->is_list) {
					rc = sf_buf_append(&b, "(", 1);
					for (uint32_t j = 0; !rc && j < it->n; j++) {
						if (it->items[j].is_list) {
							rc = sf_ruleset_fail(
							    rs, x->loc, -EINVAL,
							    "rule '%s': exception '%s': "
							    "values nested too deeply",
							    r->name, x->name);
							break;
						}
						if (j)
							rc = sf_buf_append(&b, ", ", 2);
						if (!rc)
							rc =
							    rules_quote_item(&b, it->items[j].item);
					}
					if (!rc)
						rc = sf_buf_append(&b, ")", 1);
				} else if (sf_cond_op_is_list(op) && it->item[0] != '(') {
					rc = sf_buf_appendf(&b, "(%s)", it->item);
				} else {
					rc = rules_quote_item(&b, it->item);
				}
			}
			if (!rc)
				rc = sf_buf_append(&b, ")", 1);
			if (!rc && b.len > RULES_COND_MAX)
				rc = sf_ruleset_fail(
				    rs, r->loc, -E2BIG,
				    "rule '%s': condition with exceptions too long", r->name);
		}
		if (!rc && !x->fields.is_list)
			rc = sf_buf_append(&b, ")", 1);
		if (!rc)
			rc = sf_buf_append(&b, ")", 1);
		if (!rc && b.len > RULES_COND_MAX)
			rc = sf_ruleset_fail(rs, r->loc, -E2BIG,
					     "rule '%s': condition with exceptions too long",
					     r->name);
	}
	if (rc) {
		if (rc == -ENOMEM || rc == -EOVERFLOW)
			rc = sf_ruleset_nomem(rs);
		goto out;
	}
	r->full_cond = sf_arena_strndup(&rs->arena, b.data, b.len);
	if (!r->full_cond)
		rc = sf_ruleset_nomem(rs);
out:
	sf_buf_free(&b);
	return rc;
}
