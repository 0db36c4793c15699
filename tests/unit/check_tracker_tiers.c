/* tracker_tiers: which trackers a role announces to (--tracker, --no-tracker, announce-list,
 * announce), BEP 12's order and promotion, failover within one announce, rests after failures, and
 * random schedules checked against the same rules. */
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/tracker_tiers.h"
#include "check_main.h"

#define S 1000000000ull

static const char *A = "http://10.0.0.1:1/announce", *B = "http://10.0.0.2:2/announce",
                  *C = "http://10.0.0.3:3/announce", *D = "http://10.0.0.4:4/announce";

/* [[A, B], [C]] */
static void two_tiers(crow_tracker_tiers_t *t)
{
    crow_tracker_tiers_init(t);
    ck_assert_int_eq(crow_tracker_tiers_add(t, A, 0), 0);
    ck_assert_int_eq(crow_tracker_tiers_add(t, B, 0), 1);
    ck_assert_int_eq(crow_tracker_tiers_add(t, C, 1), 2);
}

static const char *url(const crow_tracker_tiers_t *t, int id)
{
    return id < 0 ? "(none)" : crow_tracker_tiers_url(t, id);
}

START_TEST(test_choose)
{
    crow_manifest_tracker_t list[] = {
        {.url = (char *)"b1", .tier = 0}, {.url = (char *)"b2", .tier = 0}, {.url = (char *)"c", .tier = 1}};
    crow_manifest_t with_list = {.announce = (char *)"a", .trackers = list, .tracker_count = 3};
    crow_manifest_t announce_only = {.announce = (char *)"a"};
    crow_manifest_t nothing = {0};
    static const struct {
        int manifest; /* 0 with_list, 1 announce_only, 2 nothing */
        const char *override;
        bool none;
        const char *want; /* URLs in try order, tiers after '|' */
    } cases[] = {
        {0, NULL, false, "b1 b2 | c"}, /* announce-list wins over announce (BEP 12) */
        {1, NULL, false, "a"},         {2, NULL, false, ""}, {0, "o", false, "o"}, /* --tracker overrides */
        {2, "o", false, "o"},          {0, NULL, true, ""},                        /* --no-tracker */
        {1, NULL, true, ""},
    };
    const crow_manifest_t *ms[] = {&with_list, &announce_only, &nothing};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        crow_tracker_tiers_t t;
        crow_tracker_tiers_init(&t);
        uint32_t n = crow_tracker_tiers_choose(&t, ms[cases[i].manifest], cases[i].override, cases[i].none);
        char got[64] = "";
        for (uint32_t k = 0; k < t.count; k++) {
            int id = t.order[k];
            if (k)
                strcat(got, crow_tracker_tiers_tier(&t, id) != crow_tracker_tiers_tier(&t, t.order[k - 1])
                                ? " | "
                                : " ");
            strcat(got, crow_tracker_tiers_url(&t, id));
        }
        ck_assert_msg(strcmp(got, cases[i].want) == 0, "case %zu: %s, want %s", i, got, cases[i].want);
        ck_assert_uint_eq(n, t.count);
        ck_assert_uint_eq(crow_tracker_tiers_usable(&t), n);
    }
}
END_TEST

START_TEST(test_add_keeps_tier_order_and_limit)
{
    crow_tracker_tiers_t t;
    crow_tracker_tiers_init(&t);
    crow_tracker_tiers_add(&t, C, 2);
    crow_tracker_tiers_add(&t, A, 0);
    crow_tracker_tiers_add(&t, D, 2);
    crow_tracker_tiers_add(&t, B, 0);
    const char *want[] = {A, B, C, D};
    for (int k = 0; k < 4; k++)
        ck_assert_str_eq(crow_tracker_tiers_url(&t, t.order[k]), want[k]);
    for (uint32_t i = t.count; i < CROW_TRACKER_TIERS_MAX; i++)
        ck_assert_int_ge(crow_tracker_tiers_add(&t, A, 3), 0);
    ck_assert_int_eq(crow_tracker_tiers_add(&t, A, 3), CROW_ELIMIT);
    ck_assert_ptr_null(crow_tracker_tiers_url(&t, -1));
    ck_assert_ptr_null(crow_tracker_tiers_url(&t, CROW_TRACKER_TIERS_MAX));
}
END_TEST

/* The first tracker is down, the second tier's answers: one announce fails over, the next ones go
 * straight to the working tracker while the dead one rests, then the dead one is asked first again. */
START_TEST(test_failover_and_rest)
{
    crow_tracker_tiers_t t;
    two_tiers(&t);
    uint64_t now = 100 * S;
    ck_assert_str_eq(url(&t, crow_tracker_tiers_begin(&t, now)), A);
    ck_assert_str_eq(url(&t, crow_tracker_tiers_failed(&t, now)), B);
    ck_assert_uint_eq(crow_tracker_tiers_failures(&t, 0), 1);
    ck_assert_str_eq(url(&t, crow_tracker_tiers_failed(&t, now)), C);
    crow_tracker_tiers_worked(&t);
    ck_assert_str_eq(url(&t, crow_tracker_tiers_current(&t)), C);
    ck_assert_uint_eq(crow_tracker_tiers_failures(&t, 2), 0);

    /* A and B rest 15 s: C is asked first meanwhile. */
    for (uint64_t s = 1; s < 15; s += 3) {
        ck_assert_str_eq(url(&t, crow_tracker_tiers_begin(&t, now + s * S)), C);
        crow_tracker_tiers_worked(&t);
    }
    /* Rested: the first tier comes first again. */
    ck_assert_str_eq(url(&t, crow_tracker_tiers_begin(&t, now + 15 * S)), A);
    crow_tracker_tiers_worked(&t);
    ck_assert_uint_eq(crow_tracker_tiers_failures(&t, 0), 0);
    ck_assert_str_eq(url(&t, crow_tracker_tiers_begin(&t, now + 16 * S)), A);
}
END_TEST

/* BEP 12: a tracker that answered moves to the front of its tier; other tiers keep their order. */
START_TEST(test_promotion_within_tier)
{
    crow_tracker_tiers_t t;
    crow_tracker_tiers_init(&t);
    crow_tracker_tiers_add(&t, A, 0);
    crow_tracker_tiers_add(&t, B, 0);
    crow_tracker_tiers_add(&t, C, 0);
    crow_tracker_tiers_add(&t, D, 1);
    uint64_t now = 0;
    ck_assert_str_eq(url(&t, crow_tracker_tiers_begin(&t, now)), A);
    ck_assert_str_eq(url(&t, crow_tracker_tiers_failed(&t, now)), B);
    ck_assert_str_eq(url(&t, crow_tracker_tiers_failed(&t, now)), C);
    crow_tracker_tiers_worked(&t);
    const char *want[] = {C, A, B, D};
    for (int k = 0; k < 4; k++)
        ck_assert_str_eq(crow_tracker_tiers_url(&t, t.order[k]), want[k]);
    /* Long after the rests: C first, then A and B in their order, then D. */
    now += 3600 * S;
    ck_assert_str_eq(url(&t, crow_tracker_tiers_begin(&t, now)), C);
    ck_assert_str_eq(url(&t, crow_tracker_tiers_failed(&t, now)), A);
    ck_assert_str_eq(url(&t, crow_tracker_tiers_failed(&t, now)), B);
    ck_assert_str_eq(url(&t, crow_tracker_tiers_failed(&t, now)), D);
    crow_tracker_tiers_worked(&t);
    ck_assert_str_eq(crow_tracker_tiers_url(&t, t.order[3]), D); /* alone in its tier */
}
END_TEST

/* Every tracker down: each announce still tries each once (resting ones last), then fails; the
 * rests double up to the cap. */
START_TEST(test_all_down)
{
    crow_tracker_tiers_t t;
    two_tiers(&t);
    uint64_t now = 0;
    for (int round = 1; round <= 10; round++) {
        ck_assert_str_eq(url(&t, crow_tracker_tiers_begin(&t, now)), A);
        ck_assert_str_eq(url(&t, crow_tracker_tiers_failed(&t, now)), B);
        ck_assert_str_eq(url(&t, crow_tracker_tiers_failed(&t, now)), C);
        ck_assert_int_eq(crow_tracker_tiers_failed(&t, now), -1);
        ck_assert_int_eq(crow_tracker_tiers_current(&t), -1);
        ck_assert_int_eq(crow_tracker_tiers_failed(&t, now), -1); /* nothing under way */
        ck_assert_uint_eq(crow_tracker_tiers_failures(&t, 0), (uint32_t)round);
        uint64_t rest = CROW_TRACKER_REST_NS << (round - 1);
        if (rest > CROW_TRACKER_REST_MAX_NS)
            rest = CROW_TRACKER_REST_MAX_NS;
        ck_assert_uint_eq(t.entry[0].rest_until, now + rest);
        now += 2 * S;
    }
    /* Every one resting (rounds 2..10 began so): the first in order was asked first anyway. Once
     * rested, A is first and answers; its failures are forgotten. */
    ck_assert_str_eq(url(&t, crow_tracker_tiers_begin(&t, now + CROW_TRACKER_REST_MAX_NS)), A);
    crow_tracker_tiers_worked(&t);
    ck_assert_uint_eq(crow_tracker_tiers_failures(&t, 0), 0);
}
END_TEST

START_TEST(test_disabled_never_chosen)
{
    crow_tracker_tiers_t t;
    two_tiers(&t);
    crow_tracker_tiers_disable(&t, 0);
    crow_tracker_tiers_disable(&t, 99); /* ignored */
    ck_assert_uint_eq(crow_tracker_tiers_usable(&t), 2);
    ck_assert_str_eq(url(&t, crow_tracker_tiers_begin(&t, 0)), B);
    ck_assert_str_eq(url(&t, crow_tracker_tiers_failed(&t, 0)), C);
    ck_assert_int_eq(crow_tracker_tiers_failed(&t, 0), -1);
    crow_tracker_tiers_disable(&t, 1);
    crow_tracker_tiers_disable(&t, 2);
    ck_assert_uint_eq(crow_tracker_tiers_usable(&t), 0);
    ck_assert_int_eq(crow_tracker_tiers_begin(&t, 0), -1);
    crow_tracker_tiers_worked(&t); /* nothing under way: no effect */
    crow_tracker_tiers_t empty;
    crow_tracker_tiers_init(&empty);
    ck_assert_int_eq(crow_tracker_tiers_begin(&empty, 0), -1);
}
END_TEST

/* Random lists, random outcomes, random gaps between announces: after every step the order is a
 * tier-sorted permutation; an announce asks each usable tracker at most once, never a disabled one,
 * takes the first one in order that is not resting (a resting one only when none is left), and ends
 * in failure only once every usable tracker was tried. */
static void check_order(const crow_tracker_tiers_t *t)
{
    bool seen[CROW_TRACKER_TIERS_MAX] = {false};
    for (uint32_t k = 0; k < t->count; k++) {
        ck_assert_uint_lt(t->order[k], t->count);
        ck_assert(!seen[t->order[k]]);
        seen[t->order[k]] = true;
        if (k)
            ck_assert_uint_le(t->entry[t->order[k - 1]].tier, t->entry[t->order[k]].tier);
    }
}

static void check_choice(const crow_tracker_tiers_t *t, int id, uint64_t now, const bool *asked)
{
    int first_rested = -1, first_resting = -1;
    for (uint32_t k = 0; k < t->count; k++) {
        int i = t->order[k];
        if (t->entry[i].disabled || asked[i])
            continue;
        if (t->entry[i].rest_until <= now && first_rested < 0)
            first_rested = i;
        if (t->entry[i].rest_until > now && first_resting < 0)
            first_resting = i;
    }
    ck_assert_int_eq(id, first_rested >= 0 ? first_rested : first_resting);
}

START_TEST(test_random_schedules)
{
    srand(12345);
    for (int run = 0; run < 2000; run++) {
        crow_tracker_tiers_t t;
        crow_tracker_tiers_init(&t);
        uint32_t n = 1 + (uint32_t)rand() % 8;
        for (uint32_t i = 0; i < n; i++)
            crow_tracker_tiers_add(&t, A, (uint32_t)rand() % 3);
        for (uint32_t i = 0; i < n; i++)
            if (rand() % 6 == 0)
                crow_tracker_tiers_disable(&t, (int)i);
        bool up[CROW_TRACKER_TIERS_MAX];
        for (uint32_t i = 0; i < n; i++)
            up[i] = rand() % 2;
        uint64_t now = 0;
        for (int announce = 0; announce < 30; announce++) {
            now += (uint64_t)(rand() % 60) * S;
            if (rand() % 5 == 0)
                up[rand() % n] ^= true;
            bool asked[CROW_TRACKER_TIERS_MAX] = {false};
            uint32_t tries = 0;
            int id = crow_tracker_tiers_begin(&t, now);
            for (;;) {
                check_choice(&t, id, now, asked);
                check_order(&t);
                if (id < 0)
                    break;
                ck_assert(!t.entry[id].disabled);
                ck_assert(!asked[id]);
                asked[id] = true;
                tries++;
                if (up[id]) {
                    crow_tracker_tiers_worked(&t);
                    check_order(&t);
                    /* front of its tier */
                    uint32_t k = 0;
                    while (t.order[k] != id)
                        k++;
                    ck_assert(k == 0 || t.entry[t.order[k - 1]].tier < t.entry[id].tier);
                    ck_assert_uint_eq(t.entry[id].failures, 0);
                    break;
                }
                id = crow_tracker_tiers_failed(&t, now);
                if (id < 0)
                    ck_assert_uint_eq(tries, crow_tracker_tiers_usable(&t));
            }
        }
    }
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("tracker_tiers");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_choose);
    tcase_add_test(tc, test_add_keeps_tier_order_and_limit);
    tcase_add_test(tc, test_failover_and_rest);
    tcase_add_test(tc, test_promotion_within_tier);
    tcase_add_test(tc, test_all_down);
    tcase_add_test(tc, test_disabled_never_chosen);
    tcase_add_test(tc, test_random_schedules);
    suite_add_tcase(s, tc);
    return s;
}
