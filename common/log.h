/*
 * log — one-line structured log records on stderr, shared by every daemon.
 *
 * Owns: the process-wide log level and component name.
 * Calls: libc only. Thread-safe (one fprintf per record).
 * Records look like:  2026-11-23T12:00:00.123Z INFO coordinator: scan queued id=…
 * or, with sf_log_format("json"), one JSON object per line:
 *   {"time":"2026-11-23T12:00:00.123Z","level":"INFO","component":"coordinator","msg":"…"}
 */
#ifndef SF_LOG_H
#define SF_LOG_H

enum sf_log_level { SF_LOG_DEBUG, SF_LOG_INFO, SF_LOG_WARN, SF_LOG_ERROR };

void sf_log_init(const char *component, enum sf_log_level level);
int sf_log_level_parse(const char *name, enum sf_log_level *out);
/* sf_log_init from a level name given by the user; -EINVAL (with a message
 * on stderr) when the name is not a level. */
int sf_log_setup(const char *component, const char *level_name);
/* "text" (the default) or "json"; -EINVAL (with a message on stderr) else. */
int sf_log_format(const char *name);
void sf_log(enum sf_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define sf_debug(...) sf_log(SF_LOG_DEBUG, __VA_ARGS__)
#define sf_info(...) sf_log(SF_LOG_INFO, __VA_ARGS__)
#define sf_warn(...) sf_log(SF_LOG_WARN, __VA_ARGS__)
#define sf_error(...) sf_log(SF_LOG_ERROR, __VA_ARGS__)

#endif
