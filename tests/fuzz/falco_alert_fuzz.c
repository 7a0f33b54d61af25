/*
 * falco_alert_fuzz — libFuzzer entry for the Falco alert decoders
 * (worker/falco/falco_alert.c): every byte string Falco's gRPC outputs or
 * its http_output could hand the worker. The first byte picks the format
 * (even: protobuf, odd: JSON); what decodes must hold the decoders'
 * promises — a priority Falco has, NUL-free UTF-8 strings within their
 * caps, at most SF_FALCO_MAX_FIELDS fields — and its thread.cgroups goes
 * through the job matcher. Built as a replayer of tests/fuzz/corpus/falco
 * (real Falco 0.43 messages among them) under ctest (fuzz_replay.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "falco_alert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_str(const char *s)
{
	if (!s || strlen(s) > SF_FALCO_MAX_STRING) {
		fprintf(stderr, "string missing or over its cap\n");
		abort();
	}
	char copy[SF_FALCO_MAX_STRING + 1];
	size_t n = strlen(s);
	memcpy(copy, s, n + 1);
	sf_utf8_sanitize(copy, n);
	if (memcmp(copy, s, n) != 0) {
		fprintf(stderr, "string is not valid UTF-8\n");
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct sf_alert a;
	int rc = data[0] % 2 == 0 ? sf_falco_alert_from_pb(data + 1, size - 1, &a)
				  : sf_falco_alert_from_json((const char *)data + 1, size - 1, &a);
	if (rc != 0)
		return 0;
	if (!sf_falco_priority_name(a.priority) || strcmp(sf_falco_priority_name(a.priority), a.priority) ||
	    a.nfields > SF_FALCO_MAX_FIELDS || a.ntags > SF_FALCO_MAX_TAGS || !a.rule[0]) {
		fprintf(stderr, "decoded alert breaks the decoder's promises\n");
		abort();
	}
	fuzz_check_str(a.rule);
	fuzz_check_str(a.output);
	fuzz_check_str(a.source);
	fuzz_check_str(a.hostname);
	for (uint32_t i = 0; i < a.ntags; i++)
		fuzz_check_str(a.tags[i]);
	for (uint32_t i = 0; i < a.nfields; i++) {
		fuzz_check_str(a.fields[i].key);
		fuzz_check_str(a.fields[i].value);
	}
	char name[64];
	if (sf_falco_cgroup_name(sf_falco_alert_field(&a, "thread.cgroups"), "scanfarm", name,
				 sizeof(name)) == 0 &&
	    (!name[0] || strchr(name, '/') || strchr(name, ' '))) {
		fprintf(stderr, "bad cgroup name \"%s\"\n", name);
		abort();
	}
	sf_alert_free(&a);
	return 0;
}

#define FUZZ_REPLAY_MAX (SF_FALCO_MAX_ALERT + 2)
#include "fuzz_replay.h"
