/*
 * query_fuzz — libFuzzer entry for a request's query string: the route
 * table names the parameters a route takes (coordinator/api/routes.c),
 * and coordinator/api/query.c reads and checks them. Input: a request
 * line, "METHOD PATH?QUERY" (what follows a newline is ignored). The query
 * is split and %-decoded the way libmicrohttpd delivers it ('&', the first
 * '=', '+' as a space, MHD_http_unescape), so a %00 or bad UTF-8 reaches the
 * parser as it would in a request. For a path no route answers, the first
 * byte picks the parameters to read, so every route's are reached.
 *
 * Traps when an accepted query breaks what the handlers rely on (bounded,
 * NUL-terminated printable UTF-8 text; numbers in range; only known words),
 * when a refusal has no code or message, or when the same input is read
 * two ways. Built as a replayer of tests/fuzz/corpus/query under ctest
 * (fuzz_replay.h):
 *
 *   query_fuzz DIR_OR_FILE...      (built with -DSF_FUZZ_LIBFUZZER and
 *                                   -fsanitize=fuzzer, main() is libFuzzer's)
 */
#include <errno.h>
#include <microhttpd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_request.h"
#include "query.h"
#include "routes.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A '+'-as-space, %-decoded copy of s[0..len) (NUL-terminated; its
 * length in *out_len, NULs from %00 included). */
static char *query_fuzz_decode(const char *s, size_t len, size_t *out_len)
{
	char *d = malloc(len + 1);
	if (!d)
		__builtin_trap();
	memcpy(d, s, len);
	d[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (d[i] == '+')
			d[i] = ' ';
	*out_len = MHD_http_unescape(d);
	return d;
}

static void query_fuzz_text(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	if (n == cap || !sf_utf8_valid(s, n))
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			__builtin_trap();
}

static void query_fuzz_accepted(const struct sf_query *q)
{
	query_fuzz_text(q->name, sizeof(q->name));
	query_fuzz_text(q->version, sizeof(q->version));
	query_fuzz_text(q->labels, sizeof(q->labels));
	query_fuzz_text(q->cursor, sizeof(q->cursor));
	query_fuzz_text(q->rule, sizeof(q->rule));
	query_fuzz_text(q->ecosystem, sizeof(q->ecosystem));
	if (q->id[0] && !sf_is_uuid(q->id))
		__builtin_trap();
	if (q->artifact[0] && (strnlen(q->artifact, sizeof(q->artifact)) != SF_SHA256_HEX ||
			       !sf_is_hex(q->artifact, SF_SHA256_HEX)))
		__builtin_trap();
	if (q->priority < -1000 || q->priority > 1000 || q->min_rank < -1 || q->min_rank > 7)
		__builtin_trap();
	if (q->limit < 0 || q->limit > 1000)
		__builtin_trap();
	if ((q->given & (1u << SF_QP_LIMIT)) && q->limit < 1)
		__builtin_trap();
	if (q->network[0] && strcmp(q->network, "sinkhole") && strcmp(q->network, "offline"))
		__builtin_trap();
	static const char *const statuses[] = {"", "queued", "running", "finished", "failed"};
	int known = 0;
	for (size_t i = 0; i < 5; i++)
		known |= strcmp(q->status, statuses[i]) == 0;
	if (!known || q->given >> SF_QP_COUNT)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[8192];
	const char *method;
	char *url;
	(void)fuzz_request_line(data, size, line, sizeof(line), &method, &url);
	char *qs = strchr(url, '?');
	if (qs)
		*qs++ = '\0';
	size_t rest = 0;
	enum sf_query_route route = SF_QUERY_NONE;
	if (sf_routes_lookup(url, method, &rest, &route) != 0)
		route = (enum sf_query_route)(size ? data[0] % SF_QUERY_ROUTES : 0);

	/* the arguments as libmicrohttpd splits them */
	struct sf_query_arg args[SF_QUERY_MAX_ARGS + 8];
	char *owned[2 * (SF_QUERY_MAX_ARGS + 8)];
	size_t n = 0, nowned = 0;
	for (const char *p = qs; p && *p && n < sizeof(args) / sizeof(args[0]);) {
		size_t seg = strcspn(p, "&");
		const char *eq = memchr(p, '=', seg);
		size_t klen = eq ? (size_t)(eq - p) : seg;
		struct sf_query_arg *a = &args[n++];
		a->key = owned[nowned++] = query_fuzz_decode(p, klen, &a->key_len);
		a->value = NULL;
		a->value_len = 0;
		if (eq)
			a->value = owned[nowned++] =
			    query_fuzz_decode(eq + 1, seg - klen - 1, &a->value_len);
		p += seg + (p[seg] == '&');
	}

	struct sf_query q, again;
	struct sf_query_error err, err2;
	int rc = sf_query_parse(route, args, n, &q, &err);
	if (rc == 0) {
		query_fuzz_accepted(&q);
	} else if (rc != -EINVAL || !err.code[0] || !err.message[0] ||
		   strnlen(err.code, sizeof(err.code)) == sizeof(err.code) ||
		   strnlen(err.message, sizeof(err.message)) == sizeof(err.message)) {
		__builtin_trap();
	}
	/* the same arguments read again give the same answer */
	if (sf_query_parse(route, args, n, &again, &err2) != rc ||
	    (rc == 0 && memcmp(&q, &again, sizeof(q)) != 0) ||
	    (rc != 0 && strcmp(err.message, err2.message) != 0))
		__builtin_trap();
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	return 0;
}

#define FUZZ_REPLAY_MAX (1u << 20)
#include "fuzz_replay.h"
