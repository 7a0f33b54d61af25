/* cond_check — see cond_check.h. */
#include "cond_check.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cond_eval.h"
#include "fields.h"

/* ---- operators -------------------------------------------------------- */

struct cond_opname {
	const char *name;
	uint8_t op;
};

/* Word operators; the symbolic ones are matched by hand. */
static const struct cond_opname cond_word_ops[] = {
    {"glob", SF_OP_GLOB},
    {"iglob", SF_OP_IGLOB},
    {"contains", SF_OP_CONTAINS},
    {"icontains", SF_OP_ICONTAINS},
    {"bcontains", SF_OP_BCONTAINS},
    {"startswith", SF_OP_STARTSWITH},
    {"bstartswith", SF_OP_BSTARTSWITH},
    {"endswith", SF_OP_ENDSWITH},
    {"regex", SF_OP_REGEX},
};

static const struct cond_opname cond_list_ops[] = {
    {"intersects", SF_OP_INTERSECTS},
    {"in", SF_OP_IN},
    {"pmatch", SF_OP_PMATCH},
};

static const char *cond_opstr(int op)
{
	switch (op) {
	case SF_OP_EQ:
		return "=";
	case SF_OP_NE:
		return "!=";
	case SF_OP_LT:
		return "<";
	case SF_OP_LE:
		return "<=";
	case SF_OP_GT:
		return ">";
	case SF_OP_GE:
		return ">=";
	case SF_OP_EXISTS:
		return "exists";
	default:
		break;
	}
	for (size_t i = 0; i < sizeof(cond_word_ops) / sizeof(cond_word_ops[0]); i++)
		if (cond_word_ops[i].op == op)
			return cond_word_ops[i].name;
	for (size_t i = 0; i < sizeof(cond_list_ops) / sizeof(cond_list_ops[0]); i++)
		if (cond_list_ops[i].op == op)
			return cond_list_ops[i].name;
	return "?";
}

/* Operator name to enum, 0 when unknown. */
static int cond_op_lookup(const char *s)
{
	static const struct cond_opname sym[] = {
	    {"=", SF_OP_EQ},  {"==", SF_OP_EQ}, {"!=", SF_OP_NE}, {"<", SF_OP_LT},
	    {"<=", SF_OP_LE}, {">", SF_OP_GT},  {">=", SF_OP_GE}, {"exists", SF_OP_EXISTS}};
	for (size_t i = 0; i < sizeof(sym) / sizeof(sym[0]); i++)
		if (strcmp(sym[i].name, s) == 0)
			return sym[i].op;
	for (size_t i = 0; i < sizeof(cond_word_ops) / sizeof(cond_word_ops[0]); i++)
		if (strcmp(cond_word_ops[i].name, s) == 0)
			return cond_word_ops[i].op;
	for (size_t i = 0; i < sizeof(cond_list_ops) / sizeof(cond_list_ops[0]); i++)
		if (strcmp(cond_list_ops[i].name, s) == 0)
			return cond_list_ops[i].op;
	return 0;
}

int sf_cond_check_op(const char *op, char *msg, size_t msglen)
{
	if (cond_op_lookup(op))
		return 0;
	snprintf(msg, msglen, "'%s' is not a supported comparison operator", op);
	return -EINVAL;
}

bool sf_cond_op_is_list(const char *op)
{
	int o = cond_op_lookup(op);
	return o == SF_OP_IN || o == SF_OP_INTERSECTS || o == SF_OP_PMATCH;
}

/* ---- values ---------------------------------------------------------- */

/* '(' item (',' item)* ')' or a list name; items that name lists expand. */
static int cond_list_value(struct cond_p *p, struct cond_vals *vs)
{
	sf_lex_blank(p);
	if (sf_lex_at(p, 0) != '(') {
		size_t n = sf_lex_ident_len(p, 0);
		if (!n)
			return sf_lex_fail(p, SF_CERR_SYNTAX, "expected a list or a list name");
		const struct sf_str *items;
		size_t nitems;
		int rc = p->env->list(p->env->arg, p->s + p->i, n, &items, &nitems);
		if (rc == -ENOENT)
			return sf_lex_fail(p, SF_CERR_SEMANTIC, "undefined list '%.*s'", (int)n,
					   p->s + p->i);
		if (rc)
			return sf_lex_nomem(p);
		for (size_t k = 0; k < nitems; k++)
			if (sf_lex_vals_push(vs, items[k].s, items[k].len))
				return sf_lex_nomem(p);
		sf_lex_adv(p, n);
		return 0;
	}
	sf_lex_adv(p, 1);
	sf_lex_blank(p);
	if (sf_lex_at(p, 0) == ')') {
		sf_lex_adv(p, 1);
		return 0;
	}
	for (;;) {
		struct sf_str v;
		bool quoted;
		int rc = sf_lex_value(p, &v, &quoted);
		if (rc)
			return rc;
		const struct sf_str *items = NULL;
		size_t nitems = 0;
		rc = quoted ? -ENOENT : p->env->list(p->env->arg, v.s, v.len, &items, &nitems);
		if (rc == 0) {
			for (size_t k = 0; k < nitems; k++)
				if (sf_lex_vals_push(vs, items[k].s, items[k].len))
					return sf_lex_nomem(p);
		} else if (rc == -ENOENT) {
			if (!quoted) { /* bare text: copy it out of the condition */
				v.s = sf_arena_strndup(p->env->arena, v.s, v.len);
				if (!v.s)
					return sf_lex_nomem(p);
			}
			if (sf_lex_vals_push(vs, v.s, v.len))
				return sf_lex_nomem(p);
		} else {
			return sf_lex_nomem(p);
		}
		sf_lex_blank(p);
		if (sf_lex_at(p, 0) == ',') {
			sf_lex_adv(p, 1);
			sf_lex_blank(p);
			continue;
		}
		if (sf_lex_at(p, 0) == ')') {
			sf_lex_adv(p, 1);
			return 0;
		}
		return sf_lex_fail(p, SF_CERR_SYNTAX, "expected ',' or ')' in a list");
	}
}

/* ---- compiling one check ---------------------------------------------- */

static int cond_strcmp_q(const void *a, const void *b)
{
	return sf_cond_strcmp(a, b);
}

static int cond_numcmp_q(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static bool cond_op_ok(int ftype, int op)
{
	if (op == SF_OP_EXISTS || op == SF_OP_EQ || op == SF_OP_NE || op == SF_OP_IN ||
	    op == SF_OP_INTERSECTS)
		return true;
	switch (ftype) {
	case SF_FT_STR:
		/* bcontains / bstartswith: the value in hex, matched as bytes */
		return op != SF_OP_REGEX;
	case SF_FT_NUM:
		return op == SF_OP_LT || op == SF_OP_LE || op == SF_OP_GT || op == SF_OP_GE;
	default:
		return false;
	}
}

static const char *cond_ftype_name(int ftype)
{
	switch (ftype) {
	case SF_FT_STR:
		return "string";
	case SF_FT_NUM:
		return "numeric";
	case SF_FT_BOOL:
		return "boolean";
	default:
		return "ip address and network";
	}
}

/* Parses a value for a numeric field: decimal or 0x hex, in int64. */
static bool cond_parse_int(const struct sf_str *v, int64_t *out)
{
	char tmp[32];
	if (v->len == 0 || v->len >= sizeof(tmp))
		return false;
	memcpy(tmp, v->s, v->len);
	tmp[v->len] = '\0';
	char *end;
	errno = 0;
	bool hex = v->len > 2 && tmp[0] == '0' && (tmp[1] == 'x' || tmp[1] == 'X');
	long long n = strtoll(tmp, &end, hex ? 16 : 10);
	if (errno || *end || end == tmp)
		return false;
	*out = n;
	return true;
}

/* bcontains / bstartswith take their value as hex digits ("cafebabe"):
 * the bytes go into n->u.str. */
static int cond_rhs_hex(struct cond_p *p, struct sf_cnode *n, const struct sf_str *v)
{
	if (v->len == 0 || v->len % 2)
		return sf_lex_fail(p, SF_CERR_SEMANTIC, "'%.*s' is not an even number of hex digits",
				   (int)(v->len > 64 ? 64 : v->len), v->s);
	char *d = sf_arena_calloc(p->env->arena, v->len / 2 + 1, 1);
	if (!d)
		return sf_lex_nomem(p);
	for (size_t k = 0; k < v->len; k += 2) {
		char hx[3] = {v->s[k], v->s[k + 1], 0}, *end;
		unsigned long b = strtoul(hx, &end, 16);
		if (*end || !isxdigit((unsigned char)hx[0]))
			return sf_lex_fail(p, SF_CERR_SEMANTIC, "'%.*s' is not hex",
					   (int)(v->len > 64 ? 64 : v->len), v->s);
		d[k / 2] = (char)b;
	}
	n->u.str.s = d;
	n->u.str.len = v->len / 2;
	return 0;
}

/* Builds the right-hand side of a check into n. */
static int cond_rhs(struct cond_p *p, struct sf_cnode *n, struct cond_vals *vs)
{
	struct sf_arena *a = p->env->arena;
	size_t cnt = vs->n;
	n->n = (uint32_t)cnt;
	if (n->op == SF_OP_EXISTS)
		return 0;
	if (cnt > UINT32_MAX)
		return sf_lex_fail(p, SF_CERR_SEMANTIC, "list too long");
	switch (n->ftype) {
	case SF_FT_STR:
		if (n->op == SF_OP_IN || n->op == SF_OP_INTERSECTS || n->op == SF_OP_PMATCH) {
			struct sf_str *s = sf_arena_calloc(a, cnt ? cnt : 1, sizeof(*s));
			if (!s)
				return sf_lex_nomem(p);
			for (size_t k = 0; k < cnt; k++) {
				s[k] = vs->v[k];
				/* pmatch: "/etc/" and "/etc" are the same prefix */
				while (n->op == SF_OP_PMATCH && s[k].len > 1 &&
				       s[k].s[s[k].len - 1] == '/')
					s[k].len--;
			}
			qsort(s, cnt, sizeof(*s), cond_strcmp_q);
			size_t u = 0;
			for (size_t k = 0; k < cnt; k++)
				if (u == 0 || sf_cond_strcmp(&s[u - 1], &s[k]) != 0)
					s[u++] = s[k];
			n->u.strs = s;
			n->n = (uint32_t)u;
			return 0;
		}
		if (n->op == SF_OP_BCONTAINS || n->op == SF_OP_BSTARTSWITH)
			return cond_rhs_hex(p, n, &vs->v[0]);
		{
			char *d = sf_arena_strndup(a, vs->v[0].s, vs->v[0].len);
			if (!d)
				return sf_lex_nomem(p);
			if (n->op == SF_OP_ICONTAINS || n->op == SF_OP_IGLOB)
				for (size_t k = 0; k < vs->v[0].len; k++)
					d[k] = (char)tolower((unsigned char)d[k]);
			n->u.str.s = d;
			n->u.str.len = vs->v[0].len;
		}
		return 0;
	case SF_FT_NUM:
	case SF_FT_BOOL: {
		int64_t *nums = sf_arena_calloc(a, cnt ? cnt : 1, sizeof(*nums));
		if (!nums)
			return sf_lex_nomem(p);
		for (size_t k = 0; k < cnt; k++) {
			const struct sf_str *v = &vs->v[k];
			bool ok;
			if (n->ftype == SF_FT_BOOL) {
				ok = true;
				if (v->len == 4 && memcmp(v->s, "true", 4) == 0)
					nums[k] = 1;
				else if (v->len == 5 && memcmp(v->s, "false", 5) == 0)
					nums[k] = 0;
				else
					ok = false;
			} else {
				ok = cond_parse_int(v, &nums[k]);
			}
			if (!ok)
				return sf_lex_fail(
				    p, SF_CERR_SEMANTIC, "'%.*s' is not a valid %s value for %s",
				    (int)(v->len > 64 ? 64 : v->len), v->s,
				    n->ftype == SF_FT_BOOL ? "boolean (true/false)" : "numeric",
				    sf_field_name(&n->field));
		}
		if (n->op == SF_OP_IN || n->op == SF_OP_INTERSECTS) {
			qsort(nums, cnt, sizeof(*nums), cond_numcmp_q);
			size_t u = 0;
			for (size_t k = 0; k < cnt; k++)
				if (u == 0 || nums[u - 1] != nums[k])
					nums[u++] = nums[k];
			n->n = (uint32_t)u;
		}
		n->u.nums = nums;
		return 0;
	}
	default: {
		struct sf_ip *ips = sf_arena_calloc(a, cnt ? cnt : 1, sizeof(*ips));
		if (!ips)
			return sf_lex_nomem(p);
		for (size_t k = 0; k < cnt; k++) {
			const struct sf_str *v = &vs->v[k];
			if (sf_ip_parse(v->s, v->len, n->ftype == SF_FT_NET, &ips[k]))
				return sf_lex_fail(
				    p, SF_CERR_SEMANTIC, "'%.*s' is not a valid %s for %s",
				    (int)(v->len > 64 ? 64 : v->len), v->s,
				    n->ftype == SF_FT_NET ? "network (a.b.c.d/n)" : "IP address",
				    sf_field_name(&n->field));
		}
		n->u.ips = ips;
		return 0;
	}
	}
}

/* The field reference at the cursor: namelen bytes of name, then an
 * optional [arg] (quoted, or anything but brackets/quotes/blanks), resolved
 * into *f; *start and *flen say where it is in the text. */
static int cond_field_ref(struct cond_p *p, size_t namelen, struct sf_field *f, size_t *start,
			  size_t *flen)
{
	int rc;
	unsigned fline = p->line, fcol = p->col;
	*start = p->i;
	sf_lex_adv(p, namelen);
	if (sf_lex_at(p, 0) == '[') {
		size_t j = 1;
		if (sf_lex_at(p, 1) == '"' || sf_lex_at(p, 1) == '\'') {
			size_t q = sf_lex_quoted_len(p, 1);
			if (!q)
				return sf_lex_fail(p, SF_CERR_SYNTAX,
						   "unterminated field argument");
			j += q;
		} else {
			while (sf_lex_at(p, j) && !strchr("[]\"'", sf_lex_at(p, j)) &&
			       !isspace(sf_lex_at(p, j)))
				j++;
		}
		if (sf_lex_at(p, j) != ']')
			return sf_lex_fail(p, SF_CERR_SYNTAX,
					   "expected ']' after the field argument");
		sf_lex_adv(p, j + 1);
	}
	*flen = p->i - *start;
	rc = sf_field_parse(p->s + *start, *flen, f);
	if (rc) {
		p->line = fline;
		p->col = fcol;
		size_t save = p->i;
		p->i = *start;
		rc = sf_lex_fail(p, rc == -ENOENT ? SF_CERR_FIELD : SF_CERR_SEMANTIC,
				 rc == -ENOENT ? "unknown field '%.*s'"
					       : "bad argument in field '%.*s'",
				 (int)(*flen > 80 ? 80 : *flen), p->s + *start);
		p->i = save;
		return rc;
	}
	if (f->arg) {
		f->arg = sf_arena_strndup(p->env->arena, f->arg, f->arglen);
		if (!f->arg)
			return sf_lex_nomem(p);
	}
	if (p->env->field)
		p->env->field(p->env->arg, f);
	return 0;
}

/* What follows an operator. */
enum cond_operand_kind { COND_RHS_NONE, COND_RHS_NUMBER, COND_RHS_STRING, COND_RHS_LIST };

/* The operator at the cursor, consumed: enum sf_cop with *rhs saying what
 * follows it, or 0 when there is none. */
static int cond_operator(struct cond_p *p, int *rhs)
{
	int op = 0;
	*rhs = COND_RHS_NONE;
	if (sf_lex_word(p, "exists")) {
		op = SF_OP_EXISTS;
		sf_lex_adv(p, 6);
	} else if (sf_lex_starts(p, "<=") || sf_lex_starts(p, ">=")) {
		op = sf_lex_at(p, 0) == '<' ? SF_OP_LE : SF_OP_GE;
		sf_lex_adv(p, 2);
		*rhs = COND_RHS_NUMBER;
	} else if (sf_lex_at(p, 0) == '<' || sf_lex_at(p, 0) == '>') {
		op = sf_lex_at(p, 0) == '<' ? SF_OP_LT : SF_OP_GT;
		sf_lex_adv(p, 1);
		*rhs = COND_RHS_NUMBER;
	} else if (sf_lex_starts(p, "==") || sf_lex_starts(p, "!=")) {
		op = sf_lex_at(p, 0) == '=' ? SF_OP_EQ : SF_OP_NE;
		sf_lex_adv(p, 2);
		*rhs = COND_RHS_STRING;
	} else if (sf_lex_at(p, 0) == '=') {
		op = SF_OP_EQ;
		sf_lex_adv(p, 1);
		*rhs = COND_RHS_STRING;
	} else {
		for (size_t k = 0; !op && k < sizeof(cond_word_ops) / sizeof(cond_word_ops[0]);
		     k++) {
			size_t wl = strlen(cond_word_ops[k].name);
			if (sf_lex_starts(p, cond_word_ops[k].name) &&
			    (isspace(sf_lex_at(p, wl)))) {
				op = cond_word_ops[k].op;
				sf_lex_adv(p, wl);
				*rhs = COND_RHS_STRING;
			}
		}
		for (size_t k = 0; !op && k < sizeof(cond_list_ops) / sizeof(cond_list_ops[0]);
		     k++) {
			if (sf_lex_word(p, cond_list_ops[k].name)) {
				op = cond_list_ops[k].op;
				sf_lex_adv(p, strlen(cond_list_ops[k].name));
				*rhs = COND_RHS_LIST;
			}
		}
	}
	return op;
}

/* One string operand into vs; operator modifiers (oneof(...)) are refused. */
static int cond_string_operand(struct cond_p *p, struct cond_vals *vs)
{
	size_t w = sf_lex_ident_len(p, 0);
	if ((w == 5 && memcmp(p->s + p->i, "oneof", 5) == 0) ||
	    (w == 5 && memcmp(p->s + p->i, "anyof", 5) == 0) ||
	    (w == 5 && memcmp(p->s + p->i, "allof", 5) == 0)) {
		size_t save = p->i;
		unsigned sl = p->line, sc = p->col;
		sf_lex_adv(p, 5);
		sf_lex_blank(p);
		bool mod = sf_lex_at(p, 0) == '(';
		p->i = save;
		p->line = sl;
		p->col = sc;
		if (mod)
			return sf_lex_fail(
			    p, SF_CERR_SYNTAX,
			    "operator modifiers (oneof/anyof/allof) are not supported");
	}
	struct sf_str v;
	bool quoted;
	int rc = sf_lex_value(p, &v, &quoted);
	if (rc)
		return rc;
	if (sf_lex_vals_push(vs, v.s, v.len))
		return sf_lex_nomem(p);
	return 0;
}

/* The right-hand side an operator takes (enum cond_operand_kind) into vs. */
static int cond_operand(struct cond_p *p, int rhs, struct cond_vals *vs)
{
	if (rhs == COND_RHS_NUMBER) {
		struct sf_str v = {0};
		int rc = sf_lex_number(p, &v);
		if (rc)
			return rc;
		if (sf_lex_vals_push(vs, v.s, v.len))
			return sf_lex_nomem(p);
	} else if (rhs == COND_RHS_STRING) {
		return cond_string_operand(p, vs);
	} else if (rhs == COND_RHS_LIST) {
		if (sf_lex_transformer_follows(p))
			return sf_lex_fail(p, SF_CERR_SYNTAX,
					   "field transformers are not supported");
		return cond_list_value(p, vs);
	}
	return 0;
}

/* Refuses op for field f of type ftype, pointing the error at the operator
 * (opline, opcol, opstart) and leaving the cursor where it is. */
static int cond_refuse_op(struct cond_p *p, int op, int ftype, const struct sf_field *f,
			  unsigned opline, unsigned opcol, size_t opstart)
{
	int rc;
	unsigned l = p->line, c = p->col;
	p->line = opline;
	p->col = opcol;
	size_t save = p->i;
	p->i = opstart;
	if (op == SF_OP_REGEX)
		rc = sf_lex_fail(p, SF_CERR_SEMANTIC,
				 "operator 'regex' is not supported by this engine");
	else
		rc = sf_lex_fail(p, SF_CERR_SEMANTIC,
				 "operator '%s' is not supported for %s field '%s'", cond_opstr(op),
				 cond_ftype_name(ftype), sf_field_name(f));
	p->i = save;
	p->line = l;
	p->col = c;
	return rc;
}

/* FIELD, then the operator and value(s). */
int sf_cond_field_check(struct cond_p *p, size_t namelen, const struct sf_cnode **out)
{
	struct cond_vals vs = {0};
	struct sf_field f;
	size_t start = 0, flen = 0;
	int rc = cond_field_ref(p, namelen, &f, &start, &flen);
	if (rc)
		goto out;

	sf_lex_blank(p);
	unsigned opline = p->line, opcol = p->col;
	size_t opstart = p->i;
	int rhs;
	int op = cond_operator(p, &rhs);
	if (!op) {
		rc = sf_lex_fail(
		    p, SF_CERR_SYNTAX,
		    "expected an operator after '%.*s' (=, !=, <, <=, >, >=, contains, icontains, "
		    "startswith, endswith, glob, iglob, in, intersects, pmatch, exists)",
		    (int)(flen > 80 ? 80 : flen), p->s + start);
		goto out;
	}
	sf_lex_blank(p);
	rc = cond_operand(p, rhs, &vs);
	if (rc)
		goto out;

	int ftype = sf_field_type(&f);
	if (!cond_op_ok(ftype, op)) {
		rc = cond_refuse_op(p, op, ftype, &f, opline, opcol, opstart);
		goto out;
	}
	struct sf_cnode *n = sf_lex_node(p, SF_CN_CMP);
	if (!n) {
		rc = sf_lex_nomem(p);
		goto out;
	}
	n->op = (uint8_t)op;
	n->ftype = (uint8_t)ftype;
	n->multi = (uint8_t)sf_field_multi(&f);
	n->field = f;
	n->depth = 1;
	rc = cond_rhs(p, n, &vs);
	if (rc)
		goto out;
	*out = n;
out:
	free(vs.v);
	return rc;
}
