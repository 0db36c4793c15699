/* util: bitfields, units, hashing, error strings. */
#include <stdlib.h>
#include <string.h>

#include "crowcast/bitfield.h"
#include "crowcast/error.h"
#include "crowcast/hash.h"
#include "crowcast/units.h"
#include "check_main.h"

START_TEST(test_bitfield_wire_order_and_count)
{
    crow_bitfield_t bf;
    ck_assert_int_eq(crow_bitfield_init(&bf, 11), 0);
    ck_assert(crow_bitfield_set(&bf, 0));
    ck_assert(!crow_bitfield_set(&bf, 0));
    ck_assert(crow_bitfield_set(&bf, 10));
    ck_assert(!crow_bitfield_set(&bf, 11)); /* out of range */
    ck_assert_uint_eq(bf.bytes[0], 0x80);
    ck_assert_uint_eq(bf.bytes[1], 0x20);
    ck_assert_uint_eq(bf.count, 2);
    ck_assert_uint_eq(crow_bitfield_next_clear(&bf, 0), 1);
    ck_assert_uint_eq(crow_bitfield_next_set(&bf, 1), 10);
    ck_assert_uint_eq(crow_bitfield_next_set(&bf, 11), 11);
    ck_assert(crow_bitfield_clear(&bf, 0));
    ck_assert_uint_eq(bf.count, 1);
    crow_bitfield_set_all(&bf);
    ck_assert(crow_bitfield_full(&bf));
    ck_assert_uint_eq(bf.bytes[1], 0xe0); /* spare bits stay clear */
    ck_assert_uint_eq(crow_bitfield_next_clear(&bf, 0), 11);
    crow_bitfield_dispose(&bf);
}
END_TEST

START_TEST(test_bitfield_load_rejects_bad_wire)
{
    crow_bitfield_t bf;
    ck_assert_int_eq(crow_bitfield_init(&bf, 11), 0);
    const uint8_t spare[2] = {0xff, 0xf0}; /* bit 11 is a spare bit */
    ck_assert_int_eq(crow_bitfield_load(&bf, spare, 2), CROW_EPROTO);
    ck_assert_uint_eq(bf.count, 0);
    const uint8_t good[2] = {0xff, 0xe0};
    ck_assert_int_eq(crow_bitfield_load(&bf, good, 1), CROW_EPROTO);
    ck_assert_int_eq(crow_bitfield_load(&bf, good, 3), CROW_EPROTO);
    ck_assert_int_eq(crow_bitfield_load(&bf, good, 2), 0);
    ck_assert_uint_eq(bf.count, 11);
    crow_bitfield_dispose(&bf);
}
END_TEST

static const struct {
    const char *text;
    int ret;
    uint64_t value;
} sizes[] = {
    {"4096", 0, 4096},       {"16K", 0, 16384},       {"4M", 0, 4u << 20},
    {"1GiB", 0, 1u << 30},   {"2KB", 0, 2048},        {"", CROW_EUSAGE, 0},
    {"-1", CROW_EUSAGE, 0},  {"12Q", CROW_EUSAGE, 0}, {"99999999999T", CROW_EUSAGE, 0},
    {"1 M", CROW_EUSAGE, 0},
};

START_TEST(test_parse_size)
{
    uint64_t v = 0;
    ck_assert_int_eq(crow_parse_size(sizes[_i].text, &v), sizes[_i].ret);
    if (sizes[_i].ret == 0)
        ck_assert_uint_eq(v, sizes[_i].value);
}
END_TEST

START_TEST(test_parse_rate_and_seconds)
{
    uint64_t r;
    ck_assert_int_eq(crow_parse_rate("900M", &r), 0);
    ck_assert_uint_eq(r, 900000000ull);
    ck_assert_int_eq(crow_parse_rate("1Gbit", &r), 0);
    ck_assert_uint_eq(r, 1000000000ull);
    ck_assert_int_eq(crow_parse_rate("fast", &r), CROW_EUSAGE);
    double s;
    ck_assert_int_eq(crow_parse_seconds("0.5", &s), 0);
    ck_assert(s == 0.5);
    ck_assert_int_eq(crow_parse_seconds("-1", &s), CROW_EUSAGE);
    ck_assert_int_eq(crow_parse_seconds("1s", &s), CROW_EUSAGE);
}
END_TEST

START_TEST(test_parse_decimal)
{
    uint64_t v = 7;
    ck_assert(crow_parse_decimal("0", 1, 10, &v) && v == 0);
    ck_assert(crow_parse_decimal("65535", 5, 65535, &v) && v == 65535);
    ck_assert(crow_parse_decimal("18446744073709551615", 20, UINT64_MAX, &v) && v == UINT64_MAX);
    ck_assert(crow_parse_decimal("123junk", 3, 200, &v) && v == 123); /* only len bytes count */
    v = 7;
    ck_assert(!crow_parse_decimal("65536", 5, 65535, &v));
    ck_assert(!crow_parse_decimal("18446744073709551616", 20, UINT64_MAX, &v)); /* overflow */
    ck_assert(!crow_parse_decimal("5", 1, 4, &v));                              /* digit over max */
    ck_assert(!crow_parse_decimal("", 0, 10, &v));
    ck_assert(!crow_parse_decimal("01", 2, 10, &v));
    ck_assert(!crow_parse_decimal("-1", 2, 10, &v));
    ck_assert(!crow_parse_decimal("+1", 2, 10, &v));
    ck_assert(!crow_parse_decimal("1 ", 2, 10, &v));
    ck_assert(!crow_parse_decimal(" 1", 2, 10, &v));
    ck_assert(!crow_parse_decimal("1\0", 2, 10, &v)); /* an embedded NUL */
    ck_assert(!crow_parse_decimal("99999999999999999999999", 23, UINT64_MAX, &v));
    ck_assert(!crow_parse_decimal("1e3", 3, 10000, &v));
    ck_assert(!crow_parse_decimal("0x10", 4, 100, &v));
    ck_assert_uint_eq(v, 7); /* untouched on failure */
}
END_TEST

START_TEST(test_hashes)
{
    uint8_t d[CROW_SHA256_LEN];
    char hex[2 * CROW_SHA256_LEN + 1];
    crow_sha256("abc", 3, d);
    crow_hex(d, sizeof d, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    uint8_t s1[CROW_SHA1_LEN];
    crow_sha1("abc", 3, s1);
    crow_hex(s1, sizeof s1, hex);
    ck_assert_str_eq(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    crow_hasher_t *h = crow_hasher_new(CROW_HASH_SHA256);
    crow_hasher_update(h, "a", 1);
    crow_hasher_update(h, "bc", 2);
    uint8_t d2[CROW_SHA256_LEN];
    crow_hasher_final(h, d2);
    ck_assert(memcmp(d, d2, sizeof d) == 0);
    crow_hasher_free(h);
}
END_TEST

START_TEST(test_strerror_covers_every_code)
{
    for (int code = CROW_EMORE; code < CROW_ELAST_; code++)
        ck_assert_str_ne(crow_strerror(code), "unknown error");
    ck_assert_str_eq(crow_strerror(-2), "No such file or directory");
    ck_assert_str_eq(crow_strerror(7), "unknown error");
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_bitfield_wire_order_and_count);
    tcase_add_test(tc, test_bitfield_load_rejects_bad_wire);
    tcase_add_loop_test(tc, test_parse_size, 0, sizeof sizes / sizeof sizes[0]);
    tcase_add_test(tc, test_parse_rate_and_seconds);
    tcase_add_test(tc, test_parse_decimal);
    tcase_add_test(tc, test_hashes);
    tcase_add_test(tc, test_strerror_covers_every_code);
    suite_add_tcase(s, tc);
    return s;
}
