/* Peer session: sessions wired together in memory under a fake clock (a release exchanged in both
 * directions, a stalled neighbour replaced after a request timeout), a stock peer getting 16 KiB
 * requests, hostile input closing the connection with a reason, and the receive-buffer bound. */
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/peer_session.h"
#include "check_main.h"

#define PIECE   32768u
#define PIECES  7u /* not a multiple of 8: the bitfield has spare bits */
#define TOTAL   ((PIECES - 1) * PIECE + 5000u)
#define MS      1000000ull
#define OUT_CAP (4u << 20)

static crow_manifest_t manifest;
static uint8_t source[TOTAL];
static uint64_t now;

/* One process: its storage, verified pieces, picker and session context. */
struct node {
    uint8_t data[TOTAL];
    crow_bitfield_t have;
    crow_picker_t *picker;
    crow_peer_context_t ctx;
    uint8_t id[CROW_WIRE_ID_LEN];
    struct conn *conns[4];
    int nconns;
};

/* One end of a connection: the session, its out buffer and its receive buffer. */
struct conn {
    struct node *node;
    crow_peer_session_t *s;
    crow_outbuf_t out;
    uint8_t *in;
    size_t in_len, in_cap;
    int closed; /* the negative code that closed it, 0 while open */
    bool deaf;  /* drop everything sent to it (a stalled peer) */
    uint32_t blocks, largest_block;
};

static void init_manifest(void)
{
    memset(&manifest, 0, sizeof manifest);
    manifest.total_length = TOTAL;
    manifest.piece_length = PIECE;
    manifest.piece_count = PIECES;
    manifest.chunk_size = 1408;
    memset(manifest.info_hash, 0x5a, sizeof manifest.info_hash);
    for (size_t i = 0; i < TOTAL; i++)
        source[i] = (uint8_t)(i * 131 + (i >> 9));
}

static void node_init(struct node *n, char name, bool downloads, bool multicast, uint32_t pipeline_bytes)
{
    memset(n, 0, sizeof *n);
    memset(n->id, name, sizeof n->id);
    ck_assert_int_eq(crow_bitfield_init(&n->have, PIECES), 0);
    if (downloads) {
        crow_picker_config_t pc = {.manifest = &manifest,
                                   .max_neighbours = 4,
                                   .max_depth = 64,
                                   .chain_head = true,
                                   .multicast = multicast};
        ck_assert_int_eq(crow_picker_new(&pc, &n->picker), 0);
    }
    crow_peer_config_t cfg;
    crow_peer_config_default(&cfg);
    cfg.manifest = &manifest;
    cfg.peer_id = n->id;
    cfg.have = &n->have;
    cfg.picker = n->picker;
    cfg.client = "crowcast test";
    cfg.pipeline_bytes = pipeline_bytes;
    cfg.request_timeout = 500 * MS;
    ck_assert_int_eq(crow_peer_context_init(&n->ctx, &cfg), 0);
}

static void node_give(struct node *n, uint32_t piece)
{
    uint64_t off = (uint64_t)piece * PIECE;
    uint32_t size = crow_manifest_piece_size(&manifest, piece);
    memcpy(n->data + off, source + off, size);
    crow_bitfield_set(&n->have, piece);
    if (n->picker)
        crow_picker_piece_verified(n->picker, piece);
}

static void node_dispose(struct node *n)
{
    crow_picker_free(n->picker);
    crow_bitfield_dispose(&n->have);
}

static struct conn *conn_new_link(struct node *n, uint32_t distance, bool same_rack)
{
    struct conn *c = calloc(1, sizeof *c);
    c->node = n;
    ck_assert_int_eq(crow_peer_session_new(&n->ctx, distance, same_rack, now, &c->s), 0);
    c->out.data = malloc(OUT_CAP);
    c->out.cap = OUT_CAP;
    ck_assert_uint_ge(OUT_CAP, crow_peer_session_min_out(c->s));
    c->in_cap = crow_peer_session_max_message(c->s);
    c->in = malloc(c->in_cap);
    n->conns[n->nconns++] = c;
    return c;
}

static struct conn *conn_new(struct node *n, uint32_t distance)
{
    return conn_new_link(n, distance, true);
}

static void conn_free(struct conn *c)
{
    crow_peer_session_free(c->s);
    free(c->out.data);
    free(c->in);
    free(c);
}

/* A piece filled up: verify it against the source, like the SHA-256 check would. */
static void check_piece(struct node *n, uint32_t piece)
{
    if (!crow_picker_piece_filled(n->picker, piece) || crow_bitfield_get(&n->have, piece))
        return;
    uint64_t off = (uint64_t)piece * PIECE;
    if (memcmp(n->data + off, source + off, crow_manifest_piece_size(&manifest, piece)) != 0) {
        crow_picker_piece_failed(n->picker, piece);
        return;
    }
    crow_bitfield_set(&n->have, piece);
    crow_picker_piece_verified(n->picker, piece);
    for (int i = 0; i < n->nconns; i++)
        crow_peer_session_have(n->conns[i]->s, piece);
}

static void serve(struct conn *c)
{
    crow_block_t b;
    while (c->out.cap - c->out.len >= CROW_WIRE_PIECE_HEADER_LEN + c->node->ctx.cfg.max_request &&
           crow_peer_session_next_serve(c->s, &b)) {
        ck_assert_int_eq(crow_peer_session_piece_header(c->s, &b, &c->out), 0);
        memcpy(c->out.data + c->out.len, c->node->data + (uint64_t)b.piece * PIECE + b.begin, b.length);
        c->out.len += b.length;
    }
}

/* Feeds the receive buffer to the session; returns true when anything was consumed. */
static bool receive(struct conn *c)
{
    bool progress = false;
    while (!c->closed) {
        crow_peer_event_t ev;
        long n = crow_peer_session_receive(c->s, c->in, c->in_len, now, &ev);
        if (n == CROW_EMORE)
            break;
        if (n < 0) {
            c->closed = (int)n;
            break;
        }
        if (ev.type == CROW_PEER_EV_BLOCK) {
            memcpy(c->node->data + (uint64_t)ev.block.piece * PIECE + ev.block.begin, ev.data,
                   ev.block.length);
            c->blocks++;
            if (ev.block.length > c->largest_block)
                c->largest_block = ev.block.length;
            check_piece(c->node, ev.block.piece);
        }
        memmove(c->in, c->in + n, c->in_len - (size_t)n);
        c->in_len -= (size_t)n;
        progress = true;
    }
    serve(c);
    return progress;
}

/* Moves bytes from a's out buffer into b's receive buffer, as far as it has room (TCP backpressure). */
static bool transmit(struct conn *a, struct conn *b)
{
    if (b->deaf) {
        bool had = a->out.len > 0;
        a->out.len = 0;
        return had;
    }
    size_t n = a->out.len < b->in_cap - b->in_len ? a->out.len : b->in_cap - b->in_len;
    memcpy(b->in + b->in_len, a->out.data, n);
    b->in_len += n;
    memmove(a->out.data, a->out.data + n, a->out.len - n);
    a->out.len -= n;
    return n > 0;
}

static void flush(struct conn *c)
{
    if (c->closed)
        return;
    int ret = crow_peer_session_flush(c->s, now, &c->out);
    if (ret < 0)
        c->closed = ret;
    if (ret == 1) /* chunks went back to the pool: everyone else may take them */
        for (int i = 0; i < c->node->nconns; i++)
            if (c->node->conns[i] != c && !c->node->conns[i]->closed)
                crow_peer_session_flush(c->node->conns[i]->s, now, &c->node->conns[i]->out);
}

/* Runs a set of connection pairs until nothing moves or max_rounds passed; one round is a
 * millisecond. Returns true on quiescence. */
static bool run(struct conn **pairs, int npairs, int max_rounds)
{
    for (int round = 0; round < max_rounds; round++) {
        bool moved = false;
        for (int i = 0; i < npairs; i++) {
            struct conn *a = pairs[2 * i], *b = pairs[2 * i + 1];
            flush(a);
            flush(b);
            moved |= transmit(a, b);
            moved |= transmit(b, a);
            moved |= receive(a);
            moved |= receive(b);
        }
        if (!moved)
            return true;
        now += MS;
    }
    return false;
}

static void pump(struct conn **pairs, int npairs)
{
    ck_assert_msg(run(pairs, npairs, 10000), "no quiescence");
}

START_TEST(test_exchange_both_directions)
{
    init_manifest();
    static struct node a, b;
    node_init(&a, 'a', true, false, 16u << 20);
    node_init(&b, 'b', true, false, 16u << 20);
    for (uint32_t i = 0; i < PIECES; i++)
        node_give(i % 2 ? &b : &a, i);
    struct conn *pair[2] = {conn_new(&a, 1), conn_new(&b, 1)};
    pump(pair, 1);
    ck_assert_int_eq(pair[0]->closed, 0);
    ck_assert_int_eq(pair[1]->closed, 0);
    ck_assert(crow_bitfield_full(&a.have));
    ck_assert(crow_bitfield_full(&b.have));
    ck_assert_int_eq(memcmp(a.data, source, TOTAL), 0);
    ck_assert_int_eq(memcmp(b.data, source, TOTAL), 0);
    crow_peer_info_t info;
    crow_peer_session_info(pair[0]->s, &info);
    ck_assert(info.crowcast);
    ck_assert_str_eq(info.client, "crowcast test");
    ck_assert_uint_eq(info.request_size, 1u << 20);
    ck_assert_uint_eq(info.remote_pieces, PIECES); /* the HAVEs arrived */
    ck_assert(!info.am_interested);
    ck_assert_int_eq(memcmp(info.peer_id, b.id, CROW_WIRE_ID_LEN), 0);
    /* Every block came whole in one message: a piece at a time with 1 MiB requests. */
    ck_assert_uint_eq(pair[0]->blocks, 3);
    ck_assert_uint_le(pair[0]->largest_block, crow_peer_session_max_message(pair[0]->s));
    crow_picker_stats_t st;
    crow_picker_total_stats(a.picker, &st);
    ck_assert_uint_eq(st.received, 3 * PIECE); /* exactly the odd pieces, nothing twice */
    ck_assert_uint_eq(st.wasted, 0);
    crow_peer_session_info(pair[1]->s, &info);
    ck_assert_uint_eq(info.bytes_served, 3 * PIECE);
    conn_free(pair[0]);
    conn_free(pair[1]);
    node_dispose(&a);
    node_dispose(&b);
}
END_TEST

START_TEST(test_timeout_rerequests_from_another_neighbour)
{
    init_manifest();
    static struct node getter, s1, s2;
    /* One piece in flight per neighbour. The multicast stream is still running (it has passed all
     * but the last piece, which came whole), so no endgame duplicate hides the stall. */
    node_init(&getter, 'g', true, true, PIECE);
    node_give(&getter, PIECES - 1);
    crow_picker_set_frontier(getter.picker, (PIECES - 1) * PIECE);
    node_init(&s1, '1', false, false, PIECE);
    node_init(&s2, '2', false, false, PIECE);
    for (uint32_t i = 0; i < PIECES; i++) {
        node_give(&s1, i);
        node_give(&s2, i);
    }
    struct conn *near = conn_new(&getter, 1), *far = conn_new(&getter, 2);
    struct conn *pairs[4] = {near, conn_new(&s1, 1), far, conn_new(&s2, 2)};
    /* The near seed stalls right after the handshake: it unchokes us and then never answers. */
    for (int i = 0; i < 50; i++) {
        crow_peer_info_t info;
        crow_peer_session_info(near->s, &info);
        if (!info.peer_choking && crow_picker_outstanding(getter.picker, info.picker_id))
            break;
        run(pairs, 1, 1);
    }
    near->deaf = true;
    pump(pairs, 2);
    ck_assert(!crow_bitfield_full(&getter.have)); /* one piece is stuck at the stalled neighbour */
    ck_assert_uint_eq(getter.have.count, PIECES - 1);
    now += 600 * MS; /* past the request timeout */
    pump(pairs, 2);
    ck_assert(crow_bitfield_full(&getter.have));
    ck_assert_int_eq(memcmp(getter.data, source, TOTAL), 0);
    crow_peer_info_t info;
    crow_peer_session_info(near->s, &info);
    crow_picker_stats_t st;
    crow_picker_neighbour_stats(getter.picker, info.picker_id, &st);
    ck_assert_uint_eq(st.timeouts, 1);
    ck_assert_uint_eq(st.received, 0);
    for (int i = 0; i < 4; i++)
        conn_free(pairs[i]);
    node_dispose(&getter);
    node_dispose(&s1);
    node_dispose(&s2);
}
END_TEST

/* A connection accepted before the tracker named its peer counts as an unknown, far neighbour: a node
 * that is not its rack's chain head asks it nothing, whatever rack and position the peer claims in its
 * handshake (ours match its claim). Once the tracker places it in our rack, it serves everything. */
START_TEST(test_claimed_place_not_believed)
{
    init_manifest();
    static struct node g, s;
    node_init(&g, 'g', true, false, 16u << 20);
    crow_picker_set_chain_head(g.picker, false);
    node_init(&s, 's', false, false, 16u << 20);
    for (uint32_t i = 0; i < PIECES; i++)
        node_give(&s, i);
    crow_peer_context_set_place(&s.ctx, "r1", 0);
    crow_peer_context_set_place(&g.ctx, "r1", 1);
    struct conn *pair[2] = {conn_new_link(&g, UINT32_MAX / 2, false), conn_new(&s, 1)};
    pump(pair, 1);
    crow_peer_info_t info;
    crow_peer_session_info(pair[0]->s, &info);
    ck_assert_str_eq(info.rack, "r1"); /* claimed, reported, not believed */
    ck_assert_int_eq(info.pos, 0);
    ck_assert_uint_eq(g.have.count, 0);
    crow_peer_session_set_link(pair[0]->s, 1, true);
    pump(pair, 1);
    ck_assert(crow_bitfield_full(&g.have));
    ck_assert_int_eq(memcmp(g.data, source, TOTAL), 0);
    ck_assert_int_eq(pair[0]->closed, 0);
    conn_free(pair[0]);
    conn_free(pair[1]);
    node_dispose(&g);
    node_dispose(&s);
}
END_TEST

/* A rack neighbour claims every piece and never answers: either it keeps us choked, or it unchokes
 * us and then goes silent. Its claims keep the chain head from fetching
 * outside the rack only until request_timeout: then another rack's seed serves everything. */
START_TEST(test_silent_liar_loses_its_place)
{
    bool stalls_after_unchoke = _i;
    init_manifest();
    static struct node g, liar, far;
    node_init(&g, 'g', true, false, 16u << 20);
    node_init(&liar, 'l', false, false, 16u << 20);
    node_init(&far, 'f', false, false, 16u << 20);
    for (uint32_t i = 0; i < PIECES; i++) {
        node_give(&liar, i);
        node_give(&far, i);
    }
    struct conn *to_liar = conn_new_link(&g, 1, true), *to_far = conn_new_link(&g, 1000, false);
    struct conn *liar_end = conn_new(&liar, 1);
    struct conn *pairs[4] = {to_liar, liar_end, to_far, conn_new(&far, 1)};
    crow_peer_info_t info;
    crow_peer_session_info(to_liar->s, &info);
    int liar_id = info.picker_id;
    if (stalls_after_unchoke) {
        for (int i = 0; i < 50 && !crow_picker_outstanding(g.picker, liar_id); i++)
            run(pairs, 1, 1);
        ck_assert_uint_gt(crow_picker_outstanding(g.picker, liar_id), 0);
        to_liar->deaf = true; /* what it sends never arrives */
    } else {
        liar.ctx.cfg.unchoke_limit = 0;
    }
    pump(pairs, 2);
    ck_assert_uint_eq(g.have.count, 0); /* the rack "has" everything: nothing from outside yet */
    ck_assert(!crow_picker_is_unresponsive(g.picker, liar_id));
    uint64_t start = now;
    now += 500 * MS; /* the request timeout */
    pump(pairs, 2);
    ck_assert(crow_picker_is_unresponsive(g.picker, liar_id));
    ck_assert(crow_bitfield_full(&g.have));
    ck_assert_int_eq(memcmp(g.data, source, TOTAL), 0);
    ck_assert_uint_lt(now - start, 600 * MS);
    crow_picker_stats_t st;
    crow_picker_neighbour_stats(g.picker, liar_id, &st);
    ck_assert_uint_eq(st.received, 0);
    for (int i = 0; i < 4; i++)
        conn_free(pairs[i]);
    node_dispose(&g);
    node_dispose(&liar);
    node_dispose(&far);
}
END_TEST

/* A session of a downloading node fed by hand-made remote bytes. */
static struct node solo;
static struct conn *me;

static void solo_setup(void)
{
    init_manifest();
    node_init(&solo, 's', true, false, 16u << 20);
    node_give(&solo, 0);
    me = conn_new(&solo, 1);
}

static void solo_teardown(void)
{
    conn_free(me);
    node_dispose(&solo);
}

static long feed(const uint8_t *bytes, size_t len)
{
    crow_peer_event_t ev;
    long ret = crow_peer_session_receive(me->s, bytes, len, now, &ev);
    return ret;
}

static void feed_handshake(bool ext)
{
    crow_wire_handshake_t hs = {0};
    if (ext)
        hs.reserved[CROW_WIRE_EXT_BYTE] = CROW_WIRE_EXT_BIT;
    memcpy(hs.info_hash, manifest.info_hash, CROW_WIRE_ID_LEN);
    memset(hs.peer_id, 'r', CROW_WIRE_ID_LEN);
    uint8_t buf[CROW_WIRE_HANDSHAKE_LEN];
    crow_wire_encode_handshake(buf, &hs);
    ck_assert_int_eq(feed(buf, sizeof buf), CROW_WIRE_HANDSHAKE_LEN);
}

START_TEST(test_stock_peer_gets_16k_requests)
{
    solo_setup();
    feed_handshake(false);
    uint8_t buf[64];
    uint8_t bits = 0xfe;
    ck_assert_int_eq(feed(buf, (size_t)(crow_wire_encode_bitfield(buf, &bits, 1) - buf)), 6);
    ck_assert_int_eq(feed(buf, (size_t)(crow_wire_encode_state(buf, CROW_WIRE_UNCHOKE) - buf)), 5);
    ck_assert_int_eq(crow_peer_session_flush(me->s, now, &me->out), 0);
    /* handshake, our bitfield (piece 0), interested, then requests of at most 16 KiB; no
     * extension handshake since the peer did not announce BEP 10. */
    crow_wire_handshake_t hs;
    ck_assert_int_eq(crow_wire_decode_handshake(me->out.data, me->out.len, &hs, NULL),
                     CROW_WIRE_HANDSHAKE_LEN);
    ck_assert(crow_wire_handshake_has_ext(&hs));
    size_t pos = CROW_WIRE_HANDSHAKE_LEN;
    enum crow_wire_type seen[64];
    uint32_t requested = 0;
    int n = 0;
    while (pos < me->out.len && n < 64) {
        crow_wire_msg_t msg;
        long used = crow_wire_decode(me->out.data + pos, me->out.len - pos, 1u << 20, &msg, NULL);
        ck_assert_int_gt(used, 0);
        seen[n++] = msg.type;
        if (msg.type == CROW_WIRE_REQUEST) {
            ck_assert_uint_le(msg.length, CROW_WIRE_STOCK_BLOCK);
            ck_assert_uint_ne(msg.index, 0); /* we have piece 0 */
            requested += msg.length;
        }
        pos += (size_t)used;
    }
    ck_assert_int_eq(seen[0], CROW_WIRE_BITFIELD);
    ck_assert_int_eq(seen[1], CROW_WIRE_INTERESTED);
    ck_assert_int_eq(seen[2], CROW_WIRE_REQUEST);
    ck_assert_uint_eq(requested, TOTAL - PIECE); /* 16 MiB pipeline covers the rest */
    crow_peer_info_t info;
    crow_peer_session_info(me->s, &info);
    ck_assert(!info.crowcast);
    ck_assert_uint_eq(info.request_size, CROW_WIRE_STOCK_BLOCK);
    /* CHOKE drops our requests: they go back to the picker and the others are woken. */
    crow_peer_event_t ev;
    ck_assert_int_eq(crow_peer_session_receive(
                         me->s, buf, (size_t)(crow_wire_encode_state(buf, CROW_WIRE_CHOKE) - buf), now, &ev),
                     5);
    ck_assert(ev.wake_others);
    ck_assert_uint_eq(crow_picker_outstanding(solo.picker, info.picker_id), 0);
    solo_teardown();
}
END_TEST

/* aria2 starting empty sends HAVEs, then its bitfield: the late bitfield adds its pieces (all are
 * then requested), and a late bitfield is still checked (spare bits close the connection). */
START_TEST(test_late_bitfield_merges)
{
    solo_setup();
    feed_handshake(false);
    uint8_t buf[64];
    ck_assert_int_eq(feed(buf, (size_t)(crow_wire_encode_state(buf, CROW_WIRE_UNCHOKE) - buf)), 5);
    ck_assert_int_eq(feed(buf, (size_t)(crow_wire_encode_have(buf, 1) - buf)), 9);
    uint8_t bits = 0xfe;
    ck_assert_int_eq(feed(buf, (size_t)(crow_wire_encode_bitfield(buf, &bits, 1) - buf)), 6);
    ck_assert_int_eq(crow_peer_session_flush(me->s, now, &me->out), 0);
    crow_peer_info_t info;
    crow_peer_session_info(me->s, &info);
    ck_assert_uint_eq(info.remote_pieces, PIECES);
    size_t pos = CROW_WIRE_HANDSHAKE_LEN;
    uint32_t requested = 0;
    while (pos < me->out.len) {
        crow_wire_msg_t msg;
        long used = crow_wire_decode(me->out.data + pos, me->out.len - pos, 1u << 20, &msg, NULL);
        ck_assert_int_gt(used, 0);
        if (msg.type == CROW_WIRE_REQUEST)
            requested += msg.length;
        pos += (size_t)used;
    }
    ck_assert_uint_eq(requested, TOTAL - PIECE);
    bits = 0xff;
    ck_assert_int_eq(feed(buf, (size_t)(crow_wire_encode_bitfield(buf, &bits, 1) - buf)), CROW_EPROTO);
    ck_assert_ptr_nonnull(strstr(crow_peer_session_reason(me->s), "spare bits"));
    solo_teardown();
}
END_TEST

/* Hostile or invalid input after a valid handshake: the session closes with a reason. */
static const struct {
    const char *name;
    uint8_t bytes[24];
    size_t len;
    int code;
    const char *reason;
} hostile[] = {
    {"4 GiB length prefix", {0xff, 0xff, 0xff, 0xff, 7}, 5, CROW_ELIMIT, "longer than allowed"},
    {"piece one byte over the buffer limit",
     {0, 0x10, 0, 0x0a, 7, 0, 0, 0, 1},
     9,
     CROW_ELIMIT,
     "longer than allowed"},
    {"bitfield with a spare bit", {0, 0, 0, 2, 5, 0xff}, 6, CROW_EPROTO, "spare bits"},
    {"bitfield too long", {0, 0, 0, 3, 5, 0xff, 0}, 7, CROW_EPROTO, "bitfield of 2 bytes"},
    {"have past the end", {0, 0, 0, 5, 4, 0, 0, 0, 7}, 9, CROW_EPROTO, "have for piece 7"},
    {"request past the last piece",
     {0, 0, 0, 13, 6, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0x40, 0},
     17,
     CROW_EPROTO,
     "request for piece 9"},
    {"request beyond the piece",
     {0, 0, 0, 13, 6, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0, 0, 0, 2},
     17,
     CROW_EPROTO,
     "beyond the end"},
    {"request larger than the max",
     {0, 0, 0, 13, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 1},
     17,
     CROW_EPROTO,
     "max 1048576"},
    {"request for a piece we lack",
     {0, 0, 0, 13, 6, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0x40, 0},
     17,
     CROW_EPROTO,
     "do not have"},
    {"block past the piece",
     {0, 0, 0, 11, 7, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 1, 2},
     15,
     CROW_EPROTO,
     "beyond the end"},
    {"lying have length", {0, 0, 0, 3, 4, 0, 0}, 7, CROW_EPROTO, "wrong length"},
    {"garbage extension handshake", {0, 0, 0, 4, 20, 0, 'x', 'y'}, 8, CROW_EPROTO, "not valid bencode"},
};

START_TEST(test_hostile_input_closes)
{
    solo_setup();
    feed_handshake(true);
    ck_assert_int_eq(feed(hostile[_i].bytes, hostile[_i].len), hostile[_i].code);
    ck_assert_msg(strstr(crow_peer_session_reason(me->s), hostile[_i].reason), "%s: reason \"%s\"",
                  hostile[_i].name, crow_peer_session_reason(me->s));
    ck_assert_int_eq(crow_peer_session_flush(me->s, now, &me->out), CROW_ECLOSED);
    solo_teardown();
}
END_TEST

START_TEST(test_handshake_checks)
{
    solo_setup();
    crow_wire_handshake_t hs = {0};
    memset(hs.info_hash, 0x11, CROW_WIRE_ID_LEN);
    uint8_t buf[CROW_WIRE_HANDSHAKE_LEN];
    crow_wire_encode_handshake(buf, &hs);
    ck_assert_int_eq(feed(buf, 40), CROW_EMORE); /* truncated: wait */
    ck_assert_int_eq(feed(buf, sizeof buf), CROW_EPROTO);
    ck_assert_str_eq(crow_peer_session_reason(me->s), "unknown info hash");
    solo_teardown();

    solo_setup();
    memcpy(hs.info_hash, manifest.info_hash, CROW_WIRE_ID_LEN);
    memcpy(hs.peer_id, solo.id, CROW_WIRE_ID_LEN);
    crow_wire_encode_handshake(buf, &hs);
    ck_assert_int_eq(feed(buf, sizeof buf), CROW_EPROTO);
    ck_assert_str_eq(crow_peer_session_reason(me->s), "connected to ourselves");
    solo_teardown();

    solo_setup();
    buf[5] = 'X'; /* wrong protocol string */
    ck_assert_int_eq(feed(buf, 10), CROW_EPROTO);
    solo_teardown();

    solo_setup();
    now += 11000 * MS; /* no handshake within 10 s */
    ck_assert_int_eq(crow_peer_session_flush(me->s, now, &me->out), CROW_ETIMEOUT);
    solo_teardown();
}
END_TEST

START_TEST(test_requests_while_choked_dropped_and_queue_bounded)
{
    solo_setup();
    feed_handshake(true);
    uint8_t buf[32];
    size_t rl = (size_t)(crow_wire_encode_request(buf, CROW_WIRE_REQUEST, 0, 0, 16384) - buf);
    ck_assert_int_eq(feed(buf, rl), (long)rl); /* we choke it: dropped, not fatal */
    crow_peer_info_t info;
    crow_peer_session_info(me->s, &info);
    ck_assert_uint_eq(info.requests_dropped, 1);
    ck_assert_int_eq(feed(buf, (size_t)(crow_wire_encode_state(buf, CROW_WIRE_INTERESTED) - buf)), 5);
    ck_assert_int_eq(crow_peer_session_flush(me->s, now, &me->out), 0); /* unchokes it */
    crow_peer_session_info(me->s, &info);
    ck_assert(!info.am_choking);
    ck_assert_uint_eq(solo.ctx.unchoked, 1);
    rl = (size_t)(crow_wire_encode_request(buf, CROW_WIRE_REQUEST, 0, 0, 16384) - buf);
    for (uint32_t i = 0; i < solo.ctx.cfg.reqq; i++)
        ck_assert_int_eq(feed(buf, rl), (long)rl);
    /* A CANCEL takes one back out of the queue. */
    uint8_t cancel[32];
    size_t cl = (size_t)(crow_wire_encode_request(cancel, CROW_WIRE_CANCEL, 0, 0, 16384) - cancel);
    ck_assert_int_eq(feed(cancel, cl), (long)cl);
    ck_assert_int_eq(feed(buf, rl), (long)rl);
    ck_assert_int_eq(feed(buf, rl), CROW_EPROTO); /* past the advertised reqq */
    ck_assert_ptr_nonnull(strstr(crow_peer_session_reason(me->s), "queued requests"));
    solo_teardown();
    ck_assert_uint_eq(solo.ctx.unchoked, 0); /* freeing the session gave the slot back */
}
END_TEST

START_TEST(test_keepalive_and_idle)
{
    solo_setup();
    feed_handshake(true);
    ck_assert_int_eq(crow_peer_session_flush(me->s, now, &me->out), 0);
    me->out.len = 0;
    ck_assert_uint_eq(crow_peer_session_next_deadline(me->s), now + 60000 * MS);
    now += 60000 * MS;
    ck_assert_int_eq(crow_peer_session_flush(me->s, now, &me->out), 0);
    ck_assert_uint_eq(me->out.len, 4);
    ck_assert_int_eq(memcmp(me->out.data, "\0\0\0\0", 4), 0);
    now += 120000 * MS;
    ck_assert_int_eq(crow_peer_session_flush(me->s, now, &me->out), CROW_ETIMEOUT);
    ck_assert_str_eq(crow_peer_session_reason(me->s), "silent for too long");
    solo_teardown();
}
END_TEST

START_TEST(test_receive_buffer_bound)
{
    solo_setup();
    /* 1 MiB blocks plus the 13-byte header, and nothing more: a 64 GiB release would still fit. */
    ck_assert_uint_eq(crow_peer_session_max_message(me->s), 4 + 9 + (1u << 20));
    feed_handshake(true);
    /* A PIECE of exactly the limit passes framing (and is dropped as unsolicited). */
    size_t len = crow_peer_session_max_message(me->s);
    uint8_t *big = calloc(1, len);
    crow_wire_encode_piece_header(big, 1, 0, (uint32_t)(len - CROW_WIRE_PIECE_HEADER_LEN));
    ck_assert_int_eq(feed(big, len), CROW_EPROTO); /* 1 MiB is beyond a 32 KiB piece */
    free(big);
    solo_teardown();
}
END_TEST

/* Two peers that dialled each other agree on the one connection to keep: exactly one of them keeps
 * its dialled one, whichever way the ids compare, and it is the one dialled by the smaller id. */
START_TEST(test_both_ends_keep_the_same_of_two_connections)
{
    uint8_t a[CROW_WIRE_ID_LEN], b[CROW_WIRE_ID_LEN];
    for (int round = 0; round < 64; round++) {
        for (unsigned i = 0; i < CROW_WIRE_ID_LEN; i++) {
            a[i] = (uint8_t)(round * 7 + (int)i);
            b[i] = (uint8_t)(round * 7 + (int)i + (i == (unsigned)round % CROW_WIRE_ID_LEN ? 1 + round : 0));
        }
        ck_assert(crow_peer_keeps_dialled(a, b) != crow_peer_keeps_dialled(b, a));
        ck_assert(crow_peer_keeps_dialled(a, b) == (memcmp(a, b, CROW_WIRE_ID_LEN) < 0));
    }
    ck_assert(!crow_peer_keeps_dialled(a, a)); /* ourselves: never happens, and never keeps both */
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("peer_session");
    TCase *tc = tcase_create("session");
    tcase_add_test(tc, test_exchange_both_directions);
    tcase_add_test(tc, test_timeout_rerequests_from_another_neighbour);
    tcase_add_test(tc, test_claimed_place_not_believed);
    tcase_add_loop_test(tc, test_silent_liar_loses_its_place, 0, 2);
    tcase_add_test(tc, test_stock_peer_gets_16k_requests);
    tcase_add_test(tc, test_late_bitfield_merges);
    tcase_add_loop_test(tc, test_hostile_input_closes, 0, sizeof hostile / sizeof hostile[0]);
    tcase_add_test(tc, test_handshake_checks);
    tcase_add_test(tc, test_requests_while_choked_dropped_and_queue_bounded);
    tcase_add_test(tc, test_keepalive_and_idle);
    tcase_add_test(tc, test_receive_buffer_bound);
    tcase_add_test(tc, test_both_ends_keep_the_same_of_two_connections);
    suite_add_tcase(s, tc);
    return s;
}
