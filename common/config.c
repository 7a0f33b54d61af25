/* config — see config.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static struct sf_option *config_find(struct sf_option *opts, size_t n, const char *name,
				     size_t namelen)
{
	for (size_t i = 0; i < n; i++) {
		if (strlen(opts[i].name) == namelen && strncmp(opts[i].name, name, namelen) == 0)
			return &opts[i];
	}
	return NULL;
}

static int config_set(struct sf_option *o, const char *value)
{
	char *v = strdup(value);
	if (!v)
		return -ENOMEM;
	free(o->value);
	o->value = v;
	return 0;
}

static char *config_trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	return s;
}

static int config_file(struct sf_option *opts, size_t n, const char *path)
{
	char *text = NULL;
	int rc = sf_read_file(path, 1 << 20, &text, NULL);
	if (rc) {
		fprintf(stderr, "config: cannot read %s: %s\n", path, strerror(-rc));
		return -EINVAL;
	}
	int lineno = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		char *t = config_trim(line);
		if (*t == '\0' || *t == '#')
			continue;
		char *eq = strchr(t, '=');
		if (!eq) {
			fprintf(stderr, "config: %s:%d: expected key = value\n", path, lineno);
			rc = -EINVAL;
			break;
		}
		*eq = '\0';
		char *key = config_trim(t);
		struct sf_option *o = config_find(opts, n, key, strlen(key));
		if (!o) {
			fprintf(stderr, "config: %s:%d: unknown option '%s'\n", path, lineno, key);
			rc = -EINVAL;
			break;
		}
		rc = config_set(o, config_trim(eq + 1));
		if (rc)
			break;
	}
	free(text);
	return rc;
}

static void config_usage(const struct sf_option *opts, size_t n, const char *usage)
{
	printf("%s\n\nOptions (also SCANFARM_<NAME> in the environment or key = value in --config):\n",
	       usage);
	printf("  --%-22s %s\n", "config FILE", "read options from FILE");
	for (size_t i = 0; i < n; i++) {
		printf("  --%-22s %s", opts[i].name, opts[i].help);
		if (opts[i].def && *opts[i].def)
			printf(" (default: %s)", opts[i].def);
		printf("\n");
	}
}

int sf_config_load(struct sf_option *opts, size_t n, int argc, char **argv,
		   const char *usage, char ***rest, int *nrest)
{
	int rc;
	for (size_t i = 0; i < n; i++) {
		opts[i].value = NULL;
		if (opts[i].def && (rc = config_set(&opts[i], opts[i].def)))
			return rc;
	}

	/* The config file comes first so the environment and flags override it. */
	const char *file = getenv("SCANFARM_CONFIG");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			file = argv[i + 1];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			file = argv[i] + 9;
	}
	if (file && *file && (rc = config_file(opts, n, file)))
		return rc;

	for (size_t i = 0; i < n; i++) {
		char env[128] = "SCANFARM_";
		size_t k = strlen(env);
		for (const char *p = opts[i].name; *p && k + 1 < sizeof(env); p++)
			env[k++] = (*p == '-') ? '_' : (char)toupper((unsigned char)*p);
		env[k] = '\0';
		const char *v = getenv(env);
		if (v && (rc = config_set(&opts[i], v)))
			return rc;
	}

	int npos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			config_usage(opts, n, usage);
			return 1;
		}
		if (strcmp(a, "--") == 0) {
			for (i++; i < argc; i++)
				argv[1 + npos++] = argv[i];
			break;
		}
		if (strncmp(a, "--", 2) != 0) {
			argv[1 + npos++] = argv[i];
			continue;
		}
		const char *name = a + 2;
		const char *eq = strchr(name, '=');
		size_t namelen = eq ? (size_t)(eq - name) : strlen(name);
		if (namelen == 6 && strncmp(name, "config", 6) == 0) {
			if (!eq)
				i++;
			continue;
		}
		struct sf_option *o = config_find(opts, n, name, namelen);
		if (!o) {
			fprintf(stderr, "unknown option '%s' (try --help)\n", a);
			return -EINVAL;
		}
		const char *value;
		if (eq) {
			value = eq + 1;
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			fprintf(stderr, "option '%s' needs a value\n", a);
			return -EINVAL;
		}
		if ((rc = config_set(o, value)))
			return rc;
	}
	if (rest)
		*rest = argv + 1;
	if (nrest)
		*nrest = npos;
	return 0;
}

void sf_config_free(struct sf_option *opts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(opts[i].value);
		opts[i].value = NULL;
	}
}

const char *sf_config_get(const struct sf_option *opts, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(opts[i].name, name) == 0)
			return opts[i].value;
	}
	return NULL;
}

int sf_parse_ll(const char *s, long long min, long long max, long long *out)
{
	if (!s || !*s)
		return -EINVAL;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int sf_config_int(const struct sf_option *opts, size_t n, const char *name, long long min,
		  long long max, long long *out)
{
	int rc = sf_parse_ll(sf_config_get(opts, n, name), min, max, out);
	if (rc)
		fprintf(stderr, "option --%s: expected an integer in [%lld, %lld]\n", name, min,
			max);
	return rc;
}
