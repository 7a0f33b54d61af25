/*
 * wire_fuzz — libFuzzer entry for the NNG message decoder (common/wire.c):
 * every byte string a peer can send on the jobs or results socket. What
 * decodes is encoded again and must decode to the same kind of message,
 * so the encoders see fuzzed values too. Built as a replayer of
 * tests/fuzz/corpus/wire under ctest (fuzz_replay.h):
 *
 *   wire_fuzz DIR_OR_FILE...       (built with -DSF_FUZZ_LIBFUZZER and
 *                                   -fsanitize=fuzzer, main() is libFuzzer's)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int wire_fuzz_encode(const struct sf_msg *m, struct sf_buf *out)
{
	switch (m->type) {
	case SF_MSG_JOBS:
		return sf_wire_encode_jobs(m->u.jobs.jobs, m->u.jobs.njobs, out);
	case SF_MSG_BATCH:
		return sf_wire_encode_batch(&m->u.batch, out);
	case SF_MSG_HELLO:
	case SF_MSG_HEARTBEAT:
		return sf_wire_encode_hello(&m->u.hello, m->type == SF_MSG_HEARTBEAT, out);
	case SF_MSG_WANT:
		return sf_wire_encode_want(&m->u.want, out);
	}
	return -EINVAL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sf_msg m;
	if (sf_wire_decode(data, size, &m) != 0)
		return 0;
	struct sf_buf out = {0};
	if (wire_fuzz_encode(&m, &out) == 0) {
		struct sf_msg again;
		int rc = sf_wire_decode(out.data, out.len, &again);
		/* what we decoded we must be able to send and read back */
		if (rc != 0 || again.type != m.type) {
			fprintf(stderr, "re-encoded message does not decode (%d)\n", rc);
			abort();
		}
		sf_msg_free(&again);
	}
	sf_buf_free(&out);
	sf_msg_free(&m);
	return 0;
}

#define FUZZ_REPLAY_MAX SF_WIRE_MAX_MSG
#include "fuzz_replay.h"
