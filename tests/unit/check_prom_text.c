/* Prometheus text writer: the exact text of families and samples, label and HELP escaping, number
 * forms, names a scraper would reject, and a buffer too small. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/prom_text.h"
#include "check_main.h"

START_TEST(test_family_and_samples)
{
    char buf[512];
    crow_prom_text_writer_t w;
    crow_prom_text_begin(&w, buf, sizeof buf);
    crow_prom_text_family(&w, "crowcast_get_bytes_total", "counter", "Release bytes received, by path.");
    crow_prom_text_sample(&w, "crowcast_get_bytes_total", "via", "multicast", NULL, NULL, 66060288);
    crow_prom_text_sample(&w, "crowcast_get_bytes_total", "via", "tcp", "release", "app", 1.5);
    crow_prom_text_family(&w, "crowcast_up", "gauge", "1");
    crow_prom_text_sample(&w, "crowcast_up", NULL, NULL, "only", "second", 1);
    crow_prom_text_sample(&w, "crowcast_up", NULL, NULL, NULL, NULL, -2);
    ck_assert_int_eq(crow_prom_text_end(&w), (long)strlen(buf));
    ck_assert_str_eq(buf, "# HELP crowcast_get_bytes_total Release bytes received, by path.\n"
                          "# TYPE crowcast_get_bytes_total counter\n"
                          "crowcast_get_bytes_total{via=\"multicast\"} 66060288\n"
                          "crowcast_get_bytes_total{via=\"tcp\",release=\"app\"} 1.5\n"
                          "# HELP crowcast_up 1\n"
                          "# TYPE crowcast_up gauge\n"
                          "crowcast_up{only=\"second\"} 1\n"
                          "crowcast_up -2\n");
}
END_TEST

START_TEST(test_escaping_and_special_values)
{
    char buf[512];
    crow_prom_text_writer_t w;
    crow_prom_text_begin(&w, buf, sizeof buf);
    crow_prom_text_family(&w, "m", "gauge", "a \\ b\nc \"q\"");
    crow_prom_text_sample(&w, "m", "name", "x\"y\\z\nw", NULL, NULL, NAN);
    crow_prom_text_sample(&w, "m", NULL, NULL, NULL, NULL, INFINITY);
    crow_prom_text_sample(&w, "m", NULL, NULL, NULL, NULL, -INFINITY);
    crow_prom_text_sample(&w, "m", NULL, NULL, NULL, NULL, 18446744073709551616.0);
    ck_assert_int_ge(crow_prom_text_end(&w), 0);
    ck_assert_str_eq(buf, "# HELP m a \\\\ b\\nc \"q\"\n"
                          "# TYPE m gauge\n"
                          "m{name=\"x\\\"y\\\\z\\nw\"} NaN\n"
                          "m +Inf\n"
                          "m -Inf\n"
                          "m 1.84467441e+19\n");
}
END_TEST

START_TEST(test_bad_names_fail)
{
    static const char *bad_metric[] = {"", "1abc", "a-b", "a b", "a\"", "a{b}"};
    char buf[256];
    crow_prom_text_writer_t w;
    for (size_t i = 0; i < sizeof bad_metric / sizeof *bad_metric; i++) {
        crow_prom_text_begin(&w, buf, sizeof buf);
        crow_prom_text_sample(&w, bad_metric[i], NULL, NULL, NULL, NULL, 1);
        ck_assert_int_eq(crow_prom_text_end(&w), -1);
    }
    crow_prom_text_begin(&w, buf, sizeof buf);
    crow_prom_text_sample(&w, "ok:colon", "bad:label", "v", NULL, NULL, 1); /* no ':' in label names */
    ck_assert_int_eq(crow_prom_text_end(&w), -1);
    crow_prom_text_begin(&w, buf, sizeof buf);
    crow_prom_text_family(&w, "ok", "histogram", "not written here");
    ck_assert_int_eq(crow_prom_text_end(&w), -1);
    crow_prom_text_begin(&w, buf, sizeof buf);
    crow_prom_text_sample(&w, "ok", "l", NULL, NULL, NULL, 1);
    ck_assert_int_eq(crow_prom_text_end(&w), -1);
}
END_TEST

START_TEST(test_too_small)
{
    char buf[64];
    memset(buf, 'X', sizeof buf);
    crow_prom_text_writer_t w;
    crow_prom_text_begin(&w, buf, 20);
    crow_prom_text_family(&w, "crowcast_get_bytes_total", "counter", "long enough to overflow");
    ck_assert_int_eq(crow_prom_text_end(&w), -1);
    for (size_t i = 20; i < sizeof buf; i++)
        ck_assert_int_eq(buf[i], 'X');
    crow_prom_text_begin(&w, buf, 0);
    ck_assert_int_eq(crow_prom_text_end(&w), -1);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("prom_text");
    TCase *tc = tcase_create("writer");
    tcase_add_test(tc, test_family_and_samples);
    tcase_add_test(tc, test_escaping_and_special_values);
    tcase_add_test(tc, test_bad_names_fail);
    tcase_add_test(tc, test_too_small);
    suite_add_tcase(s, tc);
    return s;
}
