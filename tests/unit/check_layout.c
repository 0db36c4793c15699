/* layout: stream and piece ranges onto file segments (tables, boundaries, empty files, short last
 * piece), checked against a byte-by-byte reference on random layouts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "crowcast/error.h"
#include "crowcast/layout.h"
#include "release_fixture.h"
#include "check_main.h"

/* 19 bytes in 4-byte pieces: pieces 0..3 are full, piece 4 holds 3 bytes. Empty files sit first,
 * between, in a run, and last. Stream: f1 [0,5) f3 [5,8) f6 [8,18) f7 [18,19). */
static const struct fixture_file mixed[] = {
    {"e0", 0}, {"f1", 5}, {"e2", 0}, {"f3", 3}, {"e4", 0}, {"e5", 0}, {"f6", 10}, {"f7", 1}, {"e8", 0},
};

static crow_manifest_t m;

static void setup(void)
{
    fixture_manifest(&m, NULL, false, mixed, sizeof mixed / sizeof mixed[0], 4);
}

static void teardown(void)
{
    fixture_free(&m);
}

struct range_case {
    uint64_t pos, len;
    int ret; /* segments expected, or the error */
    crow_segment_t seg[4];
};

static const struct range_case ranges[] = {
    {0, 19, 4, {{1, 0, 5}, {3, 0, 3}, {6, 0, 10}, {7, 0, 1}}},
    {0, 5, 1, {{1, 0, 5}}},            /* exactly one file */
    {5, 3, 1, {{3, 0, 3}}},            /* exactly the file after empty ones */
    {4, 2, 2, {{1, 4, 1}, {3, 0, 1}}}, /* crosses a boundary with an empty file in it */
    {7, 2, 2, {{3, 2, 1}, {6, 0, 1}}}, /* crosses a run of empty files */
    {8, 10, 1, {{6, 0, 10}}},
    {17, 2, 2, {{6, 9, 1}, {7, 0, 1}}},
    {18, 1, 1, {{7, 0, 1}}}, /* the last byte */
    {3, 1, 1, {{1, 3, 1}}},
    {19, 0, 0, {{0}}}, /* empty range at the end */
    {5, 0, 0, {{0}}},  /* empty range at a boundary */
    {19, 1, -ERANGE, {{0}}},
    {0, 20, -ERANGE, {{0}}},
    {20, 0, -ERANGE, {{0}}},
    {UINT64_MAX, 2, -ERANGE, {{0}}},
    {1, UINT64_MAX, -ERANGE, {{0}}},
};

START_TEST(test_stream_ranges)
{
    const struct range_case *c = &ranges[_i];
    crow_segment_t out[8];
    int n = crow_layout_map(&m, c->pos, c->len, out, 8);
    ck_assert_msg(n == c->ret, "case %d: [%lu,+%lu) gave %d, want %d", _i, (unsigned long)c->pos,
                  (unsigned long)c->len, n, c->ret);
    for (int k = 0; k < n; k++) {
        ck_assert_uint_eq(out[k].file, c->seg[k].file);
        ck_assert_uint_eq(out[k].offset, c->seg[k].offset);
        ck_assert_uint_eq(out[k].length, c->seg[k].length);
    }
}
END_TEST

struct piece_case {
    uint32_t piece, offset, len;
    int ret;
    crow_segment_t seg[3];
};

static const struct piece_case pieces[] = {
    {0, 0, 4, 1, {{1, 0, 4}}}, {1, 0, 4, 2, {{1, 4, 1}, {3, 0, 3}}}, /* piece 1 ends exactly where f3 ends */
    {2, 0, 4, 1, {{6, 0, 4}}}, {4, 0, 3, 2, {{6, 8, 2}, {7, 0, 1}}}, /* the short last piece */
    {4, 2, 1, 1, {{7, 0, 1}}}, {4, 3, 0, 0, {{0}}},
    {4, 0, 4, -ERANGE, {{0}}},                            /* past the short piece's end */
    {4, 4, 0, -ERANGE, {{0}}}, {3, 3, 2, -ERANGE, {{0}}}, /* crosses into the next piece */
    {5, 0, 1, -ERANGE, {{0}}},                            /* no such piece */
};

START_TEST(test_piece_ranges)
{
    const struct piece_case *c = &pieces[_i];
    crow_layout_iter_t it;
    int ret = crow_layout_iter_piece(&it, &m, c->piece, c->offset, c->len);
    if (c->ret < 0) {
        ck_assert_int_eq(ret, c->ret);
        return;
    }
    ck_assert_int_eq(ret, 0);
    crow_segment_t seg;
    int n = 0;
    while (crow_layout_next(&it, &seg)) {
        ck_assert_int_lt(n, c->ret);
        ck_assert_uint_eq(seg.file, c->seg[n].file);
        ck_assert_uint_eq(seg.offset, c->seg[n].offset);
        ck_assert_uint_eq(seg.length, c->seg[n].length);
        n++;
    }
    ck_assert_int_eq(n, c->ret);
}
END_TEST

START_TEST(test_file_at_and_piece_files)
{
    static const struct {
        uint64_t pos;
        uint32_t file;
    } at[] = {{0, 1}, {4, 1}, {5, 3}, {7, 3}, {8, 6}, {17, 6}, {18, 7}, {19, 9}, {UINT64_MAX, 9}};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
        ck_assert_uint_eq(crow_layout_file_at(&m, at[i].pos), at[i].file);

    static const struct {
        uint32_t piece, first, last;
    } spans[] = {{0, 1, 1}, {1, 1, 3}, {2, 6, 6}, {3, 6, 6}, {4, 6, 7}};
    for (size_t i = 0; i < sizeof spans / sizeof spans[0]; i++) {
        uint32_t first = 99, last = 99;
        ck_assert_int_eq(crow_layout_piece_files(&m, spans[i].piece, &first, &last), 0);
        ck_assert_uint_eq(first, spans[i].first);
        ck_assert_uint_eq(last, spans[i].last);
    }
    uint32_t first, last;
    ck_assert_int_eq(crow_layout_piece_files(&m, 5, &first, &last), -ERANGE);

    uint64_t start, len;
    ck_assert_int_eq(crow_layout_piece_range(&m, 4, &start, &len), 0);
    ck_assert_uint_eq(start, 16);
    ck_assert_uint_eq(len, 3);
}
END_TEST

START_TEST(test_map_reports_too_many_segments)
{
    crow_segment_t out[3];
    ck_assert_int_eq(crow_layout_map(&m, 0, 19, out, 3), CROW_ESPACE);
    ck_assert_int_eq(crow_layout_map(&m, 0, 8, out, 2), 2);
}
END_TEST

START_TEST(test_single_file_and_empty_release)
{
    crow_manifest_t one;
    const struct fixture_file f = {"only.bin", 100000};
    fixture_manifest(&one, "only.bin", true, &f, 1, 16384);
    ck_assert_uint_eq(one.piece_count, 7);
    crow_segment_t out[2];
    ck_assert_int_eq(crow_layout_map(&one, 98304, 1696, out, 2), 1);
    ck_assert_uint_eq(out[0].file, 0);
    ck_assert_uint_eq(out[0].offset, 98304);
    ck_assert_uint_eq(out[0].length, 1696);
    fixture_free(&one);

    crow_manifest_t none;
    const struct fixture_file empties[] = {{"a", 0}, {"b", 0}};
    fixture_manifest(&none, NULL, false, empties, 2, 16384);
    ck_assert_uint_eq(none.piece_count, 0);
    ck_assert_int_eq(crow_layout_map(&none, 0, 0, out, 2), 0);
    ck_assert_int_eq(crow_layout_map(&none, 0, 1, out, 2), -ERANGE);
    ck_assert_uint_eq(crow_layout_file_at(&none, 0), 2);
    fixture_free(&none);
}
END_TEST

/* Random layouts (many tiny and empty files, pieces spanning several files): every range's
 * segments must tile it exactly, byte for byte, as a naive owner table says. */
START_TEST(test_random_layouts_match_reference)
{
    srand(12345);
    for (int round = 0; round < 40; round++) {
        struct fixture_file files[16];
        char names[16][12];
        uint32_t n = 1 + (uint32_t)(rand() % 16);
        for (uint32_t i = 0; i < n; i++) {
            snprintf(names[i], sizeof names[i], "f%u", i);
            files[i].path = names[i];
            files[i].length = rand() % 3 == 0 ? 0 : (uint64_t)(rand() % 7);
        }
        crow_manifest_t r;
        fixture_manifest(&r, NULL, false, files, n, 4);
        uint32_t owner[16 * 6];
        uint64_t owner_off[16 * 6];
        for (uint32_t i = 0, b = 0; i < n; i++)
            for (uint64_t k = 0; k < files[i].length; k++, b++) {
                owner[b] = i;
                owner_off[b] = k;
            }
        for (uint64_t pos = 0; pos <= r.total_length; pos++)
            for (uint64_t len = 0; pos + len <= r.total_length; len++) {
                crow_segment_t out[32];
                int cnt = crow_layout_map(&r, pos, len, out, 32);
                ck_assert_int_ge(cnt, 0);
                uint64_t b = pos;
                for (int k = 0; k < cnt; k++) {
                    ck_assert_uint_gt(out[k].length, 0);
                    for (uint64_t j = 0; j < out[k].length; j++, b++) {
                        ck_assert_uint_eq(out[k].file, owner[b]);
                        ck_assert_uint_eq(out[k].offset + j, owner_off[b]);
                    }
                }
                ck_assert_uint_eq(b, pos + len);
            }
        for (uint64_t pos = 0; pos < r.total_length; pos++)
            ck_assert_uint_eq(crow_layout_file_at(&r, pos), owner[pos]);
        fixture_free(&r);
    }
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("layout");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_stream_ranges, 0, sizeof ranges / sizeof ranges[0]);
    tcase_add_loop_test(tc, test_piece_ranges, 0, sizeof pieces / sizeof pieces[0]);
    tcase_add_test(tc, test_file_at_and_piece_files);
    tcase_add_test(tc, test_map_reports_too_many_segments);
    tcase_add_test(tc, test_single_file_and_empty_release);
    tcase_add_test(tc, test_random_layouts_match_reference);
    suite_add_tcase(s, tc);
    return s;
}
