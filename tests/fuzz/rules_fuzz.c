/*
 * rules_fuzz — libFuzzer entry for the rules loader (YAML, conditions,
 * exceptions, outputs), plus a main() that replays stored inputs so ctest
 * runs the corpus as a regression test (fuzz_replay.h):
 *
 *   rules_fuzz DIR_OR_FILE...      (built with -DSF_FUZZ_LIBFUZZER and
 *                                   -fsanitize=fuzzer, main() is libFuzzer's)
 *
 * A loaded ruleset is also evaluated against one event and every rule's
 * alert is rendered, so the evaluator and formatter see fuzzed trees too.
 */
#include <stdint.h>
#include <stdio.h>

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

#define FUZZ_REPLAY_MAX SF_RULES_MAX_FILE
#include "fuzz_replay.h"
