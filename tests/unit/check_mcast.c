/* mcast: the sender schedule and the receiver bookkeeping wired together in memory under a fake
 * clock. The "network" copies each datagram into a buffer (header from the sender, payload from a
 * synthetic release), the receiver's DATA events are written to an in-memory disk, and completed
 * pieces are "hashed" by comparing them with the release. */
#include <stdlib.h>
#include <string.h>

#include "crowcast/dgram_auth.h"
#include "crowcast/error.h"
#include "crowcast/mcast_receiver.h"
#include "crowcast/mcast_sender.h"
#include "check_main.h"

#define NS_PER_S  1000000000ull
#define NS_PER_MS 1000000ull
#define SOURCE    0x7f0000010001ull /* 127.0.0.1:1 */

/* 80 pieces of 64 KiB and a short 81st piece: 3787 chunks of CROW_DEFAULT_CHUNK_SIZE. Only the
 * fields the engines read are filled. */
static crow_manifest_t test_manifest(uint32_t pieces, uint32_t tail)
{
    crow_manifest_t m;
    memset(&m, 0, sizeof m);
    m.piece_length = 64 * 1024;
    m.piece_count = pieces + (tail ? 1 : 0);
    m.total_length = (uint64_t)pieces * m.piece_length + tail;
    m.chunk_size = CROW_DEFAULT_CHUNK_SIZE;
    for (int i = 0; i < CROW_SHA256_LEN; i++)
        m.release_id[i] = (uint8_t)(i * 11 + 1);
    return m;
}

static uint8_t release_byte(uint64_t pos)
{
    return (uint8_t)(pos * 131 + (pos >> 9));
}

/* One sender, one receiver, a disk, a clock, and what went over the wire. */
struct rig {
    crow_manifest_t m;
    crow_mcast_sender_t s;
    crow_mcast_receiver_t r;
    uint8_t *disk;
    uint64_t now;
    /* Sent DATA datagrams: sequence number and chunk number, in order. */
    uint64_t *data_seq;
    uint32_t *data_chunk;
    size_t ndata, cap;
    size_t ends_seen, final_ends, beacons_seen;
    bool stream_done_seen;
    bool unwired;     /* run() only drives the sender (pacing tests) */
    uint64_t wake_ns; /* the sender's last WAIT deadline */
    uint64_t wire;    /* bytes on the wire: every datagram plus IPv4 and UDP headers */
};

static void rig_init(struct rig *g, crow_manifest_t m, const crow_mcast_sender_config_t *cfg)
{
    memset(g, 0, sizeof *g);
    g->m = m;
    ck_assert_int_eq(crow_mcast_sender_init(&g->s, &g->m, cfg), 0);
    ck_assert_int_eq(crow_mcast_receiver_init(&g->r, &g->m), 0);
    g->disk = calloc(1, m.total_length);
    ck_assert_ptr_nonnull(g->disk);
}

static void rig_dispose(struct rig *g)
{
    crow_mcast_sender_dispose(&g->s);
    crow_mcast_receiver_dispose(&g->r);
    free(g->disk);
    free(g->data_seq);
    free(g->data_chunk);
}

static uint32_t chunk_of(const crow_manifest_t *m, uint32_t piece, uint32_t offset)
{
    return piece * crow_manifest_piece_chunks(m, 0) + offset / m->chunk_size;
}

/* The wire: header from the sender, payload read from the release. */
static size_t assemble(const struct rig *g, const crow_mcast_tx_t *tx, uint8_t *buf)
{
    memcpy(buf, tx->bytes, tx->bytes_len);
    if (tx->type == CROW_DGRAM_DATA) {
        uint64_t base = (uint64_t)tx->piece * g->m.piece_length + tx->offset;
        for (uint32_t i = 0; i < tx->length; i++)
            buf[tx->bytes_len + i] = release_byte(base + i);
    }
    return crow_mcast_tx_size(tx);
}

/* The receiver's side of the application: write, hash, verify. */
static void deliver(struct rig *g, const uint8_t *buf, size_t len)
{
    crow_mcast_rx_event_t ev;
    ck_assert_int_eq(crow_mcast_receiver_on_datagram(&g->r, SOURCE, buf, len, &ev), 0);
    switch (ev.kind) {
    case CROW_MCAST_RX_DATA: {
        uint64_t base = (uint64_t)ev.piece * g->m.piece_length + ev.offset;
        memcpy(g->disk + base, ev.payload, ev.length);
        if (!ev.piece_complete)
            break;
        uint64_t start = (uint64_t)ev.piece * g->m.piece_length;
        uint32_t size = crow_manifest_piece_size(&g->m, ev.piece);
        bool good = true;
        for (uint32_t i = 0; i < size && good; i++)
            good = g->disk[start + i] == release_byte(start + i);
        ck_assert(good);
        ck_assert_int_eq(crow_mcast_receiver_mark_verified(&g->r, ev.piece), 0);
        break;
    }
    case CROW_MCAST_RX_END:
        g->ends_seen++;
        if (ev.stream_done) {
            g->final_ends++;
            g->stream_done_seen = true;
        }
        break;
    case CROW_MCAST_RX_BEACON:
        g->beacons_seen++;
        break;
    default:
        break;
    }
}

static void record(struct rig *g, const crow_mcast_tx_t *tx)
{
    if (tx->type != CROW_DGRAM_DATA)
        return;
    if (g->ndata == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 4096;
        g->data_seq = realloc(g->data_seq, g->cap * sizeof *g->data_seq);
        g->data_chunk = realloc(g->data_chunk, g->cap * sizeof *g->data_chunk);
        ck_assert(g->data_seq && g->data_chunk);
    }
    g->data_seq[g->ndata] = tx->seq;
    g->data_chunk[g->ndata] = chunk_of(&g->m, tx->piece, tx->offset);
    g->ndata++;
}

/* Runs the sender until it is done or the clock reaches `until`, delivering everything in batches
 * of 16 (the I/O layer's shape). Returns the last state. */
/* The next datagram the sender hands out, the clock moved over its waits; false once it is done. */
static bool next_sent(struct rig *g, crow_mcast_tx_t *tx)
{
    uint64_t wake;
    int state;
    while ((state = crow_mcast_sender_next(&g->s, g->now, tx, &wake)) == CROW_MCAST_WAIT)
        g->now = wake;
    return state == CROW_MCAST_SEND;
}

static int run(struct rig *g, uint64_t until)
{
    crow_mcast_tx_t batch[16];
    uint8_t buf[CROW_DGRAM_HEADER_LEN + CROW_DEFAULT_CHUNK_SIZE];
    for (int guard = 0; guard < 10000000; guard++) {
        crow_mcast_batch_end_t end;
        size_t n = crow_mcast_sender_batch(&g->s, g->now, batch, 16, &end);
        for (size_t i = 0; i < n; i++)
            g->wire += crow_mcast_tx_size(&batch[i]) + CROW_MCAST_IPV4_UDP_OVERHEAD;
        for (size_t i = 0; i < n && !g->unwired; i++) {
            record(g, &batch[i]);
            deliver(g, buf, assemble(g, &batch[i], buf));
        }
        if (end.state == CROW_MCAST_DONE)
            return end.state;
        if (end.state == CROW_MCAST_WAIT) {
            ck_assert_uint_gt(end.wake_ns, g->now);
            g->wake_ns = end.wake_ns;
            if (end.wake_ns >= until)
                return end.state;
            g->now = end.wake_ns;
        }
    }
    ck_abort_msg("sender never finished");
    return -1;
}

static crow_mcast_sender_config_t fast_config(void)
{
    crow_mcast_sender_config_t cfg;
    crow_mcast_sender_config_default(&cfg);
    cfg.rate_bps = 10ull * 1000 * 1000 * 1000;
    return cfg;
}

START_TEST(test_no_loss_completes)
{
    struct rig g;
    crow_mcast_sender_config_t cfg = fast_config();
    rig_init(&g, test_manifest(80, 5000), &cfg);
    crow_mcast_sender_set_all_available(&g.s);
    ck_assert_int_eq(run(&g, UINT64_MAX), CROW_MCAST_DONE);
    uint64_t chunks = crow_manifest_total_chunks(&g.m);
    ck_assert_uint_eq(chunks, 80 * 47 + 4);
    ck_assert_uint_eq(g.ndata, chunks);
    ck_assert(crow_mcast_receiver_done(&g.r));
    ck_assert_uint_eq(crow_mcast_receiver_missing_chunks(&g.r), 0);
    ck_assert(crow_mcast_receiver_stream_done(&g.r));
    ck_assert(g.stream_done_seen);
    ck_assert_uint_eq(g.r.stats.chunks, chunks);
    ck_assert_uint_eq(g.r.stats.pieces_verified, g.m.piece_count);
    ck_assert_uint_eq(g.r.stats.redundant + g.r.stats.malformed + g.r.stats.foreign + g.r.stats.out_of_range,
                      0);
    ck_assert_uint_eq(crow_mcast_receiver_source_count(&g.r), 1);
    const crow_mcast_source_stats_t *src = crow_mcast_receiver_sources(&g.r, 0);
    ck_assert_uint_eq(src->source, SOURCE);
    ck_assert_uint_eq(crow_mcast_source_lost(src), 0);
    ck_assert_uint_eq(src->received, g.s.stats.datagrams);
    ck_assert_uint_eq(g.s.stats.payload_bytes, g.m.total_length);
    ck_assert_uint_eq(crow_mcast_receiver_frontier(&g.r), g.m.piece_count);
    ck_assert_uint_eq(crow_mcast_receiver_frontier_offset(&g.r), g.m.total_length);
    ck_assert_ptr_null(crow_mcast_receiver_sources(&g.r, 1));
    const crow_dgram_beacon_t *b = crow_mcast_receiver_beacon(&g.r);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(b->rate_bps, cfg.rate_bps);
    ck_assert_uint_eq(b->passes, 1);
    uint64_t cursor = 0;
    crow_mcast_range_t ranges[4];
    ck_assert_uint_eq(crow_mcast_receiver_missing(&g.r, g.m.piece_count, &cursor, ranges, 4), 0);
    rig_dispose(&g);
}
END_TEST

/* Chunks (by chunk number) that no DATA datagram delivered, given the test loss (ppm, seed). */
static uint8_t *expected_missing(const struct rig *g, uint32_t ppm, uint64_t seed, uint64_t *count)
{
    uint64_t chunks = crow_manifest_total_chunks(&g->m);
    uint8_t *got = calloc(chunks, 1);
    for (size_t i = 0; i < g->ndata; i++)
        if (!crow_mcast_test_loss_drops(seed, ppm, g->data_seq[i]))
            got[g->data_chunk[i]] = 1;
    *count = 0;
    for (uint64_t c = 0; c < chunks; c++) {
        got[c] = !got[c];
        *count += got[c];
    }
    return got;
}

START_TEST(test_one_percent_loss_counted_exactly)
{
    struct rig g;
    crow_mcast_sender_config_t cfg = fast_config();
    rig_init(&g, test_manifest(80, 5000), &cfg);
    crow_mcast_receiver_set_test_loss(&g.r, 10000, 42);
    crow_mcast_sender_set_all_available(&g.s);
    ck_assert_int_eq(run(&g, UINT64_MAX), CROW_MCAST_DONE);

    uint64_t dropped = g.r.stats.dropped_on_purpose;
    ck_assert_uint_ge(dropped, 15); /* ~1% of 3764 */
    ck_assert_uint_le(dropped, 80);
    ck_assert_uint_eq(crow_mcast_receiver_missing_chunks(&g.r), dropped);
    ck_assert_uint_eq(crow_mcast_source_lost(crow_mcast_receiver_sources(&g.r, 0)), dropped);
    ck_assert(!crow_mcast_receiver_done(&g.r));
    ck_assert(crow_mcast_receiver_stream_done(&g.r));

    /* The listing names exactly the dropped chunks, as maximal runs inside pieces. */
    uint64_t want;
    uint8_t *missing = expected_missing(&g, 10000, 42, &want);
    ck_assert_uint_eq(want, dropped);
    uint64_t listed = 0, cursor = 0;
    crow_mcast_range_t ranges[7];
    size_t n;
    while ((n = crow_mcast_receiver_missing(&g.r, g.m.piece_count, &cursor, ranges, 7)) > 0) {
        for (size_t i = 0; i < n; i++) {
            ck_assert_uint_lt(ranges[i].piece, g.m.piece_count);
            ck_assert_uint_eq(ranges[i].offset % g.m.chunk_size, 0);
            ck_assert_uint_le(ranges[i].offset + ranges[i].length,
                              crow_manifest_piece_size(&g.m, ranges[i].piece));
            ck_assert_uint_gt(ranges[i].length, 0);
            for (uint32_t off = ranges[i].offset; off < ranges[i].offset + ranges[i].length;
                 off += g.m.chunk_size) {
                ck_assert(missing[chunk_of(&g.m, ranges[i].piece, off)]);
                ck_assert(!crow_mcast_receiver_has_chunk(&g.r, ranges[i].piece, off));
                listed++;
            }
        }
    }
    ck_assert_uint_eq(listed, dropped);
    /* Pieces with a dropped chunk stay unverified; all others verified. */
    for (uint32_t p = 0; p < g.m.piece_count; p++) {
        bool hole = false;
        for (uint32_t c = 0; c < crow_manifest_piece_chunks(&g.m, p); c++)
            hole |= missing[chunk_of(&g.m, p, c * g.m.chunk_size)];
        ck_assert_int_eq(crow_mcast_receiver_piece_verified(&g.r, p), !hole);
    }
    free(missing);
    rig_dispose(&g);
}
END_TEST

START_TEST(test_second_pass_fills_gaps)
{
    struct rig g;
    crow_mcast_sender_config_t cfg = fast_config();
    cfg.passes = 2;
    rig_init(&g, test_manifest(80, 5000), &cfg);
    crow_mcast_receiver_set_test_loss(&g.r, 30000, 7);
    crow_mcast_sender_set_all_available(&g.s);
    /* Stop after the first pass: the receiver saw its END but not a final one. */
    while (g.ends_seen == 0) {
        ck_assert_int_eq(run(&g, g.now + 1), CROW_MCAST_WAIT);
        g.now = g.wake_ns;
    }
    uint64_t after_first = crow_mcast_receiver_missing_chunks(&g.r);
    ck_assert_uint_gt(after_first, 50);
    ck_assert(!crow_mcast_receiver_stream_done(&g.r));
    ck_assert_int_eq(run(&g, UINT64_MAX), CROW_MCAST_DONE);
    /* A chunk is missing only if both of its datagrams were dropped. */
    uint64_t want;
    free(expected_missing(&g, 30000, 7, &want));
    ck_assert_uint_eq(crow_mcast_receiver_missing_chunks(&g.r), want);
    ck_assert_uint_lt(want, after_first / 10);
    ck_assert_uint_eq(g.r.stats.redundant + g.r.stats.chunks, g.ndata - g.r.stats.dropped_on_purpose);
    ck_assert_uint_eq(g.r.stats.chunks, crow_manifest_total_chunks(&g.m) - want);
    ck_assert(crow_mcast_receiver_stream_done(&g.r));
    ck_assert_uint_eq(g.final_ends, cfg.end_copies);
    rig_dispose(&g);
}
END_TEST

START_TEST(test_ends_after_each_pass)
{
    struct rig g;
    crow_mcast_sender_config_t cfg = fast_config();
    cfg.passes = 3;
    cfg.end_copies = 2;
    rig_init(&g, test_manifest(3, 100), &cfg);
    crow_mcast_sender_set_all_available(&g.s);
    uint32_t per_pass = (uint32_t)crow_manifest_total_chunks(&g.m);
    /* Walk datagram by datagram and check the exact order: after each pass's last DATA, its ENDs. */
    uint32_t data_in_pass = 0, pass = 0, ends = 0;
    uint64_t seq = 0, wake, last_data = 0;
    crow_mcast_tx_t tx;
    uint8_t buf[CROW_DGRAM_HEADER_LEN + CROW_DEFAULT_CHUNK_SIZE];
    while (next_sent(&g, &tx)) {
        ck_assert_uint_eq(tx.seq, seq++);
        crow_dgram_t d;
        size_t len = assemble(&g, &tx, buf);
        ck_assert_int_eq(crow_dgram_decode(buf, len, &d), 0);
        ck_assert_uint_eq(d.seq, tx.seq);
        if (tx.type == CROW_DGRAM_DATA) {
            ck_assert_uint_eq(ends, 0);
            ck_assert_uint_eq(d.flags, pass > 0 ? CROW_DGRAM_F_REPEAT : 0);
            ck_assert_int_eq(crow_dgram_check_data(&d, &g.m), 0);
            data_in_pass++;
            last_data = tx.seq;
        } else if (tx.type == CROW_DGRAM_END) {
            ck_assert_uint_eq(data_in_pass, per_pass);
            ck_assert_uint_eq(d.end.pass, pass);
            ck_assert_uint_eq(d.end.last_data_seq, last_data);
            ck_assert_uint_eq(d.flags, pass == 2 ? CROW_DGRAM_F_FINAL : 0);
            if (++ends == 2) {
                ends = 0;
                data_in_pass = 0;
                pass++;
            }
        } else {
            ck_assert_int_eq(crow_dgram_check_beacon(&d, &g.m), 0);
            ck_assert_uint_eq(d.beacon.pass, pass);
            ck_assert_uint_eq(d.beacon.passes, 3);
        }
        deliver(&g, buf, len);
    }
    ck_assert_uint_eq(pass, 3);
    ck_assert_uint_eq(g.s.stats.ends, 6);
    ck_assert_uint_eq(g.s.stats.pass, 3);
    /* The receiver drops no END (each has its own sequence number); only the last two are final. */
    ck_assert_uint_eq(g.ends_seen, 6);
    ck_assert_uint_eq(g.final_ends, 2);
    ck_assert_uint_eq(g.r.stats.redundant, 2 * per_pass);
    ck_assert_int_eq(crow_mcast_sender_next(&g.s, g.now + NS_PER_S, &tx, &wake), CROW_MCAST_DONE);
    rig_dispose(&g);
}
END_TEST

/* The first pass can start at any piece and wrap around (a restarted seeder sends what the swarm
 * lacks first); the next starts at piece 0. */
START_TEST(test_the_first_pass_starts_anywhere)
{
    struct rig g;
    crow_mcast_sender_config_t cfg = fast_config();
    cfg.first_piece = 2;
    cfg.passes = 2;
    rig_init(&g, test_manifest(3, 100), &cfg);
    crow_mcast_sender_set_all_available(&g.s);
    crow_mcast_tx_t tx;
    uint32_t order[16], n = 0;
    while (next_sent(&g, &tx))
        if (tx.type == CROW_DGRAM_DATA && tx.offset == 0 && n < 16)
            order[n++] = tx.piece; /* each piece's first chunk */
    uint32_t pieces = g.m.piece_count;
    ck_assert_uint_eq(n, 2 * pieces);
    for (uint32_t i = 0; i < pieces; i++) {
        ck_assert_uint_eq(order[i], (2 + i) % pieces);
        ck_assert_uint_eq(order[pieces + i], i);
    }
    rig_dispose(&g);
}
END_TEST

/* A pass ended early (it reaches nobody): the next datagrams are its ENDs, final, and nothing
 * follows, even with passes left; ending a finished sender changes nothing. */
START_TEST(test_end_now_closes_the_pass)
{
    struct rig g;
    crow_mcast_sender_config_t cfg = fast_config();
    cfg.passes = 3;
    cfg.end_copies = 2;
    rig_init(&g, test_manifest(3, 100), &cfg);
    crow_mcast_sender_set_all_available(&g.s);
    crow_mcast_tx_t tx;
    for (unsigned data = 0; data < 5;) {
        ck_assert(next_sent(&g, &tx));
        data += tx.type == CROW_DGRAM_DATA;
    }
    ck_assert(crow_mcast_sender_data_left(&g.s));
    crow_mcast_sender_end_now(&g.s);
    ck_assert(!crow_mcast_sender_data_left(&g.s));
    unsigned ends = 0;
    uint8_t buf[CROW_DGRAM_HEADER_LEN + CROW_DEFAULT_CHUNK_SIZE];
    while (next_sent(&g, &tx)) {
        ck_assert_int_ne(tx.type, CROW_DGRAM_DATA);
        if (tx.type == CROW_DGRAM_END) {
            crow_dgram_t d;
            ck_assert_int_eq(crow_dgram_decode(buf, assemble(&g, &tx, buf), &d), 0);
            ck_assert_uint_eq(d.flags, CROW_DGRAM_F_FINAL);
            ck_assert_uint_eq(d.end.pass, 0);
            ends++;
        }
    }
    ck_assert_uint_eq(ends, 2);
    ck_assert_uint_eq(g.s.stats.pass, 1);
    crow_mcast_sender_end_now(&g.s);
    uint64_t wake;
    ck_assert_int_eq(crow_mcast_sender_next(&g.s, g.now, &tx, &wake), CROW_MCAST_DONE);
    rig_dispose(&g);
}
END_TEST

/* The datagrams until the sender waits with nothing but BEACONs to send (or is done): per type, and
 * the pieces whose first chunk went out, in order. */
struct sent_run {
    unsigned data, beacons, ends, final_ends, catch_up_beacons;
    uint32_t first_chunks[16];
    unsigned nfirst;
};

static int send_until_idle(struct rig *g, struct sent_run *out)
{
    memset(out, 0, sizeof *out);
    uint8_t buf[CROW_DGRAM_HEADER_LEN + CROW_DEFAULT_CHUNK_SIZE];
    for (;;) {
        crow_mcast_tx_t tx;
        uint64_t wake;
        int state = crow_mcast_sender_next(&g->s, g->now, &tx, &wake);
        if (state == CROW_MCAST_DONE ||
            (state == CROW_MCAST_WAIT && !crow_mcast_sender_data_left(&g->s) && g->s.ends_left == 0))
            return state;
        if (state == CROW_MCAST_WAIT) {
            g->now = wake;
            continue;
        }
        crow_dgram_t d;
        ck_assert_int_eq(crow_dgram_decode(buf, assemble(g, &tx, buf), &d), 0);
        out->data += tx.type == CROW_DGRAM_DATA;
        out->beacons += tx.type == CROW_DGRAM_BEACON;
        out->catch_up_beacons += tx.type == CROW_DGRAM_BEACON && (d.flags & CROW_DGRAM_F_CATCH_UP);
        out->ends += tx.type == CROW_DGRAM_END;
        out->final_ends += tx.type == CROW_DGRAM_END && (d.flags & CROW_DGRAM_F_FINAL);
        if (tx.type == CROW_DGRAM_DATA && tx.offset == 0 && out->nfirst < 16)
            out->first_chunks[out->nfirst++] = tx.piece;
    }
}

/* With catch_up the last pass holds its final ENDs once everything went out: pieces resent then go
 * out again (each once, however often asked), in piece order; close_pass sends the ENDs. Without it,
 * a resend is ignored and the ENDs follow the pass at once. */
START_TEST(test_catch_up_resends_before_the_final_end)
{
    struct rig g;
    crow_mcast_sender_config_t cfg = fast_config();
    cfg.catch_up = true;
    cfg.end_copies = 2;
    rig_init(&g, test_manifest(3, 100), &cfg);
    crow_mcast_sender_set_all_available(&g.s);
    struct sent_run r;
    ck_assert_int_eq(send_until_idle(&g, &r), CROW_MCAST_WAIT);
    uint32_t chunks = crow_manifest_piece_chunks(&g.m, 0);
    ck_assert_uint_eq(r.data, 3 * chunks + 1);
    ck_assert_uint_eq(r.ends, 0);
    ck_assert(crow_mcast_sender_drained(&g.s));
    ck_assert_uint_ge(r.catch_up_beacons, 1);
    ck_assert_uint_eq(r.catch_up_beacons, r.beacons);

    crow_mcast_sender_resend(&g.s, 3);
    crow_mcast_sender_resend(&g.s, 1);
    crow_mcast_sender_resend(&g.s, 1);
    crow_mcast_sender_resend(&g.s, 99); /* out of range */
    ck_assert(!crow_mcast_sender_drained(&g.s));
    ck_assert_int_eq(send_until_idle(&g, &r), CROW_MCAST_WAIT);
    ck_assert_uint_eq(r.nfirst, 2);
    ck_assert_uint_eq(r.first_chunks[0], 1);
    ck_assert_uint_eq(r.first_chunks[1], 3);
    ck_assert_uint_eq(r.data, chunks + 1);
    ck_assert_uint_eq(r.ends, 0);
    ck_assert_uint_eq(g.s.stats.resent, 2);
    ck_assert(crow_mcast_sender_drained(&g.s));

    crow_mcast_sender_close_pass(&g.s);
    ck_assert_int_eq(send_until_idle(&g, &r), CROW_MCAST_DONE);
    ck_assert_uint_eq(r.data, 0);
    ck_assert_uint_eq(r.final_ends, 2);
    crow_mcast_sender_resend(&g.s, 2); /* done: nothing more */
    ck_assert(!crow_mcast_sender_data_left(&g.s));
    rig_dispose(&g);

    /* Drained, then ended early (the swarm is complete): the ENDs go out, final. */
    cfg.passes = 1;
    rig_init(&g, test_manifest(2, 100), &cfg);
    crow_mcast_sender_set_all_available(&g.s);
    ck_assert_int_eq(send_until_idle(&g, &r), CROW_MCAST_WAIT);
    ck_assert(crow_mcast_sender_drained(&g.s));
    crow_mcast_sender_end_now(&g.s);
    ck_assert(!crow_mcast_sender_drained(&g.s));
    ck_assert_int_eq(send_until_idle(&g, &r), CROW_MCAST_DONE);
    ck_assert_uint_eq(r.final_ends, 2);
    rig_dispose(&g);

    /* Two passes: only the last one holds; a resend in the first is ignored. */
    cfg.passes = 2;
    rig_init(&g, test_manifest(2, 100), &cfg);
    crow_mcast_sender_set_all_available(&g.s);
    crow_mcast_sender_resend(&g.s, 0);
    ck_assert_int_eq(send_until_idle(&g, &r), CROW_MCAST_WAIT);
    ck_assert_uint_eq(r.ends, 2);
    ck_assert_uint_eq(r.final_ends, 0);
    ck_assert_uint_eq(r.data, 2 * (2 * chunks + 1));
    ck_assert_uint_eq(g.s.stats.resent, 0);
    rig_dispose(&g);

    /* By need segments (one piece each here): the pieces taken, in send order, each once. */
    cfg.passes = 1;
    rig_init(&g, test_manifest(3, 100), &cfg);
    crow_mcast_sender_set_all_available(&g.s);
    ck_assert_int_eq(send_until_idle(&g, &r), CROW_MCAST_WAIT);
    uint32_t taken[4];
    crow_need_map_t segs = {{1u << 3 | 1u << 1}}, again = {{1u << 1}};
    ck_assert_uint_eq(crow_mcast_sender_resend_segments(&g.s, &segs, taken, 4), 2);
    ck_assert_uint_eq(taken[0], 1);
    ck_assert_uint_eq(taken[1], 3);
    ck_assert_uint_eq(crow_mcast_sender_resend_segments(&g.s, &again, taken, 4), 0); /* pending already */
    ck_assert_int_eq(send_until_idle(&g, &r), CROW_MCAST_WAIT);
    ck_assert_uint_eq(r.nfirst, 2);
    ck_assert_uint_eq(r.first_chunks[0], 1);
    ck_assert_uint_eq(r.first_chunks[1], 3);
    rig_dispose(&g);

    /* Without catch_up nothing is held and nothing resent. */
    cfg = fast_config();
    cfg.end_copies = 2;
    rig_init(&g, test_manifest(2, 100), &cfg);
    crow_mcast_sender_set_all_available(&g.s);
    crow_mcast_tx_t tx;
    while (next_sent(&g, &tx) && tx.type != CROW_DGRAM_END)
        crow_mcast_sender_resend(&g.s, 0);
    ck_assert_uint_eq(g.s.stats.resent, 0);
    ck_assert(!crow_mcast_sender_drained(&g.s));
    rig_dispose(&g);
}
END_TEST

/* A scope (a delta's changed pieces): every pass sends only its pieces, the first from its first
 * piece on and wrapping; an empty one sends no DATA, only its ENDs; with catch_up, pieces
 * outside it are resent when asked (a host that came lacking everything). */
START_TEST(test_scope_sends_only_the_wanted_pieces)
{
    struct rig g;
    crow_mcast_sender_config_t cfg = fast_config();
    cfg.end_copies = 2;
    cfg.passes = 2;
    cfg.first_piece = 5;
    rig_init(&g, test_manifest(10, 0), &cfg); /* 10 pieces: a segment each */
    crow_mcast_sender_set_all_available(&g.s);
    crow_need_map_t scope = {{1u << 2 | 1u << 7}};
    crow_mcast_sender_want_segments(&g.s, &scope);
    ck_assert_uint_eq(g.s.stats.wanted, 2);
    struct sent_run r;
    ck_assert_int_eq(send_until_idle(&g, &r), CROW_MCAST_DONE);
    uint32_t chunks = crow_manifest_piece_chunks(&g.m, 0);
    ck_assert_uint_eq(r.data, 2 * 2 * chunks);
    ck_assert_uint_eq(r.nfirst, 4);
    ck_assert_uint_eq(r.first_chunks[0], 7); /* from piece 5 on, wrapping */
    ck_assert_uint_eq(r.first_chunks[1], 2);
    ck_assert_uint_eq(r.first_chunks[2], 2); /* the second pass from the lowest */
    ck_assert_uint_eq(r.first_chunks[3], 7);
    ck_assert_uint_eq(r.ends, 4);
    ck_assert_uint_eq(r.final_ends, 2);
    ck_assert_uint_eq(g.s.stats.payload_bytes, 4ull * g.m.piece_length);
    rig_dispose(&g);

    /* Nobody lacks anything: the ENDs, no DATA. */
    cfg.passes = 1;
    rig_init(&g, test_manifest(10, 0), &cfg);
    crow_mcast_sender_set_all_available(&g.s);
    crow_need_map_t none = {{0}};
    crow_mcast_sender_want_segments(&g.s, &none);
    ck_assert_int_eq(send_until_idle(&g, &r), CROW_MCAST_DONE);
    ck_assert_uint_eq(r.data, 0);
    ck_assert_uint_eq(r.final_ends, 2);
    rig_dispose(&g);

    /* Catching up outside the scope: an empty scope drains at once; a resend of piece 4 goes out. */
    cfg.catch_up = true;
    rig_init(&g, test_manifest(10, 0), &cfg);
    crow_mcast_sender_set_all_available(&g.s);
    crow_mcast_sender_want_segments(&g.s, &none);
    ck_assert_int_eq(send_until_idle(&g, &r), CROW_MCAST_WAIT);
    ck_assert(crow_mcast_sender_drained(&g.s));
    ck_assert_uint_eq(r.data, 0);
    crow_need_map_t four = {{1u << 4}};
    ck_assert_uint_eq(crow_mcast_sender_resend_segments(&g.s, &four, NULL, 0), 1);
    ck_assert_int_eq(send_until_idle(&g, &r), CROW_MCAST_WAIT);
    ck_assert_uint_eq(r.nfirst, 1);
    ck_assert_uint_eq(r.first_chunks[0], 4);
    ck_assert(crow_mcast_sender_drained(&g.s));
    crow_mcast_sender_close_pass(&g.s);
    ck_assert_int_eq(send_until_idle(&g, &r), CROW_MCAST_DONE);
    ck_assert_uint_eq(r.final_ends, 2);
    rig_dispose(&g);
}
END_TEST

/* Over one simulated second in steady state, the sender puts rate/8 bytes on the wire (datagrams
 * plus IP/UDP overhead), within 1%. */
static const uint64_t pacing_rates[] = {10ull * 1000 * 1000, 900ull * 1000 * 1000, 1000ull * 1000 * 1000};

START_TEST(test_pacing)
{
    uint64_t rate = pacing_rates[_i];
    struct rig g;
    crow_mcast_sender_config_t cfg;
    crow_mcast_sender_config_default(&cfg);
    cfg.rate_bps = rate;
    cfg.passes = 1000;
    rig_init(&g, test_manifest(16, 0), &cfg);
    g.unwired = true;
    crow_mcast_sender_set_all_available(&g.s);
    ck_assert_int_eq(run(&g, NS_PER_S), CROW_MCAST_WAIT);
    uint64_t before = g.wire;
    ck_assert_int_eq(run(&g, 2 * NS_PER_S), CROW_MCAST_WAIT);
    uint64_t sent = g.wire - before;
    ck_assert_uint_eq(g.s.stats.wire_bytes, g.wire);
    uint64_t want = rate / 8;
    ck_assert_msg(sent >= want - want / 100 && sent <= want + want / 100, "rate %llu: %llu bytes, want %llu",
                  (unsigned long long)rate, (unsigned long long)sent, (unsigned long long)want);
    /* The first second starts with a full bucket: at most one burst more. */
    ck_assert_uint_le(before, want + cfg.burst_bytes);
    rig_dispose(&g);
}
END_TEST

/* A sender woken up to 8 ms late at every wake (a loaded host) keeps its rate with the depth that
 * crow_mcast_sender_burst_for gives it, within 2 %; with the old fixed 16-datagram bucket it lost
 * more than a tenth. */
static uint64_t sent_waking_late(uint64_t rate, uint32_t burst)
{
    struct rig g;
    crow_mcast_sender_config_t cfg;
    crow_mcast_sender_config_default(&cfg);
    cfg.rate_bps = rate;
    cfg.passes = 1000;
    cfg.burst_bytes = burst;
    rig_init(&g, test_manifest(16, 0), &cfg);
    g.unwired = true;
    crow_mcast_sender_set_all_available(&g.s);
    crow_mcast_tx_t batch[16];
    uint32_t lcg = 12345;
    while (g.now < 2 * NS_PER_S) {
        crow_mcast_batch_end_t end;
        size_t n = crow_mcast_sender_batch(&g.s, g.now, batch, 16, &end);
        for (size_t i = 0; i < n; i++)
            g.wire += crow_mcast_tx_size(&batch[i]) + CROW_MCAST_IPV4_UDP_OVERHEAD;
        if (end.state == CROW_MCAST_WAIT) {
            lcg = lcg * 1103515245u + 12345u;
            g.now = end.wake_ns + (uint64_t)(lcg >> 8) % (8 * NS_PER_MS);
        }
    }
    uint64_t wire = g.wire;
    rig_dispose(&g);
    return wire;
}

START_TEST(test_pacing_keeps_its_rate_when_woken_late)
{
    uint64_t rate = 95ull * 1000 * 1000, want = rate / 8 * 2;
    uint32_t dgram = CROW_DGRAM_HEADER_LEN + CROW_DEFAULT_CHUNK_SIZE + CROW_MCAST_IPV4_UDP_OVERHEAD;
    uint64_t deep = sent_waking_late(rate, crow_mcast_sender_burst_for(rate, dgram));
    ck_assert_msg(deep >= want - want / 50 && deep <= want + want / 50, "%llu bytes, want %llu",
                  (unsigned long long)deep, (unsigned long long)want);
    uint64_t shallow = sent_waking_late(rate, 16 * dgram);
    ck_assert_msg(shallow < want - want / 10, "%llu bytes: the test does not wake late enough",
                  (unsigned long long)shallow);
    /* The depth is 10 ms of sending, within 16 and 256 datagrams. */
    ck_assert_uint_eq(crow_mcast_sender_burst_for(95ull * 1000 * 1000, dgram), 95ull * 1000 * 1000 / 800);
    ck_assert_uint_eq(crow_mcast_sender_burst_for(1000000, dgram), 16 * dgram);
    ck_assert_uint_eq(crow_mcast_sender_burst_for(100ull * 1000 * 1000 * 1000, dgram), 256 * dgram);
}
END_TEST

START_TEST(test_beacon_cadence)
{
    struct rig g;
    crow_mcast_sender_config_t cfg;
    crow_mcast_sender_config_default(&cfg);
    cfg.rate_bps = 10ull * 1000 * 1000;
    cfg.beacon_interval_ns = 50 * NS_PER_MS;
    cfg.passes = 10;
    rig_init(&g, test_manifest(16, 0), &cfg);
    crow_mcast_sender_set_all_available(&g.s);
    crow_mcast_tx_t tx;
    uint64_t wake, last = 0;
    size_t beacons = 0, data = 0;
    /* 10 Mbit/s: one 1468-byte datagram per ~1.2 ms, so a beacon is at most that late. */
    while (g.now < NS_PER_S) {
        int state = crow_mcast_sender_next(&g.s, g.now, &tx, &wake);
        ck_assert_int_ne(state, CROW_MCAST_DONE);
        if (state == CROW_MCAST_WAIT) {
            g.now = wake;
            continue;
        }
        if (tx.type == CROW_DGRAM_BEACON) {
            if (beacons == 0)
                ck_assert_uint_eq(data, 0); /* the session is announced first */
            else
                ck_assert(g.now - last >= cfg.beacon_interval_ns &&
                          g.now - last < cfg.beacon_interval_ns + 2 * NS_PER_MS);
            last = g.now;
            beacons++;
        } else {
            data++;
        }
    }
    ck_assert_uint_ge(beacons, 19);
    ck_assert_uint_le(beacons, 21);
    ck_assert_uint_eq(g.s.stats.beacons, beacons);
    rig_dispose(&g);
}
END_TEST

START_TEST(test_streaming_availability)
{
    struct rig g;
    crow_mcast_sender_config_t cfg = fast_config();
    cfg.beacon_interval_ns = 10 * NS_PER_MS;
    rig_init(&g, test_manifest(8, 0), &cfg);
    crow_mcast_tx_t tx;
    uint64_t wake;
    uint32_t per_piece = crow_manifest_piece_chunks(&g.m, 0);
    /* Nothing available: a beacon, then wait for the next one. */
    ck_assert_int_eq(crow_mcast_sender_next(&g.s, g.now, &tx, &wake), CROW_MCAST_SEND);
    ck_assert_uint_eq(tx.type, CROW_DGRAM_BEACON);
    ck_assert_int_eq(crow_mcast_sender_next(&g.s, g.now, &tx, &wake), CROW_MCAST_WAIT);
    ck_assert_uint_eq(wake, g.now + cfg.beacon_interval_ns);
    /* Piece 5 verifies first: it streams; then 2 and 7 arrive mid-piece: the lower one goes next. */
    crow_mcast_sender_set_available(&g.s, 5);
    crow_mcast_sender_set_available(&g.s, 5);
    crow_mcast_sender_set_available(&g.s, 99); /* out of range: ignored */
    uint32_t order[8], norder = 0, chunks_in_piece = 0;
    uint32_t current = UINT32_MAX;
    for (int step = 0; step < 100000 && g.s.stats.pieces_sent < 8; step++) {
        int st = crow_mcast_sender_next(&g.s, g.now, &tx, &wake);
        if (st == CROW_MCAST_WAIT) {
            /* Waiting with pieces pending is only pacing; with none, the test feeds more. */
            if (g.s.pending.count == 0) {
                ck_assert_uint_eq(chunks_in_piece, 0);
                if (norder == 3)
                    crow_mcast_sender_set_all_available(&g.s);
            }
            g.now = wake;
            continue;
        }
        ck_assert_int_eq(st, CROW_MCAST_SEND);
        if (tx.type != CROW_DGRAM_DATA)
            continue;
        if (tx.piece != current) {
            ck_assert_uint_eq(chunks_in_piece, 0);
            order[norder++] = current = tx.piece;
        }
        if (tx.piece == 5 && chunks_in_piece == 3) {
            crow_mcast_sender_set_available(&g.s, 7);
            crow_mcast_sender_set_available(&g.s, 2);
        }
        chunks_in_piece = (chunks_in_piece + 1) % per_piece;
    }
    static const uint32_t want[8] = {5, 2, 7, 0, 1, 3, 4, 6};
    ck_assert_uint_eq(norder, 8);
    ck_assert_mem_eq(order, want, sizeof want);
    ck_assert_uint_eq(g.s.stats.data, 8 * per_piece);
    rig_dispose(&g);
}
END_TEST

/* Encodes a DATA datagram for chunk `chunk` of piece 0 with sequence number seq. */
static size_t data_wire(const crow_manifest_t *m, uint32_t piece, uint32_t chunk, uint64_t seq, uint8_t *buf)
{
    static uint8_t payload[CROW_DEFAULT_CHUNK_SIZE];
    uint32_t off = chunk * m->chunk_size;
    uint32_t left = crow_manifest_piece_size(m, piece) - off;
    crow_dgram_t d = {.type = CROW_DGRAM_DATA,
                      .session = crow_dgram_session_of(m->release_id),
                      .seq = seq,
                      .piece = piece,
                      .offset = off,
                      .length = (uint16_t)(left < m->chunk_size ? left : m->chunk_size),
                      .payload = payload};
    long n = crow_dgram_encode(&d, buf, CROW_DGRAM_HEADER_LEN + CROW_DEFAULT_CHUNK_SIZE);
    ck_assert_int_gt(n, 0);
    return (size_t)n;
}

START_TEST(test_duplicates_and_reordering)
{
    crow_manifest_t m = test_manifest(4, 0);
    crow_mcast_receiver_t r;
    ck_assert_int_eq(crow_mcast_receiver_init(&r, &m), 0);
    uint8_t buf[CROW_DGRAM_HEADER_LEN + CROW_DEFAULT_CHUNK_SIZE];
    crow_mcast_rx_event_t ev;
    /* Source A: sequence 10, 11, 13, 12 (late), 12 (duplicate), 11 (duplicate), 16: 14 and 15 lost.
     * A duplicate number is counted, and its chunk is judged like any other (here: already held). */
    static const uint64_t seqs[] = {10, 11, 13, 12, 12, 11, 16};
    static const int kinds[] = {CROW_MCAST_RX_DATA, CROW_MCAST_RX_DATA, CROW_MCAST_RX_DATA,
                                CROW_MCAST_RX_DATA, CROW_MCAST_RX_NONE, CROW_MCAST_RX_NONE,
                                CROW_MCAST_RX_DATA};
    for (size_t i = 0; i < 7; i++) {
        size_t len = data_wire(&m, 0, (uint32_t)seqs[i] - 10, seqs[i], buf);
        ck_assert_int_eq(crow_mcast_receiver_on_datagram(&r, 1, buf, len, &ev), 0);
        ck_assert_int_eq(ev.kind, kinds[i]);
    }
    /* Source B sends the same chunks under its own numbering: no duplicates, but redundant chunks;
     * it starts at 4 and then 3 arrives late (before its first number). */
    size_t len = data_wire(&m, 0, 0, 4, buf);
    ck_assert_int_eq(crow_mcast_receiver_on_datagram(&r, 2, buf, len, &ev), 0);
    ck_assert_int_eq(ev.kind, CROW_MCAST_RX_NONE);
    len = data_wire(&m, 0, 1, 3, buf);
    ck_assert_int_eq(crow_mcast_receiver_on_datagram(&r, 2, buf, len, &ev), 0);

    ck_assert_uint_eq(crow_mcast_receiver_source_count(&r), 2);
    const crow_mcast_source_stats_t *a = crow_mcast_receiver_sources(&r, 0);
    ck_assert_uint_eq(a->source, 1);
    ck_assert_uint_eq(a->first_seq, 10);
    ck_assert_uint_eq(a->highest_seq, 16);
    ck_assert_uint_eq(a->received, 5);
    ck_assert_uint_eq(a->duplicates, 2);
    ck_assert_uint_eq(a->reordered, 1);
    ck_assert_uint_eq(crow_mcast_source_lost(a), 2);
    const crow_mcast_source_stats_t *b = crow_mcast_receiver_sources(&r, 1);
    ck_assert_uint_eq(b->first_seq, 3);
    ck_assert_uint_eq(b->received, 2);
    ck_assert_uint_eq(b->reordered, 1);
    ck_assert_uint_eq(crow_mcast_source_lost(b), 0);
    ck_assert_uint_eq(r.stats.duplicates, 2);
    ck_assert_uint_eq(r.stats.redundant, 4);
    ck_assert_uint_eq(r.stats.chunks, 5);
    ck_assert_uint_eq(r.stats.data, 9);

    /* Far ahead, then a number older than the window: stale, neither received nor duplicate; its
     * chunk is still taken (the piece hash judges it, not the number). */
    len = data_wire(&m, 1, 0, 16 + CROW_MCAST_SEQ_WINDOW + 5, buf);
    ck_assert_int_eq(crow_mcast_receiver_on_datagram(&r, 1, buf, len, &ev), 0);
    ck_assert_int_eq(ev.kind, CROW_MCAST_RX_DATA);
    len = data_wire(&m, 1, 1, 16, buf);
    ck_assert_int_eq(crow_mcast_receiver_on_datagram(&r, 1, buf, len, &ev), 0);
    ck_assert_int_eq(ev.kind, CROW_MCAST_RX_DATA);
    ck_assert_uint_eq(a->stale, 1);
    ck_assert_uint_eq(r.stats.stale, 1);
    ck_assert_uint_eq(a->duplicates, 2);
    /* Just inside the window after the jump: a late arrival, not a duplicate (the window was reset). */
    len = data_wire(&m, 1, 2, 16 + 6 + 1, buf);
    ck_assert_int_eq(crow_mcast_receiver_on_datagram(&r, 1, buf, len, &ev), 0);
    ck_assert_int_eq(ev.kind, CROW_MCAST_RX_DATA);
    ck_assert_uint_eq(a->reordered, 2);

    /* Sources beyond the table still deliver, without sequence accounting. */
    for (uint64_t s = 0; s < CROW_MCAST_MAX_SOURCES + 2; s++) {
        len = data_wire(&m, 2, (uint32_t)s, 100, buf);
        ck_assert_int_eq(crow_mcast_receiver_on_datagram(&r, 1000 + s, buf, len, &ev), 0);
        ck_assert_int_eq(ev.kind, CROW_MCAST_RX_DATA);
    }
    ck_assert_uint_eq(crow_mcast_receiver_source_count(&r), CROW_MCAST_MAX_SOURCES);
    ck_assert_uint_eq(r.stats.untracked, 4);
    crow_mcast_receiver_dispose(&r);
}
END_TEST

START_TEST(test_rejects_counted)
{
    crow_manifest_t m = test_manifest(4, 0);
    crow_mcast_receiver_t r;
    ck_assert_int_eq(crow_mcast_receiver_init(&r, &m), 0);
    uint8_t buf[CROW_DGRAM_HEADER_LEN + CROW_DEFAULT_CHUNK_SIZE];
    crow_mcast_rx_event_t ev;
    size_t len = data_wire(&m, 0, 0, 1, buf);

    buf[0] ^= 0xff; /* wrong magic */
    ck_assert_int_eq(crow_mcast_receiver_on_datagram(&r, 1, buf, len, &ev), CROW_EPARSE);
    ck_assert_int_eq(ev.kind, CROW_MCAST_RX_NONE);
    buf[0] ^= 0xff;
    ck_assert_int_eq(crow_mcast_receiver_on_datagram(&r, 1, buf, len - 1, &ev),
                     CROW_EPARSE); /* lying length */
    buf[8] ^= 1;                   /* another session */
    ck_assert_int_eq(crow_mcast_receiver_on_datagram(&r, 1, buf, len, &ev), CROW_ESESSION);
    buf[8] ^= 1;
    buf[27] = 4; /* piece 4 of 4 */
    ck_assert_int_eq(crow_mcast_receiver_on_datagram(&r, 1, buf, len, &ev), CROW_EPROTO);
    buf[27] = 0;
    buf[31] = 1; /* unaligned offset */
    ck_assert_int_eq(crow_mcast_receiver_on_datagram(&r, 1, buf, len, &ev), CROW_EPROTO);
    buf[31] = 0;
    buf[29] = 0x01, buf[30] = 0x02, buf[31] = 0x80; /* offset 66176 = 47 chunks: aligned, past the piece */
    ck_assert_int_eq(crow_mcast_receiver_on_datagram(&r, 1, buf, len, &ev), CROW_EPROTO);
    buf[29] = buf[30] = buf[31] = 0;
    /* A beacon of another release with our session prefix, and one with the wrong geometry. */
    crow_dgram_t d = {.type = CROW_DGRAM_BEACON, .session = crow_dgram_session_of(m.release_id), .seq = 2};
    memcpy(d.beacon.release_id, m.release_id, CROW_SHA256_LEN);
    d.beacon.release_id[20] ^= 1;
    uint8_t cbuf[CROW_DGRAM_CONTROL_MAX];
    long n = crow_dgram_encode(&d, cbuf, sizeof cbuf);
    ck_assert_int_eq(crow_mcast_receiver_on_datagram(&r, 1, cbuf, (size_t)n, &ev), CROW_ESESSION);
    d.beacon.release_id[20] ^= 1;
    n = crow_dgram_encode(&d, cbuf, sizeof cbuf);
    ck_assert_int_eq(crow_mcast_receiver_on_datagram(&r, 1, cbuf, (size_t)n, &ev), CROW_EPROTO);
    ck_assert_ptr_null(crow_mcast_receiver_beacon(&r));

    ck_assert_uint_eq(r.stats.malformed, 2);
    ck_assert_uint_eq(r.stats.foreign, 2);
    ck_assert_uint_eq(r.stats.out_of_range, 4);
    ck_assert_uint_eq(r.stats.datagrams, 8);
    /* Nothing rejected touched the bookkeeping. */
    ck_assert_uint_eq(crow_mcast_receiver_source_count(&r), 0);
    ck_assert_uint_eq(crow_mcast_receiver_missing_chunks(&r), crow_manifest_total_chunks(&m));
    ck_assert_uint_eq(crow_mcast_receiver_frontier(&r), 0);
    /* The genuine datagram still goes through. */
    ck_assert_int_eq(crow_mcast_receiver_on_datagram(&r, 1, buf, len, &ev), 0);
    ck_assert_int_eq(ev.kind, CROW_MCAST_RX_DATA);
    ck_assert_uint_eq(crow_mcast_receiver_missing_chunks(&r), crow_manifest_total_chunks(&m) - 1);
    crow_mcast_receiver_dispose(&r);
}
END_TEST

START_TEST(test_failed_piece_and_frontier)
{
    crow_manifest_t m = test_manifest(4, 0);
    crow_mcast_receiver_t r;
    ck_assert_int_eq(crow_mcast_receiver_init(&r, &m), 0);
    uint8_t buf[CROW_DGRAM_HEADER_LEN + CROW_DEFAULT_CHUNK_SIZE];
    crow_mcast_rx_event_t ev;
    uint32_t per_piece = crow_manifest_piece_chunks(&m, 0);
    uint64_t seq = 0;
    /* Piece 1 arrives whole, then the first half of piece 2. */
    for (uint32_t c = 0; c < per_piece; c++) {
        size_t len = data_wire(&m, 1, c, seq++, buf);
        ck_assert_int_eq(crow_mcast_receiver_on_datagram(&r, 1, buf, len, &ev), 0);
        ck_assert_int_eq(ev.piece_complete, c + 1 == per_piece);
    }
    ck_assert_uint_eq(crow_mcast_receiver_frontier(&r), 1);
    ck_assert_uint_eq(crow_mcast_receiver_frontier_offset(&r),
                      m.piece_length + (per_piece - 1) * m.chunk_size);
    for (uint32_t c = 0; c < per_piece / 2; c++) {
        size_t len = data_wire(&m, 2, c, seq++, buf);
        ck_assert_int_eq(crow_mcast_receiver_on_datagram(&r, 1, buf, len, &ev), 0);
    }
    ck_assert_uint_eq(crow_mcast_receiver_frontier(&r), 2);
    ck_assert_uint_eq(crow_mcast_receiver_frontier_offset(&r),
                      2 * m.piece_length + (per_piece / 2 - 1) * m.chunk_size);
    /* Behind the frontier only pieces 0 and 1 count: piece 0 is missing whole, piece 1 is complete. */
    uint64_t cursor = 0;
    crow_mcast_range_t ranges[8];
    ck_assert_uint_eq(crow_mcast_receiver_missing(&r, crow_mcast_receiver_frontier(&r), &cursor, ranges, 8),
                      1);
    ck_assert_uint_eq(ranges[0].piece, 0);
    ck_assert_uint_eq(ranges[0].offset, 0);
    ck_assert_uint_eq(ranges[0].length, m.piece_length);
    ck_assert_uint_eq(crow_mcast_receiver_missing(&r, crow_mcast_receiver_frontier(&r), &cursor, ranges, 8),
                      0);
    /* The hash of piece 1 fails: its chunks are gone and the failure counted. */
    ck_assert_uint_eq(r.stats.pieces_complete, 1);
    ck_assert_int_eq(crow_mcast_receiver_mark_failed(&r, 1), 0);
    ck_assert_uint_eq(r.stats.pieces_failed, 1);
    ck_assert(!crow_mcast_receiver_has_chunk(&r, 1, 0));
    ck_assert_uint_eq(crow_mcast_receiver_missing_chunks(&r), 4 * per_piece - per_piece / 2);
    /* All pieces, from the start, in two calls: piece 0, piece 1, the rest of 2 and all of 3. */
    cursor = 0;
    ck_assert_uint_eq(crow_mcast_receiver_missing(&r, m.piece_count, &cursor, ranges, 3), 3);
    ck_assert_uint_eq(ranges[1].piece, 1);
    ck_assert_uint_eq(ranges[1].length, m.piece_length);
    ck_assert_uint_eq(ranges[2].piece, 2);
    ck_assert_uint_eq(ranges[2].offset, per_piece / 2 * m.chunk_size);
    ck_assert_uint_eq(ranges[2].length, m.piece_length - per_piece / 2 * m.chunk_size);
    ck_assert_uint_eq(crow_mcast_receiver_missing(&r, m.piece_count, &cursor, ranges, 8), 1);
    ck_assert_uint_eq(ranges[0].piece, 3);
    ck_assert_uint_eq(crow_mcast_receiver_missing(&r, m.piece_count, &cursor, ranges, 8), 0);
    /* The chunk comes again (a repeat pass) and is new once more (no repair source: the stream may
     * fill a failed piece). The REPEAT flag does not move the frontier: only positions and ENDs do. */
    size_t len = data_wire(&m, 1, 0, seq++, buf);
    buf[5] = CROW_DGRAM_F_REPEAT;
    ck_assert_int_eq(crow_mcast_receiver_on_datagram(&r, 1, buf, len, &ev), 0);
    ck_assert_int_eq(ev.kind, CROW_MCAST_RX_DATA);
    ck_assert_uint_eq(crow_mcast_receiver_frontier(&r), 2);
    /* Pieces completed elsewhere (TCP repair) are reported as verified. */
    for (uint32_t p = 0; p < m.piece_count; p++)
        ck_assert_int_eq(crow_mcast_receiver_mark_verified(&r, p), 0);
    ck_assert(crow_mcast_receiver_done(&r));
    ck_assert_uint_eq(crow_mcast_receiver_missing_chunks(&r), 0);
    ck_assert_int_eq(crow_mcast_receiver_mark_verified(&r, m.piece_count), CROW_EUSAGE);
    ck_assert_int_eq(crow_mcast_receiver_mark_failed(&r, m.piece_count), CROW_EUSAGE);
    crow_mcast_receiver_dispose(&r);
}
END_TEST

/* A final (or not) END, or a BEACON, of m's session numbered seq, into buf. */
static size_t control_wire(const crow_manifest_t *m, uint8_t type, bool final, uint64_t seq, uint8_t *buf)
{
    crow_dgram_t d = {.type = type, .session = crow_dgram_session_of(m->release_id), .seq = seq};
    if (type == CROW_DGRAM_END) {
        d.flags = final ? CROW_DGRAM_F_FINAL : 0;
        d.end.last_data_seq = seq - 1;
    } else {
        memcpy(d.beacon.release_id, m->release_id, CROW_SHA256_LEN);
        d.beacon.total_length = m->total_length;
        d.beacon.piece_length = m->piece_length;
        d.beacon.chunk_size = m->chunk_size;
        d.beacon.piece_count = m->piece_count;
        d.beacon.tcp_port = 6881;
    }
    long n = crow_dgram_encode(&d, buf, CROW_DGRAM_CONTROL_MAX);
    ck_assert_int_gt(n, 0);
    return (size_t)n;
}

static int feed(crow_mcast_receiver_t *r, uint64_t source, const uint8_t *buf, size_t len,
                crow_mcast_rx_event_t *ev)
{
    return crow_mcast_receiver_on_datagram(r, source, buf, len, ev);
}

START_TEST(test_forged_end_from_another_source)
{
    /* The seeder (source 1) streams piece 0; a forger (source 2) sends a final END: ignored, and the
     * stream goes on. */
    crow_manifest_t m = test_manifest(4, 0);
    crow_mcast_receiver_t r;
    ck_assert_int_eq(crow_mcast_receiver_init(&r, &m), 0);
    uint8_t buf[CROW_DGRAM_HEADER_LEN + CROW_DEFAULT_CHUNK_SIZE];
    crow_mcast_rx_event_t ev;
    for (uint32_t c = 0; c < 4; c++)
        feed(&r, 1, buf, data_wire(&m, 0, c, c, buf), &ev);
    ck_assert_int_eq(feed(&r, 2, buf, control_wire(&m, CROW_DGRAM_END, true, 99, buf), &ev), 0);
    ck_assert_int_eq(ev.kind, CROW_MCAST_RX_NONE);
    ck_assert(!ev.stream_done);
    ck_assert(!crow_mcast_receiver_stream_done(&r));
    ck_assert_uint_eq(r.stats.ends_ignored, 1);
    ck_assert_uint_eq(crow_mcast_receiver_frontier(&r), 0); /* the pass is not over */
    /* The real END ends it. */
    ck_assert_int_eq(feed(&r, 1, buf, control_wire(&m, CROW_DGRAM_END, true, 4, buf), &ev), 0);
    ck_assert_int_eq(ev.kind, CROW_MCAST_RX_END);
    ck_assert(ev.stream_done);
    ck_assert_uint_eq(crow_mcast_receiver_frontier(&r), m.piece_count);
    crow_mcast_receiver_dispose(&r);
}
END_TEST

START_TEST(test_forged_end_as_the_seeder_revoked)
{
    crow_manifest_t m = test_manifest(4, 0);
    crow_mcast_receiver_t r;
    ck_assert_int_eq(crow_mcast_receiver_init(&r, &m), 0);
    uint8_t buf[CROW_DGRAM_HEADER_LEN + CROW_DEFAULT_CHUNK_SIZE];
    crow_mcast_rx_event_t ev;
    uint64_t seq = 0;
    for (uint32_t c = 0; c < 4; c++)
        feed(&r, 1, buf, data_wire(&m, 0, c, seq++, buf), &ev);
    /* A final END in the seeder's own name, numbered next: believed, until DATA goes on past it. */
    feed(&r, 1, buf, control_wire(&m, CROW_DGRAM_END, true, seq++, buf), &ev);
    ck_assert(ev.stream_done);
    ck_assert(crow_mcast_receiver_stream_done(&r));
    feed(&r, 1, buf, data_wire(&m, 0, 4, seq++, buf), &ev);
    ck_assert_int_eq(ev.kind, CROW_MCAST_RX_DATA);
    ck_assert(ev.stream_resumed);
    ck_assert(!crow_mcast_receiver_stream_done(&r));
    ck_assert_uint_eq(r.stats.ends_revoked, 1);
    ck_assert_uint_eq(crow_mcast_receiver_frontier(&r), 0); /* back to where the stream is */
    /* A forged END numbered far ahead: the real DATA behind it revokes it after a few datagrams. */
    feed(&r, 1, buf, control_wire(&m, CROW_DGRAM_END, true, seq + 500, buf), &ev);
    ck_assert(crow_mcast_receiver_stream_done(&r));
    for (uint32_t i = 0; i < CROW_MCAST_END_REVOKE; i++) {
        ck_assert(crow_mcast_receiver_stream_done(&r));
        feed(&r, 1, buf, data_wire(&m, 1, i, seq++, buf), &ev);
        ck_assert_int_eq(ev.kind, CROW_MCAST_RX_DATA);
    }
    ck_assert(ev.stream_resumed);
    ck_assert(!crow_mcast_receiver_stream_done(&r));
    crow_mcast_receiver_dispose(&r);
}
END_TEST

START_TEST(test_real_end_survives_reordered_data)
{
    crow_manifest_t m = test_manifest(4, 0);
    crow_mcast_receiver_t r;
    ck_assert_int_eq(crow_mcast_receiver_init(&r, &m), 0);
    uint8_t buf[CROW_DGRAM_HEADER_LEN + CROW_DEFAULT_CHUNK_SIZE];
    crow_mcast_rx_event_t ev;
    for (uint32_t c = 0; c < 4; c++)
        feed(&r, 1, buf, data_wire(&m, 0, c, c, buf), &ev);
    feed(&r, 1, buf, control_wire(&m, CROW_DGRAM_END, true, 10, buf), &ev);
    ck_assert(ev.stream_done);
    /* DATA sent before the END but overtaken by it (numbers 5..7): the END stands. */
    for (uint32_t c = 5; c < 8; c++) {
        feed(&r, 1, buf, data_wire(&m, 0, c, c, buf), &ev);
        ck_assert(!ev.stream_resumed);
    }
    ck_assert(crow_mcast_receiver_stream_done(&r));
    crow_mcast_receiver_dispose(&r);
}
END_TEST

START_TEST(test_forged_repeat_and_far_data_keep_the_frontier)
{
    crow_manifest_t m = test_manifest(4, 0);
    crow_mcast_receiver_t r;
    ck_assert_int_eq(crow_mcast_receiver_init(&r, &m), 0);
    uint8_t buf[CROW_DGRAM_HEADER_LEN + CROW_DEFAULT_CHUNK_SIZE];
    crow_mcast_rx_event_t ev;
    for (uint32_t c = 0; c < 8; c++)
        feed(&r, 1, buf, data_wire(&m, 0, c, c, buf), &ev);
    uint64_t at = crow_mcast_receiver_frontier_offset(&r);
    ck_assert_uint_eq(at, 7 * m.chunk_size);
    /* From the seeder's own address, a REPEAT-flag chunk: the frontier does not jump to the end. */
    size_t len = data_wire(&m, 0, 8, 8, buf);
    buf[5] = CROW_DGRAM_F_REPEAT;
    feed(&r, 1, buf, len, &ev);
    ck_assert_uint_eq(crow_mcast_receiver_frontier_offset(&r), 8 * m.chunk_size);
    /* From another address, DATA of the last piece (with or without REPEAT): no move at all. */
    for (uint64_t s = 0; s < 3; s++) {
        len = data_wire(&m, 3, (uint32_t)s, 1000 + s, buf);
        buf[5] = s % 2 ? CROW_DGRAM_F_REPEAT : 0;
        feed(&r, 2, buf, len, &ev);
        ck_assert_int_eq(ev.kind, CROW_MCAST_RX_DATA); /* taken: the piece hash judges it */
    }
    ck_assert_uint_eq(crow_mcast_receiver_frontier_offset(&r), 8 * m.chunk_size);
    ck_assert_uint_eq(crow_mcast_receiver_frontier(&r), 0);
    crow_mcast_receiver_dispose(&r);
}
END_TEST

START_TEST(test_spoofed_sequence_number)
{
    crow_manifest_t m = test_manifest(4, 0);
    crow_mcast_receiver_t r;
    ck_assert_int_eq(crow_mcast_receiver_init(&r, &m), 0);
    uint8_t buf[CROW_DGRAM_HEADER_LEN + CROW_DEFAULT_CHUNK_SIZE];
    crow_mcast_rx_event_t ev;
    uint64_t seq = 0;
    for (uint32_t c = 0; c < 4; c++)
        feed(&r, 1, buf, data_wire(&m, 0, c, seq++, buf), &ev);
    /* A BEACON in the seeder's name numbered near 2^64. */
    feed(&r, 1, buf, control_wire(&m, CROW_DGRAM_BEACON, false, UINT64_MAX - 2, buf), &ev);
    ck_assert_int_eq(ev.kind, CROW_MCAST_RX_BEACON);
    /* The real stream is now "stale", but its chunks are still taken... */
    uint32_t per_piece = crow_manifest_piece_chunks(&m, 0);
    for (uint32_t i = 0; i + 1 < CROW_MCAST_REANCHOR; i++) {
        uint32_t chunk = 4 + i;
        feed(&r, 1, buf, data_wire(&m, chunk / per_piece, chunk % per_piece, seq++, buf), &ev);
        ck_assert_int_eq(ev.kind, CROW_MCAST_RX_DATA);
    }
    /* ...and its END would be ignored while stale. After CROW_MCAST_REANCHOR in a row the window
     * is the real stream's again: its END counts. */
    const crow_mcast_source_stats_t *a = crow_mcast_receiver_sources(&r, 0);
    ck_assert_uint_eq(a->stale, CROW_MCAST_REANCHOR - 1);
    feed(&r, 1, buf, data_wire(&m, 2, 0, seq++, buf), &ev);
    ck_assert_uint_eq(a->highest_seq, seq - 1);
    feed(&r, 1, buf, control_wire(&m, CROW_DGRAM_END, true, seq++, buf), &ev);
    ck_assert_int_eq(ev.kind, CROW_MCAST_RX_END);
    ck_assert(ev.stream_done);
    crow_mcast_receiver_dispose(&r);
}
END_TEST

START_TEST(test_failed_piece_left_to_repair)
{
    crow_manifest_t m = test_manifest(4, 0);
    crow_mcast_receiver_t r;
    ck_assert_int_eq(crow_mcast_receiver_init(&r, &m), 0);
    uint8_t buf[CROW_DGRAM_HEADER_LEN + CROW_DEFAULT_CHUNK_SIZE];
    crow_mcast_rx_event_t ev;
    uint32_t per_piece = crow_manifest_piece_chunks(&m, 0);
    uint64_t seq = 0;
    for (uint32_t c = 0; c < per_piece; c++)
        feed(&r, 1, buf, data_wire(&m, 1, c, seq++, buf), &ev);
    ck_assert(ev.piece_complete);
    /* Until verified the piece is not done; a failed hash drops its chunks. */
    ck_assert(!crow_mcast_receiver_piece_verified(&r, 1));
    crow_mcast_receiver_set_repair(&r, true);
    ck_assert_int_eq(crow_mcast_receiver_mark_failed(&r, 1), 0);
    ck_assert(!crow_mcast_receiver_has_chunk(&r, 1, 0));
    /* With a repair source the stream cannot spoil it again: its chunks are refused; others not. */
    feed(&r, 2, buf, data_wire(&m, 1, 0, 50, buf), &ev);
    ck_assert_int_eq(ev.kind, CROW_MCAST_RX_NONE);
    ck_assert_uint_eq(r.stats.refused, 1);
    feed(&r, 1, buf, data_wire(&m, 2, 0, seq++, buf), &ev);
    ck_assert_int_eq(ev.kind, CROW_MCAST_RX_DATA);
    ck_assert_uint_eq(crow_mcast_receiver_missing_chunks(&r), 4 * per_piece - 1);
    /* Without one, the next pass may fill it. */
    crow_mcast_receiver_set_repair(&r, false);
    feed(&r, 1, buf, data_wire(&m, 1, 0, seq++, buf), &ev);
    ck_assert_int_eq(ev.kind, CROW_MCAST_RX_DATA);
    /* Dropping a piece the store could not take is no failure. */
    ck_assert_int_eq(crow_mcast_receiver_drop_piece(&r, 2), 0);
    ck_assert_uint_eq(r.stats.pieces_failed, 1);
    crow_mcast_receiver_dispose(&r);
}
END_TEST

START_TEST(test_key_refuses_forgeries)
{
    crow_manifest_t m = test_manifest(4, 0);
    crow_mcast_receiver_t r;
    ck_assert_int_eq(crow_mcast_receiver_init(&r, &m), 0);
    uint8_t secret[32], wrong[32];
    memset(secret, 7, sizeof secret);
    memset(wrong, 8, sizeof wrong);
    crow_dgram_key_t k, kw;
    ck_assert_int_eq(crow_dgram_key_init(&k, secret, sizeof secret, m.release_id), 0);
    ck_assert_int_eq(crow_dgram_key_init(&kw, wrong, sizeof wrong, m.release_id), 0);
    crow_mcast_receiver_set_key(&r, &k);
    uint8_t buf[CROW_DGRAM_HEADER_LEN + CROW_DEFAULT_CHUNK_SIZE + CROW_DGRAM_TAG_LEN];
    crow_mcast_rx_event_t ev;
    /* Untagged DATA, END and BEACON: forged, and nothing of them is kept. */
    ck_assert_int_eq(feed(&r, 1, buf, data_wire(&m, 0, 0, 1, buf), &ev), CROW_EAUTH);
    ck_assert_int_eq(feed(&r, 1, buf, control_wire(&m, CROW_DGRAM_END, true, 2, buf), &ev), CROW_EAUTH);
    ck_assert_int_eq(feed(&r, 1, buf, control_wire(&m, CROW_DGRAM_BEACON, false, 3, buf), &ev), CROW_EAUTH);
    ck_assert(!ev.live);
    /* Tagged under the wrong key: forged too. */
    size_t len = data_wire(&m, 0, 0, 4, buf);
    buf[4] |= CROW_DGRAM_F_AUTH >> 8;
    len = crow_dgram_seal(&kw, buf, len);
    ck_assert_int_eq(feed(&r, 1, buf, len, &ev), CROW_EAUTH);
    ck_assert_uint_eq(r.stats.forged, 4);
    ck_assert_uint_eq(crow_mcast_receiver_source_count(&r), 0);
    ck_assert_uint_eq(crow_mcast_receiver_missing_chunks(&r), crow_manifest_total_chunks(&m));
    ck_assert(!crow_mcast_receiver_stream_done(&r));
    /* Another session stays "foreign" (it is not ours to judge). */
    len = data_wire(&m, 0, 0, 5, buf);
    buf[8] ^= 1;
    ck_assert_int_eq(feed(&r, 1, buf, len, &ev), CROW_ESESSION);
    /* Tagged under the session key: taken. */
    len = data_wire(&m, 0, 0, 6, buf);
    buf[4] |= CROW_DGRAM_F_AUTH >> 8;
    len = crow_dgram_seal(&k, buf, len);
    ck_assert_int_eq(feed(&r, 1, buf, len, &ev), 0);
    ck_assert_int_eq(ev.kind, CROW_MCAST_RX_DATA);
    ck_assert_uint_eq(ev.length, m.chunk_size);
    crow_mcast_receiver_dispose(&r);
    crow_dgram_key_dispose(&k);
    crow_dgram_key_dispose(&kw);
}
END_TEST

START_TEST(test_sender_tags_every_datagram)
{
    /* A keyed sender and a keyed receiver: every datagram carries the flag and a valid tag, and the
     * pacer counts the tag's bytes. */
    crow_manifest_t m = test_manifest(2, 100);
    uint8_t secret[16] = {1, 2, 3};
    crow_dgram_key_t k;
    ck_assert_int_eq(crow_dgram_key_init(&k, secret, sizeof secret, m.release_id), 0);
    crow_mcast_sender_config_t cfg = fast_config();
    cfg.auth = true;
    crow_mcast_sender_t s;
    ck_assert_int_eq(crow_mcast_sender_init(&s, &m, &cfg), 0);
    crow_mcast_sender_set_all_available(&s);
    crow_mcast_receiver_t r;
    ck_assert_int_eq(crow_mcast_receiver_init(&r, &m), 0);
    crow_mcast_receiver_set_key(&r, &k);
    crow_mcast_tx_t tx;
    uint64_t wake, now = 0, wire = 0;
    int state;
    static uint8_t buf[CROW_DGRAM_HEADER_LEN + CROW_DEFAULT_CHUNK_SIZE + CROW_DGRAM_CONTROL_MAX];
    for (int guard = 0;
         guard < 100000 && (state = crow_mcast_sender_next(&s, now, &tx, &wake)) != CROW_MCAST_DONE;
         guard++) {
        if (state == CROW_MCAST_WAIT) {
            now = wake;
            continue;
        }
        ck_assert_uint_eq(tx.tag_len, CROW_DGRAM_TAG_LEN);
        size_t len = tx.bytes_len;
        memcpy(buf, tx.bytes, len);
        if (tx.type == CROW_DGRAM_DATA)
            for (uint32_t i = 0; i < tx.length; i++)
                buf[len++] = release_byte((uint64_t)tx.piece * m.piece_length + tx.offset + i);
        len = crow_dgram_seal(&k, buf, len);
        ck_assert_uint_eq(len, crow_mcast_tx_size(&tx));
        wire += len + cfg.overhead_bytes;
        crow_mcast_rx_event_t ev;
        ck_assert_int_eq(crow_mcast_receiver_on_datagram(&r, 1, buf, len, &ev), 0);
    }
    ck_assert_int_eq(state, CROW_MCAST_DONE);
    ck_assert_uint_eq(s.stats.wire_bytes, wire);
    ck_assert_uint_eq(r.stats.forged, 0);
    ck_assert_uint_eq(crow_mcast_receiver_missing_chunks(&r), 0);
    ck_assert(crow_mcast_receiver_stream_done(&r));
    crow_mcast_receiver_dispose(&r);
    crow_mcast_sender_dispose(&s);
    crow_dgram_key_dispose(&k);
}
END_TEST

START_TEST(test_loss_knob_deterministic)
{
    /* Same (seed, seq) → same verdict; the fraction matches ppm; ppm 0 drops nothing. */
    uint64_t drops = 0;
    for (uint64_t seq = 0; seq < 200000; seq++) {
        bool d = crow_mcast_test_loss_drops(9, 10000, seq);
        ck_assert_int_eq(d, crow_mcast_test_loss_drops(9, 10000, seq));
        ck_assert(!crow_mcast_test_loss_drops(9, 0, seq));
        drops += d;
    }
    ck_assert_uint_ge(drops, 1800);
    ck_assert_uint_le(drops, 2200);
    ck_assert(crow_mcast_test_loss_drops(9, 1000000, 5));
}
END_TEST

START_TEST(test_sender_config_rejected)
{
    crow_manifest_t m = test_manifest(4, 0);
    crow_mcast_sender_t s;
    crow_mcast_sender_config_t cfg;
    crow_mcast_sender_config_default(&cfg);
    ck_assert_int_eq(crow_mcast_sender_init(&s, &m, &cfg), 0);
    crow_mcast_sender_dispose(&s);
    crow_mcast_sender_config_t bad[6];
    for (int i = 0; i < 6; i++)
        bad[i] = cfg;
    bad[0].rate_bps = 0;
    bad[1].passes = 0;
    bad[2].beacon_interval_ns = 0;
    bad[3].burst_bytes = CROW_DGRAM_HEADER_LEN + CROW_DEFAULT_CHUNK_SIZE + CROW_MCAST_IPV4_UDP_OVERHEAD - 1;
    bad[4].end_copies = 0;
    bad[5].rate_bps = 2000ull * 1000 * 1000 * 1000;
    for (int i = 0; i < 6; i++)
        ck_assert_msg(crow_mcast_sender_init(&s, &m, &bad[i]) == CROW_EUSAGE, "config %d accepted", i);
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("mcast");
    TCase *tc = tcase_create("engine");
    tcase_add_test(tc, test_no_loss_completes);
    tcase_add_test(tc, test_one_percent_loss_counted_exactly);
    tcase_add_test(tc, test_second_pass_fills_gaps);
    tcase_add_test(tc, test_ends_after_each_pass);
    tcase_add_test(tc, test_end_now_closes_the_pass);
    tcase_add_test(tc, test_catch_up_resends_before_the_final_end);
    tcase_add_test(tc, test_scope_sends_only_the_wanted_pieces);
    tcase_add_test(tc, test_the_first_pass_starts_anywhere);
    tcase_add_loop_test(tc, test_pacing, 0, sizeof pacing_rates / sizeof pacing_rates[0]);
    tcase_add_test(tc, test_pacing_keeps_its_rate_when_woken_late);
    tcase_add_test(tc, test_beacon_cadence);
    tcase_add_test(tc, test_streaming_availability);
    tcase_add_test(tc, test_duplicates_and_reordering);
    tcase_add_test(tc, test_rejects_counted);
    tcase_add_test(tc, test_failed_piece_and_frontier);
    tcase_add_test(tc, test_forged_end_from_another_source);
    tcase_add_test(tc, test_forged_end_as_the_seeder_revoked);
    tcase_add_test(tc, test_real_end_survives_reordered_data);
    tcase_add_test(tc, test_forged_repeat_and_far_data_keep_the_frontier);
    tcase_add_test(tc, test_spoofed_sequence_number);
    tcase_add_test(tc, test_failed_piece_left_to_repair);
    tcase_add_test(tc, test_key_refuses_forgeries);
    tcase_add_test(tc, test_sender_tags_every_datagram);
    tcase_add_test(tc, test_loss_knob_deterministic);
    tcase_add_test(tc, test_sender_config_rejected);
    suite_add_tcase(s, tc);
    return s;
}
