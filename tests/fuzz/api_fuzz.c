/*
 * api_fuzz — libFuzzer entry for what a client's bytes reach in the
 * coordinator before the database: the route table (coordinator/api/
 * routes.c, any method and path) and the reader and judge of a JSON batch
 * (coordinator/submit/bulk.c: the document, priority, rescan, network,
 * labels, every item's sha256 / package / version / labels; stored bytes
 * are looked up in an empty artifact store of its own). Input: the
 * request line ("METHOD PATH") first, the batch body after it. Built as a
 * replayer of tests/fuzz/corpus/api under ctest (fuzz_replay.h):
 *
 *   api_fuzz DIR_OR_FILE...        (built with -DSF_FUZZ_LIBFUZZER and
 *                                   -fsanitize=fuzzer, main() is libFuzzer's)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulk.h"
#include "fuzz_request.h"
#include "routes.h"
#include "store.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char store_dir[] = "/tmp/sf-api-fuzz-XXXXXX";
static void api_fuzz_cleanup(void) { sf_rmtree(store_dir); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[4096], msg[512];
	const char *method;
	char *url;
	size_t llen = fuzz_request_line(data, size, line, sizeof(line), &method, &url);
	size_t rest = 0;
	enum sf_query_route query;
	int r = sf_routes_lookup(url, method, &rest, &query);
	if (r == 0 && rest > strlen(url))
		__builtin_trap(); /* the handler's part must lie inside the URL */
	if (r == 0 && (unsigned)query >= SF_QUERY_ROUTES)
		__builtin_trap();
	static struct sf_store store;
	static int have_store;
	if (!have_store) {
		if (!mkdtemp(store_dir) || sf_store_open(&store, store_dir) != 0)
			__builtin_trap();
		atexit(api_fuzz_cleanup);
		have_store = 1;
	}
	struct sf_bulk_config cfg = {.max_items = 1000, .max_stream_items = 100000, .store = &store};
	size_t accepted = 0;
	const char *body = llen < size ? (const char *)data + llen + 1 : "";
	size_t blen = llen < size ? size - llen - 1 : 0;
	(void)sf_bulk_check(&cfg, body, blen, &accepted, msg, sizeof(msg));
	return 0;
}

#define FUZZ_REPLAY_MAX (16u << 20)
#include "fuzz_replay.h"
