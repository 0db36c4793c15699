/* The peer's timing decisions under a fake clock: the silence clock (runs only once a source is
 * known, only datagrams of the session hold it off, a stream that comes back is followed again),
 * urgent announces with their backoff and bound, tracker failures, what the peer waits for; then
 * thousands of random schedules checked against the same rules. */
#include <stdlib.h>

#include "crowcast/peer_policy.h"
#include "check_main.h"

#define S  1000000000ull
#define MS 1000000ull

static const crow_peer_policy_config_t with_tracker = {
    .silence_ns = 3 * S, .multicast = true, .tracker = true};
static const crow_picker_needs_t nothing_needed = {0};
static const crow_picker_needs_t unserved = {.unserved = 3, .rack_neighbours = true};

static crow_peer_actions_t tick(crow_peer_policy_t *p, uint64_t now, const crow_picker_needs_t *n, bool head)
{
    crow_peer_actions_t a;
    crow_peer_policy_tick(p, now, n, head, &a);
    if (a.announce)
        crow_peer_policy_announced(p, now);
    return a;
}

START_TEST(test_no_clock_without_a_source)
{
    crow_peer_policy_t p;
    crow_peer_policy_init(&p, &with_tracker, 0);
    tick(&p, 0, &nothing_needed, false);
    crow_peer_policy_joined(&p, 10 * MS);
    for (uint64_t t = 0; t < 3600 * S; t += S)
        ck_assert(!tick(&p, t, &nothing_needed, false).went_silent);
    ck_assert_int_eq(p.stream, CROW_STREAM_AWAITED);
    ck_assert_int_eq(p.wait, CROW_WAIT_STREAM);
}
END_TEST

START_TEST(test_silence_counts_from_the_source_or_the_last_datagram)
{
    crow_peer_policy_t p;
    crow_peer_policy_init(&p, &with_tracker, 0);
    crow_peer_policy_joined(&p, 0);
    crow_peer_policy_source_known(&p, 5 * S);
    ck_assert_int_eq(p.stream, CROW_STREAM_DUE);
    /* a stream that never showed a datagram: given up 1 s after its source became known */
    ck_assert(!tick(&p, 5 * S + CROW_PEER_FIRST_DATAGRAM_NS - 1, &nothing_needed, false).went_silent);
    ck_assert(crow_peer_policy_next_deadline(&p) <= 5 * S + CROW_PEER_FIRST_DATAGRAM_NS);
    ck_assert(tick(&p, 5 * S + CROW_PEER_FIRST_DATAGRAM_NS, &nothing_needed, false).went_silent);
    ck_assert_int_eq(p.stream, CROW_STREAM_SILENT);
    ck_assert(!crow_peer_policy_stream_pending(&p));

    /* alive again: followed, and silent again 3 s after its last datagram */
    ck_assert(crow_peer_policy_datagram(&p, 9 * S));
    ck_assert_int_eq(p.stream, CROW_STREAM_ALIVE);
    ck_assert(crow_peer_policy_stream_pending(&p));
    ck_assert(!crow_peer_policy_datagram(&p, 10 * S)); /* not a comeback */
    ck_assert(!tick(&p, 13 * S - 1, &nothing_needed, false).went_silent);
    ck_assert(tick(&p, 13 * S, &nothing_needed, false).went_silent);
}
END_TEST

/* A peer that joins after the passes: the tracker lists a complete peer and no seeder still sending,
 * so the stream is not waited for; with a seeder still sending, the first-datagram clock runs as
 * before; and a stream that showed datagrams is never cut short by what the tracker says. */
START_TEST(test_no_wait_for_a_stream_nobody_sends)
{
    crow_peer_policy_t p;
    crow_peer_policy_init(&p, &with_tracker, 0);
    crow_peer_policy_joined(&p, 0);
    crow_peer_policy_source_known(&p, 1 * S);
    crow_peer_policy_senders(&p, 1 * S, 0, 0);
    ck_assert_uint_le(crow_peer_policy_next_deadline(&p), 1 * S);
    ck_assert(tick(&p, 1 * S, &nothing_needed, false).went_silent);
    ck_assert_int_eq(p.stream, CROW_STREAM_SILENT);
    ck_assert_int_eq(crow_peer_policy_mcast_report(&p), CROW_MCAST_REPORT_DARK);

    crow_peer_policy_init(&p, &with_tracker, 0);
    crow_peer_policy_joined(&p, 0);
    crow_peer_policy_source_known(&p, 1 * S);
    crow_peer_policy_senders(&p, 1 * S, 2, 0); /* sending, not streaming yet: the 1 s clock */
    ck_assert(!tick(&p, 1 * S + CROW_PEER_FIRST_DATAGRAM_NS - 1, &nothing_needed, false).went_silent);
    crow_peer_policy_datagram(&p, 1 * S + 500 * MS);
    crow_peer_policy_senders(&p, 1 * S + 550 * MS, 0, 0); /* stale: datagrams are coming */
    ck_assert(!tick(&p, 1 * S + 600 * MS, &nothing_needed, false).went_silent);
    ck_assert(!tick(&p, 4 * S + 500 * MS - 1, &nothing_needed, false).went_silent);
    ck_assert(tick(&p, 4 * S + 500 * MS, &nothing_needed, false).went_silent); /* its own 3 s */

    /* A seeder multicasting now: a stream that shows nothing is given up on sooner, counted from
     * the first answer that said so; a later one saying so again does not push it back. */
    crow_peer_policy_init(&p, &with_tracker, 0);
    crow_peer_policy_joined(&p, 0);
    crow_peer_policy_source_known(&p, 1 * S);
    crow_peer_policy_senders(&p, 1 * S + 100 * MS, 1, 1);
    tick(&p, 1 * S + 100 * MS, &nothing_needed, false); /* the first announce goes */
    crow_peer_policy_senders(&p, 1 * S + 300 * MS, 1, 1);
    ck_assert_uint_eq(crow_peer_policy_next_deadline(&p), 1 * S + 100 * MS + CROW_PEER_STREAMING_DATAGRAM_NS);
    ck_assert(!tick(&p, 1 * S + 100 * MS + CROW_PEER_STREAMING_DATAGRAM_NS - 1, &nothing_needed, false)
                   .went_silent);
    ck_assert(
        tick(&p, 1 * S + 100 * MS + CROW_PEER_STREAMING_DATAGRAM_NS, &nothing_needed, false).went_silent);
    /* and a stream that flows keeps its own silence clock whatever the tracker says */
    crow_peer_policy_init(&p, &with_tracker, 0);
    crow_peer_policy_joined(&p, 0);
    crow_peer_policy_source_known(&p, 1 * S);
    crow_peer_policy_datagram(&p, 1 * S + 10 * MS);
    crow_peer_policy_senders(&p, 1 * S + 20 * MS, 1, 1);
    ck_assert(!tick(&p, 3 * S, &nothing_needed, false).went_silent);
}
END_TEST

/* A peer behind a chain head that never brings the rack's missing pieces (a liar that claims them):
 * it polls the tracker after its patience, and if it still waits after CROW_PEER_RACK_LEAD_NS it is
 * told to lead (fetch from outside the rack itself); a chain head never is. */
START_TEST(test_a_peer_behind_a_head_that_brings_nothing_leads)
{
    crow_peer_policy_t p;
    crow_peer_policy_init(&p, &with_tracker, 0);
    crow_peer_policy_no_multicast(&p, 0);
    tick(&p, 0, &unserved, false);
    ck_assert_int_eq(p.wait, CROW_WAIT_RACK);
    ck_assert_uint_le(crow_peer_policy_next_deadline(&p), CROW_PEER_RACK_LEAD_NS);
    /* requests to the head go out and expire, on and off: the stall goes on */
    static const crow_picker_needs_t asking = {.unserved = 3, .rack_neighbours = true, .requests_out = true};
    for (uint64_t t = 0; t < CROW_PEER_RACK_LEAD_NS; t += 100 * MS)
        ck_assert_msg(!tick(&p, t, t / S % 3 == 1 ? &asking : &unserved, false).lead, "lead at %llu ms",
                      (unsigned long long)(t / MS));
    ck_assert(tick(&p, CROW_PEER_RACK_LEAD_NS, &unserved, false).lead);
    ck_assert(!tick(&p, CROW_PEER_RACK_LEAD_NS, &unserved, true).lead); /* once head, no longer */
    /* a verified piece ends the stall: the clock starts over at the next wait */
    crow_peer_policy_progress(&p);
    ck_assert(!tick(&p, CROW_PEER_RACK_LEAD_NS + S, &unserved, false).lead);
    ck_assert(!tick(&p, 2 * CROW_PEER_RACK_LEAD_NS, &unserved, false).lead);
    ck_assert(tick(&p, 2 * CROW_PEER_RACK_LEAD_NS + S, &unserved, false).lead);

    /* behind a dead head (not expired yet at the tracker): no rack neighbour is connected, the peer
     * waits for a source it may not fetch outside the rack, and leads as well */
    static const crow_picker_needs_t alone = {.unserved = 3};
    crow_peer_policy_init(&p, &with_tracker, 0);
    crow_peer_policy_no_multicast(&p, 0);
    tick(&p, 0, &alone, false);
    ck_assert_int_eq(p.wait, CROW_WAIT_SOURCE);
    ck_assert(!tick(&p, CROW_PEER_RACK_LEAD_NS - 1, &alone, false).lead);
    ck_assert(tick(&p, CROW_PEER_RACK_LEAD_NS, &alone, false).lead);
}
END_TEST

START_TEST(test_end_is_final_and_announces_unless_complete)
{
    crow_peer_policy_t p;
    crow_peer_policy_init(&p, &with_tracker, 0);
    tick(&p, 0, &nothing_needed, false);
    crow_peer_policy_joined(&p, 0);
    crow_peer_policy_datagram(&p, S);
    crow_peer_policy_stream_ended(&p, 2 * S);
    ck_assert_uint_eq(crow_peer_policy_next_deadline(&p), 0);
    ck_assert(tick(&p, 2 * S, &nothing_needed, false).announce);
    ck_assert(!crow_peer_policy_datagram(&p, 3 * S));
    ck_assert_int_eq(p.stream, CROW_STREAM_ENDED);
    for (uint64_t t = 3 * S; t < 60 * S; t += S)
        ck_assert(!tick(&p, t, &nothing_needed, false).went_silent);
    /* a complete peer has nothing to tell when the stream ends */
    crow_peer_policy_init(&p, &with_tracker, 0);
    tick(&p, 0, &nothing_needed, false);
    crow_peer_policy_joined(&p, 0);
    crow_peer_policy_datagram(&p, S);
    ck_assert(tick(&p, S, &nothing_needed, false).announce); /* lit */
    crow_peer_policy_complete(&p, 2 * S);
    crow_peer_policy_stream_ended(&p, 2 * S);
    ck_assert(!tick(&p, 2 * S, &nothing_needed, false).announce);
}
END_TEST

START_TEST(test_end_contradicted_by_the_stream)
{
    /* A forged END: the stream's DATA brings it back, and the grace before giving up starts over
     * at the next END. */
    crow_peer_policy_t p;
    crow_peer_policy_init(&p, &with_tracker, 0);
    crow_peer_policy_joined(&p, 0);
    crow_peer_policy_datagram(&p, S);
    ck_assert(!crow_peer_policy_stream_resumed(&p, S)); /* nothing to resume */
    crow_peer_policy_stream_ended(&p, 2 * S);
    ck_assert(!crow_peer_policy_stream_pending(&p));
    ck_assert(!crow_peer_policy_stream_over(&p, 2 * S + CROW_PEER_END_GRACE_NS - 1));
    ck_assert(crow_peer_policy_stream_resumed(&p, 2 * S + 10 * MS));
    ck_assert_int_eq(p.stream, CROW_STREAM_ALIVE);
    ck_assert(crow_peer_policy_stream_pending(&p));
    ck_assert(!crow_peer_policy_stream_over(&p, 10 * S));
    crow_peer_policy_stream_ended(&p, 10 * S);
    ck_assert(!crow_peer_policy_stream_over(&p, 10 * S + CROW_PEER_END_GRACE_NS - 1));
    ck_assert(crow_peer_policy_stream_over(&p, 10 * S + CROW_PEER_END_GRACE_NS));
}
END_TEST

/* Times of the announces in [from, to) at 100 ms ticks. */
static unsigned announces(crow_peer_policy_t *p, uint64_t from, uint64_t to, const crow_picker_needs_t *n,
                          bool head, uint64_t *at, unsigned cap)
{
    unsigned k = 0;
    for (uint64_t t = from; t < to; t += 100 * MS)
        if (tick(p, t, n, head).announce && k < cap)
            at[k++] = t;
    return k;
}

/* A peer that announced at 0 (answered at 50 ms) and joined at 50 ms; with a datagram at 100 ms
 * (announced at once: mcast=lit) and a stream that stays alive throughout when `streaming`. */
static void start_peer(crow_peer_policy_t *p, bool streaming)
{
    crow_peer_policy_init(p, &with_tracker, 0);
    tick(p, 0, &nothing_needed, false);
    crow_peer_policy_tracker_answer(p, 50 * MS, true, 30);
    crow_peer_policy_joined(p, 50 * MS);
    if (streaming) {
        crow_peer_policy_datagram(p, 100 * MS);
        p->cfg.silence_ns = 0;
        /* the stream reached it: it tells the tracker at once (mcast=lit) */
        ck_assert(tick(p, 100 * MS, &nothing_needed, false).announce);
        ck_assert_int_eq(p->reported, CROW_MCAST_REPORT_LIT);
    }
}

START_TEST(test_urgent_announces_back_off_to_the_cap)
{
    crow_peer_policy_t p;
    start_peer(&p, true);
    uint64_t at[32];
    unsigned n = announces(&p, 200 * MS, 20 * S, &unserved, true, at, 32);
    /* 1 s after the last, then 2 s apart (the cap) */
    ck_assert_uint_ge(n, 5);
    ck_assert_uint_eq(at[0], 1100 * MS);
    ck_assert_uint_eq(at[1] - at[0], 2 * S);
    for (unsigned i = 2; i < n; i++)
        ck_assert_uint_eq(at[i] - at[i - 1], CROW_PEER_URGENT_MAX_NS);
    ck_assert_int_eq(p.wait, CROW_WAIT_SOURCE);
}
END_TEST

START_TEST(test_a_peer_waiting_for_its_chain_head_polls_only_past_its_patience)
{
    crow_peer_policy_t p;
    start_peer(&p, true);
    uint64_t at[8];
    ck_assert_uint_eq(announces(&p, 200 * MS, 200 * MS + CROW_PEER_RACK_PATIENCE_NS, &unserved, false, at, 8),
                      0);
    ck_assert_int_eq(p.wait, CROW_WAIT_RACK);
    /* past its patience the head may be dead: it asks the tracker, 1, 2, 2 ... s apart */
    unsigned n = announces(&p, 200 * MS + CROW_PEER_RACK_PATIENCE_NS, 29 * S, &unserved, false, at, 8);
    ck_assert_uint_ge(n, 4);
    ck_assert_uint_eq(at[0], 200 * MS + CROW_PEER_RACK_PATIENCE_NS);
    for (unsigned i = 1; i < n; i++)
        ck_assert_uint_le(at[i] - at[i - 1], CROW_PEER_URGENT_MAX_NS);
    /* with no rack neighbour connected it is its own source finder at once */
    crow_picker_needs_t alone = {.unserved = 1};
    ck_assert_uint_ge(announces(&p, 29 * S, 31 * S, &alone, false, at, 8), 1);
    ck_assert_int_eq(p.wait, CROW_WAIT_SOURCE);
}
END_TEST

/* What the peer tells the tracker of the stream: nothing before it knows, dark when the first
 * datagram never came, lit once one does; each change goes out at most 1 s after the last announce. */
START_TEST(test_reports_the_stream_lit_or_dark)
{
    crow_peer_policy_t p;
    crow_peer_policy_init(&p, &with_tracker, 0);
    ck_assert(tick(&p, 0, &nothing_needed, false).announce);
    ck_assert_int_eq(p.reported, CROW_MCAST_REPORT_NONE);
    crow_peer_policy_tracker_answer(&p, 50 * MS, true, 30);
    crow_peer_policy_joined(&p, 50 * MS);
    crow_peer_policy_source_known(&p, 60 * MS); /* the tracker lists the seeder */
    ck_assert_int_eq(crow_peer_policy_mcast_report(&p), CROW_MCAST_REPORT_NONE);
    /* joined: its first need map at once; then the first-datagram clock runs out: dark, said at once
     * (the stream went silent) */
    uint64_t at[8];
    ck_assert_uint_eq(announces(&p, 100 * MS, 1200 * MS, &nothing_needed, false, at, 8), 2);
    ck_assert_uint_eq(at[0], 100 * MS);
    ck_assert_uint_eq(at[1], 1100 * MS); /* the clock started at 60 ms; ticks every 100 ms */
    ck_assert_int_eq(p.stream, CROW_STREAM_SILENT);
    ck_assert_int_eq(p.reported, CROW_MCAST_REPORT_DARK);
    /* a datagram after all: lit, said at once (the seeder must not stop a stream that reaches us) */
    crow_peer_policy_datagram(&p, 1500 * MS);
    ck_assert_int_eq(crow_peer_policy_mcast_report(&p), CROW_MCAST_REPORT_LIT);
    ck_assert_uint_eq(crow_peer_policy_next_deadline(&p), 1100 * MS);
    ck_assert_uint_eq(announces(&p, 1500 * MS, 2500 * MS, &nothing_needed, false, at, 8), 1);
    ck_assert_uint_eq(at[0], 1500 * MS);
    ck_assert_int_eq(p.reported, CROW_MCAST_REPORT_LIT);
    /* silent after datagrams is not dark (the seeder may have died): nothing to say */
    p.cfg.silence_ns = 3 * S;
    crow_peer_policy_tick(&p, 6 * S, &nothing_needed, false, &(crow_peer_actions_t){0});
    ck_assert_int_eq(p.stream, CROW_STREAM_SILENT);
    ck_assert_int_eq(crow_peer_policy_mcast_report(&p), CROW_MCAST_REPORT_NONE);
    crow_peer_policy_complete(&p, 7 * S);
    ck_assert_int_eq(crow_peer_policy_mcast_report(&p), CROW_MCAST_REPORT_NONE);
}
END_TEST

/* While the stream flows, a changed need map goes to the tracker 2 s after the last announce (a
 * seeder restarted mid-pass starts where the swarm's data ends); not when it did not change. */
START_TEST(test_refreshes_its_need_while_the_stream_flows)
{
    crow_peer_policy_t p;
    start_peer(&p, true); /* lit, announced at 100 ms */
    uint64_t at[8];
    crow_need_map_t all = {{0}}, some = {{0xff}};
    crow_need_map_set_range(&all, 0, CROW_NEED_SEGMENTS);
    crow_peer_policy_need(&p, &all);
    ck_assert_uint_eq(crow_peer_policy_next_deadline(&p), 2100 * MS);
    ck_assert_uint_eq(announces(&p, 200 * MS, 2200 * MS, &nothing_needed, false, at, 8), 1);
    ck_assert_uint_eq(at[0], 2100 * MS);
    ck_assert(crow_need_map_equal(&p.reported_need, &all));
    ck_assert_uint_eq(announces(&p, 2200 * MS, 10 * S, &nothing_needed, false, at, 8), 0);
    crow_peer_policy_need(&p, &some);
    ck_assert_uint_eq(announces(&p, 10 * S, 11 * S, &nothing_needed, false, at, 8), 1);
    ck_assert_uint_eq(at[0], 10 * S);
}
END_TEST

START_TEST(test_waiting_for_an_unknown_stream_polls_the_tracker)
{
    /* peers long before the seeder: they learn of it within the backoff cap */
    crow_peer_policy_t p;
    start_peer(&p, false);
    uint64_t at[64];
    unsigned n = announces(&p, 100 * MS, 120 * S, &nothing_needed, false, at, 64);
    ck_assert_uint_ge(n, 55);
    /* its first need map as it joined (at 50 ms, the next tick); then 0.5 s after it, doubling to
     * the cap: a seeder that starts meanwhile is known within the backoff */
    ck_assert_uint_eq(at[0], 100 * MS);
    ck_assert_uint_eq(at[1] - at[0], 2 * CROW_PEER_AWAIT_STREAM_NS);
    ck_assert_uint_eq(at[2] - at[1], 4 * CROW_PEER_AWAIT_STREAM_NS);
    ck_assert_uint_eq(at[3] - at[2], CROW_PEER_URGENT_MAX_NS);
    for (unsigned i = 1; i < n; i++)
        ck_assert_uint_le(at[i] - at[i - 1], CROW_PEER_URGENT_MAX_NS);
    /* once the tracker names a source, the polling stops and the silence clock runs */
    crow_peer_policy_source_known(&p, 120 * S);
    ck_assert_uint_eq(
        announces(&p, 120 * S, 120 * S + CROW_PEER_FIRST_DATAGRAM_NS - 1, &nothing_needed, false, at, 64), 0);
    ck_assert(tick(&p, 120 * S + CROW_PEER_FIRST_DATAGRAM_NS, &nothing_needed, false).went_silent);
}
END_TEST

START_TEST(test_tracker_failures_back_off_and_recover)
{
    crow_peer_policy_t p;
    crow_peer_policy_init(&p, &with_tracker, 0);
    uint64_t t = 0, gaps[8];
    for (int i = 0; i < 8; i++) {
        while (!tick(&p, t, &nothing_needed, false).announce)
            t += 100 * MS;
        gaps[i] = t;
        crow_peer_policy_tracker_answer(&p, t, false, 0);
    }
    ck_assert_int_eq(p.wait, CROW_WAIT_TRACKER);
    for (int i = 2; i < 8; i++) {
        ck_assert_uint_ge(gaps[i] - gaps[i - 1], gaps[i - 1] - gaps[i - 2]);
        ck_assert_uint_le(gaps[i] - gaps[i - 1], CROW_PEER_RETRY_MAX_NS);
    }
    ck_assert_uint_eq(gaps[7] - gaps[6], CROW_PEER_RETRY_MAX_NS);
    crow_peer_policy_tracker_answer(&p, t + MS, true, 30);
    ck_assert(!p.tracker_failing);
    ck_assert_uint_eq(p.retry_backoff, CROW_PEER_URGENT_MIN_NS);
}
END_TEST

START_TEST(test_complete_stops_urgent_polling)
{
    crow_peer_policy_t p;
    crow_peer_policy_init(&p, &with_tracker, 0);
    tick(&p, 0, &nothing_needed, true);
    crow_peer_policy_complete(&p, S);
    uint64_t at[8];
    ck_assert_uint_eq(announces(&p, S, 29 * S, &unserved, true, at, 8), 0);
    ck_assert_int_eq(p.wait, CROW_WAIT_NONE);
}
END_TEST

/* Random schedules: datagrams in bursts with gaps, sources learned at random, needs that come and
 * go, tracker answers failing at random. The rules that must hold in every one:
 *   - the stream is never declared silent while a datagram came less than silence_ns ago, and is
 *     silent (or ended) by one tick after silence_ns without one, once a source is known;
 *   - urgent announces are at least 1 s apart, 0.25 s while waiting for an unknown stream (one-shot
 *     repair announces aside);
 *   - a head with unserved pieces and a working tracker announces at least every 4 s (+ a tick);
 *   - without a source nor a stream, a working tracker is asked at least every 4 s (+ a tick). */
START_TEST(test_random_schedules)
{
    const uint64_t step = 100 * MS;
    for (unsigned seed = 1; seed <= 2000; seed++) {
        srand(seed);
        crow_peer_policy_t p;
        crow_peer_policy_init(&p, &with_tracker, 0);
        bool joined = false, source = false, ended = false, failing = false;
        uint64_t last_dgram = 0, last_announce = 0, starved_since = 0, blind_since = 0, source_at = 0;
        bool have_dgram = false;
        crow_picker_needs_t needs = {0};
        bool head = rand() % 2;
        for (uint64_t t = 0; t < 90 * S; t += step) {
            int r = rand() % 1000;
            if (!joined && r < 50) {
                crow_peer_policy_joined(&p, t);
                joined = true;
            }
            if (!source && r >= 50 && r < 60) {
                crow_peer_policy_source_known(&p, t);
                source = true;
                source_at = t;
            }
            /* the stream: on for a while, off for a while */
            bool sending = joined && ((t / S / 7 + seed) % 3 != 0) && !ended;
            if (sending && rand() % 4) {
                crow_peer_policy_datagram(&p, t);
                last_dgram = t;
                if (!source)
                    source_at = t;
                have_dgram = source = true;
            }
            if (joined && !ended && r >= 60 && r < 62) {
                crow_peer_policy_stream_ended(&p, t);
                ended = true;
            }
            if (r >= 100 && r < 130)
                needs = (crow_picker_needs_t){.unserved = (uint32_t)(rand() % 3),
                                              .requests_out = rand() % 2 == 0,
                                              .rack_neighbours = rand() % 2 == 0};
            enum crow_mcast_report report = crow_peer_policy_mcast_report(&p);
            bool report_news = p.announced && report != p.reported && report != CROW_MCAST_REPORT_NONE;
            enum crow_stream_state before = p.stream;
            crow_peer_actions_t a;
            crow_peer_policy_tick(&p, t, &needs, head, &a);
            if (a.went_silent) {
                ck_assert_msg(have_dgram ? t - last_dgram >= 3 * S
                                         : t - source_at >= CROW_PEER_FIRST_DATAGRAM_NS,
                              "seed %u: silent too early", seed);
                ck_assert(before == CROW_STREAM_DUE || before == CROW_STREAM_ALIVE);
            }
            if (source && have_dgram && joined && !ended && t - last_dgram >= 3 * S + step)
                ck_assert_msg(p.stream == CROW_STREAM_SILENT, "seed %u t=%llu: not silent (%s)", seed,
                              (unsigned long long)t, crow_stream_state_name(p.stream));
            if (a.announce) {
                bool oneshot = p.announce_now || report_news; /* lit or dark: the seeder's to know */
                if (!oneshot && t >= p.next_announce)
                    oneshot = true; /* regular or retry */
                uint64_t gap = p.wait == CROW_WAIT_STREAM ? CROW_PEER_AWAIT_STREAM_NS : S;
                ck_assert_msg(oneshot || !last_announce || t - last_announce >= gap,
                              "seed %u: announces too close", seed);
                crow_peer_policy_announced(&p, t);
                last_announce = t;
                failing = rand() % 5 == 0;
                crow_peer_policy_tracker_answer(&p, t, !failing, 30);
            }
            bool starved = p.wait == CROW_WAIT_SOURCE && !failing;
            starved_since = starved ? (starved_since ? starved_since : t) : 0;
            if (starved && t - starved_since > CROW_PEER_URGENT_MAX_NS + step)
                ck_assert_msg(t - last_announce <= CROW_PEER_URGENT_MAX_NS + step,
                              "seed %u: starved, no announce", seed);
            bool blind = p.wait == CROW_WAIT_STREAM && !p.source_known && !failing;
            blind_since = blind ? (blind_since ? blind_since : t) : 0;
            if (blind && t - blind_since > CROW_PEER_URGENT_MAX_NS + step)
                ck_assert_msg(t - last_announce <= CROW_PEER_URGENT_MAX_NS + step,
                              "seed %u: blind, no announce", seed);
        }
    }
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("peer_policy");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, test_no_clock_without_a_source);
    tcase_add_test(tc, test_silence_counts_from_the_source_or_the_last_datagram);
    tcase_add_test(tc, test_no_wait_for_a_stream_nobody_sends);
    tcase_add_test(tc, test_a_peer_behind_a_head_that_brings_nothing_leads);
    tcase_add_test(tc, test_end_is_final_and_announces_unless_complete);
    tcase_add_test(tc, test_end_contradicted_by_the_stream);
    tcase_add_test(tc, test_urgent_announces_back_off_to_the_cap);
    tcase_add_test(tc, test_a_peer_waiting_for_its_chain_head_polls_only_past_its_patience);
    tcase_add_test(tc, test_reports_the_stream_lit_or_dark);
    tcase_add_test(tc, test_refreshes_its_need_while_the_stream_flows);
    tcase_add_test(tc, test_waiting_for_an_unknown_stream_polls_the_tracker);
    tcase_add_test(tc, test_tracker_failures_back_off_and_recover);
    tcase_add_test(tc, test_complete_stops_urgent_polling);
    tcase_add_test(tc, test_random_schedules);
    suite_add_tcase(s, tc);
    return s;
}
