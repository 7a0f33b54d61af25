/* query — see query.h. */
#include "query.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

#define QUERY_BIT(p) (1u << (p))
#define QUERY_SUBMIT                                                                    \
	(QUERY_BIT(SF_QP_NAME) | QUERY_BIT(SF_QP_VERSION) | QUERY_BIT(SF_QP_LABELS) |     \
	 QUERY_BIT(SF_QP_NETWORK) | QUERY_BIT(SF_QP_RESCAN))
#define QUERY_PAGING (QUERY_BIT(SF_QP_LIMIT) | QUERY_BIT(SF_QP_CURSOR))

/* What a route takes. */
struct query_spec {
	unsigned takes;	     /* QUERY_BIT of each parameter */
	bool strict;	     /* a key it does not take is refused */
	bool ignore_all;     /* the probes */
	int limit_def, limit_max;
	size_t labels_max;   /* bytes */
};

static const struct query_spec query_specs[SF_QUERY_ROUTES] = {
    [SF_QUERY_NONE] = {.strict = true},
    [SF_QUERY_IGNORED] = {.ignore_all = true},
    [SF_QUERY_PH_REPORT] = {.takes = QUERY_BIT(SF_QP_ID)},
    [SF_QUERY_PH_SUBMIT] = {.takes = QUERY_SUBMIT, .labels_max = 511},
    [SF_QUERY_SCAN_SUBMIT] = {.takes = QUERY_SUBMIT | QUERY_BIT(SF_QP_ECOSYSTEM) |
				       QUERY_BIT(SF_QP_PRIORITY),
			      .strict = true,
			      .labels_max = 511},
    [SF_QUERY_SCAN_LIST] = {.takes = QUERY_PAGING | QUERY_BIT(SF_QP_STATUS) |
				     QUERY_BIT(SF_QP_ARTIFACT),
			    .strict = true,
			    .limit_def = 50,
			    .limit_max = 500},
    [SF_QUERY_ALERTS] = {.takes = QUERY_PAGING | QUERY_BIT(SF_QP_MIN_PRIORITY) |
				  QUERY_BIT(SF_QP_RULE),
			 .strict = true,
			 .limit_def = 100,
			 .limit_max = 1000},
    [SF_QUERY_BATCH_SUBMIT] = {.takes = QUERY_BIT(SF_QP_PRIORITY) | QUERY_BIT(SF_QP_LABELS) |
					QUERY_BIT(SF_QP_RESCAN) | QUERY_BIT(SF_QP_NETWORK),
			       .strict = true,
			       .labels_max = 2047},
    [SF_QUERY_BATCH_VIEW] = {.takes = QUERY_PAGING,
			     .strict = true,
			     .limit_def = 100,
			     .limit_max = 1000},
};

/* Each parameter's key (two share "priority": a route takes one of them). */
static const char *const query_keys[SF_QP_COUNT] = {
    [SF_QP_ID] = "id",		   [SF_QP_ECOSYSTEM] = "ecosystem", [SF_QP_PRIORITY] = "priority",
    [SF_QP_NAME] = "name",	   [SF_QP_VERSION] = "version",	    [SF_QP_LABELS] = "labels",
    [SF_QP_NETWORK] = "network",   [SF_QP_RESCAN] = "rescan",	    [SF_QP_STATUS] = "status",
    [SF_QP_ARTIFACT] = "artifact", [SF_QP_LIMIT] = "limit",	    [SF_QP_CURSOR] = "cursor",
    [SF_QP_MIN_PRIORITY] = "priority", [SF_QP_RULE] = "rule",
};

static int query_fail(struct sf_query_error *err, const char *code, const char *fmt,
		      const char *what)
{
	snprintf(err->code, sizeof(err->code), "%s", code);
	snprintf(err->message, sizeof(err->message), fmt, what);
	return -EINVAL;
}

/* A key as it may be echoed in a message: at most 40 bytes, anything but
 * printable ASCII shown as '?'. */
static void query_key_echo(const struct sf_query_arg *a, char *out, size_t len)
{
	size_t n = a->key_len < len - 1 ? a->key_len : len - 1;
	if (n > 40)
		n = 40;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a->key[i];
		out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[n] = '\0';
}

/* Printable UTF-8 of at most max bytes. */
static bool query_text_ok(const char *v, size_t len, size_t max)
{
	if (len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return false;
	return sf_utf8_valid(v, len);
}

/* Copies a checked value (len < outlen). */
static void query_copy(char *out, size_t outlen, const char *v, size_t len)
{
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, v, len);
	out[len] = '\0';
}

/* Plain decimal (a leading '-' when lo < 0, leading zeros allowed) within
 * lo…hi; never wraps, whatever the number of digits. */
static bool query_int(const char *v, size_t len, long lo, long hi, long *out)
{
	size_t i = 0;
	bool neg = false;
	if (len > 0 && v[0] == '-' && lo < 0) {
		neg = true;
		i = 1;
	}
	if (i == len)
		return false;
	long long x = 0, bound = neg ? -(long long)lo : (long long)hi;
	for (; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (v[i] - '0');
		if (x > bound)
			return false; /* out of range already, so it never overflows */
	}
	if (neg)
		x = -x;
	if (x < lo || x > hi)
		return false;
	*out = (long)x;
	return true;
}

static bool query_is(const char *v, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(v, word, len) == 0;
}

/* One parameter's value into *out. */
static int query_value(const struct query_spec *spec, enum sf_query_param p, const char *v,
		       size_t len, struct sf_query *out, struct sf_query_error *err)
{
	long n;
	switch (p) {
	case SF_QP_ID:
		/* anything but a scan id is an unknown scan: 404, as before */
		if (len == SF_UUID_LEN && memchr(v, '\0', len) == NULL) {
			char id[SF_UUID_LEN + 1];
			query_copy(id, sizeof(id), v, len);
			if (sf_is_uuid(id))
				memcpy(out->id, id, sizeof(id));
		}
		return 0;
	case SF_QP_ECOSYSTEM:
		if (!query_text_ok(v, len, sizeof(out->ecosystem) - 1))
			return query_fail(err, "unsupported_ecosystem", "%s",
					  "only npm projects and packages can be scanned");
		query_copy(out->ecosystem, sizeof(out->ecosystem), v, len);
		return 0;
	case SF_QP_PRIORITY:
		if (!query_int(v, len, -1000, 1000, &n))
			return query_fail(err, "bad_request", "%s", "priority must be -1000 to 1000");
		out->priority = (int)n;
		return 0;
	case SF_QP_LIMIT:
		if (!query_int(v, len, 1, spec->limit_max, &n)) {
			char m[64];
			snprintf(m, sizeof(m), "limit must be 1 to %d", spec->limit_max);
			return query_fail(err, "bad_request", "%s", m);
		}
		out->limit = (int)n;
		return 0;
	case SF_QP_NETWORK:
		if (!query_is(v, len, "sinkhole") && !query_is(v, len, "offline"))
			return query_fail(err, "bad_request", "%s",
					  "network must be sinkhole or offline");
		query_copy(out->network, sizeof(out->network), v, len);
		return 0;
	case SF_QP_RESCAN:
		if (query_is(v, len, "1") || query_is(v, len, "true"))
			out->rescan = true;
		else if (query_is(v, len, "0") || query_is(v, len, "false"))
			out->rescan = false;
		else
			return query_fail(err, "bad_request", "%s",
					  "rescan must be 1, true, 0 or false");
		return 0;
	case SF_QP_STATUS:
		if (!query_is(v, len, "queued") && !query_is(v, len, "running") &&
		    !query_is(v, len, "finished") && !query_is(v, len, "failed"))
			return query_fail(err, "bad_request", "%s",
					  "status must be queued, running, finished or failed");
		query_copy(out->status, sizeof(out->status), v, len);
		return 0;
	case SF_QP_ARTIFACT:
		if (len == SF_SHA256_HEX)
			query_copy(out->artifact, sizeof(out->artifact), v, len);
		if (len != SF_SHA256_HEX || !sf_is_hex(out->artifact, SF_SHA256_HEX)) {
			out->artifact[0] = '\0';
			return query_fail(err, "bad_request", "%s", "artifact must be a sha256 in hex");
		}
		return 0;
	case SF_QP_MIN_PRIORITY: {
		char name[32] = "";
		if (query_text_ok(v, len, sizeof(name) - 1))
			query_copy(name, sizeof(name), v, len);
		if ((out->min_rank = sf_priority_rank(name)) < 0)
			return query_fail(err, "bad_request", "%s",
					  "priority must be a Falco priority: emergency, alert, "
					  "critical, error, warning, notice, informational or debug");
		return 0;
	}
	case SF_QP_NAME:
	case SF_QP_VERSION:
	case SF_QP_LABELS:
	case SF_QP_CURSOR:
	case SF_QP_RULE: {
		char *dst = p == SF_QP_NAME	 ? out->name
			    : p == SF_QP_VERSION ? out->version
			    : p == SF_QP_LABELS	 ? out->labels
			    : p == SF_QP_CURSOR	 ? out->cursor
						 : out->rule;
		size_t cap = p == SF_QP_NAME	  ? sizeof(out->name)
			     : p == SF_QP_VERSION ? sizeof(out->version)
			     : p == SF_QP_LABELS  ? spec->labels_max + 1
			     : p == SF_QP_CURSOR  ? sizeof(out->cursor)
						  : sizeof(out->rule);
		if (!query_text_ok(v, len, cap - 1)) {
			char m[sizeof(err->message)];
			snprintf(m, sizeof(m), "%s: at most %zu bytes of printable UTF-8",
				 query_keys[p], cap - 1);
			return query_fail(err, "bad_request", "%s", m);
		}
		query_copy(dst, cap, v, len);
		return 0;
	}
	case SF_QP_COUNT:
		break;
	}
	return query_fail(err, "bad_request", "%s", "unknown parameter");
}

static int query_too_many(struct sf_query_error *err)
{
	char m[64];
	snprintf(m, sizeof(m), "at most %d query parameters", SF_QUERY_MAX_ARGS);
	return query_fail(err, "bad_request", "%s", m);
}

int sf_query_parse(enum sf_query_route route, const struct sf_query_arg *args, size_t n,
		   struct sf_query *out, struct sf_query_error *err)
{
	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	if ((unsigned)route >= SF_QUERY_ROUTES)
		return query_fail(err, "bad_request", "%s", "no such route");
	const struct query_spec *spec = &query_specs[route];
	memcpy(out->ecosystem, "npm", 4);
	out->limit = spec->limit_def;
	out->min_rank = -1;
	if (spec->ignore_all)
		return 0;
	if (n > SF_QUERY_MAX_ARGS)
		return query_too_many(err);
	for (size_t i = 0; i < n; i++) {
		const struct sf_query_arg *a = &args[i];
		enum sf_query_param p = SF_QP_COUNT;
		for (int k = 0; k < SF_QP_COUNT; k++)
			if ((spec->takes & QUERY_BIT(k)) && a->key_len == strlen(query_keys[k]) &&
			    memcmp(a->key, query_keys[k], a->key_len) == 0) {
				p = (enum sf_query_param)k;
				break;
			}
		char key[48];
		query_key_echo(a, key, sizeof(key));
		if (p == SF_QP_COUNT) {
			if (spec->strict)
				return query_fail(err, "unknown_parameter",
						  "unknown query parameter '%s'", key);
			continue;
		}
		if (out->given & QUERY_BIT(p))
			return query_fail(err, "repeated_parameter", "query parameter '%s' given twice",
					  key);
		out->given |= QUERY_BIT(p);
		int rc = query_value(spec, p, a->value ? a->value : "", a->value ? a->value_len : 0,
				     out, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* What sf_query_read gathers: the first SF_QUERY_MAX_ARGS, and how many. */
struct query_collect {
	struct sf_query_arg args[SF_QUERY_MAX_ARGS];
	size_t n, total;
};

static enum MHD_Result query_collect_one(void *cls, enum MHD_ValueKind kind, const char *key,
					 size_t key_size, const char *value, size_t value_size)
{
	(void)kind;
	struct query_collect *q = cls;
	if (q->total++ >= SF_QUERY_MAX_ARGS)
		return MHD_YES; /* counted, refused below */
	q->args[q->n++] = (struct sf_query_arg){key ? key : "", key ? key_size : 0, value,
						value ? value_size : 0};
	return MHD_YES;
}

int sf_query_read(struct MHD_Connection *c, enum sf_query_route route, struct sf_query *out,
		  struct sf_query_error *err)
{
	struct query_collect q = {.n = 0};
	if ((unsigned)route >= SF_QUERY_ROUTES)
		return sf_query_parse(route, NULL, 0, out, err);
	MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, query_collect_one, &q);
	if (q.total > SF_QUERY_MAX_ARGS && !query_specs[route].ignore_all) {
		memset(out, 0, sizeof(*out));
		return query_too_many(err);
	}
	return sf_query_parse(route, q.args, q.n, out, err);
}
