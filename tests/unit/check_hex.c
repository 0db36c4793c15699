/* hex: the one hex encoder and decoder; a digit too few, too many or not a digit is refused. */
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/hex.h"
#include "check_main.h"

START_TEST(test_round_trip_every_byte)
{
    uint8_t bytes[256], back[256];
    char hex[2 * 256 + 1];
    for (int i = 0; i < 256; i++)
        bytes[i] = (uint8_t)i;
    crow_hex(bytes, sizeof bytes, hex);
    ck_assert_uint_eq(strlen(hex), 512);
    ck_assert(strncmp(hex, "000102", 6) == 0 && strcmp(hex + 506, "fdfeff") == 0);
    ck_assert_int_eq(crow_unhex(hex, back, sizeof back), 0);
    ck_assert(memcmp(bytes, back, sizeof bytes) == 0);
    ck_assert_int_eq(crow_unhex("ABcd", back, 2), 0); /* either case */
    ck_assert(back[0] == 0xab && back[1] == 0xcd);
}
END_TEST

static const char *const refused[] = {
    "zz",   /* not digits */
    "abcd", /* too long for one byte */
    "a",    /* too short */
    "",     /* empty */
    "0g",   /* the second digit is not one */
    "g0",   /* nor the first */
    " a",   /* no space */
    "-1",   /* no sign */
    "0x",   /* no prefix */
    "\xff\xff",
};

START_TEST(test_refuses_hostile_text)
{
    uint8_t out[1];
    ck_assert_int_eq(crow_unhex(refused[_i], out, 1), CROW_EPARSE);
}
END_TEST

START_TEST(test_digit)
{
    for (int c = -128; c < 128; c++) {
        int want = c >= '0' && c <= '9'   ? c - '0'
                   : c >= 'a' && c <= 'f' ? c - 'a' + 10
                   : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                          : -1;
        ck_assert_int_eq(crow_hex_digit((char)c), want);
    }
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("hex");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_round_trip_every_byte);
    tcase_add_loop_test(tc, test_refuses_hostile_text, 0, sizeof refused / sizeof refused[0]);
    tcase_add_test(tc, test_digit);
    suite_add_tcase(s, tc);
    return s;
}
