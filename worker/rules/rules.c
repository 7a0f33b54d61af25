/* rules — see rules.h. */
#include "rules.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <yaml.h>

#include "arena.h"
#include "cond.h"
#include "fields.h"
#include "sha256.h"

#define RULES_SCALAR_BUDGET 4000000u   /* YAML scalars read per load (aliases count again) */
#define RULES_LIST_MAX      100000u    /* items in one expanded list */
#define RULES_COND_MAX      (4u << 20) /* bytes of one condition, exceptions included */

/* ---- types ------------------------------------------------------------ */

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

struct rl_slot {
	const char *key;
	size_t len;
	uint64_t hash;
	void *val;
};

/* Open-addressing map from strings (kept by the caller) to pointers. */
struct rl_map {
	struct rl_slot *slots;
	size_t cap, n;
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
	struct rl_map rule_map, macro_map, list_map, type_map;
	/* after compiling */
	struct sf_rule **ours; /* syscall rules not skipped, in order */
	uint32_t nours;
	size_t nenabled;
	uint32_t ntypes; /* named event types + 1 for all the others */
	const struct sf_rule **bucket_rules;
	uint32_t *bucket_start; /* ntypes + 1 entries */
	char *warnings;
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

/* ---- small helpers ---------------------------------------------------- */

static uint64_t rules_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

static struct rl_slot *rules_map_slot(const struct rl_map *m, const char *key, size_t len,
				      uint64_t h)
{
	if (!m->cap)
		return NULL;
	size_t mask = m->cap - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		struct rl_slot *s = &m->slots[i];
		if (!s->key)
			return s;
		if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0)
			return s;
	}
}

static void *rules_map_get(const struct rl_map *m, const char *key, size_t len)
{
	struct rl_slot *s = rules_map_slot(m, key, len, rules_hash(key, len));
	return s && s->key ? s->val : NULL;
}

/* key must outlive the map. */
static int rules_map_put(struct rl_map *m, const char *key, size_t len, void *val)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct rl_slot *slots = calloc(cap, sizeof(*slots));
		if (!slots)
			return -ENOMEM;
		struct rl_map nm = {slots, cap, 0};
		for (size_t i = 0; i < m->cap; i++) {
			struct rl_slot *o = &m->slots[i];
			if (!o->key)
				continue;
			*rules_map_slot(&nm, o->key, o->len, o->hash) = *o;
			nm.n++;
		}
		free(m->slots);
		*m = nm;
	}
	uint64_t h = rules_hash(key, len);
	struct rl_slot *s = rules_map_slot(m, key, len, h);
	if (!s->key) {
		s->key = key;
		s->len = len;
		s->hash = h;
		m->n++;
	}
	s->val = val;
	return 0;
}

/* Makes room for one more element in an arena array. */
static int rules_grow(struct sf_ruleset *rs, void **arr, uint32_t *cap, uint32_t n, size_t elsz)
{
	if (n < *cap)
		return 0;
	if (*cap > UINT32_MAX / 2)
		return -ENOMEM;
	uint32_t ncap = *cap ? *cap * 2 : 8;
	void *na = sf_arena_calloc(&rs->arena, ncap, elsz);
	if (!na)
		return -ENOMEM;
	if (n)
		memcpy(na, *arr, (size_t)n * elsz);
	*arr = na;
	*cap = ncap;
	return 0;
}

#define RULES_PUSH(rs, arr, n, cap) rules_grow((rs), (void **)&(arr), &(cap), (n), sizeof(*(arr)))

__attribute__((format(printf, 4, 5))) static int rules_fail(struct sf_ruleset *rs,
							    struct rl_loc loc, int rc,
							    const char *fmt, ...)
{
	if (rs->failed)
		return rc;
	rs->failed = true;
	if (!rs->err || !rs->errlen)
		return rc;
	int n = 0;
	if (loc.file < rs->nfiles)
		n = snprintf(rs->err, rs->errlen, "%s:%u: ", rs->files[loc.file], loc.line);
	if (n < 0 || (size_t)n >= rs->errlen)
		return rc;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rs->err + n, rs->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return rc;
}

static int rules_nomem(struct sf_ruleset *rs)
{
	struct rl_loc none = {UINT32_MAX, 0};
	return rules_fail(rs, none, -ENOMEM, "out of memory loading rules");
}

__attribute__((format(printf, 2, 3))) static void rules_warn(struct sf_ruleset *rs, const char *fmt,
							     ...)
{
	va_list ap;
	va_start(ap, fmt);
	char line[1024];
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (sf_buf_append(&rs->warn, line, strlen(line)) == 0)
		sf_buf_append(&rs->warn, "\n", 1);
}

/* a + " " + b, in the arena. */
static char *rules_concat(struct sf_ruleset *rs, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *d = sf_arena_alloc(&rs->arena, la + lb + 2);
	if (!d)
		return NULL;
	memcpy(d, a, la);
	d[la] = ' ';
	memcpy(d + la + 1, b, lb + 1);
	return d;
}

/* ---- priorities ------------------------------------------------------- */

static const char *const rules_prio_names[] = {"Emergency", "Alert",  "Critical",      "Error",
					       "Warning",   "Notice", "Informational", "Debug"};

const char *sf_priority_name(enum sf_priority p)
{
	if ((unsigned)p >= sizeof(rules_prio_names) / sizeof(rules_prio_names[0]))
		return "Debug";
	return rules_prio_names[p];
}

int sf_priority_parse(const char *s, enum sf_priority *out)
{
	for (size_t i = 0; i < sizeof(rules_prio_names) / sizeof(rules_prio_names[0]); i++) {
		if (strcasecmp(s, rules_prio_names[i]) == 0 ||
		    (i == SF_PRIO_INFORMATIONAL && strcasecmp(s, "info") == 0)) {
			*out = (enum sf_priority)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- YAML helpers ----------------------------------------------------- */

struct rl_yctx {
	struct sf_ruleset *rs;
	yaml_document_t *doc;
	uint32_t file;
};

static struct rl_loc rules_loc(const struct rl_yctx *y, const yaml_node_t *n)
{
	struct rl_loc l = {y->file, (uint32_t)n->start_mark.line + 1};
	return l;
}

static bool rules_scalar_is(const yaml_node_t *n, const char *s)
{
	return n && n->type == YAML_SCALAR_NODE && n->data.scalar.length == strlen(s) &&
	       memcmp(n->data.scalar.value, s, n->data.scalar.length) == 0;
}

/* YAML null: an empty plain scalar, ~ or null. */
static bool rules_is_null(const yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return n->data.scalar.length == 0 || rules_scalar_is(n, "~") ||
	       rules_scalar_is(n, "null") || rules_scalar_is(n, "Null") ||
	       rules_scalar_is(n, "NULL");
}

/* The value of key in a mapping (the first one, like yaml-cpp), or NULL. */
static yaml_node_t *rules_get(const struct rl_yctx *y, const yaml_node_t *map, const char *key)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(y->doc, p->key);
		if (rules_scalar_is(k, key))
			return yaml_document_get_node(y->doc, p->value);
	}
	return NULL;
}

/* Refuses keys not in allowed (NULL-terminated). */
static int rules_check_keys(const struct rl_yctx *y, const yaml_node_t *map, const char *what,
			    const char *name, const char *const *allowed)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(y->doc, p->key);
		bool ok = false;
		for (size_t i = 0; allowed[i] && !ok; i++)
			ok = rules_scalar_is(k, allowed[i]);
		if (ok)
			continue;
		if (k && k->type == YAML_SCALAR_NODE)
			return rules_fail(
			    y->rs, rules_loc(y, k), -EINVAL, "%s '%s': unknown key '%.*s'", what,
			    name, (int)(k->data.scalar.length > 64 ? 64 : k->data.scalar.length),
			    (const char *)k->data.scalar.value);
		return rules_fail(y->rs, rules_loc(y, k ? k : map), -EINVAL,
				  "%s '%s': keys must be strings", what, name);
	}
	return 0;
}

static int rules_spend(const struct rl_yctx *y, const yaml_node_t *n)
{
	if (y->rs->budget == 0)
		return rules_fail(y->rs, rules_loc(y, n), -E2BIG,
				  "rules file too large or too repetitive");
	y->rs->budget--;
	return 0;
}

/* A scalar as an arena string. nonempty: refuse "". */
static int rules_str(const struct rl_yctx *y, const yaml_node_t *n, const char *what, bool nonempty,
		     char **out)
{
	int rc = rules_spend(y, n);
	if (rc)
		return rc;
	if (n->type != YAML_SCALAR_NODE)
		return rules_fail(y->rs, rules_loc(y, n), -EINVAL, "%s: expected a string", what);
	const char *v = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;
	if (memchr(v, '\0', len))
		return rules_fail(y->rs, rules_loc(y, n), -EINVAL, "%s: NUL byte in string", what);
	if (nonempty && len == 0)
		return rules_fail(y->rs, rules_loc(y, n), -EINVAL, "%s: value must not be empty",
				  what);
	*out = sf_arena_strndup(&y->rs->arena, v, len);
	return *out ? 0 : rules_nomem(y->rs);
}

static int rules_bool(const struct rl_yctx *y, const yaml_node_t *n, const char *what, bool *out)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
					  "YES",  "on",   "On",   "ON",  NULL};
	static const char *const no[] = {"false", "False", "FALSE", "no",  "No",
					 "NO",    "off",   "Off",   "OFF", NULL};
	for (size_t i = 0; yes[i]; i++) {
		if (rules_scalar_is(n, yes[i])) {
			*out = true;
			return 0;
		}
		if (rules_scalar_is(n, no[i])) {
			*out = false;
			return 0;
		}
	}
	return rules_fail(y->rs, rules_loc(y, n), -EINVAL, "%s: expected true or false", what);
}

/* A sequence of scalars appended to *items (arena array). */
static int rules_strseq(const struct rl_yctx *y, const yaml_node_t *n, const char *what,
			char ***items, uint32_t *cnt, uint32_t *cap)
{
	if (rules_is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return rules_fail(y->rs, rules_loc(y, n), -EINVAL, "%s: expected a sequence", what);
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *v = yaml_document_get_node(y->doc, *it);
		if (!v || v->type != YAML_SCALAR_NODE)
			return rules_fail(y->rs, rules_loc(y, v ? v : n), -EINVAL,
					  "%s: items must be strings", what);
		char *s;
		int rc = rules_str(y, v, what, false, &s);
		if (rc)
			return rc;
		if (RULES_PUSH(y->rs, *items, *cnt, *cap))
			return rules_nomem(y->rs);
		(*items)[(*cnt)++] = s;
	}
	return 0;
}

/* ---- exceptions ------------------------------------------------------- */

static int rules_exval(const struct rl_yctx *y, const yaml_node_t *n, const char *what,
		       unsigned depth, struct rl_exval *out)
{
	memset(out, 0, sizeof(*out));
	out->valid = true;
	if (n->type == YAML_SCALAR_NODE)
		return rules_str(y, n, what, true, &out->item);
	if (n->type != YAML_SEQUENCE_NODE || depth >= 3)
		return rules_fail(y->rs, rules_loc(y, n), -EINVAL,
				  "%s: expected a string or a sequence of strings", what);
	out->is_list = true;
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	out->items = sf_arena_calloc(&y->rs->arena, cnt ? cnt : 1, sizeof(*out->items));
	if (!out->items)
		return rules_nomem(y->rs);
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *v = yaml_document_get_node(y->doc, *it);
		if (!v)
			return rules_fail(y->rs, rules_loc(y, n), -EINVAL, "%s: bad node", what);
		int rc = rules_exval(y, v, what, depth + 1, &out->items[out->n]);
		if (rc)
			return rc;
		out->n++;
	}
	return 0;
}

/* Reads an `exceptions:` sequence into a fresh array. */
static int rules_read_exceptions(const struct rl_yctx *y, const yaml_node_t *n, const char *rule,
				 struct rl_exception **out, uint32_t *cnt, uint32_t *cap)
{
	static const char *const keys[] = {"name", "fields", "comps", "values", NULL};
	*out = NULL;
	*cnt = *cap = 0;
	if (rules_is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return rules_fail(y->rs, rules_loc(y, n), -EINVAL,
				  "rule '%s': exceptions must be a sequence", rule);
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *e = yaml_document_get_node(y->doc, *it);
		if (!e || e->type != YAML_MAPPING_NODE)
			return rules_fail(y->rs, rules_loc(y, e ? e : n), -EINVAL,
					  "rule '%s': each exception must be a mapping", rule);
		yaml_node_t *name = rules_get(y, e, "name");
		if (!name)
			return rules_fail(y->rs, rules_loc(y, e), -EINVAL,
					  "rule '%s': exception without a name", rule);
		if (RULES_PUSH(y->rs, *out, *cnt, *cap))
			return rules_nomem(y->rs);
		struct rl_exception *x = &(*out)[*cnt];
		memset(x, 0, sizeof(*x));
		x->loc = rules_loc(y, e);
		int rc = rules_str(y, name, "exception name", true, &x->name);
		if (!rc)
			rc = rules_check_keys(y, e, "exception", x->name, keys);
		yaml_node_t *f = rules_get(y, e, "fields");
		if (!rc && f)
			rc = rules_exval(y, f, "exception fields", 1, &x->fields);
		yaml_node_t *c = rules_get(y, e, "comps");
		if (!rc && c)
			rc = rules_exval(y, c, "exception comps", 1, &x->comps);
		yaml_node_t *vals = rules_get(y, e, "values");
		if (!rc && vals && !rules_is_null(vals)) {
			if (vals->type != YAML_SEQUENCE_NODE)
				return rules_fail(y->rs, rules_loc(y, vals), -EINVAL,
						  "rule '%s': exception values must be a sequence",
						  rule);
			for (yaml_node_item_t *vi = vals->data.sequence.items.start;
			     !rc && vi < vals->data.sequence.items.top; vi++) {
				yaml_node_t *v = yaml_document_get_node(y->doc, *vi);
				if (RULES_PUSH(y->rs, x->values, x->nvalues, x->capvalues))
					return rules_nomem(y->rs);
				rc = rules_exval(y, v ? v : vals, "exception values", 1,
						 &x->values[x->nvalues]);
				if (!rc)
					x->nvalues++;
			}
		}
		if (rc)
			return rc;
		(*cnt)++;
	}
	return 0;
}

static void rules_trim(char *s)
{
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	size_t k = 0;
	while (isspace((unsigned char)s[k]))
		k++;
	memmove(s, s + k, n - k + 1);
}

/* Checks an exception as Falco does when it is defined, filling in the
 * default comparison operators. */
static int rules_validate_exception(struct sf_ruleset *rs, const struct sf_rule *r,
				    struct rl_exception *x)
{
	char msg[256];
	struct sf_field f;
	if (!x->fields.valid)
		return rules_fail(rs, x->loc, -EINVAL, "rule '%s': exception '%s' has no fields",
				  r->name, x->name);
	if (x->fields.is_list) {
		if (!x->comps.valid) {
			x->comps.valid = x->comps.is_list = true;
			x->comps.n = x->fields.n;
			x->comps.items = sf_arena_calloc(&rs->arena, x->fields.n ? x->fields.n : 1,
							 sizeof(*x->comps.items));
			if (!x->comps.items)
				return rules_nomem(rs);
			for (uint32_t i = 0; i < x->fields.n; i++) {
				x->comps.items[i].valid = true;
				x->comps.items[i].item = sf_arena_strdup(&rs->arena, "=");
				if (!x->comps.items[i].item)
					return rules_nomem(rs);
			}
		}
		if (!x->comps.is_list || x->comps.n != x->fields.n)
			return rules_fail(rs, x->loc, -EINVAL,
					  "rule '%s': exception '%s': fields and comps lists must "
					  "have equal length",
					  r->name, x->name);
		for (uint32_t i = 0; i < x->fields.n; i++) {
			struct rl_exval *fv = &x->fields.items[i], *cv = &x->comps.items[i];
			if (fv->is_list || cv->is_list)
				return rules_fail(
				    rs, x->loc, -EINVAL,
				    "rule '%s': exception '%s': fields and comps must be strings",
				    r->name, x->name);
			rules_trim(cv->item);
			if (sf_cond_check_op(cv->item, msg, sizeof(msg)))
				return rules_fail(rs, x->loc, -EINVAL,
						  "rule '%s': exception '%s': %s", r->name, x->name,
						  msg);
			if (r->ours && sf_field_parse(fv->item, strlen(fv->item), &f))
				return rules_fail(rs, x->loc, -EINVAL,
						  "rule '%s': exception '%s': '%s' is not a "
						  "supported filter field",
						  r->name, x->name, fv->item);
		}
		return 0;
	}
	if (!x->comps.valid) {
		x->comps.valid = true;
		x->comps.item = sf_arena_strdup(&rs->arena, "in");
		if (!x->comps.item)
			return rules_nomem(rs);
	}
	if (x->comps.is_list)
		return rules_fail(
		    rs, x->loc, -EINVAL,
		    "rule '%s': exception '%s': fields and comps must both be strings", r->name,
		    x->name);
	rules_trim(x->comps.item);
	if (!sf_cond_op_is_list(x->comps.item))
		return rules_fail(rs, x->loc, -EINVAL,
				  "rule '%s': exception '%s': with a single field, comps must be "
				  "one of in, pmatch, "
				  "intersects",
				  r->name, x->name);
	if (r->ours && sf_field_parse(x->fields.item, strlen(x->fields.item), &f))
		return rules_fail(rs, x->loc, -EINVAL,
				  "rule '%s': exception '%s': '%s' is not a supported filter field",
				  r->name, x->name, x->fields.item);
	return 0;
}

/* Adds exceptions of an append/override to rule r: values of a known name
 * are appended to it, a new name is a new exception. */
static int rules_append_exceptions(struct sf_ruleset *rs, struct sf_rule *r,
				   struct rl_exception *xs, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct rl_exception *x = &xs[i], *prev = NULL;
		for (uint32_t k = 0; k < r->nexc && !prev; k++)
			if (strcmp(r->exc[k].name, x->name) == 0)
				prev = &r->exc[k];
		if (!prev) {
			if (!x->values)
				return rules_fail(rs, x->loc, -EINVAL,
						  "rule '%s': new exception '%s' has no values",
						  r->name, x->name);
			int rc = rules_validate_exception(rs, r, x);
			if (rc)
				return rc;
			if (RULES_PUSH(rs, r->exc, r->nexc, r->capexc))
				return rules_nomem(rs);
			r->exc[r->nexc++] = *x;
			continue;
		}
		if (x->fields.valid || x->comps.valid)
			return rules_fail(
			    rs, x->loc, -EINVAL,
			    "rule '%s': exception '%s' exists: only its values can be appended",
			    r->name, x->name);
		for (uint32_t k = 0; k < x->nvalues; k++) {
			if (RULES_PUSH(rs, prev->values, prev->nvalues, prev->capvalues))
				return rules_nomem(rs);
			prev->values[prev->nvalues++] = x->values[k];
		}
	}
	return 0;
}

/* ---- top-level items -------------------------------------------------- */

/* "x.y.z" into three numbers; integers N mean 0.N.0 (Falco). */
static int rules_semver(const char *s, unsigned long v[3])
{
	char *end;
	v[0] = v[1] = v[2] = 0;
	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	unsigned long a = strtoul(s, &end, 10);
	if (*end == '\0') {
		v[1] = a;
		return 0;
	}
	v[0] = a;
	for (int i = 1; i < 3; i++) {
		if (*end != '.' || !isdigit((unsigned char)end[1]))
			return -EINVAL;
		v[i] = strtoul(end + 1, &end, 10);
	}
	return *end == '\0' ? 0 : -EINVAL;
}

static int rules_item_engine_version(const struct rl_yctx *y, const yaml_node_t *item)
{
	static const char *const keys[] = {"required_engine_version", NULL};
	yaml_node_t *v = rules_get(y, item, "required_engine_version");
	char *s;
	int rc = rules_str(y, v, "required_engine_version", true, &s);
	if (rc)
		return rc;
	rc = rules_check_keys(y, item, "item", "required_engine_version", keys);
	if (rc)
		return rc;
	unsigned long need[3], have[3];
	if (rules_semver(s, need))
		return rules_fail(y->rs, rules_loc(y, v), -EINVAL,
				  "required_engine_version: '%s' is not a version (N or x.y.z)", s);
	rules_semver(SF_RULES_ENGINE_VERSION, have);
	bool newer =
	    need[0] != have[0] || need[1] > have[1] || (need[1] == have[1] && need[2] > have[2]);
	if (newer)
		return rules_fail(
		    y->rs, rules_loc(y, v), -EPROTONOSUPPORT,
		    "rules require engine version %lu.%lu.%lu, but engine version is %s", need[0],
		    need[1], need[2], SF_RULES_ENGINE_VERSION);
	return 0;
}

/* override: {key: append or replace}; bit i of app and rep is keys[i]. */
static int rules_overrides(const struct rl_yctx *y, const yaml_node_t *ov, const char *what,
			   const char *name, const char *const *keys, unsigned appendable,
			   unsigned replaceable, unsigned *app, unsigned *rep)
{
	*app = *rep = 0;
	if (!ov)
		return 0;
	if (ov->type != YAML_MAPPING_NODE)
		return rules_fail(y->rs, rules_loc(y, ov), -EINVAL,
				  "%s '%s': override must be a mapping", what, name);
	for (yaml_node_pair_t *p = ov->data.mapping.pairs.start; p < ov->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(y->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
		int idx = -1;
		for (int i = 0; keys[i] && idx < 0; i++)
			if (rules_scalar_is(k, keys[i]))
				idx = i;
		if (idx < 0 || !(((appendable | replaceable) >> idx) & 1u))
			return rules_fail(
			    y->rs, rules_loc(y, k ? k : ov), -EINVAL,
			    "%s '%s': key '%.*s' cannot be overridden", what, name,
			    k && k->type == YAML_SCALAR_NODE
				? (int)(k->data.scalar.length > 64 ? 64 : k->data.scalar.length)
				: 1,
			    k && k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value
							     : "?");
		if (rules_scalar_is(v, "append")) {
			if (!((appendable >> idx) & 1u))
				return rules_fail(y->rs, rules_loc(y, v), -EINVAL,
						  "%s '%s': key '%s' cannot be appended to, use "
						  "'replace' instead",
						  what, name, keys[idx]);
			*app |= 1u << idx;
		} else if (rules_scalar_is(v, "replace")) {
			if (!((replaceable >> idx) & 1u))
				return rules_fail(y->rs, rules_loc(y, v), -EINVAL,
						  "%s '%s': key '%s' cannot be replaced", what,
						  name, keys[idx]);
			*rep |= 1u << idx;
		} else {
			return rules_fail(
			    y->rs, rules_loc(y, v ? v : ov), -EINVAL,
			    "%s '%s': invalid override operation for key '%s' (append or replace)",
			    what, name, keys[idx]);
		}
	}
	return 0;
}

/* A list's or macro's old-style `append: true` or new-style `override:`
 * (only one of the two); *append says whether the item extends an earlier
 * one rather than replacing it. */
static int rules_append_mode(const struct rl_yctx *y, const yaml_node_t *item, const char *kind,
			     const char *name, const char *const *okeys, bool *append)
{
	*append = false;
	yaml_node_t *ap = rules_get(y, item, "append");
	int rc = ap ? rules_bool(y, ap, "append", append) : 0;
	if (rc)
		return rc;
	unsigned oa, orp;
	rc = rules_overrides(y, rules_get(y, item, "override"), kind, name, okeys, 1, 1, &oa, &orp);
	if (rc)
		return rc;
	if (*append && (oa | orp))
		return rules_fail(y->rs, rules_loc(y, item), -EINVAL,
				  "%s '%s': 'append' and 'override' cannot be used together", kind,
				  name);
	*append = *append || oa;
	return 0;
}

static int rules_item_list(const struct rl_yctx *y, const yaml_node_t *item)
{
	static const char *const keys[] = {"list", "items", "append", "override", NULL};
	static const char *const okeys[] = {"items", NULL};
	struct sf_ruleset *rs = y->rs;
	char *name;
	int rc = rules_str(y, rules_get(y, item, "list"), "list name", true, &name);
	if (rc)
		return rc;
	rc = rules_check_keys(y, item, "list", name, keys);
	if (rc)
		return rc;
	yaml_node_t *items = rules_get(y, item, "items");
	if (!items)
		return rules_fail(rs, rules_loc(y, item), -EINVAL, "list '%s': missing 'items'",
				  name);
	bool append;
	rc = rules_append_mode(y, item, "list", name, okeys, &append);
	if (rc)
		return rc;
	struct rl_list *l = rules_map_get(&rs->list_map, name, strlen(name));
	if (append) {
		if (!l)
			return rules_fail(rs, rules_loc(y, item), -EINVAL,
					  "list '%s': append to a list that is not defined", name);
		return rules_strseq(y, items, "list items", &l->items, &l->n, &l->cap);
	}
	if (!l) {
		l = sf_arena_alloc(&rs->arena, sizeof(*l));
		if (!l || RULES_PUSH(rs, rs->lists, rs->nlists, rs->caplists))
			return rules_nomem(rs);
		l->name = name;
		rs->lists[rs->nlists++] = l;
		if (rules_map_put(&rs->list_map, name, strlen(name), l))
			return rules_nomem(rs);
	}
	l->items = NULL;
	l->n = l->cap = 0;
	l->loc = rules_loc(y, item);
	return rules_strseq(y, items, "list items", &l->items, &l->n, &l->cap);
}

static int rules_item_macro(const struct rl_yctx *y, const yaml_node_t *item)
{
	static const char *const keys[] = {"macro", "condition", "append", "override", NULL};
	static const char *const okeys[] = {"condition", NULL};
	struct sf_ruleset *rs = y->rs;
	char *name, *cond;
	int rc = rules_str(y, rules_get(y, item, "macro"), "macro name", true, &name);
	if (rc)
		return rc;
	rc = rules_check_keys(y, item, "macro", name, keys);
	if (rc)
		return rc;
	yaml_node_t *cn = rules_get(y, item, "condition");
	if (!cn)
		return rules_fail(rs, rules_loc(y, item), -EINVAL,
				  "macro '%s': missing 'condition'", name);
	rc = rules_str(y, cn, "condition", true, &cond);
	if (rc)
		return rc;
	bool append;
	rc = rules_append_mode(y, item, "macro", name, okeys, &append);
	if (rc)
		return rc;
	struct rl_macro *m = rules_map_get(&rs->macro_map, name, strlen(name));
	if (append) {
		if (!m)
			return rules_fail(rs, rules_loc(y, item), -EINVAL,
					  "macro '%s': append to a macro that is not defined",
					  name);
		m->cond = rules_concat(rs, m->cond, cond);
		return m->cond ? 0 : rules_nomem(rs);
	}
	if (!m) {
		m = sf_arena_alloc(&rs->arena, sizeof(*m));
		if (!m || RULES_PUSH(rs, rs->macros, rs->nmacros, rs->capmacros))
			return rules_nomem(rs);
		m->name = name;
		rs->macros[rs->nmacros++] = m;
		if (rules_map_put(&rs->macro_map, name, strlen(name), m))
			return rules_nomem(rs);
	}
	m->cond = cond;
	m->loc = rules_loc(y, item);
	m->cond_loc = rules_loc(y, cn);
	m->cond_style = cn->data.scalar.style;
	return 0;
}

enum {
	RK_CONDITION,
	RK_OUTPUT,
	RK_DESC,
	RK_PRIORITY,
	RK_TAGS,
	RK_EXCEPTIONS,
	RK_ENABLED,
	RK_WARN_EVTTYPES,
	RK_SKIP_UNKNOWN,
	RK_CAPTURE,
	RK_CAPTURE_DURATION,
};

static const char *const rules_rule_okeys[] = {"condition",
					       "output",
					       "desc",
					       "priority",
					       "tags",
					       "exceptions",
					       "enabled",
					       "warn_evttypes",
					       "skip-if-unknown-filter",
					       "capture",
					       "capture_duration",
					       NULL};

#define RK(k) (1u << (k))
#define RK_APPENDABLE                                                                              \
	(RK(RK_CONDITION) | RK(RK_OUTPUT) | RK(RK_DESC) | RK(RK_TAGS) | RK(RK_EXCEPTIONS))
#define RK_REPLACEABLE 0x7ffu

static int rules_priority(const struct rl_yctx *y, const yaml_node_t *n, const char *rule,
			  enum sf_priority *out)
{
	char *s;
	int rc = rules_str(y, n, "priority", true, &s);
	if (rc)
		return rc;
	if (sf_priority_parse(s, out))
		return rules_fail(
		    y->rs, rules_loc(y, n), -EINVAL,
		    "rule '%s': unknown priority '%s' (emergency, alert, critical, error, warning, "
		    "notice, informational, debug)",
		    rule, s);
	return 0;
}

/* Applies the keys selected by mask from item to rule r, appending (app)
 * or replacing. */
static int rules_apply(const struct rl_yctx *y, const yaml_node_t *item, struct sf_rule *r,
		       unsigned mask, bool app)
{
	struct sf_ruleset *rs = y->rs;
	int rc = 0;
	for (unsigned k = 0; rules_rule_okeys[k]; k++) {
		if (!((mask >> k) & 1u))
			continue;
		yaml_node_t *v = rules_get(y, item, rules_rule_okeys[k]);
		char *s = NULL;
		switch (k) {
		case RK_CONDITION:
		case RK_OUTPUT:
		case RK_DESC: {
			rc = rules_str(y, v, rules_rule_okeys[k], !app, &s);
			if (rc)
				return rc;
			char **field = k == RK_CONDITION ? &r->cond
				       : k == RK_OUTPUT  ? &r->output
							 : &r->desc;
			if (k == RK_OUTPUT)
				rules_trim(s);
			if (app && !s[0])
				break;
			*field = app ? rules_concat(rs, *field, s) : s;
			if (!*field)
				return rules_nomem(rs);
			if (k == RK_CONDITION && !app) {
				r->cond_loc = rules_loc(y, v);
				r->cond_style = v->data.scalar.style;
			}
			if (k == RK_OUTPUT && !app)
				r->output_loc = rules_loc(y, v);
			break;
		}
		case RK_PRIORITY:
			rc = rules_priority(y, v, r->name, &r->prio);
			break;
		case RK_TAGS:
			if (app) {
				char **tags = NULL;
				uint32_t n = 0, cap = 0;
				rc = rules_strseq(y, v, "tags", &tags, &n, &cap);
				for (uint32_t i = 0; !rc && i < n; i++) {
					bool dup = false;
					for (uint32_t j = 0; j < r->ntags && !dup; j++)
						dup = strcmp(r->tags[j], tags[i]) == 0;
					if (dup)
						continue;
					if (RULES_PUSH(rs, r->tags, r->ntags, r->captags))
						return rules_nomem(rs);
					r->tags[r->ntags++] = tags[i];
				}
			} else {
				r->tags = NULL;
				r->ntags = r->captags = 0;
				rc = rules_strseq(y, v, "tags", &r->tags, &r->ntags, &r->captags);
			}
			break;
		case RK_EXCEPTIONS: {
			struct rl_exception *xs;
			uint32_t n, cap;
			rc = rules_read_exceptions(y, v, r->name, &xs, &n, &cap);
			if (rc)
				return rc;
			if (app) {
				rc = rules_append_exceptions(rs, r, xs, n);
			} else {
				for (uint32_t i = 0; i < n && !rc; i++)
					rc = rules_validate_exception(rs, r, &xs[i]);
				r->exc = xs;
				r->nexc = n;
				r->capexc = cap;
			}
			break;
		}
		case RK_ENABLED:
			rc = rules_bool(y, v, "enabled", &r->enabled);
			break;
		case RK_WARN_EVTTYPES:
			rc = rules_bool(y, v, "warn_evttypes", &r->warn_evttypes);
			break;
		case RK_SKIP_UNKNOWN:
			rc = rules_bool(y, v, "skip-if-unknown-filter", &r->skip_unknown);
			break;
		default: /* capture, capture_duration: no captures here */
			break;
		}
		if (rc)
			return rc;
	}
	return 0;
}

static int rules_item_rule(const struct rl_yctx *y, const yaml_node_t *item)
{
	static const char *const keys[] = {"rule",
					   "condition",
					   "output",
					   "desc",
					   "priority",
					   "source",
					   "enabled",
					   "capture",
					   "capture_duration",
					   "warn_evttypes",
					   "skip-if-unknown-filter",
					   "tags",
					   "exceptions",
					   "override",
					   "append",
					   NULL};
	struct sf_ruleset *rs = y->rs;
	struct rl_loc loc = rules_loc(y, item);
	char *name, *source = NULL;
	int rc = rules_str(y, rules_get(y, item, "rule"), "rule name", true, &name);
	if (rc)
		return rc;
	rc = rules_check_keys(y, item, "rule", name, keys);
	if (rc)
		return rc;
	yaml_node_t *src = rules_get(y, item, "source");
	rc = src && !rules_is_null(src) ? rules_str(y, src, "source", false, &source) : 0;
	if (rc)
		return rc;
	if (source && !source[0])
		source = NULL;
	bool append = false;
	yaml_node_t *ap = rules_get(y, item, "append");
	rc = ap ? rules_bool(y, ap, "append", &append) : 0;
	if (rc)
		return rc;
	unsigned oa, orp;
	rc = rules_overrides(y, rules_get(y, item, "override"), "rule", name, rules_rule_okeys,
			     RK_APPENDABLE, RK_REPLACEABLE, &oa, &orp);
	if (rc)
		return rc;
	if (append && (oa | orp))
		return rules_fail(rs, loc, -EINVAL,
				  "rule '%s': 'append' and 'override' cannot be used together",
				  name);
	struct sf_rule *prev = rules_map_get(&rs->rule_map, name, strlen(name));
	if (prev && source && prev->source && strcmp(prev->source, source) != 0)
		return rules_fail(rs, loc, -EINVAL,
				  "rule '%s' has been re-defined with a different source", name);

	if (oa | orp) {
		unsigned present = 0;
		for (unsigned k = 0; rules_rule_okeys[k]; k++)
			if (rules_get(y, item, rules_rule_okeys[k]))
				present |= 1u << k;
		for (unsigned k = 0; rules_rule_okeys[k]; k++) {
			unsigned bit = 1u << k;
			if ((present & bit) && !((oa | orp) & bit))
				return rules_fail(
				    rs, rules_loc(y, rules_get(y, item, rules_rule_okeys[k])),
				    -EINVAL, "rule '%s': key '%s' has no entry under 'override'",
				    name, rules_rule_okeys[k]);
			if (!(present & bit) && ((oa | orp) & bit))
				return rules_fail(
				    rs, loc, -EINVAL,
				    "rule '%s': an override for '%s' was given but '%s' is not",
				    name, rules_rule_okeys[k], rules_rule_okeys[k]);
		}
		if (!prev)
			return rules_fail(rs, loc, -EINVAL,
					  "rule '%s': override of a rule that is not defined",
					  name);
		rc = rules_apply(y, item, prev, oa, true);
		if (!rc)
			rc = rules_apply(y, item, prev, orp, false);
		return rc;
	}
	if (append) {
		static const char *const extra[] = {"output", "desc",    "priority",
						    "tags",   "enabled", NULL};
		if (!prev)
			return rules_fail(rs, loc, -EINVAL,
					  "rule '%s': append to a rule that is not defined", name);
		for (size_t k = 0; extra[k]; k++)
			if (rules_get(y, item, extra[k]))
				return rules_fail(rs, loc, -EINVAL,
						  "rule '%s': with 'append: true' only condition "
						  "and exceptions are "
						  "appended ('%s' is not); use 'override'",
						  name, extra[k]);
		unsigned mask = 0;
		if (rules_get(y, item, "condition"))
			mask |= RK(RK_CONDITION);
		if (rules_get(y, item, "exceptions"))
			mask |= RK(RK_EXCEPTIONS);
		if (!mask)
			return rules_fail(
			    rs, loc, -EINVAL,
			    "rule '%s': appended rule must have a condition or exceptions", name);
		return rules_apply(y, item, prev, mask, true);
	}
	bool full = rules_get(y, item, "condition") || rules_get(y, item, "output") ||
		    rules_get(y, item, "desc") || rules_get(y, item, "priority");
	if (!full) {
		yaml_node_t *en = rules_get(y, item, "enabled");
		if (!en)
			return rules_fail(rs, loc, -EINVAL, "rule '%s': missing 'condition'", name);
		if (!prev)
			return rules_fail(
			    rs, loc, -EINVAL,
			    "rule '%s': 'enabled' given but no rule by that name exists", name);
		return rules_bool(y, en, "enabled", &prev->enabled);
	}
	static const char *const required[] = {"condition", "output", "desc", "priority", NULL};
	for (size_t k = 0; required[k]; k++)
		if (!rules_get(y, item, required[k]))
			return rules_fail(rs, loc, -EINVAL, "rule '%s': missing '%s'", name,
					  required[k]);
	struct sf_rule *r = prev;
	if (!r) {
		r = sf_arena_alloc(&rs->arena, sizeof(*r));
		if (!r || RULES_PUSH(rs, rs->rules, rs->nrules, rs->caprules))
			return rules_nomem(rs);
		rs->rules[rs->nrules++] = r;
		if (rules_map_put(&rs->rule_map, name, strlen(name), r))
			return rules_nomem(rs);
	}
	memset(r, 0, sizeof(*r));
	r->name = name;
	r->loc = loc;
	r->source = source ? source : "syscall";
	r->ours = strcmp(r->source, "syscall") == 0;
	r->enabled = true;
	r->warn_evttypes = true;
	unsigned mask = RK(RK_CONDITION) | RK(RK_OUTPUT) | RK(RK_DESC) | RK(RK_PRIORITY);
	for (unsigned k = RK_TAGS; rules_rule_okeys[k]; k++)
		if (rules_get(y, item, rules_rule_okeys[k]))
			mask |= 1u << k;
	return rules_apply(y, item, r, mask, false);
}

static int rules_item(const struct rl_yctx *y, const yaml_node_t *item)
{
	if (item->type != YAML_MAPPING_NODE)
		return rules_fail(y->rs, rules_loc(y, item), -EINVAL,
				  "unexpected element type: each item must be a mapping (rule, "
				  "macro, list, ...)");
	if (rules_get(y, item, "required_engine_version"))
		return rules_item_engine_version(y, item);
	if (rules_get(y, item, "required_plugin_versions"))
		return 0; /* no plugins here: nothing to check */
	if (rules_get(y, item, "list"))
		return rules_item_list(y, item);
	if (rules_get(y, item, "macro"))
		return rules_item_macro(y, item);
	if (rules_get(y, item, "rule"))
		return rules_item_rule(y, item);
	yaml_node_pair_t *p = item->data.mapping.pairs.start;
	yaml_node_t *k =
	    p < item->data.mapping.pairs.top ? yaml_document_get_node(y->doc, p->key) : NULL;
	if (k && k->type == YAML_SCALAR_NODE)
		return rules_fail(y->rs, rules_loc(y, item), -EINVAL,
				  "unknown top-level item '%.*s' (expected rule, macro, list, "
				  "required_engine_version or required_plugin_versions)",
				  (int)(k->data.scalar.length > 64 ? 64 : k->data.scalar.length),
				  (const char *)k->data.scalar.value);
	return rules_fail(y->rs, rules_loc(y, item), -EINVAL, "unknown top-level item");
}

static int rules_doc(struct sf_ruleset *rs, yaml_document_t *doc, uint32_t file)
{
	struct rl_yctx y = {rs, doc, file};
	yaml_node_t *root = yaml_document_get_root_node(doc);
	if (rules_is_null(root))
		return 0;
	if (root->type != YAML_SEQUENCE_NODE)
		return rules_fail(rs, rules_loc(&y, root), -EINVAL,
				  "rules content must be a YAML sequence of items (- rule: ...)");
	for (yaml_node_item_t *it = root->data.sequence.items.start;
	     it < root->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(doc, *it);
		if (!item || rules_is_null(item))
			continue;
		int rc = rules_item(&y, item);
		if (rc)
			return rc;
	}
	return 0;
}

/* Line of a byte offset, for libyaml errors that only give an offset. */
static uint32_t rules_offset_line(const char *data, size_t len, size_t off)
{
	uint32_t line = 1;
	for (size_t i = 0; i < off && i < len; i++)
		if (data[i] == '\n')
			line++;
	return line;
}

static const char *rules_basename(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static int rules_load_data(struct sf_ruleset *rs, const char *name, const char *data, size_t len)
{
	int rc = 0;
	if (RULES_PUSH(rs, rs->files, rs->nfiles, rs->capfiles))
		return rules_nomem(rs);
	rs->files[rs->nfiles] = sf_arena_strdup(&rs->arena, name);
	if (!rs->files[rs->nfiles])
		return rules_nomem(rs);
	uint32_t file = rs->nfiles++;
	struct rl_loc top = {file, 1};

	const char *base = rules_basename(name);
	char lenbuf[32];
	snprintf(lenbuf, sizeof(lenbuf), "%zu", len);
	if (sf_sha256_update(&rs->sha, base, strlen(base) + 1) ||
	    sf_sha256_update(&rs->sha, lenbuf, strlen(lenbuf) + 1) ||
	    sf_sha256_update(&rs->sha, data, len))
		return rules_nomem(rs);

	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser))
		return rules_nomem(rs);
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	for (;;) {
		yaml_document_t doc;
		if (!yaml_parser_load(&parser, &doc)) {
			struct rl_loc at = top;
			if (parser.error == YAML_MEMORY_ERROR) {
				rc = rules_nomem(rs);
				break;
			}
			if (parser.error == YAML_READER_ERROR)
				at.line = rules_offset_line(data, len, parser.problem_offset);
			else
				at.line = (uint32_t)parser.problem_mark.line + 1;
			rc = rules_fail(rs, at, -EINVAL, "YAML error: %s%s%s",
					parser.problem ? parser.problem : "unknown",
					parser.context ? " " : "",
					parser.context ? parser.context : "");
			break;
		}
		bool end = yaml_document_get_root_node(&doc) == NULL;
		if (!end)
			rc = rules_doc(rs, &doc, file);
		yaml_document_delete(&doc);
		if (end || rc)
			break;
	}
	yaml_parser_delete(&parser);
	return rc;
}

/* ---- compiling -------------------------------------------------------- */

static int rules_macro_compile(struct sf_ruleset *rs, struct rl_macro *m);

/* Expands list l: items naming other lists are replaced by their items,
 * quoted items are unquoted; a list that (indirectly) names itself keeps
 * the name as a plain item. */
static int rules_list_expand(struct sf_ruleset *rs, struct rl_list *l)
{
	if (l->state == 2)
		return 0;
	l->state = 1;
	rs->list_depth++;
	int rc = 0;
	struct sf_str *out = NULL;
	size_t n = 0, cap = 0;
	for (uint32_t i = 0; i < l->n; i++) {
		const char *it = l->items[i];
		size_t len = strlen(it);
		struct sf_str one = {it, len};
		const struct sf_str *add = &one;
		size_t nadd = 1;
		struct rl_list *ref = NULL;
		if (len >= 2 && (it[0] == '"' || it[0] == '\'') && it[len - 1] == it[0]) {
			struct sf_str u;
			rc = sf_cond_unquote(&rs->arena, it, len, &u);
			if (rc == -ENOMEM)
				goto out;
			if (rc == 0)
				one = u;
			rc = 0;
		} else {
			ref = rules_map_get(&rs->list_map, it, len);
		}
		if (ref && ref->state != 1 && rs->list_depth < SF_COND_MAX_DEPTH) {
			rc = rules_list_expand(rs, ref);
			if (rc)
				goto out;
			add = ref->exp;
			nadd = ref->nexp;
		}
		if (n + nadd > RULES_LIST_MAX) {
			rc = -E2BIG;
			goto out;
		}
		if (n + nadd > cap) {
			size_t ncap = cap ? cap : 16;
			while (ncap < n + nadd)
				ncap *= 2;
			struct sf_str *no = realloc(out, ncap * sizeof(*no));
			if (!no) {
				rc = -ENOMEM;
				goto out;
			}
			out = no;
			cap = ncap;
		}
		memcpy(out + n, add, nadd * sizeof(*add));
		n += nadd;
	}
	l->exp = sf_arena_calloc(&rs->arena, n ? n : 1, sizeof(*l->exp));
	if (!l->exp) {
		rc = -ENOMEM;
		goto out;
	}
	if (n)
		memcpy(l->exp, out, n * sizeof(*out));
	l->nexp = n;
	l->state = 2;
out:
	if (rc)
		l->state = 0;
	rs->list_depth--;
	free(out);
	return rc;
}

static int rules_env_list(void *arg, const char *name, size_t len, const struct sf_str **items,
			  size_t *n)
{
	struct sf_ruleset *rs = arg;
	struct rl_list *l = rules_map_get(&rs->list_map, name, len);
	if (!l)
		return -ENOENT;
	int rc = rules_list_expand(rs, l);
	if (rc)
		return rc;
	*items = l->exp;
	*n = l->nexp;
	return 0;
}

static int rules_env_macro(void *arg, const char *name, size_t len, const struct sf_cnode **out,
			   struct sf_cond_err *err)
{
	struct sf_ruleset *rs = arg;
	struct rl_macro *m = rules_map_get(&rs->macro_map, name, len);
	if (!m)
		return -ENOENT;
	if (m->state == RL_MACRO_BUSY || rs->macro_depth >= SF_COND_MAX_DEPTH) {
		err->kind = SF_CERR_MACRO;
		err->located = true;
		snprintf(err->msg, sizeof(err->msg), "%s:%u: macro '%s' %s", rs->files[m->loc.file],
			 m->loc.line, m->name,
			 m->state == RL_MACRO_BUSY ? "refers to itself"
						   : "nests macros too deeply");
		return -EINVAL;
	}
	if (m->state == RL_MACRO_NEW)
		rules_macro_compile(rs, m);
	if (m->state != RL_MACRO_OK) {
		err->kind = m->errkind;
		err->located = true;
		snprintf(err->msg, sizeof(err->msg), "%s", m->errmsg ? m->errmsg : "out of memory");
		return m->errkind == SF_CERR_NOMEM ? -ENOMEM : -EINVAL;
	}
	*out = m->node;
	return 0;
}

/* The file line a condition error points at: literal blocks keep their
 * lines, other scalars are reported at their first line. */
static uint32_t rules_cond_line(struct rl_loc loc, int style, const struct sf_cond_err *e)
{
	if (style == YAML_LITERAL_SCALAR_STYLE)
		return loc.line + (e->line ? e->line : 1);
	if (style == YAML_FOLDED_SCALAR_STYLE)
		return loc.line + 1;
	return loc.line;
}

static int rules_macro_compile(struct sf_ruleset *rs, struct rl_macro *m)
{
	struct sf_cond_env env = {&rs->arena, rs, rules_env_list, rules_env_macro};
	struct sf_cond_err err;
	m->state = RL_MACRO_BUSY;
	rs->macro_depth++;
	int rc = sf_cond_compile(m->cond, &env, &m->node, &err);
	rs->macro_depth--;
	if (!rc) {
		m->state = RL_MACRO_OK;
		/* A macro is evaluated once per event however many rules use it
		 * (its root may be another macro's: then they share a slot). */
		struct sf_cnode *root = (struct sf_cnode *)m->node;
		if (!root->memo && rs->nmemo + 1 < SF_RULES_MEMO)
			root->memo = (uint16_t)++rs->nmemo;
		return 0;
	}
	m->state = RL_MACRO_FAILED;
	m->errkind = err.kind;
	char msg[768];
	if (err.located)
		snprintf(msg, sizeof(msg), "%s", err.msg);
	else
		snprintf(msg, sizeof(msg), "%s:%u: macro '%s': %s", rs->files[m->cond_loc.file],
			 rules_cond_line(m->cond_loc, m->cond_style, &err), m->name, err.msg);
	m->errmsg = sf_arena_strdup(&rs->arena, msg);
	return rc;
}

/* Appends s to b the way Falco writes a value into generated conditions:
 * quoted when it holds a blank (and is not quoted already). */
static int rules_quote_item(struct sf_buf *b, const char *s)
{
	if (strchr(s, ' ') && s[0] != '"' && s[0] != '\'')
		return sf_buf_appendf(b, "\"%s\"", s);
	return sf_buf_append(b, s, strlen(s));
}

/* The rule's condition with its exceptions: (cond) and not (...) ... */
static int rules_build_cond(struct sf_ruleset *rs, struct sf_rule *r)
{
	struct sf_buf b = {0};
	int rc = 0;
	if (!r->nexc) {
		r->full_cond = r->cond;
		return 0;
	}
	rc = sf_buf_appendf(&b, "(%s)", r->cond);
	for (uint32_t i = 0; !rc && i < r->nexc; i++) {
		struct rl_exception *x = &r->exc[i];
		if (!x->nvalues)
			continue;
		rc = sf_buf_append(&b, " and not (", 10);
		for (uint32_t v = 0; !rc && v < x->nvalues; v++) {
			struct rl_exval *val = &x->values[v];
			if (!x->fields.is_list) {
				if (val->is_list) {
					rc = rules_fail(rs, x->loc, -EINVAL,
							"rule '%s': exception '%s': with a single "
							"field, values must be "
							"a list of strings",
							r->name, x->name);
					break;
				}
				rc = v ? sf_buf_append(&b, ", ", 2)
				       : sf_buf_appendf(&b, "%s %s (", x->fields.item,
							x->comps.item);
				if (!rc)
					rc = rules_quote_item(&b, val->item);
				if (!rc && b.len > RULES_COND_MAX)
					rc = rules_fail(
					    rs, r->loc, -E2BIG,
					    "rule '%s': condition with exceptions too long",
					    r->name);
				continue;
			}
			if (!val->is_list || val->n != x->fields.n) {
				rc = rules_fail(rs, x->loc, -EINVAL,
						"rule '%s': exception '%s': each value must be a "
						"list as long as fields (%u)",
						r->name, x->name, x->fields.n);
				break;
			}
			rc = sf_buf_append(&b, v ? " or (" : "(", v ? 5 : 1);
			for (uint32_t k = 0; !rc && k < x->fields.n; k++) {
				const struct rl_exval *it = &val->items[k];
				const char *op = x->comps.items[k].item;
				rc = sf_buf_appendf(&b, "%s%s %s ", k ? " and " : "",
						    x->fields.items[k].item, op);
				if (rc)
					break;
				if (it->is_list) {
					rc = sf_buf_append(&b, "(", 1);
					for (uint32_t j = 0; !rc && j < it->n; j++) {
						if (it->items[j].is_list) {
							rc =
							    rules_fail(rs, x->loc, -EINVAL,
								       "rule '%s': exception '%s': "
								       "values nested too deeply",
								       r->name, x->name);
							break;
						}
						if (j)
							rc = sf_buf_append(&b, ", ", 2);
						if (!rc)
							rc =
							    rules_quote_item(&b, it->items[j].item);
					}
					if (!rc)
						rc = sf_buf_append(&b, ")", 1);
				} else if (sf_cond_op_is_list(op) && it->item[0] != '(') {
					rc = sf_buf_appendf(&b, "(%s)", it->item);
				} else {
					rc = rules_quote_item(&b, it->item);
				}
			}
			if (!rc)
				rc = sf_buf_append(&b, ")", 1);
			if (!rc && b.len > RULES_COND_MAX)
				rc = rules_fail(rs, r->loc, -E2BIG,
						"rule '%s': condition with exceptions too long",
						r->name);
		}
		if (!rc && !x->fields.is_list)
			rc = sf_buf_append(&b, ")", 1);
		if (!rc)
			rc = sf_buf_append(&b, ")", 1);
		if (!rc && b.len > RULES_COND_MAX)
			rc = rules_fail(rs, r->loc, -E2BIG,
					"rule '%s': condition with exceptions too long", r->name);
	}
	if (rc) {
		if (rc == -ENOMEM || rc == -EOVERFLOW)
			rc = rules_nomem(rs);
		goto out;
	}
	r->full_cond = sf_arena_strndup(&rs->arena, b.data, b.len);
	if (!r->full_cond)
		rc = rules_nomem(rs);
out:
	sf_buf_free(&b);
	return rc;
}

/* A field reference at s (after '%'): "proc.name", "proc.aname[2]",
 * "evt.arg.flags"; the longest prefix that names a field, like Falco. */
static size_t rules_out_field(const char *s, struct sf_field *f)
{
	size_t j = 0;
	if (!isalpha((unsigned char)s[0]))
		return 0;
	while (isalnum((unsigned char)s[j]) || s[j] == '_')
		j++;
	while (s[j] == '.' && isalpha((unsigned char)s[j + 1])) {
		j++;
		while (isalnum((unsigned char)s[j]) || s[j] == '_')
			j++;
	}
	if (s[j] == '[') {
		const char *close = strchr(s + j, ']');
		if (close)
			j = (size_t)(close - s) + 1;
	}
	for (; j > 0; j--)
		if (sf_field_parse(s, j, f) == 0)
			return j;
	return 0;
}

/* Splits the output into literal text and fields. Returns 0, -ENOMEM, or
 * -ENOENT with the reason in why when a '%' is not followed by a field. */
static int rules_compile_output(struct sf_ruleset *rs, struct sf_rule *r, char *why, size_t whylen)
{
	const char *s = r->output;
	size_t lit = 0, i = 0;
	struct rl_otok *toks = NULL;
	uint32_t n = 0, cap = 0;
	for (;;) {
		if (s[i] != '%' && s[i] != '\0') {
			i++;
			continue;
		}
		if (i > lit) {
			if (RULES_PUSH(rs, toks, n, cap))
				return rules_nomem(rs);
			toks[n].text = s + lit;
			toks[n].len = i - lit;
			n++;
		}
		if (s[i] == '\0')
			break;
		size_t at = i++;
		int width = 0;
		while (isdigit((unsigned char)s[i]) && width < 10000)
			width = width * 10 + (s[i++] - '0');
		struct sf_field f;
		size_t flen = 0, start = i;
		if (s[i] == '(') {
			const char *close = strchr(s + i, ')');
			start = i + 1;
			if (close &&
			    sf_field_parse(s + start, (size_t)(close - s) - start, &f) == 0) {
				flen = (size_t)(close - s) - start;
				i = (size_t)(close - s) + 1;
			}
		} else {
			flen = rules_out_field(s + i, &f);
			i += flen;
		}
		if (!flen) {
			snprintf(why, whylen, "unknown field after '%%' at column %zu near '%.20s'",
				 at + 1, s + at);
			return -ENOENT;
		}
		if (RULES_PUSH(rs, toks, n, cap))
			return rules_nomem(rs);
		struct rl_otok *t = &toks[n++];
		t->text = s + start;
		t->len = flen;
		t->is_field = true;
		t->width = width;
		t->field = f;
		lit = i;
	}
	r->otoks = toks;
	r->notoks = n;
	r->ofields = sf_arena_calloc(&rs->arena, n ? n : 1, sizeof(*r->ofields));
	if (!r->ofields)
		return rules_nomem(rs);
	for (uint32_t k = 0; k < n; k++) {
		if (!toks[k].is_field)
			continue;
		bool dup = false;
		for (uint32_t j = 0; j < r->nofields && !dup; j++) {
			const struct rl_otok *o = &toks[r->ofields[j]];
			dup = o->len == toks[k].len && memcmp(o->text, toks[k].text, o->len) == 0;
		}
		if (!dup)
			r->ofields[r->nofields++] = k;
	}
	return 0;
}

static int rules_compile_rule(struct sf_ruleset *rs, struct sf_rule *r)
{
	int rc = rules_build_cond(rs, r);
	if (rc)
		return rc;
	struct sf_cond_env env = {&rs->arena, rs, rules_env_list, rules_env_macro};
	struct sf_cond_err err;
	rc = sf_cond_compile(r->full_cond, &env, &r->node, &err);
	if (rc) {
		if (err.kind == SF_CERR_FIELD && r->skip_unknown) {
			r->skipped = true;
			rules_warn(rs, "rule '%s' skipped (skip-if-unknown-filter): %s", r->name,
				   err.msg);
			return 0;
		}
		if (rc == -ENOMEM || err.kind == SF_CERR_NOMEM)
			return rules_nomem(rs);
		struct rl_loc none = {UINT32_MAX, 0};
		if (err.located)
			return rules_fail(rs, none, -EINVAL, "%s (used by rule '%s')", err.msg,
					  r->name);
		struct rl_loc at = r->cond_loc;
		at.line = rules_cond_line(r->cond_loc, r->cond_style, &err);
		return rules_fail(rs, at, -EINVAL, "rule '%s': condition: %s", r->name, err.msg);
	}
	char why[160];
	rc = rules_compile_output(rs, r, why, sizeof(why));
	if (rc == -ENOENT && r->skip_unknown) {
		r->skipped = true;
		rules_warn(rs, "rule '%s' skipped (skip-if-unknown-filter): output: %s", r->name,
			   why);
		return 0;
	}
	if (rc == -ENOENT)
		return rules_fail(rs, r->output_loc, -EINVAL, "rule '%s': output: %s", r->name,
				  why);
	return rc ? rules_nomem(rs) : 0;
}

static int rules_type_name(void *arg, const struct sf_str *s)
{
	struct sf_ruleset *rs = arg;
	if (rules_map_get(&rs->type_map, s->s, s->len))
		return 0;
	rs->ntypes++;
	return rules_map_put(&rs->type_map, s->s, s->len, (void *)(uintptr_t)rs->ntypes);
}

static int rules_type_index(void *arg, const struct sf_str *s)
{
	struct sf_ruleset *rs = arg;
	uintptr_t v = (uintptr_t)rules_map_get(&rs->type_map, s->s, s->len);
	return v ? (int)v - 1 : -1;
}

/* Builds the per-event-type rule lists. */
static int rules_index(struct sf_ruleset *rs)
{
	rs->ntypes = 0;
	for (uint32_t i = 0; i < rs->nours; i++)
		if (sf_cond_evttype_names(rs->ours[i]->node, rules_type_name, rs))
			return rules_nomem(rs);
	uint32_t other = rs->ntypes++;
	size_t words = (rs->ntypes + 63) / 64;
	uint32_t *count = calloc(rs->ntypes + 1u, sizeof(*count));
	if (!count)
		return rules_nomem(rs);
	int rc = 0;
	for (uint32_t i = 0; i < rs->nours; i++) {
		struct sf_rule *r = rs->ours[i];
		r->types = sf_arena_calloc(&rs->arena, words, sizeof(*r->types));
		if (!r->types ||
		    sf_cond_evttypes(r->node, rs->ntypes, rules_type_index, rs, r->types)) {
			rc = rules_nomem(rs);
			goto out;
		}
		bool all = true;
		for (uint32_t t = 0; t < rs->ntypes; t++) {
			bool on = (r->types[t / 64] >> (t % 64)) & 1u;
			all = all && on;
			if (on && r->enabled)
				count[t]++;
		}
		r->all_types = all;
		if (all && r->warn_evttypes)
			rules_warn(rs,
				   "rule '%s' has no evt.type restriction: it runs for every event",
				   r->name);
		bool none = !((r->types[other / 64] >> (other % 64)) & 1u);
		for (uint32_t t = 0; t < other && none; t++)
			none = !((r->types[t / 64] >> (t % 64)) & 1u);
		if (none)
			rules_warn(
			    rs,
			    "rule '%s' can never match (its evt.type checks exclude every type)",
			    r->name);
	}
	rs->bucket_start = sf_arena_calloc(&rs->arena, rs->ntypes + 1u, sizeof(*rs->bucket_start));
	size_t total = 0;
	for (uint32_t t = 0; t < rs->ntypes; t++)
		total += count[t];
	rs->bucket_rules =
	    sf_arena_calloc(&rs->arena, total ? total : 1, sizeof(*rs->bucket_rules));
	if (!rs->bucket_start || !rs->bucket_rules) {
		rc = rules_nomem(rs);
		goto out;
	}
	for (uint32_t t = 0; t < rs->ntypes; t++) {
		rs->bucket_start[t + 1] = rs->bucket_start[t] + count[t];
		count[t] = rs->bucket_start[t]; /* now the fill position */
	}
	for (uint32_t i = 0; i < rs->nours; i++) {
		struct sf_rule *r = rs->ours[i];
		if (!r->enabled)
			continue;
		for (uint32_t t = 0; t < rs->ntypes; t++)
			if ((r->types[t / 64] >> (t % 64)) & 1u)
				rs->bucket_rules[count[t]++] = r;
	}
out:
	free(count);
	return rc;
}

static int rules_finish(struct sf_ruleset *rs)
{
	int rc;
	/* Macros first, so that a broken one is reported at its own line even
	 * when unused; unknown fields and bad values in a macro only matter if
	 * a rule uses it (like Falco, which checks fields per rule). */
	for (uint32_t i = 0; i < rs->nmacros; i++) {
		struct rl_macro *m = rs->macros[i];
		if (m->state == RL_MACRO_NEW)
			rules_macro_compile(rs, m);
		if (m->state == RL_MACRO_FAILED &&
		    (m->errkind == SF_CERR_SYNTAX || m->errkind == SF_CERR_MACRO ||
		     m->errkind == SF_CERR_NOMEM)) {
			struct rl_loc none = {UINT32_MAX, 0};
			if (m->errkind == SF_CERR_NOMEM || !m->errmsg)
				return rules_nomem(rs);
			return rules_fail(rs, none, -EINVAL, "%s", m->errmsg);
		}
	}
	rs->ours = sf_arena_calloc(&rs->arena, rs->nrules ? rs->nrules : 1, sizeof(*rs->ours));
	if (!rs->ours)
		return rules_nomem(rs);
	for (uint32_t i = 0; i < rs->nrules; i++) {
		struct sf_rule *r = rs->rules[i];
		if (!r->ours) {
			rules_warn(rs, "rule '%s' skipped: source '%s' is not syscall", r->name,
				   r->source);
			continue;
		}
		rc = rules_compile_rule(rs, r);
		if (rc)
			return rc;
		if (r->skipped)
			continue;
		rs->ours[rs->nours++] = r;
		if (r->enabled)
			rs->nenabled++;
	}
	rc = rules_index(rs);
	if (rc)
		return rc;
	if (sf_sha256_final(&rs->sha, rs->digest))
		return rules_nomem(rs);
	rs->warnings =
	    sf_arena_strndup(&rs->arena, rs->warn.data ? rs->warn.data : "", rs->warn.len);
	if (!rs->warnings)
		return rules_nomem(rs);
	sf_buf_free(&rs->warn);
	return 0;
}

/* ---- public: loading -------------------------------------------------- */

static int rules_new(struct sf_ruleset **out, char *err, size_t errlen)
{
	struct sf_ruleset *rs = calloc(1, sizeof(*rs));
	if (!rs) {
		snprintf(err, errlen, "out of memory loading rules");
		return -ENOMEM;
	}
	if (sf_sha256_init(&rs->sha)) {
		free(rs);
		snprintf(err, errlen, "cannot initialise SHA-256");
		return -ENOMEM;
	}
	rs->sha_ok = true;
	rs->err = err;
	rs->errlen = errlen;
	rs->budget = RULES_SCALAR_BUDGET;
	if (err && errlen)
		err[0] = '\0';
	*out = rs;
	return 0;
}

static int rules_load_path(struct sf_ruleset *rs, const char *path)
{
	char *data = NULL;
	size_t len = 0;
	struct rl_loc none = {UINT32_MAX, 0};
	int rc = sf_read_file(path, SF_RULES_MAX_FILE, &data, &len);
	if (rc == -EFBIG)
		return rules_fail(rs, none, rc, "%s: larger than %u bytes", path,
				  SF_RULES_MAX_FILE);
	if (rc)
		return rules_fail(rs, none, rc, "%s: %s", path, strerror(-rc));
	rc = rules_load_data(rs, path, data, len);
	free(data);
	return rc;
}

static int rules_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool rules_is_yaml(const char *name)
{
	size_t n = strlen(name);
	return name[0] != '.' && ((n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
				  (n > 4 && strcmp(name + n - 4, ".yml") == 0));
}

static int rules_load_dir(struct sf_ruleset *rs, const char *dir)
{
	struct rl_loc none = {UINT32_MAX, 0};
	DIR *d = opendir(dir);
	if (!d)
		return rules_fail(rs, none, -errno, "%s: %s", dir, strerror(errno));
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	for (;;) {
		struct dirent *de = readdir(d);
		if (!de)
			break;
		if (!rules_is_yaml(de->d_name))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nn = realloc(names, ncap * sizeof(*nn));
			if (!nn) {
				rc = rules_nomem(rs);
				goto out;
			}
			names = nn;
			cap = ncap;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			rc = rules_nomem(rs);
			goto out;
		}
		n++;
	}
	qsort(names, n, sizeof(*names), rules_name_cmp);
	for (size_t i = 0; i < n && !rc; i++) {
		char path[4096];
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= (int)sizeof(path)) {
			rc = rules_fail(rs, none, -ENAMETOOLONG, "%s/%s: path too long", dir,
					names[i]);
			break;
		}
		struct stat st;
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
			continue;
		rc = rules_load_path(rs, path);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

static int rules_done(struct sf_ruleset *rs, int rc, struct sf_ruleset **out)
{
	if (!rc)
		rc = rules_finish(rs);
	if (rc) {
		if (!rs->failed)
			rules_fail(rs, (struct rl_loc){UINT32_MAX, 0}, rc, "%s", strerror(-rc));
		sf_rules_free(rs);
		return rc;
	}
	rs->err = NULL;
	rs->errlen = 0;
	*out = rs;
	return 0;
}

int sf_rules_load(struct sf_ruleset **out, const char *const *paths, size_t npaths, char *err,
		  size_t errlen)
{
	struct sf_ruleset *rs;
	*out = NULL;
	int rc = rules_new(&rs, err, errlen);
	if (rc)
		return rc;
	struct rl_loc none = {UINT32_MAX, 0};
	for (size_t i = 0; i < npaths && !rc; i++) {
		struct stat st;
		if (stat(paths[i], &st) != 0)
			rc = rules_fail(rs, none, -errno, "%s: %s", paths[i], strerror(errno));
		else if (S_ISDIR(st.st_mode))
			rc = rules_load_dir(rs, paths[i]);
		else
			rc = rules_load_path(rs, paths[i]);
	}
	return rules_done(rs, rc, out);
}

int sf_rules_load_buffer(struct sf_ruleset **out, const char *name, const void *data, size_t len,
			 char *err, size_t errlen)
{
	struct sf_ruleset *rs;
	*out = NULL;
	int rc = rules_new(&rs, err, errlen);
	if (rc)
		return rc;
	struct rl_loc none = {UINT32_MAX, 0};
	if (len > SF_RULES_MAX_FILE)
		rc = rules_fail(rs, none, -EFBIG, "%s: larger than %u bytes", name,
				SF_RULES_MAX_FILE);
	else
		rc = rules_load_data(rs, name, data, len);
	return rules_done(rs, rc, out);
}

void sf_rules_free(struct sf_ruleset *rs)
{
	if (!rs)
		return;
	if (rs->sha_ok)
		sf_sha256_free(&rs->sha);
	free(rs->rule_map.slots);
	free(rs->macro_map.slots);
	free(rs->list_map.slots);
	free(rs->type_map.slots);
	sf_buf_free(&rs->warn);
	sf_arena_free(&rs->arena);
	free(rs);
}

/* ---- public: accessors ------------------------------------------------ */

const char *sf_rules_digest(const struct sf_ruleset *rs)
{
	return rs->digest;
}

size_t sf_rules_count(const struct sf_ruleset *rs)
{
	return rs->nenabled;
}

size_t sf_rules_total(const struct sf_ruleset *rs)
{
	return rs->nours;
}

const struct sf_rule *sf_rules_at(const struct sf_ruleset *rs, size_t i)
{
	return i < rs->nours ? rs->ours[i] : NULL;
}

const struct sf_rule *sf_rules_find(const struct sf_ruleset *rs, const char *name)
{
	const struct sf_rule *r = rules_map_get(&rs->rule_map, name, strlen(name));
	return r && r->ours && !r->skipped ? r : NULL;
}

const char *sf_rules_warnings(const struct sf_ruleset *rs)
{
	return rs->warnings ? rs->warnings : "";
}

const char *sf_rule_name(const struct sf_rule *r)
{
	return r->name;
}

const char *sf_rule_desc(const struct sf_rule *r)
{
	return r->desc;
}

const char *sf_rule_source(const struct sf_rule *r)
{
	return r->source;
}

const char *sf_rule_output(const struct sf_rule *r)
{
	return r->output;
}

const char *sf_rule_condition(const struct sf_rule *r)
{
	return r->full_cond ? r->full_cond : r->cond;
}

enum sf_priority sf_rule_priority(const struct sf_rule *r)
{
	return r->prio;
}

const char *sf_rule_priority_name(const struct sf_rule *r)
{
	return sf_priority_name(r->prio);
}

size_t sf_rule_ntags(const struct sf_rule *r)
{
	return r->ntags;
}

const char *sf_rule_tag(const struct sf_rule *r, size_t i)
{
	return i < r->ntags ? r->tags[i] : NULL;
}

bool sf_rule_enabled(const struct sf_rule *r)
{
	return r->enabled;
}

bool sf_rule_all_types(const struct sf_rule *r)
{
	return r->all_types;
}

/* ---- public: evaluation ----------------------------------------------- */

void sf_rules_ctx_init(struct sf_rules_ctx *ctx)
{
	ctx->events = ctx->checks = ctx->matches = 0;
	ctx->gen = 0;
	memset(ctx->memo_stamp, 0, sizeof(ctx->memo_stamp));
	ctx->scratch[0] = '\0';
}

/* The type number of ev: hash and length in one pass over the name. */
static uint32_t rules_event_type(const struct sf_ruleset *rs, const char *type)
{
	uint32_t other = rs->ntypes - 1;
	if (!type || !rs->type_map.cap)
		return other;
	uint64_t h = 1469598103934665603ull;
	size_t len = 0;
	for (; type[len]; len++) {
		h ^= (unsigned char)type[len];
		h *= 1099511628211ull;
	}
	const struct rl_slot *s = rules_map_slot(&rs->type_map, type, len, h);
	return s && s->key ? (uint32_t)((uintptr_t)s->val - 1) : other;
}

int sf_rules_eval(const struct sf_ruleset *rs, struct sf_rules_ctx *ctx, const struct sf_event *ev,
		  sf_rules_match_fn on_match, void *arg)
{
	uint32_t t = rules_event_type(rs, ev->type);
	uint32_t from = rs->bucket_start[t], to = rs->bucket_start[t + 1];
	int matches = 0;
	ctx->events++;
	if (++ctx->gen == 0) { /* wrapped: forget every stamp */
		memset(ctx->memo_stamp, 0, sizeof(ctx->memo_stamp));
		ctx->gen = 1;
	}
	struct sf_cond_run run = {.gen = ctx->gen,
				  .nmemo = SF_RULES_MEMO,
				  .stamp = ctx->memo_stamp,
				  .val = ctx->memo_val,
				  .scratch = ctx->scratch,
				  .slen = sizeof(ctx->scratch)};
	for (uint32_t k = from; k < to; k++) {
		const struct sf_rule *r = rs->bucket_rules[k];
		ctx->checks++;
		if (!sf_cond_eval(r->node, ev, &run))
			continue;
		matches++;
		if (on_match)
			on_match(arg, r, ev);
	}
	ctx->matches += (uint64_t)matches;
	return matches;
}

/* ---- public: alerts --------------------------------------------------- */

static char *rules_xstrdup(const char *s)
{
	return strdup(s ? s : "");
}

int sf_rules_alert(const struct sf_ruleset *rs, const struct sf_rule *rule,
		   const struct sf_event *ev, const char *hostname, struct sf_alert *out)
{
	(void)rs;
	int rc = -ENOMEM;
	struct sf_buf b = {0};
	char *val = malloc(SF_RULES_SCRATCH);
	memset(out, 0, sizeof(*out));
	if (!val)
		goto out;
	out->time_ns = ev->time_ns;
	out->priority = rules_xstrdup(sf_priority_name(rule->prio));
	out->rule = rules_xstrdup(rule->name);
	out->source = rules_xstrdup("syscall");
	out->hostname = rules_xstrdup(hostname);
	if (!out->priority || !out->rule || !out->source || !out->hostname)
		goto out;
	for (uint32_t k = 0; k < rule->notoks; k++) {
		const struct rl_otok *t = &rule->otoks[k];
		if (!t->is_field) {
			if (sf_buf_append(&b, t->text, t->len))
				goto out;
			continue;
		}
		sf_field_render(&t->field, ev, val, SF_RULES_SCRATCH);
		int w = (int)strlen(val);
		int width = t->width ? t->width : w;
		if (sf_buf_appendf(&b, "%-*.*s", width, width < w ? width : w, val))
			goto out;
	}
	out->output = b.data ? b.data : strdup("");
	b.data = NULL;
	if (!out->output)
		goto out;
	if (rule->ntags) {
		out->tags = calloc(rule->ntags, sizeof(*out->tags));
		if (!out->tags)
			goto out;
		for (uint32_t k = 0; k < rule->ntags; k++) {
			out->tags[k] = strdup(rule->tags[k]);
			if (!out->tags[k])
				goto out;
			out->ntags++;
		}
	}
	if (rule->nofields) {
		out->fields = calloc(rule->nofields, sizeof(*out->fields));
		if (!out->fields)
			goto out;
		for (uint32_t k = 0; k < rule->nofields; k++) {
			const struct rl_otok *t = &rule->otoks[rule->ofields[k]];
			struct sf_kv *kv = &out->fields[out->nfields];
			sf_field_render(&t->field, ev, val, SF_RULES_SCRATCH);
			kv->key = strndup(t->text, t->len);
			kv->value = strdup(val);
			out->nfields++;
			if (!kv->key || !kv->value)
				goto out;
		}
	}
	rc = 0;
out:
	if (rc)
		sf_alert_free(out);
	sf_buf_free(&b);
	free(val);
	return rc;
}

int sf_rules_field_render(const char *field, const struct sf_event *ev, char *buf, size_t len)
{
	struct sf_field f;
	int rc = sf_field_parse(field, strlen(field), &f);
	if (rc) {
		if (len)
			snprintf(buf, len, "%s", SF_FIELD_NA);
		return rc;
	}
	return sf_field_render(&f, ev, buf, len);
}
