/*
 * fields_absent — Falco fields the worker's sensor cannot know: Kubernetes
 * and container-runtime metadata, a process's terminal, session, login
 * name, capabilities, environment, its executable's inode times, reverse
 * DNS names of addresses the sinkhole did not resolve, and the rest of
 * what `falco --list=syscall` documents that the event model lacks.
 *
 * Rules that name them load (Falco's own rule files do), and the fields
 * evaluate the way Falco evaluates a field without a value: every
 * comparison is false, `!=` included, and outputs print "<NA>". So a rule
 * whose condition needs one of them to hold does not fire here, and one
 * that excludes on it (`and not proc.tty != 0`) is not held back by it.
 * `scanfarm-rules check --explain` lists the absent fields the loaded
 * rules use (sf_rules_absent_fields).
 *
 * Owns: the static table. Calls: nothing.
 */
#ifndef SF_FIELDS_ABSENT_H
#define SF_FIELDS_ABSENT_H

#include <stdbool.h>
#include <stddef.h>

struct sf_field_absent {
	const char *name;
	int type;	/* enum sf_ftype (fields.h) */
	bool takes_arg; /* proc.env[NAME], container.mount.dest[DIR], … */
	const char *why; /* what the sensor would need to know */
};

/* The entry for name[0..len), or -1. */
int sf_fields_absent_lookup(const char *name, size_t len);
const struct sf_field_absent *sf_fields_absent_at(int i);
int sf_fields_absent_count(void);

#endif
