/*
 * cond_lex — the condition parser's state and its tokens: a cursor over the
 * condition text that tracks line and column, errors that say where they
 * happened ("... at column 12 near 'x'"), identifiers, field names, quoted
 * and bare values, numbers, and the allocation of tree nodes.
 *
 * Shared by the two halves of the parser: cond_parse (expression levels)
 * and cond_check (one FIELD OP VALUE check).
 *
 * Owns: nothing. Calls: arena (nodes, unquoted strings), libc.
 * Memory: values point into the condition text (bare) or into the arena
 * (quoted, unescaped); struct cond_vals holds a malloc'd array its user
 * frees.
 */
#ifndef SF_COND_LEX_H
#define SF_COND_LEX_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "cond_ast.h"

/* The parser: text s[0..len), position i. */
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

/* Unescapes a quoted string s[0..len) (quotes included) the way Falco does
 * (\" \' \\ \/ \b \f \n \r \t \xHH) into the arena. 0, -EINVAL, -ENOMEM. */
int sf_cond_unquote(struct sf_arena *a, const char *s, size_t len, struct sf_str *out);

int sf_lex_vals_push(struct cond_vals *vs, const char *s, size_t len); /* 0 or -ENOMEM */

bool sf_lex_is_ident(int c);                     /* [a-zA-Z0-9_] */
int sf_lex_at(const struct cond_p *p, size_t k); /* s[i + k], 0 past the end */
void sf_lex_adv(struct cond_p *p, size_t n);     /* moves on n bytes */
bool sf_lex_blank(struct cond_p *p);             /* skips blanks: any skipped? */
bool sf_lex_starts(const struct cond_p *p, const char *lit);
/* A keyword followed by something that cannot continue an identifier. */
bool sf_lex_word(const struct cond_p *p, const char *w);

/* Records the first error (kind: enum sf_cond_errkind) with its position
 * and returns -EINVAL, or -ENOMEM for SF_CERR_NOMEM. */
__attribute__((format(printf, 3, 4))) int sf_lex_fail(struct cond_p *p, int kind, const char *fmt,
						      ...);
int sf_lex_nomem(struct cond_p *p);
/* A zeroed node of kind in the arena, or NULL. */
struct sf_cnode *sf_lex_node(struct cond_p *p, int kind);

/* [a-zA-Z][a-zA-Z0-9_]* at s[i + from]; returns its length (0 when none). */
size_t sf_lex_ident_len(const struct cond_p *p, size_t from);
/* A field name: identifier ('.' identifier)+ ; returns its length. */
size_t sf_lex_fieldname_len(const struct cond_p *p);
/* Length of a quoted string starting at s[i + from], 0 when unterminated. */
size_t sf_lex_quoted_len(const struct cond_p *p, size_t from);
/* Does a field transformer call (tolower(, val(, ...) start here? */
bool sf_lex_transformer_follows(const struct cond_p *p);

/* One value: a quoted string (unescaped into the arena) or a bare string
 * (pointing into the text); *quoted tells which. */
int sf_lex_value(struct cond_p *p, struct sf_str *v, bool *quoted);
/* A number: hex, or Falco's [+-]?[0-9]+[.]?[0-9]*([eE][+-][0-9]+)? */
int sf_lex_number(struct cond_p *p, struct sf_str *v);

#endif
