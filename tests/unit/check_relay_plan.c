/* relay_plan: the relay role from tracker answers (named, the same, another group, taken away, a flag
 * without a group), and segments handed to the stream once every piece of them verified, each once. */
#include <string.h>

#include "crowcast/relay_plan.h"
#include "crowcast/stream_need.h"
#include "check_main.h"

static crow_crowcast_info_t answer(bool relay, uint32_t group, uint16_t port)
{
    crow_crowcast_info_t c;
    memset(&c, 0, sizeof c);
    c.present = true;
    c.relay = relay;
    c.group = group;
    c.port = port;
    return c;
}

START_TEST(test_role_follows_the_tracker)
{
    crow_relay_plan_t p;
    crow_relay_plan_init(&p, 10);
    crow_crowcast_info_t c = answer(false, 0xef000001u, 7000);
    ck_assert_int_eq(crow_relay_plan_answer(&p, &c), CROW_RELAY_SAME);
    c = answer(true, 0xef000001u, 7000);
    ck_assert_int_eq(crow_relay_plan_answer(&p, &c), CROW_RELAY_START);
    ck_assert(p.relay);
    ck_assert_uint_eq(p.group, 0xef000001u);
    ck_assert_uint_eq(p.port, 7000);
    ck_assert_int_eq(crow_relay_plan_answer(&p, &c), CROW_RELAY_SAME);
    c = answer(true, 0xef000002u, 7000);
    ck_assert_int_eq(crow_relay_plan_answer(&p, &c), CROW_RELAY_START);
    c = answer(false, 0xef000002u, 7000);
    ck_assert_int_eq(crow_relay_plan_answer(&p, &c), CROW_RELAY_STOP);
    ck_assert(!p.relay);
    ck_assert_int_eq(crow_relay_plan_answer(&p, &c), CROW_RELAY_SAME);
    /* Nowhere to stream to is no relay; nor is an answer without the crowcast dictionary. */
    c = answer(true, 0, 0);
    ck_assert_int_eq(crow_relay_plan_answer(&p, &c), CROW_RELAY_SAME);
    c = answer(true, 0xef000001u, 7000);
    c.present = false;
    ck_assert_int_eq(crow_relay_plan_answer(&p, &c), CROW_RELAY_SAME);
    ck_assert(!p.relay);
}
END_TEST

/* 3000 pieces: 1024 segments of 2 or 3 pieces. A segment goes once all its pieces verified. */
START_TEST(test_segments_as_they_verify)
{
    const uint32_t pieces = 3000;
    crow_relay_plan_t p;
    crow_relay_plan_init(&p, pieces);
    crow_bitfield_t v;
    ck_assert_int_eq(crow_bitfield_init(&v, pieces), 0);
    crow_need_map_t out;
    ck_assert_uint_eq(crow_relay_plan_take(&p, &v, &out), 0);
    ck_assert(!crow_need_map_any(&out));
    uint32_t first, end;
    crow_stream_segment_pieces(5, pieces, &first, &end);
    ck_assert_uint_gt(end - first, 1);
    for (uint32_t q = first; q + 1 < end; q++)
        crow_bitfield_set(&v, q);
    ck_assert_uint_eq(crow_relay_plan_take(&p, &v, &out), 0); /* one piece of it still missing */
    crow_bitfield_set(&v, end - 1);
    ck_assert_uint_eq(crow_relay_plan_take(&p, &v, &out), 1);
    ck_assert(crow_need_map_get(&out, 5));
    ck_assert_uint_eq(crow_need_map_count(&out), 1);
    ck_assert_uint_eq(crow_relay_plan_take(&p, &v, &out), 0); /* each segment once */
    ck_assert(!crow_relay_plan_all_taken(&p));
    crow_bitfield_set_all(&v);
    ck_assert_uint_eq(crow_relay_plan_take(&p, &v, &out), CROW_NEED_SEGMENTS - 1);
    ck_assert(!crow_need_map_get(&out, 5));
    ck_assert(crow_relay_plan_all_taken(&p));
    crow_relay_plan_restart(&p);
    ck_assert(!crow_relay_plan_all_taken(&p));
    ck_assert_uint_eq(crow_relay_plan_take(&p, &v, &out), CROW_NEED_SEGMENTS);
    /* A bitfield of another release is not taken as this one's. */
    crow_bitfield_t other;
    ck_assert_int_eq(crow_bitfield_init(&other, 7), 0);
    crow_bitfield_set_all(&other);
    crow_relay_plan_restart(&p);
    ck_assert_uint_eq(crow_relay_plan_take(&p, &other, &out), 0);
    crow_bitfield_dispose(&other);
    crow_bitfield_dispose(&v);
}
END_TEST

/* Fewer pieces than segments: one segment a piece, and only that many segments. */
START_TEST(test_small_release)
{
    crow_relay_plan_t p;
    crow_relay_plan_init(&p, 3);
    crow_bitfield_t v;
    ck_assert_int_eq(crow_bitfield_init(&v, 3), 0);
    crow_need_map_t out;
    crow_bitfield_set(&v, 2);
    ck_assert_uint_eq(crow_relay_plan_take(&p, &v, &out), 1);
    ck_assert(crow_need_map_get(&out, 2));
    crow_bitfield_set(&v, 0);
    crow_bitfield_set(&v, 1);
    ck_assert_uint_eq(crow_relay_plan_take(&p, &v, &out), 2);
    ck_assert(crow_relay_plan_all_taken(&p));
    crow_bitfield_dispose(&v);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("relay_plan");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_role_follows_the_tracker);
    tcase_add_test(tc, test_segments_as_they_verify);
    tcase_add_test(tc, test_small_release);
    suite_add_tcase(s, tc);
    return s;
}
