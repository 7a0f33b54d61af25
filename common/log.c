/* log — see log.h. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *log_component = "scanfarm";
static enum sf_log_level log_min = SF_LOG_INFO;
static const char *const log_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void sf_log_init(const char *component, enum sf_log_level level)
{
	log_component = component;
	log_min = level;
}

int sf_log_level_parse(const char *name, enum sf_log_level *out)
{
	for (unsigned i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (strcasecmp(name, log_names[i]) == 0) {
			*out = (enum sf_log_level)i;
			return 0;
		}
	}
	return -1;
}

int sf_log_setup(const char *component, const char *level_name)
{
	enum sf_log_level level;
	if (!level_name || sf_log_level_parse(level_name, &level) != 0) {
		fprintf(stderr, "--log-level: expected debug, info, warn or error\n");
		return -EINVAL;
	}
	sf_log_init(component, level);
	return 0;
}

void sf_log(enum sf_log_level level, const char *fmt, ...)
{
	if (level < log_min)
		return;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char when[32];
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s %s: %s\n", when, ts.tv_nsec / 1000000L,
		log_names[level], log_component, msg);
}
