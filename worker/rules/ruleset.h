/*
 * ruleset — the private types every stage of the rule engine shares: a
 * loaded ruleset (struct sf_ruleset) and what it is made of — rules,
 * macros, lists, rule exceptions, compiled outputs — plus the helpers all
 * stages use: arena arrays, the one "FILE:LINE: reason" error of a load,
 * load warnings, arena strings. It also implements the public accessors of
 * rules.h (sf_rules_count, sf_rule_name, ...), priorities and sf_rules_free.
 *
 * The stages: rules.c reads files and YAML documents and hands each item to
 * collect (lists, macros, rules, append/override; yamlnode reads the nodes,
 * exceptions the rule exceptions); compile then expands lists, compiles
 * macros and conditions (cond_parse), outputs (output) and builds the
 * evt.type index (evttypes), which also runs events. A stage includes this
 * header and the headers of the stages it calls, never its caller's, so
 * the includes form no circle.
 *
 * Owns: struct sf_ruleset and everything in it (its arena, its maps, its
 * warning buffer). Calls: arena, strmap, sha256, util (sf_buf), libc.
 * Memory: everything a ruleset points to lives in its arena and goes with
 * sf_rules_free; the maps' slot arrays and the warning buffer are malloc'd
 * and freed there too.
 */
#ifndef SF_RULESET_H
#define SF_RULESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "cond_ast.h"
#include "fields.h"
#include "rules.h"
#include "sha256.h"
#include "strmap.h"
#include "util.h"

struct rl_loc {
	uint32_t file;
	uint32_t line;
};

/* A value of a rule exception's fields/comps/values: a string, or a
 * sequence of values. */
struct rl_exval {
	char *item;
	struct rl_exval *items;
	uint32_t n;
	bool is_list;
	bool valid; /* given at all */
};

struct rl_exception {
	char *name;
	struct rl_exval fields, comps;
	struct rl_exval *values;
	uint32_t nvalues, capvalues;
	struct rl_loc loc;
};

struct rl_list {
	char *name;
	char **items;
	uint32_t n, cap;
	struct rl_loc loc;
	uint8_t state; /* 0 raw, 1 being expanded, 2 expanded */
	struct sf_str *exp;
	size_t nexp;
};

enum { RL_MACRO_NEW, RL_MACRO_BUSY, RL_MACRO_OK, RL_MACRO_FAILED };

struct rl_macro {
	char *name;
	char *cond;
	struct rl_loc loc, cond_loc;
	int cond_style; /* yaml_scalar_style_t of the condition */
	uint8_t state;
	const struct sf_cnode *node;
	int errkind; /* RL_MACRO_FAILED: enum sf_cond_errkind */
	char *errmsg;
};

/* Piece of a compiled output: literal text or a field. */
struct rl_otok {
	const char *text; /* literal, or the field as written (key in output_fields) */
	size_t len;
	bool is_field;
	int width; /* %20proc.name: pad or cut to 20 */
	struct sf_field field;
};

struct sf_rule {
	char *name, *desc, *cond, *output, *source;
	enum sf_priority prio;
	char **tags;
	uint32_t ntags, captags;
	bool enabled, skip_unknown, warn_evttypes;
	bool ours;    /* source syscall */
	bool skipped; /* unknown field and skip-if-unknown-filter */
	bool all_types;
	struct rl_exception *exc;
	uint32_t nexc, capexc;
	struct rl_loc loc, cond_loc, output_loc;
	int cond_style;
	/* compiled */
	const char *full_cond;
	const struct sf_cnode *node;
	struct rl_otok *otoks;
	uint32_t notoks;
	uint32_t *ofields; /* otoks indexes of distinct fields, in output order */
	uint32_t nofields;
	uint64_t *types;
};

struct sf_ruleset {
	struct sf_arena arena;
	char digest[SF_SHA256_HEX + 1];
	char **files;
	uint32_t nfiles, capfiles;
	struct sf_rule **rules;
	uint32_t nrules, caprules;
	struct rl_macro **macros;
	uint32_t nmacros, capmacros;
	struct rl_list **lists;
	uint32_t nlists, caplists;
	struct sf_strmap rule_map, macro_map, list_map, type_map;
	/* after compiling */
	struct sf_rule **ours; /* syscall rules not skipped, in order */
	uint32_t nours;
	size_t nenabled;
	uint32_t ntypes; /* named event types + 1 for all the others */
	const struct sf_rule **bucket_rules;
	uint32_t *bucket_start; /* ntypes + 1 entries */
	char *warnings;
	uint8_t absent_used[64]; /* bit k: conditions use fields_absent entry k */
	/* loading */
	struct sf_buf warn;
	struct sf_sha256 sha;
	bool sha_ok;
	char *err;
	size_t errlen;
	bool failed;
	uint64_t budget;
	unsigned macro_depth, list_depth;
	uint32_t nmemo; /* macro result slots handed out */
};

/* Makes room for one more element in an arena array. 0 or -ENOMEM. */
int sf_ruleset_grow(struct sf_ruleset *rs, void **arr, uint32_t *cap, uint32_t n, size_t elsz);
#define SF_RULESET_PUSH(rs, arr, n, cap)                                                           \
	sf_ruleset_grow((rs), (void **)&(arr), &(cap), (n), sizeof(*(arr)))

/* Records the load's error, "FILE:LINE: " (when loc.file names a loaded
 * file) then the message, unless one is recorded already; returns rc. */
__attribute__((format(printf, 4, 5))) int sf_ruleset_fail(struct sf_ruleset *rs, struct rl_loc loc,
							  int rc, const char *fmt, ...);
/* sf_ruleset_fail with -ENOMEM and no location. */
int sf_ruleset_nomem(struct sf_ruleset *rs);
/* Adds one line to the load's warnings (sf_rules_warnings). */
__attribute__((format(printf, 2, 3))) void sf_ruleset_warn(struct sf_ruleset *rs, const char *fmt,
							   ...);
/* a + " " + b, in the arena; NULL when out of memory. */
char *sf_ruleset_concat(struct sf_ruleset *rs, const char *a, const char *b);
/* Strips leading and trailing blanks of s in place. */
void sf_ruleset_trim(char *s);

#endif
