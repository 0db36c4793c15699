/* Leveled logging to stderr; one write(2) per line so lines from processes sharing a
 * terminal do not interleave mid-line.
 *
 * Each line starts with its wall-clock time (RFC 3339, milliseconds, UTC) unless stderr is the
 * systemd journal, which stamps every line itself: a log file written by a test harness, nohup or
 * a container runtime can then say when a host stalled. This file is the one place besides io/
 * that reads a clock: a log line's time is for people, never an input to a decision. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crowcast/error.h"
#include "crowcast/log.h"
#include "crowcast/units.h"
#include "log_internal.h"

static enum crow_log_level current_level = CROW_LOG_INFO;
static char role[48] = "";
static int stamped = -1; /* -1: not decided yet (the first line looks at stderr) */

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

bool crow_log_is_journal(const char *journal_stream, uint64_t dev, uint64_t ino)
{
    const char *colon = journal_stream ? strchr(journal_stream, ':') : NULL;
    uint64_t d, i;
    if (!colon || !crow_parse_decimal(journal_stream, (size_t)(colon - journal_stream), UINT64_MAX, &d) ||
        !crow_parse_decimal(colon + 1, strlen(colon + 1), UINT64_MAX, &i))
        return false;
    return d == dev && i == ino;
}

/* systemd's convention (systemd.exec(5), JOURNAL_STREAM): the variable names the journal's
 * stream by device and inode; stderr is the journal only when fd 2 is that very file (a service
 * may have redirected stderr elsewhere, or a child inherited the variable but not the stream). */
static bool stderr_is_journal(void)
{
    struct stat st;
    if (fstat(STDERR_FILENO, &st) < 0)
        return false;
    return crow_log_is_journal(getenv("JOURNAL_STREAM"), (uint64_t)st.st_dev, (uint64_t)st.st_ino);
}

size_t crow_log_format(char *buf, size_t cap, int64_t unix_ms, const char *who, enum crow_log_level level,
                       const char *fmt, va_list ap)
{
    size_t n = 0;
    if (unix_ms >= 0) {
        time_t secs = (time_t)(unix_ms / 1000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
        int k = snprintf(buf + n, cap - n, ".%03dZ ", (int)(unix_ms % 1000));
        n += k > 0 ? (size_t)k : 0;
    }
    int k = who[0] ? snprintf(buf + n, cap - n, "crowcast[%s] %s: ", who, level_names[level])
                   : snprintf(buf + n, cap - n, "crowcast %s: ", level_names[level]);
    n += k > 0 ? (size_t)k : 0;
    if (n > cap - 2)
        n = cap - 2;
    int m = vsnprintf(buf + n, cap - n - 1, fmt, ap);
    n += m > 0 ? (size_t)m : 0;
    if (n > cap - 2)
        n = cap - 2;
    buf[n++] = '\n';
    buf[n] = '\0';
    return n;
}

void crow_log_v(enum crow_log_level level, const char *fmt, va_list ap)
{
    if (level > current_level)
        return;
    if (stamped < 0)
        stamped = !stderr_is_journal();
    int64_t unix_ms = -1;
    if (stamped) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unix_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    }
    char line[1024];
    size_t len = crow_log_format(line, sizeof line, unix_ms, role, level, fmt, ap);
    ssize_t ignored = write(STDERR_FILENO, line, len);
    (void)ignored;
}

void crow_log(enum crow_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    crow_log_v(level, fmt, ap);
    va_end(ap);
}
