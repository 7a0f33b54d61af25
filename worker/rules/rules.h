/*
 * rules — the Falco-format rule engine: loads rules files (YAML: rule,
 * macro, list, required_engine_version, required_plugin_versions), compiles
 * them once, and evaluates every sensor event (event.h) against them.
 *
 * Loading follows Falco's rules_files: files load in order and later ones
 * may redefine, append to (`append: true`) or override (`override:`) what
 * earlier ones defined, or re-enable rules; exceptions become
 * `and not (...)` clauses. A load either succeeds completely or fails with
 * one message "FILE:LINE: reason" naming the YAML node at fault.
 * Only rules whose source is `syscall` (the default) are ours; rules for
 * other sources are read and skipped.
 *
 * Evaluation is indexed by event type: a rule whose condition can only be
 * true for some evt.type values only runs for those. It allocates nothing:
 * field values that must be built (proc.cmdline, ...) go to the scratch
 * buffer of a caller-owned struct sf_rules_ctx. A loaded ruleset is
 * immutable, so threads may share it, each with its own context.
 *
 * The engine is split by stage in worker/rules/ (see ruleset.h for the
 * map); this header is its whole public API, and rules.c, the loader,
 * implements sf_rules_load and sf_rules_load_buffer.
 *
 * Owns: struct sf_ruleset and everything in it. Calls: libyaml, sha256,
 * util, arena, and the stages: yamlnode, collect, compile (which calls
 * exceptions, cond_parse, output, evttypes), ruleset. Memory: strings
 * returned by the accessors live as long as the ruleset; sf_rules_alert
 * fills a struct sf_alert whose members are malloc'd (release with
 * sf_alert_free).
 */
#ifndef SF_RULES_H
#define SF_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "util.h"
#include "wire.h"

/* The Falco engine version whose rule language we implement; rules files
 * that require a newer one (required_engine_version) are refused. */
#define SF_RULES_ENGINE_VERSION "0.58.0"
#define SF_RULES_MAX_FILE       (16u << 20) /* bytes in one rules file */
#define SF_RULES_SCRATCH        8192        /* longest field value built per event */
#define SF_RULES_MEMO           1024        /* macros whose results are shared within an event */

/* Falco's priorities, most severe first. */
enum sf_priority {
	SF_PRIO_EMERGENCY = 0,
	SF_PRIO_ALERT,
	SF_PRIO_CRITICAL,
	SF_PRIO_ERROR,
	SF_PRIO_WARNING,
	SF_PRIO_NOTICE,
	SF_PRIO_INFORMATIONAL,
	SF_PRIO_DEBUG,
};

struct sf_ruleset;
struct sf_rule;

/* Per-thread evaluation state (about 13 KiB: embed it or allocate it
 * once); no setup beyond sf_rules_ctx_init. */
struct sf_rules_ctx {
	uint64_t events;  /* events evaluated */
	uint64_t checks;  /* rule conditions evaluated */
	uint64_t matches; /* rules matched */
	uint32_t gen;     /* current event, for memo_stamp */
	uint32_t memo_stamp[SF_RULES_MEMO];
	uint8_t memo_val[SF_RULES_MEMO];
	char scratch[SF_RULES_SCRATCH];
};

typedef void (*sf_rules_match_fn)(void *arg, const struct sf_rule *rule, const struct sf_event *ev);

/*
 * Loads paths in order; a directory stands for its *.yaml and *.yml files
 * in name order. Returns 0 with *out set, or a negative errno with
 * "FILE:LINE: reason" in err: -EINVAL for a bad rules file, -ENOENT/-EACCES
 * for unreadable paths, -EFBIG for a file over SF_RULES_MAX_FILE,
 * -EPROTONOSUPPORT when a file requires a newer engine, -ENOMEM.
 */
int sf_rules_load(struct sf_ruleset **out, const char *const *paths, size_t npaths, char *err,
		  size_t errlen);
/* The same for one in-memory file called name (tests, fuzzing). */
int sf_rules_load_buffer(struct sf_ruleset **out, const char *name, const void *data, size_t len,
			 char *err, size_t errlen);
void sf_rules_free(struct sf_ruleset *rs);

/* SHA-256 (hex) over every loaded file's base name and bytes, in load
 * order: the ruleset's identity in cached verdicts. */
const char *sf_rules_digest(const struct sf_ruleset *rs);
/* Enabled syscall rules (the ones evaluated). */
size_t sf_rules_count(const struct sf_ruleset *rs);
/* Syscall rules loaded, enabled or not, in definition order: 0..total-1. */
size_t sf_rules_total(const struct sf_ruleset *rs);
const struct sf_rule *sf_rules_at(const struct sf_ruleset *rs, size_t i);
const struct sf_rule *sf_rules_find(const struct sf_ruleset *rs, const char *name);
/* Non-fatal findings of the load, one per line ("" when none): rules
 * skipped for an unknown field (skip-if-unknown-filter) or another source,
 * rules that run for every event type. */
const char *sf_rules_warnings(const struct sf_ruleset *rs);

/* The Falco fields the loaded conditions use that the sensor cannot know
 * (always missing: fields_absent.h), one "name: why" per line, "" when none. Owned by the
 * caller (free). NULL when memory ran out. */
char *sf_rules_absent_fields(const struct sf_ruleset *rs);

const char *sf_rule_name(const struct sf_rule *r);
const char *sf_rule_desc(const struct sf_rule *r);
const char *sf_rule_source(const struct sf_rule *r);    /* "syscall" */
const char *sf_rule_output(const struct sf_rule *r);    /* the format, unexpanded */
const char *sf_rule_condition(const struct sf_rule *r); /* with exceptions added */
enum sf_priority sf_rule_priority(const struct sf_rule *r);
const char *sf_rule_priority_name(const struct sf_rule *r); /* "Warning" */
size_t sf_rule_ntags(const struct sf_rule *r);
const char *sf_rule_tag(const struct sf_rule *r, size_t i);
bool sf_rule_enabled(const struct sf_rule *r);
/* Does the rule run for every event type (no evt.type restriction)? */
bool sf_rule_all_types(const struct sf_rule *r);

/* "Emergency" … "Debug"; parsing is case-insensitive and takes "info". */
const char *sf_priority_name(enum sf_priority p);
int sf_priority_parse(const char *s, enum sf_priority *out);

void sf_rules_ctx_init(struct sf_rules_ctx *ctx);

/*
 * Evaluates every enabled rule that applies to ev's type and calls on_match
 * (may be NULL) for each one that matches, in definition order. Returns the
 * number of matches. Allocates nothing.
 */
int sf_rules_eval(const struct sf_ruleset *rs, struct sf_rules_ctx *ctx, const struct sf_event *ev,
		  sf_rules_match_fn on_match, void *arg);

/*
 * Fills out (zeroed first) with the alert rule raises for ev: time, Falco
 * priority name, rule name, output with every %field replaced (<NA> when the
 * field has no value), source "syscall", hostname, tags, and output_fields
 * (each field the output names, with its value). Returns 0 or -ENOMEM (out
 * is then empty). Release with sf_alert_free.
 */
int sf_rules_alert(const struct sf_ruleset *rs, const struct sf_rule *rule,
		   const struct sf_event *ev, const char *hostname, struct sf_alert *out);

/*
 * Renders one field ("proc.aname[1]", "fd.sip", "evt.arg.flags") of ev as
 * outputs print it. Returns 0; -ENODATA when the field has no value for ev
 * (buf holds "<NA>"); -ENOENT when there is no such field; -EINVAL for a bad
 * field argument.
 */
int sf_rules_field_render(const char *field, const struct sf_event *ev, char *buf, size_t len);

#endif
