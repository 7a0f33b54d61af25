/*
 * netproto_fuzz — libFuzzer entry for what parses the bytes a sandbox sends
 * its sinkhole (worker/sandbox/netproto.c): DNS queries (and the answers
 * built for them), HTTP request heads, TLS ClientHellos, the text-safe
 * preview. Every input goes to every parser, as the sinkhole may try
 * several on one connection; each result is checked for what the sinkhole
 * relies on (bounds, NUL-terminated printable text, answers that are
 * answers). Built as a replayer of tests/fuzz/corpus/netproto under ctest
 * (fuzz_replay.h):
 *
 *   netproto_fuzz DIR_OR_FILE...   (built with -DSF_FUZZ_LIBFUZZER and
 *                                   -fsanitize=fuzzer, main() is libFuzzer's)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void netproto_fuzz_fail(const char *what)
{
	fprintf(stderr, "netproto_fuzz: %s\n", what);
	abort();
}

static void netproto_fuzz_text(const char *s, size_t cap, const char *what)
{
	size_t n = strnlen(s, cap);
	if (n == cap)
		netproto_fuzz_fail(what);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			netproto_fuzz_fail(what);
}

static void netproto_fuzz_dns(const uint8_t *data, size_t size)
{
	struct sf_dns_question q;
	if (sf_dns_parse_query(data, size, &q) != 0)
		return;
	netproto_fuzz_text(q.name, sizeof(q.name), "dns name");
	if (q.end > size)
		netproto_fuzz_fail("dns question end past the input");
	static const uint8_t v4[4] = {198, 18, 0, 1}, v6[16] = {0, 0x64, 0xff, 0x9b};
	const uint8_t *addrs[] = {v4, v6, NULL};
	const size_t lens[] = {4, 16, 0};
	for (int k = 0; k < 3; k++) {
		unsigned char out[512];
		size_t n;
		if (sf_dns_build_answer(data, &q, addrs[k], lens[k], out, sizeof(out), &n) != 0)
			continue;
		struct sf_dns_question back;
		/* an answer is never taken for a question (QR set) */
		if (n > sizeof(out) || sf_dns_parse_query(out, n, &back) == 0)
			netproto_fuzz_fail("dns answer");
	}
	char buf[16];
	netproto_fuzz_text(sf_dns_type_name(q.type, buf, sizeof(buf)), 16, "dns type");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	netproto_fuzz_dns(data, size);

	struct sf_http_request r;
	int rc = sf_http_parse_request((const char *)data, size, &r);
	if (rc != 0 && rc != -EAGAIN && rc != -EPROTO)
		netproto_fuzz_fail("http result");
	if (rc == 0 && (r.head_len == 0 || r.head_len > size || !r.method[0]))
		netproto_fuzz_fail("http head length");
	netproto_fuzz_text(r.method, sizeof(r.method), "http method");
	netproto_fuzz_text(r.target, sizeof(r.target), "http target");
	netproto_fuzz_text(r.version, sizeof(r.version), "http version");
	netproto_fuzz_text(r.host, sizeof(r.host), "http host");

	char sni[256];
	rc = sf_tls_parse_sni(data, size, sni, sizeof(sni));
	if (rc != 0 && rc != -EAGAIN && rc != -EPROTO)
		netproto_fuzz_fail("tls result");
	netproto_fuzz_text(sni, sizeof(sni), "tls sni");

	char prev[4 * 64 + 1];
	size_t covered = sf_net_preview(data, size, prev, sizeof(prev));
	if (covered > size || (covered < size && strlen(prev) + 4 <= sizeof(prev) - 1))
		netproto_fuzz_fail("preview coverage");
	netproto_fuzz_text(prev, sizeof(prev), "preview");
	return 0;
}

#define FUZZ_REPLAY_MAX (1u << 20)
#include "fuzz_replay.h"
