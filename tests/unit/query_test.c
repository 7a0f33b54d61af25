/*
 * query_test — coordinator/api/query.c on the arguments libmicrohttpd
 * would deliver: every route's parameters and defaults, and the edge cases
 * (repeated keys, empty values, keys without '=', huge and malformed
 * numbers, bad UTF-8 and %00, control characters, unknown keys on /v1 and
 * on Package Hunter's routes, too many arguments, bounds at the byte).
 */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "query.h"
#include "routes.h"

/* Arguments from "k=v" strings; "k" alone is a key without '='. A value
 * may hold NULs when given with an explicit length (query_argn). */
static struct sf_query_arg query_arg(const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (!eq)
		return (struct sf_query_arg){kv, strlen(kv), NULL, 0};
	return (struct sf_query_arg){kv, (size_t)(eq - kv), eq + 1, strlen(eq + 1)};
}

static struct sf_query q;
static struct sf_query_error err;

static int parse(enum sf_query_route route, const char *a, const char *b, const char *c)
{
	struct sf_query_arg args[3] = {{0}};
	size_t n = 0;
	if (a)
		args[n++] = query_arg(a);
	if (b)
		args[n++] = query_arg(b);
	if (c)
		args[n++] = query_arg(c);
	return sf_query_parse(route, args, n, &q, &err);
}

static int refused(enum sf_query_route route, const char *a, const char *b, const char *code)
{
	int rc = parse(route, a, b, NULL);
	if (rc != -EINVAL || strcmp(err.code, code) != 0) {
		fprintf(stderr, "  %s %s: rc %d code '%s' message '%s'\n", a, b ? b : "", rc, err.code,
			err.message);
		return 0;
	}
	return err.message[0] != '\0';
}

int main(void)
{
	/* defaults */
	CHECK_EQ(parse(SF_QUERY_SCAN_LIST, NULL, NULL, NULL), 0);
	CHECK_EQ(q.limit, 50);
	CHECK_EQ(q.given, 0);
	CHECK_EQ(parse(SF_QUERY_ALERTS, NULL, NULL, NULL), 0);
	CHECK_EQ(q.limit, 100);
	CHECK_EQ(q.min_rank, -1);
	CHECK_EQ(parse(SF_QUERY_SCAN_SUBMIT, NULL, NULL, NULL), 0);
	CHECK(strcmp(q.ecosystem, "npm") == 0 && q.priority == 0 && !q.rescan && !q.network[0]);

	/* what valid requests send, read as before */
	CHECK_EQ(parse(SF_QUERY_SCAN_SUBMIT, "name=hello-npm", "version=1.0.0",
		       "labels=nightly,team-a"),
		 0);
	CHECK(strcmp(q.name, "hello-npm") == 0 && strcmp(q.version, "1.0.0") == 0 &&
	      strcmp(q.labels, "nightly,team-a") == 0);
	CHECK_EQ(parse(SF_QUERY_SCAN_SUBMIT, "priority=-5", "rescan=1", "network=offline"), 0);
	CHECK(q.priority == -5 && q.rescan && strcmp(q.network, "offline") == 0);
	CHECK_EQ(parse(SF_QUERY_SCAN_SUBMIT, "priority=1000", "rescan=true", "ecosystem=npm"), 0);
	CHECK_EQ(q.priority, 1000);
	CHECK_EQ(parse(SF_QUERY_SCAN_SUBMIT, "rescan=0", NULL, NULL), 0);
	CHECK(!q.rescan);
	CHECK_EQ(parse(SF_QUERY_SCAN_SUBMIT, "ecosystem=pip", NULL, NULL), 0);
	CHECK(strcmp(q.ecosystem, "pip") == 0); /* the route refuses it: unsupported_ecosystem */
	CHECK_EQ(parse(SF_QUERY_PH_SUBMIT, "network=sinkhole", "rescan=1", NULL), 0);
	CHECK(strcmp(q.network, "sinkhole") == 0 && q.rescan);
	CHECK_EQ(parse(SF_QUERY_SCAN_LIST, "status=failed", "limit=500", "cursor=17_x"), 0);
	CHECK(strcmp(q.status, "failed") == 0 && q.limit == 500 && strcmp(q.cursor, "17_x") == 0 &&
	      (q.given & (1u << SF_QP_CURSOR)));
	CHECK_EQ(parse(SF_QUERY_SCAN_LIST,
		       "artifact=abcdefabcdef0123456789012345678901234567890123456789012345678901",
		       NULL, NULL),
		 0);
	CHECK(refused(SF_QUERY_SCAN_LIST,
		      "artifact=ABCDEFabcdef0123456789012345678901234567890123456789012345678901", NULL,
		      "bad_request")); /* store names are lower-case */
	CHECK_EQ(parse(SF_QUERY_ALERTS, "priority=Warning", "rule=Shell spawned", "limit=1000"), 0);
	CHECK(q.min_rank == 4 && strcmp(q.rule, "Shell spawned") == 0 && q.limit == 1000);
	CHECK_EQ(parse(SF_QUERY_BATCH_SUBMIT, "labels=run=nightly", "priority=7", NULL), 0);
	CHECK(strcmp(q.labels, "run=nightly") == 0 && q.priority == 7);
	CHECK_EQ(parse(SF_QUERY_BATCH_VIEW, "limit=1", "cursor=", NULL), 0);
	CHECK(q.limit == 1 && q.cursor[0] == '\0' && (q.given & (1u << SF_QP_CURSOR)));
	CHECK_EQ(parse(SF_QUERY_PH_REPORT, "id=8f6c1a2b-0000-4000-8000-00000000abcd", NULL, NULL), 0);
	CHECK(strcmp(q.id, "8f6c1a2b-0000-4000-8000-00000000abcd") == 0);

	/* an id that is no scan id: no id (the route answers 404, as before) */
	CHECK_EQ(parse(SF_QUERY_PH_REPORT, "id=not-a-uuid", NULL, NULL), 0);
	CHECK(q.id[0] == '\0');
	CHECK_EQ(parse(SF_QUERY_PH_REPORT, "id", NULL, NULL), 0);
	CHECK(q.id[0] == '\0');

	/* repeated keys: which one would count? */
	CHECK(refused(SF_QUERY_SCAN_LIST, "limit=5", "limit=6", "repeated_parameter"));
	CHECK(strstr(err.message, "limit") != NULL);
	CHECK(refused(SF_QUERY_SCAN_LIST, "limit=5", "limit=5", "repeated_parameter"));
	CHECK(refused(SF_QUERY_PH_REPORT, "id=8f6c1a2b-0000-4000-8000-00000000abcd",
		      "id=8f6c1a2b-0000-4000-8000-00000000abce", "repeated_parameter"));
	CHECK(refused(SF_QUERY_SCAN_SUBMIT, "rescan=1", "rescan=0", "repeated_parameter"));
	CHECK(refused(SF_QUERY_BATCH_SUBMIT, "labels=a", "labels=b", "repeated_parameter"));

	/* empty values and keys without '=' */
	CHECK(refused(SF_QUERY_SCAN_SUBMIT, "priority=", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_SUBMIT, "priority", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_LIST, "limit=", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_LIST, "status=", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_LIST, "artifact=", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_SUBMIT, "network=", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_SUBMIT, "rescan=", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_SUBMIT, "rescan", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_ALERTS, "priority=", NULL, "bad_request"));
	CHECK_EQ(parse(SF_QUERY_SCAN_SUBMIT, "name=", "labels", "version="), 0);
	CHECK(!q.name[0] && !q.labels[0] && !q.version[0]); /* empty text: absent */

	/* numbers: plain decimal in range, never wrapped */
	CHECK(refused(SF_QUERY_SCAN_SUBMIT, "priority=1001", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_SUBMIT, "priority=-1001", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_SUBMIT, "priority=9223372036854775808", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_SUBMIT, "priority=18446744073709551617", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_SUBMIT,
		      "priority=-99999999999999999999999999999999999999999999999999", NULL,
		      "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_LIST, "limit=4294967297", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_LIST, "limit=0", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_LIST, "limit=501", NULL, "bad_request"));
	CHECK(strstr(err.message, "1 to 500") != NULL);
	CHECK(refused(SF_QUERY_ALERTS, "limit=1001", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_LIST, "limit=-1", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_LIST, "limit=5x", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_LIST, "limit= 5", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_LIST, "limit=0x10", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_SUBMIT, "priority=-", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_SUBMIT, "priority=1e3", NULL, "bad_request"));
	CHECK_EQ(parse(SF_QUERY_SCAN_LIST, "limit=000000000000000000000000000000007", NULL, NULL), 0);
	CHECK_EQ(q.limit, 7);
	CHECK_EQ(parse(SF_QUERY_SCAN_SUBMIT, "priority=-1000", NULL, NULL), 0);
	CHECK_EQ(q.priority, -1000);

	/* text: printable UTF-8 within its bound */
	CHECK_EQ(parse(SF_QUERY_SCAN_SUBMIT, "name=caf\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x93\xa6", NULL,
		       NULL),
		 0);
	CHECK(refused(SF_QUERY_SCAN_SUBMIT, "name=\xff", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_SUBMIT, "name=\xc3", NULL, "bad_request"));	 /* cut short */
	CHECK(refused(SF_QUERY_SCAN_SUBMIT, "name=\xc0\xaf", NULL, "bad_request")); /* overlong */
	CHECK(refused(SF_QUERY_SCAN_SUBMIT, "version=\xed\xa0\x80", NULL, "bad_request")); /* surrogate */
	CHECK(refused(SF_QUERY_SCAN_SUBMIT, "labels=\xf4\x90\x80\x80", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_ALERTS, "rule=a\tb", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_LIST, "cursor=1_\x7f", NULL, "bad_request"));
	{
		/* %00 decoded: the value holds a NUL that a C string would hide */
		struct sf_query_arg nul[] = {{"cursor", 6, "12\0_x", 5}};
		CHECK_EQ(sf_query_parse(SF_QUERY_BATCH_VIEW, nul, 1, &q, &err), -EINVAL);
		struct sf_query_arg nulname[] = {{"name", 4, "a\0b", 3}};
		CHECK_EQ(sf_query_parse(SF_QUERY_SCAN_SUBMIT, nulname, 1, &q, &err), -EINVAL);
		struct sf_query_arg nulnet[] = {{"network", 7, "offline\0x", 9}};
		CHECK_EQ(sf_query_parse(SF_QUERY_SCAN_SUBMIT, nulnet, 1, &q, &err), -EINVAL);
		struct sf_query_arg nulid[] = {{"id", 2, "8f6c1a2b-0000-4000-8000-00000000ab\0d", 36}};
		CHECK_EQ(sf_query_parse(SF_QUERY_PH_REPORT, nulid, 1, &q, &err), 0);
		CHECK(q.id[0] == '\0');
		/* and a key with a NUL is not the key it starts with */
		struct sf_query_arg nulkey[] = {{"limit\0x", 7, "5", 1}};
		CHECK_EQ(sf_query_parse(SF_QUERY_SCAN_LIST, nulkey, 1, &q, &err), -EINVAL);
		CHECK(strcmp(err.code, "unknown_parameter") == 0);
		CHECK(strstr(err.message, "limit?x") != NULL);
	}
	{
		/* bounds at the byte: name 255, version 127, labels 511 (scans) or
		 * 2047 (streamed batches), rule 511 */
		static char v[4096];
		memset(v, 'a', sizeof(v));
		struct sf_query_arg a = {"name", 4, v, 255};
		CHECK_EQ(sf_query_parse(SF_QUERY_SCAN_SUBMIT, &a, 1, &q, &err), 0);
		CHECK_EQ(strlen(q.name), 255);
		a.value_len = 256;
		CHECK_EQ(sf_query_parse(SF_QUERY_SCAN_SUBMIT, &a, 1, &q, &err), -EINVAL);
		a = (struct sf_query_arg){"labels", 6, v, 511};
		CHECK_EQ(sf_query_parse(SF_QUERY_SCAN_SUBMIT, &a, 1, &q, &err), 0);
		a.value_len = 512;
		CHECK_EQ(sf_query_parse(SF_QUERY_SCAN_SUBMIT, &a, 1, &q, &err), -EINVAL);
		CHECK_EQ(sf_query_parse(SF_QUERY_BATCH_SUBMIT, &a, 1, &q, &err), 0);
		a.value_len = 2047;
		CHECK_EQ(sf_query_parse(SF_QUERY_BATCH_SUBMIT, &a, 1, &q, &err), 0);
		CHECK_EQ(strlen(q.labels), 2047);
		a.value_len = 2048;
		CHECK_EQ(sf_query_parse(SF_QUERY_BATCH_SUBMIT, &a, 1, &q, &err), -EINVAL);
		a = (struct sf_query_arg){"rule", 4, v, 512};
		CHECK_EQ(sf_query_parse(SF_QUERY_ALERTS, &a, 1, &q, &err), -EINVAL);
		a = (struct sf_query_arg){"limit", 5, v, sizeof(v)};
		CHECK_EQ(sf_query_parse(SF_QUERY_SCAN_LIST, &a, 1, &q, &err), -EINVAL);
		a = (struct sf_query_arg){"ecosystem", 9, v, 100};
		CHECK_EQ(sf_query_parse(SF_QUERY_SCAN_SUBMIT, &a, 1, &q, &err), -EINVAL);
		CHECK(strcmp(err.code, "unsupported_ecosystem") == 0);
	}

	/* unknown words */
	CHECK(refused(SF_QUERY_SCAN_SUBMIT, "network=internet", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_SUBMIT, "network=Offline", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_SUBMIT, "rescan=yes", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_LIST, "status=nope", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_SCAN_LIST, "artifact=abc", NULL, "bad_request"));
	CHECK(refused(SF_QUERY_ALERTS, "priority=loud", NULL, "bad_request"));

	/* unknown keys: refused on /v1, named; ignored by Package Hunter's
	 * routes and the probes */
	CHECK(refused(SF_QUERY_SCAN_SUBMIT, "prority=5", NULL, "unknown_parameter"));
	CHECK(strstr(err.message, "'prority'") != NULL);
	CHECK(refused(SF_QUERY_SCAN_LIST, "rule=x", NULL, "unknown_parameter"));
	CHECK(refused(SF_QUERY_BATCH_VIEW, "status=queued", NULL, "unknown_parameter"));
	CHECK(refused(SF_QUERY_NONE, "x=1", NULL, "unknown_parameter"));
	CHECK(refused(SF_QUERY_NONE, "", NULL, "unknown_parameter"));
	CHECK(refused(SF_QUERY_SCAN_SUBMIT, "Name=x", NULL, "unknown_parameter")); /* keys are exact */
	CHECK_EQ(parse(SF_QUERY_PH_SUBMIT, "priority=5", "utm_source=x", "network=offline"), 0);
	CHECK(q.priority == 0 && strcmp(q.network, "offline") == 0); /* no priority there */
	CHECK_EQ(parse(SF_QUERY_PH_REPORT, "id=8f6c1a2b-0000-4000-8000-00000000abcd", "t=1", NULL),
		 0);
	CHECK_EQ(parse(SF_QUERY_IGNORED, "anything=\xff", "anything=2", "limit=0"), 0);
	{
		/* the key is echoed bounded and printable */
		static char k[300];
		memset(k, 'k', sizeof(k));
		k[3] = '\x1b';
		struct sf_query_arg a = {k, sizeof(k), "1", 1};
		CHECK_EQ(sf_query_parse(SF_QUERY_SCAN_LIST, &a, 1, &q, &err), -EINVAL);
		CHECK(strstr(err.message, "kkk?kkk") != NULL && strlen(err.message) < 100);
	}

	/* too many arguments */
	{
		struct sf_query_arg many[SF_QUERY_MAX_ARGS + 1];
		for (size_t i = 0; i < SF_QUERY_MAX_ARGS + 1; i++)
			many[i] = (struct sf_query_arg){"utm", 3, "x", 1};
		CHECK_EQ(sf_query_parse(SF_QUERY_PH_SUBMIT, many, SF_QUERY_MAX_ARGS, &q, &err), 0);
		CHECK_EQ(sf_query_parse(SF_QUERY_PH_SUBMIT, many, SF_QUERY_MAX_ARGS + 1, &q, &err),
			 -EINVAL);
		CHECK_EQ(sf_query_parse(SF_QUERY_IGNORED, many, SF_QUERY_MAX_ARGS + 1, &q, &err), 0);
	}
	CHECK_EQ(sf_query_parse(SF_QUERY_ROUTES, NULL, 0, &q, &err), -EINVAL);

	/* the route table names each handler's parameters */
	size_t rest;
	enum sf_query_route route;
	CHECK_EQ(sf_routes_lookup("/v1/scans", "GET", &rest, &route), 0);
	CHECK_EQ(route, SF_QUERY_SCAN_LIST);
	CHECK_EQ(sf_routes_lookup("/v1/scans/", "POST", &rest, &route), 0);
	CHECK_EQ(route, SF_QUERY_SCAN_SUBMIT);
	CHECK_EQ(sf_routes_lookup("/v1/scans/8f6c1a2b-0000-4000-8000-00000000abcd/alerts", "HEAD",
				  &rest, &route),
		 0);
	CHECK_EQ(route, SF_QUERY_ALERTS);
	CHECK_EQ(sf_routes_lookup("/monitor/project/npm", "POST", &rest, &route), 0);
	CHECK_EQ(route, SF_QUERY_PH_SUBMIT);
	CHECK_EQ(sf_routes_lookup("/", "GET", &rest, &route), 0);
	CHECK_EQ(route, SF_QUERY_PH_REPORT);
	CHECK_EQ(sf_routes_lookup("/v1/batches", "POST", &rest, &route), 0);
	CHECK_EQ(route, SF_QUERY_BATCH_SUBMIT);
	CHECK_EQ(sf_routes_lookup("/v1/batches/8f6c1a2b-0000-4000-8000-00000000abcd", "GET", &rest,
				  &route),
		 0);
	CHECK_EQ(route, SF_QUERY_BATCH_VIEW);
	CHECK_EQ(sf_routes_lookup("/healthz", "DELETE", &rest, &route), 0);
	CHECK_EQ(route, SF_QUERY_IGNORED);
	CHECK_EQ(sf_routes_lookup("/v1/workers", "GET", &rest, &route), 0);
	CHECK_EQ(route, SF_QUERY_NONE);
	TEST_DONE();
}
