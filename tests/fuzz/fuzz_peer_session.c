/* The peer session engine fed what a hostile peer could send, under a fake clock. The first byte
 * sets our side (whether we download, our rack and position, which pieces we hold); then each step is
 * an opcode byte: bytes from the peer (a record appended to the receive stream and consumed message
 * by message), a flush after some time passes, serving what was asked, or a piece verifying. Blocks
 * handed out stay inside the release and the receive buffer; the session never writes past the out
 * buffer, and after an error it is only freed, as the I/O layer does. */
#include "crowcast/error.h"
#include "crowcast/log.h"
#include "crowcast/peer_session.h"
#include "fuzz.h"
#include "fuzz_release.h"

#define MS 1000000ull

struct harness {
    crow_manifest_t m;
    crow_bitfield_t have;
    crow_picker_t *picker;
    crow_peer_context_t ctx;
    crow_peer_session_t *s;
    crow_outbuf_t out;
    uint8_t *in;
    size_t in_len, in_cap;
    uint64_t now;
};

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
    crow_peer_session_have(h->s, piece);
}

/* Consumes what the receive buffer holds; returns false when the session closed. */
static bool receive(struct harness *h)
{
    size_t used = 0;
    while (used < h->in_len) {
        crow_peer_event_t ev;
        long n = crow_peer_session_receive(h->s, h->in + used, h->in_len - used, h->now, &ev);
        if (n == CROW_EMORE)
            break;
        if (n < 0)
            return false;
        FUZZ_ASSERT(n > 0 && (size_t)n <= h->in_len - used);
        if (ev.type == CROW_PEER_EV_BLOCK) {
            const crow_block_t *b = &ev.block;
            FUZZ_ASSERT(b->piece < h->m.piece_count && b->length > 0);
            FUZZ_ASSERT((uint64_t)b->begin + b->length <= crow_manifest_piece_size(&h->m, b->piece));
            FUZZ_ASSERT(ev.data >= h->in + used && ev.data + b->length <= h->in + used + (size_t)n);
            if (h->picker && crow_picker_piece_filled(h->picker, b->piece))
                verified(h, b->piece, (b->begin & 1u) == 0);
        }
        used += (size_t)n;
    }
    memmove(h->in, h->in + used, h->in_len - used);
    h->in_len -= used;
    return true;
}

static bool serve(struct harness *h)
{
    crow_block_t b;
    while (crow_peer_session_next_serve(h->s, &b)) {
        FUZZ_ASSERT(b.piece < h->m.piece_count && crow_bitfield_get(&h->have, b.piece));
        FUZZ_ASSERT((uint64_t)b.begin + b.length <= crow_manifest_piece_size(&h->m, b.piece));
        if (crow_peer_session_piece_header(h->s, &b, &h->out) != 0)
            return true;
        h->out.len = 0; /* the block bytes and the header "went out" */
    }
    return true;
}

static bool step(struct harness *h, fuzz_input_t *in)
{
    uint8_t op = fuzz_byte(in);
    switch (op & 3u) {
    case 0: { /* bytes from the peer */
        size_t len;
        uint8_t *rec = fuzz_record(in, &len);
        if (!rec)
            return false;
        size_t take = len < h->in_cap - h->in_len ? len : h->in_cap - h->in_len;
        memcpy(h->in + h->in_len, rec, take);
        h->in_len += take;
        free(rec);
        return receive(h);
    }
    case 1: /* time passes (up to ~64 s), then a flush */
        h->now += (uint64_t)(op >> 2) * (op & 0x80 ? 1000 : 10) * MS;
        if (crow_peer_session_flush(h->s, h->now, &h->out) < 0)
            return false;
        FUZZ_ASSERT(h->out.len <= h->out.cap);
        FUZZ_ASSERT(crow_peer_session_next_deadline(h->s) > 0);
        h->out.len = 0;
        return true;
    case 2:
        return serve(h);
    default:
        verified(h, (op >> 2) % 8u, op & 0x80);
        return true;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const racks[4] = {NULL, "r1", "r2", "a-very-long-rack-name-0123456789"};
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
        crow_picker_config_t pc = {.manifest = &h.m, .max_neighbours = 2, .max_depth = 8, .chain_head = true};
        if (crow_picker_new(&pc, &h.picker) != 0)
            abort();
        for (uint32_t i = 0; i < FUZZ_PIECES; i++)
            if (crow_bitfield_get(&h.have, i))
                crow_picker_piece_verified(h.picker, i);
    }
    static const uint8_t id[CROW_WIRE_ID_LEN] = "-CW0001-fuzzfuzzfuzz";
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
    if (crow_peer_context_init(&h.ctx, &cfg) != 0)
        abort();
    if (crow_peer_session_new(&h.ctx, 1, true, h.now, &h.s) != 0)
        abort();
    h.out.cap = crow_peer_session_min_out(h.s) + CROW_WIRE_PIECE_HEADER_LEN;
    h.out.data = malloc(h.out.cap);
    h.in_cap = crow_peer_session_max_message(h.s);
    h.in = malloc(h.in_cap);
    if (!h.out.data || !h.in)
        abort();
    while (in.left > 0 && step(&h, &in))
        ;
    crow_peer_session_free(h.s);
    FUZZ_ASSERT(h.ctx.unchoked == 0);
    free(h.in);
    free(h.out.data);
    crow_picker_free(h.picker);
    crow_bitfield_dispose(&h.have);
    return 0;
}
