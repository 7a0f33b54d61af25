/* cond_lex — see cond_lex.h. */
#include "cond_lex.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const cond_transformers[] = {"tolower", "toupper", "b64",    "basename", "len",
						"join",    "concat",  "getopt", "val"};

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

/* ---- the cursor ------------------------------------------------------- */

int sf_lex_vals_push(struct cond_vals *vs, const char *s, size_t len)
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

bool sf_lex_is_ident(int c)
{
	return isalnum(c) || c == '_';
}

int sf_lex_at(const struct cond_p *p, size_t k)
{
	return p->i + k < p->len ? (unsigned char)p->s[p->i + k] : 0;
}

void sf_lex_adv(struct cond_p *p, size_t n)
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

bool sf_lex_blank(struct cond_p *p)
{
	size_t start = p->i;
	while (p->i < p->len && (isspace((unsigned char)p->s[p->i]) || p->s[p->i] == '\b'))
		sf_lex_adv(p, 1);
	return p->i != start;
}

bool sf_lex_starts(const struct cond_p *p, const char *lit)
{
	size_t n = strlen(lit);
	return p->len - p->i >= n && memcmp(p->s + p->i, lit, n) == 0;
}

/* A keyword followed by something that cannot continue an identifier. */
bool sf_lex_word(const struct cond_p *p, const char *w)
{
	return sf_lex_starts(p, w) && !sf_lex_is_ident(sf_lex_at(p, strlen(w)));
}

int sf_lex_fail(struct cond_p *p, int kind, const char *fmt, ...)
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

int sf_lex_nomem(struct cond_p *p)
{
	return sf_lex_fail(p, SF_CERR_NOMEM, "out of memory");
}

struct sf_cnode *sf_lex_node(struct cond_p *p, int kind)
{
	struct sf_cnode *n = sf_arena_alloc(p->env->arena, sizeof(*n));
	if (n)
		n->kind = (uint8_t)kind;
	return n;
}

/* [a-zA-Z][a-zA-Z0-9_]* ; returns its length (0 when none). */
size_t sf_lex_ident_len(const struct cond_p *p, size_t from)
{
	size_t j = from;
	if (!isalpha(sf_lex_at(p, j)))
		return 0;
	while (sf_lex_is_ident(sf_lex_at(p, j)))
		j++;
	return j - from;
}

/* A field name: identifier ('.' identifier)+ ; returns its length. */
size_t sf_lex_fieldname_len(const struct cond_p *p)
{
	size_t j = sf_lex_ident_len(p, 0);
	if (!j)
		return 0;
	size_t segs = 0;
	while (sf_lex_at(p, j) == '.') {
		size_t k = sf_lex_ident_len(p, j + 1);
		if (!k)
			break;
		j += 1 + k;
		segs++;
	}
	return segs ? j : 0;
}

/* Length of a quoted string starting at s[i + from], 0 when unterminated. */
size_t sf_lex_quoted_len(const struct cond_p *p, size_t from)
{
	int q = sf_lex_at(p, from);
	size_t j = from + 1;
	while (p->i + j < p->len) {
		int c = sf_lex_at(p, j);
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

bool sf_lex_transformer_follows(const struct cond_p *p)
{
	size_t n = sf_lex_ident_len(p, 0);
	if (!n || sf_lex_at(p, n) != '(')
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
int sf_lex_value(struct cond_p *p, struct sf_str *v, bool *quoted)
{
	int c = sf_lex_at(p, 0);
	*quoted = false;
	if (c == '"' || c == '\'') {
		size_t n = sf_lex_quoted_len(p, 0);
		if (!n)
			return sf_lex_fail(p, SF_CERR_SYNTAX, "unterminated string");
		int rc = sf_cond_unquote(p->env->arena, p->s + p->i, n, v);
		if (rc == -ENOMEM)
			return sf_lex_nomem(p);
		if (rc)
			return sf_lex_fail(p, SF_CERR_SYNTAX, "bad escape sequence in string");
		*quoted = true;
		sf_lex_adv(p, n);
		return 0;
	}
	if (sf_lex_transformer_follows(p))
		return sf_lex_fail(p, SF_CERR_SYNTAX, "field transformers are not supported");
	size_t n = 0;
	while (cond_bare_char(sf_lex_at(p, n)))
		n++;
	if (!n)
		return sf_lex_fail(p, SF_CERR_SYNTAX, "expected a value");
	v->s = p->s + p->i;
	v->len = n;
	sf_lex_adv(p, n);
	return 0;
}

/* A number: hex, or Falco's [+-]?[0-9]+[.]?[0-9]*([eE][+-][0-9]+)? */
int sf_lex_number(struct cond_p *p, struct sf_str *v)
{
	size_t j = 0;
	if (sf_lex_at(p, 0) == '0' && (sf_lex_at(p, 1) == 'x' || sf_lex_at(p, 1) == 'X') &&
	    isxdigit(sf_lex_at(p, 2))) {
		j = 2;
		while (isxdigit(sf_lex_at(p, j)))
			j++;
	} else {
		if (sf_lex_at(p, j) == '+' || sf_lex_at(p, j) == '-')
			j++;
		if (!isdigit(sf_lex_at(p, j)))
			return sf_lex_fail(p, SF_CERR_SYNTAX, "expected a number");
		while (isdigit(sf_lex_at(p, j)))
			j++;
		if (sf_lex_at(p, j) == '.') {
			j++;
			while (isdigit(sf_lex_at(p, j)))
				j++;
		}
		if ((sf_lex_at(p, j) == 'e' || sf_lex_at(p, j) == 'E') &&
		    (sf_lex_at(p, j + 1) == '+' || sf_lex_at(p, j + 1) == '-') &&
		    isdigit(sf_lex_at(p, j + 2))) {
			j += 2;
			while (isdigit(sf_lex_at(p, j)))
				j++;
		}
	}
	v->s = p->s + p->i;
	v->len = j;
	sf_lex_adv(p, j);
	return 0;
}
