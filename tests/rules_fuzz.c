/*
 * rules_fuzz — libFuzzer entry for the rules loader (YAML, conditions,
 * exceptions, outputs), plus a main() that replays stored inputs so ctest
 * runs the corpus as a regression test:
 *
 *   rules_fuzz DIR_OR_FILE...      (built with -DSF_FUZZ_LIBFUZZER and
 *                                   -fsanitize=fuzzer, main() is libFuzzer's)
 *
 * A loaded ruleset is also evaluated against one event and every rule's
 * alert is rendered, so the evaluator and formatter see fuzzed trees too.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rules.h"
#include "util.h"

static void rules_fuzz_match(void *arg, const struct sf_rule *rule, const struct sf_event *ev)
{
	struct sf_alert a;
	if (sf_rules_alert(arg, rule, ev, "fuzz", &a) == 0)
		sf_alert_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct sf_ruleset *rs;
	if (sf_rules_load_buffer(&rs, "fuzz.yaml", data, size, err, sizeof(err)) != 0)
		return 0;
	struct sf_proc parent = {.pid = 1, .name = "sh", .exe = "/bin/sh", .args = "-c x"};
	struct sf_proc proc = {.pid = 2,
			       .ppid = 1,
			       .name = "node",
			       .exe = "node",
			       .exepath = "/usr/bin/node",
			       .args = "install.js",
			       .cwd = "/work/",
			       .parent = &parent};
	const char *types[] = {"openat", "execve", "connect"};
	static struct sf_rules_ctx ctx;
	sf_rules_ctx_init(&ctx);
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		struct sf_event ev = {.type = types[t],
				      .time_ns = 1,
				      .res = -2,
				      .proc = &proc,
				      .fd_type = SF_FD_FILE,
				      .fd_name = "/etc/passwd",
				      .nargs = 1,
				      .args = {{"flags", "O_RDONLY"}}};
		sf_rules_eval(rs, &ctx, &ev, rules_fuzz_match, rs);
	}
	sf_rules_free(rs);
	return 0;
}

#ifndef SF_FUZZ_LIBFUZZER
static int rules_fuzz_file(const char *path)
{
	char *data;
	size_t len;
	int rc = sf_read_file(path, SF_RULES_MAX_FILE, &data, &len);
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
			failed |= rules_fuzz_file(argv[i]);
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
			failed |= rules_fuzz_file(path);
			files++;
		}
		closedir(d);
	}
	fprintf(stderr, "replayed %d inputs\n", files);
	return failed;
}
#endif
