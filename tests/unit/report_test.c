/*
 * report_test — the code-host reports keep within what their readers take:
 * GitLab's schema bounds a vulnerability's name to 255 characters (code
 * points), and a text cut by a fixed buffer must not end inside a UTF-8
 * character (jansson would refuse it and the finding would vanish).
 */
#include <string.h>

#include "harness.h"
#include "report_sarif.h"
#include "util.h"

static size_t chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void test_utf8_prefix(void)
{
	const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"; /* a é € 😀 z */
	size_t len = strlen(s);
	CHECK_EQ(sf_utf8_prefix(s, len, 0), 0);
	CHECK_EQ(sf_utf8_prefix(s, len, 1), 1);
	CHECK_EQ(sf_utf8_prefix(s, len, 2), 3);
	CHECK_EQ(sf_utf8_prefix(s, len, 3), 6);
	CHECK_EQ(sf_utf8_prefix(s, len, 4), 10);
	CHECK_EQ(sf_utf8_prefix(s, len, 5), 11);
	CHECK_EQ(sf_utf8_prefix(s, len, 99), 11);
	/* a character cut short by the length, and a stray continuation byte */
	CHECK_EQ(sf_utf8_prefix(s, 5, 99), 3);
	CHECK_EQ(sf_utf8_prefix("ab\x80" "cd", 5, 99), 2);
}

/* A one-package report model, as sf_report_build makes it. */
static json_t *model_with(const char *name, const char *output)
{
	return json_pack("{s:{s:s},s:[{s:s,s:s,s:s,s:s,s:n,s:[{s:s,s:s,s:s,s:s}],s:[{s:s,s:s,s:i}]}]}",
			 "tool", "version", "0.0.0-test", "packages", "ecosystem", "npm", "name",
			 name, "version", "1.0.0", "verdict", "alerts", "scan_id", "alerts", "rule",
			 "Read of npm credentials", "priority", "Warning", "output", output, "phase",
			 "install", "uses", "repository", "acme/app", "file", "package-lock.json",
			 "line", 7);
}

static json_t *first_vulnerability(json_t *model)
{
	json_t *gl = sf_report_gitlab(model);
	json_t *v = json_incref(json_array_get(json_object_get(gl, "vulnerabilities"), 0));
	json_decref(gl);
	return v;
}

static void test_gitlab_name(void)
{
	json_t *m = model_with("left-pad", "read /home/u/.npmrc");
	json_t *v = first_vulnerability(m);
	CHECK(v != NULL);
	CHECK(v && !strcmp(json_string_value(json_object_get(v, "name")),
			   "Read of npm credentials in left-pad@1.0.0"));
	json_decref(v);
	json_decref(m);

	/* 240 two-byte characters: the name is far past 255 characters */
	char longname[1024] = "";
	for (int i = 0; i < 240; i++)
		strcat(longname, "\xc3\xa9");
	m = model_with(longname, "read /home/u/.npmrc");
	v = first_vulnerability(m);
	CHECK(v != NULL);
	const char *n = v ? json_string_value(json_object_get(v, "name")) : NULL;
	CHECK(n != NULL);
	if (n) {
		CHECK_EQ(chars(n), 255);
		CHECK(sf_utf8_valid(n, strlen(n)));
		CHECK(strlen(n) >= 3 && !strcmp(n + strlen(n) - 3, "\xe2\x80\xa6"));
		CHECK(!strncmp(n, "Read of npm credentials in \xc3\xa9", 29));
	}
	/* the package keeps its full name where it is named */
	const char *dep = v ? json_string_value(json_object_get(
				  json_object_get(json_object_get(json_object_get(v, "location"),
								  "dependency"),
						  "package"),
				  "name"))
			    : NULL;
	CHECK(dep && !strcmp(dep, longname));
	json_decref(v);
	json_decref(m);
}

static void test_long_output_whole_chars(void)
{
	/* an alert output of 3000 bytes of three-byte characters: both reports'
	 * fixed buffers cut it, and each finding must still be there */
	static char out[3001];
	for (int i = 0; i < 1000; i++)
		memcpy(out + 3 * i, "\xe2\x82\xac", 3);
	out[3000] = '\0';
	json_t *m = model_with("left-pad", out);
	json_t *v = first_vulnerability(m);
	CHECK(v != NULL);
	const char *d = v ? json_string_value(json_object_get(v, "description")) : NULL;
	CHECK(d && sf_utf8_valid(d, strlen(d)) && !strncmp(d, "\xe2\x82\xac", 3));
	json_decref(v);

	json_t *sarif = sf_report_sarif(m);
	json_t *run = json_array_get(json_object_get(sarif, "runs"), 0);
	json_t *res = json_array_get(json_object_get(run, "results"), 0);
	const char *t = json_string_value(json_object_get(json_object_get(res, "message"), "text"));
	CHECK(t && sf_utf8_valid(t, strlen(t)) && !strncmp(t, "left-pad@1.0.0 (npm): ", 22));
	json_decref(sarif);
	json_decref(m);
}

int main(void)
{
	test_utf8_prefix();
	test_gitlab_name();
	test_long_output_whole_chars();
	TEST_DONE();
}
