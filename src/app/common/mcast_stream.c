/* Seeder multicast: read-ahead window -> sender engine batches -> tags (with a key) -> UDP (GSO)
 * to every group.
 *
 * With every piece available, the engine streams the pieces in scope in index order, pass after
 * pass, so the window loads them in that same order (from the list of those pieces); a batch is asked for
 * only when the window holds the bytes of every DATA datagram it could contain. Datagrams (header + payload)
 * are assembled into batch buffers, so a piece buffer is free again as soon as its last chunk was copied.
 * Pieces resent to catch up (crow_mcast_stream_resend) come after the passes in send order, in index
 * order, which is the order the engine sends them in (all are asked for at once, while it is drained).
 * Without a piece store (`crowcast probe`: a synthetic release) every payload is zeros and there is
 * no window.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/log.h"
#include "crowcast/stream_need.h"
#include "crowcast/udp.h"
#include "mcast_stream.h"

#define BATCH_MAX     16
#define BATCH_BUFFERS 8

struct window_slot {
    crow_op_t op;
    struct crow_mcast_stream *ms;
    uint32_t piece;
    bool loaded, loading;
    uint8_t *buf;
};

struct batch_buf {
    crow_op_t op; /* one pending send per group */
    struct crow_mcast_stream *ms;
    uint8_t *bytes;
    bool busy;
};

struct crow_mcast_stream {
    crow_loop_t *loop;
    crow_piece_store_t *store;
    crow_mcast_sender_t engine;
    const crow_manifest_t *m;
    struct crow_mcast_stream_config cfg;
    struct sockaddr_in groups[64];
    crow_udp_tx_t *tx;
    struct window_slot *slots; /* slots[i] holds the piece `head + i` in send order */
    unsigned window, head_slot;
    uint64_t next_load;     /* position in send order (pass * pieces + piece) of the next load */
    uint64_t sending;       /* position in send order of the piece being sent */
    uint32_t sent_in_piece; /* chunks of it already handed out */
    struct batch_buf batches[BATCH_BUFFERS];
    size_t batch_cap;
    crow_op_t timer;
    bool timer_armed, stopping, done;
    uint32_t *order;      /* the pieces in scope, in index order */
    uint32_t order_count; /* ... how many */
    uint32_t order_first; /* the first pass starts at order[order_first] */
    uint32_t *extra;      /* pieces resent to catch up, in send order after the passes */
    uint32_t extra_count;
    bool drained_told; /* on_drained fired for the drain under way */
    bool in_drained;   /* on_drained runs: the pump that called it goes on afterwards */
    void (*on_done)(void *ctx, int result);
    void *ctx;
    struct crow_mcast_stream_stats stats;
};

static void pump(struct crow_mcast_stream *ms);

static uint64_t passes_total(const struct crow_mcast_stream *ms)
{
    return ms->cfg.passes ? (uint64_t)ms->cfg.passes * ms->order_count : UINT64_MAX;
}

static uint64_t order_total(const struct crow_mcast_stream *ms)
{
    return ms->cfg.passes ? passes_total(ms) + ms->extra_count : UINT64_MAX;
}

/* The piece at a position in send order: the first pass walks the pieces in scope from its first
 * one on, wrapping around (the engine's order), the others from the lowest; then the resent pieces. */
static uint32_t piece_at(const struct crow_mcast_stream *ms, uint64_t order)
{
    if (order >= passes_total(ms))
        return ms->extra[order - passes_total(ms)];
    uint32_t count = ms->order_count;
    uint32_t first = order < count ? ms->order_first : 0;
    return ms->order[(order % count + first) % count];
}

/* The send order's list: the pieces in scope, and where the first pass starts in it. */
static int list_scope(struct crow_mcast_stream *ms)
{
    const crow_bitfield_t *wanted = crow_mcast_sender_wanted(&ms->engine);
    if (!(ms->order = malloc(((size_t)wanted->count + 1) * sizeof *ms->order)))
        return -ENOMEM;
    for (uint32_t p = crow_bitfield_next_set(wanted, 0); p < wanted->nbits;
         p = crow_bitfield_next_set(wanted, p + 1)) {
        if (p < ms->cfg.first_piece)
            ms->order_first = ms->order_count + 1;
        ms->order[ms->order_count++] = p;
    }
    if (ms->order_first == ms->order_count)
        ms->order_first = 0; /* every piece in scope is below the first piece: the wrap comes at once */
    return 0;
}

static struct window_slot *slot_at(struct crow_mcast_stream *ms, uint64_t order)
{
    uint64_t ahead = order - ms->sending;
    if (order < ms->sending || ahead >= ms->window)
        return NULL;
    return &ms->slots[(ms->head_slot + ahead) % ms->window];
}

static bool idle(const struct crow_mcast_stream *ms)
{
    if (crow_op_pending(&ms->timer))
        return false;
    for (unsigned i = 0; i < ms->window; i++)
        if (crow_op_pending(&ms->slots[i].op))
            return false;
    for (unsigned i = 0; i < BATCH_BUFFERS; i++)
        if (crow_op_pending(&ms->batches[i].op))
            return false;
    return true;
}

static void release(struct crow_mcast_stream *ms)
{
    for (unsigned i = 0; ms->slots && i < ms->window; i++)
        free(ms->slots[i].buf);
    for (unsigned i = 0; i < BATCH_BUFFERS; i++)
        free(ms->batches[i].bytes);
    free(ms->slots);
    free(ms->order);
    free(ms->extra);
    crow_udp_tx_close(ms->tx);
    crow_mcast_sender_dispose(&ms->engine);
    free(ms);
}

static void finish(struct crow_mcast_stream *ms, int result)
{
    if (ms->done)
        return;
    ms->done = true;
    ms->stats.finished_ns = crow_loop_now(ms->loop);
    ms->stats.engine = ms->engine.stats;
    if (ms->on_done)
        ms->on_done(ms->ctx, result);
}

static void on_loaded(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    struct window_slot *s = op->owner;
    struct crow_mcast_stream *ms = s->ms;
    s->loading = false;
    if (ms->stopping) {
        if (idle(ms))
            release(ms);
        return;
    }
    if (res < 0) {
        crow_log_error("reading piece %u for multicast: %s", s->piece, crow_strerror(res));
        finish(ms, res);
        return;
    }
    s->loaded = true;
    pump(ms);
}

/* Starts loading pieces into free window slots, in send order. */
static void fill_window(struct crow_mcast_stream *ms)
{
    while (ms->store && ms->next_load < order_total(ms) && ms->next_load < ms->sending + ms->window) {
        struct window_slot *s = slot_at(ms, ms->next_load);
        uint32_t piece = piece_at(ms, ms->next_load);
        s->piece = piece;
        s->loaded = false;
        s->loading = true;
        int ret = crow_piece_store_read(ms->store, &s->op, piece, 0, s->buf,
                                        crow_manifest_piece_size(ms->m, piece));
        if (ret == -EBUSY) {
            s->loading = false;
            return;
        }
        if (ret) {
            s->loading = false;
            finish(ms, ret);
            return;
        }
        ms->next_load++;
    }
}

/* DATA datagrams whose bytes the window holds, from the current send position on (at most
 * BATCH_MAX); *all_loaded says whether that covers every DATA datagram still to send. */
static uint64_t datagrams_ready(struct crow_mcast_stream *ms, bool *all_loaded)
{
    uint64_t ready = 0, o = ms->sending;
    if (!ms->store) {
        *all_loaded = true;
        return BATCH_MAX;
    }
    for (; o < ms->sending + ms->window && o < order_total(ms) && ready < BATCH_MAX; o++) {
        struct window_slot *s = slot_at(ms, o);
        if (!s->loaded)
            break;
        ready += crow_manifest_piece_chunks(ms->m, s->piece) - (o == ms->sending ? ms->sent_in_piece : 0);
    }
    /* Every DATA of the passes is loaded, or none is left to send (the pass was ended early). */
    *all_loaded =
        (ms->next_load >= order_total(ms) && o >= ms->next_load) || !crow_mcast_sender_data_left(&ms->engine);
    return ready;
}

static struct batch_buf *free_batch(struct crow_mcast_stream *ms)
{
    for (unsigned i = 0; i < BATCH_BUFFERS; i++)
        if (!ms->batches[i].busy)
            return &ms->batches[i];
    return NULL;
}

/* Copies the payload of a DATA datagram from the window and advances the send position. */
static void take_payload(struct crow_mcast_stream *ms, const crow_mcast_tx_t *tx, uint8_t *dst)
{
    if (!ms->store) {
        memset(dst, 0, tx->length);
        return;
    }
    struct window_slot *s = slot_at(ms, ms->sending);
    memcpy(dst, s->buf + tx->offset, tx->length);
    if (++ms->sent_in_piece == crow_manifest_piece_chunks(ms->m, s->piece)) {
        s->loaded = false;
        ms->sending++;
        ms->head_slot = (ms->head_slot + 1) % ms->window;
        ms->sent_in_piece = 0;
    }
}

static void on_batch_sent(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    struct batch_buf *b = op->owner;
    struct crow_mcast_stream *ms = b->ms;
    if (res < 0)
        ms->stats.send_errors++;
    if (crow_op_pending(op))
        return;
    b->busy = false;
    if (ms->stopping) {
        if (idle(ms))
            release(ms);
        return;
    }
    pump(ms);
}

/* Sends bytes[0..len) (datagrams of `seg` bytes, the last possibly shorter) to every group. */
static void send_run(struct crow_mcast_stream *ms, struct batch_buf *b, const uint8_t *bytes, size_t len,
                     size_t seg)
{
    for (unsigned g = 0; g < ms->cfg.group_count; g++) {
        int ret = crow_udp_tx_send(ms->tx, &b->op, &ms->groups[g], bytes, len, (uint16_t)seg);
        if (ret)
            ms->stats.send_errors++;
    }
}

static void on_timer(crow_op_t *op, int res, unsigned flags)
{
    (void)res;
    (void)flags;
    struct crow_mcast_stream *ms = op->owner;
    ms->timer_armed = false;
    if (ms->stopping) {
        if (idle(ms))
            release(ms);
        return;
    }
    pump(ms);
}

static void pump(struct crow_mcast_stream *ms)
{
    while (!ms->done && !ms->stopping) {
        fill_window(ms);
        if (ms->done)
            return;
        struct batch_buf *b = free_batch(ms);
        bool all_loaded;
        uint64_t ready = datagrams_ready(ms, &all_loaded);
        if (!b || (ready == 0 && !all_loaded))
            return; /* a send or a read completion calls pump again */
        crow_mcast_tx_t txs[BATCH_MAX];
        crow_mcast_batch_end_t end;
        size_t max = ready && ready < BATCH_MAX ? (size_t)ready : BATCH_MAX;
        size_t n = crow_mcast_sender_batch(&ms->engine, crow_loop_update_now(ms->loop), txs, max, &end);
        /* GSO runs: datagrams of one size, the last of a run possibly shorter. */
        size_t used = 0, run_start = 0, run_seg = 0, run_count = 0;
        bool run_closed = false;
        for (size_t i = 0; i < n; i++) {
            size_t size = crow_mcast_tx_size(&txs[i]);
            if (run_count && (run_closed || size > run_seg)) {
                send_run(ms, b, b->bytes + run_start, used - run_start, run_seg);
                run_start = used;
                run_count = 0;
                run_closed = false;
            }
            if (run_count == 0)
                run_seg = size;
            else if (size < run_seg)
                run_closed = true;
            uint8_t *dst = b->bytes + used;
            memcpy(dst, txs[i].bytes, txs[i].bytes_len);
            if (txs[i].type == CROW_DGRAM_DATA)
                take_payload(ms, &txs[i], dst + txs[i].bytes_len);
            if (txs[i].tag_len)
                crow_dgram_seal(ms->cfg.key, dst, size - txs[i].tag_len);
            used += size;
            run_count++;
        }
        if (run_count)
            send_run(ms, b, b->bytes + run_start, used - run_start, run_seg);
        b->busy = crow_op_pending(&b->op);
        if (end.state == CROW_MCAST_DONE) {
            finish(ms, 0);
            return;
        }
        if (end.state == CROW_MCAST_WAIT && ms->cfg.on_drained && crow_mcast_sender_drained(&ms->engine) &&
            !ms->drained_told) {
            ms->drained_told = ms->in_drained = true;
            ms->cfg.on_drained(ms->ctx);
            ms->in_drained = false;
            if (ms->done || ms->stopping)
                return;
            if (!crow_mcast_sender_drained(&ms->engine))
                continue; /* it resent pieces, or closed the pass */
        }
        if (end.state == CROW_MCAST_WAIT) {
            if (!ms->timer_armed) {
                uint64_t now = crow_loop_now(ms->loop);
                ms->timer_armed =
                    crow_io_timeout(ms->loop, &ms->timer, end.wake_ns > now ? end.wake_ns - now : 0) == 0;
            }
            return;
        }
    }
}

int crow_mcast_stream_start(crow_mcast_stream_t **out, crow_loop_t *loop, crow_piece_store_t *store,
                            const crow_manifest_t *m, const struct crow_mcast_stream_config *cfg,
                            void (*on_done)(void *ctx, int result), void *ctx)
{
    if (cfg->group_count == 0 || cfg->group_count > 64)
        return CROW_EUSAGE;
    struct crow_mcast_stream *ms = calloc(1, sizeof *ms);
    if (!ms)
        return -ENOMEM;
    ms->loop = loop;
    ms->store = store;
    ms->m = m;
    ms->cfg = *cfg;
    ms->on_done = on_done;
    ms->ctx = ctx;
    memcpy(ms->groups, cfg->groups, cfg->group_count * sizeof *cfg->groups);
    crow_op_init(&ms->timer, on_timer, ms);
    crow_mcast_sender_config_t ec;
    crow_mcast_sender_config_default(&ec);
    ec.rate_bps = cfg->rate_bps;
    ec.burst_bytes =
        crow_mcast_sender_burst_for(cfg->rate_bps, CROW_DGRAM_HEADER_LEN + m->chunk_size +
                                                       CROW_DGRAM_TAG_LEN + CROW_MCAST_IPV4_UDP_OVERHEAD);
    ec.passes = cfg->passes ? cfg->passes : UINT32_MAX;
    ec.beacon_interval_ns = cfg->beacon_interval_ns;
    ec.tcp_port = cfg->tcp_port;
    ms->cfg.first_piece = ec.first_piece = m->piece_count ? cfg->first_piece % m->piece_count : 0;
    ec.auth = cfg->key != NULL;
    ec.catch_up = cfg->on_drained != NULL && cfg->passes > 0;
    if (ec.catch_up && !(ms->extra = malloc((size_t)m->piece_count * sizeof *ms->extra))) {
        free(ms);
        return -ENOMEM;
    }
    int ret = crow_mcast_sender_init(&ms->engine, m, &ec);
    if (ret) {
        free(ms->extra);
        free(ms);
        return ret;
    }
    crow_mcast_sender_set_all_available(&ms->engine);
    if (cfg->scope && cfg->passes) /* passes without end send everything */
        crow_mcast_sender_want_segments(&ms->engine, cfg->scope);
    ms->window = !store ? 0 : cfg->window < 2 ? 2 : cfg->window;
    ms->slots = calloc(ms->window, sizeof *ms->slots);
    if ((ret = list_scope(ms)))
        goto fail;
    ms->batch_cap = BATCH_MAX * (CROW_DGRAM_HEADER_LEN + (size_t)m->chunk_size + CROW_DGRAM_CONTROL_MAX +
                                 2 * CROW_DGRAM_TAG_LEN);
    ret = -ENOMEM;
    if (ms->window && !ms->slots)
        goto fail;
    for (unsigned i = 0; i < ms->window; i++) {
        ms->slots[i].ms = ms;
        crow_op_init(&ms->slots[i].op, on_loaded, &ms->slots[i]);
        if (!(ms->slots[i].buf = malloc(m->piece_length)))
            goto fail;
    }
    for (unsigned i = 0; i < BATCH_BUFFERS; i++) {
        ms->batches[i].ms = ms;
        crow_op_init(&ms->batches[i].op, on_batch_sent, &ms->batches[i]);
        if (!(ms->batches[i].bytes = malloc(ms->batch_cap)))
            goto fail;
    }
    struct crow_udp_tx_config tc = {
        .iface = cfg->iface, .ttl = cfg->ttl, .loop = cfg->loop, .sndbuf = 4 << 20};
    if ((ret = crow_udp_tx_open(loop, &ms->tx, &tc)))
        goto fail;
    ms->stats.gso = crow_udp_tx_gso(ms->tx);
    ms->stats.started_ns = crow_loop_update_now(loop);
    *out = ms;
    pump(ms);
    return 0;
fail:
    release(ms);
    return ret;
}

void crow_mcast_stream_get_stats(const crow_mcast_stream_t *ms, struct crow_mcast_stream_stats *out)
{
    *out = ms->stats;
    out->engine = ms->engine.stats;
}

void crow_mcast_stream_end_now(crow_mcast_stream_t *ms)
{
    if (ms->done || ms->stopping)
        return;
    crow_mcast_sender_end_now(&ms->engine);
    ms->cfg.passes = ms->engine.cfg.passes;
    pump(ms);
}

uint32_t crow_mcast_stream_resend(crow_mcast_stream_t *ms, const crow_need_map_t *segs)
{
    if (ms->done || ms->stopping || !crow_mcast_sender_drained(&ms->engine))
        return 0;
    /* The window loads what the engine sends: the engine lists the pieces it took, in its order (the
     * list holds as many as the release has pieces: each is resent at most once). */
    uint32_t n = crow_mcast_sender_resend_segments(&ms->engine, segs, ms->extra + ms->extra_count,
                                                   ms->m->piece_count - ms->extra_count);
    if (n == 0) { /* nothing new to send: the pass is over */
        crow_mcast_stream_close_pass(ms);
        return 0;
    }
    ms->extra_count += n;
    ms->drained_told = false;
    if (!ms->in_drained)
        pump(ms);
    return n;
}

void crow_mcast_stream_close_pass(crow_mcast_stream_t *ms)
{
    if (ms->done || ms->stopping)
        return;
    crow_mcast_sender_close_pass(&ms->engine);
    if (!ms->in_drained)
        pump(ms);
}

void crow_mcast_stream_segments_sent(const crow_mcast_stream_t *ms, crow_need_map_t *out)
{
    crow_stream_segments_sent(ms->m->piece_count, crow_mcast_sender_pending(&ms->engine), out);
}

void crow_mcast_stream_stop(crow_mcast_stream_t *ms)
{
    if (!ms)
        return;
    ms->stopping = true;
    if (idle(ms)) {
        release(ms);
        return;
    }
    crow_io_cancel(ms->loop, &ms->timer);
}
