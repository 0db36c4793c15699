/* When a seeder may leave, under a fake clock: not before the passes end, at once without TCP or
 * with --linger 0, with a tracker only once peers were seen and then all complete for a while,
 * without one once idle, always by the linger bound; then random swarms checked against the rule
 * that a seeder never leaves while the tracker's last word was "someone is incomplete". */
#include <check.h>
#include <stdlib.h>

#include "crowcast/seeder_policy.h"

#define S 1000000000ull

static crow_seeder_policy_t p;

static void start(bool tracker, bool tcp, int64_t linger_ns)
{
    crow_seeder_policy_config_t c = {.tracker = tracker, .serves_tcp = tcp, .linger_ns = linger_ns};
    crow_seeder_policy_init(&p, &c, 0);
}

static enum crow_seeder_verdict tick(uint64_t now, unsigned connections)
{
    bool announce;
    enum crow_seeder_verdict v = crow_seeder_policy_tick(&p, now, connections, &announce);
    if (announce)
        crow_seeder_policy_announced(&p, now);
    return v;
}

START_TEST(test_stays_during_the_passes)
{
    start(true, true, 0);
    for (uint64_t t = 0; t < 3600 * S; t += 10 * S)
        ck_assert_int_eq(tick(t, 0), CROW_SEEDER_STAY);
}
END_TEST

START_TEST(test_leaves_at_once_without_tcp_or_linger)
{
    start(false, false, (int64_t)CROW_SEEDER_LINGER_DEFAULT_NS);
    crow_seeder_policy_passes_done(&p, 5 * S);
    ck_assert_int_eq(tick(5 * S, 0), CROW_SEEDER_STOP_NO_TCP);
    start(true, true, 0);
    crow_seeder_policy_passes_done(&p, 5 * S);
    ck_assert_int_eq(tick(5 * S, 3), CROW_SEEDER_STOP_NO_LINGER);
    start(true, false, -1);
    crow_seeder_policy_passes_done(&p, 5 * S);
    ck_assert_int_eq(tick(5 * S, 0), CROW_SEEDER_STOP_NO_TCP);
}
END_TEST

START_TEST(test_with_a_tracker_waits_for_the_swarm)
{
    start(true, true, (int64_t)CROW_SEEDER_LINGER_DEFAULT_NS);
    crow_seeder_policy_passes_done(&p, 10 * S);
    /* nobody has announced yet: the peers may not have started; stay */
    for (uint64_t t = 10 * S; t < 100 * S; t += S) {
        crow_seeder_policy_tracker_answer(&p, t, 30, 1, 0);
        ck_assert_int_eq(tick(t, 0), CROW_SEEDER_STAY);
    }
    /* peers show up, some incomplete for a while */
    for (uint64_t t = 100 * S; t < 150 * S; t += 2 * S) {
        crow_seeder_policy_tracker_answer(&p, t, 30, 3, 2);
        ck_assert_int_eq(tick(t, 1), CROW_SEEDER_STAY);
    }
    /* all complete: leaves after the quiet period, not before */
    uint64_t t = 150 * S;
    crow_seeder_policy_tracker_answer(&p, t, 30, 5, 0);
    ck_assert_int_eq(tick(t, 0), CROW_SEEDER_STAY);
    crow_seeder_policy_tracker_answer(&p, t + 2 * S, 30, 5, 0);
    ck_assert_int_eq(tick(t + 4 * S, 0), CROW_SEEDER_STAY);
    /* one incomplete again (a late joiner) resets the quiet period */
    crow_seeder_policy_tracker_answer(&p, t + 4 * S, 30, 5, 1);
    ck_assert_int_eq(tick(t + 6 * S, 0), CROW_SEEDER_STAY);
    crow_seeder_policy_tracker_answer(&p, t + 6 * S, 30, 6, 0);
    ck_assert_int_eq(tick(t + 6 * S + CROW_SEEDER_QUIET_NS - 1, 0), CROW_SEEDER_STAY);
    ck_assert_int_eq(tick(t + 6 * S + CROW_SEEDER_QUIET_NS, 0), CROW_SEEDER_STOP_COMPLETE);
}
END_TEST

START_TEST(test_peers_that_completed_and_left_count_as_seen)
{
    /* the peers finished and left before the pass ended: incomplete was seen once */
    start(true, true, (int64_t)CROW_SEEDER_LINGER_DEFAULT_NS);
    crow_seeder_policy_tracker_answer(&p, 1 * S, 30, 1, 4);
    crow_seeder_policy_tracker_answer(&p, 6 * S, 30, 1, 0);
    crow_seeder_policy_passes_done(&p, 7 * S);
    crow_seeder_policy_tracker_answer(&p, 7 * S, 30, 1, 0);
    ck_assert_int_eq(tick(7 * S + CROW_SEEDER_QUIET_NS, 0), CROW_SEEDER_STOP_COMPLETE);
}
END_TEST

START_TEST(test_polls_the_tracker_after_the_passes)
{
    start(true, true, (int64_t)CROW_SEEDER_LINGER_DEFAULT_NS);
    tick(0, 0); /* the first announce */
    crow_seeder_policy_tracker_answer(&p, 0, 30, 1, 0);
    unsigned during = 0, after = 0;
    for (uint64_t t = S; t <= 60 * S; t += S) {
        bool announce;
        crow_seeder_policy_tick(&p, t, 0, &announce);
        if (announce)
            crow_seeder_policy_announced(&p, t);
        during += announce;
    }
    crow_seeder_policy_passes_done(&p, 61 * S);
    for (uint64_t t = 61 * S; t < 81 * S; t += S) {
        bool announce;
        crow_seeder_policy_tick(&p, t, 0, &announce);
        if (announce)
            crow_seeder_policy_announced(&p, t);
        after += announce;
    }
    ck_assert_uint_eq(during, 2);
    ck_assert_uint_eq(after, 10);
}
END_TEST

START_TEST(test_without_a_tracker_leaves_when_idle)
{
    start(false, true, (int64_t)CROW_SEEDER_LINGER_DEFAULT_NS);
    crow_seeder_policy_passes_done(&p, 10 * S);
    for (uint64_t t = 10 * S; t < 100 * S; t += S)
        ck_assert_int_eq(tick(t, 2), CROW_SEEDER_STAY);
    ck_assert_int_eq(tick(100 * S, 0), CROW_SEEDER_STAY);
    ck_assert_int_eq(tick(99 * S + CROW_SEEDER_IDLE_NS - 1, 0), CROW_SEEDER_STAY);
    ck_assert_int_eq(tick(99 * S + CROW_SEEDER_IDLE_NS, 0), CROW_SEEDER_STOP_IDLE);
}
END_TEST

START_TEST(test_the_linger_bound_holds)
{
    start(true, true, 30 * (int64_t)S);
    crow_seeder_policy_passes_done(&p, 10 * S);
    crow_seeder_policy_tracker_answer(&p, 10 * S, 30, 1, 7);
    ck_assert_int_eq(tick(40 * S - 1, 1), CROW_SEEDER_STAY);
    ck_assert_int_eq(tick(40 * S, 1), CROW_SEEDER_STOP_LINGER_OVER);
    start(true, true, -1);
    crow_seeder_policy_passes_done(&p, 10 * S);
    crow_seeder_policy_tracker_answer(&p, 10 * S, 30, 5, 0);
    ck_assert_int_eq(tick(10000 * S, 0), CROW_SEEDER_STAY);
}
END_TEST

/* Random swarms: peers join and complete at random times, answers come every poll. The seeder
 * never leaves while the last answer said someone is incomplete (before the bound), and leaves
 * within the quiet period plus one poll and one tick of the swarm turning complete. */
START_TEST(test_random_swarms)
{
    for (unsigned seed = 1; seed <= 3000; seed++) {
        srand(seed);
        start(true, true, 300 * (int64_t)S);
        uint64_t pass_end = (uint64_t)(rand() % 60 + 1) * S;
        int64_t incomplete = 0, complete = 1;
        uint64_t complete_since = 0;
        bool passes_done = false, seen = false;
        for (uint64_t t = 0; t < 400 * S; t += S) {
            if (!passes_done && t >= pass_end) {
                crow_seeder_policy_passes_done(&p, t);
                passes_done = true;
            }
            int r = rand() % 100;
            if (r < 5)
                incomplete++;
            else if (r < 15 && incomplete > 0)
                incomplete--, complete++;
            seen |= incomplete > 0;
            bool announce;
            enum crow_seeder_verdict v = crow_seeder_policy_tick(&p, t, (unsigned)incomplete, &announce);
            if (announce) {
                crow_seeder_policy_announced(&p, t);
                crow_seeder_policy_tracker_answer(&p, t, 30, complete, incomplete);
                if (incomplete == 0 && seen && passes_done && !complete_since)
                    complete_since = t;
                if (incomplete)
                    complete_since = 0;
            }
            if (v == CROW_SEEDER_STOP_COMPLETE) {
                ck_assert_msg(incomplete == 0 || !announce, "seed %u: left with peers incomplete", seed);
                ck_assert(passes_done && seen);
                break;
            }
            if (v == CROW_SEEDER_STOP_LINGER_OVER) {
                ck_assert_uint_ge(t - pass_end, 300 * S);
                break;
            }
            ck_assert_int_eq(v, CROW_SEEDER_STAY);
            if (complete_since)
                ck_assert_msg(t - complete_since <= CROW_SEEDER_QUIET_NS + CROW_SEEDER_POLL_NS + S,
                              "seed %u: stayed %llu s after the swarm completed", seed,
                              (unsigned long long)((t - complete_since) / S));
        }
    }
}
END_TEST

static Suite *seeder_policy_suite(void)
{
    Suite *s = suite_create("seeder_policy");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, test_stays_during_the_passes);
    tcase_add_test(tc, test_leaves_at_once_without_tcp_or_linger);
    tcase_add_test(tc, test_with_a_tracker_waits_for_the_swarm);
    tcase_add_test(tc, test_peers_that_completed_and_left_count_as_seen);
    tcase_add_test(tc, test_polls_the_tracker_after_the_passes);
    tcase_add_test(tc, test_without_a_tracker_leaves_when_idle);
    tcase_add_test(tc, test_the_linger_bound_holds);
    tcase_add_test(tc, test_random_swarms);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(seeder_policy_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
