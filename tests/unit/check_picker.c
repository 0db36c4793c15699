/* Gap picker: missing chunks only, merging up to the request size within a piece, the multicast
 * frontier, the chain-head rule, nearest neighbours first, timeouts, endgame duplicates with
 * cancel, byte accounting; neighbours that claim pieces and never deliver (also over random
 * schedules). */
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/picker.h"
#include "check_main.h"

/* 4 pieces of 16 KiB, the last one 10000 bytes; chunks of 4096 bytes (4, 4, 4, 3 chunks). */
#define PIECE 16384u
#define CHUNK 4096u
#define TOTAL (3 * PIECE + 10000u)

static crow_manifest_t manifest;
static crow_picker_t *picker;
static crow_bitfield_t remotes[4];

static void setup(bool head, bool multicast)
{
    memset(&manifest, 0, sizeof manifest);
    manifest.total_length = TOTAL;
    manifest.piece_length = PIECE;
    manifest.piece_count = 4;
    manifest.chunk_size = CHUNK;
    crow_picker_config_t cfg = {.manifest = &manifest,
                                .max_neighbours = 4,
                                .max_depth = 4,
                                .chain_head = head,
                                .multicast = multicast};
    ck_assert_int_eq(crow_picker_new(&cfg, &picker), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(crow_bitfield_init(&remotes[i], 4), 0);
}

static void teardown(void)
{
    crow_picker_free(picker);
    for (int i = 0; i < 4; i++)
        crow_bitfield_dispose(&remotes[i]);
}

/* Joins neighbour `i` owning every piece, ready for `depth` requests of up to max_request. */
static int seed(int i, uint32_t distance, bool same_rack, uint32_t depth, uint32_t max_request)
{
    crow_bitfield_set_all(&remotes[i]);
    int nb = crow_picker_join(picker, &remotes[i], distance, same_rack);
    ck_assert_int_ge(nb, 0);
    crow_picker_remote_bitfield(picker, nb);
    crow_picker_set_pipeline(picker, nb, depth, max_request);
    return nb;
}

static void assert_block(const crow_block_t *b, uint32_t piece, uint32_t begin, uint32_t length)
{
    ck_assert_msg(b->piece == piece && b->begin == begin && b->length == length,
                  "got (%u, %u, %u) want (%u, %u, %u)", b->piece, b->begin, b->length, piece, begin, length);
}

START_TEST(test_missing_chunks_merged_within_piece)
{
    setup(true, false);
    int a = seed(0, 1, true, 4, 3 * CHUNK);
    /* Chunks already here (e.g. from multicast): piece 0 chunk 1, piece 1 chunks 0..2. */
    crow_picker_mark(picker, 0, CHUNK, CHUNK);
    crow_picker_mark(picker, 1, 0, 3 * CHUNK);
    /* A partial chunk marks nothing. */
    crow_picker_mark(picker, 2, 100, CHUNK);
    ck_assert_uint_eq(crow_picker_missing(picker), 15 - 4);
    crow_block_t b;
    const uint32_t want[][3] = {
        {0, 0, CHUNK},             /* stops at the present chunk */
        {0, 2 * CHUNK, 2 * CHUNK}, /* stops at the piece end, never straddles */
        {1, 3 * CHUNK, CHUNK},     /* the one missing chunk of piece 1 */
        {2, 0, 3 * CHUNK},         /* capped by the request size */
    };
    for (size_t i = 0; i < 4; i++) {
        ck_assert(crow_picker_pick(picker, a, 100, &b));
        assert_block(&b, want[i][0], want[i][1], want[i][2]);
    }
    ck_assert(!crow_picker_pick(picker, a, 100, &b)); /* depth 4 reached */
    ck_assert_uint_eq(crow_picker_outstanding(picker, a), 4);
    ck_assert(crow_picker_received(picker, a, 0, 0, CHUNK));
    ck_assert(crow_picker_pick(picker, a, 100, &b));
    assert_block(&b, 2, 3 * CHUNK, CHUNK);
    ck_assert(crow_picker_received(picker, a, 0, 2 * CHUNK, 2 * CHUNK));
    ck_assert(crow_picker_pick(picker, a, 100, &b));
    assert_block(&b, 3, 0, 10000); /* the short last piece: its last chunk is 1808 bytes */
    ck_assert(crow_picker_piece_filled(picker, 0));
    ck_assert(!crow_picker_piece_filled(picker, 1));
    /* A block nobody asked for is dropped and counted as wasted. */
    ck_assert(!crow_picker_received(picker, a, 1, 0, CHUNK));
    crow_picker_stats_t st;
    crow_picker_neighbour_stats(picker, a, &st);
    ck_assert_uint_eq(st.requested, CHUNK + 2 * CHUNK + CHUNK + 3 * CHUNK + CHUNK + 10000);
    ck_assert_uint_eq(st.received, 3 * CHUNK);
    ck_assert_uint_eq(st.wasted, CHUNK);
    teardown();
}
END_TEST

START_TEST(test_frontier_rule)
{
    setup(true, true);
    int a = seed(0, 1, true, 4, PIECE);
    crow_block_t b;
    ck_assert(!crow_picker_pick(picker, a, 100, &b));         /* stream active, nothing passed yet */
    crow_picker_set_frontier(picker, PIECE + 2 * CHUNK + 10); /* inside chunk 2 of piece 1 */
    ck_assert(crow_picker_pick(picker, a, 100, &b));
    assert_block(&b, 0, 0, PIECE);
    ck_assert(crow_picker_pick(picker, a, 100, &b));
    assert_block(&b, 1, 0, 2 * CHUNK); /* only chunks wholly behind the frontier */
    ck_assert(!crow_picker_pick(picker, a, 100, &b));
    crow_picker_set_frontier(picker, 10); /* never goes back */
    ck_assert(!crow_picker_pick(picker, a, 100, &b));
    crow_picker_stream_end(picker);
    ck_assert(crow_picker_pick(picker, a, 100, &b));
    assert_block(&b, 1, 2 * CHUNK, 2 * CHUNK);
    teardown();
}
END_TEST

/* A stream that catches up: a piece of which nothing had arrived when the frontier passed it (we
 * joined after it went by) is left to the stream, also once the resend brought part of it; one with
 * a chunk in asks for the rest; the stream's end lifts the hold, and so does a stream that says it
 * does not catch up. Held pieces do not count as unserved. */
START_TEST(test_untouched_pieces_wait_for_the_stream)
{
    setup(true, true);
    int a = seed(0, 1, true, 4, PIECE);
    crow_picker_hold_untouched(picker, true);
    crow_picker_mark(picker, 2, 0, CHUNK);       /* we joined in piece 2 */
    crow_picker_set_frontier(picker, 3 * PIECE); /* pieces 0..2 went by */
    crow_block_t b;
    ck_assert(crow_picker_pick(picker, a, 100, &b));
    assert_block(&b, 2, CHUNK, PIECE - CHUNK);
    ck_assert(!crow_picker_pick(picker, a, 100, &b)); /* 0 and 1 wait */
    crow_picker_needs_t needs;
    crow_picker_needs(picker, &needs);
    ck_assert_uint_eq(needs.unserved, 0);
    /* The stream resends piece 1: TCP does not race it for the rest. */
    crow_picker_mark(picker, 1, 2 * CHUNK, CHUNK);
    ck_assert(!crow_picker_pick(picker, a, 100, &b));
    /* Pieces the frontier passes later with nothing in are held too; piece 3 got a chunk. */
    crow_picker_mark(picker, 3, 0, CHUNK);
    crow_picker_set_frontier(picker, TOTAL);
    ck_assert(crow_picker_pick(picker, a, 100, &b));
    assert_block(&b, 3, CHUNK, 10000 - CHUNK);
    ck_assert(!crow_picker_pick(picker, a, 100, &b));
    crow_picker_hold_untouched(picker, false); /* its BEACON says it does not catch up */
    ck_assert(crow_picker_pick(picker, a, 100, &b));
    assert_block(&b, 0, 0, PIECE);
    ck_assert(crow_picker_pick(picker, a, 100, &b));
    assert_block(&b, 1, 0, 2 * CHUNK);
    teardown();

    setup(true, true);
    a = seed(0, 1, true, 4, PIECE);
    crow_picker_hold_untouched(picker, true);
    crow_picker_set_frontier(picker, 2 * PIECE);
    ck_assert(!crow_picker_pick(picker, a, 100, &b));
    crow_picker_stream_end(picker); /* the final END: nothing is held any more */
    ck_assert(crow_picker_pick(picker, a, 100, &b));
    assert_block(&b, 0, 0, PIECE);
    teardown();
}
END_TEST

START_TEST(test_chain_head_rule)
{
    /* Not the head: a piece only outside the rack is left to the head. */
    setup(false, false);
    int outside = seed(0, UINT32_MAX, false, 4, PIECE);
    int inside = crow_picker_join(picker, &remotes[1], 1, true);
    crow_picker_set_pipeline(picker, inside, 4, PIECE);
    crow_block_t b;
    ck_assert(!crow_picker_pick(picker, outside, 100, &b));
    ck_assert(!crow_picker_pick(picker, inside, 100, &b));
    crow_bitfield_set(&remotes[1], 2); /* the head got piece 2 and told us */
    crow_picker_remote_have(picker, inside, 2);
    ck_assert(!crow_picker_pick(picker, outside, 100, &b));
    ck_assert(crow_picker_pick(picker, inside, 100, &b));
    assert_block(&b, 2, 0, PIECE);
    teardown();

    /* The head: fetches from outside only what nobody in the rack has. */
    setup(true, false);
    outside = seed(0, UINT32_MAX, false, 4, PIECE);
    inside = crow_picker_join(picker, &remotes[1], 1, true);
    crow_bitfield_set(&remotes[1], 0);
    crow_picker_remote_bitfield(picker, inside);
    ck_assert(crow_picker_pick(picker, outside, 100, &b));
    assert_block(&b, 1, 0, PIECE);     /* piece 0 is in the rack */
    crow_picker_leave(picker, inside); /* it left: piece 0 is nowhere in the rack now */
    ck_assert(crow_picker_pick(picker, outside, 100, &b));
    assert_block(&b, 0, 0, PIECE);
    teardown();
}
END_TEST

START_TEST(test_nearest_first)
{
    setup(true, false);
    int far = seed(0, 3, true, 4, PIECE);
    int near = seed(1, 1, true, 1, PIECE);
    crow_block_t b;
    ck_assert(!crow_picker_pick(picker, far, 100, &b)); /* the nearer one is ready for piece 0.. */
    ck_assert(crow_picker_pick(picker, near, 100, &b));
    assert_block(&b, 0, 0, PIECE);
    ck_assert(crow_picker_pick(picker, far, 100, &b)); /* ..and now busy: the far one helps */
    assert_block(&b, 1, 0, PIECE);
    teardown();
}
END_TEST

START_TEST(test_timeout_rerequests_elsewhere)
{
    setup(true, false);
    int slow = seed(0, 1, true, 1, PIECE);
    int other = seed(1, 2, true, 1, PIECE);
    crow_block_t b, e;
    ck_assert(crow_picker_pick(picker, slow, 1000, &b));
    assert_block(&b, 0, 0, PIECE);
    ck_assert_uint_eq(crow_picker_next_deadline(picker, slow), 1000);
    ck_assert(!crow_picker_next_expired(picker, slow, 999, &e));
    ck_assert(crow_picker_next_expired(picker, slow, 1000, &e));
    assert_block(&e, 0, 0, PIECE);
    crow_picker_set_pipeline(picker, slow, 0, PIECE); /* backing off */
    ck_assert(crow_picker_pick(picker, other, 2000, &b));
    assert_block(&b, 0, 0, PIECE);
    ck_assert(!crow_picker_received(picker, slow, 0, 0, PIECE)); /* late: dropped */
    ck_assert(crow_picker_received(picker, other, 0, 0, PIECE));
    crow_picker_stats_t st;
    crow_picker_total_stats(picker, &st);
    ck_assert_uint_eq(st.timeouts, 1);
    ck_assert_uint_eq(st.received, PIECE);
    ck_assert_uint_eq(st.wasted, PIECE);
    teardown();
}
END_TEST

/* A neighbour that keeps delivering is slow, not stalled: every block it sends pushes the deadline
 * of the requests queued behind it; once it goes quiet for the timeout, they expire. */
START_TEST(test_delivering_neighbour_keeps_its_requests)
{
    setup(true, false);
    int busy = seed(0, 1, true, 3, PIECE);
    crow_block_t b[3], e;
    for (int i = 0; i < 3; i++)
        ck_assert(crow_picker_pick(picker, busy, 1000, &b[i]));
    ck_assert(crow_picker_received(picker, busy, b[0].piece, b[0].begin, b[0].length));
    crow_picker_extend(picker, busy, 900 + 500);
    ck_assert(!crow_picker_next_expired(picker, busy, 1000, &e)); /* queued behind what it sends */
    ck_assert_uint_eq(crow_picker_next_deadline(picker, busy), 1400);
    crow_picker_extend(picker, busy, 1200); /* never pulled earlier */
    ck_assert_uint_eq(crow_picker_next_deadline(picker, busy), 1400);
    ck_assert(crow_picker_received(picker, busy, b[1].piece, b[1].begin, b[1].length));
    crow_picker_extend(picker, busy, 1300 + 500);
    ck_assert(!crow_picker_next_expired(picker, busy, 1799, &e));
    ck_assert(crow_picker_next_expired(picker, busy, 1800, &e)); /* quiet for the timeout: expired */
    assert_block(&e, b[2].piece, b[2].begin, b[2].length);
    crow_picker_stats_t st;
    crow_picker_total_stats(picker, &st);
    ck_assert_uint_eq(st.timeouts, 1);
    teardown();
}
END_TEST

START_TEST(test_endgame_duplicates_with_cancel)
{
    setup(true, false);
    int a = seed(0, 1, true, 8, PIECE);
    int c = seed(1, 2, true, 8, PIECE);
    crow_picker_mark(picker, 0, 0, PIECE);
    crow_picker_mark(picker, 1, 0, PIECE);
    crow_picker_mark(picker, 2, 0, PIECE);
    crow_block_t b;
    ck_assert(crow_picker_pick(picker, a, 100, &b));
    assert_block(&b, 3, 0, 10000);
    ck_assert(!crow_picker_pick(picker, a, 100, &b)); /* never its own duplicate */
    ck_assert(crow_picker_pick(picker, c, 100, &b));  /* the very end: one duplicate */
    assert_block(&b, 3, 0, 10000);
    ck_assert(!crow_picker_pick(picker, c, 100, &b));
    ck_assert(crow_picker_received(picker, c, 3, 0, 10000));
    ck_assert(crow_picker_next_cancel(picker, a, &b)); /* the twin is cancelled */
    assert_block(&b, 3, 0, 10000);
    ck_assert(!crow_picker_next_cancel(picker, a, &b));
    ck_assert_uint_eq(crow_picker_missing(picker), 0);
    ck_assert_uint_eq(crow_picker_outstanding(picker, a), 0);
    teardown();
}
END_TEST

/* Endgame with full queues: a neighbour that still has requests of its own duplicates nothing
 * (both copies would be served); one whose queue ran dry takes the newest request of the longest
 * queue, one at a time. */
START_TEST(test_endgame_only_idle_neighbours_duplicate_the_tail)
{
    setup(true, false);
    int a = seed(0, 1, true, 4, CHUNK);
    int c = seed(1, 2, true, 4, CHUNK);
    crow_block_t b, qa[4], qc[2];
    for (int i = 0; i < 4; i++)
        ck_assert(crow_picker_pick(picker, a, 100, &qa[i]));
    for (int i = 0; i < 2; i++)
        ck_assert(crow_picker_pick(picker, c, 100, &qc[i]));
    /* 15 chunks: 6 in flight, 9 fresh; take the fresh ones away by marking them present. */
    for (uint32_t piece = 0; piece < 4; piece++) {
        uint32_t size = piece == 3 ? 10000u : PIECE;
        for (uint32_t off = 0; off < size; off += CHUNK) {
            bool out = false;
            for (int i = 0; i < 4; i++)
                out |= qa[i].piece == piece && qa[i].begin == off;
            for (int i = 0; i < 2; i++)
                out |= qc[i].piece == piece && qc[i].begin == off;
            if (!out)
                crow_picker_mark(picker, piece, off, size - off < CHUNK ? size - off : CHUNK);
        }
    }
    ck_assert_uint_eq(crow_picker_missing(picker), 6);
    ck_assert(!crow_picker_pick(picker, c, 100, &b)); /* c still has two of its own */
    ck_assert(crow_picker_received(picker, c, qc[0].piece, qc[0].begin, qc[0].length));
    ck_assert(!crow_picker_pick(picker, c, 100, &b));
    ck_assert(crow_picker_received(picker, c, qc[1].piece, qc[1].begin, qc[1].length));
    ck_assert(crow_picker_pick(picker, c, 100, &b)); /* idle: the last of a's queue */
    assert_block(&b, qa[3].piece, qa[3].begin, qa[3].length);
    ck_assert(!crow_picker_pick(picker, c, 100, &b)); /* one at a time */
    ck_assert(crow_picker_received(picker, c, qa[3].piece, qa[3].begin, qa[3].length));
    ck_assert(crow_picker_next_cancel(picker, a, &b)); /* a is told to drop its copy */
    assert_block(&b, qa[3].piece, qa[3].begin, qa[3].length);
    ck_assert(crow_picker_pick(picker, c, 100, &b)); /* then the next newest */
    assert_block(&b, qa[2].piece, qa[2].begin, qa[2].length);
    ck_assert(!crow_picker_pick(picker, a, 100, &b)); /* a has its own queue */
    teardown();
}
END_TEST

START_TEST(test_no_duplicates_before_the_end)
{
    setup(true, true);
    int a = seed(0, 1, true, 8, PIECE);
    int c = seed(1, 2, true, 8, PIECE);
    crow_picker_set_frontier(picker, PIECE);
    crow_block_t b;
    ck_assert(crow_picker_pick(picker, a, 100, &b));
    ck_assert(!crow_picker_pick(picker, c, 100, &b)); /* stream still running: no endgame */
    teardown();
}
END_TEST

START_TEST(test_multicast_arrival_cancels_request)
{
    setup(true, false);
    int a = seed(0, 1, true, 4, PIECE);
    crow_block_t b;
    ck_assert(crow_picker_pick(picker, a, 100, &b));
    crow_picker_mark(picker, 0, 0, PIECE);
    ck_assert(crow_picker_next_cancel(picker, a, &b));
    assert_block(&b, 0, 0, PIECE);
    crow_picker_piece_verified(picker, 0);
    crow_picker_piece_failed(picker, 0); /* a bad hash: ask again */
    ck_assert(crow_picker_pick(picker, a, 100, &b));
    assert_block(&b, 0, 0, PIECE);
    crow_picker_release(picker, a); /* choked: its requests go back */
    ck_assert_uint_eq(crow_picker_outstanding(picker, a), 0);
    ck_assert(crow_picker_pick(picker, a, 100, &b));
    assert_block(&b, 0, 0, PIECE);
    teardown();
}
END_TEST

START_TEST(test_config_and_slots)
{
    memset(&manifest, 0, sizeof manifest);
    crow_picker_config_t cfg = {.manifest = &manifest, .max_neighbours = 1, .max_depth = 1};
    ck_assert_int_eq(crow_picker_new(&cfg, &picker), CROW_EUSAGE);
    setup(true, false);
    crow_picker_free(picker);
    crow_picker_config_t one = {.manifest = &manifest, .max_neighbours = 1, .max_depth = 1};
    ck_assert_int_eq(crow_picker_new(&one, &picker), 0);
    ck_assert_int_eq(crow_picker_join(picker, &remotes[0], 1, true), 0);
    ck_assert_int_eq(crow_picker_join(picker, &remotes[1], 1, true), CROW_ELIMIT);
    teardown();
}
END_TEST

/* A rack neighbour claims every piece and lets its requests expire: the chain head then fetches from
 * another rack what only that neighbour claimed, and ranks it after everyone; once it delivers a
 * block it counts again. */
START_TEST(test_unresponsive_loses_rack_place)
{
    setup(true, false);
    int liar = seed(0, 1, true, 4, PIECE);
    int far = seed(1, 1000, false, 4, PIECE);
    crow_block_t b;
    ck_assert(!crow_picker_pick(picker, far, 100, &b)); /* the rack "has" every piece */
    ck_assert(crow_picker_pick(picker, liar, 100, &b));
    assert_block(&b, 0, 0, PIECE);
    ck_assert(!crow_picker_next_expired(picker, liar, 99, &b));
    ck_assert(crow_picker_next_expired(picker, liar, 100, &b));
    ck_assert(crow_picker_is_unresponsive(picker, liar));
    crow_picker_needs_t needs;
    crow_picker_needs(picker, &needs);
    ck_assert_uint_eq(needs.unserved, 0); /* the far seed may be asked for all of them now */
    for (uint32_t piece = 0; piece < 3; piece++) {
        ck_assert(crow_picker_pick(picker, far, 200, &b));
        ck_assert_uint_eq(b.piece, piece);
    }
    /* Only the far seed is asked, and the liar gets no endgame duplicate either. */
    ck_assert(crow_picker_pick(picker, far, 200, &b));
    ck_assert_uint_eq(b.piece, 3);
    ck_assert(!crow_picker_pick(picker, liar, 200, &b));
    /* The far seed leaves: the liar is the last resort, and delivers after all (it was slow). Its
     * claims count again: a far seed that comes back is not asked for what the rack has. */
    crow_picker_leave(picker, far);
    ck_assert(crow_picker_pick(picker, liar, 300, &b));
    ck_assert(crow_picker_received(picker, liar, b.piece, b.begin, b.length));
    ck_assert(!crow_picker_is_unresponsive(picker, liar));
    far = seed(1, 1000, false, 4, PIECE);
    ck_assert(!crow_picker_pick(picker, far, 300, &b));
    teardown();
}
END_TEST

/* Not rack neighbours, nor the head: an unresponsive neighbour's pieces leave "needs" as unserved. */
START_TEST(test_unresponsive_counts_as_unserved)
{
    setup(false, false);
    int liar = seed(0, 1, true, 4, PIECE);
    crow_picker_needs_t needs;
    crow_picker_needs(picker, &needs);
    ck_assert_uint_eq(needs.unserved, 0);
    crow_picker_unresponsive(picker, liar);
    crow_picker_needs(picker, &needs);
    ck_assert_uint_eq(needs.unserved, 4);
    teardown();
}
END_TEST

static uint32_t lcg(uint32_t *state)
{
    *state = *state * 1103515245u + 12345u;
    return *state >> 16;
}

/* Requests a simulated neighbour holds (what the picker gave it, less what expired or was cancelled). */
struct held {
    crow_block_t b[64];
    int n;
};

static void held_drop(struct held *h, const crow_block_t *b)
{
    for (int k = 0; k < h->n; k++)
        if (h->b[k].piece == b->piece && h->b[k].begin == b->begin && h->b[k].length == b->length) {
            h->b[k] = h->b[--h->n];
            return;
        }
}

/* Random schedules: four neighbours, each a liar (claims everything, never delivers) or honest
 * (delivers one held request with probability 1/2 per step), at random places, with random request
 * sizes and depths; an honest neighbour the rules let us use always exists. Every piece arrives, from
 * honest neighbours only, within a bound: a liar costs request timeouts, not the transfer. */
START_TEST(test_random_schedules_with_liars)
{
    uint32_t rng = 7919u * (uint32_t)_i + 1;
    bool head = lcg(&rng) % 2;
    setup(head, false);
    bool liar[4], usable = false;
    int ids[4];
    static struct held held[4];
    for (int i = 0; i < 4; i++) {
        held[i].n = 0;
        liar[i] = lcg(&rng) % 2;
        bool same_rack = lcg(&rng) % 3 != 0;
        if (i == 3 && !usable) { /* someone honest may be asked */
            liar[i] = false;
            same_rack = true;
        }
        usable |= !liar[i] && (same_rack || head);
        ids[i] = seed(i, same_rack ? 1 + lcg(&rng) % 3 : 1000, same_rack, 1 + lcg(&rng) % 4,
                      CHUNK * (1 + lcg(&rng) % 4));
    }
    const uint64_t timeout = 10;
    uint64_t now = 0;
    for (; now < 400 && crow_picker_missing(picker); now++) {
        crow_block_t b;
        for (int i = 0; i < 4; i++) {
            while (crow_picker_next_expired(picker, ids[i], now, &b))
                held_drop(&held[i], &b);
            while (crow_picker_next_cancel(picker, ids[i], &b))
                held_drop(&held[i], &b);
            while (held[i].n < 64 && crow_picker_pick(picker, ids[i], now + timeout, &b))
                held[i].b[held[i].n++] = b;
        }
        for (int i = 0; i < 4; i++) {
            if (liar[i] || !held[i].n || lcg(&rng) % 2)
                continue;
            b = held[i].b[lcg(&rng) % held[i].n];
            held_drop(&held[i], &b);
            crow_picker_extend(picker, ids[i], now + timeout);
            crow_picker_received(picker, ids[i], b.piece, b.begin, b.length);
        }
    }
    ck_assert_msg(!crow_picker_missing(picker), "seed %d: %llu chunks missing after %llu steps", _i,
                  (unsigned long long)crow_picker_missing(picker), (unsigned long long)now);
    for (int i = 0; i < 4; i++) {
        crow_picker_stats_t st;
        crow_picker_neighbour_stats(picker, ids[i], &st);
        if (liar[i])
            ck_assert_uint_eq(st.received, 0);
    }
    teardown();
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("picker");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, test_missing_chunks_merged_within_piece);
    tcase_add_test(tc, test_frontier_rule);
    tcase_add_test(tc, test_chain_head_rule);
    tcase_add_test(tc, test_nearest_first);
    tcase_add_test(tc, test_timeout_rerequests_elsewhere);
    tcase_add_test(tc, test_delivering_neighbour_keeps_its_requests);
    tcase_add_test(tc, test_endgame_duplicates_with_cancel);
    tcase_add_test(tc, test_endgame_only_idle_neighbours_duplicate_the_tail);
    tcase_add_test(tc, test_no_duplicates_before_the_end);
    tcase_add_test(tc, test_multicast_arrival_cancels_request);
    tcase_add_test(tc, test_config_and_slots);
    tcase_add_test(tc, test_unresponsive_loses_rack_place);
    tcase_add_test(tc, test_unresponsive_counts_as_unserved);
    tcase_add_test(tc, test_untouched_pieces_wait_for_the_stream);
    tcase_add_loop_test(tc, test_random_schedules_with_liars, 0, 500);
    suite_add_tcase(s, tc);
    return s;
}
