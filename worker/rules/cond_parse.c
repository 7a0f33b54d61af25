/* rules_cond — see rules_cond.h. */
#include "cond.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COND_LINEAR_MAX  8   /* sets up to this size are scanned, larger ones searched */
#define COND_PARSE_DEPTH 600 /* parser recursion: about 200 nested parentheses */

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

static const char *const cond_transformers[] = {"tolower", "toupper", "b64",    "basename", "len",
						"join",    "concat",  "getopt", "val"};

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

/* ---- quoted strings --------------------------------------------------- */

int sf_cond_unquote(struct sf_arena *a, const char *s, size_t len, struct sf_str *out)
{
	if (len < 2 || (s[0] != '"' && s[0] != '\'') || s[len - 1] != s[0])
		return -EINVAL;
	char *d = sf_arena_alloc(a, len);
	if (!d)
		return -ENOMEM;
	size_t o = 0;
	for (size_t i = 1; i < len - 1; i++) {
		if (s[i] != '\\') {
			d[o++] = s[i];
			continue;
		}
		if (++i >= len - 1)
			return -EINVAL;
		switch (s[i]) {
		case 'b':
			d[o++] = '\b';
			break;
		case 'f':
			d[o++] = '\f';
			break;
		case 'n':
			d[o++] = '\n';
			break;
		case 'r':
			d[o++] = '\r';
			break;
		case 't':
			d[o++] = '\t';
			break;
		case ' ': /* Falco's compatibility quirk: "\ " is a backslash */
		case '\\':
			d[o++] = '\\';
			break;
		case '/':
			d[o++] = '/';
			break;
		case '"':
		case '\'':
			if (s[i] != s[0])
				return -EINVAL;
			d[o++] = s[i];
			break;
		case 'x': {
			if (i + 2 >= len - 1 || !isxdigit((unsigned char)s[i + 1]) ||
			    !isxdigit((unsigned char)s[i + 2]))
				return -EINVAL;
			char hex[3] = {s[i + 1], s[i + 2], '\0'};
			d[o++] = (char)strtol(hex, NULL, 16);
			i += 2;
			break;
		}
		default:
			return -EINVAL;
		}
	}
	d[o] = '\0';
	out->s = d;
	out->len = o;
	return 0;
}

/* ---- parser ----------------------------------------------------------- */

struct cond_p {
	const char *s;
	size_t len, i;
	unsigned line, col; /* of s[i] */
	unsigned depth;
	const struct sf_cond_env *env;
	struct sf_cond_err *err;
};

/* A growable array of right-hand values used while parsing one list. */
struct cond_vals {
	struct sf_str *v;
	size_t n, cap;
};

static int cond_vals_push(struct cond_vals *vs, const char *s, size_t len)
{
	if (vs->n == vs->cap) {
		size_t cap = vs->cap ? vs->cap * 2 : 16;
		struct sf_str *nv = realloc(vs->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		vs->v = nv;
		vs->cap = cap;
	}
	vs->v[vs->n].s = s;
	vs->v[vs->n].len = len;
	vs->n++;
	return 0;
}

static bool cond_is_ident(int c)
{
	return isalnum(c) || c == '_';
}

static int cond_at(const struct cond_p *p, size_t k)
{
	return p->i + k < p->len ? (unsigned char)p->s[p->i + k] : 0;
}

static void cond_adv(struct cond_p *p, size_t n)
{
	while (n-- > 0 && p->i < p->len) {
		if (p->s[p->i] == '\n') {
			p->line++;
			p->col = 1;
		} else {
			p->col++;
		}
		p->i++;
	}
}

static bool cond_blank(struct cond_p *p)
{
	size_t start = p->i;
	while (p->i < p->len && (isspace((unsigned char)p->s[p->i]) || p->s[p->i] == '\b'))
		cond_adv(p, 1);
	return p->i != start;
}

static bool cond_starts(const struct cond_p *p, const char *lit)
{
	size_t n = strlen(lit);
	return p->len - p->i >= n && memcmp(p->s + p->i, lit, n) == 0;
}

/* A keyword followed by something that cannot continue an identifier. */
static bool cond_word(const struct cond_p *p, const char *w)
{
	return cond_starts(p, w) && !cond_is_ident(cond_at(p, strlen(w)));
}

__attribute__((format(printf, 3, 4))) static int cond_fail(struct cond_p *p, int kind,
							   const char *fmt, ...)
{
	struct sf_cond_err *e = p->err;
	if (e->kind)
		return kind == SF_CERR_NOMEM ? -ENOMEM : -EINVAL;
	e->kind = kind;
	e->line = p->line;
	e->col = p->col;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	if (kind == SF_CERR_NOMEM)
		return -ENOMEM;
	size_t used = strlen(e->msg);
	if (p->i < p->len) {
		size_t n = p->len - p->i;
		if (n > 24)
			n = 24;
		char near[32];
		size_t k;
		for (k = 0; k < n && p->s[p->i + k] != '\n'; k++)
			near[k] = p->s[p->i + k];
		near[k] = '\0';
		snprintf(e->msg + used, sizeof(e->msg) - used, " at column %u near '%s'", p->col,
			 near);
	} else {
		snprintf(e->msg + used, sizeof(e->msg) - used, " at the end of the condition");
	}
	if (p->line > 1) {
		used = strlen(e->msg);
		snprintf(e->msg + used, sizeof(e->msg) - used, " (condition line %u)", p->line);
	}
	return -EINVAL;
}

static int cond_nomem(struct cond_p *p)
{
	return cond_fail(p, SF_CERR_NOMEM, "out of memory");
}

static int cond_or(struct cond_p *p, const struct sf_cnode **out);

static struct sf_cnode *cond_node(struct cond_p *p, int kind)
{
	struct sf_cnode *n = sf_arena_alloc(p->env->arena, sizeof(*n));
	if (n)
		n->kind = (uint8_t)kind;
	return n;
}

/* An AND/OR node over kids (n > 1), or the only kid. */
static int cond_join(struct cond_p *p, int kind, const struct sf_cnode **kids, size_t n,
		     const struct sf_cnode **out)
{
	if (n == 1) {
		*out = kids[0];
		return 0;
	}
	struct sf_cnode *j = cond_node(p, kind);
	if (!j)
		return cond_nomem(p);
	j->u.kids = sf_arena_calloc(p->env->arena, n, sizeof(*j->u.kids));
	if (!j->u.kids)
		return cond_nomem(p);
	unsigned depth = 0;
	for (size_t k = 0; k < n; k++) {
		j->u.kids[k] = (struct sf_cnode *)kids[k];
		if (kids[k]->depth > depth)
			depth = kids[k]->depth;
	}
	if (depth + 1 > SF_COND_MAX_DEPTH)
		return cond_fail(p, SF_CERR_SEMANTIC, "condition nested too deeply");
	j->n = (uint32_t)n;
	j->depth = (uint16_t)(depth + 1);
	*out = j;
	return 0;
}

static int cond_not(struct cond_p *p, const struct sf_cnode *kid, const struct sf_cnode **out)
{
	if (kid->depth + 1 > SF_COND_MAX_DEPTH)
		return cond_fail(p, SF_CERR_SEMANTIC, "condition nested too deeply");
	struct sf_cnode *n = cond_node(p, SF_CN_NOT);
	if (!n)
		return cond_nomem(p);
	n->u.kids = sf_arena_calloc(p->env->arena, 1, sizeof(*n->u.kids));
	if (!n->u.kids)
		return cond_nomem(p);
	n->u.kids[0] = (struct sf_cnode *)kid;
	n->n = 1;
	n->depth = (uint16_t)(kid->depth + 1);
	*out = n;
	return 0;
}

/* After a '(' was consumed: Expr ')'. */
static int cond_embedded(struct cond_p *p, const struct sf_cnode **out)
{
	cond_blank(p);
	int rc = cond_or(p, out);
	if (rc)
		return rc;
	cond_blank(p);
	if (cond_at(p, 0) != ')')
		return cond_fail(p, SF_CERR_SYNTAX, "expected ')'");
	cond_adv(p, 1);
	return 0;
}

/* [a-zA-Z][a-zA-Z0-9_]* ; returns its length (0 when none). */
static size_t cond_ident_len(const struct cond_p *p, size_t from)
{
	size_t j = from;
	if (!isalpha(cond_at(p, j)))
		return 0;
	while (cond_is_ident(cond_at(p, j)))
		j++;
	return j - from;
}

/* A field name: identifier ('.' identifier)+ ; returns its length. */
static size_t cond_fieldname_len(const struct cond_p *p)
{
	size_t j = cond_ident_len(p, 0);
	if (!j)
		return 0;
	size_t segs = 0;
	while (cond_at(p, j) == '.') {
		size_t k = cond_ident_len(p, j + 1);
		if (!k)
			break;
		j += 1 + k;
		segs++;
	}
	return segs ? j : 0;
}

/* Length of a quoted string starting at s[i + from], 0 when unterminated. */
static size_t cond_quoted_len(const struct cond_p *p, size_t from)
{
	int q = cond_at(p, from);
	size_t j = from + 1;
	while (p->i + j < p->len) {
		int c = cond_at(p, j);
		if (c == '\\') {
			j += 2;
			continue;
		}
		if (c == q)
			return j + 1 - from;
		j++;
	}
	return 0;
}

static bool cond_bare_char(int c)
{
	return c && !isspace(c) && c != '\b' && !strchr("()\"'=,", c);
}

static bool cond_transformer_follows(const struct cond_p *p)
{
	size_t n = cond_ident_len(p, 0);
	if (!n || cond_at(p, n) != '(')
		return false;
	for (size_t k = 0; k < sizeof(cond_transformers) / sizeof(cond_transformers[0]); k++)
		if (strlen(cond_transformers[k]) == n &&
		    memcmp(p->s + p->i, cond_transformers[k], n) == 0)
			return true;
	return false;
}

/*
 * One value: a quoted string (unescaped into the arena) or a bare string
 * (pointing into the text). *quoted tells which.
 */
static int cond_value(struct cond_p *p, struct sf_str *v, bool *quoted)
{
	int c = cond_at(p, 0);
	*quoted = false;
	if (c == '"' || c == '\'') {
		size_t n = cond_quoted_len(p, 0);
		if (!n)
			return cond_fail(p, SF_CERR_SYNTAX, "unterminated string");
		int rc = sf_cond_unquote(p->env->arena, p->s + p->i, n, v);
		if (rc == -ENOMEM)
			return cond_nomem(p);
		if (rc)
			return cond_fail(p, SF_CERR_SYNTAX, "bad escape sequence in string");
		*quoted = true;
		cond_adv(p, n);
		return 0;
	}
	if (cond_transformer_follows(p))
		return cond_fail(p, SF_CERR_SYNTAX, "field transformers are not supported");
	size_t n = 0;
	while (cond_bare_char(cond_at(p, n)))
		n++;
	if (!n)
		return cond_fail(p, SF_CERR_SYNTAX, "expected a value");
	v->s = p->s + p->i;
	v->len = n;
	cond_adv(p, n);
	return 0;
}

/* A number: hex, or Falco's [+-]?[0-9]+[.]?[0-9]*([eE][+-][0-9]+)? */
static int cond_number(struct cond_p *p, struct sf_str *v)
{
	size_t j = 0;
	if (cond_at(p, 0) == '0' && (cond_at(p, 1) == 'x' || cond_at(p, 1) == 'X') &&
	    isxdigit(cond_at(p, 2))) {
		j = 2;
		while (isxdigit(cond_at(p, j)))
			j++;
	} else {
		if (cond_at(p, j) == '+' || cond_at(p, j) == '-')
			j++;
		if (!isdigit(cond_at(p, j)))
			return cond_fail(p, SF_CERR_SYNTAX, "expected a number");
		while (isdigit(cond_at(p, j)))
			j++;
		if (cond_at(p, j) == '.') {
			j++;
			while (isdigit(cond_at(p, j)))
				j++;
		}
		if ((cond_at(p, j) == 'e' || cond_at(p, j) == 'E') &&
		    (cond_at(p, j + 1) == '+' || cond_at(p, j + 1) == '-') &&
		    isdigit(cond_at(p, j + 2))) {
			j += 2;
			while (isdigit(cond_at(p, j)))
				j++;
		}
	}
	v->s = p->s + p->i;
	v->len = j;
	cond_adv(p, j);
	return 0;
}

/* '(' item (',' item)* ')' or a list name; items that name lists expand. */
static int cond_list_value(struct cond_p *p, struct cond_vals *vs)
{
	cond_blank(p);
	if (cond_at(p, 0) != '(') {
		size_t n = cond_ident_len(p, 0);
		if (!n)
			return cond_fail(p, SF_CERR_SYNTAX, "expected a list or a list name");
		const struct sf_str *items;
		size_t nitems;
		int rc = p->env->list(p->env->arg, p->s + p->i, n, &items, &nitems);
		if (rc == -ENOENT)
			return cond_fail(p, SF_CERR_SEMANTIC, "undefined list '%.*s'", (int)n,
					 p->s + p->i);
		if (rc)
			return cond_nomem(p);
		for (size_t k = 0; k < nitems; k++)
			if (cond_vals_push(vs, items[k].s, items[k].len))
				return cond_nomem(p);
		cond_adv(p, n);
		return 0;
	}
	cond_adv(p, 1);
	cond_blank(p);
	if (cond_at(p, 0) == ')') {
		cond_adv(p, 1);
		return 0;
	}
	for (;;) {
		struct sf_str v;
		bool quoted;
		int rc = cond_value(p, &v, &quoted);
		if (rc)
			return rc;
		const struct sf_str *items = NULL;
		size_t nitems = 0;
		rc = quoted ? -ENOENT : p->env->list(p->env->arg, v.s, v.len, &items, &nitems);
		if (rc == 0) {
			for (size_t k = 0; k < nitems; k++)
				if (cond_vals_push(vs, items[k].s, items[k].len))
					return cond_nomem(p);
		} else if (rc == -ENOENT) {
			if (!quoted) { /* bare text: copy it out of the condition */
				v.s = sf_arena_strndup(p->env->arena, v.s, v.len);
				if (!v.s)
					return cond_nomem(p);
			}
			if (cond_vals_push(vs, v.s, v.len))
				return cond_nomem(p);
		} else {
			return cond_nomem(p);
		}
		cond_blank(p);
		if (cond_at(p, 0) == ',') {
			cond_adv(p, 1);
			cond_blank(p);
			continue;
		}
		if (cond_at(p, 0) == ')') {
			cond_adv(p, 1);
			return 0;
		}
		return cond_fail(p, SF_CERR_SYNTAX, "expected ',' or ')' in a list");
	}
}

/* ---- compiling one check ---------------------------------------------- */

static int cond_strcmp(const struct sf_str *a, const struct sf_str *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->s, b->s, n);
	if (c)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

static int cond_strcmp_q(const void *a, const void *b)
{
	return cond_strcmp(a, b);
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
		return op != SF_OP_BCONTAINS && op != SF_OP_BSTARTSWITH && op != SF_OP_REGEX;
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

/* Builds the right-hand side of a check into n. */
static int cond_rhs(struct cond_p *p, struct sf_cnode *n, struct cond_vals *vs)
{
	struct sf_arena *a = p->env->arena;
	size_t cnt = vs->n;
	n->n = (uint32_t)cnt;
	if (n->op == SF_OP_EXISTS)
		return 0;
	if (cnt > UINT32_MAX)
		return cond_fail(p, SF_CERR_SEMANTIC, "list too long");
	switch (n->ftype) {
	case SF_FT_STR:
		if (n->op == SF_OP_IN || n->op == SF_OP_INTERSECTS || n->op == SF_OP_PMATCH) {
			struct sf_str *s = sf_arena_calloc(a, cnt ? cnt : 1, sizeof(*s));
			if (!s)
				return cond_nomem(p);
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
				if (u == 0 || cond_strcmp(&s[u - 1], &s[k]) != 0)
					s[u++] = s[k];
			n->u.strs = s;
			n->n = (uint32_t)u;
			return 0;
		}
		{
			char *d = sf_arena_strndup(a, vs->v[0].s, vs->v[0].len);
			if (!d)
				return cond_nomem(p);
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
			return cond_nomem(p);
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
				return cond_fail(
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
			return cond_nomem(p);
		for (size_t k = 0; k < cnt; k++) {
			const struct sf_str *v = &vs->v[k];
			if (sf_ip_parse(v->s, v->len, n->ftype == SF_FT_NET, &ips[k]))
				return cond_fail(
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

/* FIELD, then the operator and value(s). */
static int cond_field_check(struct cond_p *p, size_t namelen, const struct sf_cnode **out)
{
	int rc = 0;
	struct cond_vals vs = {0};
	unsigned fline = p->line, fcol = p->col;
	size_t start = p->i;
	cond_adv(p, namelen);
	if (cond_at(p, 0) == '[') { /* [arg]: quoted, or anything but brackets/quotes/blanks */
		size_t j = 1;
		if (cond_at(p, 1) == '"' || cond_at(p, 1) == '\'') {
			size_t q = cond_quoted_len(p, 1);
			if (!q) {
				rc = cond_fail(p, SF_CERR_SYNTAX, "unterminated field argument");
				goto out;
			}
			j += q;
		} else {
			while (cond_at(p, j) && !strchr("[]\"'", cond_at(p, j)) &&
			       !isspace(cond_at(p, j)))
				j++;
		}
		if (cond_at(p, j) != ']') {
			rc = cond_fail(p, SF_CERR_SYNTAX, "expected ']' after the field argument");
			goto out;
		}
		cond_adv(p, j + 1);
	}
	struct sf_field f;
	size_t flen = p->i - start;
	rc = sf_field_parse(p->s + start, flen, &f);
	if (rc) {
		p->line = fline;
		p->col = fcol;
		size_t save = p->i;
		p->i = start;
		rc = cond_fail(p, rc == -ENOENT ? SF_CERR_FIELD : SF_CERR_SEMANTIC,
			       rc == -ENOENT ? "unknown field '%.*s'"
					     : "bad argument in field '%.*s'",
			       (int)(flen > 80 ? 80 : flen), p->s + start);
		p->i = save;
		goto out;
	}
	if (f.arg) {
		f.arg = sf_arena_strndup(p->env->arena, f.arg, f.arglen);
		if (!f.arg) {
			rc = cond_nomem(p);
			goto out;
		}
	}

	cond_blank(p);
	unsigned opline = p->line, opcol = p->col;
	size_t opstart = p->i;
	int op = 0;
	int rhs = 0; /* 0 none, 1 number, 2 string, 3 list */
	if (cond_word(p, "exists")) {
		op = SF_OP_EXISTS;
		cond_adv(p, 6);
	} else if (cond_starts(p, "<=") || cond_starts(p, ">=")) {
		op = cond_at(p, 0) == '<' ? SF_OP_LE : SF_OP_GE;
		cond_adv(p, 2);
		rhs = 1;
	} else if (cond_at(p, 0) == '<' || cond_at(p, 0) == '>') {
		op = cond_at(p, 0) == '<' ? SF_OP_LT : SF_OP_GT;
		cond_adv(p, 1);
		rhs = 1;
	} else if (cond_starts(p, "==") || cond_starts(p, "!=")) {
		op = cond_at(p, 0) == '=' ? SF_OP_EQ : SF_OP_NE;
		cond_adv(p, 2);
		rhs = 2;
	} else if (cond_at(p, 0) == '=') {
		op = SF_OP_EQ;
		cond_adv(p, 1);
		rhs = 2;
	} else {
		for (size_t k = 0; !op && k < sizeof(cond_word_ops) / sizeof(cond_word_ops[0]);
		     k++) {
			size_t wl = strlen(cond_word_ops[k].name);
			if (cond_starts(p, cond_word_ops[k].name) && (isspace(cond_at(p, wl)))) {
				op = cond_word_ops[k].op;
				cond_adv(p, wl);
				rhs = 2;
			}
		}
		for (size_t k = 0; !op && k < sizeof(cond_list_ops) / sizeof(cond_list_ops[0]);
		     k++) {
			if (cond_word(p, cond_list_ops[k].name)) {
				op = cond_list_ops[k].op;
				cond_adv(p, strlen(cond_list_ops[k].name));
				rhs = 3;
			}
		}
	}
	if (!op) {
		rc = cond_fail(
		    p, SF_CERR_SYNTAX,
		    "expected an operator after '%.*s' (=, !=, <, <=, >, >=, contains, icontains, "
		    "startswith, endswith, glob, iglob, in, intersects, pmatch, exists)",
		    (int)(flen > 80 ? 80 : flen), p->s + start);
		goto out;
	}
	cond_blank(p);
	if (rhs == 1) {
		struct sf_str v = {0};
		rc = cond_number(p, &v);
		if (rc)
			goto out;
		if (cond_vals_push(&vs, v.s, v.len)) {
			rc = cond_nomem(p);
			goto out;
		}
	} else if (rhs == 2) {
		size_t w = cond_ident_len(p, 0);
		if ((w == 5 && memcmp(p->s + p->i, "oneof", 5) == 0) ||
		    (w == 5 && memcmp(p->s + p->i, "anyof", 5) == 0) ||
		    (w == 5 && memcmp(p->s + p->i, "allof", 5) == 0)) {
			size_t save = p->i;
			unsigned sl = p->line, sc = p->col;
			cond_adv(p, 5);
			cond_blank(p);
			bool mod = cond_at(p, 0) == '(';
			p->i = save;
			p->line = sl;
			p->col = sc;
			if (mod) {
				rc = cond_fail(
				    p, SF_CERR_SYNTAX,
				    "operator modifiers (oneof/anyof/allof) are not supported");
				goto out;
			}
		}
		struct sf_str v;
		bool quoted;
		rc = cond_value(p, &v, &quoted);
		if (rc)
			goto out;
		if (cond_vals_push(&vs, v.s, v.len)) {
			rc = cond_nomem(p);
			goto out;
		}
	} else if (rhs == 3) {
		if (cond_transformer_follows(p)) {
			rc = cond_fail(p, SF_CERR_SYNTAX, "field transformers are not supported");
			goto out;
		}
		rc = cond_list_value(p, &vs);
		if (rc)
			goto out;
	}

	int ftype = sf_field_type(&f);
	if (!cond_op_ok(ftype, op)) {
		unsigned l = p->line, c = p->col;
		p->line = opline;
		p->col = opcol;
		size_t save = p->i;
		p->i = opstart;
		if (op == SF_OP_REGEX)
			rc = cond_fail(p, SF_CERR_SEMANTIC,
				       "operator 'regex' is not supported by this engine");
		else
			rc = cond_fail(p, SF_CERR_SEMANTIC,
				       "operator '%s' is not supported for %s field '%s'",
				       cond_opstr(op), cond_ftype_name(ftype), sf_field_name(&f));
		p->i = save;
		p->line = l;
		p->col = c;
		goto out;
	}
	struct sf_cnode *n = cond_node(p, SF_CN_CMP);
	if (!n) {
		rc = cond_nomem(p);
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

static int cond_check(struct cond_p *p, const struct sf_cnode **out)
{
	if (++p->depth > COND_PARSE_DEPTH)
		return cond_fail(p, SF_CERR_SYNTAX, "condition nested too deeply");
	int rc;
	cond_blank(p);
	if (cond_at(p, 0) == '(') {
		cond_adv(p, 1);
		rc = cond_embedded(p, out);
		goto out;
	}
	size_t n = cond_fieldname_len(p);
	if (n) {
		rc = cond_field_check(p, n, out);
		goto out;
	}
	if (cond_transformer_follows(p)) {
		rc = cond_fail(p, SF_CERR_SYNTAX, "field transformers are not supported");
		goto out;
	}
	n = cond_ident_len(p, 0);
	if (n) {
		struct sf_cond_err merr;
		memset(&merr, 0, sizeof(merr));
		rc = p->env->macro(p->env->arg, p->s + p->i, n, out, &merr);
		if (rc == -ENOENT) {
			rc = cond_fail(p, SF_CERR_MACRO, "undefined macro '%.*s'", (int)n,
				       p->s + p->i);
		} else if (rc) {
			if (!p->err->kind)
				*p->err = merr;
			if (!p->err->kind)
				p->err->kind = SF_CERR_NOMEM;
			rc = rc == -ENOMEM ? -ENOMEM : -EINVAL;
		} else if ((*out)->depth > SF_COND_MAX_DEPTH) {
			rc = cond_fail(p, SF_CERR_SEMANTIC, "condition nested too deeply");
		}
		if (!rc)
			cond_adv(p, n);
		goto out;
	}
	rc = cond_fail(p, SF_CERR_SYNTAX, "expected '(', a field check, or a macro name");
out:
	p->depth--;
	return rc;
}

static int cond_not_expr(struct cond_p *p, const struct sf_cnode **out)
{
	bool neg = false;
	cond_blank(p);
	for (;;) {
		if (cond_starts(p, "not") && (isspace(cond_at(p, 3)) || cond_at(p, 3) == '\b')) {
			neg = !neg;
			cond_adv(p, 3);
			cond_blank(p);
			continue;
		}
		break;
	}
	int rc;
	if (cond_starts(p, "not(")) {
		neg = !neg;
		cond_adv(p, 4);
		if (++p->depth > COND_PARSE_DEPTH)
			return cond_fail(p, SF_CERR_SYNTAX, "condition nested too deeply");
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
		rc = cond_fail(p, SF_CERR_SYNTAX, "condition nested too deeply");
		goto out;
	}
	cond_blank(p);
	bool direct = false; /* "and(" / "or(": a parenthesised operand, as in Falco */
	for (;;) {
		const struct sf_cnode *kid;
		if (direct) {
			cond_adv(p, 1);
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
				rc = cond_nomem(p);
				goto out;
			}
			kids = nk;
			cap = ncap;
		}
		kids[n++] = kid;
		cond_blank(p);
		if (!cond_starts(p, kw))
			break;
		int after = cond_at(p, kwl);
		if (cond_is_ident(after) || after == '.')
			break; /* an identifier that starts with and/or: left to the caller */
		cond_adv(p, kwl);
		direct = !cond_blank(p);
		if (direct && cond_at(p, 0) != '(') {
			rc = cond_fail(p, SF_CERR_SYNTAX, "expected a blank or '(' after '%s'", kw);
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
	cond_blank(&p);
	if (p.i == p.len)
		return cond_fail(&p, SF_CERR_SYNTAX, "empty condition");
	int rc = cond_or(&p, out);
	if (rc)
		return rc;
	cond_blank(&p);
	if (p.i != p.len)
		return cond_fail(&p, SF_CERR_SYNTAX,
				 "unexpected token, expecting 'and', 'or' or the end");
	return 0;
}

/* ---- evaluation ------------------------------------------------------- */

static bool cond_strset_has(const struct sf_str *set, size_t n, const char *s, size_t len)
{
	struct sf_str key = {s, len};
	if (n <= COND_LINEAR_MAX) {
		for (size_t k = 0; k < n; k++)
			if (set[k].len == len && memcmp(set[k].s, s, len) == 0)
				return true;
		return false;
	}
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cond_strcmp(&set[mid], &key);
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static bool cond_numset_has(const int64_t *set, size_t n, int64_t v)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (set[mid] == v)
			return true;
		if (set[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* pmatch: the value is one of the paths, or below one of them. */
static bool cond_pmatch(const struct sf_str *set, size_t n, const char *s, size_t len)
{
	if (cond_strset_has(set, n, s, len))
		return true;
	if (len > 1 && s[0] == '/' && cond_strset_has(set, n, s, 1))
		return true;
	for (size_t k = 1; k < len; k++)
		if (s[k] == '/' && cond_strset_has(set, n, s, k))
			return true;
	return false;
}

static bool cond_icontains(const char *h, size_t hl, const char *needle, size_t nl)
{
	if (nl == 0)
		return true;
	for (size_t i = 0; i + nl <= hl; i++) {
		size_t k = 0;
		while (k < nl && tolower((unsigned char)h[i + k]) == (unsigned char)needle[k])
			k++;
		if (k == nl)
			return true;
	}
	return false;
}

static int cond_fold(int c, bool fold)
{
	return fold ? tolower(c) : c;
}

static bool cond_class_match(const char *name, size_t len, int c)
{
	static const struct {
		const char *name;
		int (*fn)(int);
	} classes[] = {{"alpha", isalpha}, {"digit", isdigit},   {"alnum", isalnum},
		       {"upper", isupper}, {"lower", islower},   {"space", isspace},
		       {"punct", ispunct}, {"xdigit", isxdigit}, {"blank", isblank},
		       {"cntrl", iscntrl}, {"graph", isgraph},   {"print", isprint}};
	for (size_t k = 0; k < sizeof(classes) / sizeof(classes[0]); k++)
		if (strlen(classes[k].name) == len && memcmp(classes[k].name, name, len) == 0)
			return classes[k].fn(c) != 0;
	return false;
}

/*
 * Matches a bracket expression at pat[pi] ('[') against c. Returns 1 or 0
 * with *next just past the ']', or -1 when the bracket is not closed (then
 * the '[' is an ordinary character, as fnmatch does).
 */
static int cond_glob_class(const char *pat, size_t plen, size_t pi, int c, bool fold, size_t *next)
{
	size_t j = pi + 1;
	bool neg = false, match = false;
	if (j < plen && (pat[j] == '!' || pat[j] == '^')) {
		neg = true;
		j++;
	}
	bool first = true;
	int fc = cond_fold(c, fold);
	while (j < plen && (pat[j] != ']' || first)) {
		first = false;
		if (pat[j] == '[' && j + 1 < plen && pat[j + 1] == ':') {
			size_t e = j + 2;
			while (e + 1 < plen && !(pat[e] == ':' && pat[e + 1] == ']'))
				e++;
			if (e + 1 >= plen)
				return -1;
			if (cond_class_match(pat + j + 2, e - j - 2, c))
				match = true;
			j = e + 2;
			continue;
		}
		int lo = (unsigned char)pat[j];
		if (lo == '\\' && j + 1 < plen)
			lo = (unsigned char)pat[++j];
		j++;
		int hi = lo;
		if (j + 1 < plen && pat[j] == '-' && pat[j + 1] != ']') {
			j++;
			if (pat[j] == '\\' && j + 1 < plen)
				j++;
			hi = (unsigned char)pat[j];
			j++;
		}
		if ((c >= lo && c <= hi) || (fold && ((fc >= tolower(lo) && fc <= tolower(hi)) ||
						      (toupper(c) >= lo && toupper(c) <= hi))))
			match = true;
	}
	if (j >= plen)
		return -1;
	*next = j + 1;
	return match != neg;
}

/* fnmatch(3) with no flags: '*' and '?' also match '/' and leading dots. */
static bool cond_glob(const char *pat, size_t plen, const char *s, size_t slen, bool fold)
{
	size_t pi = 0, si = 0, star = SIZE_MAX, mark = 0;
	while (si < slen) {
		if (pi < plen) {
			int pc = (unsigned char)pat[pi];
			int sc = (unsigned char)s[si];
			if (pc == '*') {
				star = ++pi;
				mark = si;
				continue;
			}
			if (pc == '?') {
				pi++;
				si++;
				continue;
			}
			if (pc == '[') {
				size_t next;
				int m = cond_glob_class(pat, plen, pi, sc, fold, &next);
				if (m == 1) {
					pi = next;
					si++;
					continue;
				}
				if (m == 0)
					goto backtrack;
			}
			if (pc == '\\' && pi + 1 < plen) {
				pi++;
				pc = (unsigned char)pat[pi];
			}
			if (cond_fold(pc, fold) == cond_fold(sc, fold)) {
				pi++;
				si++;
				continue;
			}
		}
	backtrack:
		if (star == SIZE_MAX)
			return false;
		pi = star;
		si = ++mark;
	}
	while (pi < plen && pat[pi] == '*')
		pi++;
	return pi == plen;
}

static bool cond_cmp_str(const struct sf_cnode *n, const struct sf_fval *v)
{
	const struct sf_str *r = &n->u.str;
	switch (n->op) {
	case SF_OP_EQ:
		return v->len == r->len && memcmp(v->s, r->s, r->len) == 0;
	case SF_OP_NE:
		return !(v->len == r->len && memcmp(v->s, r->s, r->len) == 0);
	case SF_OP_LT:
	case SF_OP_LE:
	case SF_OP_GT:
	case SF_OP_GE: {
		struct sf_str a = {v->s, v->len};
		int c = cond_strcmp(&a, r);
		return n->op == SF_OP_LT   ? c < 0
		       : n->op == SF_OP_LE ? c <= 0
		       : n->op == SF_OP_GT ? c > 0
					   : c >= 0;
	}
	case SF_OP_CONTAINS:
		return r->len == 0 || memmem(v->s, v->len, r->s, r->len) != NULL;
	case SF_OP_ICONTAINS:
		return cond_icontains(v->s, v->len, r->s, r->len);
	case SF_OP_STARTSWITH:
		return v->len >= r->len && memcmp(v->s, r->s, r->len) == 0;
	case SF_OP_ENDSWITH:
		return v->len >= r->len && memcmp(v->s + v->len - r->len, r->s, r->len) == 0;
	case SF_OP_GLOB:
		return cond_glob(r->s, r->len, v->s, v->len, false);
	case SF_OP_IGLOB:
		return cond_glob(r->s, r->len, v->s, v->len, true);
	case SF_OP_IN:
	case SF_OP_INTERSECTS:
		return cond_strset_has(n->u.strs, n->n, v->s, v->len);
	case SF_OP_PMATCH:
		return cond_pmatch(n->u.strs, n->n, v->s, v->len);
	default:
		return false;
	}
}

static bool cond_cmp_num(const struct sf_cnode *n, const struct sf_fval *v)
{
	int64_t r = n->n ? n->u.nums[0] : 0;
	switch (n->op) {
	case SF_OP_EQ:
		return v->n == r;
	case SF_OP_NE:
		return v->n != r;
	case SF_OP_LT:
		return v->n < r;
	case SF_OP_LE:
		return v->n <= r;
	case SF_OP_GT:
		return v->n > r;
	case SF_OP_GE:
		return v->n >= r;
	case SF_OP_IN:
	case SF_OP_INTERSECTS:
		return cond_numset_has(n->u.nums, n->n, v->n);
	default:
		return false;
	}
}

static bool cond_cmp_ip(const struct sf_cnode *n, const struct sf_fval *v)
{
	bool net = n->ftype == SF_FT_NET;
	switch (n->op) {
	case SF_OP_EQ:
	case SF_OP_IN:
	case SF_OP_INTERSECTS:
		for (uint32_t k = 0; k < n->n; k++)
			if (net ? sf_ip_in_net(&v->ip, &n->u.ips[k])
				: sf_ip_equal(&v->ip, &n->u.ips[k]))
				return true;
		return false;
	case SF_OP_NE:
		return net ? !sf_ip_in_net(&v->ip, &n->u.ips[0])
			   : !sf_ip_equal(&v->ip, &n->u.ips[0]);
	default:
		return false;
	}
}

static bool cond_cmp(const struct sf_cnode *n, const struct sf_event *ev, char *scratch,
		     size_t slen)
{
	struct sf_fval v;
	if (n->op == SF_OP_EXISTS)
		return sf_field_get(&n->field, ev, 0, &v, scratch, slen);
	bool all = n->multi == SF_FM_EITHER && n->op == SF_OP_NE;
	unsigned limit = n->multi == SF_FM_ONE      ? 1
			 : n->multi == SF_FM_EITHER ? 2
						    : SF_FIELD_MAX_ANCESTORS;
	bool seen = false;
	for (unsigned i = 0; i < limit; i++) {
		if (!sf_field_get(&n->field, ev, i, &v, scratch, slen))
			break;
		seen = true;
		bool r;
		switch (n->ftype) {
		case SF_FT_STR:
			r = cond_cmp_str(n, &v);
			break;
		case SF_FT_NUM:
		case SF_FT_BOOL:
			r = cond_cmp_num(n, &v);
			break;
		default:
			r = cond_cmp_ip(n, &v);
			break;
		}
		if (all && !r)
			return false;
		if (!all && r)
			return true;
	}
	return all && seen;
}

static bool cond_eval(const struct sf_cnode *n, const struct sf_event *ev, struct sf_cond_run *run)
{
	switch (n->kind) {
	case SF_CN_AND:
		for (uint32_t k = 0; k < n->n; k++)
			if (!sf_cond_eval(n->u.kids[k], ev, run))
				return false;
		return true;
	case SF_CN_OR:
		for (uint32_t k = 0; k < n->n; k++)
			if (sf_cond_eval(n->u.kids[k], ev, run))
				return true;
		return false;
	case SF_CN_NOT:
		return !sf_cond_eval(n->u.kids[0], ev, run);
	case SF_CN_CMP:
		return cond_cmp(n, ev, run->scratch, run->slen);
	default:
		return false;
	}
}

bool sf_cond_eval(const struct sf_cnode *n, const struct sf_event *ev, struct sf_cond_run *run)
{
	uint32_t m = n->memo;
	if (!m || m >= run->nmemo)
		return cond_eval(n, ev, run);
	if (run->stamp[m] == run->gen)
		return run->val[m];
	bool r = cond_eval(n, ev, run);
	run->val[m] = r;
	run->stamp[m] = run->gen;
	return r;
}

/* ---- event types ------------------------------------------------------ */

static bool cond_is_typecheck(const struct sf_cnode *n)
{
	return n->kind == SF_CN_CMP && sf_field_is_evt_type(&n->field) &&
	       (n->op == SF_OP_EQ || n->op == SF_OP_NE || n->op == SF_OP_IN ||
		n->op == SF_OP_INTERSECTS);
}

int sf_cond_evttype_names(const struct sf_cnode *n, int (*cb)(void *arg, const struct sf_str *s),
			  void *arg)
{
	if (n->kind != SF_CN_CMP) {
		for (uint32_t k = 0; k < n->n; k++) {
			int rc = sf_cond_evttype_names(n->u.kids[k], cb, arg);
			if (rc)
				return rc;
		}
		return 0;
	}
	if (!cond_is_typecheck(n))
		return 0;
	if (n->op == SF_OP_EQ || n->op == SF_OP_NE)
		return cb(arg, &n->u.str);
	for (uint32_t k = 0; k < n->n; k++) {
		int rc = cb(arg, &n->u.strs[k]);
		if (rc)
			return rc;
	}
	return 0;
}

struct cond_tctx {
	size_t ntypes, words;
	int (*index)(void *arg, const struct sf_str *s);
	void *arg;
};

static void cond_set_all(const struct cond_tctx *t, uint64_t *s)
{
	memset(s, 0, t->words * sizeof(*s));
	for (size_t b = 0; b < t->ntypes; b++)
		s[b / 64] |= 1ull << (b % 64);
}

static void cond_set_bit(uint64_t *s, int b, bool on)
{
	if (b < 0)
		return;
	if (on)
		s[b / 64] |= 1ull << (b % 64);
	else
		s[b / 64] &= ~(1ull << (b % 64));
}

/*
 * T: the types n may be true for; F: the types n may be false for. Tracking
 * both makes `not` exact: not (evt.type = open) may be true for every type
 * but open, while not (evt.type = open and proc.name = x) may be true for
 * all of them.
 */
static int cond_types(const struct cond_tctx *t, const struct sf_cnode *n, uint64_t *T, uint64_t *F)
{
	int rc = 0;
	uint64_t *kt = NULL;
	switch (n->kind) {
	case SF_CN_CMP:
		cond_set_all(t, T);
		cond_set_all(t, F);
		if (!cond_is_typecheck(n))
			return 0;
		if (n->op == SF_OP_EQ || n->op == SF_OP_NE) {
			int b = t->index(t->arg, &n->u.str);
			/* =: true only for that type; !=: false only for it */
			memset(n->op == SF_OP_EQ ? T : F, 0, t->words * sizeof(*T));
			cond_set_bit(n->op == SF_OP_EQ ? T : F, b, true);
			cond_set_bit(n->op == SF_OP_EQ ? F : T, b, false);
			return 0;
		}
		memset(T, 0, t->words * sizeof(*T));
		for (uint32_t k = 0; k < n->n; k++) {
			int b = t->index(t->arg, &n->u.strs[k]);
			cond_set_bit(T, b, true);
			cond_set_bit(F, b, false);
		}
		return 0;
	case SF_CN_NOT:
		return cond_types(t, n->u.kids[0], F, T);
	case SF_CN_AND:
	case SF_CN_OR: {
		bool and = n->kind == SF_CN_AND;
		kt = malloc(2 * t->words * sizeof(*kt));
		if (!kt)
			return -ENOMEM;
		uint64_t *kf = kt + t->words;
		for (uint32_t k = 0; k < n->n; k++) {
			rc = cond_types(t, n->u.kids[k], kt, kf);
			if (rc)
				goto out;
			for (size_t w = 0; w < t->words; w++) {
				if (k == 0) {
					T[w] = kt[w];
					F[w] = kf[w];
				} else if (and) {
					T[w] &= kt[w];
					F[w] |= kf[w];
				} else {
					T[w] |= kt[w];
					F[w] &= kf[w];
				}
			}
		}
		break;
	}
	default:
		cond_set_all(t, T);
		cond_set_all(t, F);
		break;
	}
out:
	free(kt);
	return rc;
}

int sf_cond_evttypes(const struct sf_cnode *n, size_t ntypes,
		     int (*index)(void *arg, const struct sf_str *s), void *arg, uint64_t *out)
{
	struct cond_tctx t = {
	    .ntypes = ntypes, .words = (ntypes + 63) / 64, .index = index, .arg = arg};
	uint64_t *f = malloc(t.words * sizeof(*f));
	if (!f)
		return -ENOMEM;
	int rc = cond_types(&t, n, out, f);
	free(f);
	return rc;
}
