/* The need map: which segments a peer asks the seeder to send again (joined late, seeder died),
 * and where a pass over them starts. */
#include <stdlib.h>
#include <string.h>

#include "crowcast/stream_need.h"
#include "check_main.h"

static crow_manifest_t m;
static uint32_t have[256];
static crow_bitfield_t verified;

/* 256 pieces of 4 chunks: 64 segments of 4 pieces. */
static void setup(void)
{
    memset(&m, 0, sizeof m);
    m.piece_length = 4 * 1024;
    m.chunk_size = 1024;
    m.piece_count = 256;
    m.total_length = (uint64_t)m.piece_count * m.piece_length;
    for (uint32_t p = 0; p < 256; p++)
        have[p] = 4;
    ck_assert_int_eq(crow_bitfield_init(&verified, 256), 0);
}

static void teardown(void)
{
    crow_bitfield_dispose(&verified);
}

START_TEST(test_scattered_loss_is_not_a_need)
{
    for (uint32_t p = 0; p < 256; p += 3)
        have[p] = 3; /* one chunk in three pieces of four lost: TCP repairs that */
    ck_assert_uint_eq(crow_stream_need(&m, have, &verified), 0);
}
END_TEST

START_TEST(test_a_late_joiner_needs_what_went_by)
{
    /* joined at piece 100 and the stream ended at 200 (its seeder died): segments 0..24 and 50..63 */
    for (uint32_t p = 0; p < 100; p++)
        have[p] = 0;
    for (uint32_t p = 200; p < 256; p++)
        have[p] = 0;
    uint64_t need = crow_stream_need(&m, have, &verified);
    ck_assert_uint_eq(need, ((1ull << 25) - 1) | ~((1ull << 50) - 1));
    ck_assert_uint_eq(crow_stream_need_start(need, 256), 200);
    /* what arrived over TCP is not needed */
    for (uint32_t p = 0; p < 100; p++)
        crow_bitfield_set(&verified, p);
    need = crow_stream_need(&m, have, &verified);
    ck_assert_uint_eq(need, ~((1ull << 50) - 1));
    ck_assert_uint_eq(crow_stream_need_start(need, 256), 200);
}
END_TEST

START_TEST(test_half_missing_is_a_need)
{
    have[8] = have[9] = have[10] = 0; /* segment 2: 12 of 16 chunks */
    have[12] = have[13] = 1;          /* segment 3: 6 of 16 */
    have[16] = have[17] = 0;          /* segment 4: 8 of 16, exactly half */
    ck_assert_uint_eq(crow_stream_need(&m, have, &verified), 1ull << 2 | 1ull << 4);
}
END_TEST

START_TEST(test_a_pass_starts_after_the_longest_gap)
{
    ck_assert_uint_eq(crow_stream_need_start(0, 256), 0);
    ck_assert_uint_eq(crow_stream_need_start(~0ull, 256), 0);
    /* needed: segments 60..63 and 0..9 (one stretch across the wrap): start at 60 */
    uint64_t need = ((1ull << 10) - 1) | 0xfull << 60;
    ck_assert_uint_eq(crow_stream_need_start(need, 256), 240);
    /* two stretches: after the longest gap (10..39, not 42..63) */
    need = (1ull << 40 | 1ull << 41) | ((1ull << 10) - 1);
    ck_assert_uint_eq(crow_stream_need_start(need, 256), 160);
    /* fewer pieces than segments: a segment per piece */
    ck_assert_uint_eq(crow_stream_need_start(1ull << 5, 10), 5);
}
END_TEST

/* Random maps: the start is a needed segment's first piece, and the unneeded run before it is the
 * longest one. */
START_TEST(test_random_maps)
{
    for (unsigned seed = 1; seed <= 5000; seed++) {
        srand(seed);
        uint32_t pieces = 1 + (uint32_t)(rand() % 300);
        uint32_t nseg = pieces < 64 ? pieces : 64;
        uint64_t need = 0;
        for (uint32_t i = 0; i < nseg; i++)
            if (rand() % 4 == 0)
                need |= 1ull << i;
        uint32_t start = crow_stream_need_start(need, pieces);
        if (!need) {
            ck_assert_uint_eq(start, 0);
            continue;
        }
        uint32_t seg = (uint32_t)((uint64_t)start * nseg / pieces);
        while ((uint64_t)(seg + 1) * pieces / nseg <= start) /* the segment whose first piece it is */
            seg++;
        ck_assert_msg(need >> seg & 1, "seed %u: start %u is in unneeded segment %u", seed, start, seg);
        uint32_t gap = 0;
        while (gap < nseg && !(need >> ((seg + nseg - 1 - gap) % nseg) & 1))
            gap++;
        for (uint32_t i = 0; i < nseg; i++) {
            uint32_t run = 0;
            while (run < nseg && !(need >> ((i + run) % nseg) & 1))
                run++;
            ck_assert_msg(run <= gap, "seed %u: a longer gap than the one before the start", seed);
        }
    }
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("stream_need");
    TCase *tc = tcase_create("rules");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_scattered_loss_is_not_a_need);
    tcase_add_test(tc, test_a_late_joiner_needs_what_went_by);
    tcase_add_test(tc, test_half_missing_is_a_need);
    tcase_add_test(tc, test_a_pass_starts_after_the_longest_gap);
    tcase_add_test(tc, test_random_maps);
    suite_add_tcase(s, tc);
    return s;
}
