/* Leveled logging to stderr. Every line is "TIME crowcast[ROLE] LEVEL: message", TIME being the
 * wall-clock time in RFC 3339 with milliseconds, UTC (2026-12-02T16:40:01.123Z); without TIME when
 * stderr is the systemd journal (JOURNAL_STREAM names fd 2's device and inode), which adds its own. */
#ifndef CROWCAST_LOG_H
#define CROWCAST_LOG_H

#include <stdarg.h>

enum crow_log_level { CROW_LOG_ERROR, CROW_LOG_WARN, CROW_LOG_INFO, CROW_LOG_DEBUG };

/* Messages above `level` are discarded. Default: CROW_LOG_INFO. */
void crow_log_set_level(enum crow_log_level level);
enum crow_log_level crow_log_get_level(void);
/* Parses "error", "warn", "info" or "debug"; returns 0 or CROW_EUSAGE. */
int crow_log_parse_level(const char *name, enum crow_log_level *out);
/* Names the process in every line (e.g. "seed", "get 127.0.1.2"). The string is copied. */
void crow_log_set_role(const char *role);

void crow_log(enum crow_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void crow_log_v(enum crow_log_level level, const char *fmt, va_list ap);

#define crow_log_error(...) crow_log(CROW_LOG_ERROR, __VA_ARGS__)
#define crow_log_warn(...)  crow_log(CROW_LOG_WARN, __VA_ARGS__)
#define crow_log_info(...)  crow_log(CROW_LOG_INFO, __VA_ARGS__)
#define crow_log_debug(...) crow_log(CROW_LOG_DEBUG, __VA_ARGS__)

#endif
