/*
 * lockfile_bench — how fast `scanfarm deps` reads a large package-lock.json
 * (lockfileVersion 3, N entries written here in npm's own layout): entries
 * per second through sf_walk_parse (jansson, the key-line scan, the unique
 * set), against the baseline of jansson alone parsing the same text in the
 * same run — the floor any reader over that library has.
 *
 *   lockfile_bench [ENTRIES (100000)] [ROUNDS (5)]
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "depset.h"
#include "util.h"
#include "walk.h"

static int bench_doc(struct sf_buf *b, long n)
{
	int rc = sf_buf_appendf(b, "{\n  \"name\": \"big\",\n  \"version\": \"1.0.0\",\n"
				   "  \"lockfileVersion\": 3,\n  \"requires\": true,\n"
				   "  \"packages\": {\n    \"\": {\n      \"name\": \"big\"\n    }");
	for (long i = 0; rc == 0 && i < n; i++)
		rc = sf_buf_appendf(
		    b,
		    ",\n    \"node_modules/pkg-%ld\": {\n      \"version\": \"1.%ld.0\",\n"
		    "      \"resolved\": \"https://registry.npmjs.org/pkg-%ld/-/pkg-%ld-1.%ld.0.tgz\",\n"
		    "      \"integrity\": \"sha512-%064ld%022ld==\",\n"
		    "      \"dependencies\": {\n        \"pkg-%ld\": \"^1.0.0\"\n      }\n    }",
		    i, i % 50, i, i, i % 50, i, i, (i + 1) % n);
	return rc ? rc : sf_buf_appendf(b, "\n  }\n}\n");
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000, rounds = argc > 2 ? atol(argv[2]) : 5;
	struct sf_buf doc = {0};
	if (n <= 0 || rounds <= 0 || bench_doc(&doc, n)) {
		fprintf(stderr, "usage: lockfile_bench [ENTRIES] [ROUNDS]\n");
		return 2;
	}
	double best_base = 1e9, best = 1e9;
	size_t found = 0;
	for (long r = 0; r < rounds; r++) {
		int64_t t0 = sf_monotonic_ms();
		json_t *j = json_loadb(doc.data, doc.len, JSON_REJECT_DUPLICATES, NULL);
		int64_t t1 = sf_monotonic_ms();
		json_decref(j);
		struct sf_depset s;
		sf_depset_init(&s);
		int64_t t2 = sf_monotonic_ms();
		int rc = sf_walk_parse(&s, "bench", "package-lock.json", doc.data, doc.len);
		int64_t t3 = sf_monotonic_ms();
		found = s.ndeps;
		sf_depset_free(&s);
		if (!j || rc) {
			fprintf(stderr, "parse failed\n");
			return 1;
		}
		if (t1 - t0 < best_base)
			best_base = (double)(t1 - t0);
		if (t3 - t2 < best)
			best = (double)(t3 - t2);
	}
	double mb = (double)doc.len / (1 << 20);
	printf("package-lock.json: %ld entries, %.1f MiB; best of %ld rounds\n", n, mb, rounds);
	printf("  baseline, jansson alone:   %7.0f ms  %9.0f entries/s\n", best_base,
	       n / (best_base / 1000.0));
	printf("  scanfarm deps reader:      %7.0f ms  %9.0f entries/s  (%zu unique)\n", best,
	       n / (best / 1000.0), found);
	printf("  ratio (reader / baseline): %.2f\n", best / (best_base > 0 ? best_base : 1));
	sf_buf_free(&doc);
	return found == (size_t)n ? 0 : 1;
}
