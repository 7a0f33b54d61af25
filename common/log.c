/* log — see log.h. */
#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *log_component = "scanfarm";
static enum sf_log_level log_min = SF_LOG_INFO;
static const char *const log_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
static bool log_json; /* one JSON object per line instead of text */

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

int sf_log_format(const char *name)
{
	if (name && strcmp(name, "text") == 0)
		log_json = false;
	else if (name && strcmp(name, "json") == 0)
		log_json = true;
	else {
		fprintf(stderr, "--log-format: expected text or json\n");
		return -EINVAL;
	}
	return 0;
}

/* msg as the inside of a JSON string: quotes, backslashes and control
 * characters escaped (the rest is passed through; callers log UTF-8). */
static void log_json_escape(const char *msg, char *out, size_t outlen)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)msg; *p && o + 7 < outlen; p++) {
		if (*p == '"' || *p == '\\') {
			out[o++] = '\\';
			out[o++] = (char)*p;
		} else if (*p < 0x20) {
			o += (size_t)snprintf(out + o, outlen - o, "\\u%04x", *p);
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o] = '\0';
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
	if (log_json) {
		char esc[sizeof(msg) * 6 + 1];
		log_json_escape(msg, esc, sizeof(esc));
		fprintf(stderr,
			"{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"component\":\"%s\",\"msg\":\"%s\"}\n",
			when, ts.tv_nsec / 1000000L, log_names[level], log_component, esc);
		return;
	}
	fprintf(stderr, "%s.%03ldZ %s %s: %s\n", when, ts.tv_nsec / 1000000L,
		log_names[level], log_component, msg);
}
