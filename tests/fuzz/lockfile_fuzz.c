/*
 * lockfile_fuzz — libFuzzer entry for the lockfile readers (cli/deps/):
 * the same bytes go to every parser, the hand-written ones (yarn classic,
 * requirements.txt, Gemfile.lock, the TOML reader behind poetry.lock, the
 * JSON key-line scanner) and those over libraries (package-lock.json and
 * Pipfile.lock through jansson, pnpm-lock.yaml and yarn berry through
 * libyaml). A parser may refuse the input (a diagnostic) but must not
 * crash, leak or leave half a file in the set. Built as a replayer of
 * tests/fuzz/corpus/lockfile under ctest (fuzz_replay.h); the corpus also
 * holds the fixtures of tests/fixtures/lockfiles.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "depset.h"
#include "jsonpos.h"
#include "walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const files[] = {"package-lock.json", "yarn.lock", "pnpm-lock.yaml",
					    "requirements.txt", "Pipfile.lock", "poetry.lock",
					    "Gemfile.lock"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct sf_depset s;
		sf_depset_init(&s);
		if (sf_walk_parse(&s, "fuzz", files[i], (const char *)data, size) != 0)
			abort(); /* only -ENOMEM may fail, and nothing here runs out */
		/* a file is used whole or not at all */
		if (s.ndiags && s.diags[s.ndiags - 1].skipped_file && (s.ndeps || s.lockfiles))
			abort();
		sf_depset_free(&s);
	}
	struct sf_jsonpos p;
	if (sf_jsonpos_scan((const char *)data, size, &p) == 0)
		sf_jsonpos_free(&p);
	return 0;
}

#define FUZZ_REPLAY_MAX (1u << 20)
#include "fuzz_replay.h"
