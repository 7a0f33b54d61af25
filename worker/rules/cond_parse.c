/* cond_parse — see cond_parse.h. */
#include "cond_parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cond_check.h"
#include "cond_lex.h"

#define COND_PARSE_DEPTH 600 /* parser recursion: about 200 nested parentheses */

static int cond_or(struct cond_p *p, const struct sf_cnode **out);

/* An AND/OR node over kids (n > 1), or the only kid. */
static int cond_join(struct cond_p *p, int kind, const struct sf_cnode **kids, size_t n,
		     const struct sf_cnode **out)
{
	if (n == 1) {
		*out = kids[0];
		return 0;
	}
	struct sf_cnode *j = sf_lex_node(p, kind);
	if (!j)
		return sf_lex_nomem(p);
	j->u.kids = sf_arena_calloc(p->env->arena, n, sizeof(*j->u.kids));
	if (!j->u.kids)
		return sf_lex_nomem(p);
	unsigned depth = 0;
	for (size_t k = 0; k < n; k++) {
		j->u.kids[k] = (struct sf_cnode *)kids[k];
		if (kids[k]->depth > depth)
			depth = kids[k]->depth;
	}
	if (depth + 1 > SF_COND_MAX_DEPTH)
		return sf_lex_fail(p, SF_CERR_SEMANTIC, "condition nested too deeply");
	j->n = (uint32_t)n;
	j->depth = (uint16_t)(depth + 1);
	*out = j;
	return 0;
}

static int cond_not(struct cond_p *p, const struct sf_cnode *kid, const struct sf_cnode **out)
{
	if (kid->depth + 1 > SF_COND_MAX_DEPTH)
		return sf_lex_fail(p, SF_CERR_SEMANTIC, "condition nested too deeply");
	struct sf_cnode *n = sf_lex_node(p, SF_CN_NOT);
	if (!n)
		return sf_lex_nomem(p);
	n->u.kids = sf_arena_calloc(p->env->arena, 1, sizeof(*n->u.kids));
	if (!n->u.kids)
		return sf_lex_nomem(p);
	n->u.kids[0] = (struct sf_cnode *)kid;
	n->n = 1;
	n->depth = (uint16_t)(kid->depth + 1);
	*out = n;
	return 0;
}

/* After a '(' was consumed: Expr ')'. */
static int cond_embedded(struct cond_p *p, const struct sf_cnode **out)
{
	sf_lex_blank(p);
	int rc = cond_or(p, out);
	if (rc)
		return rc;
	sf_lex_blank(p);
	if (sf_lex_at(p, 0) != ')')
		return sf_lex_fail(p, SF_CERR_SYNTAX, "expected ')'");
	sf_lex_adv(p, 1);
	return 0;
}

static int cond_check(struct cond_p *p, const struct sf_cnode **out)
{
	if (++p->depth > COND_PARSE_DEPTH)
		return sf_lex_fail(p, SF_CERR_SYNTAX, "condition nested too deeply");
	int rc;
	sf_lex_blank(p);
	if (sf_lex_at(p, 0) == '(') {
		sf_lex_adv(p, 1);
		rc = cond_embedded(p, out);
		goto out;
	}
	size_t n = sf_lex_fieldname_len(p);
	if (n) {
		rc = sf_cond_field_check(p, n, out);
		goto out;
	}
	if (sf_lex_transformer_follows(p)) {
		rc = sf_lex_fail(p, SF_CERR_SYNTAX, "field transformers are not supported");
		goto out;
	}
	n = sf_lex_ident_len(p, 0);
	if (n) {
		struct sf_cond_err merr;
		memset(&merr, 0, sizeof(merr));
		rc = p->env->macro(p->env->arg, p->s + p->i, n, out, &merr);
		if (rc == -ENOENT) {
			rc = sf_lex_fail(p, SF_CERR_MACRO, "undefined macro '%.*s'", (int)n,
					 p->s + p->i);
		} else if (rc) {
			if (!p->err->kind)
				*p->err = merr;
			if (!p->err->kind)
				p->err->kind = SF_CERR_NOMEM;
			rc = rc == -ENOMEM ? -ENOMEM : -EINVAL;
		} else if ((*out)->depth > SF_COND_MAX_DEPTH) {
			rc = sf_lex_fail(p, SF_CERR_SEMANTIC, "condition nested too deeply");
		}
		if (!rc)
			sf_lex_adv(p, n);
		goto out;
	}
	rc = sf_lex_fail(p, SF_CERR_SYNTAX, "expected '(', a field check, or a macro name");
out:
	p->depth--;
	return rc;
}

static int cond_not_expr(struct cond_p *p, const struct sf_cnode **out)
{
	bool neg = false;
	sf_lex_blank(p);
	for (;;) {
		if (sf_lex_starts(p, "not") &&
		    (isspace(sf_lex_at(p, 3)) || sf_lex_at(p, 3) == '\b')) {
			neg = !neg;
			sf_lex_adv(p, 3);
			sf_lex_blank(p);
			continue;
		}
		break;
	}
	int rc;
	if (sf_lex_starts(p, "not(")) {
		neg = !neg;
		sf_lex_adv(p, 4);
		if (++p->depth > COND_PARSE_DEPTH)
			return sf_lex_fail(p, SF_CERR_SYNTAX, "condition nested too deeply");
		rc = cond_embedded(p, out);
		p->depth--;
	} else {
		rc = cond_check(p, out);
	}
	if (rc || !neg)
		return rc;
	return cond_not(p, *out, out);
}

/* and/or lists: kind SF_CN_AND over `not` expressions, SF_CN_OR over `and`. */
static int cond_list(struct cond_p *p, int kind, const struct sf_cnode **out)
{
	const char *kw = kind == SF_CN_AND ? "and" : "or";
	size_t kwl = strlen(kw);
	const struct sf_cnode **kids = NULL;
	size_t n = 0, cap = 0;
	int rc;
	if (++p->depth > COND_PARSE_DEPTH) {
		rc = sf_lex_fail(p, SF_CERR_SYNTAX, "condition nested too deeply");
		goto out;
	}
	sf_lex_blank(p);
	bool direct = false; /* "and(" / "or(": a parenthesised operand, as in Falco */
	for (;;) {
		const struct sf_cnode *kid;
		if (direct) {
			sf_lex_adv(p, 1);
			rc = cond_embedded(p, &kid);
		} else {
			rc = kind == SF_CN_AND ? cond_not_expr(p, &kid)
					       : cond_list(p, SF_CN_AND, &kid);
		}
		if (rc)
			goto out;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			const struct sf_cnode **nk = realloc(kids, ncap * sizeof(*nk));
			if (!nk) {
				rc = sf_lex_nomem(p);
				goto out;
			}
			kids = nk;
			cap = ncap;
		}
		kids[n++] = kid;
		sf_lex_blank(p);
		if (!sf_lex_starts(p, kw))
			break;
		int after = sf_lex_at(p, kwl);
		if (sf_lex_is_ident(after) || after == '.')
			break; /* an identifier that starts with and/or: left to the caller */
		sf_lex_adv(p, kwl);
		direct = !sf_lex_blank(p);
		if (direct && sf_lex_at(p, 0) != '(') {
			rc = sf_lex_fail(p, SF_CERR_SYNTAX, "expected a blank or '(' after '%s'",
					 kw);
			goto out;
		}
	}
	rc = cond_join(p, kind, kids, n, out);
out:
	free(kids);
	p->depth--;
	return rc;
}

static int cond_or(struct cond_p *p, const struct sf_cnode **out)
{
	return cond_list(p, SF_CN_OR, out);
}

int sf_cond_compile(const char *text, const struct sf_cond_env *env, const struct sf_cnode **out,
		    struct sf_cond_err *err)
{
	struct cond_p p = {
	    .s = text, .len = strlen(text), .line = 1, .col = 1, .env = env, .err = err};
	memset(err, 0, sizeof(*err));
	sf_lex_blank(&p);
	if (p.i == p.len)
		return sf_lex_fail(&p, SF_CERR_SYNTAX, "empty condition");
	int rc = cond_or(&p, out);
	if (rc)
		return rc;
	sf_lex_blank(&p);
	if (p.i != p.len)
		return sf_lex_fail(&p, SF_CERR_SYNTAX,
				   "unexpected token, expecting 'and', 'or' or the end");
	return 0;
}
