/* The simulator's foundations: the event scheduler (order, ties, determinism of the log hash), the
 * generator, links (serialisation, queueing, queue overflow, delay) and loss models; whole worlds,
 * the deliberate faults the property check must catch, and the rollout coordinator. */
#include <stdlib.h>

#include "sim_link.h"
#include "sim_property.h"
#include "sim_rng.h"
#include "sim_rollout.h"
#include "sim_sched.h"
#include "sim_world.h"
#include "check_main.h"

START_TEST(test_events_come_out_in_time_order)
{
    sim_sched_t s;
    ck_assert_int_eq(sim_sched_init(&s), 0);
    sim_rng_t r;
    sim_rng_seed(&r, 7);
    /* More than the initial capacity: the heap grows. */
    for (unsigned i = 0; i < 5000; i++)
        ck_assert_int_eq(sim_sched_at(&s, sim_rng_below(&r, 1000000), 1, i, 0), 0);
    sim_event_t e;
    uint64_t last = 0, count = 0;
    while (sim_sched_pop(&s, &e)) {
        ck_assert_uint_ge(e.t, last);
        ck_assert_uint_eq(s.now, e.t);
        last = e.t;
        count++;
    }
    ck_assert_uint_eq(count, 5000);
    ck_assert_uint_eq(sim_sched_peek(&s), UINT64_MAX);
    sim_sched_dispose(&s);
}
END_TEST

START_TEST(test_ties_keep_scheduling_order)
{
    sim_sched_t s;
    ck_assert_int_eq(sim_sched_init(&s), 0);
    for (unsigned i = 0; i < 100; i++)
        sim_sched_at(&s, i % 2 ? 50 : 10, 0, i, 0);
    sim_event_t e;
    uint32_t prev_even = 0, prev_odd = 1;
    for (unsigned i = 0; i < 100; i++) {
        ck_assert(sim_sched_pop(&s, &e));
        if (i < 50) { /* every t=10 event first, in the order scheduled */
            ck_assert_uint_eq(e.t, 10);
            ck_assert(i == 0 || e.obj == prev_even + 2);
            prev_even = e.obj;
        } else {
            ck_assert_uint_eq(e.t, 50);
            ck_assert(i == 50 || e.obj == prev_odd + 2);
            prev_odd = e.obj;
        }
    }
    sim_sched_dispose(&s);
}
END_TEST

START_TEST(test_the_past_runs_now)
{
    sim_sched_t s;
    sim_sched_init(&s);
    sim_sched_at(&s, 100, 0, 0, 0);
    sim_event_t e;
    sim_sched_pop(&s, &e);
    sim_sched_at(&s, 5, 0, 1, 0);
    ck_assert(sim_sched_pop(&s, &e));
    ck_assert_uint_eq(e.t, 100);
    sim_sched_dispose(&s);
}
END_TEST

/* A little world: events that schedule events at random, through links with random loss. The
 * log hash is a function of the seed alone. */
static uint64_t run_world(uint64_t seed)
{
    sim_sched_t s;
    sim_sched_init(&s);
    sim_rng_t r;
    sim_rng_seed(&r, seed);
    sim_link_t l;
    sim_link_init(&l, 1000000000ull, 5000, 64 * 1024);
    l.loss = (sim_loss_t){.kind = SIM_LOSS_GE, .p_gb = 0.01, .p_bg = 0.3, .loss_bad = 0.5};
    for (unsigned i = 0; i < 10; i++)
        sim_sched_at(&s, sim_rng_below(&r, 1000), 0, i, 0);
    sim_event_t e;
    while (sim_sched_pop(&s, &e) && s.popped < 20000) {
        uint64_t at = sim_link_offer(&l, s.now, 1000 + sim_rng_below(&r, 8000), true, &r);
        if (at != SIM_DROPPED)
            sim_sched_at(&s, at + sim_rng_below(&r, 3000), e.kind + 1, e.obj, e.arg + 1);
        else
            sim_sched_at(&s, s.now + 100000, e.kind, e.obj, e.arg);
    }
    uint64_t h = s.hash;
    sim_sched_dispose(&s);
    return h;
}

START_TEST(test_same_seed_same_log)
{
    ck_assert_uint_eq(run_world(1), run_world(1));
    ck_assert_uint_eq(run_world(99), run_world(99));
    ck_assert_uint_ne(run_world(1), run_world(2));
}
END_TEST

START_TEST(test_rng_is_fixed_and_bounded)
{
    sim_rng_t a, b;
    sim_rng_seed(&a, 42);
    sim_rng_seed(&b, 42);
    for (int i = 0; i < 1000; i++) {
        ck_assert_uint_eq(sim_rng_next(&a), sim_rng_next(&b));
        ck_assert_uint_lt(sim_rng_below(&a, 17), 17);
        double u = sim_rng_unit(&b);
        ck_assert(u >= 0 && u < 1);
    }
    ck_assert_uint_eq(sim_rng_below(&a, 0), 0);
}
END_TEST

START_TEST(test_link_serialises_queues_and_delays)
{
    sim_link_t l;
    sim_link_init(&l, 8000000000ull, 1000, 3000); /* 1 byte/ns, 1 us delay, 3000 bytes of queue */
    ck_assert_uint_eq(sim_link_serialise_ns(&l, 1500), 1500);
    ck_assert_uint_eq(sim_link_offer(&l, 0, 1500, true, NULL), 2500);
    /* Behind the first: starts at 1500. */
    ck_assert_uint_eq(sim_link_offer(&l, 0, 1500, true, NULL), 4000);
    /* 3000 bytes wait now: a third one does not fit the queue. */
    ck_assert_uint_eq(sim_link_offer(&l, 0, 1500, true, NULL), SIM_DROPPED);
    ck_assert_uint_eq(l.dropped_packets, 1);
    /* Undroppable traffic queues anyway. */
    ck_assert_uint_eq(sim_link_offer(&l, 0, 1500, false, NULL), 5500);
    /* An idle link later: no queue. */
    ck_assert_uint_eq(sim_link_offer(&l, 10000, 100, true, NULL), 11100);
    ck_assert_uint_eq(l.sent_packets, 4);
    ck_assert_uint_eq(l.sent_bytes, 4600);
}
END_TEST

START_TEST(test_loss_models)
{
    sim_rng_t r;
    sim_rng_seed(&r, 3);
    sim_loss_t none = {0}, random = {.kind = SIM_LOSS_RANDOM, .p = 0.1},
               ge = {.kind = SIM_LOSS_GE, .p_gb = 0.001, .p_bg = 0.1, .loss_bad = 1.0};
    unsigned runs = 0, run = 0, longest = 0;
    for (int i = 0; i < 100000; i++) {
        ck_assert(!sim_loss_drop(&none, &r));
        sim_loss_drop(&random, &r);
        if (sim_loss_drop(&ge, &r)) {
            if (run++ == 0)
                runs++;
            longest = run > longest ? run : longest;
        } else {
            run = 0;
        }
    }
    ck_assert_uint_gt(random.dropped, 9000);
    ck_assert_uint_lt(random.dropped, 11000);
    /* Bursts: about 1 % lost, in runs of about 10. */
    ck_assert_uint_gt(ge.dropped, 400);
    ck_assert_uint_lt(ge.dropped, 2500);
    ck_assert_uint_gt(ge.dropped / runs, 4);
    ck_assert_uint_gt(longest, 20);
}
END_TEST

/* A whole datacenter on the real engines: every peer verifies, and the log is a function of the seed. */
static void small_world(sim_config_t *c, uint64_t seed)
{
    sim_config_default(c);
    c->racks = 2;
    c->hosts_per_rack = 3;
    c->size = 4u << 20;
    c->seed = seed;
    ck_assert_int_eq(sim_loss_parse(&c->loss, "random:0.01,rack:1:0.05"), 0);
    ck_assert_int_eq(sim_crash_parse(&c->crashes[0], "peer:4@0.001+0.5"), 0);
    c->crash_count = 1;
}

START_TEST(test_world_verifies_and_replays)
{
    sim_config_t c;
    sim_result_t a, b, other;
    small_world(&c, 5);
    ck_assert_int_eq(sim_run(&c, &a), 0);
    ck_assert(a.all_verified);
    ck_assert_uint_eq(a.verified, 6);
    ck_assert(a.max_s >= a.sb_s);
    ck_assert_uint_gt(a.datagrams_lost, 0);
    ck_assert_int_eq(sim_run(&c, &b), 0);
    ck_assert_uint_eq(a.hash, b.hash);
    ck_assert_uint_eq(a.events, b.events);
    small_world(&c, 6);
    ck_assert_int_eq(sim_run(&c, &other), 0);
    ck_assert_uint_ne(a.hash, other.hash);
}
END_TEST

START_TEST(test_scenario_arguments)
{
    sim_loss_spec_t l;
    ck_assert_int_eq(sim_loss_parse(&l, "none"), 0);
    ck_assert_int_eq(l.host.kind, SIM_LOSS_NONE);
    ck_assert_int_eq(sim_loss_parse(&l, "ge:0.01:0.2:0.5,slow:3:0.5"), 0);
    ck_assert_int_eq(l.host.kind, SIM_LOSS_GE);
    ck_assert_uint_eq(l.slow_host, 3);
    static const char *const bad[] = {"",         "random", "random:2",    "ge:0.1:0.2", "rack:1",
                                      "slow:1:0", "foo:1",  "random:0.1,", "random:0.1x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(sim_loss_parse(&l, bad[i]) != 0, "%s", bad[i]);
    sim_crash_t k;
    ck_assert_int_eq(sim_crash_parse(&k, "peer:12@1.5+0.25"), 0);
    ck_assert_uint_eq(k.host, 12);
    ck_assert_uint_eq(k.at_ns, 1500000000ull);
    ck_assert_uint_eq(k.down_ns, 250000000ull);
    ck_assert_int_eq(sim_crash_parse(&k, "tracker@0+1"), 0);
    ck_assert_int_eq(k.who, SIM_WHO_TRACKER);
    static const char *const bad_crash[] = {"peer@1+1",    "peer:x@1+1", "seeder@1",
                                            "seeder@-1+1", "host@1+1",   "seeder1+1"};
    for (size_t i = 0; i < sizeof bad_crash / sizeof *bad_crash; i++)
        ck_assert_msg(sim_crash_parse(&k, bad_crash[i]) != 0, "%s", bad_crash[i]);
    enum sim_start_order o;
    ck_assert_int_eq(sim_start_parse(&o, "seeder-last"), 0);
    ck_assert_int_eq(o, SIM_START_SEEDER_LAST);
    ck_assert_int_ne(sim_start_parse(&o, "later"), 0);
}
END_TEST

/* Each deliberate fault breaks a scenario of the property check that passes without it: junk resetting
 * the silence clock holds a peer that joined after the pass on a dead stream (seed 93: a stray sender
 * every 2 s), peers of a rack that start together are each told chain head (seed 2). */
START_TEST(test_faults_are_caught)
{
    static const struct {
        uint64_t seed;
        bool junk, two_heads;
    } cases[] = {{93, true, false}, {2, false, true}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sim_config_t c;
        sim_result_t r;
        sim_property_config(cases[i].seed, &c);
        ck_assert_int_eq(sim_run(&c, &r), 0);
        ck_assert(r.all_verified);
        ck_assert_str_eq(r.violation, "");
        ck_assert(r.last_done_s <= sim_property_bound_s(&c));
        c.fault_junk = cases[i].junk;
        c.fault_two_heads = cases[i].two_heads;
        ck_assert_int_eq(sim_run(&c, &r), 0);
        if (cases[i].junk) {
            ck_assert_uint_gt(c.junk_every_ns, 0);
            ck_assert(!r.all_verified);
        } else {
            ck_assert_str_eq(r.violation, "two chain heads in rack 0 at 0.000052 s: peers 0 and 1");
        }
    }
}
END_TEST

/* The real coordinator under simulated agents: a healthy fleet gets every host activated, a sick rack
 * halts its wave at the threshold, and the run is a function of its seed. */
START_TEST(test_rollout_done_and_halted)
{
    char plan[1024];
    sim_rollout_default_plan(plan, sizeof plan, 12);
    sim_rollout_config_t c = {.racks = 12,
                              .hosts_per_rack = 8,
                              .plan = plan,
                              .sick_rack = UINT32_MAX,
                              .download_ns = 3000000000ull,
                              .activate_ns = 1000000000ull,
                              .health_ns = 2000000000ull,
                              .rtt_ns = 200000,
                              .limit_ns = 3600000000000ull,
                              .seed = 3};
    sim_rollout_result_t r, again;
    ck_assert_int_eq(sim_rollout_run(&c, &r, NULL), 0);
    ck_assert_str_eq(r.state, "done");
    ck_assert_uint_eq(r.registered, 96);
    ck_assert_uint_eq(r.activations, 96);
    ck_assert_uint_eq(r.healthy, 96);
    c.sick_rack = 5;
    ck_assert_int_eq(sim_rollout_run(&c, &r, NULL), 0);
    ck_assert_str_eq(r.state, "halted");
    /* 5 failures, or fewer once 90 % healthy is out of the wave's reach */
    ck_assert(r.failed >= 1 && r.failed <= 5);
    ck_assert_uint_lt(r.activations, 96); /* later waves were never told */
    ck_assert_int_eq(sim_rollout_run(&c, &again, NULL), 0);
    ck_assert_uint_eq(r.hash, again.hash);
    c.plan = "wave nosuchrack\n";
    ck_assert_int_lt(sim_rollout_run(&c, &r, NULL), 0);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("sim");
    TCase *tc = tcase_create("sched");
    tcase_add_test(tc, test_events_come_out_in_time_order);
    tcase_add_test(tc, test_ties_keep_scheduling_order);
    tcase_add_test(tc, test_the_past_runs_now);
    tcase_add_test(tc, test_same_seed_same_log);
    tcase_add_test(tc, test_rng_is_fixed_and_bounded);
    suite_add_tcase(s, tc);
    tc = tcase_create("link");
    tcase_add_test(tc, test_link_serialises_queues_and_delays);
    tcase_add_test(tc, test_loss_models);
    suite_add_tcase(s, tc);
    tc = tcase_create("world");
    tcase_add_test(tc, test_world_verifies_and_replays);
    tcase_add_test(tc, test_scenario_arguments);
    tcase_add_test(tc, test_rollout_done_and_halted);
    tcase_add_test(tc, test_faults_are_caught);
    suite_add_tcase(s, tc);
    return s;
}
