/* util/log: the line format for an injected time (RFC 3339, milliseconds, UTC; no stamp under the
 * journal), cutting long messages, and systemd's JOURNAL_STREAM rule, both as a pure function and
 * through a real fd 2. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowcast/log.h"
#include "../../src/util/log_internal.h"
#include "check_main.h"

static size_t fmt(char *buf, size_t cap, int64_t ms, const char *role, enum crow_log_level level,
                  const char *f, ...) __attribute__((format(printf, 6, 7)));

static size_t fmt(char *buf, size_t cap, int64_t ms, const char *role, enum crow_log_level level,
                  const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    size_t n = crow_log_format(buf, cap, ms, role, level, f, ap);
    va_end(ap);
    return n;
}

START_TEST(test_format_stamps)
{
    static const struct {
        int64_t ms;
        const char *role;
        enum crow_log_level level;
        const char *want;
    } cases[] = {
        {1796229601123, "get 10.0.0.1", CROW_LOG_INFO,
         "2026-12-02T16:40:01.123Z crowcast[get 10.0.0.1] info: x 7\n"},
        {951782400005, "seed", CROW_LOG_WARN, "2000-02-29T00:00:00.005Z crowcast[seed] warn: x 7\n"},
        {0, "", CROW_LOG_ERROR, "1970-01-01T00:00:00.000Z crowcast error: x 7\n"},
        {999, "t", CROW_LOG_DEBUG, "1970-01-01T00:00:00.999Z crowcast[t] debug: x 7\n"},
        {-1, "get 10.0.0.1", CROW_LOG_INFO, "crowcast[get 10.0.0.1] info: x 7\n"}, /* the journal */
        {-1, "", CROW_LOG_WARN, "crowcast warn: x 7\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char line[256];
        size_t n = fmt(line, sizeof line, cases[i].ms, cases[i].role, cases[i].level, "x %d", 7);
        ck_assert_str_eq(line, cases[i].want);
        ck_assert_uint_eq(n, strlen(cases[i].want));
    }
    char line[64];
    fmt(line, sizeof line, 1796229601123, "r", CROW_LOG_INFO, "m");
    ck_assert_uint_eq(strcspn(line, " "), CROW_LOG_STAMP_LEN - 1);
}
END_TEST

START_TEST(test_format_cuts_long_lines)
{
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    for (size_t cap = CROW_LOG_STAMP_LEN + 32; cap <= 256; cap += 37) {
        char line[256];
        memset(line, 0x55, sizeof line);
        size_t n = fmt(line, cap, 1796229601123, "get 10.0.0.1", CROW_LOG_INFO, "%s", big);
        ck_assert_uint_eq(n, cap - 1);
        ck_assert_int_eq(line[n - 1], '\n');
        ck_assert_int_eq(line[n], '\0');
        ck_assert_int_eq(strncmp(line, "2026-12-02T16:40:01.123Z ", CROW_LOG_STAMP_LEN), 0);
        ck_assert_int_eq(line[cap], 0x55); /* nothing written past cap */
    }
}
END_TEST

START_TEST(test_journal_stream_rule)
{
    static const struct {
        const char *env;
        bool want;
    } cases[] = {
        {"2049:1234567", true},
        {"2049:1234568", false},
        {"2050:1234567", false},
        {NULL, false},
        {"", false},
        {"2049", false},
        {"2049:", false},
        {":1234567", false},
        {" 2049:1234567", false},
        {"+2049:1234567", false},
        {"2049:+1234567", false},
        {"2049:-1234567", false},
        {"2049:1234567 ", false},
        {"2049:1234567:1", false},
        {"0x801:1234567", false},
        {"99999999999999999999:1234567", false}, /* overflows 64 bits */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(crow_log_is_journal(cases[i].env, 2049, 1234567) == cases[i].want, "JOURNAL_STREAM=%s",
                      cases[i].env ? cases[i].env : "(unset)");
    ck_assert(crow_log_is_journal("18446744073709551615:18446744073709551615", UINT64_MAX, UINT64_MAX));
}
END_TEST

/* Points fd 2 at a fresh file, sets JOURNAL_STREAM to that file (or to another one), logs a line
 * and returns what landed in the file. The stamp decision is taken at a process's first line, so
 * this runs in the forked child Check gives every test. */
static void log_through_fd2(bool same_file, char *out, size_t cap)
{
    char path[] = "/tmp/check_log.XXXXXX", other[] = "/tmp/check_log_other.XXXXXX";
    int fd = mkstemp(path), ofd = mkstemp(other);
    ck_assert(fd >= 0 && ofd >= 0);
    struct stat st;
    ck_assert_int_eq(fstat(same_file ? fd : ofd, &st), 0);
    char env[64];
    snprintf(env, sizeof env, "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", env, 1);
    ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    crow_log_set_role("get 10.0.0.1");
    crow_log_info("hello %d", 42);
    ssize_t n = pread(fd, out, cap - 1, 0);
    ck_assert(n > 0);
    out[n] = '\0';
    close(fd);
    close(ofd);
    unlink(path);
    unlink(other);
}

static bool forked(void)
{
    const char *f = getenv("CK_FORK");
    return !(f && strcmp(f, "no") == 0);
}

START_TEST(test_journal_has_no_stamp)
{
    if (!forked())
        return; /* CK_FORK=no: the first line of the process was decided by another test */
    char got[256];
    log_through_fd2(true, got, sizeof got);
    ck_assert_str_eq(got, "crowcast[get 10.0.0.1] info: hello 42\n");
}
END_TEST

START_TEST(test_other_stderr_is_stamped)
{
    if (!forked())
        return;
    char got[256];
    log_through_fd2(false, got, sizeof got);
    /* 2026-12-02T16:40:01.123Z: digits where digits go, the rest literally */
    ck_assert_uint_eq(strlen(got), CROW_LOG_STAMP_LEN + strlen("crowcast[get 10.0.0.1] info: hello 42\n"));
    const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ ";
    for (size_t i = 0; i < CROW_LOG_STAMP_LEN; i++)
        ck_assert_msg(shape[i] == 'd' ? got[i] >= '0' && got[i] <= '9' : got[i] == shape[i], "byte %zu of %s",
                      i, got);
    ck_assert_str_eq(got + CROW_LOG_STAMP_LEN, "crowcast[get 10.0.0.1] info: hello 42\n");
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_format_stamps);
    tcase_add_test(tc, test_format_cuts_long_lines);
    tcase_add_test(tc, test_journal_stream_rule);
    tcase_add_test(tc, test_journal_has_no_stamp);
    tcase_add_test(tc, test_other_stderr_is_stamped);
    suite_add_tcase(s, tc);
    return s;
}
