/* mix: SplitMix64 as published, and table masks that always leave room. */
#include <stdlib.h>

#include "crowcast/mix.h"
#include "check_main.h"

/* The reference sequence of SplitMix64 (Vigna's splitmix64.c) for seed 1234567, and for 0. */
START_TEST(test_reference_sequence)
{
    uint64_t s = 1234567;
    ck_assert_uint_eq(crow_mix_next(&s), 6457827717110365317ull);
    ck_assert_uint_eq(crow_mix_next(&s), 3203168211198807973ull);
    ck_assert_uint_eq(crow_mix_next(&s), 9817491932198370423ull);
    ck_assert_uint_eq(s, 1234567 + 3 * CROW_MIX_GOLDEN);
    s = 0;
    ck_assert_uint_eq(crow_mix_next(&s), 0xe220a8397b1dcdafull);
    ck_assert_uint_eq(crow_mix_bits(CROW_MIX_GOLDEN), 0xe220a8397b1dcdafull);
}
END_TEST

/* One flipped input bit flips about half the output bits (the avalanche a hash table relies on). */
START_TEST(test_avalanche)
{
    for (int bit = 0; bit < 64; bit++) {
        uint64_t a = crow_mix_bits(0x0123456789abcdefull),
                 b = crow_mix_bits(0x0123456789abcdefull ^ (1ull << bit));
        int flipped = __builtin_popcountll(a ^ b);
        ck_assert_msg(flipped > 12 && flipped < 52, "bit %d flips %d", bit, flipped);
    }
}
END_TEST

START_TEST(test_table_mask)
{
    ck_assert_uint_eq(crow_mix_table_mask(0), 15);
    ck_assert_uint_eq(crow_mix_table_mask(8), 15);
    ck_assert_uint_eq(crow_mix_table_mask(9), 31);
    ck_assert_uint_eq(crow_mix_table_mask(4096), 8191);
    ck_assert_uint_eq(crow_mix_table_mask(4097), 16383);
    /* Past 2^31 keys the table stops doubling rather than wrapping to 0. */
    ck_assert_uint_eq(crow_mix_table_mask(UINT32_MAX), 0x7fffffffu);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("mix");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_reference_sequence);
    tcase_add_test(tc, test_avalanche);
    tcase_add_test(tc, test_table_mask);
    suite_add_tcase(s, tc);
    return s;
}
