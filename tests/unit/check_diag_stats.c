/* diag_stats: a table of sequence-number arrivals with the loss, duplicates and reordering each must
 * give; streams split by receiving host (SLL2 interface, direction, capture source) and summed by
 * session, sender, group and host; BEACON/END; snaplen-cut datagrams; GSO batches; table limits;
 * hostile frames. */
#include <stdlib.h>
#include <string.h>

#include "crowcast/diag_stats.h"
#include "frame_fixture.h"
#include "check_main.h"

#define SESSION 0xa0a1a2a3a4a5a6a7ull

static const fx_addr_t SENDER = {.link = CROW_LINK_EN10MB,
                                 .src = FX_IP(10, 0, 0, 1),
                                 .dst = FX_IP(239, 255, 0, 1),
                                 .sport = 40000,
                                 .dport = 5000};

static uint8_t chunk[1408];

/* Encodes a datagram of `type` with sequence number seq into a UDP frame; returns the frame length. */
static size_t dgram_frame(uint8_t *frame, const fx_addr_t *a, uint8_t type, uint64_t seq, uint16_t flags)
{
    crow_dgram_t d = {.type = type, .flags = flags, .session = SESSION, .seq = seq};
    if (type == CROW_DGRAM_DATA) {
        d.piece = (uint32_t)(seq / 8);
        d.offset = (uint32_t)(seq % 8) * 1408;
        d.length = sizeof chunk;
        d.payload = chunk;
    } else if (type == CROW_DGRAM_BEACON) {
        d.beacon.rate_bps = 100000000;
        d.beacon.piece_count = 12;
        d.beacon.chunk_size = 1408;
    } else {
        d.end.last_data_seq = seq - 1;
    }
    uint8_t dg[2048];
    long n = crow_dgram_encode(&d, dg, sizeof dg);
    ck_assert_int_gt(n, 0);
    return fx_udp(frame, a, dg, (size_t)n);
}

static void feed_seq(crow_diag_stats_t *d, const fx_addr_t *a, uint64_t seq, uint16_t source, double ts)
{
    uint8_t frame[2048];
    size_t len = dgram_frame(frame, a, CROW_DGRAM_DATA, seq, 0);
    crow_diag_stats_feed(d, a->link, frame, len, len, source, ts);
}

typedef struct seq_case {
    const char *name;
    uint64_t seqs[12];
    size_t count;
    uint64_t expected, distinct, lost, duplicates, reordered;
} seq_case_t;

static const seq_case_t seq_cases[] = {
    {"in order", {0, 1, 2, 3}, 4, 4, 4, 0, 0, 0},
    {"one gap", {0, 1, 3, 4}, 4, 5, 4, 1, 0, 0},
    {"swap", {0, 2, 1, 3}, 4, 4, 4, 0, 0, 1},
    {"duplicate", {0, 1, 1, 2}, 4, 3, 3, 0, 1, 0},
    {"duplicate of a reordered one", {0, 2, 1, 1, 3}, 5, 4, 4, 0, 1, 1},
    {"capture starts mid-stream", {1000, 1001, 1003}, 3, 4, 3, 1, 0, 0},
    {"big gap", {5, 6, 7, 100}, 4, 96, 4, 92, 0, 0},
    {"backwards", {10, 9, 8}, 3, 3, 3, 0, 0, 2},
    {"duplicate at the window's edge", {0, 4095, 0}, 3, 4096, 2, 4094, 1, 0},
    /* Past the window a repeat can no longer be told from a straggler: counted as reordered. */
    {"past the window", {0, 4096, 0}, 3, 4097, 3, 4094, 0, 1},
    /* 1 and 4097 share a bit: advancing from 3000 to 4098 must clear it, so 4097 is new, not a duplicate. */
    {"window bits recycled", {1, 2, 3000, 4098, 4097}, 5, 4098, 5, 4093, 0, 1},
    {"bits recycled after a long jump", {1, 9000, 9000 - 4096 + 1, 9000}, 4, 9000, 3, 8997, 1, 1},
};

START_TEST(test_seq_table)
{
    const seq_case_t *c = &seq_cases[_i];
    crow_diag_stats_t d;
    ck_assert_int_eq(crow_diag_stats_init(&d, NULL), 0);
    for (size_t i = 0; i < c->count; i++)
        feed_seq(&d, &SENDER, c->seqs[i], 0, 1.0 + 0.001 * (double)i);
    ck_assert_uint_eq(d.stream_count, 1);
    const crow_diag_stats_counts_t *k = &d.streams[0].c;
    ck_assert_msg(k->expected == c->expected && k->distinct == c->distinct &&
                      crow_diag_stats_lost(k) == c->lost && k->duplicates == c->duplicates &&
                      k->reordered == c->reordered,
                  "%s: expected %llu distinct %llu lost %llu dup %llu reord %llu", c->name,
                  (unsigned long long)k->expected, (unsigned long long)k->distinct,
                  (unsigned long long)crow_diag_stats_lost(k), (unsigned long long)k->duplicates,
                  (unsigned long long)k->reordered);
    ck_assert_uint_eq(k->datagrams, c->count);
    ck_assert_uint_eq(k->data, c->count);
    ck_assert_uint_eq(k->bytes, c->count * (CROW_DGRAM_HEADER_LEN + sizeof chunk));
    crow_diag_stats_dispose(&d);
}
END_TEST

START_TEST(test_hosts_and_views)
{
    /* Two senders, two groups, seen on a bridge host with `-i any` (SLL2): interface 3 and 4 are two
     * receivers' ports (each misses different datagrams), interface 2 the sender's port (outgoing
     * copies). A second capture source (another host's file) sees group 1 once more. */
    crow_diag_stats_t d;
    ck_assert_int_eq(crow_diag_stats_init(&d, NULL), 0);
    fx_addr_t s1 = SENDER, s2 = SENDER;
    s2.src = FX_IP(10, 0, 0, 2);
    s2.dst = FX_IP(239, 255, 0, 2);
    s1.link = s2.link = CROW_LINK_SLL2;
    for (uint64_t seq = 0; seq < 100; seq++) {
        for (int32_t ifx = 2; ifx <= 4; ifx++) {
            fx_addr_t a = seq % 2 ? s1 : s2;
            a.ifindex = ifx;
            a.pkttype = ifx == 2 ? CROW_SLL_OUTGOING : CROW_SLL_HOST;
            if (ifx == 3 && seq >= 10 && seq < 20) /* host 3 misses 10 datagrams: 5 of each sender */
                continue;
            if (ifx == 4 && seq == 50) /* host 4 misses one of s2 */
                continue;
            feed_seq(&d, &a, seq / 2, 0, 1.0 + 0.01 * (double)seq);
        }
        if (seq % 2) {
            fx_addr_t e = s1;
            e.link = CROW_LINK_EN10MB;
            feed_seq(&d, &e, seq / 2, 1, 1.0 + 0.01 * (double)seq);
        }
    }
    ck_assert_uint_eq(d.stream_count, 2 * 3 + 1);
    crow_diag_stats_agg_t agg[16];
    size_t n = crow_diag_stats_aggregate(&d, CROW_DIAG_STATS_BY_HOST, agg, 16);
    ck_assert_uint_eq(n, 4);
    /* First appearance order: if2 (out), if3, if4, source 1. */
    ck_assert_int_eq(agg[0].key.ifindex, 2);
    ck_assert(agg[0].key.outgoing);
    ck_assert_uint_eq(crow_diag_stats_lost(&agg[0].c), 0);
    ck_assert_int_eq(agg[1].key.ifindex, 3);
    ck_assert_uint_eq(crow_diag_stats_lost(&agg[1].c), 10);
    ck_assert_uint_eq(agg[1].streams, 2);
    ck_assert_int_eq(agg[2].key.ifindex, 4);
    ck_assert_uint_eq(crow_diag_stats_lost(&agg[2].c), 1);
    ck_assert_uint_eq(agg[3].key.source, 1);
    ck_assert_uint_eq(agg[3].c.datagrams, 50);
    ck_assert_uint_eq(crow_diag_stats_lost(&agg[3].c), 0);

    n = crow_diag_stats_aggregate(&d, CROW_DIAG_STATS_BY_GROUP, agg, 16);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(agg[0].key.dst_ip, s2.dst); /* seq 0 is s2's */
    ck_assert_uint_eq(crow_diag_stats_lost(&agg[0].c), 5 + 1);
    ck_assert_uint_eq(crow_diag_stats_lost(&agg[1].c), 5);
    ck_assert_uint_eq(agg[1].streams, 4);

    n = crow_diag_stats_aggregate(&d, CROW_DIAG_STATS_BY_SENDER, agg, 16);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(agg[1].key.src_ip, s1.src);
    ck_assert_uint_eq(agg[1].c.datagrams, 50 * 3 - 5 + 50);

    n = crow_diag_stats_aggregate(&d, CROW_DIAG_STATS_BY_SESSION, agg, 16);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(agg[0].key.session, SESSION);
    ck_assert_uint_eq(crow_diag_stats_lost(&agg[0].c), 11);
    ck_assert_uint_eq(agg[0].c.datagrams, 7 * 50 - 11);
    ck_assert_double_eq_tol(agg[0].c.first_ts, 1.0, 1e-9);
    ck_assert_double_eq_tol(agg[0].c.last_ts, 1.99, 1e-9);

    /* A smaller cap leaves groups out rather than overflowing. */
    ck_assert_uint_eq(crow_diag_stats_aggregate(&d, CROW_DIAG_STATS_BY_HOST, agg, 2), 2);
    crow_diag_stats_counts_t all;
    crow_diag_stats_sum(&d, &all);
    ck_assert_uint_eq(all.datagrams, 7 * 50 - 11);
    crow_diag_stats_dispose(&d);
}
END_TEST

START_TEST(test_beacon_end)
{
    crow_diag_stats_t d;
    ck_assert_int_eq(crow_diag_stats_init(&d, NULL), 0);
    uint8_t frame[2048];
    size_t len = dgram_frame(frame, &SENDER, CROW_DGRAM_BEACON, 0, 0);
    crow_diag_stats_feed(&d, CROW_LINK_EN10MB, frame, len, len, 0, 1.0);
    feed_seq(&d, &SENDER, 1, 0, 1.1);
    feed_seq(&d, &SENDER, 2, 0, 1.2);
    len = dgram_frame(frame, &SENDER, CROW_DGRAM_END, 3, 0);
    crow_diag_stats_feed(&d, CROW_LINK_EN10MB, frame, len, len, 0, 1.3);
    ck_assert(d.streams[0].end_seen && !d.streams[0].final_seen);
    len = dgram_frame(frame, &SENDER, CROW_DGRAM_END, 5, CROW_DGRAM_F_FINAL);
    crow_diag_stats_feed(&d, CROW_LINK_EN10MB, frame, len, len, 0, 1.4);
    const crow_diag_stats_stream_t *s = &d.streams[0];
    ck_assert(s->beacon_seen && s->final_seen);
    ck_assert_uint_eq(s->beacon.piece_count, 12);
    ck_assert_uint_eq(s->c.beacons, 1);
    ck_assert_uint_eq(s->c.ends, 2);
    ck_assert_uint_eq(s->c.data, 2);
    ck_assert_uint_eq(crow_diag_stats_lost(&s->c), 1); /* seq 4: BEACON/END share the sender's sequence */
    crow_diag_stats_agg_t agg[2];
    ck_assert_uint_eq(crow_diag_stats_aggregate(&d, CROW_DIAG_STATS_BY_SESSION, agg, 2), 1);
    ck_assert(agg[0].beacon_seen && agg[0].final_seen);
    ck_assert_uint_eq(agg[0].beacon.rate_bps, 100000000);
    crow_diag_stats_dispose(&d);
}
END_TEST

START_TEST(test_snaplen_cut)
{
    /* DATA cut after its header still counts with its wire size; a cut BEACON does not; a cut before
     * the header ends is counted as cut when it starts with the magic, as other UDP otherwise. */
    crow_diag_stats_t d;
    ck_assert_int_eq(crow_diag_stats_init(&d, NULL), 0);
    uint8_t frame[2048];
    size_t len = dgram_frame(frame, &SENDER, CROW_DGRAM_DATA, 7, 0);
    size_t headers = 14 + 20 + 8;
    crow_diag_stats_feed(&d, CROW_LINK_EN10MB, frame, headers + 32, len, 0, 1.0);
    ck_assert_uint_eq(d.stream_count, 1);
    ck_assert_uint_eq(d.streams[0].c.data, 1);
    ck_assert_uint_eq(d.streams[0].c.bytes, 32 + sizeof chunk);
    crow_diag_stats_feed(&d, CROW_LINK_EN10MB, frame, headers + 20, len, 0, 1.0);
    ck_assert_uint_eq(d.totals.dgram_cut, 1);
    len = dgram_frame(frame, &SENDER, CROW_DGRAM_BEACON, 8, 0);
    crow_diag_stats_feed(&d, CROW_LINK_EN10MB, frame, len - 1, len, 0, 1.0);
    ck_assert_uint_eq(d.totals.dgram_cut, 2);
    ck_assert_uint_eq(d.streams[0].c.datagrams, 1);
    uint8_t junk[40] = "not crowcast at all, just bytes";
    len = fx_udp(frame, &SENDER, junk, sizeof junk);
    crow_diag_stats_feed(&d, CROW_LINK_EN10MB, frame, headers + 10, len, 0, 1.0);
    crow_diag_stats_feed(&d, CROW_LINK_EN10MB, frame, len, len, 0, 1.0);
    ck_assert_uint_eq(d.totals.udp_other, 2);
    ck_assert_uint_eq(d.totals.udp, 5);
    crow_diag_stats_dispose(&d);
}
END_TEST

START_TEST(test_gso_batch)
{
    /* A UDP GSO send captured before segmentation: three datagrams back to back in one packet, then
     * the same with junk after the second. */
    crow_diag_stats_t d;
    ck_assert_int_eq(crow_diag_stats_init(&d, NULL), 0);
    uint8_t batch[3 * 1440 + 16], frame[8192];
    size_t off = 0;
    for (uint64_t seq = 0; seq < 3; seq++) {
        crow_dgram_t dg = {.type = CROW_DGRAM_DATA,
                           .session = SESSION,
                           .seq = seq,
                           .piece = 0,
                           .offset = (uint32_t)seq * 1408,
                           .length = sizeof chunk,
                           .payload = chunk};
        off += (size_t)crow_dgram_encode(&dg, batch + off, sizeof batch - off);
    }
    size_t len = fx_udp(frame, &SENDER, batch, off);
    crow_diag_stats_feed(&d, CROW_LINK_EN10MB, frame, len, len, 0, 1.0);
    ck_assert_uint_eq(d.streams[0].c.datagrams, 3);
    ck_assert_uint_eq(d.totals.gso_packets, 1);
    memset(batch + 2 * 1440, 0x5a, 1440); /* the third is junk now */
    fx_addr_t other = SENDER;
    other.sport = 40001;
    len = fx_udp(frame, &other, batch, off);
    crow_diag_stats_feed(&d, CROW_LINK_EN10MB, frame, len, len, 0, 2.0);
    ck_assert_uint_eq(d.streams[1].c.datagrams, 2);
    ck_assert_uint_eq(d.totals.gso_packets, 2);
    ck_assert_uint_eq(d.totals.gso_tail_bad, 1);
    crow_diag_stats_dispose(&d);
}
END_TEST

START_TEST(test_stream_limit)
{
    crow_diag_stats_config_t cfg = {.max_streams = 2};
    crow_diag_stats_t d;
    ck_assert_int_eq(crow_diag_stats_init(&d, &cfg), 0);
    for (uint16_t port = 1; port <= 5; port++) {
        fx_addr_t a = SENDER;
        a.sport = port;
        feed_seq(&d, &a, 0, 0, 1.0);
        feed_seq(&d, &a, 1, 0, 1.0);
    }
    ck_assert_uint_eq(d.stream_count, 2);
    ck_assert_uint_eq(d.totals.streams_dropped, 6);
    crow_diag_stats_dispose(&d);
}
END_TEST

START_TEST(test_hostile_frames)
{
    /* Valid datagram frames with random bytes flipped and random lengths: every frame is counted
     * under some verdict and nothing reads outside its buffer (ASan build). */
    crow_diag_stats_t d;
    crow_diag_stats_config_t cfg = {.max_streams = 64, .flows = {.wire_ports = {6881}, .wire_port_count = 1}};
    ck_assert_int_eq(crow_diag_stats_init(&d, &cfg), 0);
    unsigned seed = 99;
    uint8_t frame[2048];
    for (int round = 0; round < 3000; round++) {
        fx_addr_t a = SENDER;
        a.link = round % 3 == 0 ? CROW_LINK_SLL2 : CROW_LINK_EN10MB;
        if (round % 5 == 0)
            a.dport = 6881;
        size_t len = round % 5 == 0 ? fx_tcp(frame, &a, (uint32_t)rand_r(&seed), 0, chunk, 200)
                                    : dgram_frame(frame, &a, (uint8_t)(1 + round % 3), (uint64_t)round, 0);
        int flips = rand_r(&seed) % 4;
        for (int f = 0; f < flips; f++)
            frame[(size_t)rand_r(&seed) % len] ^= (uint8_t)(1u << (rand_r(&seed) % 8));
        size_t caplen = round % 7 == 0 ? (size_t)rand_r(&seed) % len : len;
        uint8_t *cap = malloc(caplen ? caplen : 1);
        memcpy(cap, frame, caplen);
        crow_diag_stats_feed(&d, a.link, cap, caplen, len, (uint16_t)(round % 2), (double)round);
        free(cap);
    }
    ck_assert_uint_eq(d.totals.frames, 3000);
    uint64_t sum = 0;
    for (int s = 0; s < CROW_NF_COUNT_; s++)
        sum += d.totals.frame_status[s];
    ck_assert_uint_eq(sum, 3000);
    ck_assert_uint_gt(d.totals.frame_status[CROW_NF_OK], 1000);
    crow_diag_stats_dispose(&d);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("diag_stats");
    TCase *tc = tcase_create("engine");
    tcase_add_loop_test(tc, test_seq_table, 0, sizeof seq_cases / sizeof seq_cases[0]);
    tcase_add_test(tc, test_hosts_and_views);
    tcase_add_test(tc, test_beacon_end);
    tcase_add_test(tc, test_snaplen_cut);
    tcase_add_test(tc, test_gso_batch);
    tcase_add_test(tc, test_stream_limit);
    tcase_add_test(tc, test_hostile_frames);
    suite_add_tcase(s, tc);
    return s;
}
