/*
 * exfil_fuzz — libFuzzer entry for the canary search (worker/batch/exfil.c),
 * which reads bytes the sandbox sent: DNS names, connection previews,
 * request lines. The first byte picks how many of the bytes that follow
 * are a secret (0-63; under SF_EXFIL_MIN_BYTES none) next to three fixed
 * ones; the rest is the text searched, as it is and as the value of a
 * batch's fact. A secret of at least SF_EXFIL_MIN_BYTES must be found in
 * its own text (abort otherwise). Built as a replayer of
 * tests/fuzz/corpus/exfil under ctest (fuzz_replay.h):
 *
 *   exfil_fuzz DIR_OR_FILE...      (built with -DSF_FUZZ_LIBFUZZER and
 *                                   -fsanitize=fuzzer, main() is libFuzzer's)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exfil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t slen = data[0] & 63;
	if (slen > size - 1)
		slen = size - 1;
	const char *secret = (const char *)data + 1;
	const char *text = secret + slen;
	size_t tlen = size - 1 - slen;
	struct sf_exfil_secret s[4] = {
	    {"NPM_TOKEN (environment)", "kHHYD1n3znAFrjFvul8CnKcfzrziv51jT4X8", 36},
	    {"AWS_SECRET_ACCESS_KEY (environment)", "aeECpkMFraWINs6Wfq+arAqXNOxFqlpanw4QKBmd", 40},
	    {"~/.ssh/id_rsa", "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun", 64},
	    {"fuzzed", secret, slen},
	};
	struct sf_exfil *x = NULL;
	if (sf_exfil_new(&x, s, 4) != 0)
		return 0;
	struct sf_exfil_hit hit;
	sf_exfil_search(x, text, tlen, &hit);
	if (slen >= SF_EXFIL_MIN_BYTES && !sf_exfil_search(x, secret, slen, &hit))
		abort(); /* a secret is always found in itself */
	/* the same text as a fact (NUL-terminated: facts are strings) */
	struct sf_batch b = {0};
	struct sf_fact f = {.kind = "preview", .value = malloc(tlen + 1), .detail = "",
			    .package = "p@1", .phase = "install"};
	if (f.value) {
		memcpy(f.value, text, tlen);
		f.value[tlen] = 0;
		b.facts = &f;
		b.nfacts = 1;
		sf_exfil_scan_batch(x, &b, "w");
		for (uint32_t i = 0; i < b.nalerts; i++)
			sf_alert_free(&b.alerts[i]);
		free(b.alerts);
		free(f.value);
	}
	sf_exfil_free(x);
	return 0;
}

#define FUZZ_REPLAY_MAX (1u << 20)
#include "fuzz_replay.h"
