/*
 * cond_parse — Falco filter conditions: parses a condition string once into
 * a compiled tree (cond_ast.h). Falco's grammar, in EBNF (blanks are
 * whitespace or \b; keywords end where an identifier cannot continue):
 *
 *   Expr      ::= AndExpr { "or" AndExpr }
 *   AndExpr   ::= NotExpr { "and" NotExpr }      ("and(" / "or(" need no blank)
 *   NotExpr   ::= { "not" } ( Check | "not(" Expr ")" )
 *   Check     ::= "(" Expr ")" | FieldCheck | MacroName
 *   FieldCheck::= Field [ "[" Arg "]" ] ( "exists"
 *                 | ( "=" | "==" | "!=" | StrOp ) Value
 *                 | ( "<" | "<=" | ">" | ">=" ) Number
 *                 | ( "in" | "intersects" | "pmatch" ) List )
 *   StrOp     ::= "contains" | "icontains" | "startswith" | "endswith"
 *                 | "glob" | "iglob"
 *   List      ::= "(" [ Value { "," Value } ] ")" | ListName
 *   Value     ::= QuotedString | BareString    (a bare list item naming a
 *                                                list stands for its items)
 *   Field     ::= Ident "." Ident { "." Ident }
 *   MacroName ::= Ident ;  ListName ::= Ident
 *   Ident     ::= [a-zA-Z] { [a-zA-Z0-9_] }
 *   Number    ::= "0x" hex+ | [+-] digit+ [ "." digit* ] [ [eE] [+-] digit+ ]
 *
 * Precedence: `or` < `and` < `not`. bcontains/bstartswith/regex, the
 * oneof/anyof/allof modifiers and field transformers (tolower(), val(),
 * ...) are refused with an error. This module holds the expression levels;
 * one check is compiled by cond_check, tokens are read by cond_lex.
 *
 * Owns: nothing. Calls: cond_lex, cond_check, arena, and back into the caller
 * (struct sf_cond_env) to expand lists and fetch compiled macros.
 * Memory: trees live in the caller's arena, and may share subtrees.
 */
#ifndef SF_COND_PARSE_H
#define SF_COND_PARSE_H

#include "cond_ast.h"

/* Compiles text into *out. Returns 0, or a negative errno with err filled
 * (-ENOMEM when the arena is exhausted, -EINVAL otherwise). */
int sf_cond_compile(const char *text, const struct sf_cond_env *env, const struct sf_cnode **out,
		    struct sf_cond_err *err);

#endif
