/* The peer session engine fed what hostile peers could send, under a fake clock: two connections
 * share one context (one unchoke slot between them) and one picker, as a getter's do. The first byte
 * sets our side (pieces held, whether we download, our rack and position); then each step is an
 * opcode byte: action (op & 3), connection ((op >> 2) & 1), argument (op >> 3):
 *   0  bytes from the peer: a record appended to that connection's receive stream, consumed message
 *      by message as the I/O layer does
 *   1  arg^2 * 100 ms pass, then both connections flush
 *   2  serve what the peer asked for; with arg 8..15 the tracker moves us first (a rack and position
 *      from arg), with arg >= 16 close the connection and accept a new one instead
 *   3  piece arg % 8 hashes good (arg & 8) or bad
 * Blocks handed out stay inside the release and the receive buffer; served requests are for pieces we
 * hold; a session that returns an error is only freed (and replaced), as the I/O layer does; when every
 * session is gone the unchoke slots are all back. */
#include "crowcast/error.h"
#include "crowcast/log.h"
#include "crowcast/peer_session.h"
#include "fuzz.h"
#include "fuzz_release.h"

#define MS    1000000ull
#define CONNS 2

static const char *const racks[4] = {NULL, "r1", "r2", "a-very-long-rack-name-0123456789"};

struct conn {
    crow_peer_session_t *s;
    uint8_t *in;
    size_t in_len, in_cap;
};

struct harness {
    crow_manifest_t m;
    crow_bitfield_t have;
    crow_picker_t *picker;
    crow_peer_context_t ctx;
    struct conn conns[CONNS];
    crow_outbuf_t out;
    uint64_t now;
};

static void conn_open(struct harness *h, struct conn *c, uint32_t distance)
{
    if (crow_peer_session_new(&h->ctx, distance, distance < 2, h->now, &c->s) != 0)
        abort();
    c->in_cap = crow_peer_session_max_message(c->s);
    c->in = malloc(c->in_cap);
    if (!c->in)
        abort();
    c->in_len = 0;
    FUZZ_ASSERT(h->out.cap >= crow_peer_session_min_out(c->s));
}

static void conn_close(struct conn *c)
{
    crow_peer_session_free(c->s);
    free(c->in);
    c->s = NULL;
    c->in = NULL;
}

static void verified(struct harness *h, uint32_t piece, bool good)
{
    if (piece >= h->m.piece_count || crow_bitfield_get(&h->have, piece))
        return;
    if (!good) {
        if (h->picker)
            crow_picker_piece_failed(h->picker, piece);
        return;
    }
    crow_bitfield_set(&h->have, piece);
    if (h->picker)
        crow_picker_piece_verified(h->picker, piece);
    for (int i = 0; i < CONNS; i++)
        crow_peer_session_have(h->conns[i].s, piece);
}

/* Consumes what the receive buffer holds; returns false when the session failed. */
static bool receive(struct harness *h, struct conn *c)
{
    size_t used = 0;
    while (used < c->in_len) {
        crow_peer_event_t ev;
        long n = crow_peer_session_receive(c->s, c->in + used, c->in_len - used, h->now, &ev);
        if (n == CROW_EMORE)
            break;
        if (n < 0)
            return false;
        FUZZ_ASSERT(n > 0 && (size_t)n <= c->in_len - used);
        if (ev.type == CROW_PEER_EV_BLOCK) {
            const crow_block_t *b = &ev.block;
            FUZZ_ASSERT(b->piece < h->m.piece_count && b->length > 0);
            FUZZ_ASSERT((uint64_t)b->begin + b->length <= crow_manifest_piece_size(&h->m, b->piece));
            FUZZ_ASSERT(ev.data >= c->in + used && ev.data + b->length <= c->in + used + (size_t)n);
            if (h->picker && crow_picker_piece_filled(h->picker, b->piece))
                verified(h, b->piece, (b->begin & 1u) == 0);
        }
        used += (size_t)n;
    }
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
    return true;
}

static bool serve(struct harness *h, struct conn *c)
{
    crow_block_t b;
    while (crow_peer_session_next_serve(c->s, &b)) {
        FUZZ_ASSERT(b.piece < h->m.piece_count && crow_bitfield_get(&h->have, b.piece));
        FUZZ_ASSERT((uint64_t)b.begin + b.length <= crow_manifest_piece_size(&h->m, b.piece));
        if (crow_peer_session_piece_header(c->s, &b, &h->out) != 0)
            break;
        h->out.len = 0; /* the header and the block "went out" */
    }
    return true;
}

static bool flush(struct harness *h, struct conn *c)
{
    int ret = crow_peer_session_flush(c->s, h->now, &h->out);
    FUZZ_ASSERT(h->out.len <= h->out.cap);
    h->out.len = 0;
    return ret >= 0;
}

/* One step; false when the input is used up. A connection whose session failed is replaced. */
static bool step(struct harness *h, fuzz_input_t *in)
{
    if (in->left == 0)
        return false;
    uint8_t op = fuzz_byte(in), arg = op >> 3;
    struct conn *c = &h->conns[(op >> 2) & 1u];
    bool alive = true;
    switch (op & 3u) {
    case 0: {
        size_t len;
        uint8_t *rec = fuzz_record(in, &len);
        if (!rec)
            return false;
        size_t take = len < c->in_cap - c->in_len ? len : c->in_cap - c->in_len;
        memcpy(c->in + c->in_len, rec, take);
        c->in_len += take;
        free(rec);
        alive = receive(h, c);
        break;
    }
    case 1:
        h->now += (uint64_t)arg * arg * 100 * MS;
        for (int i = 0; i < CONNS; i++)
            if (!flush(h, &h->conns[i])) {
                conn_close(&h->conns[i]);
                conn_open(h, &h->conns[i], (uint32_t)i + 1);
            }
        break;
    case 2:
        if (arg >= 8 && arg < 16) {
            crow_peer_context_set_place(&h->ctx, racks[arg & 3u], arg & 4u ? -1 : (int64_t)(arg & 3u));
            for (int i = 0; i < CONNS; i++) /* the tracker places the remotes anew */
                crow_peer_session_set_link(h->conns[i].s, 1 + (arg & 3u), !(arg & 4u));
        }
        alive = arg < 16 && serve(h, c);
        break;
    default:
        verified(h, arg % 8u, arg & 8u);
        break;
    }
    if (!alive) {
        conn_close(c);
        conn_open(h, c, arg % 4u);
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t id[CROW_WIRE_ID_LEN] = "-CW0001-fuzzfuzzfuzz";
    crow_log_set_level(CROW_LOG_ERROR);
    fuzz_input_t in = fuzz_input(data, size);
    uint8_t setup = fuzz_byte(&in);
    struct harness h = {.now = 1000 * MS};
    fuzz_release(&h.m);
    if (crow_bitfield_init(&h.have, FUZZ_PIECES) != 0)
        abort();
    for (uint32_t i = 0; i < FUZZ_PIECES; i++)
        if (setup & (1u << i))
            crow_bitfield_set(&h.have, i);
    if (setup & 0x20) {
        crow_picker_config_t pc = {
            .manifest = &h.m, .max_neighbours = CONNS, .max_depth = 8, .chain_head = true};
        if (crow_picker_new(&pc, &h.picker) != 0)
            abort();
        for (uint32_t i = 0; i < FUZZ_PIECES; i++)
            if (crow_bitfield_get(&h.have, i))
                crow_picker_piece_verified(h.picker, i);
    }
    crow_peer_config_t cfg;
    crow_peer_config_default(&cfg);
    cfg.manifest = &h.m;
    cfg.peer_id = id;
    cfg.have = &h.have;
    cfg.picker = h.picker;
    cfg.client = "crowcast fuzz";
    cfg.rack = racks[(setup >> 6) & 3u];
    cfg.pos = cfg.rack ? (setup >> 6) : -1;
    cfg.max_request = CROW_WIRE_STOCK_BLOCK;
    cfg.max_depth = 8;
    cfg.reqq = 4;
    cfg.unchoke_limit = 1;
    if (crow_peer_context_init(&h.ctx, &cfg) != 0)
        abort();
    h.out.cap = 4096;
    h.out.data = malloc(h.out.cap);
    if (!h.out.data)
        abort();
    for (int i = 0; i < CONNS; i++)
        conn_open(&h, &h.conns[i], (uint32_t)i + 1);
    while (step(&h, &in))
        FUZZ_ASSERT(h.ctx.unchoked <= cfg.unchoke_limit);
    for (int i = 0; i < CONNS; i++)
        conn_close(&h.conns[i]);
    FUZZ_ASSERT(h.ctx.unchoked == 0);
    free(h.out.data);
    crow_picker_free(h.picker);
    crow_bitfield_dispose(&h.have);
    return 0;
}
