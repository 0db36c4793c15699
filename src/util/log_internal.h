/* The two pure pieces of util/log.c, exposed for its unit test (tests/unit/check_log.c): how one
 * line is formatted for a given time, and how stderr is recognised as the systemd journal. */
#ifndef CROWCAST_UTIL_LOG_INTERNAL_H
#define CROWCAST_UTIL_LOG_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/log.h"

/* Bytes of "2026-12-02T16:40:01.123Z " (the stamp and its space). */
#define CROW_LOG_STAMP_LEN 25

/* Formats one line into buf[0..cap) (cap >= CROW_LOG_STAMP_LEN + 32): "STAMP crowcast[ROLE] LEVEL:
 * message\n", STAMP being `unix_ms` (milliseconds since 1970 UTC) in RFC 3339 with milliseconds,
 * UTC ("Z"); without the stamp and its space when unix_ms < 0; "crowcast LEVEL: " when role is
 * "". A message too long for buf is cut, and the line still ends with '\n'. Returns its length. */
size_t crow_log_format(char *buf, size_t cap, int64_t unix_ms, const char *role, enum crow_log_level level,
                       const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));

/* True when `journal_stream` (the JOURNAL_STREAM environment variable: "DEV:INO" in decimal, as
 * systemd sets it for a service whose stdout or stderr goes to the journal) names the file whose
 * fstat(2) gave st_dev `dev` and st_ino `ino`. False for NULL, "" or anything malformed. */
bool crow_log_is_journal(const char *journal_stream, uint64_t dev, uint64_t ino);

#endif
