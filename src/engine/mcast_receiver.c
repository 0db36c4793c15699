/* Multicast receiver bookkeeping: authenticates and validates each datagram against the manifest,
 * keeps the chunk bitmap and per-piece counts, accounts for loss per source from sequence numbers,
 * decides which source is the stream (frontier, END), and lists what is missing. Payload bytes only
 * pass through (as a pointer into the caller's buffer). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/dgram_auth.h"
#include "crowcast/error.h"
#include "crowcast/mcast_receiver.h"
#include "crowcast/mix.h"

int crow_mcast_receiver_init(crow_mcast_receiver_t *r, const crow_manifest_t *m)
{
    memset(r, 0, sizeof *r);
    uint64_t total = crow_manifest_total_chunks(m);
    if (total > UINT32_MAX)
        return CROW_ELIMIT;
    int ret = crow_bitfield_init(&r->chunks, (uint32_t)total);
    if (ret < 0)
        goto out;
    ret = crow_bitfield_init(&r->complete, m->piece_count);
    if (ret < 0)
        goto out_chunks;
    ret = crow_bitfield_init(&r->verified, m->piece_count);
    if (ret < 0)
        goto out_complete;
    r->have = calloc(m->piece_count ? m->piece_count : 1, sizeof *r->have);
    r->failures = calloc(m->piece_count ? m->piece_count : 1, sizeof *r->failures);
    if (!r->have || !r->failures) {
        free(r->have);
        free(r->failures);
        ret = -ENOMEM;
        goto out_verified;
    }
    r->m = m;
    r->session = crow_dgram_session_of(m->release_id);
    r->catch_up = -1;
    r->piece_chunks = crow_manifest_piece_chunks(m, 0);
    return 0;
out_verified:
    crow_bitfield_dispose(&r->verified);
out_complete:
    crow_bitfield_dispose(&r->complete);
out_chunks:
    crow_bitfield_dispose(&r->chunks);
out:
    return ret;
}

void crow_mcast_receiver_dispose(crow_mcast_receiver_t *r)
{
    free(r->have);
    free(r->failures);
    r->have = NULL;
    r->failures = NULL;
    crow_bitfield_dispose(&r->verified);
    crow_bitfield_dispose(&r->complete);
    crow_bitfield_dispose(&r->chunks);
}

bool crow_mcast_test_loss_drops(uint64_t seed, uint32_t ppm, uint64_t seq)
{
    return ppm > 0 && crow_mix_bits(seed + 0x9e3779b97f4a7c15ull * (seq + 1)) % 1000000 < ppm;
}

void crow_mcast_receiver_set_test_loss(crow_mcast_receiver_t *r, uint32_t ppm, uint64_t seed)
{
    r->loss_ppm = ppm;
    r->loss_seed = seed;
}

void crow_mcast_receiver_set_key(crow_mcast_receiver_t *r, const struct crow_dgram_key *k)
{
    r->key = k;
}

void crow_mcast_receiver_set_repair(crow_mcast_receiver_t *r, bool repair)
{
    r->repair = repair;
}

static bool seen_get(const struct crow_mcast_source *src, uint64_t seq)
{
    uint64_t bit = seq % CROW_MCAST_SEQ_WINDOW;
    return src->seen[bit / 64] >> (bit % 64) & 1;
}

static void seen_put(struct crow_mcast_source *src, uint64_t seq, bool on)
{
    uint64_t bit = seq % CROW_MCAST_SEQ_WINDOW;
    uint64_t mask = 1ull << (bit % 64);
    if (on)
        src->seen[bit / 64] |= mask;
    else
        src->seen[bit / 64] &= ~mask;
}

enum seq_verdict { SEQ_FRESH, SEQ_DUPLICATE, SEQ_STALE, SEQ_UNTRACKED };

static struct crow_mcast_source *find_source(crow_mcast_receiver_t *r, uint64_t source)
{
    for (uint32_t i = 0; i < r->nsources; i++)
        if (r->sources[i].st.source == source)
            return &r->sources[i];
    return NULL;
}

/* Moves the window so that seq is its highest number. */
static void slide_to(struct crow_mcast_source *src, uint64_t seq)
{
    crow_mcast_source_stats_t *st = &src->st;
    if (seq - st->highest_seq >= CROW_MCAST_SEQ_WINDOW)
        memset(src->seen, 0, sizeof src->seen);
    else
        for (uint64_t s = st->highest_seq + 1; s < seq; s++)
            seen_put(src, s, false);
    st->highest_seq = seq;
    seen_put(src, seq, true);
}

/* A number older than the window. Stale numbers that keep coming, in order, are the stream: a
 * number far ahead was forged (or the sender restarted), and the window moves back to them. */
static enum seq_verdict stale(crow_mcast_receiver_t *r, struct crow_mcast_source *src, uint64_t seq)
{
    crow_mcast_source_stats_t *st = &src->st;
    st->stale++;
    r->stats.stale++;
    bool in_order =
        src->stale_run > 0 && seq > src->last_stale && seq - src->last_stale < CROW_MCAST_SEQ_WINDOW;
    src->stale_run = in_order || src->stale_run == 0 ? src->stale_run + 1 : 1;
    src->last_stale = seq;
    if (src->stale_run < CROW_MCAST_REANCHOR)
        return SEQ_STALE;
    memset(src->seen, 0, sizeof src->seen);
    st->highest_seq = seq;
    seen_put(src, seq, true);
    if (seq < st->first_seq)
        st->first_seq = seq;
    st->received++;
    src->stale_run = 0;
    return SEQ_FRESH;
}

/* Sequence accounting of one datagram. */
static enum seq_verdict track(crow_mcast_receiver_t *r, uint64_t source, uint64_t seq)
{
    struct crow_mcast_source *src = find_source(r, source);
    if (!src) {
        if (r->nsources == CROW_MCAST_MAX_SOURCES) {
            r->stats.untracked++;
            return SEQ_UNTRACKED;
        }
        src = &r->sources[r->nsources++];
        src->st.source = source;
        src->st.first_seq = src->st.highest_seq = seq;
        src->st.received = 1;
        seen_put(src, seq, true);
        return SEQ_FRESH;
    }
    crow_mcast_source_stats_t *st = &src->st;
    if (seq > st->highest_seq) {
        src->stale_run = 0;
        slide_to(src, seq);
        st->received++;
        return SEQ_FRESH;
    }
    if (st->highest_seq - seq >= CROW_MCAST_SEQ_WINDOW)
        return stale(r, src, seq);
    src->stale_run = 0;
    if (seen_get(src, seq)) {
        st->duplicates++;
        r->stats.duplicates++;
        return SEQ_DUPLICATE;
    }
    seen_put(src, seq, true);
    st->received++;
    st->reordered++;
    if (seq < st->first_seq)
        st->first_seq = seq;
    return SEQ_FRESH;
}

static void score(crow_mcast_receiver_t *r, uint64_t source)
{
    struct crow_mcast_source *src = find_source(r, source);
    if (!src)
        return;
    src->score++;
    if (++r->since_decay < CROW_MCAST_SCORE_DECAY)
        return;
    r->since_decay = 0;
    for (uint32_t i = 0; i < r->nsources; i++)
        r->sources[i].score >>= 1;
}

/* The stream's main source: the tracked one that delivered the most datagrams lately (NULL before
 * any; the first to appear wins a tie). */
static struct crow_mcast_source *main_source(crow_mcast_receiver_t *r)
{
    struct crow_mcast_source *best = NULL;
    for (uint32_t i = 0; i < r->nsources; i++)
        if (!best || r->sources[i].score > best->score)
            best = &r->sources[i];
    return best;
}

static bool is_main(crow_mcast_receiver_t *r, uint64_t source)
{
    struct crow_mcast_source *m = main_source(r);
    return m && m->st.source == source;
}

/* DATA from the main source (called only for it) after a final END: the END was forged or replayed
 * once the stream goes on: at once when the main source is another than the END's, else past the
 * END's number or after a few datagrams whatever their numbers (a DATA reordered behind a real END
 * does not revoke it). */
static void check_end(crow_mcast_receiver_t *r, uint64_t source, const crow_dgram_t *d,
                      crow_mcast_rx_event_t *ev)
{
    if (!r->stream_done)
        return;
    if (source == r->end_source && d->seq <= r->end_seq && ++r->after_end < CROW_MCAST_END_REVOKE)
        return;
    r->stream_done = false;
    r->pass_over = false;
    r->stats.ends_revoked++;
    ev->stream_resumed = true;
}

static void on_data(crow_mcast_receiver_t *r, uint64_t source, const crow_dgram_t *d,
                    crow_mcast_rx_event_t *ev)
{
    r->stats.data++;
    uint64_t at = (uint64_t)d->piece * r->m->piece_length + d->offset;
    struct crow_mcast_source *src = find_source(r, source);
    if (src && at > src->st.frontier)
        src->st.frontier = at;
    if (src && is_main(r, source)) {
        check_end(r, source, d, ev);
        if (src->st.frontier > r->frontier)
            r->frontier = src->st.frontier;
    }
    if (r->repair && r->failures[d->piece] > 0) {
        r->stats.refused++;
        return;
    }
    /* check_data bounded piece and offset, so the chunk number is below the bitmap's size. */
    uint32_t chunk = (uint32_t)((uint64_t)d->piece * r->piece_chunks + d->offset / r->m->chunk_size);
    if (!crow_bitfield_set(&r->chunks, chunk)) {
        r->stats.redundant++;
        return;
    }
    r->stats.chunks++;
    ev->kind = CROW_MCAST_RX_DATA;
    ev->piece = d->piece;
    ev->offset = d->offset;
    ev->length = d->length;
    ev->payload = d->payload;
    if (++r->have[d->piece] == crow_manifest_piece_chunks(r->m, d->piece)) {
        crow_bitfield_set(&r->complete, d->piece);
        r->stats.pieces_complete++;
        ev->piece_complete = true;
    }
}

static void on_end(crow_mcast_receiver_t *r, uint64_t source, const crow_dgram_t *d,
                   crow_mcast_rx_event_t *ev)
{
    ev->main_source = is_main(r, source);
    if (!ev->main_source) {
        r->stats.ends_ignored++;
        return;
    }
    r->stats.ends++;
    r->pass_over = true;
    if ((d->flags & CROW_DGRAM_F_FINAL) && !r->stream_done) {
        r->stream_done = true;
        r->end_source = source;
        r->end_seq = d->seq;
        r->after_end = 0;
    }
    ev->kind = CROW_MCAST_RX_END;
    ev->pass = d->end.pass;
    ev->stream_done = r->stream_done;
}

int crow_mcast_receiver_on_datagram(crow_mcast_receiver_t *r, uint64_t source, const uint8_t *buf, size_t len,
                                    crow_mcast_rx_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    r->stats.datagrams++;
    crow_dgram_t d;
    int ret = crow_dgram_decode(buf, len, &d);
    if (ret == 0 && d.session != r->session)
        ret = CROW_ESESSION;
    /* Before anything else looks at it: a forged datagram must not even reach the checks below. */
    if (ret == 0 && r->key && !crow_dgram_authentic(r->key, &d, buf, len))
        ret = CROW_EAUTH;
    if (ret == 0 && d.type == CROW_DGRAM_DATA)
        ret = crow_dgram_check_data(&d, r->m);
    if (ret == 0 && d.type == CROW_DGRAM_BEACON)
        ret = crow_dgram_check_beacon(&d, r->m);
    switch (ret) {
    case 0:
        break;
    case CROW_ESESSION:
        r->stats.foreign++;
        return ret;
    case CROW_EAUTH:
        r->stats.forged++;
        return ret;
    case CROW_EPROTO:
        r->stats.out_of_range++;
        return ret;
    default:
        r->stats.malformed++;
        return ret;
    }
    if (d.type == CROW_DGRAM_DATA && crow_mcast_test_loss_drops(r->loss_seed, r->loss_ppm, d.seq)) {
        r->stats.dropped_on_purpose++;
        return 0;
    }
    ev->live = true;
    enum seq_verdict v = track(r, source, d.seq);
    if (v == SEQ_FRESH)
        score(r, source);
    if (d.type == CROW_DGRAM_DATA) {
        /* Whatever its number says, a chunk is judged by the piece hash. */
        on_data(r, source, &d, ev);
        return 0;
    }
    if (v == SEQ_DUPLICATE || v == SEQ_STALE) {
        if (d.type == CROW_DGRAM_END)
            r->stats.ends_ignored++;
        return 0;
    }
    if (d.type == CROW_DGRAM_BEACON) {
        r->stats.beacons++;
        r->have_beacon = true;
        r->beacon = d.beacon;
        ev->kind = CROW_MCAST_RX_BEACON;
        ev->pass = d.beacon.pass;
        ev->main_source = is_main(r, source);
        if (ev->main_source)
            r->catch_up = (d.flags & CROW_DGRAM_F_CATCH_UP) != 0;
        return 0;
    }
    on_end(r, source, &d, ev);
    return 0;
}

/* First chunk number of a piece. */
static uint32_t first_chunk(const crow_mcast_receiver_t *r, uint32_t piece)
{
    return (uint32_t)((uint64_t)piece * r->piece_chunks);
}

int crow_mcast_receiver_mark_verified(crow_mcast_receiver_t *r, uint32_t piece)
{
    if (piece >= r->m->piece_count)
        return CROW_EUSAGE;
    uint32_t n = crow_manifest_piece_chunks(r->m, piece);
    for (uint32_t c = first_chunk(r, piece); c < first_chunk(r, piece) + n; c++)
        crow_bitfield_set(&r->chunks, c);
    r->have[piece] = n;
    crow_bitfield_set(&r->complete, piece);
    if (crow_bitfield_set(&r->verified, piece))
        r->stats.pieces_verified++;
    return 0;
}

int crow_mcast_receiver_drop_piece(crow_mcast_receiver_t *r, uint32_t piece)
{
    if (piece >= r->m->piece_count)
        return CROW_EUSAGE;
    uint32_t n = crow_manifest_piece_chunks(r->m, piece);
    for (uint32_t c = first_chunk(r, piece); c < first_chunk(r, piece) + n; c++)
        crow_bitfield_clear(&r->chunks, c);
    r->have[piece] = 0;
    crow_bitfield_clear(&r->complete, piece);
    crow_bitfield_clear(&r->verified, piece);
    return 0;
}

int crow_mcast_receiver_mark_failed(crow_mcast_receiver_t *r, uint32_t piece)
{
    int ret = crow_mcast_receiver_drop_piece(r, piece);
    if (ret)
        return ret;
    if (r->failures[piece] < UINT8_MAX)
        r->failures[piece]++;
    r->stats.pieces_failed++;
    return 0;
}

uint32_t crow_mcast_receiver_piece_chunks(const crow_mcast_receiver_t *r, uint32_t piece)
{
    if (piece >= r->m->piece_count || crow_bitfield_get(&r->verified, piece))
        return 0;
    return r->have[piece];
}

bool crow_mcast_receiver_has_chunk(const crow_mcast_receiver_t *r, uint32_t piece, uint32_t offset)
{
    if (piece >= r->m->piece_count || offset >= crow_manifest_piece_size(r->m, piece))
        return false;
    return crow_bitfield_get(&r->chunks, first_chunk(r, piece) + offset / r->m->chunk_size);
}

bool crow_mcast_receiver_piece_verified(const crow_mcast_receiver_t *r, uint32_t piece)
{
    return crow_bitfield_get(&r->verified, piece);
}

bool crow_mcast_receiver_done(const crow_mcast_receiver_t *r)
{
    return crow_bitfield_full(&r->verified);
}

uint64_t crow_mcast_receiver_missing_chunks(const crow_mcast_receiver_t *r)
{
    return r->chunks.nbits - r->chunks.count;
}

uint64_t crow_mcast_receiver_frontier_offset(const crow_mcast_receiver_t *r)
{
    return r->pass_over ? r->m->total_length : r->frontier;
}

uint32_t crow_mcast_receiver_frontier(const crow_mcast_receiver_t *r)
{
    uint64_t at = crow_mcast_receiver_frontier_offset(r);
    if (at == r->m->total_length)
        return r->m->piece_count;
    return (uint32_t)(at / r->m->piece_length);
}

bool crow_mcast_receiver_stream_done(const crow_mcast_receiver_t *r)
{
    return r->stream_done;
}

int crow_mcast_receiver_catches_up(const crow_mcast_receiver_t *r)
{
    return r->catch_up;
}

const crow_dgram_beacon_t *crow_mcast_receiver_beacon(const crow_mcast_receiver_t *r)
{
    return r->have_beacon ? &r->beacon : NULL;
}

size_t crow_mcast_receiver_missing(const crow_mcast_receiver_t *r, uint32_t piece_limit, uint64_t *cursor,
                                   crow_mcast_range_t *out, size_t max)
{
    if (piece_limit > r->m->piece_count)
        piece_limit = r->m->piece_count;
    uint32_t limit = piece_limit == r->m->piece_count ? r->chunks.nbits : first_chunk(r, piece_limit);
    size_t n = 0;
    while (n < max && *cursor < limit) {
        uint32_t c = crow_bitfield_next_clear(&r->chunks, (uint32_t)*cursor);
        if (c >= limit) {
            *cursor = limit;
            break;
        }
        uint32_t piece = c / r->piece_chunks;
        uint32_t piece_end = first_chunk(r, piece) + crow_manifest_piece_chunks(r->m, piece);
        uint32_t run_end = crow_bitfield_next_set(&r->chunks, c);
        if (run_end > piece_end)
            run_end = piece_end;
        uint32_t size = crow_manifest_piece_size(r->m, piece);
        uint64_t from = (uint64_t)(c - first_chunk(r, piece)) * r->m->chunk_size;
        uint64_t to = (uint64_t)(run_end - first_chunk(r, piece)) * r->m->chunk_size;
        if (to > size)
            to = size;
        out[n++] =
            (crow_mcast_range_t){.piece = piece, .offset = (uint32_t)from, .length = (uint32_t)(to - from)};
        *cursor = run_end;
    }
    return n;
}

const crow_mcast_source_stats_t *crow_mcast_receiver_sources(const crow_mcast_receiver_t *r, size_t i)
{
    return i < r->nsources ? &r->sources[i].st : NULL;
}

size_t crow_mcast_receiver_source_count(const crow_mcast_receiver_t *r)
{
    return r->nsources;
}
