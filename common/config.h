/*
 * config — option tables shared by the daemons and the CLI.
 *
 * A program declares an array of sf_option; sf_config_load fills each value
 * from, lowest precedence first: the default, a `key = value` file named by
 * --config (or SCANFARM_CONFIG), the environment (SCANFARM_<KEY> with '-' as
 * '_'), then --key=value / --key value on the command line.
 *
 * Owns: the strings it stores in sf_option.value (free with sf_config_free).
 * Calls: libc, util, log.
 */
#ifndef SF_CONFIG_H
#define SF_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct sf_option {
	const char *name; /* "db-dsn" */
	const char *def;  /* default value, or NULL for "unset" */
	const char *help;
	char *value; /* filled by sf_config_load; NULL when unset */
};

/* Returns 0, 1 when --help was asked (usage printed), or -EINVAL with a message
 * on stderr. Positional arguments are returned through *rest / *nrest. */
int sf_config_load(struct sf_option *opts, size_t n, int argc, char **argv,
		   const char *usage, char ***rest, int *nrest);
void sf_config_free(struct sf_option *opts, size_t n);

const char *sf_config_get(const struct sf_option *opts, size_t n, const char *name);
/* Integer option with bounds; -EINVAL when unset, malformed or out of range. */
int sf_config_int(const struct sf_option *opts, size_t n, const char *name, long long min,
		  long long max, long long *out);
int sf_parse_ll(const char *s, long long min, long long max, long long *out);

#endif
