/* The need map's text form: what a peer tells the tracker it lacks, and the tracker tells a seeder. */
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/need_map.h"
#include "check_main.h"

static crow_need_map_t roundtrip(const crow_need_map_t *n, char *text)
{
    long len = crow_need_map_format(n, text, CROW_NEED_TEXT_MAX);
    ck_assert_int_gt(len, 0);
    ck_assert_uint_eq(strlen(text), (size_t)len);
    crow_need_map_t back = {{0}};
    ck_assert_msg(crow_need_map_parse(text, (size_t)len, &back), "%s does not parse", text);
    return back;
}

START_TEST(test_forms)
{
    char text[CROW_NEED_TEXT_MAX];
    crow_need_map_t n = {{0}};
    crow_need_map_t back = roundtrip(&n, text);
    ck_assert_str_eq(text, "r");
    ck_assert(!crow_need_map_any(&back));
    crow_need_map_set(&n, 3);
    crow_need_map_set_range(&n, 10, 20);
    crow_need_map_set(&n, 1023);
    back = roundtrip(&n, text);
    ck_assert_str_eq(text, "r3.10-19.1023");
    ck_assert(crow_need_map_equal(&back, &n));
    crow_need_map_set_range(&n, 0, 2000); /* clipped at the last segment */
    back = roundtrip(&n, text);
    ck_assert_str_eq(text, "r0-1023");
    ck_assert_uint_eq(crow_need_map_count(&back), CROW_NEED_SEGMENTS);
    ck_assert_int_eq(crow_need_map_format(&n, text, CROW_NEED_TEXT_MAX - 1), CROW_ESPACE);
}
END_TEST

START_TEST(test_refuses_other_text)
{
    static const char *const bad[] = {
        "",     "x",    "00000000ffff0001", "r-",    "r1-", "r-1",   "r.1", "r1.",   "r2-1",
        "r5.3", "r3.4", "r1-3.2",           "r1024", "r01", "r1..2", "r 1", "r99999"};
    crow_need_map_t n = {{0}};
    crow_need_map_set(&n, 7);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(!crow_need_map_parse(bad[i], strlen(bad[i]), &n), "%s parsed", bad[i]);
        ck_assert_msg(crow_need_map_count(&n) == 1 && crow_need_map_get(&n, 7), "%s changed the map", bad[i]);
    }
    ck_assert(crow_need_map_parse("r5-5", 4, &n)); /* a one-segment range either way */
    ck_assert(crow_need_map_get(&n, 5) && crow_need_map_count(&n) == 1);
}
END_TEST

/* Random maps: a short one comes back as it was; a long one comes back wider (never narrower), in
 * at most CROW_NEED_TEXT_RANGES ranges, closing the narrowest gaps. */
START_TEST(test_random_maps)
{
    for (unsigned seed = 1; seed <= 2000; seed++) {
        srand(seed);
        crow_need_map_t n = {{0}};
        unsigned density = 1 + (unsigned)(rand() % 64);
        for (uint32_t seg = 0; seg < CROW_NEED_SEGMENTS; seg++)
            if ((unsigned)(rand() % 1024) < density)
                crow_need_map_set(&n, seg);
        unsigned runs = 0;
        for (uint32_t seg = 0; seg < CROW_NEED_SEGMENTS; seg++)
            runs += crow_need_map_get(&n, seg) && (seg == 0 || !crow_need_map_get(&n, seg - 1));
        char text[CROW_NEED_TEXT_MAX];
        crow_need_map_t back = roundtrip(&n, text);
        unsigned ranges = text[1] ? 1 : 0;
        for (const char *c = text; *c; c++)
            ranges += *c == '.';
        ck_assert_uint_le(ranges, CROW_NEED_TEXT_RANGES);
        for (uint32_t seg = 0; seg < CROW_NEED_SEGMENTS; seg++)
            ck_assert_msg(!crow_need_map_get(&n, seg) || crow_need_map_get(&back, seg),
                          "seed %u: segment %u lost", seed, seg);
        if (runs <= CROW_NEED_TEXT_RANGES) {
            ck_assert_msg(crow_need_map_equal(&back, &n), "seed %u: %s", seed, text);
            continue;
        }
        ck_assert_uint_eq(ranges, CROW_NEED_TEXT_RANGES);
        /* the widening filled gaps between runs no wider than any gap it kept */
        uint32_t widest_filled = 0, narrowest_kept = CROW_NEED_SEGMENTS;
        int64_t last = -1; /* the last segment of the previous run */
        for (uint32_t seg = 0; seg < CROW_NEED_SEGMENTS; seg++) {
            if (!crow_need_map_get(&n, seg))
                continue;
            if (last >= 0 && seg > last + 1) {
                uint32_t gap = seg - (uint32_t)last - 1;
                if (crow_need_map_get(&back, (uint32_t)last + 1))
                    widest_filled = gap > widest_filled ? gap : widest_filled;
                else
                    narrowest_kept = gap < narrowest_kept ? gap : narrowest_kept;
            }
            last = seg;
        }
        ck_assert_msg(widest_filled <= narrowest_kept, "seed %u: filled a gap of %u, kept one of %u", seed,
                      widest_filled, narrowest_kept);
    }
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("need_map");
    TCase *tc = tcase_create("text");
    tcase_add_test(tc, test_forms);
    tcase_add_test(tc, test_refuses_other_text);
    tcase_add_test(tc, test_random_maps);
    suite_add_tcase(s, tc);
    return s;
}
