/* Blame: a source that supplied a whole failing piece is dropped at once, one that took part in
 * `strikes` failures is dropped then and the others' shared strikes are withdrawn, verified pieces
 * and multicast bytes blame nobody, the source table's bound; and random schedules with one liar
 * among honest sources. */
#include <stdlib.h>
#include <string.h>

#include "crowcast/blame.h"
#include "crowcast/error.h"
#include "check_main.h"

#define PIECE  65536u
#define PIECES 8u
#define HALF   (PIECE / 2)

static crow_manifest_t manifest;
static crow_blame_t *blame;

static void setup_with(uint32_t max_sources)
{
    memset(&manifest, 0, sizeof manifest);
    manifest.piece_length = PIECE;
    manifest.piece_count = PIECES;
    manifest.total_length = (uint64_t)PIECE * PIECES;
    crow_blame_config_t cfg = {.manifest = &manifest, .max_sources = max_sources, .strikes = 3};
    ck_assert_int_eq(crow_blame_new(&cfg, &blame), 0);
}

static void setup(void)
{
    setup_with(16);
}

static void teardown(void)
{
    crow_blame_free(blame);
}

START_TEST(test_whole_piece_drops_at_once)
{
    crow_blame_supplied(blame, 2, 7, HALF);
    crow_blame_supplied(blame, 2, 7, HALF);
    crow_blame_drop_t d[4];
    ck_assert_uint_eq(crow_blame_piece_failed(blame, 2, d, 4), 1);
    ck_assert_uint_eq(d[0].key, 7);
    ck_assert(d[0].whole);
    ck_assert_uint_eq(d[0].strikes, 1);
    ck_assert(crow_blame_dropped(blame, 7));
    /* Dropped once: what it sent before does not drop it again. */
    crow_blame_supplied(blame, 3, 7, PIECE);
    ck_assert_uint_eq(crow_blame_piece_failed(blame, 3, d, 4), 0);
}
END_TEST

START_TEST(test_shared_strikes_and_withdrawal)
{
    crow_blame_drop_t d[4];
    /* The liar (1) takes part in three failures, an honest source (2) in two of them. */
    for (uint32_t piece = 0; piece < 3; piece++) {
        crow_blame_supplied(blame, piece, 1, HALF);
        if (piece < 2)
            crow_blame_supplied(blame, piece, 2, HALF);
        size_t n = crow_blame_piece_failed(blame, piece, d, 4);
        if (piece < 2) {
            ck_assert_uint_eq(n, 0);
            ck_assert_uint_eq(crow_blame_strikes(blame, 1), piece + 1);
            ck_assert_uint_eq(crow_blame_strikes(blame, 2), piece + 1);
        } else {
            ck_assert_uint_eq(n, 1);
            ck_assert_uint_eq(d[0].key, 1);
            ck_assert(!d[0].whole); /* half of it came from elsewhere (multicast) */
            ck_assert_uint_eq(d[0].strikes, 3);
        }
    }
    ck_assert(crow_blame_dropped(blame, 1));
    ck_assert(!crow_blame_dropped(blame, 2));
    ck_assert_uint_eq(crow_blame_strikes(blame, 2), 0); /* explained by the liar */
}
END_TEST

START_TEST(test_verified_and_multicast_blame_nobody)
{
    crow_blame_drop_t d[4];
    crow_blame_supplied(blame, 4, 9, PIECE);
    crow_blame_piece_verified(blame, 4);
    ck_assert_uint_eq(crow_blame_piece_failed(blame, 4, d, 4), 0); /* a later failure: nobody's */
    ck_assert_uint_eq(crow_blame_strikes(blame, 9), 0);
    /* Half the piece came by multicast: a strike, not a drop. */
    crow_blame_supplied(blame, 5, 9, HALF);
    ck_assert_uint_eq(crow_blame_piece_failed(blame, 5, d, 4), 0);
    ck_assert_uint_eq(crow_blame_strikes(blame, 9), 1);
    /* Out of range and empty input are ignored. */
    crow_blame_supplied(blame, PIECES, 9, PIECE);
    crow_blame_supplied(blame, 6, 9, 0);
    ck_assert_uint_eq(crow_blame_piece_failed(blame, PIECES, d, 4), 0);
    ck_assert_uint_eq(crow_blame_piece_failed(blame, 6, d, 4), 0);
}
END_TEST

START_TEST(test_bounds)
{
    setup_with(1);
    crow_blame_drop_t d[4];
    /* One source entry: the second source is not tracked, and makes the piece not "whole". */
    crow_blame_supplied(blame, 0, 1, HALF);
    crow_blame_supplied(blame, 0, 2, HALF);
    ck_assert_uint_eq(crow_blame_piece_failed(blame, 0, d, 4), 0);
    ck_assert_uint_eq(crow_blame_strikes(blame, 1), 1);
    ck_assert_uint_eq(crow_blame_strikes(blame, 2), 0);
    crow_blame_supplied(blame, 1, 2, PIECE);
    ck_assert_uint_eq(crow_blame_piece_failed(blame, 1, d, 4), 0);
    ck_assert(!crow_blame_dropped(blame, 2));
    crow_blame_config_t bad = {.manifest = &manifest, .max_sources = 0, .strikes = 3};
    crow_blame_t *b;
    ck_assert_int_eq(crow_blame_new(&bad, &b), CROW_EUSAGE);
    bad.max_sources = 65536;
    ck_assert_int_eq(crow_blame_new(&bad, &b), CROW_EUSAGE);
    bad.max_sources = 4;
    bad.strikes = 0;
    ck_assert_int_eq(crow_blame_new(&bad, &b), CROW_EUSAGE);
}
END_TEST

static uint32_t lcg(uint32_t *state)
{
    *state = *state * 1103515245u + 12345u;
    return *state >> 16;
}

/* Random schedules: pieces assembled from 1-3 of five sources (source 0 corrupts every block it
 * sends; multicast may add bytes), a piece failing when the liar took part. The liar is dropped by
 * its third failure at the latest (its first, when it supplied one whole), after that nothing fails,
 * and an honest source is only ever dropped together with it, when it shared every one of them. */
START_TEST(test_random_schedules_one_liar)
{
    uint32_t rng = 104729u * (uint32_t)_i + 3;
    uint32_t liar_failures = 0, shared_with[5] = {0};
    bool liar_dropped = false;
    for (int round = 0; round < 200; round++) {
        uint32_t piece = lcg(&rng) % PIECES;
        crow_blame_piece_verified(blame, piece); /* a fresh attempt */
        unsigned n = 1 + lcg(&rng) % 3;
        bool mcast = lcg(&rng) % 2, liar_in = false, in[5] = {false};
        uint32_t left = PIECE - (mcast ? HALF : 0);
        for (unsigned k = 0; k < n && left; k++) {
            uint32_t src = lcg(&rng) % 5;
            if (src == 0 && liar_dropped)
                continue; /* dropped: no bytes from it any more */
            uint32_t bytes = k + 1 == n ? left : left / 2;
            crow_blame_supplied(blame, piece, src, bytes);
            left -= bytes;
            in[src] = true;
            liar_in |= src == 0;
        }
        crow_blame_drop_t d[4];
        if (!liar_in) {
            crow_blame_piece_verified(blame, piece);
            continue;
        }
        liar_failures++;
        for (int s = 1; s < 5; s++)
            shared_with[s] += in[s];
        size_t dropped = crow_blame_piece_failed(blame, piece, d, 4);
        for (size_t i = 0; i < dropped; i++) {
            if (d[i].key == 0) {
                liar_dropped = true;
                continue;
            }
            ck_assert_msg(shared_with[d[i].key] == liar_failures, "seed %d: honest %llu dropped alone", _i,
                          (unsigned long long)d[i].key);
        }
        ck_assert_msg(liar_dropped || liar_failures < 3, "seed %d: liar not dropped after 3 failures", _i);
    }
    ck_assert(!liar_dropped || liar_failures >= 1);
    ck_assert(liar_failures == 0 || liar_dropped || liar_failures < 3);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("blame");
    TCase *tc = tcase_create("rules");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_whole_piece_drops_at_once);
    tcase_add_test(tc, test_shared_strikes_and_withdrawal);
    tcase_add_test(tc, test_verified_and_multicast_blame_nobody);
    tcase_add_loop_test(tc, test_random_schedules_one_liar, 0, 300);
    suite_add_tcase(s, tc);
    TCase *tb = tcase_create("bounds");
    tcase_add_checked_fixture(tb, NULL, teardown);
    tcase_add_test(tb, test_bounds);
    suite_add_tcase(s, tb);
    return s;
}
