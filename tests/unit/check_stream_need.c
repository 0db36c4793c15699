/* The need map: which segments a peer lacks (joined late, seeder died, a delta's changed pieces),
 * and where a pass over them starts. */
#include <stdlib.h>
#include <string.h>

#include "crowcast/stream_need.h"
#include "check_main.h"

#define PIECES 4096u

static crow_manifest_t m;
static uint32_t have[PIECES];
static crow_bitfield_t verified;

/* 4096 pieces of 4 chunks: 1024 segments of 4 pieces. */
static void setup(void)
{
    memset(&m, 0, sizeof m);
    m.piece_length = 4 * 1024;
    m.chunk_size = 1024;
    m.piece_count = PIECES;
    m.total_length = (uint64_t)m.piece_count * m.piece_length;
    for (uint32_t p = 0; p < PIECES; p++)
        have[p] = 4;
    ck_assert_int_eq(crow_bitfield_init(&verified, PIECES), 0);
}

static void teardown(void)
{
    crow_bitfield_dispose(&verified);
}

static crow_need_map_t need_now(void)
{
    crow_need_map_t n;
    crow_stream_need(&m, have, &verified, &n);
    return n;
}

static crow_need_map_t segments(uint32_t first, uint32_t end)
{
    crow_need_map_t n = {{0}};
    crow_need_map_set_range(&n, first, end);
    return n;
}

START_TEST(test_scattered_loss_is_not_a_need)
{
    for (uint32_t p = 0; p < PIECES; p += 3)
        have[p] = 3; /* one chunk in three pieces of four lost: TCP repairs that */
    crow_need_map_t n = need_now();
    ck_assert(!crow_need_map_any(&n));
}
END_TEST

START_TEST(test_a_late_joiner_needs_what_went_by)
{
    /* joined at piece 400 and the stream ended at 800 (its seeder died): segments 0..99, 200..1023 */
    for (uint32_t p = 0; p < 400; p++)
        have[p] = 0;
    for (uint32_t p = 800; p < PIECES; p++)
        have[p] = 0;
    crow_need_map_t n = need_now(), want = segments(0, 100);
    crow_need_map_set_range(&want, 200, 1024);
    ck_assert(crow_need_map_equal(&n, &want));
    ck_assert_uint_eq(crow_stream_need_start(&n, PIECES), 800);
    /* what arrived over TCP is not needed */
    for (uint32_t p = 0; p < 400; p++)
        crow_bitfield_set(&verified, p);
    n = need_now();
    want = segments(200, 1024);
    ck_assert(crow_need_map_equal(&n, &want));
    ck_assert_uint_eq(crow_stream_need_start(&n, PIECES), 800);
}
END_TEST

START_TEST(test_half_missing_or_a_whole_piece_is_a_need)
{
    have[12] = have[13] = 1;                       /* segment 3: 6 of 16 chunks */
    have[16] = have[17] = have[18] = have[19] = 2; /* segment 4: 8 of 16, exactly half */
    have[21] = 0;                                  /* segment 5: one piece of four missing whole */
    crow_need_map_t n = need_now(), want = segments(4, 6);
    ck_assert(crow_need_map_equal(&n, &want));
}
END_TEST

/* A host holding the previous release took every unchanged piece from it: it needs the segments of
 * the changed pieces, and nothing else, however few they are. */
START_TEST(test_a_delta_needs_only_the_changed_pieces)
{
    static const uint32_t changed[] = {5, 6, 1000, 2047, 4095};
    for (uint32_t p = 0; p < PIECES; p++) {
        have[p] = 0;
        crow_bitfield_set(&verified, p);
    }
    for (size_t i = 0; i < sizeof changed / sizeof *changed; i++)
        crow_bitfield_clear(&verified, changed[i]);
    crow_need_map_t n = need_now(), want = {{0}};
    for (size_t i = 0; i < sizeof changed / sizeof *changed; i++)
        crow_need_map_set(&want, changed[i] / 4);
    ck_assert(crow_need_map_equal(&n, &want));
    ck_assert_uint_eq(crow_need_map_count(&n), 4);
}
END_TEST

START_TEST(test_a_pass_starts_after_the_longest_gap)
{
    crow_need_map_t n = {{0}};
    ck_assert_uint_eq(crow_stream_need_start(&n, PIECES), 0);
    n = segments(0, 1024);
    ck_assert_uint_eq(crow_stream_need_start(&n, PIECES), 0);
    /* needed: segments 1020..1023 and 0..9 (one stretch across the wrap): start at 1020 */
    n = segments(0, 10);
    crow_need_map_set_range(&n, 1020, 1024);
    ck_assert_uint_eq(crow_stream_need_start(&n, PIECES), 4080);
    /* two stretches: after the longest gap (10..899, not 902..1023) */
    n = segments(0, 10);
    crow_need_map_set_range(&n, 900, 902);
    ck_assert_uint_eq(crow_stream_need_start(&n, PIECES), 3600);
    /* fewer pieces than segments: a segment per piece */
    n = segments(5, 6);
    ck_assert_uint_eq(crow_stream_need_start(&n, 10), 5);
}
END_TEST

/* Random maps: the start is a needed segment's first piece, and the unneeded run before it is the
 * longest one. */
START_TEST(test_random_maps)
{
    for (unsigned seed = 1; seed <= 500; seed++) {
        srand(seed);
        uint32_t pieces = 1 + (uint32_t)(rand() % 3000);
        uint32_t nseg = crow_stream_segments(pieces);
        crow_need_map_t need = {{0}};
        for (uint32_t i = 0; i < nseg; i++)
            if (rand() % 64 == 0)
                crow_need_map_set(&need, i);
        uint32_t start = crow_stream_need_start(&need, pieces);
        if (!crow_need_map_any(&need)) {
            ck_assert_uint_eq(start, 0);
            continue;
        }
        uint32_t seg = (uint32_t)((uint64_t)start * nseg / pieces);
        while ((uint64_t)(seg + 1) * pieces / nseg <= start) /* the segment whose first piece it is */
            seg++;
        ck_assert_msg(crow_need_map_get(&need, seg), "seed %u: start %u is in unneeded segment %u", seed,
                      start, seg);
        uint32_t gap = 0;
        while (gap < nseg && !crow_need_map_get(&need, (seg + nseg - 1 - gap) % nseg))
            gap++;
        for (uint32_t i = 0; i < nseg; i++) {
            uint32_t run = 0;
            while (run < nseg && !crow_need_map_get(&need, (i + run) % nseg))
                run++;
            ck_assert_msg(run <= gap, "seed %u: a longer gap than the one before the start", seed);
        }
    }
}
END_TEST

/* What a pass has sent whole: the segments none of whose pieces is still pending. */
START_TEST(test_segments_sent)
{
    crow_bitfield_t pending;
    ck_assert_int_eq(crow_bitfield_init(&pending, PIECES), 0);
    crow_bitfield_set(&pending, 7);
    crow_bitfield_set(&pending, 4000);
    crow_need_map_t sent, want = segments(0, 1024);
    crow_stream_segments_sent(PIECES, &pending, &sent);
    want.w[0] &= ~(1ull << 1);
    want.w[15] &= ~(1ull << (1000 % 64));
    ck_assert(crow_need_map_equal(&sent, &want));
    crow_bitfield_dispose(&pending);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("stream_need");
    TCase *tc = tcase_create("rules");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_scattered_loss_is_not_a_need);
    tcase_add_test(tc, test_a_late_joiner_needs_what_went_by);
    tcase_add_test(tc, test_half_missing_or_a_whole_piece_is_a_need);
    tcase_add_test(tc, test_a_delta_needs_only_the_changed_pieces);
    tcase_add_test(tc, test_segments_sent);
    tcase_add_test(tc, test_a_pass_starts_after_the_longest_gap);
    tcase_add_test(tc, test_random_maps);
    suite_add_tcase(s, tc);
    return s;
}
