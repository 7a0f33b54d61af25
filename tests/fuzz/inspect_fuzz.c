/*
 * inspect_fuzz — libFuzzer entry for what the coordinator reads of npm,
 * pypi and rubygems bodies and sources, all of it hostile: the content
 * inspector (coordinator/submit/inspect.c) on archives, and the readers of
 * a PEP 503 project page (resolve_pypi.c) and of a compact index info file
 * (resolve_gem.c). Input: the first line says which ("npm", "pypi", "rubygems",
 * "pypi-page", "gem-info"), the bytes follow. Built as a replayer of
 * tests/fuzz/corpus/inspect under ctest (fuzz_replay.h):
 *
 *   inspect_fuzz DIR_OR_FILE...   (built with -DSF_FUZZ_LIBFUZZER and
 *                                  -fsanitize=fuzzer, main() is libFuzzer's)
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "inspect.h"
#include "resolve_gem.h"
#include "resolve_pypi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct sf_inspect_limits lim = {.max_entries = 2000, .max_unpacked = 8 << 20};
	const uint8_t *nl = memchr(data, '\n', size < 32 ? size : 32);
	char what[32] = "";
	if (nl)
		memcpy(what, data, (size_t)(nl - data));
	const char *body = nl ? (const char *)nl + 1 : (const char *)data;
	size_t len = nl ? size - (size_t)(nl + 1 - data) : size;
	if (strcmp(what, "npm") == 0 || strcmp(what, "pypi") == 0 || strcmp(what, "rubygems") == 0) {
		struct sf_inspection o;
		(void)sf_inspect_memory(body, len, what, &lim, &o);
	} else if (strcmp(what, "pypi-page") == 0) {
		struct sf_resolve_dist d;
		char err[512];
		(void)sf_pypi_parse_page(body, len, "http://127.0.0.1:1/simple/sf-benign/", "sf_benign",
					 "1.0.0", &d, err, sizeof(err));
	} else {
		char sha[SF_SHA256_HEX + 1], err[512];
		(void)sf_gem_parse_info(body, len, "sf-gem", "0.4.1", sha, err, sizeof(err));
	}
	return 0;
}

#define FUZZ_REPLAY_MAX (16u << 20)
#include "fuzz_replay.h"
