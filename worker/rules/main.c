/*
 * scanfarm-rules — checks and lists Falco-format rules files the way the
 * worker's rule engine (rules.h) loads them.
 *
 *   scanfarm-rules check PATH...   "N rules, digest SHA" and any warnings,
 *                                  or the first error (exit 1)
 *   scanfarm-rules check --explain PATH...
 *                                  also the Falco fields the conditions use
 *                                  that the sensor cannot know (always missing)
 *   scanfarm-rules list PATH...    one rule per line: name, priority, tags
 *
 * PATH is a rules file or a directory of *.yaml / *.yml files; paths load in
 * the order given, later ones appending to or overriding earlier ones.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

static int rules_main_usage(void)
{
	fprintf(stderr, "usage: scanfarm-rules check [--explain]|list PATH...\n");
	return 2;
}

static void rules_main_list(const struct sf_ruleset *rs)
{
	for (size_t i = 0; i < sf_rules_total(rs); i++) {
		const struct sf_rule *r = sf_rules_at(rs, i);
		printf("%s\t%s\t", sf_rule_name(r), sf_rule_priority_name(r));
		for (size_t t = 0; t < sf_rule_ntags(r); t++)
			printf("%s%s", t ? "," : "", sf_rule_tag(r, t));
		printf("%s\n", sf_rule_enabled(r) ? "" : "\t(disabled)");
	}
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return rules_main_usage();
	bool check = strcmp(argv[1], "check") == 0;
	if (!check && strcmp(argv[1], "list") != 0)
		return rules_main_usage();
	bool explain = check && !strcmp(argv[2], "--explain");
	if (explain && argc < 4)
		return rules_main_usage();
	char err[1024];
	struct sf_ruleset *rs;
	int first = explain ? 3 : 2;
	int rc = sf_rules_load(&rs, (const char *const *)(argv + first), (size_t)(argc - first), err,
			       sizeof(err));
	if (rc) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (check) {
		fputs(sf_rules_warnings(rs), stderr);
		printf("%zu rules, digest %s\n", sf_rules_count(rs), sf_rules_digest(rs));
		char *absent = explain ? sf_rules_absent_fields(rs) : NULL;
		if (absent && absent[0])
			printf("fields the sensor cannot know (always missing, as in Falco when a"
			       " field has no value):\n%s", absent);
		free(absent);
	} else {
		rules_main_list(rs);
	}
	sf_rules_free(rs);
	return 0;
}
