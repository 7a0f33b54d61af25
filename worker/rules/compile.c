/* compile — see compile.h. */
#include "compile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "arena.h"
#include "cond_lex.h"
#include "cond_parse.h"
#include "evttypes.h"
#include "exceptions.h"
#include "output.h"
#include "sha256.h"
#include "strmap.h"
#include "util.h"

#define RULES_LIST_MAX 100000u /* items in one expanded list */

/* Notes the Falco fields the sensor cannot know that conditions use
 * (scanfarm-rules check --explain). */
static void rules_env_field(void *arg, const struct sf_field *f)
{
	struct sf_ruleset *rs = arg;
	unsigned k = f->id >= SF_FIELD_ABSENT ? f->id - SF_FIELD_ABSENT : 0;
	if (f->id >= SF_FIELD_ABSENT && k < sizeof(rs->absent_used) * 8)
		rs->absent_used[k / 8] |= (uint8_t)(1u << (k % 8));
}

static int rules_macro_compile(struct sf_ruleset *rs, struct rl_macro *m);

/* Expands list l: items naming other lists are replaced by their items,
 * quoted items are unquoted; a list that (indirectly) names itself keeps
 * the name as a plain item. */
static int rules_list_expand(struct sf_ruleset *rs, struct rl_list *l)
{
	if (l->state == 2)
		return 0;
	l->state = 1;
	rs->list_depth++;
	int rc = 0;
	struct sf_str *out = NULL;
	size_t n = 0, cap = 0;
	for (uint32_t i = 0; i < l->n; i++) {
		const char *it = l->items[i];
		size_t len = strlen(it);
		struct sf_str one = {it, len};
		const struct sf_str *add = &one;
		size_t nadd = 1;
		struct rl_list *ref = NULL;
		if (len >= 2 && (it[0] == '"' || it[0] == '\'') && it[len - 1] == it[0]) {
			struct sf_str u;
			rc = sf_cond_unquote(&rs->arena, it, len, &u);
			if (rc == -ENOMEM)
				goto out;
			if (rc == 0)
				one = u;
			rc = 0;
		} else {
			ref = sf_strmap_get(&rs->list_map, it, len);
		}
		if (ref && ref->state != 1 && rs->list_depth < SF_COND_MAX_DEPTH) {
			rc = rules_list_expand(rs, ref);
			if (rc)
				goto out;
			add = ref->exp;
			nadd = ref->nexp;
		}
		if (n + nadd > RULES_LIST_MAX) {
			rc = -E2BIG;
			goto out;
		}
		if (n + nadd > cap) {
			size_t ncap = cap ? cap : 16;
			while (ncap < n + nadd)
				ncap *= 2;
			struct sf_str *no = realloc(out, ncap * sizeof(*no));
			if (!no) {
				rc = -ENOMEM;
				goto out;
			}
			out = no;
			cap = ncap;
		}
		memcpy(out + n, add, nadd * sizeof(*add));
		n += nadd;
	}
	l->exp = sf_arena_calloc(&rs->arena, n ? n : 1, sizeof(*l->exp));
	if (!l->exp) {
		rc = -ENOMEM;
		goto out;
	}
	if (n)
		memcpy(l->exp, out, n * sizeof(*out));
	l->nexp = n;
	l->state = 2;
out:
	if (rc)
		l->state = 0;
	rs->list_depth--;
	free(out);
	return rc;
}

static int rules_env_list(void *arg, const char *name, size_t len, const struct sf_str **items,
			  size_t *n)
{
	struct sf_ruleset *rs = arg;
	struct rl_list *l = sf_strmap_get(&rs->list_map, name, len);
	if (!l)
		return -ENOENT;
	int rc = rules_list_expand(rs, l);
	if (rc)
		return rc;
	*items = l->exp;
	*n = l->nexp;
	return 0;
}

static int rules_env_macro(void *arg, const char *name, size_t len, const struct sf_cnode **out,
			   struct sf_cond_err *err)
{
	struct sf_ruleset *rs = arg;
	struct rl_macro *m = sf_strmap_get(&rs->macro_map, name, len);
	if (!m)
		return -ENOENT;
	if (m->state == RL_MACRO_BUSY || rs->macro_depth >= SF_COND_MAX_DEPTH) {
		err->kind = SF_CERR_MACRO;
		err->located = true;
		snprintf(err->msg, sizeof(err->msg), "%s:%u: macro '%s' %s", rs->files[m->loc.file],
			 m->loc.line, m->name,
			 m->state == RL_MACRO_BUSY ? "refers to itself"
						   : "nests macros too deeply");
		return -EINVAL;
	}
	if (m->state == RL_MACRO_NEW)
		rules_macro_compile(rs, m);
	if (m->state != RL_MACRO_OK) {
		err->kind = m->errkind;
		err->located = true;
		snprintf(err->msg, sizeof(err->msg), "%s", m->errmsg ? m->errmsg : "out of memory");
		return m->errkind == SF_CERR_NOMEM ? -ENOMEM : -EINVAL;
	}
	*out = m->node;
	return 0;
}

/* The file line a condition error points at: literal blocks keep their
 * lines, other scalars are reported at their first line. */
static uint32_t rules_cond_line(struct rl_loc loc, int style, const struct sf_cond_err *e)
{
	if (style == YAML_LITERAL_SCALAR_STYLE)
		return loc.line + (e->line ? e->line : 1);
	if (style == YAML_FOLDED_SCALAR_STYLE)
		return loc.line + 1;
	return loc.line;
}

static int rules_macro_compile(struct sf_ruleset *rs, struct rl_macro *m)
{
	struct sf_cond_env env = {&rs->arena, rs, rules_env_list, rules_env_macro, rules_env_field};
	struct sf_cond_err err;
	m->state = RL_MACRO_BUSY;
	rs->macro_depth++;
	int rc = sf_cond_compile(m->cond, &env, &m->node, &err);
	rs->macro_depth--;
	if (!rc) {
		m->state = RL_MACRO_OK;
		/* A macro is evaluated once per event however many rules use it
		 * (its root may be another macro's: then they share a slot). */
		struct sf_cnode *root = (struct sf_cnode *)m->node;
		if (!root->memo && rs->nmemo + 1 < SF_RULES_MEMO)
			root->memo = (uint16_t)++rs->nmemo;
		return 0;
	}
	m->state = RL_MACRO_FAILED;
	m->errkind = err.kind;
	char msg[768];
	if (err.located)
		snprintf(msg, sizeof(msg), "%s", err.msg);
	else
		snprintf(msg, sizeof(msg), "%s:%u: macro '%s': %s", rs->files[m->cond_loc.file],
			 rules_cond_line(m->cond_loc, m->cond_style, &err), m->name, err.msg);
	m->errmsg = sf_arena_strdup(&rs->arena, msg);
	return rc;
}

static int rules_compile_rule(struct sf_ruleset *rs, struct sf_rule *r)
{
	int rc = sf_exceptions_cond(rs, r);
	if (rc)
		return rc;
	struct sf_cond_env env = {&rs->arena, rs, rules_env_list, rules_env_macro, rules_env_field};
	struct sf_cond_err err;
	rc = sf_cond_compile(r->full_cond, &env, &r->node, &err);
	if (rc) {
		if (err.kind == SF_CERR_FIELD && r->skip_unknown) {
			r->skipped = true;
			sf_ruleset_warn(rs, "rule '%s' skipped (skip-if-unknown-filter): %s",
					r->name, err.msg);
			return 0;
		}
		if (rc == -ENOMEM || err.kind == SF_CERR_NOMEM)
			return sf_ruleset_nomem(rs);
		struct rl_loc none = {UINT32_MAX, 0};
		if (err.located)
			return sf_ruleset_fail(rs, none, -EINVAL, "%s (used by rule '%s')", err.msg,
					       r->name);
		struct rl_loc at = r->cond_loc;
		at.line = rules_cond_line(r->cond_loc, r->cond_style, &err);
		return sf_ruleset_fail(rs, at, -EINVAL, "rule '%s': condition: %s", r->name,
				       err.msg);
	}
	char why[160];
	rc = sf_output_compile(rs, r, why, sizeof(why));
	if (rc == -ENOENT && r->skip_unknown) {
		r->skipped = true;
		sf_ruleset_warn(rs, "rule '%s' skipped (skip-if-unknown-filter): output: %s",
				r->name, why);
		return 0;
	}
	if (rc == -ENOENT)
		return sf_ruleset_fail(rs, r->output_loc, -EINVAL, "rule '%s': output: %s", r->name,
				       why);
	return rc ? sf_ruleset_nomem(rs) : 0;
}

int sf_compile_ruleset(struct sf_ruleset *rs)
{
	int rc;
	/* Macros first, so that a broken one is reported at its own line even
	 * when unused; unknown fields and bad values in a macro only matter if
	 * a rule uses it (like Falco, which checks fields per rule). */
	for (uint32_t i = 0; i < rs->nmacros; i++) {
		struct rl_macro *m = rs->macros[i];
		if (m->state == RL_MACRO_NEW)
			rules_macro_compile(rs, m);
		if (m->state == RL_MACRO_FAILED &&
		    (m->errkind == SF_CERR_SYNTAX || m->errkind == SF_CERR_MACRO ||
		     m->errkind == SF_CERR_NOMEM)) {
			struct rl_loc none = {UINT32_MAX, 0};
			if (m->errkind == SF_CERR_NOMEM || !m->errmsg)
				return sf_ruleset_nomem(rs);
			return sf_ruleset_fail(rs, none, -EINVAL, "%s", m->errmsg);
		}
	}
	rs->ours = sf_arena_calloc(&rs->arena, rs->nrules ? rs->nrules : 1, sizeof(*rs->ours));
	if (!rs->ours)
		return sf_ruleset_nomem(rs);
	for (uint32_t i = 0; i < rs->nrules; i++) {
		struct sf_rule *r = rs->rules[i];
		if (!r->ours) {
			sf_ruleset_warn(rs, "rule '%s' skipped: source '%s' is not syscall",
					r->name, r->source);
			continue;
		}
		rc = rules_compile_rule(rs, r);
		if (rc)
			return rc;
		if (r->skipped)
			continue;
		rs->ours[rs->nours++] = r;
		if (r->enabled)
			rs->nenabled++;
	}
	rc = sf_evttypes_index(rs);
	if (rc)
		return rc;
	if (sf_sha256_final(&rs->sha, rs->digest))
		return sf_ruleset_nomem(rs);
	rs->warnings =
	    sf_arena_strndup(&rs->arena, rs->warn.data ? rs->warn.data : "", rs->warn.len);
	if (!rs->warnings)
		return sf_ruleset_nomem(rs);
	sf_buf_free(&rs->warn);
	return 0;
}
