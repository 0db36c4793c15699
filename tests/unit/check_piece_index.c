/* piece_index: pieces found by SHA-256 and size; equal hashes of another size do not match, twins
 * give the lowest numbered piece, absent content gives UINT32_MAX, an empty index finds nothing. */
#include <stdlib.h>
#include <string.h>

#include "crowcast/piece_index.h"
#include "check_main.h"

START_TEST(test_find)
{
    crow_manifest_t m = {0};
    m.piece_length = 16384;
    m.piece_count = 5;
    m.total_length = 4 * 16384 + 100; /* the last piece is 100 bytes */
    m.sha256 = calloc(5, 32);
    const uint8_t tags[] = {7, 3, 7, 9, 3}; /* pieces 0 and 2 alike; 4 like 1, but shorter */
    for (int p = 0; p < 5; p++)
        memset(m.sha256 + p * 32, tags[p], 32);
    crow_piece_index_t ix;
    ck_assert_int_eq(crow_piece_index_init(&ix, &m), 0);
    uint8_t h[32];
    memset(h, 7, 32);
    ck_assert_uint_eq(crow_piece_index_find(&ix, h, 16384), 0);
    memset(h, 3, 32);
    ck_assert_uint_eq(crow_piece_index_find(&ix, h, 16384), 1);
    ck_assert_uint_eq(crow_piece_index_find(&ix, h, 100), 4);
    ck_assert_uint_eq(crow_piece_index_find(&ix, h, 99), UINT32_MAX);
    memset(h, 9, 32);
    ck_assert_uint_eq(crow_piece_index_find(&ix, h, 16384), 3);
    memset(h, 8, 32);
    ck_assert_uint_eq(crow_piece_index_find(&ix, h, 16384), UINT32_MAX);
    memset(h, 0xff, 32);
    ck_assert_uint_eq(crow_piece_index_find(&ix, h, 16384), UINT32_MAX);
    crow_piece_index_dispose(&ix);
    m.piece_count = 0;
    ck_assert_int_eq(crow_piece_index_init(&ix, &m), 0);
    ck_assert_uint_eq(crow_piece_index_find(&ix, h, 16384), UINT32_MAX);
    crow_piece_index_dispose(&ix);
    free(m.sha256);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("piece_index");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_find);
    suite_add_tcase(s, tc);
    return s;
}
