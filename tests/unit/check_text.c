/* text: the bounded text writer; the first write that does not fit sticks, nothing past cap. */
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/text.h"
#include "check_main.h"

START_TEST(test_appends_and_terminates)
{
    char buf[16];
    crow_text_t t;
    crow_text_init(&t, buf, sizeof buf);
    ck_assert_str_eq(buf, "");
    crow_text_put(&t, "ab", 2);
    crow_text_printf(&t, "-%u-%s", 42u, "x");
    ck_assert_str_eq(buf, "ab-42-x");
    ck_assert_int_eq(crow_text_end(&t), 7);
}
END_TEST

START_TEST(test_exact_fit_and_one_over)
{
    char buf[8];
    crow_text_t t;
    crow_text_init(&t, buf, sizeof buf);
    crow_text_put(&t, "1234567", 7); /* 7 and the NUL: exactly full */
    ck_assert(!t.full);
    ck_assert_int_eq(crow_text_end(&t), 7);
    crow_text_put(&t, "", 0); /* nothing still fits */
    ck_assert(!t.full);
    crow_text_put(&t, "8", 1); /* one more byte does not */
    ck_assert(t.full);
    ck_assert_str_eq(buf, "1234567");
    crow_text_init(&t, buf, sizeof buf);
    crow_text_printf(&t, "%s", "12345678");
    ck_assert(t.full);
    ck_assert_str_eq(buf, ""); /* the cut-off part is not left behind */
    ck_assert_int_eq(crow_text_end(&t), CROW_ESPACE);
}
END_TEST

/* Once full, later writes that would fit are still dropped: the text never has a hole in it. */
START_TEST(test_full_sticks)
{
    char buf[8];
    crow_text_t t;
    crow_text_init(&t, buf, sizeof buf);
    crow_text_put(&t, "ab", 2);
    crow_text_put(&t, "toolongtext", 11);
    crow_text_put(&t, "c", 1);
    crow_text_printf(&t, "%d", 1);
    ck_assert_str_eq(buf, "ab");
    ck_assert_uint_eq(t.len, 2);
    ck_assert_int_eq(crow_text_end(&t), CROW_ESPACE);
}
END_TEST

/* No byte past cap is touched, whatever the writes: a guard zone after the buffer stays as it was. */
START_TEST(test_never_writes_past_cap)
{
    char mem[40];
    for (size_t cap = 0; cap < 24; cap++) {
        memset(mem, 0x5a, sizeof mem);
        crow_text_t t;
        crow_text_init(&t, mem, cap);
        for (int i = 0; i < 10; i++) {
            crow_text_put(&t, "xyz", 3);
            crow_text_printf(&t, "%05d", i);
        }
        ck_assert(t.full);
        for (size_t k = cap; k < sizeof mem; k++)
            ck_assert_int_eq(mem[k], 0x5a);
        ck_assert(cap == 0 || strlen(mem) == t.len);
    }
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("text");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_appends_and_terminates);
    tcase_add_test(tc, test_exact_fit_and_one_over);
    tcase_add_test(tc, test_full_sticks);
    tcase_add_test(tc, test_never_writes_past_cap);
    suite_add_tcase(s, tc);
    return s;
}
