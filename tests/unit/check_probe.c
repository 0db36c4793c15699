/* probe: the report and results-line codecs (round trips, malformed input refused), probe sessions
 * and the synthetic release rebuilt from a BEACON, the rate ladder, the receiver's step bookkeeping
 * driven by the real sender engine under a fake clock with dropped datagrams, and the per-rack
 * verdict (rack-wide uplink loss, single-host loss, flukes, the stop rule). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/byteorder.h"
#include "crowcast/error.h"
#include "crowcast/mcast_sender.h"
#include "crowcast/probe.h"
#include "check_main.h"

/* Field by field: struct padding is not part of a value. */
static void assert_report_eq(const crow_probe_report_t *a, const crow_probe_report_t *b)
{
    ck_assert_uint_eq(a->run, b->run);
    ck_assert_uint_eq(a->step, b->step);
    ck_assert_uint_eq(a->rate_bps, b->rate_bps);
    ck_assert_uint_eq(a->expected, b->expected);
    ck_assert_uint_eq(a->received, b->received);
    ck_assert_uint_eq(a->payload_bytes, b->payload_bytes);
    ck_assert_uint_eq(a->usec, b->usec);
    ck_assert_uint_eq(a->kernel_drops, b->kernel_drops);
}

static void assert_line_eq(const crow_probe_report_line_t *a, const crow_probe_report_line_t *b)
{
    ck_assert_int_eq(a->kind, b->kind);
    ck_assert_uint_eq(a->host, b->host);
    ck_assert_str_eq(a->rack, b->rack);
    ck_assert_uint_eq(a->group, b->group);
    ck_assert_uint_eq(a->port, b->port);
    assert_report_eq(&a->report, &b->report);
}

START_TEST(test_report_round_trip)
{
    crow_probe_report_t r = {.run = 65535,
                             .step = 63,
                             .rate_bps = 123456789,
                             .expected = 1000,
                             .received = 990,
                             .payload_bytes = 1393920,
                             .usec = 987654,
                             .kernel_drops = 7};
    char buf[256];
    long n = crow_probe_report_encode(&r, buf, sizeof buf);
    ck_assert_int_gt(n, 0);
    ck_assert_uint_eq(strlen(buf), (size_t)n);
    crow_probe_report_t back;
    ck_assert_int_eq(crow_probe_report_decode(buf, (size_t)n, &back), 0);
    assert_report_eq(&back, &r);
    ck_assert_int_eq(crow_probe_report_encode(&r, buf, 20), CROW_ESPACE);
}
END_TEST

static const char *const bad_reports[] = {
    "",
    "run=1&step=2&rate=3&expected=4&received=4&bytes=5&usec=6",                 /* drops missing */
    "run=1&step=2&rate=3&expected=4&received=4&bytes=5&usec=6&drops=0&drops=0", /* repeated */
    "run=1&step=2&rate=3&expected=4&received=4&bytes=5&usec=6&drops=0&extra=1", /* unknown key */
    "run=1&step=2&rate=3&expected=4&received=5&bytes=5&usec=6&drops=0",         /* received > expected */
    "run=1&step=64&rate=3&expected=4&received=4&bytes=5&usec=6&drops=0",        /* step out of range */
    "run=65536&step=2&rate=3&expected=4&received=4&bytes=5&usec=6&drops=0",     /* run out of range */
    "run=1&step=2&rate=-3&expected=4&received=4&bytes=5&usec=6&drops=0",        /* sign */
    "run=1&step=02&rate=3&expected=4&received=4&bytes=5&usec=6&drops=0",        /* leading zero */
    "run=1&step=2&rate=3&expected=4&received=4&bytes=5&usec=6&drops=",          /* empty value */
    "run=1&step=2&rate=3&expected=4&received=4&bytes=5&usec=6&drops=1x",        /* junk */
    "run=1&step=2&rate=18446744073709551616&expected=4&received=4&bytes=5&usec=6&drops=0", /* overflow */
    "run=1&step=2&rate=3&expected=4&received=4&bytes=5&usec=6&drops",                      /* no '=' */
    "run=1&step=2&rate=3%30&expected=4&received=4&bytes=5&usec=6&drops=0", /* escapes are not digits */
};

START_TEST(test_report_malformed)
{
    crow_probe_report_t r;
    const char *q = bad_reports[_i];
    ck_assert_msg(crow_probe_report_decode(q, strlen(q), &r) == CROW_EPARSE, "accepted: %s", q);
}
END_TEST

START_TEST(test_report_max_values)
{
    const char *q =
        "drops=0&usec=18446744073709551615&bytes=0&received=0&expected=18446744073709551615&rate=1&"
        "step=0&run=0";
    crow_probe_report_t r;
    ck_assert_int_eq(crow_probe_report_decode(q, strlen(q), &r), 0);
    ck_assert_uint_eq(r.usec, UINT64_MAX);
    ck_assert_uint_eq(r.expected, UINT64_MAX);
}
END_TEST

START_TEST(test_lines)
{
    crow_probe_report_line_t rl = {
        .kind = CROW_PROBE_REPORT_LINE_RECEIVER, .host = 0x0a010102, .group = 0xefff0101, .port = 7000};
    strcpy(rl.rack, "rack-1.a");
    char buf[512];
    long n = crow_probe_report_line_encode(&rl, buf, sizeof buf);
    ck_assert_str_eq(buf, "receiver&host=10.1.1.2&rack=rack-1.a&group=239.255.1.1:7000\n");
    crow_probe_report_line_t back;
    ck_assert_int_eq(crow_probe_report_line_decode(buf, (size_t)n - 1, &back), 0);
    assert_line_eq(&back, &rl);

    crow_probe_report_line_t rp = {
        .kind = CROW_PROBE_REPORT_LINE_REPORT,
        .host = 0x0a020301,
        .report = {.run = 7, .step = 3, .rate_bps = 60000000, .expected = 5000, .received = 4000}};
    strcpy(rp.rack, "r2");
    n = crow_probe_report_line_encode(&rp, buf, sizeof buf);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(buf[n - 1], '\n');
    ck_assert_int_eq(crow_probe_report_line_decode(buf, (size_t)n - 1, &back), 0);
    assert_line_eq(&back, &rp);
    ck_assert_int_eq(crow_probe_report_line_encode(&rp, buf, 40), CROW_ESPACE);
}
END_TEST

static const char *const bad_lines[] = {
    "",
    "peer&host=10.1.1.2&rack=r1&group=239.1.1.1:7000",                   /* unknown kind */
    "receiver=1&host=10.1.1.2&rack=r1&group=239.1.1.1:7000",             /* kind with a value */
    "receiver&host=10.1.1.2&rack=r1",                                    /* no group */
    "receiver&host=10.1.1.2&rack=r1&group=239.1.1.1:0",                  /* port 0 */
    "receiver&host=10.1.1.2&rack=r1&group=239.1.1.1:65536",              /* port too large */
    "receiver&host=10.1.1.2&rack=r1&group=239.1.1.1",                    /* no port */
    "receiver&host=10.1.1.256&rack=r1&group=239.1.1.1:7000",             /* bad address */
    "receiver&host=10.1.1.2&rack=r/1&group=239.1.1.1:7000",              /* bad rack name */
    "receiver&host=10.1.1.2&rack=&group=239.1.1.1:7000",                 /* empty rack */
    "receiver&host=10.1.1.2&host=10.1.1.3&rack=r1&group=239.1.1.1:7000", /* repeated */
    "receiver&rack=r1&group=239.1.1.1:7000",                             /* no host */
    "receiver&host=10.1.1.2&rack=r1&group=239.1.1.1:7000&step=1",        /* report field on a receiver */
    "report&host=10.1.1.2&rack=r1&group=239.1.1.1:7000",                 /* group on a report, no fields */
    "report&host=10.1.1.2&rack=r1&run=1&step=2&rate=3&expected=4&received=4&bytes=5&usec=6", /* short */
    "report&host=10.1.1.2&rack=r123456789012345678901234567890123&run=1&step=2&rate=3&expected=4&received=4&"
    "bytes=5&usec=6&drops=0", /* rack name too long */
};

START_TEST(test_lines_malformed)
{
    crow_probe_report_line_t l;
    const char *s = bad_lines[_i];
    ck_assert_msg(crow_probe_report_line_decode(s, strlen(s), &l) == CROW_EPARSE, "accepted: %s", s);
}
END_TEST

START_TEST(test_results_query)
{
    uint16_t run, step;
    ck_assert_int_eq(crow_probe_report_results_decode("step=5&run=300", 14, &run, &step), 0);
    ck_assert_uint_eq(run, 300);
    ck_assert_uint_eq(step, 5);
    const char *bad[] = {"",
                         "run=1",
                         "step=1",
                         "run=1&step=64",
                         "run=1&step=1&run=1",
                         "run=1&step=1&x=2",
                         "run=70000&step=1",
                         "run=a&step=1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(crow_probe_report_results_decode(bad[i], strlen(bad[i]), &run, &step) == CROW_EPARSE,
                      "%s", bad[i]);
}
END_TEST

START_TEST(test_sessions_and_manifests)
{
    uint16_t run, step;
    uint64_t s = crow_probe_session(0xbeef, 42);
    ck_assert(crow_probe_session_parse(s, &run, &step));
    ck_assert_uint_eq(run, 0xbeef);
    ck_assert_uint_eq(step, 42);
    ck_assert(!crow_probe_session_parse(0x1234567812345678ull, NULL, NULL));

    crow_manifest_t m, back;
    ck_assert_int_eq(crow_probe_manifest(&m, 9, 3, 5 * CROW_PROBE_PIECE_LENGTH + 1, 1408), 0);
    ck_assert_uint_eq(m.piece_count, 6);
    ck_assert_uint_eq(crow_dgram_session_of(m.release_id), crow_probe_session(9, 3));
    ck_assert_int_eq(crow_probe_manifest(&m, 9, 3, 0, 1408), CROW_EUSAGE);
    ck_assert_int_eq(crow_probe_manifest(&m, 9, 3, CROW_PROBE_MAX_STEP_BYTES + 1, 1408), CROW_EUSAGE);
    ck_assert_int_eq(crow_probe_manifest(&m, 9, 3, 1000, 100), CROW_EUSAGE);
    ck_assert_int_eq(crow_probe_manifest(&m, 9, 3, 3000000, 1408), 0);

    crow_dgram_beacon_t b = {.total_length = m.total_length,
                             .rate_bps = 1,
                             .piece_length = m.piece_length,
                             .chunk_size = m.chunk_size,
                             .piece_count = m.piece_count,
                             .passes = 1};
    memcpy(b.release_id, m.release_id, sizeof b.release_id);
    ck_assert_int_eq(crow_probe_manifest_from_beacon(&back, &b), 0);
    ck_assert_mem_eq(&back, &m, sizeof m);
    crow_dgram_beacon_t x = b;
    x.piece_count++;
    ck_assert_int_eq(crow_probe_manifest_from_beacon(&back, &x), CROW_EPROTO);
    x = b;
    x.piece_length = 1u << 18;
    ck_assert_int_eq(crow_probe_manifest_from_beacon(&back, &x), CROW_EPROTO);
    x = b;
    x.total_length = 1ull << 40;
    ck_assert_int_eq(crow_probe_manifest_from_beacon(&back, &x), CROW_EPROTO);
    x = b;
    x.release_id[20] = 1;
    ck_assert_int_eq(crow_probe_manifest_from_beacon(&back, &x), CROW_EPROTO);
    x = b;
    x.release_id[0] = 'Q';
    ck_assert_int_eq(crow_probe_manifest_from_beacon(&back, &x), CROW_ESESSION);
}
END_TEST

START_TEST(test_ladder_and_step_bytes)
{
    uint64_t r[CROW_PROBE_MAX_STEPS];
    size_t n = crow_probe_ladder(50000000, 100000000, 1.25, r, CROW_PROBE_MAX_STEPS);
    uint64_t want[] = {50000000, 62500000, 78125000, 97656250, 100000000};
    ck_assert_uint_eq(n, 5);
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(r[i], want[i]);
    ck_assert_uint_eq(crow_probe_ladder(80, 80, 2, r, 8), 1);
    ck_assert_uint_eq(crow_probe_ladder(90, 80, 2, r, 8), 0);
    ck_assert_uint_eq(crow_probe_ladder(1, 1000000, 1.01, r, 8), 8);
    ck_assert_uint_eq(crow_probe_ladder(1, 10, 1.0, r, 8), 0);
    /* 1 s at 14.68 Mbit/s with 1468-byte datagrams: 1250 datagrams of 1408 payload bytes. */
    ck_assert_uint_eq(crow_probe_step_bytes(14680000, 1.0, 1408, 28), 1250 * 1408);
    ck_assert_uint_eq(crow_probe_step_bytes(1, 0.001, 1408, 28), 1408);
}
END_TEST

/* Sends step `step` of run 5 through the real sender engine (fake clock, 1 ms ticks) into rx,
 * dropping DATA whose sequence number is in [drop_from, drop_to) and, with drop_ends, every END.
 * Returns how many reports came out; the last one in *out. */
static int run_step(crow_probe_rx_t *rx, uint16_t step, uint64_t bytes, uint64_t drop_from, uint64_t drop_to,
                    bool drop_ends, uint64_t *now, crow_probe_report_t *out, uint64_t *sent)
{
    crow_manifest_t m;
    ck_assert_int_eq(crow_probe_manifest(&m, 5, step, bytes, 1024), 0);
    crow_mcast_sender_config_t cfg;
    crow_mcast_sender_config_default(&cfg);
    cfg.rate_bps = 100000000;
    crow_mcast_sender_t s;
    ck_assert_int_eq(crow_mcast_sender_init(&s, &m, &cfg), 0);
    crow_mcast_sender_set_all_available(&s);
    uint8_t dgram[CROW_DGRAM_HEADER_LEN + 1024];
    int reports = 0;
    for (int guard = 0; guard < 1000000; guard++) {
        crow_mcast_tx_t tx;
        uint64_t wake;
        int st = crow_mcast_sender_next(&s, *now, &tx, &wake);
        if (st == CROW_MCAST_DONE)
            break;
        if (st == CROW_MCAST_WAIT) {
            *now = wake;
            continue;
        }
        memcpy(dgram, tx.bytes, tx.bytes_len);
        if (tx.type == CROW_DGRAM_DATA)
            memset(dgram + tx.bytes_len, 0, tx.length);
        bool drop = (tx.type == CROW_DGRAM_DATA && tx.seq >= drop_from && tx.seq < drop_to) ||
                    (tx.type == CROW_DGRAM_END && drop_ends);
        if (!drop)
            reports += crow_probe_rx_on_datagram(rx, 1, dgram, crow_mcast_tx_size(&tx), *now, out);
    }
    *sent = s.stats.data;
    crow_mcast_sender_dispose(&s);
    return reports;
}

START_TEST(test_rx_steps)
{
    crow_probe_rx_t rx;
    crow_probe_rx_init(&rx);
    uint64_t now = 1000000000ull, sent;
    crow_probe_report_t rep;
    /* Step 0: seq 0 is the BEACON; DATA seq 10..29 lost. The final END closes the step. */
    ck_assert_int_eq(run_step(&rx, 0, 200 * 1024, 10, 30, false, &now, &rep, &sent), 1);
    ck_assert_uint_eq(rep.step, 0);
    ck_assert_uint_eq(rep.run, 5);
    ck_assert_uint_eq(rep.expected, 200);
    ck_assert_uint_eq(sent, 200);
    ck_assert_uint_eq(rep.received, 180);
    ck_assert_uint_eq(rep.payload_bytes, 180 * 1024);
    ck_assert_uint_eq(rep.rate_bps, 100000000);
    ck_assert_uint_gt(rep.usec, 10000); /* 200 KiB at 100 Mbit/s: about 17 ms */
    ck_assert(!rx.active);

    /* Step 1 loses its ENDs and its tail: only the silence ends it. */
    ck_assert_int_eq(run_step(&rx, 1, 100 * 1024, 90, 1000, true, &now, &rep, &sent), 0);
    ck_assert(rx.active);
    ck_assert_int_eq(crow_probe_rx_poll(&rx, now + 100000000ull, 500000000ull, &rep), 0);
    ck_assert_int_eq(crow_probe_rx_poll(&rx, now + 600000000ull, 500000000ull, &rep), 1);
    ck_assert_uint_eq(rep.step, 1);
    ck_assert_uint_eq(rep.expected, 100);
    ck_assert_uint_eq(rep.received, 89); /* seq 0 is the BEACON, DATA 1..100: 90..100 lost */

    /* Step 2 loses its ENDs; step 3's BEACON ends it, then step 3 ends normally. */
    ck_assert_int_eq(run_step(&rx, 2, 50 * 1024, 0, 0, true, &now, &rep, &sent), 0);
    ck_assert_int_eq(run_step(&rx, 3, 50 * 1024, 0, 0, false, &now, &rep, &sent), 2);
    ck_assert_uint_eq(rep.step, 3);
    ck_assert_uint_eq(rep.received, 50);
    ck_assert_uint_eq(rx.stats.steps, 4);

    /* Stragglers of an old step, foreign and malformed datagrams change nothing. */
    uint64_t stale = rx.stats.stale;
    ck_assert_int_eq(run_step(&rx, 2, 10 * 1024, 0, 0, false, &now, &rep, &sent), 0);
    ck_assert_uint_gt(rx.stats.stale, stale);
    ck_assert(!rx.active);
    crow_dgram_t d = {.type = CROW_DGRAM_END, .session = 0x1111222233334444ull, .end = {.pass = 0}};
    uint8_t buf[CROW_DGRAM_CONTROL_MAX];
    long n = crow_dgram_encode(&d, buf, sizeof buf);
    ck_assert_int_eq(crow_probe_rx_on_datagram(&rx, 1, buf, (size_t)n, now, &rep), 0);
    ck_assert_uint_eq(rx.stats.foreign, 1);
    buf[0] ^= 0xff;
    ck_assert_int_eq(crow_probe_rx_on_datagram(&rx, 1, buf, (size_t)n, now, &rep), 0);
    ck_assert_uint_eq(rx.stats.malformed, 1);
    crow_probe_rx_dispose(&rx);
}
END_TEST

START_TEST(test_rx_refuses_bad_beacon)
{
    crow_probe_rx_t rx;
    crow_probe_rx_init(&rx);
    crow_dgram_t d = {.type = CROW_DGRAM_BEACON, .session = crow_probe_session(1, 0)};
    crow_put64(d.beacon.release_id, d.session);
    d.beacon.total_length = 1ull << 40; /* more than a receiver will map */
    d.beacon.piece_length = CROW_PROBE_PIECE_LENGTH;
    d.beacon.chunk_size = 1408;
    d.beacon.piece_count = (uint32_t)((d.beacon.total_length - 1) / CROW_PROBE_PIECE_LENGTH + 1);
    uint8_t buf[CROW_DGRAM_CONTROL_MAX];
    crow_probe_report_t rep;
    long n = crow_dgram_encode(&d, buf, sizeof buf);
    ck_assert_int_eq(crow_probe_rx_on_datagram(&rx, 1, buf, (size_t)n, 1, &rep), 0);
    ck_assert(!rx.active);
    ck_assert_uint_eq(rx.stats.refused, 1);
    crow_probe_rx_dispose(&rx);
}
END_TEST

/* Rack 0 (hosts 0, 1): both lose from step 4 on (a 40 Mbit/s uplink). Rack 1 (hosts 2, 3): host 3 alone loses
 * at step 1 (a fluke) and from step 4 on. Rack 2 (host 4): clean. 1000 datagrams per step. */
static crow_probe_table_t *make_table(void)
{
    crow_probe_table_t *t = calloc(1, sizeof *t);
    t->loss_ppm = 10000;
    t->nracks = 3;
    t->nhosts = 5;
    t->nsteps = 6;
    for (uint32_t r = 0; r < 3; r++)
        snprintf(t->racks[r], sizeof t->racks[r], "r%u", r);
    uint32_t rack_of[] = {0, 0, 1, 1, 2};
    for (uint32_t h = 0; h < 5; h++)
        t->hosts[h] = (crow_probe_host_t){.addr = 0x0a000001 + h, .rack = rack_of[h]};
    for (uint32_t s = 0; s < 6; s++) {
        t->steps[s] = (crow_probe_step_t){.rate_bps = 10000000 * (s + 1),
                                          .achieved_bps = 9900000 * (s + 1),
                                          .sent = 1000,
                                          .wire_bytes = 1468};
        for (uint32_t h = 0; h < 5; h++)
            t->cells[h][s] = (crow_probe_cell_t){.reported = true, .received = 1000, .usec = 1000000};
    }
    for (uint32_t s = 3; s < 6; s++) { /* 40 Mbit/s uplink: (s+1)*10 Mbit/s offered */
        t->cells[0][s].received = t->cells[1][s].received = 1000 * 4 / (s + 1);
        t->cells[0][s].kernel_drops = 2;
    }
    t->cells[3][1].received = 980;
    t->cells[3][4].received = 900;
    t->cells[3][5].reported = false;
    return t;
}

START_TEST(test_verdict)
{
    crow_probe_table_t *t = make_table();
    crow_probe_rack_verdict_t v;
    crow_probe_verdict(t, 0, &v);
    ck_assert_uint_eq(v.hosts, 2);
    ck_assert_int_eq(v.fail_step, 4);
    ck_assert_uint_eq(v.limit_bps, 9900000 * 4);
    ck_assert_uint_eq(v.fail_bps, 9900000 * 5);
    ck_assert_int_eq(v.where, CROW_PROBE_RACK);
    ck_assert_uint_eq(v.hosts_over, 2);
    ck_assert_uint_eq(v.worst_loss_ppm, 200000);
    ck_assert_uint_eq(v.kernel_drops, 2);
    ck_assert_uint_eq(v.flukes, 0);
    /* 800 datagrams of 1468 bytes in 1 s reached each host: 9.3952 Mbit/s. */
    ck_assert_uint_eq(v.delivered_bps, 9395200);

    crow_probe_verdict(t, 1, &v);
    ck_assert_int_eq(v.fail_step, 4);
    ck_assert_uint_eq(v.limit_bps, 9900000 * 4); /* step 1 was a fluke: step 3 passed above it */
    ck_assert_uint_eq(v.flukes, 1);
    ck_assert_int_eq(v.where, CROW_PROBE_HOST);
    ck_assert_uint_eq(v.hosts_over, 1);
    ck_assert_uint_eq(v.worst_host, 3);
    ck_assert_uint_eq(v.worst_loss_ppm, 100000);
    ck_assert_uint_eq(crow_probe_verdict_loss_ppm(t, 3, 5), 1000000);

    crow_probe_verdict(t, 2, &v);
    ck_assert_int_eq(v.fail_step, -1);
    ck_assert_int_eq(v.where, CROW_PROBE_CLEAN);
    ck_assert_uint_eq(v.limit_bps, 9900000 * 6);
    ck_assert(!crow_probe_verdict_all_failed(t));

    /* Rack 2 loses at the last step only: unconfirmed for stepping on, but the verdict names it. */
    t->cells[4][5].received = 500;
    crow_probe_verdict(t, 2, &v);
    ck_assert_int_eq(v.fail_step, 5);
    ck_assert_int_eq(v.where, CROW_PROBE_HOST); /* a rack of one host */
    ck_assert(!crow_probe_verdict_all_failed(t));
    t->cells[4][4].received = 500;
    ck_assert(crow_probe_verdict_all_failed(t));

    /* A rack without hosts is neither judged nor waited for. */
    t->nracks = 4;
    crow_probe_verdict(t, 3, &v);
    ck_assert_uint_eq(v.hosts, 0);
    ck_assert_int_eq(v.fail_step, -1);
    ck_assert(crow_probe_verdict_all_failed(t));
    free(t);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("probe");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_report_round_trip);
    tcase_add_loop_test(tc, test_report_malformed, 0, sizeof bad_reports / sizeof bad_reports[0]);
    tcase_add_test(tc, test_report_max_values);
    tcase_add_test(tc, test_lines);
    tcase_add_loop_test(tc, test_lines_malformed, 0, sizeof bad_lines / sizeof bad_lines[0]);
    tcase_add_test(tc, test_results_query);
    tcase_add_test(tc, test_sessions_and_manifests);
    tcase_add_test(tc, test_ladder_and_step_bytes);
    tcase_add_test(tc, test_rx_steps);
    tcase_add_test(tc, test_rx_refuses_bad_beacon);
    tcase_add_test(tc, test_verdict);
    suite_add_tcase(s, tc);
    return s;
}
