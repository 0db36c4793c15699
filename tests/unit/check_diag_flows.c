/* diag_flows: a peer-wire conversation (handshakes, bitfield, requests, PIECE blocks larger than the
 * flow buffer split across segments) with its message counts, piece bytes and latencies; TCP
 * retransmissions, overlaps and holes; handshake detection; tracker announces; table limits; junk. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/diag_flows.h"
#include "crowcast/wire.h"
#include "frame_fixture.h"
#include "check_main.h"

static const fx_addr_t A_TO_B = {.link = CROW_LINK_EN10MB,
                                 .src = FX_IP(10, 0, 0, 1),
                                 .dst = FX_IP(10, 0, 0, 2),
                                 .sport = 50000,
                                 .dport = 6881};

/* Feeds one segment through the frame decoder, as crowcast-diag does. */
static void seg(crow_diag_flows_t *f, const fx_addr_t *a, uint32_t seq, uint8_t flags, const uint8_t *p,
                size_t n, double ts)
{
    static uint8_t frame[70000];
    size_t len = fx_tcp(frame, a, seq, flags, p, n);
    crow_netframe_t fr;
    ck_assert_int_eq(crow_netframe_parse(a->link, frame, len, len, &fr), CROW_NF_OK);
    crow_diag_flows_feed(f, &fr, 0, ts);
}

static size_t handshake(uint8_t *dst, uint8_t id_byte)
{
    crow_wire_handshake_t hs;
    memset(&hs, 0, sizeof hs);
    memset(hs.info_hash, 0xab, sizeof hs.info_hash);
    memset(hs.peer_id, id_byte, sizeof hs.peer_id);
    return (size_t)(crow_wire_encode_handshake(dst, &hs) - dst);
}

static size_t piece(uint8_t *dst, uint32_t index, uint32_t begin, uint32_t length)
{
    uint8_t *p = crow_wire_encode_piece_header(dst, index, begin, length);
    memset(p, 0x11, length);
    return CROW_WIRE_PIECE_HEADER_LEN + length;
}

static crow_diag_flows_config_t wire_cfg(void)
{
    return (crow_diag_flows_config_t){.wire_ports = {6881}, .wire_port_count = 1};
}

START_TEST(test_conversation)
{
    crow_diag_flows_t f;
    crow_diag_flows_config_t cfg = wire_cfg();
    ck_assert_int_eq(crow_diag_flows_init(&f, &cfg), 0);
    fx_addr_t ab = A_TO_B, ba = fx_reverse(A_TO_B);
    static uint8_t buf[40000];
    uint32_t sa = 100, sb = 5000;
    seg(&f, &ab, sa++, CROW_TCP_SYN, NULL, 0, 0.5);
    seg(&f, &ba, sb++, CROW_TCP_SYN | CROW_TCP_ACK, NULL, 0, 0.5);

    size_t n = handshake(buf, 'a');
    n = (size_t)(crow_wire_encode_state(buf + n, CROW_WIRE_INTERESTED) - buf);
    seg(&f, &ab, sa, CROW_TCP_ACK, buf, n, 0.6);
    sa += (uint32_t)n;
    seg(&f, &ab, sa - (uint32_t)n, CROW_TCP_ACK, buf, n, 0.61); /* retransmission */

    n = handshake(buf, 'b');
    uint8_t bits[2] = {0xff, 0xc0};
    uint8_t *p = crow_wire_encode_bitfield(buf + n, bits, 2);
    p = crow_wire_encode_state(p, CROW_WIRE_UNCHOKE);
    n = (size_t)(p - buf);
    seg(&f, &ba, sb, CROW_TCP_ACK, buf, n, 0.7);
    sb += (uint32_t)n;

    p = crow_wire_encode_request(buf, CROW_WIRE_REQUEST, 0, 0, 16384);
    p = crow_wire_encode_request(p, CROW_WIRE_REQUEST, 0, 16384, 16384);
    p = crow_wire_encode_request(p, CROW_WIRE_REQUEST, 1, 0, 1000);
    p = crow_wire_encode_request(p, CROW_WIRE_REQUEST, 2, 0, 1000);
    p = crow_wire_encode_request(p, CROW_WIRE_CANCEL, 2, 0, 1000);
    n = (size_t)(p - buf);
    /* Sent in two segments that split a request in the middle. */
    seg(&f, &ab, sa, CROW_TCP_ACK, buf, 20, 1.0);
    seg(&f, &ab, sa + 20, CROW_TCP_ACK, buf + 20, n - 20, 1.0);
    sa += (uint32_t)n;

    /* PIECE (0,0): 16397 bytes in 12 segments of 1400, and one that overlaps two of them. */
    n = piece(buf, 0, 0, 16384);
    for (size_t off = 0; off < n; off += 1400) {
        size_t k = n - off < 1400 ? n - off : 1400;
        seg(&f, &ba, sb + (uint32_t)off, CROW_TCP_ACK, buf + off, k, off == 0 ? 1.010 : 1.011);
        if (off == 2800) /* overlaps the end of this segment and the start of the next */
            seg(&f, &ba, sb + (uint32_t)off + 1300, CROW_TCP_ACK, buf + off + 1300, 300, 1.011);
    }
    sb += (uint32_t)n;
    /* PIECE (0,16384) and PIECE (1,0) (small: decoded whole) and a HAVE in one segment. */
    n = piece(buf, 0, 16384, 16384);
    n += piece(buf + n, 1, 0, 1000);
    n = (size_t)(crow_wire_encode_have(buf + n, 0) - buf);
    seg(&f, &ba, sb, CROW_TCP_ACK, buf, n, 1.030);
    sb += (uint32_t)n;

    ck_assert_uint_eq(f.conn_count, 1);
    const crow_diag_conn_t *c = &f.conns[0];
    ck_assert_uint_eq(c->kind, CROW_DIAG_CONN_WIRE);
    ck_assert_uint_eq(c->ip[0], A_TO_B.src);
    ck_assert(c->handshake[0] && c->handshake[1]);
    ck_assert_uint_eq(c->info_hash[0], 0xab);
    const crow_diag_dir_t *a = &c->dir[0], *b = &c->dir[1];
    ck_assert_uint_eq(a->msgs[CROW_DIAG_MSG_HANDSHAKE], 1);
    ck_assert_uint_eq(a->msgs[CROW_WIRE_INTERESTED], 1);
    ck_assert_uint_eq(a->msgs[CROW_WIRE_REQUEST], 4);
    ck_assert_uint_eq(a->msgs[CROW_WIRE_CANCEL], 1);
    ck_assert_uint_eq(a->retrans, 1);
    ck_assert_uint_eq(a->bytes, 68 + 5 + 5 * 17);
    ck_assert_uint_eq(b->msgs[CROW_DIAG_MSG_HANDSHAKE], 1);
    ck_assert_uint_eq(b->msgs[CROW_WIRE_BITFIELD], 1);
    ck_assert_uint_eq(b->msgs[CROW_WIRE_UNCHOKE], 1);
    ck_assert_uint_eq(b->msgs[CROW_WIRE_PIECE], 3);
    ck_assert_uint_eq(b->msgs[CROW_WIRE_HAVE], 1);
    ck_assert_uint_eq(b->piece_bytes, 16384 + 16384 + 1000);
    ck_assert_uint_eq(b->gaps + a->gaps + a->errors + b->errors, 0);
    ck_assert_uint_eq(b->unparsed_bytes, 0);
    ck_assert_uint_eq(b->bytes, sb - 5001);
    /* Requests A made: three answered (10, 30 and 30 ms), the cancelled one forgotten. */
    ck_assert_uint_eq(a->answered, 3);
    ck_assert_uint_eq(a->pending_count, 0);
    ck_assert_double_eq_tol(a->lat_min, 0.010, 1e-9);
    ck_assert_double_eq_tol(a->lat_max, 0.030, 1e-9);
    ck_assert_double_eq_tol(crow_diag_dir_latency(a), (0.010 + 0.030 + 0.030) / 3, 1e-9);
    crow_diag_flows_dispose(&f);
}
END_TEST

START_TEST(test_hole_and_resync)
{
    crow_diag_flows_t f;
    crow_diag_flows_config_t cfg = wire_cfg();
    ck_assert_int_eq(crow_diag_flows_init(&f, &cfg), 0);
    fx_addr_t ba = fx_reverse(A_TO_B);
    uint8_t buf[256];
    /* Joined mid-stream (no SYN): the first segment starts with a HAVE, so the boundary is found. */
    size_t n = (size_t)(crow_wire_encode_have(buf, 1) - buf);
    seg(&f, &ba, 1000, CROW_TCP_ACK, buf, n, 1.0);
    /* A hole of 500 bytes; the segment after it starts inside a message: unparsed. */
    memset(buf, 0x33, 100);
    seg(&f, &ba, 1000 + (uint32_t)n + 500, CROW_TCP_ACK, buf, 100, 1.1);
    /* Four zero bytes (a keep-alive, or block bytes) are not trusted as a boundary. */
    memset(buf, 0, 40);
    seg(&f, &ba, 1000 + (uint32_t)n + 600, CROW_TCP_ACK, buf, 40, 1.2);
    /* A segment starting with HAVE, HAVE resynchronises. */
    uint8_t *p = crow_wire_encode_have(buf, 2);
    p = crow_wire_encode_have(p, 3);
    seg(&f, &ba, 1000 + (uint32_t)n + 640, CROW_TCP_ACK, buf, (size_t)(p - buf), 1.3);
    /* A length prefix past any block crowcast serves: an error, the boundary is lost again. */
    uint8_t huge[9] = {0x7f, 0xff, 0xff, 0xff, 7, 0, 0, 0, 0};
    seg(&f, &ba, 1000 + (uint32_t)n + 658, CROW_TCP_ACK, huge, sizeof huge, 1.4);
    const crow_diag_dir_t *d = &f.conns[0].dir[0];
    ck_assert_uint_eq(d->msgs[CROW_WIRE_HAVE], 3);
    ck_assert_uint_eq(d->gaps, 1);
    ck_assert_uint_eq(d->unparsed_bytes, 140 + sizeof huge);
    ck_assert_uint_eq(d->errors, 1);
    crow_diag_flows_dispose(&f);
}
END_TEST

START_TEST(test_handshake_detection)
{
    /* No configured port: a segment starting with the handshake makes a wire connection, unless
     * detection is off; other TCP is left alone. */
    for (int off = 0; off < 2; off++) {
        crow_diag_flows_config_t cfg = {.no_handshake_detect = off};
        crow_diag_flows_t f;
        ck_assert_int_eq(crow_diag_flows_init(&f, &cfg), 0);
        fx_addr_t a = A_TO_B;
        a.dport = 7000;
        uint8_t buf[128];
        size_t n = handshake(buf, 'x');
        seg(&f, &a, 1, CROW_TCP_ACK, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18, 1.0);
        seg(&f, &a, 19, CROW_TCP_ACK, buf, n, 1.0);
        ck_assert_uint_eq(f.conn_count, off ? 0 : 1);
        if (!off)
            ck_assert_uint_eq(f.conns[0].dir[0].msgs[CROW_DIAG_MSG_HANDSHAKE], 1);
        crow_diag_flows_dispose(&f);
    }
}
END_TEST

static size_t announce(char *out, const char *event, const char *rack)
{
    char pct[61];
    for (int i = 0; i < 20; i++)
        memcpy(pct + 3 * i, "%ab", 3);
    pct[60] = 0;
    return (size_t)sprintf(out,
                           "GET /announce?info_hash=%s&peer_id=-CC0001-abcdefghijkl&port=6881&uploaded=0"
                           "&downloaded=0&left=4096%s%s%s%s HTTP/1.1\r\nHost: t\r\n\r\n",
                           pct, event ? "&event=" : "", event ? event : "", rack ? "&rack=" : "",
                           rack ? rack : "");
}

START_TEST(test_tracker)
{
    crow_diag_flows_config_t cfg = {.tracker_ports = {8080}, .tracker_port_count = 1};
    crow_diag_flows_t f;
    ck_assert_int_eq(crow_diag_flows_init(&f, &cfg), 0);
    fx_addr_t c = A_TO_B;
    c.dport = 8080;
    fx_addr_t t = fx_reverse(c);
    char req[1024];
    uint32_t sc = 10;
    seg(&f, &c, sc++, CROW_TCP_SYN, NULL, 0, 1.0);
    seg(&f, &t, 900, CROW_TCP_SYN | CROW_TCP_ACK, NULL, 0, 1.0);
    /* started, split in two segments; then completed and a scrape pipelined in one. */
    size_t n = announce(req, "started", "r12");
    seg(&f, &c, sc, CROW_TCP_ACK, (uint8_t *)req, 30, 1.0);
    seg(&f, &c, sc + 30, CROW_TCP_ACK, (uint8_t *)req + 30, n - 30, 1.0);
    sc += (uint32_t)n;
    seg(&f, &t, 901, CROW_TCP_ACK, (const uint8_t *)"HTTP/1.1 200 OK\r\n\r\nd8:intervali30ee", 34, 1.1);
    n = announce(req, "completed", "r12");
    n += (size_t)sprintf(req + n, "GET /scrape HTTP/1.1\r\n\r\nGET /stats HTTP/1.1\r\n\r\n");
    seg(&f, &c, sc, CROW_TCP_ACK, (uint8_t *)req, n, 2.0);
    sc += (uint32_t)n;
    /* An announce without its port, then garbage that is not HTTP. */
    n = (size_t)sprintf(req, "GET /announce?info_hash=x HTTP/1.1\r\n\r\nBREW coffee\x01\r\n\r\n");
    seg(&f, &c, sc, CROW_TCP_ACK, (uint8_t *)req, n, 3.0);
    sc += (uint32_t)n;
    /* After the error, a new segment starting with GET is parsed again: a second peer port. */
    n = announce(req, NULL, NULL);
    memcpy(strstr(req, "port=6881"), "port=6882", 9);
    seg(&f, &c, sc, CROW_TCP_ACK, (uint8_t *)req, n, 4.0);

    ck_assert_uint_eq(f.http_requests, 6);
    ck_assert_uint_eq(f.announces, 3);
    ck_assert_uint_eq(f.announce_errors, 1);
    ck_assert_uint_eq(f.scrapes, 1);
    ck_assert_uint_eq(f.other_requests, 1);
    ck_assert_uint_eq(f.http_errors, 1);
    ck_assert_uint_eq(f.announcer_count, 2);
    const crow_diag_announcer_t *a = &f.announcers[0];
    ck_assert_uint_eq(a->ip, A_TO_B.src);
    ck_assert_uint_eq(a->port, 6881);
    ck_assert_uint_eq(a->announces, 2);
    ck_assert_uint_eq(a->events[CROW_EVENT_STARTED], 1);
    ck_assert_uint_eq(a->events[CROW_EVENT_COMPLETED], 1);
    ck_assert_uint_eq(a->left, 4096);
    ck_assert_str_eq(a->rack, "r12");
    ck_assert_uint_eq(f.announcers[1].events[CROW_EVENT_NONE], 1);
    ck_assert_str_eq(f.announcers[1].rack, "");
    /* The tracker's answers are counted, not parsed. */
    ck_assert_uint_eq(f.conns[0].dir[1].bytes, 34);
    ck_assert_uint_eq(f.conns[0].dir[1].unparsed_bytes, 0);
    crow_diag_flows_dispose(&f);
}
END_TEST

START_TEST(test_limits)
{
    /* Pending requests beyond the table: the oldest are forgotten and counted. Connections beyond
     * max_conns are counted and ignored. */
    crow_diag_flows_config_t cfg = wire_cfg();
    cfg.max_conns = 1;
    crow_diag_flows_t f;
    ck_assert_int_eq(crow_diag_flows_init(&f, &cfg), 0);
    uint8_t buf[17 * 200];
    uint8_t *p = buf;
    for (uint32_t i = 0; i < CROW_DIAG_PENDING + 2; i++)
        p = crow_wire_encode_request(p, CROW_WIRE_REQUEST, i, 0, 16384);
    seg(&f, &A_TO_B, 1, CROW_TCP_ACK, buf, (size_t)(p - buf), 1.0);
    const crow_diag_dir_t *d = &f.conns[0].dir[0];
    ck_assert_uint_eq(d->msgs[CROW_WIRE_REQUEST], CROW_DIAG_PENDING + 2);
    ck_assert_uint_eq(d->pending_count, CROW_DIAG_PENDING);
    ck_assert_uint_eq(d->unanswered_dropped, 2);
    fx_addr_t other = A_TO_B;
    other.sport = 50001;
    seg(&f, &other, 1, CROW_TCP_ACK, buf, 17, 1.0);
    ck_assert_uint_eq(f.conn_count, 1);
    ck_assert_uint_eq(f.conns_dropped, 1);
    crow_diag_flows_dispose(&f);
}
END_TEST

START_TEST(test_junk_segments)
{
    /* Random payloads and sequence numbers on a wire port and a tracker port, some starting like a
     * handshake or a request: nothing crashes, reads out of bounds (ASan) or buffers without bound. */
    crow_diag_flows_config_t cfg = {.wire_ports = {6881},
                                    .wire_port_count = 1,
                                    .tracker_ports = {8080},
                                    .tracker_port_count = 1,
                                    .max_conns = 8};
    crow_diag_flows_t f;
    ck_assert_int_eq(crow_diag_flows_init(&f, &cfg), 0);
    unsigned seed = 7;
    static uint8_t buf[9000];
    uint32_t seq[4] = {0};
    for (int round = 0; round < 3000; round++) {
        fx_addr_t a = A_TO_B;
        a.dport = round % 3 ? 6881 : 8080;
        a.sport = (uint16_t)(50000 + rand_r(&seed) % 2);
        if (rand_r(&seed) % 2)
            a = fx_reverse(a);
        size_t n = (size_t)rand_r(&seed) % sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)rand_r(&seed);
        if (round % 4 == 0 && n > 68)
            handshake(buf, 'z');
        else if (round % 4 == 1 && n > 4)
            memcpy(buf, "GET ", 4);
        else if (round % 4 == 2 && n > 13)
            crow_wire_encode_piece_header(buf, 1, 2, (uint32_t)rand_r(&seed) % 70000);
        uint32_t *s = &seq[round % 4];
        *s += rand_r(&seed) % 8 ? (uint32_t)n : (uint32_t)rand_r(&seed);
        seg(&f, &a, *s, (uint8_t)(rand_r(&seed) % 16 == 0 ? CROW_TCP_SYN : CROW_TCP_ACK), buf, n,
            round * 0.01);
    }
    ck_assert_uint_le(f.conn_count, 8);
    for (uint32_t i = 0; i < f.conn_count; i++)
        for (int s = 0; s < 2; s++)
            ck_assert_uint_le(f.conns[i].dir[s].buf_len, CROW_DIAG_FLOW_BUF);
    crow_diag_flows_dispose(&f);
}
END_TEST

START_TEST(test_new_connection_same_ports)
{
    /* The same four-tuple reused: a new SYN with another initial sequence number restarts the
     * stream (its handshake is read again) instead of reading the new bytes as retransmissions. */
    crow_diag_flows_config_t cfg = wire_cfg();
    crow_diag_flows_t f;
    ck_assert_int_eq(crow_diag_flows_init(&f, &cfg), 0);
    uint8_t buf[128];
    size_t n = handshake(buf, 'q');
    uint32_t isn[2] = {900000, 1000};
    for (int i = 0; i < 2; i++) {
        seg(&f, &A_TO_B, isn[i], CROW_TCP_SYN, NULL, 0, 1.0 + i);
        seg(&f, &A_TO_B, isn[i], CROW_TCP_SYN, NULL, 0, 1.0 + i); /* retransmitted SYN */
        seg(&f, &A_TO_B, isn[i] + 1, CROW_TCP_ACK, buf, n, 1.0 + i);
    }
    const crow_diag_dir_t *d = &f.conns[0].dir[0];
    ck_assert_uint_eq(f.conn_count, 1);
    ck_assert_uint_eq(d->msgs[CROW_DIAG_MSG_HANDSHAKE], 2);
    ck_assert_uint_eq(d->retrans + d->gaps + d->errors, 0);
    crow_diag_flows_dispose(&f);
}
END_TEST

START_TEST(test_copies_elsewhere)
{
    /* -i any on a bridge: a segment is seen on the port it came in and the one it left by. The
     * connection is read from the interface it was first seen on; a second capture source's copy of
     * the same connection is ignored too. */
    crow_diag_flows_config_t cfg = wire_cfg();
    crow_diag_flows_t f;
    ck_assert_int_eq(crow_diag_flows_init(&f, &cfg), 0);
    fx_addr_t in = A_TO_B, out = A_TO_B;
    in.link = out.link = CROW_LINK_SLL2;
    in.ifindex = 3;
    out.ifindex = 4;
    out.pkttype = CROW_SLL_OUTGOING;
    uint8_t buf[64];
    uint8_t *p = crow_wire_encode_have(buf, 1);
    p = crow_wire_encode_have(p, 2);
    for (uint32_t i = 0; i < 2; i++) {
        seg(&f, &in, 100 + 9 * i, CROW_TCP_ACK, buf + 9 * i, 9, 1.0);
        seg(&f, &out, 100 + 9 * i, CROW_TCP_ACK, buf + 9 * i, 9, 1.0);
    }
    crow_netframe_t fr;
    uint8_t frame[256];
    size_t len = fx_tcp(frame, &in, 118, CROW_TCP_ACK, buf, 9);
    ck_assert_int_eq(crow_netframe_parse(in.link, frame, len, len, &fr), CROW_NF_OK);
    crow_diag_flows_feed(&f, &fr, 1, 2.0);
    ck_assert_uint_eq(f.conn_count, 1);
    ck_assert_int_eq(f.conns[0].ifindex, 3);
    ck_assert_uint_eq(f.conns[0].dir[0].msgs[CROW_WIRE_HAVE], 2);
    ck_assert_uint_eq(f.conns[0].dir[0].retrans, 0);
    ck_assert_uint_eq(f.copies, 3);
    crow_diag_flows_dispose(&f);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("diag_flows");
    TCase *tc = tcase_create("engine");
    tcase_add_test(tc, test_conversation);
    tcase_add_test(tc, test_hole_and_resync);
    tcase_add_test(tc, test_handshake_detection);
    tcase_add_test(tc, test_tracker);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_copies_elsewhere);
    tcase_add_test(tc, test_new_connection_same_ports);
    tcase_add_test(tc, test_junk_segments);
    suite_add_tcase(s, tc);
    return s;
}
