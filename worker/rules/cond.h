/*
 * rules_cond — Falco filter conditions: parses a condition string once into
 * a tree (struct sf_cnode) whose comparisons are precompiled (numbers and
 * addresses parsed, `in` sets sorted for binary search, pmatch prefixes
 * normalised, case-folded needles prepared), evaluates that tree against an
 * event without allocating, and works out which event types a tree can be
 * true for (the evt.type index).
 *
 * Grammar (Falco's): `or` < `and` < `not`, parentheses, checks
 * `FIELD OP VALUE`, `FIELD exists`, `FIELD in (a, "b c", list_name)`, and
 * bare identifiers naming macros. Operators: = == != < <= > >= contains
 * icontains startswith endswith glob iglob in intersects pmatch exists;
 * bcontains/bstartswith/regex, the oneof/anyof/allof modifiers and field
 * transformers (tolower(), val(), ...) are refused with an error.
 *
 * A check on a field that has no value for the event is false, whatever the
 * operator (`!=` included), like Falco; `not` of it is true.
 *
 * Owns: nothing. Calls: rules_fields, rules_arena, and back into the caller
 * (struct sf_cond_env) to expand lists and fetch compiled macros.
 * Memory: trees live in the caller's arena, and may share subtrees.
 */
#ifndef SF_RULES_COND_H
#define SF_RULES_COND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "arena.h"
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
};

/* Compiles text into *out. Returns 0, or a negative errno with err filled
 * (-ENOMEM when the arena is exhausted, -EINVAL otherwise). */
int sf_cond_compile(const char *text, const struct sf_cond_env *env, const struct sf_cnode **out,
		    struct sf_cond_err *err);

/* Is op an operator name of the grammar? 0, or -EINVAL with msg filled
 * (the loader checks rule exception `comps` with it). */
int sf_cond_check_op(const char *op, char *msg, size_t msglen);
/* Does op take a list (in, intersects, pmatch)? */
bool sf_cond_op_is_list(const char *op);

/* Unescapes a quoted string s[0..len) (quotes included) the way Falco does
 * (\" \' \\ \/ \b \f \n \r \t \xHH) into the arena. 0, -EINVAL, -ENOMEM. */
int sf_cond_unquote(struct sf_arena *a, const char *s, size_t len, struct sf_str *out);

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

/* Evaluates n for ev. Never allocates. */
bool sf_cond_eval(const struct sf_cnode *n, const struct sf_event *ev, struct sf_cond_run *run);

/* Calls cb for every string an evt.type check in n compares with (=, !=,
 * in, intersects). Stops at and returns the first non-zero cb result. */
int sf_cond_evttype_names(const struct sf_cnode *n, int (*cb)(void *arg, const struct sf_str *s),
			  void *arg);

/*
 * The event types n can be true for, as a bit set over type numbers
 * 0..ntypes-1, where number ntypes-1 stands for every type not named in any
 * condition. index(arg, s) gives a named type's number. out has
 * (ntypes + 63) / 64 words. Returns 0 or -ENOMEM.
 */
int sf_cond_evttypes(const struct sf_cnode *n, size_t ntypes,
		     int (*index)(void *arg, const struct sf_str *s), void *arg, uint64_t *out);

#endif
