/* ruleset — see ruleset.h. */
#include "ruleset.h"

#include "fields_absent.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- arena arrays, errors, warnings ----------------------------------- */

/* Makes room for one more element in an arena array. */
int sf_ruleset_grow(struct sf_ruleset *rs, void **arr, uint32_t *cap, uint32_t n, size_t elsz)
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

int sf_ruleset_fail(struct sf_ruleset *rs, struct rl_loc loc, int rc, const char *fmt, ...)
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

int sf_ruleset_nomem(struct sf_ruleset *rs)
{
	struct rl_loc none = {UINT32_MAX, 0};
	return sf_ruleset_fail(rs, none, -ENOMEM, "out of memory loading rules");
}

void sf_ruleset_warn(struct sf_ruleset *rs, const char *fmt, ...)
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
char *sf_ruleset_concat(struct sf_ruleset *rs, const char *a, const char *b)
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

void sf_ruleset_trim(char *s)
{
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	size_t k = 0;
	while (isspace((unsigned char)s[k]))
		k++;
	memmove(s, s + k, n - k + 1);
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
	const struct sf_rule *r = sf_strmap_get(&rs->rule_map, name, strlen(name));
	return r && r->ours && !r->skipped ? r : NULL;
}

const char *sf_rules_warnings(const struct sf_ruleset *rs)
{
	return rs->warnings ? rs->warnings : "";
}

char *sf_rules_absent_fields(const struct sf_ruleset *rs)
{
	struct sf_buf b = {0};
	if (sf_buf_append(&b, "", 1) != 0)
		return NULL;
	b.len = 0;
	for (int k = 0; k < sf_fields_absent_count() && k < (int)sizeof(rs->absent_used) * 8; k++)
		if ((rs->absent_used[k / 8] >> (k % 8)) & 1) {
			const struct sf_field_absent *a = sf_fields_absent_at(k);
			if (sf_buf_appendf(&b, "%s: %s\n", a->name, a->why) != 0) {
				sf_buf_free(&b);
				return NULL;
			}
		}
	return b.data;
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
