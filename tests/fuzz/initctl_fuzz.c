/*
 * initctl_fuzz — libFuzzer entry for the reader of the sandbox init's
 * control stream (worker/sandbox/run.c, sf_init_ctl_feed): bytes that come
 * from inside the sandbox. Fed in two pieces at a fuzzed split, as a
 * socket delivers them. Built as a replayer of tests/fuzz/corpus/initctl
 * under ctest (fuzz_replay.h).
 */
#include <stdint.h>
#include <string.h>

#include "run.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sf_init_ctl c;
	memset(&c, 0, sizeof(c));
	int status, left;
	size_t cut = size ? data[0] % (size + 1) : 0;
	sf_init_ctl_feed(&c, (const char *)data, cut, &status, &left);
	sf_init_ctl_feed(&c, (const char *)data + cut, size - cut, &status, &left);
	/* the line buffer never overflows, whatever arrives */
	if (c.len >= sizeof(c.line))
		__builtin_trap();
	return 0;
}

#define FUZZ_REPLAY_MAX (1 << 16)
#include "fuzz_replay.h"
