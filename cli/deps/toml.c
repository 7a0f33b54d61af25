/* toml — see toml.h. */
#include "toml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "depset.h"
#include "util.h"

#define TOML_KEY_MAX 1024

struct toml {
	const char *p, *end;
	int line;
	char why[160];
};

static int toml_err(struct toml *t, const char *why)
{
	if (!t->why[0])
		snprintf(t->why, sizeof(t->why), "%s", why);
	return -EPROTO;
}

static int toml_peek(const struct toml *t)
{
	return t->p < t->end ? (unsigned char)*t->p : -1;
}

/* Spaces and tabs. */
static void toml_ws(struct toml *t)
{
	while (t->p < t->end && (*t->p == ' ' || *t->p == '\t'))
		t->p++;
}

/* Spaces, a comment, then a newline or the end; false if something else. */
static bool toml_eol(struct toml *t)
{
	toml_ws(t);
	if (toml_peek(t) == '#')
		while (t->p < t->end && *t->p != '\n')
			t->p++;
	if (toml_peek(t) == '\r' && t->p + 1 < t->end && t->p[1] == '\n')
		t->p++;
	if (toml_peek(t) == '\n') {
		t->p++;
		t->line++;
		return true;
	}
	return t->p == t->end;
}

/* Whitespace, comments and newlines (inside arrays). */
static void toml_ws_nl(struct toml *t)
{
	for (;;) {
		toml_ws(t);
		int c = toml_peek(t);
		if (c == '#' || c == '\n' || c == '\r') {
			if (!toml_eol(t))
				return;
			continue;
		}
		return;
	}
}

/* Appends the UTF-8 of code point cp. */
static int toml_utf8(struct sf_buf *b, unsigned long cp)
{
	unsigned char u[4];
	size_t n;
	if (cp >= 0xd800 && cp <= 0xdfff)
		return -EPROTO;
	if (cp < 0x80) {
		u[0] = (unsigned char)cp, n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6), u[1] = (unsigned char)(0x80 | (cp & 0x3f)), n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f)), n = 3;
	} else if (cp <= 0x10ffff) {
		u[0] = (unsigned char)(0xf0 | cp >> 18);
		u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f)), n = 4;
	} else {
		return -EPROTO;
	}
	return sf_buf_append(b, u, n);
}

/* One escape after a backslash in a basic string. */
static int toml_escape(struct toml *t, struct sf_buf *b)
{
	int c = toml_peek(t);
	static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
	const char *k = c > 0 ? strchr(from, c) : NULL;
	if (k) {
		t->p++;
		return sf_buf_append(b, &to[k - from], 1);
	}
	if (c == 'u' || c == 'U') {
		size_t n = c == 'u' ? 4 : 8;
		t->p++;
		if ((size_t)(t->end - t->p) < n || !sf_dep_hex(t->p, n))
			return toml_err(t, "bad \\u escape");
		char hex[9] = {0};
		memcpy(hex, t->p, n);
		t->p += n;
		return toml_utf8(b, strtoul(hex, NULL, 16)) == 0 ? 0 : toml_err(t, "bad code point");
	}
	return toml_err(t, "unknown escape");
}

/* A string of any of the four kinds at t->p (its opening quote). */
static int toml_string(struct toml *t, struct sf_buf *b)
{
	char q = *t->p;
	bool multi = t->end - t->p >= 3 && t->p[1] == q && t->p[2] == q;
	t->p += multi ? 3 : 1;
	if (multi && toml_peek(t) == '\n') /* a newline right after the quotes is dropped */
		t->p++, t->line++;
	else if (multi && toml_peek(t) == '\r' && t->p + 1 < t->end && t->p[1] == '\n')
		t->p += 2, t->line++;
	for (;;) {
		if (t->p >= t->end)
			return toml_err(t, "unterminated string");
		char c = *t->p;
		if (c == q && (!multi || (t->end - t->p >= 3 && t->p[1] == q && t->p[2] == q))) {
			t->p += multi ? 3 : 1;
			/* up to two more quotes may end a multi-line string */
			for (int extra = 0; multi && extra < 2 && toml_peek(t) == q; extra++)
				if (sf_buf_append(b, t->p++, 1))
					return -ENOMEM;
			return sf_buf_append(b, "", 1); /* NUL, not counted by the caller */
		}
		if (c == '\n') {
			if (!multi)
				return toml_err(t, "newline in a string");
			t->line++;
		}
		t->p++;
		int rc;
		if (c == '\\' && q == '"') {
			if (multi && (toml_peek(t) == '\n' || toml_peek(t) == ' ' ||
				      toml_peek(t) == '\t' || toml_peek(t) == '\r')) {
				/* a line-ending backslash trims the whitespace after it */
				while (t->p < t->end && strchr(" \t\r\n", *t->p))
					t->line += *t->p++ == '\n';
				continue;
			}
			rc = toml_escape(t, b);
		} else if ((unsigned char)c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
			rc = toml_err(t, "control character in a string");
		} else {
			rc = sf_buf_append(b, &c, 1);
		}
		if (rc)
			return rc;
	}
}

/* A key part: bare (A-Za-z0-9_-) or quoted. */
static int toml_key_part(struct toml *t, char *out)
{
	int c = toml_peek(t);
	if (c == '"' || c == '\'') {
		struct sf_buf b = {0};
		int rc = toml_string(t, &b);
		if (rc == 0 && (b.len - 1 >= TOML_KEY_MAX || memchr(b.data, '\0', b.len - 1)))
			rc = toml_err(t, "key too long or holding a NUL");
		if (rc == 0)
			memcpy(out, b.data, b.len);
		sf_buf_free(&b);
		return rc;
	}
	size_t n = 0;
	while (t->p < t->end && (strchr("_-", *t->p) || (*t->p >= 'a' && *t->p <= 'z') ||
				 (*t->p >= 'A' && *t->p <= 'Z') || (*t->p >= '0' && *t->p <= '9'))) {
		if (n + 1 >= TOML_KEY_MAX)
			return toml_err(t, "key too long");
		out[n++] = *t->p++;
	}
	out[n] = '\0';
	return n ? 0 : toml_err(t, "expected a key");
}

/* A dotted key into parts[]; *n parts. */
static int toml_key(struct toml *t, char (*parts)[TOML_KEY_MAX], size_t *n)
{
	*n = 0;
	for (;;) {
		if (*n == TOML_MAX_KEYS)
			return toml_err(t, "too many dotted parts");
		toml_ws(t);
		int rc = toml_key_part(t, parts[(*n)++]);
		if (rc)
			return rc;
		toml_ws(t);
		if (toml_peek(t) != '.')
			return 0;
		t->p++;
	}
}

static int toml_value(struct toml *t, int depth, json_t **out);

/* [a, b, …] with newlines and comments between the values. */
static int toml_array(struct toml *t, int depth, json_t **out)
{
	json_t *arr = json_array();
	if (!arr)
		return -ENOMEM;
	t->p++;
	for (;;) {
		toml_ws_nl(t);
		if (toml_peek(t) == ']') {
			t->p++;
			*out = arr;
			return 0;
		}
		json_t *v = NULL;
		int rc = toml_value(t, depth + 1, &v);
		if (rc == 0 && json_array_append_new(arr, v))
			rc = -ENOMEM;
		toml_ws_nl(t);
		if (rc == 0 && toml_peek(t) == ',')
			t->p++;
		else if (rc == 0 && toml_peek(t) != ']')
			rc = toml_err(t, "expected ',' or ']' in an array");
		if (rc) {
			json_decref(arr);
			return rc;
		}
	}
}

/* Sets path (n parts) under obj to v (stolen), making tables on the way. */
static int toml_set(struct toml *t, json_t *obj, char (*parts)[TOML_KEY_MAX], size_t n, json_t *v)
{
	for (size_t i = 0; i + 1 < n; i++) {
		json_t *next = json_object_get(obj, parts[i]);
		if (!next) {
			next = json_object();
			/* _nocheck: a key need not be UTF-8 (nothing here is dumped) */
			if (!next || json_object_set_new_nocheck(obj, parts[i], next)) {
				json_decref(v);
				return -ENOMEM;
			}
		} else if (!json_is_object(next)) {
			json_decref(v);
			return toml_err(t, "a dotted key through a value");
		}
		obj = next;
	}
	return json_object_set_new_nocheck(obj, parts[n - 1], v) ? -ENOMEM : 0;
}

/* {k = v, …} on one line. */
static int toml_inline(struct toml *t, int depth, json_t **out)
{
	json_t *obj = json_object();
	char(*parts)[TOML_KEY_MAX] = malloc(TOML_MAX_KEYS * sizeof(*parts));
	int rc = obj && parts ? 0 : -ENOMEM;
	t->p++;
	toml_ws(t);
	if (rc == 0 && toml_peek(t) == '}') {
		t->p++;
		goto out;
	}
	while (rc == 0) {
		size_t n;
		json_t *v = NULL;
		if ((rc = toml_key(t, parts, &n)))
			break;
		if (toml_peek(t) != '=') {
			rc = toml_err(t, "expected '=' in an inline table");
			break;
		}
		t->p++;
		toml_ws(t);
		if ((rc = toml_value(t, depth + 1, &v)) || (rc = toml_set(t, obj, parts, n, v)))
			break;
		toml_ws(t);
		if (toml_peek(t) == '}') {
			t->p++;
			break;
		}
		if (toml_peek(t) != ',') {
			rc = toml_err(t, "expected ',' or '}' in an inline table");
			break;
		}
		t->p++;
		toml_ws(t);
	}
out:
	free(parts);
	if (rc) {
		json_decref(obj);
		return rc;
	}
	*out = obj;
	return 0;
}

/* A bare value: true, false, a number, a date or time (kept as text). */
static int toml_bare(struct toml *t, json_t **out)
{
	const char *s = t->p;
	while (t->p < t->end && !strchr(" \t\r\n,]}#", *t->p))
		t->p++;
	/* a date and a time may be separated by one space */
	if (t->p - s == 10 && t->end - t->p > 1 && *t->p == ' ' && t->p[1] >= '0' && t->p[1] <= '9')
		for (t->p++; t->p < t->end && !strchr(" \t\r\n,]}#", *t->p);)
			t->p++;
	size_t n = (size_t)(t->p - s);
	char buf[64];
	if (n == 0 || n >= sizeof(buf))
		return toml_err(t, "expected a value");
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (!strcmp(buf, "true") || !strcmp(buf, "false")) {
		*out = json_boolean(buf[0] == 't');
		return 0;
	}
	char *end;
	errno = 0;
	long long i = strtoll(buf, &end, 0);
	if (*end == '\0' && errno == 0 && !strchr(buf, '_')) {
		*out = json_integer(i);
		return *out ? 0 : -ENOMEM;
	}
	if (strspn(buf, "0123456789+-.eE_:TZtzinfa ") != n)
		return toml_err(t, "unknown value");
	*out = json_string(buf); /* a float, a date or a time, as written */
	return *out ? 0 : -ENOMEM;
}

static int toml_value(struct toml *t, int depth, json_t **out)
{
	if (depth > TOML_MAX_DEPTH)
		return toml_err(t, "nested too deep");
	int c = toml_peek(t);
	if (c == '[')
		return toml_array(t, depth, out);
	if (c == '{')
		return toml_inline(t, depth, out);
	if (c != '"' && c != '\'')
		return toml_bare(t, out);
	struct sf_buf b = {0};
	int rc = toml_string(t, &b);
	if (rc == 0) {
		*out = json_stringn(b.data, b.len - 1);
		if (!*out)
			rc = toml_err(t, "a string that is not UTF-8");
	}
	sf_buf_free(&b);
	return rc;
}

/* [a.b] or [[a.b]] at t->p. */
static int toml_header(struct toml *t, const struct sf_toml_cb *cb, char (*parts)[TOML_KEY_MAX])
{
	int line = t->line;
	bool array = t->end - t->p >= 2 && t->p[1] == '[';
	t->p += array ? 2 : 1;
	size_t n;
	int rc = toml_key(t, parts, &n);
	if (rc)
		return rc;
	if (toml_peek(t) != ']' || (array && (t->end - t->p < 2 || t->p[1] != ']')))
		return toml_err(t, "expected ']' to close a table header");
	t->p += array ? 2 : 1;
	if (!toml_eol(t))
		return toml_err(t, "text after a table header");
	const char *path[TOML_MAX_KEYS];
	for (size_t i = 0; i < n; i++)
		path[i] = parts[i];
	return cb->table ? cb->table(cb->ctx, path, n, array, line) : 0;
}

/* key = value at t->p. */
static int toml_keyval(struct toml *t, const struct sf_toml_cb *cb, char (*parts)[TOML_KEY_MAX])
{
	int line = t->line;
	size_t n;
	int rc = toml_key(t, parts, &n);
	if (rc)
		return rc;
	if (toml_peek(t) != '=')
		return toml_err(t, "expected '=' after a key");
	t->p++;
	toml_ws(t);
	json_t *v = NULL;
	if ((rc = toml_value(t, 0, &v)))
		return rc;
	if (!toml_eol(t)) {
		json_decref(v);
		return toml_err(t, "text after a value");
	}
	const char *path[TOML_MAX_KEYS];
	for (size_t i = 0; i < n; i++)
		path[i] = parts[i];
	rc = cb->keyval ? cb->keyval(cb->ctx, path, n, v, line) : 0;
	json_decref(v);
	return rc;
}

int sf_toml_parse(const char *data, size_t len, const struct sf_toml_cb *cb, int *line,
		  char *why, size_t whylen)
{
	struct toml t = {.p = data, .end = data + len, .line = 1};
	char(*parts)[TOML_KEY_MAX] = malloc(TOML_MAX_KEYS * sizeof(*parts));
	int rc = parts ? 0 : -ENOMEM;
	while (rc == 0 && t.p < t.end) {
		toml_ws(&t);
		int c = toml_peek(&t);
		if (c == '#' || c == '\n' || c == '\r' || c == -1) {
			if (!toml_eol(&t))
				rc = toml_err(&t, "unexpected character");
		} else if (c == '[') {
			rc = toml_header(&t, cb, parts);
		} else {
			rc = toml_keyval(&t, cb, parts);
		}
	}
	free(parts);
	*line = t.line;
	snprintf(why, whylen, "%s", t.why[0] ? t.why : "");
	return rc;
}
