/* Multicast sender schedule: which datagram goes out next (END, BEACON, then DATA of the lowest
 * pending piece, chunk by chunk) and when, under an exact integer token bucket. No I/O, no clock. */
#include <errno.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/mcast_sender.h"
#include "crowcast/stream_need.h"

#define NS_PER_S        1000000000ull
#define MAX_RATE_BPS    1000000000000ull /* 1 Tbit/s keeps the token arithmetic within 64 bits */
#define MAX_BURST_BYTES (1u << 30)

void crow_mcast_sender_config_default(crow_mcast_sender_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->rate_bps = 1000000000ull;
    cfg->passes = 1;
    cfg->overhead_bytes = CROW_MCAST_IPV4_UDP_OVERHEAD;
    cfg->burst_bytes = 16 * (CROW_DGRAM_HEADER_LEN + CROW_DEFAULT_CHUNK_SIZE + CROW_MCAST_IPV4_UDP_OVERHEAD);
    cfg->beacon_interval_ns = 200 * 1000000ull;
    cfg->end_copies = 3;
}

uint32_t crow_mcast_sender_burst_for(uint64_t rate_bps, uint32_t datagram_wire_bytes)
{
    uint64_t lo = 16ull * datagram_wire_bytes, hi = 256ull * datagram_wire_bytes;
    uint64_t bytes = rate_bps / 8 * CROW_MCAST_BURST_NS / NS_PER_S;
    bytes = bytes < lo ? lo : bytes > hi ? hi : bytes;
    return (uint32_t)(bytes > MAX_BURST_BYTES ? MAX_BURST_BYTES : bytes);
}

int crow_mcast_sender_init(crow_mcast_sender_t *s, const crow_manifest_t *m,
                           const crow_mcast_sender_config_t *cfg)
{
    memset(s, 0, sizeof *s);
    uint64_t tag = cfg->auth ? CROW_DGRAM_TAG_LEN : 0;
    uint64_t largest = (uint64_t)CROW_DGRAM_HEADER_LEN + m->chunk_size + tag;
    if (largest < CROW_DGRAM_CONTROL_MAX + tag)
        largest = CROW_DGRAM_CONTROL_MAX + tag;
    if (cfg->rate_bps == 0 || cfg->rate_bps > MAX_RATE_BPS || cfg->passes == 0 || cfg->end_copies == 0 ||
        cfg->beacon_interval_ns == 0 || m->chunk_size == 0 || m->chunk_size > CROW_DGRAM_MAX_PAYLOAD ||
        cfg->burst_bytes > MAX_BURST_BYTES || cfg->overhead_bytes > MAX_BURST_BYTES ||
        cfg->burst_bytes < largest + cfg->overhead_bytes)
        return CROW_EUSAGE;
    int ret = crow_bitfield_init(&s->available, m->piece_count);
    if (ret < 0)
        goto out;
    ret = crow_bitfield_init(&s->wanted, m->piece_count);
    if (ret < 0)
        goto out_available;
    ret = crow_bitfield_init(&s->pending, m->piece_count);
    if (ret < 0)
        goto out_wanted;
    crow_bitfield_set_all(&s->wanted);
    s->stats.wanted = m->piece_count;
    s->m = m;
    s->cfg = *cfg;
    s->session = crow_dgram_session_of(m->release_id);
    s->depth = (uint64_t)cfg->burst_bytes * 8 * NS_PER_S;
    return 0;
out_wanted:
    crow_bitfield_dispose(&s->wanted);
out_available:
    crow_bitfield_dispose(&s->available);
out:
    return ret;
}

void crow_mcast_sender_dispose(crow_mcast_sender_t *s)
{
    crow_bitfield_dispose(&s->pending);
    crow_bitfield_dispose(&s->wanted);
    crow_bitfield_dispose(&s->available);
}

static void mark_pending(crow_mcast_sender_t *s, uint32_t piece)
{
    crow_bitfield_set(&s->pending, piece);
    if (piece < s->low_pending)
        s->low_pending = piece;
}

void crow_mcast_sender_set_available(crow_mcast_sender_t *s, uint32_t piece)
{
    /* A piece that just became available cannot have been sent in this pass yet. */
    if (crow_bitfield_set(&s->available, piece) && crow_bitfield_get(&s->wanted, piece))
        mark_pending(s, piece);
}

void crow_mcast_sender_want_segments(crow_mcast_sender_t *s, const crow_need_map_t *segs)
{
    if (s->started)
        return;
    uint32_t nseg = crow_stream_segments(s->m->piece_count);
    for (uint32_t seg = 0; seg < nseg; seg++) {
        uint32_t first, end;
        crow_stream_segment_pieces(seg, s->m->piece_count, &first, &end);
        for (uint32_t p = first; p < end; p++) {
            if (crow_need_map_get(segs, seg)) {
                crow_bitfield_set(&s->wanted, p);
                if (crow_bitfield_get(&s->available, p))
                    mark_pending(s, p);
            } else {
                crow_bitfield_clear(&s->wanted, p);
                crow_bitfield_clear(&s->pending, p);
            }
        }
    }
    s->stats.wanted = s->wanted.count;
}

const crow_bitfield_t *crow_mcast_sender_wanted(const crow_mcast_sender_t *s)
{
    return &s->wanted;
}

void crow_mcast_sender_set_all_available(crow_mcast_sender_t *s)
{
    for (uint32_t p = crow_bitfield_next_clear(&s->available, 0); p < s->available.nbits;
         p = crow_bitfield_next_clear(&s->available, p + 1))
        crow_mcast_sender_set_available(s, p);
}

static bool finished(const crow_mcast_sender_t *s)
{
    return s->stats.pass >= s->cfg.passes;
}

/* Every wanted piece went out in this pass: the ENDs follow, or with catch_up the last pass waits. */
static void pass_sent(crow_mcast_sender_t *s)
{
    if (s->cfg.catch_up && s->stats.pass + 1 == s->cfg.passes)
        s->drained = true;
    else
        s->ends_left = s->cfg.end_copies;
}

static void start_pass(crow_mcast_sender_t *s)
{
    size_t bytes = crow_bitfield_bytes(s->available.nbits);
    uint32_t count = 0;
    for (size_t i = 0; i < bytes; i++) {
        s->pending.bytes[i] = s->available.bytes[i] & s->wanted.bytes[i];
        count += (uint32_t)__builtin_popcount(s->pending.bytes[i]);
    }
    s->pending.count = count;
    s->low_pending = 0;
    s->stats.pieces_sent = 0;
    if (s->wanted.count == 0)
        pass_sent(s);
}

static void refill(crow_mcast_sender_t *s, uint64_t now)
{
    if (now <= s->last_ns)
        return;
    uint64_t elapsed = now - s->last_ns;
    s->last_ns = now;
    /* Compare before multiplying: elapsed * rate may not fit, but then the bucket is full anyway. */
    if (elapsed >= (s->depth - s->tokens) / s->cfg.rate_bps + 1)
        s->tokens = s->depth;
    else
        s->tokens += elapsed * s->cfg.rate_bps;
    if (s->tokens > s->depth)
        s->tokens = s->depth;
}

/* Fills the candidate datagram's type and geometry, without committing it. Returns false when there
 * is nothing to send but a future BEACON (no available piece left in this pass). */
static bool pick(crow_mcast_sender_t *s, uint64_t now, crow_mcast_tx_t *tx)
{
    tx->piece = tx->offset = tx->length = 0;
    if (s->ends_left > 0) {
        tx->type = CROW_DGRAM_END;
        return true;
    }
    if (now >= s->next_beacon_ns) {
        tx->type = CROW_DGRAM_BEACON;
        return true;
    }
    if (!s->in_piece) {
        uint32_t p = crow_bitfield_next_set(&s->pending, s->low_pending);
        if (p >= s->pending.nbits && s->low_pending > 0) /* a pass that started above 0 wraps */
            p = crow_bitfield_next_set(&s->pending, s->low_pending = 0);
        if (p >= s->pending.nbits)
            return false;
        s->low_pending = p;
        s->in_piece = true;
        s->piece = p;
        s->offset = 0;
    }
    uint32_t left = crow_manifest_piece_size(s->m, s->piece) - s->offset;
    tx->type = CROW_DGRAM_DATA;
    tx->piece = s->piece;
    tx->offset = s->offset;
    tx->length = left < s->m->chunk_size ? left : s->m->chunk_size;
    return true;
}

/* Bytes the pacer charges for a datagram: what crow_mcast_tx_size will say, plus the overhead. */
static uint64_t wire_size(const crow_mcast_sender_t *s, const crow_mcast_tx_t *tx)
{
    uint64_t body = tx->type == CROW_DGRAM_DATA     ? tx->length
                    : tx->type == CROW_DGRAM_BEACON ? CROW_DGRAM_BEACON_BODY
                                                    : CROW_DGRAM_END_BODY;
    return CROW_DGRAM_HEADER_LEN + body + (s->cfg.auth ? CROW_DGRAM_TAG_LEN : 0) + s->cfg.overhead_bytes;
}

static void encode(const crow_mcast_sender_t *s, crow_mcast_tx_t *tx)
{
    uint16_t auth = s->cfg.auth ? CROW_DGRAM_F_AUTH : 0;
    crow_dgram_t d = {.type = tx->type, .flags = auth, .session = s->session, .seq = tx->seq};
    tx->tag_len = auth ? CROW_DGRAM_TAG_LEN : 0;
    switch (tx->type) {
    case CROW_DGRAM_DATA:
        d.flags |= s->stats.pass > 0 ? CROW_DGRAM_F_REPEAT : 0;
        d.piece = tx->piece;
        d.offset = tx->offset;
        d.length = (uint16_t)tx->length;
        tx->bytes_len = (uint16_t)(crow_dgram_encode_header(tx->bytes, &d) - tx->bytes);
        return;
    case CROW_DGRAM_BEACON:
        d.flags |= s->cfg.catch_up ? CROW_DGRAM_F_CATCH_UP : 0;
        memcpy(d.beacon.release_id, s->m->release_id, CROW_SHA256_LEN);
        d.beacon.total_length = s->m->total_length;
        d.beacon.rate_bps = s->cfg.rate_bps;
        d.beacon.piece_length = s->m->piece_length;
        d.beacon.chunk_size = s->m->chunk_size;
        d.beacon.piece_count = s->m->piece_count;
        d.beacon.pass = s->stats.pass;
        d.beacon.passes = s->cfg.passes;
        d.beacon.tcp_port = s->cfg.tcp_port;
        break;
    default: /* CROW_DGRAM_END */
        d.flags |= s->stats.pass + 1 == s->cfg.passes ? CROW_DGRAM_F_FINAL : 0;
        d.end.pass = s->stats.pass;
        d.end.last_data_seq = s->last_data_seq;
        break;
    }
    /* bytes[] holds CROW_DGRAM_CONTROL_MAX, the largest control datagram: this cannot fail. */
    tx->bytes_len = (uint16_t)crow_dgram_encode(&d, tx->bytes, sizeof tx->bytes);
}

/* Advances the schedule past the datagram just committed. */
static void advance(crow_mcast_sender_t *s, uint64_t now, const crow_mcast_tx_t *tx)
{
    switch (tx->type) {
    case CROW_DGRAM_END:
        s->stats.ends++;
        if (--s->ends_left == 0) {
            s->stats.pass++;
            if (!finished(s))
                start_pass(s);
        }
        return;
    case CROW_DGRAM_BEACON:
        s->stats.beacons++;
        s->next_beacon_ns = now + s->cfg.beacon_interval_ns;
        return;
    default: /* CROW_DGRAM_DATA */
        s->stats.data++;
        s->stats.payload_bytes += tx->length;
        s->last_data_seq = tx->seq;
        s->offset += tx->length;
        if (s->offset < crow_manifest_piece_size(s->m, s->piece))
            return;
        s->in_piece = false;
        crow_bitfield_clear(&s->pending, s->piece);
        if (s->low_pending == s->piece)
            s->low_pending = s->piece + 1;
        if (++s->stats.pieces_sent == s->wanted.count)
            pass_sent(s);
        return;
    }
}

bool crow_mcast_sender_data_left(const crow_mcast_sender_t *s)
{
    return s->in_piece || s->pending.count > 0 || s->stats.pass + 1 < s->cfg.passes;
}

const crow_bitfield_t *crow_mcast_sender_pending(const crow_mcast_sender_t *s)
{
    return &s->pending;
}

bool crow_mcast_sender_drained(const crow_mcast_sender_t *s)
{
    return s->drained;
}

static bool in_last_pass(const crow_mcast_sender_t *s)
{
    return !finished(s) && s->stats.pass + 1 == s->cfg.passes && s->ends_left == 0;
}

void crow_mcast_sender_resend(crow_mcast_sender_t *s, uint32_t piece)
{
    if (!s->cfg.catch_up || !in_last_pass(s) || !crow_bitfield_get(&s->available, piece) ||
        crow_bitfield_get(&s->pending, piece) || (s->in_piece && s->piece == piece))
        return;
    mark_pending(s, piece);
    s->stats.pieces_sent--; /* it counts as sent again once it went out again */
    s->stats.resent++;
    s->drained = false;
}

uint32_t crow_mcast_sender_resend_segments(crow_mcast_sender_t *s, const crow_need_map_t *segs, uint32_t *out,
                                           uint32_t max)
{
    uint32_t n = 0, nseg = crow_stream_segments(s->m->piece_count);
    for (uint32_t seg = 0; seg < nseg && (!out || n < max); seg++) {
        if (!crow_need_map_get(segs, seg))
            continue;
        uint32_t first, end;
        crow_stream_segment_pieces(seg, s->m->piece_count, &first, &end);
        for (uint32_t p = first; p < end && (!out || n < max); p++) {
            uint32_t before = s->stats.resent;
            crow_mcast_sender_resend(s, p);
            if (s->stats.resent == before)
                continue;
            if (out)
                out[n] = p;
            n++;
        }
    }
    return n;
}

void crow_mcast_sender_close_pass(crow_mcast_sender_t *s)
{
    if (!s->drained)
        return;
    s->drained = false;
    s->ends_left = s->cfg.end_copies;
}

void crow_mcast_sender_end_now(crow_mcast_sender_t *s)
{
    if (finished(s))
        return;
    s->cfg.passes = s->stats.pass + 1;
    s->drained = false;
    if (s->ends_left > 0)
        return; /* the pass is closing already: its remaining ENDs are now final */
    memset(s->pending.bytes, 0, crow_bitfield_bytes(s->pending.nbits));
    s->pending.count = 0;
    s->in_piece = false;
    s->ends_left = s->cfg.end_copies;
}

int crow_mcast_sender_next(crow_mcast_sender_t *s, uint64_t now_ns, crow_mcast_tx_t *out, uint64_t *wake_ns)
{
    if (finished(s))
        return CROW_MCAST_DONE;
    if (!s->started) {
        s->started = true;
        if (s->cfg.first_piece < s->m->piece_count && !s->in_piece)
            s->low_pending = s->cfg.first_piece; /* the pieces below it come after the wrap */
        s->last_ns = now_ns;
        s->tokens = s->depth;
        s->next_beacon_ns = now_ns;
        if (s->wanted.count == 0)
            pass_sent(s); /* nothing to send in the first pass either */
    }
    refill(s, now_ns);
    if (!pick(s, now_ns, out)) {
        *wake_ns = s->next_beacon_ns;
        return CROW_MCAST_WAIT;
    }
    uint64_t wire = wire_size(s, out);
    uint64_t cost = wire * 8 * NS_PER_S;
    if (s->tokens < cost) {
        uint64_t deficit = cost - s->tokens;
        *wake_ns = s->last_ns + (deficit + s->cfg.rate_bps - 1) / s->cfg.rate_bps;
        return CROW_MCAST_WAIT;
    }
    s->tokens -= cost;
    out->seq = s->seq++;
    encode(s, out);
    s->stats.datagrams++;
    s->stats.wire_bytes += wire;
    advance(s, now_ns, out);
    return CROW_MCAST_SEND;
}

size_t crow_mcast_sender_batch(crow_mcast_sender_t *s, uint64_t now_ns, crow_mcast_tx_t *out, size_t max,
                               crow_mcast_batch_end_t *end)
{
    size_t n = 0;
    end->state = CROW_MCAST_SEND;
    end->wake_ns = 0;
    while (n < max) {
        int state = crow_mcast_sender_next(s, now_ns, &out[n], &end->wake_ns);
        if (state != CROW_MCAST_SEND) {
            end->state = state;
            break;
        }
        n++;
    }
    return n;
}
