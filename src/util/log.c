/* Leveled logging to stderr; one write(2) per line so lines from processes sharing a
 * terminal do not interleave mid-line. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crowcast/error.h"
#include "crowcast/log.h"

static enum crow_log_level current_level = CROW_LOG_INFO;
static char role[48] = "";

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void crow_log_set_level(enum crow_log_level level)
{
    current_level = level;
}

enum crow_log_level crow_log_get_level(void)
{
    return current_level;
}

int crow_log_parse_level(const char *name, enum crow_log_level *out)
{
    for (unsigned i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum crow_log_level)i;
            return 0;
        }
    }
    return CROW_EUSAGE;
}

void crow_log_set_role(const char *name)
{
    snprintf(role, sizeof role, "%s", name);
}

void crow_vlog(enum crow_log_level level, const char *fmt, va_list ap)
{
    if (level > current_level)
        return;
    char line[1024];
    int n = role[0] ? snprintf(line, sizeof line, "crowcast[%s] %s: ", role, level_names[level])
                    : snprintf(line, sizeof line, "crowcast %s: ", level_names[level]);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, line, len);
    (void)ignored;
}

void crow_log(enum crow_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    crow_vlog(level, fmt, ap);
    va_end(ap);
}
