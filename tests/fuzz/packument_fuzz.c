/*
 * packument_fuzz — libFuzzer entry for the coordinator's packument reader
 * (coordinator/submit/resolve.c): whatever a registry answers for a batch's
 * package reference. Input: the version asked for on the first line, the
 * packument after it. What parses has its digests checked too (the
 * integrity and shasum readers). The names and versions checkers get the
 * first line as well. Built as a replayer of tests/fuzz/corpus/packument
 * under ctest (fuzz_replay.h):
 *
 *   packument_fuzz DIR_OR_FILE...   (built with -DSF_FUZZ_LIBFUZZER and
 *                                    -fsanitize=fuzzer, main() is libFuzzer's)
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "resolve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char version[256], err[512];
	const uint8_t *nl = memchr(data, '\n', size);
	size_t vlen = nl ? (size_t)(nl - data) : size;
	if (vlen >= sizeof(version))
		vlen = sizeof(version) - 1;
	memcpy(version, data, vlen);
	version[vlen] = '\0';
	(void)sf_npm_version_valid(version);
	(void)sf_npm_name_valid(version);
	const char *body = nl ? (const char *)nl + 1 : "";
	size_t blen = nl ? size - (size_t)(nl + 1 - data) : 0;
	struct sf_resolve_dist d;
	if (sf_resolve_parse_packument(body, blen, "fuzzed", version, &d, err, sizeof(err)) == 0)
		(void)sf_resolve_check_dist(&d, err, sizeof(err));
	return 0;
}

#define FUZZ_REPLAY_MAX (64u << 20)
#include "fuzz_replay.h"
