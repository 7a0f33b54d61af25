/* falco_alert — see falco_alert.h. */
#include "falco_alert.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "falco_outputs.pb-c.h"

/* The last second whose nanoseconds fit in an int64 (year 2262). */
#define ALERT_MAX_SECONDS 9223372035LL

static const char *const alert_prio_names[] = {"Emergency", "Alert",  "Critical",      "Error",
					       "Warning",   "Notice", "Informational", "Debug"};

const char *sf_falco_priority_name(const char *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < sizeof(alert_prio_names) / sizeof(alert_prio_names[0]); i++)
		if (!strcasecmp(s, alert_prio_names[i]))
			return alert_prio_names[i];
	if (!strcasecmp(s, "info"))
		return "Informational";
	return NULL;
}

/* A copy of at most SF_FALCO_MAX_STRING bytes of s, NUL-free UTF-8. */
static char *alert_str(const char *s, size_t len)
{
	if (len > SF_FALCO_MAX_STRING)
		len = SF_FALCO_MAX_STRING;
	char *c = malloc(len + 1);
	if (!c)
		return NULL;
	memcpy(c, s, len);
	c[len] = '\0';
	sf_utf8_sanitize(c, len);
	return c;
}

static char *alert_cstr(const char *s) { return alert_str(s ? s : "", s ? strlen(s) : 0); }

/* Adds one output field (copies); beyond SF_FALCO_MAX_FIELDS, nothing. */
static int alert_add_field(struct sf_alert *a, const char *key, const char *value, size_t vlen)
{
	if (a->nfields >= SF_FALCO_MAX_FIELDS)
		return 0;
	if (a->nfields % 16 == 0) {
		struct sf_kv *f = realloc(a->fields, (a->nfields + 16) * sizeof(*f));
		if (!f)
			return -ENOMEM;
		a->fields = f;
	}
	struct sf_kv *kv = &a->fields[a->nfields];
	kv->key = alert_cstr(key);
	kv->value = alert_str(value, vlen);
	a->nfields++;
	return kv->key && kv->value ? 0 : -ENOMEM;
}

static int alert_add_tag(struct sf_alert *a, const char *tag)
{
	if (a->ntags >= SF_FALCO_MAX_TAGS)
		return 0;
	if (a->ntags % 8 == 0) {
		char **t = realloc(a->tags, (a->ntags + 8) * sizeof(*t));
		if (!t)
			return -ENOMEM;
		a->tags = t;
	}
	a->tags[a->ntags] = alert_cstr(tag);
	return a->tags[a->ntags++] ? 0 : -ENOMEM;
}

/* Falco's output starts with the event's time and the priority ("12:21:25
 * .123456789: Warning …", or an ISO 8601 time): the rest is the rule's
 * output, which is what the worker's own engine reports. Stripped, so
 * reports read the same with every backend (and repeated alerts are
 * recognised as such). */
static void alert_strip_prefix(struct sf_alert *a)
{
	const char *sep = strstr(a->output, ": ");
	if (!sep || strchr(a->output, ' ') < sep)
		return;
	size_t plen = strlen(a->priority);
	const char *p = sep + 2;
	if (strncasecmp(p, a->priority, plen) != 0 || p[plen] != ' ')
		return;
	p += plen + 1;
	memmove(a->output, p, strlen(p) + 1);
}

/* --- JSON ---------------------------------------------------------------- */

/* "2026-12-01T08:44:22.029778058Z" (Falco's `time`) → unix ns. */
static int alert_parse_time(const char *s, int64_t *ns)
{
	struct tm tm = {0};
	int n = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19)
		return -EPROTO;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	int64_t frac = 0, scale = 1000000000;
	const char *p = s + n;
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++)
			if (scale > 1) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
	}
	if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
		return -EPROTO;
	time_t t = timegm(&tm);
	if (t < 0 || t > ALERT_MAX_SECONDS)
		return -EPROTO;
	*ns = (int64_t)t * 1000000000 + frac;
	return 0;
}

/* One output field's JSON value as text: strings as they are, null as
 * Falco's <NA>, anything else in its compact JSON form. */
static int alert_json_field(struct sf_alert *a, const char *key, json_t *v)
{
	char num[64];
	if (json_is_string(v))
		return alert_add_field(a, key, json_string_value(v), json_string_length(v));
	if (json_is_null(v))
		return alert_add_field(a, key, "<NA>", 4);
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		return alert_add_field(a, key, num, strlen(num));
	}
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!text)
		return -ENOMEM;
	int rc = alert_add_field(a, key, text, strlen(text));
	free(text);
	return rc;
}

/* The members of a JSON alert into a; -EPROTO when the required ones are
 * missing or of the wrong type. */
static int alert_from_json_object(json_t *o, struct sf_alert *a)
{
	json_t *rule = json_object_get(o, "rule"), *prio = json_object_get(o, "priority");
	json_t *output = json_object_get(o, "output"), *time = json_object_get(o, "time");
	json_t *fields = json_object_get(o, "output_fields"), *tags = json_object_get(o, "tags");
	json_t *source = json_object_get(o, "source"), *host = json_object_get(o, "hostname");
	if (!json_is_string(rule) || !json_is_string(prio) ||
	    (output && !json_is_string(output)) || (time && !json_is_string(time)) ||
	    (fields && !json_is_object(fields)) || (tags && !json_is_array(tags)) ||
	    (source && !json_is_string(source)) || (host && !json_is_string(host)))
		return -EPROTO;
	const char *pname = sf_falco_priority_name(json_string_value(prio));
	if (!pname || !json_string_value(rule)[0])
		return -EPROTO;
	if (time && alert_parse_time(json_string_value(time), &a->time_ns))
		return -EPROTO;
	a->priority = alert_cstr(pname);
	a->rule = alert_str(json_string_value(rule), json_string_length(rule));
	a->output = output ? alert_str(json_string_value(output), json_string_length(output))
			   : alert_cstr("");
	a->source = alert_cstr(source ? json_string_value(source) : "syscall");
	a->hostname = alert_cstr(host ? json_string_value(host) : "");
	if (!a->priority || !a->rule || !a->output || !a->source || !a->hostname)
		return -ENOMEM;
	alert_strip_prefix(a);
	const char *key;
	json_t *v;
	int rc = 0;
	json_object_foreach(fields, key, v)
	{
		if ((rc = alert_json_field(a, key, v)))
			return rc;
	}
	size_t i;
	json_array_foreach(tags, i, v)
	{
		if (!json_is_string(v))
			return -EPROTO;
		if ((rc = alert_add_tag(a, json_string_value(v))))
			return rc;
	}
	return 0;
}

int sf_falco_alert_from_json(const char *buf, size_t len, struct sf_alert *out)
{
	if (len > SF_FALCO_MAX_ALERT)
		return -EMSGSIZE;
	json_error_t jerr;
	json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return -EPROTO;
	struct sf_alert a = {0};
	int rc = json_is_object(o) ? alert_from_json_object(o, &a) : -EPROTO;
	json_decref(o);
	if (rc) {
		sf_alert_free(&a);
		return rc;
	}
	*out = a;
	return 0;
}

/* --- protobuf ------------------------------------------------------------ */

/* json_output=true puts the alert's JSON text in `output`: its message. */
static int alert_unwrap_json_output(struct sf_alert *a)
{
	if (a->output[0] != '{')
		return 0;
	json_t *o = json_loads(a->output, JSON_REJECT_DUPLICATES, NULL);
	json_t *msg = json_is_object(o) ? json_object_get(o, "output") : NULL;
	int rc = 0;
	if (json_is_string(msg)) {
		char *s = alert_str(json_string_value(msg), json_string_length(msg));
		if (s) {
			free(a->output);
			a->output = s;
		} else {
			rc = -ENOMEM;
		}
	}
	json_decref(o);
	return rc;
}

static int alert_from_response(const Falco__Outputs__Response *r, struct sf_alert *a)
{
	if ((unsigned)r->priority >= sizeof(alert_prio_names) / sizeof(alert_prio_names[0]) ||
	    !r->rule || !r->rule[0])
		return -EPROTO;
	if (r->time) {
		if (r->time->nanos < 0 || r->time->nanos > 999999999 || r->time->seconds < 0 ||
		    r->time->seconds > ALERT_MAX_SECONDS)
			return -EPROTO;
		a->time_ns = r->time->seconds * 1000000000 + r->time->nanos;
	}
	a->priority = alert_cstr(alert_prio_names[r->priority]);
	a->rule = alert_cstr(r->rule);
	a->output = alert_cstr(r->output);
	a->source = alert_cstr(r->source && r->source[0] ? r->source : "syscall");
	a->hostname = alert_cstr(r->hostname);
	if (!a->priority || !a->rule || !a->output || !a->source || !a->hostname)
		return -ENOMEM;
	int rc;
	for (size_t i = 0; i < r->n_output_fields; i++) {
		const Falco__Outputs__Field *f = r->output_fields[i];
		const char *v = f->value ? f->value : "";
		if ((rc = alert_add_field(a, f->key ? f->key : "", v, strlen(v))))
			return rc;
	}
	for (size_t i = 0; i < r->n_tags; i++)
		if ((rc = alert_add_tag(a, r->tags[i])))
			return rc;
	if ((rc = alert_unwrap_json_output(a)))
		return rc;
	alert_strip_prefix(a);
	return 0;
}

int sf_falco_alert_from_pb(const uint8_t *buf, size_t len, struct sf_alert *out)
{
	if (len > SF_FALCO_MAX_ALERT)
		return -EMSGSIZE;
	Falco__Outputs__Response *r = falco__outputs__response__unpack(NULL, len, buf);
	if (!r)
		return -EPROTO;
	struct sf_alert a = {0};
	int rc = alert_from_response(r, &a);
	falco__outputs__response__free_unpacked(r, NULL);
	if (rc) {
		sf_alert_free(&a);
		return rc;
	}
	*out = a;
	return 0;
}

/* --- where it came from -------------------------------------------------- */

const char *sf_falco_alert_field(const struct sf_alert *a, const char *key)
{
	for (uint32_t i = 0; i < a->nfields; i++)
		if (!strcmp(a->fields[i].key, key))
			return a->fields[i].value;
	return NULL;
}

int sf_falco_cgroup_name(const char *cgroups, const char *parent, char *name, size_t namelen)
{
	char needle[128];
	if (!cgroups || snprintf(needle, sizeof(needle), "=/%s/", parent) >= (int)sizeof(needle))
		return -ENOENT;
	const char *p = strstr(cgroups, needle);
	if (!p)
		return -ENOENT;
	p += strlen(needle);
	size_t n = 0;
	while (p[n] && p[n] != ' ' && p[n] != '/') {
		if (!isalnum((unsigned char)p[n]) && p[n] != '.' && p[n] != '_' && p[n] != '-')
			return -EPROTO;
		n++;
	}
	if (n == 0 || n >= namelen)
		return -EPROTO;
	memcpy(name, p, n);
	name[n] = '\0';
	return 0;
}
