/* output — see output.h. */
#include "output.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "fields.h"
#include "util.h"
#include "wire.h"

/* ---- compiling -------------------------------------------------------- */

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
int sf_output_compile(struct sf_ruleset *rs, struct sf_rule *r, char *why, size_t whylen)
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
			if (SF_RULESET_PUSH(rs, toks, n, cap))
				return sf_ruleset_nomem(rs);
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
		if (SF_RULESET_PUSH(rs, toks, n, cap))
			return sf_ruleset_nomem(rs);
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
		return sf_ruleset_nomem(rs);
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
