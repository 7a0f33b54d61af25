/*
 * cond_ast — the compiled form of a Falco filter condition (the AST): a tree
 * of and/or/not nodes over checks `FIELD OP VALUE` whose right-hand values
 * are precompiled (numbers and addresses parsed, `in` sets sorted for binary
 * search, pmatch prefixes normalised, case-folded needles prepared), plus
 * the types the condition stages share: the compiler's error, what it asks
 * its caller for (struct sf_cond_env) and the per-event evaluation state.
 *
 * Built by cond_parse (grammar) and cond_check (one check); read by
 * cond_eval (evaluation) and evttypes (the evt.type index).
 *
 * Owns: nothing; types only. Calls: nothing (arena.h, fields.h and event.h
 * for the types they define). Memory: trees live in the arena of the
 * struct sf_cond_env they were compiled with, and may share subtrees (a
 * macro used by many rules).
 */
#ifndef SF_COND_AST_H
#define SF_COND_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "event.h"
#include "fields.h"

#define SF_COND_MAX_DEPTH 200 /* nesting of a compiled tree, macros included */

enum sf_cop {
	SF_OP_EQ = 1,
	SF_OP_NE,
	SF_OP_LT,
	SF_OP_LE,
	SF_OP_GT,
	SF_OP_GE,
	SF_OP_CONTAINS,
	SF_OP_ICONTAINS,
	SF_OP_BCONTAINS,
	SF_OP_STARTSWITH,
	SF_OP_BSTARTSWITH,
	SF_OP_ENDSWITH,
	SF_OP_GLOB,
	SF_OP_IGLOB,
	SF_OP_REGEX,
	SF_OP_IN,
	SF_OP_INTERSECTS,
	SF_OP_PMATCH,
	SF_OP_EXISTS,
};

/* A string with its length (not necessarily NUL-terminated). */
struct sf_str {
	const char *s;
	size_t len;
};

enum sf_cnode_kind { SF_CN_AND = 1, SF_CN_OR, SF_CN_NOT, SF_CN_CMP };

struct sf_cnode {
	uint8_t kind;   /* enum sf_cnode_kind */
	uint8_t op;     /* SF_CN_CMP: enum sf_cop */
	uint8_t ftype;  /* SF_CN_CMP: enum sf_ftype */
	uint8_t multi;  /* SF_CN_CMP: enum sf_fmulti */
	uint16_t depth; /* 1 for a check */
	uint16_t memo;  /* the root of a macro: its slot in struct sf_cond_run (0 = none) */
	uint32_t n;     /* children, or right-hand values */
	struct sf_field field;
	union {
		struct sf_cnode **kids; /* AND/OR: n; NOT: 1 */
		struct sf_str str;      /* one string operand */
		struct sf_str *strs;    /* in/intersects/pmatch on text: sorted, unique */
		int64_t *nums;          /* numbers and booleans (sorted for in) */
		struct sf_ip *ips;      /* addresses or networks */
	} u;
};

/* Error classes: the loader treats them differently (a macro with an
 * unknown field is only an error if a rule uses it). */
enum sf_cond_errkind {
	SF_CERR_SYNTAX = 1,
	SF_CERR_MACRO,    /* undefined macro, or a macro loop */
	SF_CERR_FIELD,    /* unknown field */
	SF_CERR_SEMANTIC, /* operator or value wrong for the field, undefined list */
	SF_CERR_NOMEM,
};

struct sf_cond_err {
	int kind;      /* enum sf_cond_errkind */
	unsigned line; /* position in the condition text, 1-based (0 = none) */
	unsigned col;
	bool located; /* msg already says FILE:LINE (came from a macro) */
	char msg[512];
};

/* What the compiler asks its caller for. Both callbacks return 0 on success
 * and -ENOENT when the name is not defined; the macro callback may return
 * another negative code with err filled in. */
struct sf_cond_env {
	struct sf_arena *arena;
	void *arg;
	/* The fully expanded items of list `name`. */
	int (*list)(void *arg, const char *name, size_t len, const struct sf_str **items,
		    size_t *n);
	/* The compiled tree of macro `name`. */
	int (*macro)(void *arg, const char *name, size_t len, const struct sf_cnode **out,
		     struct sf_cond_err *err);
	/* Told of every field a check resolves (may be NULL). */
	void (*field)(void *arg, const struct sf_field *f);
};

/*
 * Per-event evaluation state, owned by the caller. A macro used by many
 * rules is evaluated once per event: slot k of stamp/val holds the result
 * of the macro whose root has memo == k, valid while stamp[k] == gen (the
 * caller bumps gen for every event). scratch holds field values built on
 * the fly (proc.cmdline, ...); at least 256 bytes.
 */
struct sf_cond_run {
	uint32_t gen;
	uint32_t nmemo; /* slots in stamp and val */
	uint32_t *stamp;
	uint8_t *val;
	char *scratch;
	size_t slen;
};

#endif
