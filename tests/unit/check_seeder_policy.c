/* The seeder's decisions under a fake clock. When it may leave: not before the passes end, at once
 * without TCP or with --linger 0, with a tracker only once peers were seen and then all complete for
 * a while, without one once idle, always by the linger bound; random swarms checked against the rule
 * that a seeder never leaves while the tracker's last word was "someone is incomplete". When it
 * starts: with a tracker once a peer shows up (bounded). When it ends a pass early: only when the
 * peers say none of them receives it, over random fabrics where some racks see the stream late or
 * never. What it resends before its final END: what peers that joined late missed, each segment once,
 * never what an early peer's older map still lists. */
#include <stdlib.h>

#include "crowcast/seeder_policy.h"
#include "check_main.h"

#define S 1000000000ull

static crow_seeder_policy_t p;

static void start(bool tracker, bool tcp, int64_t linger_ns)
{
    crow_seeder_policy_config_t c = {.tracker = tracker, .serves_tcp = tcp, .linger_ns = linger_ns};
    crow_seeder_policy_init(&p, &c, 0);
}

static void answer_lit(uint64_t now, int64_t complete, int64_t incomplete, uint32_t lit, uint32_t dark)
{
    crow_seeder_swarm_t sw = {
        .interval_s = 30, .complete = complete, .incomplete = incomplete, .lit = lit, .dark = dark};
    crow_seeder_policy_tracker_answer(&p, now, &sw);
}

static void answer(uint64_t now, int64_t complete, int64_t incomplete)
{
    answer_lit(now, complete, incomplete, 0, 0);
}

static enum crow_seeder_verdict tick(uint64_t now, unsigned connections)
{
    bool announce;
    enum crow_seeder_verdict v = crow_seeder_policy_tick(&p, now, connections, &announce);
    if (announce)
        crow_seeder_policy_announced(&p, now);
    return v;
}

static void answer_need(uint64_t now, int64_t incomplete, uint64_t need);

/* The segments [0, n) of a release of 64 segments, as their bits. */
static uint64_t first_segments(unsigned n)
{
    return n >= 64 ? ~0ull : (1ull << n) - 1;
}

/* A map of the first 64 segments. */
static crow_need_map_t map64(uint64_t bits)
{
    return (crow_need_map_t){{bits}};
}

static void stream_sent(uint64_t now, uint64_t bits)
{
    crow_need_map_t sent = map64(bits);
    crow_seeder_policy_stream_sent(&p, now, &sent);
}

/* The segments the catch-up names now (all among the first 64). */
static uint64_t catch_up(void)
{
    crow_need_map_t resend;
    bool any = crow_seeder_policy_catch_up(&p, &resend);
    ck_assert(any == crow_need_map_any(&resend));
    for (unsigned i = 1; i < CROW_NEED_WORDS; i++)
        ck_assert_uint_eq(resend.w[i], 0);
    return resend.w[0];
}

/* The pass starts: its scope decided for a release of `pieces` pieces. */
static enum crow_seeder_scope sending(uint64_t now, uint32_t pieces, crow_need_map_t *scope)
{
    enum crow_seeder_scope kind = crow_seeder_policy_scope(&p, pieces, scope);
    crow_seeder_policy_sending(&p, now);
    return kind;
}

START_TEST(test_catches_up_what_late_joiners_missed)
{
    const uint64_t ms = 1000000ull;
    crow_seeder_policy_config_t c = {.tracker = true, .serves_tcp = true, .linger_ns = -1, .catch_up = true};
    crow_need_map_t scope;
    crow_seeder_policy_init(&p, &c, 0);
    ck_assert_int_eq(sending(0, 64, &scope), CROW_SEEDER_SCOPE_ALL);
    /* A 6.4 s pass, one segment every 100 ms; peers answer every 250 ms. A late peer joins at 1 s
     * and lacks the ten segments that went by; the early peers' maps list what has not come yet, up
     * to 2 s late (the refresh). */
    for (uint64_t t = 0; t <= 6400 * ms; t += 50 * ms) {
        unsigned sent = (unsigned)(t / (100 * ms));
        stream_sent(t, first_segments(sent));
        if (t % (250 * ms))
            continue;
        unsigned early_has = t >= 2000 * ms ? (unsigned)((t - 2000 * ms) / (100 * ms)) : 0;
        uint64_t need = ~first_segments(early_has);
        if (t >= 1000 * ms)
            need |= first_segments(10); /* the late peer */
        answer_need(t, 12, need);
        uint64_t missed = p.missed.w[0];
        /* Never more than the late peer's ten, and those only once they are old enough to judge. */
        ck_assert_uint_eq(missed & ~first_segments(10), 0);
        if (t >= 1000 * ms + CROW_SEEDER_NEED_AGE_NS)
            ck_assert_uint_eq(missed, first_segments(10));
    }
    ck_assert_uint_eq(catch_up(), first_segments(10));
    ck_assert_uint_eq(catch_up(), 0); /* each once */
    /* Resent: those segments are pending again, then sent again; nothing new is missed. */
    stream_sent(6500 * ms, ~first_segments(10));
    answer_need(6600 * ms, 1, first_segments(10));
    stream_sent(7500 * ms, ~0ull);
    answer_need(7600 * ms, 1, first_segments(10));
    ck_assert_uint_eq(catch_up(), 0);
    crow_seeder_policy_passes_done(&p, 8000 * ms);
    answer_need(20000 * ms, 1, ~0ull); /* after the passes nothing counts */
    ck_assert_uint_eq(catch_up(), 0);

    /* Without catch_up nothing is ever named; without a known need map neither. */
    crow_seeder_policy_config_t off = {.tracker = true, .serves_tcp = true, .linger_ns = -1};
    crow_seeder_policy_init(&p, &off, 0);
    sending(0, 64, &scope);
    stream_sent(0, first_segments(10));
    answer_need(10000 * ms, 1, ~0ull);
    ck_assert_uint_eq(catch_up(), 0);
    crow_seeder_policy_init(&p, &c, 0);
    sending(0, 64, &scope);
    stream_sent(0, first_segments(10));
    answer(10000 * ms, 1, 3);
    ck_assert_uint_eq(catch_up(), 0);
}
END_TEST

/* The pass sends what the peers lack, as the tracker's map says when it starts: only the changed
 * pieces' segments for hosts holding the previous release, nothing when nobody lacks anything,
 * everything without a map; a peer that comes later lacking more is caught up on what the scope
 * left out, at once (nothing of it is on its way), and on nothing the scope sends. */
START_TEST(test_the_pass_sends_what_the_peers_lack)
{
    const uint64_t ms = 1000000ull;
    crow_seeder_policy_config_t c = {.tracker = true,
                                     .serves_tcp = true,
                                     .linger_ns = -1,
                                     .wait_peers_ns = 600 * (int64_t)S,
                                     .catch_up = true};
    crow_need_map_t scope;
    /* Three hosts hold v1 and lack segments 5, 6 and 900 of 1024 (4096 pieces). */
    crow_seeder_policy_init(&p, &c, 0);
    crow_need_map_t delta = {{0}};
    crow_need_map_set(&delta, 5);
    crow_need_map_set(&delta, 6);
    crow_need_map_set(&delta, 900);
    crow_seeder_swarm_t sw = {
        .interval_s = 30, .complete = 1, .incomplete = 3, .has_need = true, .need = delta};
    crow_seeder_policy_tracker_answer(&p, 100 * ms, &sw);
    ck_assert_int_eq(crow_seeder_policy_may_start(&p, 100 * ms), CROW_SEEDER_START_PEERS);
    ck_assert_uint_eq(crow_seeder_policy_first_piece(&p, 4096), 3600); /* after the gap 7..899 */
    ck_assert_int_eq(sending(100 * ms, 4096, &scope), CROW_SEEDER_SCOPE_NEEDED);
    ck_assert(crow_need_map_equal(&scope, &delta));
    /* A fourth host holding nothing joins: it lacks everything. What the scope sends is not missed
     * (it is on its way), the rest is, at once. */
    crow_need_map_t everything = {{0}};
    crow_need_map_set_range(&everything, 0, 1024);
    sw.incomplete = 4;
    sw.need = everything;
    crow_seeder_policy_tracker_answer(&p, 300 * ms, &sw);
    ck_assert_uint_eq(crow_need_map_count(&p.missed), 1024 - 3);
    ck_assert(!crow_need_map_get(&p.missed, 5) && !crow_need_map_get(&p.missed, 900));
    crow_need_map_t resend;
    ck_assert(crow_seeder_policy_catch_up(&p, &resend));
    ck_assert_uint_eq(crow_need_map_count(&resend), 1024 - 3);
    ck_assert(!crow_seeder_policy_catch_up(&p, &resend)); /* each once */

    /* Every host lacks nothing of the stream (only scattered chunks): no piece at all. */
    crow_seeder_policy_init(&p, &c, 0);
    sw = (crow_seeder_swarm_t){.interval_s = 30, .complete = 1, .incomplete = 2, .has_need = true};
    crow_seeder_policy_tracker_answer(&p, 100 * ms, &sw);
    ck_assert_int_eq(sending(100 * ms, 4096, &scope), CROW_SEEDER_SCOPE_NONE);
    ck_assert(!crow_need_map_any(&scope));

    /* No map (a peer sent none in time) or no tracker: every segment of the release. */
    crow_seeder_policy_init(&p, &c, 0);
    answer(100 * ms, 1, 2);
    ck_assert_int_eq(crow_seeder_policy_may_start(&p, 100 * ms + CROW_SEEDER_MAP_WAIT_NS),
                     CROW_SEEDER_START_NO_MAP);
    ck_assert_int_eq(sending(100 * ms + CROW_SEEDER_MAP_WAIT_NS, 300, &scope), CROW_SEEDER_SCOPE_ALL);
    ck_assert_uint_eq(crow_need_map_count(&scope), 300); /* one segment a piece */
    c.tracker = false;
    crow_seeder_policy_init(&p, &c, 0);
    ck_assert_int_eq(sending(0, 4096, &scope), CROW_SEEDER_SCOPE_ALL);
    ck_assert_uint_eq(crow_need_map_count(&scope), 1024);
}
END_TEST

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
        answer(t, 1, 0);
        ck_assert_int_eq(tick(t, 0), CROW_SEEDER_STAY);
    }
    /* peers show up, some incomplete for a while */
    for (uint64_t t = 100 * S; t < 150 * S; t += 2 * S) {
        answer(t, 3, 2);
        ck_assert_int_eq(tick(t, 1), CROW_SEEDER_STAY);
    }
    /* all complete: leaves after the quiet period, not before */
    uint64_t t = 150 * S;
    answer(t, 5, 0);
    ck_assert_int_eq(tick(t, 0), CROW_SEEDER_STAY);
    answer(t + 2 * S, 5, 0);
    ck_assert_int_eq(tick(t + 4 * S, 0), CROW_SEEDER_STAY);
    /* one incomplete again (a late joiner) resets the quiet period */
    answer(t + 4 * S, 5, 1);
    ck_assert_int_eq(tick(t + 6 * S, 0), CROW_SEEDER_STAY);
    answer(t + 6 * S, 6, 0);
    answer(t + 6 * S + CROW_SEEDER_QUIET_NS - 1, 6, 0);
    ck_assert_int_eq(tick(t + 6 * S + CROW_SEEDER_QUIET_NS - 1, 0), CROW_SEEDER_STAY);
    answer(t + 6 * S + CROW_SEEDER_QUIET_NS, 6, 0); /* answers say so for the whole quiet period */
    ck_assert_int_eq(tick(t + 6 * S + CROW_SEEDER_QUIET_NS, 0), CROW_SEEDER_STOP_COMPLETE);
}
END_TEST

START_TEST(test_peers_that_completed_and_left_count_as_seen)
{
    /* the peers finished and left before the pass ended: incomplete was seen once */
    start(true, true, (int64_t)CROW_SEEDER_LINGER_DEFAULT_NS);
    answer(1 * S, 1, 4);
    answer(6 * S, 1, 0);
    crow_seeder_policy_passes_done(&p, 7 * S);
    answer(7 * S, 1, 0);
    answer(7 * S + CROW_SEEDER_QUIET_NS, 1, 0);
    ck_assert_int_eq(tick(7 * S + CROW_SEEDER_QUIET_NS, 0), CROW_SEEDER_STOP_COMPLETE);
}
END_TEST

START_TEST(test_polls_the_tracker_after_the_passes)
{
    start(true, true, (int64_t)CROW_SEEDER_LINGER_DEFAULT_NS);
    tick(0, 0); /* the first announce */
    answer(0, 1, 0);
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
    ck_assert_uint_eq(after, 20); /* every second */
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
    answer(10 * S, 1, 7);
    ck_assert_int_eq(tick(40 * S - 1, 1), CROW_SEEDER_STAY);
    ck_assert_int_eq(tick(40 * S, 1), CROW_SEEDER_STOP_LINGER_OVER);
    start(true, true, -1);
    crow_seeder_policy_passes_done(&p, 10 * S);
    answer(10 * S, 5, 0);
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
        int64_t told = -1; /* the incomplete count of the last answer the seeder had */
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
            if (v == CROW_SEEDER_STAY && announce) {
                crow_seeder_policy_announced(&p, t);
                answer(t, complete, incomplete);
                told = incomplete;
                if (incomplete == 0 && seen && passes_done && !complete_since)
                    complete_since = t;
                if (incomplete)
                    complete_since = 0;
            }
            if (v == CROW_SEEDER_STOP_COMPLETE) {
                ck_assert_msg(told == 0, "seed %u: left with peers incomplete", seed);
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

START_TEST(test_waits_for_a_peer_before_multicasting)
{
    crow_seeder_policy_config_t c = {
        .tracker = true, .serves_tcp = true, .linger_ns = 600 * (int64_t)S, .wait_peers_ns = 60 * (int64_t)S};
    crow_seeder_policy_init(&p, &c, 0);
    ck_assert_int_eq(crow_seeder_policy_may_start(&p, 0), CROW_SEEDER_START_WAIT);
    bool announce;
    crow_seeder_policy_tick(&p, 0, 0, &announce);
    ck_assert(announce);
    crow_seeder_policy_announced(&p, 0);
    ck_assert_uint_eq(p.next_announce, CROW_SEEDER_WAIT_POLL_NS); /* polls often while it waits */
    answer(10 * 1000000ull, 1, 0);
    ck_assert_int_eq(crow_seeder_policy_may_start(&p, 5 * S), CROW_SEEDER_START_WAIT);
    answer(5 * S, 1, 2); /* peers, but not their maps yet: it waits for them, a while */
    ck_assert_int_eq(crow_seeder_policy_may_start(&p, 5 * S), CROW_SEEDER_START_WAIT);
    ck_assert_int_eq(crow_seeder_policy_may_start(&p, 5 * S + CROW_SEEDER_MAP_WAIT_NS - 1),
                     CROW_SEEDER_START_WAIT);
    ck_assert_int_eq(crow_seeder_policy_may_start(&p, 5 * S + CROW_SEEDER_MAP_WAIT_NS),
                     CROW_SEEDER_START_NO_MAP);
    answer_need(6 * S, 2, 0xff); /* every one sent its map */
    ck_assert_int_eq(crow_seeder_policy_may_start(&p, 6 * S), CROW_SEEDER_START_PEERS);
    crow_seeder_policy_sending(&p, 5 * S);
    crow_seeder_policy_announced(&p, 5 * S);
    ck_assert_uint_eq(p.next_announce, 5 * S + CROW_SEEDER_SEND_POLL_NS);
    /* the wait is bounded */
    crow_seeder_policy_init(&p, &c, 0);
    ck_assert_int_eq(crow_seeder_policy_may_start(&p, 60 * S - 1), CROW_SEEDER_START_WAIT);
    ck_assert_int_eq(crow_seeder_policy_may_start(&p, 60 * S), CROW_SEEDER_START_TIMEOUT);
    /* no tracker, or no wait asked: at once */
    c.wait_peers_ns = 0;
    crow_seeder_policy_init(&p, &c, 0);
    ck_assert_int_eq(crow_seeder_policy_may_start(&p, 0), CROW_SEEDER_START_AT_ONCE);
    c.wait_peers_ns = -1;
    c.tracker = false;
    crow_seeder_policy_init(&p, &c, 0);
    ck_assert_int_eq(crow_seeder_policy_may_start(&p, 0), CROW_SEEDER_START_AT_ONCE);
    c.tracker = true;
    crow_seeder_policy_init(&p, &c, 0);
    ck_assert_int_eq(crow_seeder_policy_may_start(&p, 100000 * S), CROW_SEEDER_START_WAIT);
}
END_TEST

/* Found by the simulator (seeds 1473, 1797, 2026, 2300): the tracker reported none incomplete, went
 * down, and peers started meanwhile; the seeder's quiet streak went on through its failed announces
 * and it left 5 s later, so the new peers found no source. A failed announce breaks the streak, and a
 * tracker back from an outage is believed only an interval later (30 s here). */
/* A seeder with no multicast and no tracker (--listen only) has no pass: it stays until a peer has
 * come and then gone for CROW_SEEDER_IDLE_NS, at most its linger (before, it never left). */
/* Found by the simulator (seed 6100, a tracker host that answers nothing): the quiet streak ran on
 * the clock while the seeder's announce waited out its timeout, and the seeder left on one old
 * answer. The streak lasts as long as answers say so. */
START_TEST(test_quiet_is_counted_in_answers)
{
    start(true, true, 600 * (int64_t)S);
    crow_seeder_policy_sending(&p, 0);
    crow_seeder_policy_passes_done(&p, 10 * S);
    answer(10 * S, 1, 3);
    answer(11 * S, 4, 0); /* the streak starts; then the tracker goes silent */
    for (uint64_t t = 11 * S; t < 40 * S; t += S)
        ck_assert_int_eq(tick(t, 0), CROW_SEEDER_STAY);
    answer(40 * S, 4, 0); /* it answers again, still quiet: 29 s of answers say so */
    ck_assert_int_eq(tick(40 * S, 0), CROW_SEEDER_STOP_COMPLETE);
}
END_TEST

START_TEST(test_tcp_only_seeder_leaves_once_served_and_idle)
{
    crow_seeder_policy_config_t c = {.serves_tcp = true, .linger_ns = 600 * (int64_t)S, .tcp_only = true};
    crow_seeder_policy_init(&p, &c, 0);
    for (uint64_t t = 0; t < 100 * S; t += S)
        ck_assert_int_eq(tick(t, 0), CROW_SEEDER_STAY); /* nobody yet: the peers may start later */
    ck_assert_int_eq(tick(100 * S, 2), CROW_SEEDER_STAY);
    ck_assert_int_eq(tick(110 * S, 1), CROW_SEEDER_STAY);
    ck_assert_int_eq(tick(110 * S + CROW_SEEDER_IDLE_NS - 1, 0), CROW_SEEDER_STAY);
    ck_assert_int_eq(tick(110 * S + CROW_SEEDER_IDLE_NS, 0), CROW_SEEDER_STOP_IDLE);
    /* and never past its linger, served or not */
    crow_seeder_policy_init(&p, &c, 0);
    ck_assert_int_eq(tick(600 * S, 0), CROW_SEEDER_STOP_LINGER_OVER);
}
END_TEST

START_TEST(test_a_tracker_outage_is_not_quiet)
{
    start(true, true, 600 * (int64_t)S);
    crow_seeder_policy_sending(&p, 0);
    crow_seeder_policy_passes_done(&p, 10 * S);
    answer(10 * S, 1, 3);
    answer(11 * S, 4, 0); /* everyone complete: the streak starts */
    ck_assert_int_eq(tick(12 * S, 0), CROW_SEEDER_STAY);
    crow_seeder_policy_tracker_failed(&p, 13 * S);
    crow_seeder_policy_tracker_failed(&p, 14 * S);
    for (uint64_t t = 12 * S; t < 40 * S; t += S)
        ck_assert_int_eq(tick(t, 0), CROW_SEEDER_STAY); /* no streak through the outage */
    answer(15 * S, 4, 0);                               /* back, having heard only from some */
    for (uint64_t t = 15 * S; t < 44 * S; t += S) {
        answer(t, 4, 0);
        ck_assert_int_eq(tick(t, 0), CROW_SEEDER_STAY);
    }
    answer(44 * S, 4, 0); /* an interval after the last failure: the streak may start */
    answer(48 * S, 4, 0);
    ck_assert_int_eq(tick(48 * S, 0), CROW_SEEDER_STAY);
    answer(49 * S, 4, 0);
    ck_assert_int_eq(tick(49 * S, 0), CROW_SEEDER_STOP_COMPLETE);
}
END_TEST

START_TEST(test_ends_a_pass_that_reaches_nobody)
{
    start(true, true, 600 * (int64_t)S);
    crow_seeder_policy_sending(&p, 10 * S);
    /* dark reports from before the stream could reach anyone do not count */
    answer_lit(10 * S + CROW_SEEDER_DARK_GRACE_NS - 1, 1, 4, 0, 4);
    ck_assert(!crow_seeder_policy_reaches_nobody(&p));
    /* one lit peer is enough to go on */
    answer_lit(12 * S + 1, 1, 4, 1, 3);
    ck_assert(!crow_seeder_policy_reaches_nobody(&p));
    answer_lit(13 * S, 1, 4, 0, 0); /* nobody says anything */
    ck_assert(!crow_seeder_policy_reaches_nobody(&p));
    answer_lit(14 * S, 1, 4, 0, 2);
    ck_assert(crow_seeder_policy_reaches_nobody(&p));
    ck_assert(!crow_seeder_policy_reaches_nobody(&p)); /* once */
    /* after the passes there is nothing to end */
    start(true, true, 600 * (int64_t)S);
    crow_seeder_policy_sending(&p, 0);
    crow_seeder_policy_passes_done(&p, 5 * S);
    answer_lit(6 * S, 1, 4, 0, 4);
    ck_assert(!crow_seeder_policy_reaches_nobody(&p));
}
END_TEST

/* What the peers lack: the first pass starts where the swarm's need begins; a pass ends once the
 * tracker reports nobody incomplete. */
static void answer_need(uint64_t now, int64_t incomplete, uint64_t need)
{
    crow_seeder_swarm_t sw = {
        .interval_s = 30, .complete = 1, .incomplete = incomplete, .has_need = true, .need = map64(need)};
    crow_seeder_policy_tracker_answer(&p, now, &sw);
}

START_TEST(test_starts_where_the_swarm_lacks_and_ends_when_complete)
{
    start(true, true, 600 * (int64_t)S);
    ck_assert_uint_eq(crow_seeder_policy_first_piece(&p, 64), 0); /* nothing known */
    answer_need(0, 4, 0xffffffff00000000ull);                     /* a seeder restarted mid-pass */
    ck_assert_uint_eq(crow_seeder_policy_first_piece(&p, 64), 32);
    crow_seeder_policy_sending(&p, 0);
    ck_assert(!crow_seeder_policy_swarm_complete(&p)); /* an answer from before the pass */
    answer_need(1 * S, 2, 0xf0000000000000ull);
    ck_assert(!crow_seeder_policy_swarm_complete(&p));
    answer_need(2 * S, 0, 0); /* everybody complete: the pass ends */
    ck_assert(crow_seeder_policy_swarm_complete(&p));
    ck_assert(!crow_seeder_policy_swarm_complete(&p)); /* once */
    crow_seeder_policy_passes_done(&p, 2 * S);
    ck_assert(!crow_seeder_policy_swarm_complete(&p));
}
END_TEST

/* Random fabrics: racks whose hosts start before or after the seeder, see the stream within
 * 0..0.8 s (a slow IGMP join; a joined host sees it within ms) of it reaching them, or never (a rack the
 * fabric does not carry multicast to). Each host reports dark once its 1 s first-datagram clock runs out
 * without a datagram, lit once one came, lit or dark at once, "nothing to say" 1 s after its previous
 * announce at the earliest; the seeder polls every second. The pass is ended only when no host that has
 * started will ever see it (a host starting later meets a seeder serving over TCP), and always when no host
 * at all sees it, within the grace plus 3 s. */
START_TEST(test_random_fabrics)
{
    enum { HOSTS = 12 };
    for (unsigned seed = 1; seed <= 2000; seed++) {
        srand(seed);
        crow_seeder_policy_config_t c = {.tracker = true,
                                         .serves_tcp = true,
                                         .linger_ns = 600 * (int64_t)S,
                                         .wait_peers_ns = 600 * (int64_t)S};
        crow_seeder_policy_init(&p, &c, 0);
        uint64_t start_at[HOSTS], sees_at[HOSTS], last_announce[HOSTS];
        int said[HOSTS]; /* 0 none, 1 lit, 2 dark */
        bool anyone_sees = false;
        for (int h = 0; h < HOSTS; h++) {
            start_at[h] = (uint64_t)(rand() % 8000) * 1000000ull;
            bool dark_rack = rand() % 3 == 0 && (h % 3 != 0 || rand() % 2);
            sees_at[h] = dark_rack ? UINT64_MAX : (uint64_t)(rand() % 800) * 1000000ull; /* after sending */
            anyone_sees |= !dark_rack;
            last_announce[h] = start_at[h];
            said[h] = 0;
        }
        uint64_t sending_at = UINT64_MAX, cut_at = UINT64_MAX;
        for (uint64_t t = 0; t < 60 * S; t += 50 * 1000000ull) {
            unsigned present = 0, lit = 0, dark = 0;
            for (int h = 0; h < HOSTS; h++) {
                if (t < start_at[h])
                    continue;
                present++;
                bool sees = sending_at != UINT64_MAX && cut_at == UINT64_MAX && sees_at[h] != UINT64_MAX &&
                            t >= sending_at + sees_at[h];
                /* the clock starts when the tracker lists the seeder: at the host's start */
                int now_says = sees ? 1 : t >= start_at[h] + S ? 2 : 0;
                if (said[h] == 1 && !sees)
                    now_says = 1; /* a stream that was seen and ended is no longer dark */
                if (now_says != said[h] && (now_says != 0 || t - last_announce[h] >= S)) {
                    said[h] = now_says;
                    last_announce[h] = t;
                }
                lit += said[h] == 1;
                dark += said[h] == 2;
            }
            bool announce;
            crow_seeder_policy_tick(&p, t, 0, &announce);
            if (announce) { /* every host sent its map as it joined */
                crow_seeder_policy_announced(&p, t);
                crow_seeder_swarm_t sw = {.interval_s = 30,
                                          .complete = 1,
                                          .incomplete = present,
                                          .lit = lit,
                                          .dark = dark,
                                          .has_need = present > 0,
                                          .need = map64(~0ull)};
                crow_seeder_policy_tracker_answer(&p, t, &sw);
            }
            if (sending_at == UINT64_MAX && crow_seeder_policy_may_start(&p, t) != CROW_SEEDER_START_WAIT) {
                ck_assert_uint_gt(present, 0);
                sending_at = t;
                crow_seeder_policy_sending(&p, t);
            }
            if (cut_at == UINT64_MAX && crow_seeder_policy_reaches_nobody(&p)) {
                for (int h = 0; h < HOSTS; h++)
                    ck_assert_msg(t < start_at[h] || sees_at[h] == UINT64_MAX,
                                  "seed %u: a pass host %d receives was ended at %llu ms", seed, h,
                                  (unsigned long long)(t / 1000000));
                cut_at = t;
            }
        }
        ck_assert_uint_ne(sending_at, UINT64_MAX);
        if (!anyone_sees)
            ck_assert_msg(cut_at != UINT64_MAX && cut_at <= sending_at + CROW_SEEDER_DARK_GRACE_NS + 3 * S,
                          "seed %u: a pass nobody receives ran on (sending at %llu ms, cut at %llu ms)", seed,
                          (unsigned long long)(sending_at / 1000000), (unsigned long long)(cut_at / 1000000));
    }
}
END_TEST

Suite *crow_test_suite(void)
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
    tcase_add_test(tc, test_waits_for_a_peer_before_multicasting);
    tcase_add_test(tc, test_the_pass_sends_what_the_peers_lack);
    tcase_add_test(tc, test_a_tracker_outage_is_not_quiet);
    tcase_add_test(tc, test_tcp_only_seeder_leaves_once_served_and_idle);
    tcase_add_test(tc, test_quiet_is_counted_in_answers);
    tcase_add_test(tc, test_ends_a_pass_that_reaches_nobody);
    tcase_add_test(tc, test_random_fabrics);
    tcase_add_test(tc, test_starts_where_the_swarm_lacks_and_ends_when_complete);
    tcase_add_test(tc, test_catches_up_what_late_joiners_missed);
    suite_add_tcase(s, tc);
    return s;
}
