/*
 * fuzz_replay — main() for a libFuzzer target built as a plain program: it
 * feeds every file named (or found in a directory named) to
 * LLVMFuzzerTestOneInput, so ctest replays a stored corpus as a regression
 * test. Include it last in the target's .c file; with -DSF_FUZZ_LIBFUZZER
 * (and -fsanitize=fuzzer) libFuzzer's own main() is used instead.
 * FUZZ_REPLAY_MAX is the largest input read (bytes).
 */
#ifndef SF_FUZZ_REPLAY_H
#define SF_FUZZ_REPLAY_H
#ifndef SF_FUZZ_LIBFUZZER

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

static int fuzz_replay_file(const char *path)
{
	char *data;
	size_t len;
	int rc = sf_read_file(path, FUZZ_REPLAY_MAX, &data, &len);
	if (rc) {
		fprintf(stderr, "%s: %s\n", path, strerror(-rc));
		return 1;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)data, len);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	int failed = 0, files = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			failed |= fuzz_replay_file(argv[i]);
			files++;
			continue;
		}
		DIR *d = opendir(argv[i]);
		if (!d)
			return 1;
		for (;;) {
			struct dirent *de = readdir(d);
			if (!de)
				break;
			if (de->d_name[0] == '.')
				continue;
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
			failed |= fuzz_replay_file(path);
			files++;
		}
		closedir(d);
	}
	fprintf(stderr, "replayed %d inputs\n", files);
	return failed || files == 0;
}

#endif
#endif
