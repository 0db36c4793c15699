/* event: JSON event lines written and read back; lookups that must not be fooled. */
#include <stdlib.h>
#include <string.h>

#include "crowcast/event.h"
#include "check_main.h"

START_TEST(test_round_trip)
{
    char buf[256];
    crow_event_writer_t w;
    crow_event_begin(&w, buf, sizeof buf, "complete");
    crow_event_str(&w, "path", "a \"quoted\"\\dir\n");
    crow_event_u64(&w, "bytes_mcast", 18446744073709551615ull);
    crow_event_num(&w, "elapsed", 2.5);
    crow_event_bool(&w, "verified", true);
    long n = crow_event_end(&w);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(buf[n - 1], '\n');
    char s[64];
    ck_assert(crow_event_get_str(buf, (size_t)n, "event", s, sizeof s));
    ck_assert_str_eq(s, "complete");
    ck_assert(crow_event_get_str(buf, (size_t)n, "path", s, sizeof s));
    ck_assert_str_eq(s, "a \"quoted\"\\dir\n");
    double d;
    ck_assert(crow_event_get_num(buf, (size_t)n, "elapsed", &d));
    ck_assert(d == 2.5);
    ck_assert(crow_event_get_num(buf, (size_t)n, "bytes_mcast", &d));
    ck_assert(d > 1.8e19);
    bool b = false;
    ck_assert(crow_event_get_bool(buf, (size_t)n, "verified", &b));
    ck_assert(b);
    ck_assert(!crow_event_get_num(buf, (size_t)n, "path", &d));
    ck_assert(!crow_event_get_num(buf, (size_t)n, "missing", &d));
}
END_TEST

START_TEST(test_keys_inside_strings_do_not_match)
{
    const char *line = "{\"event\":\"x\",\"note\":\"\\\"elapsed\\\":9\",\"elapsed\":1}";
    double d = 0;
    ck_assert(crow_event_get_num(line, strlen(line), "elapsed", &d));
    ck_assert(d == 1);
    const char *trap = "{\"event\":\"a,\\\"k\\\":5\"}";
    ck_assert(!crow_event_get_num(trap, strlen(trap), "k", &d));
}
END_TEST

START_TEST(test_overflow_and_truncation)
{
    char buf[16];
    crow_event_writer_t w;
    crow_event_begin(&w, buf, sizeof buf, "progress");
    crow_event_u64(&w, "verified", 12345);
    ck_assert_int_eq(crow_event_end(&w), -1);
    const char *cut = "{\"event\":\"pro";
    char s[8];
    ck_assert(!crow_event_get_str(cut, strlen(cut), "event", s, sizeof s));
    const char *esc = "{\"a\":\"\\u00";
    ck_assert(!crow_event_get_str(esc, strlen(esc), "a", s, sizeof s));
    const char *junk = "{\"a\":\"\\u0z41\"}"; /* not four hex digits */
    ck_assert(!crow_event_get_str(junk, strlen(junk), "a", s, sizeof s));
    const char *ok = "{\"a\":\"\\u0041\\u007E\"}";
    ck_assert(crow_event_get_str(ok, strlen(ok), "a", s, sizeof s));
    ck_assert_str_eq(s, "A~");
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("event");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_keys_inside_strings_do_not_match);
    tcase_add_test(tc, test_overflow_and_truncation);
    suite_add_tcase(s, tc);
    return s;
}
