/* Per-connection peer wire state machine: handshake checks, the remote's pieces, choke and
 * interest, request pipelining through the picker, the queue of requests to serve. No I/O. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/peer_session.h"

#define NS_PER_SEC      1000000000ull
#define EXT_PAYLOAD_MAX 512u   /* our extension handshake, encoded */
#define EXT_MESSAGE_MAX 16384u /* extension messages we accept (handshakes are a few hundred bytes) */

enum state { AWAIT_HANDSHAKE, OPEN, CLOSED };

struct crow_peer_session {
    crow_peer_context_t *ctx;
    const crow_manifest_t *m;
    int nb; /* picker neighbour id, -1 without a picker */
    enum state state;
    bool hs_sent, intro_sent, remote_ext, seen_message;
    bool am_choking, am_interested, peer_choking, peer_interested;
    bool told_choking, told_interested; /* as the peer last heard from us */
    bool holds_slot;                    /* counted in ctx->unchoked */
    crow_bitfield_t remote;             /* pieces the remote has */
    crow_bitfield_t have_pending;       /* HAVEs to send */
    uint32_t wanted;                    /* pieces the remote has and we lack */
    uint32_t remote_reqq;               /* requests it queues, 0 when unknown */
    uint32_t remote_max_request;        /* crowcast: largest request it serves */
    crow_peer_info_t info;
    uint32_t max_len;    /* largest length prefix accepted */
    crow_block_t *serve; /* ring of reqq requests to serve */
    uint32_t serve_head, serve_count;
    uint64_t created, last_recv, last_sent, backoff_until;
    uint64_t choked_since; /* while we want its pieces and it chokes us; 0 otherwise */
    char reason[160];
};

void crow_peer_config_default(crow_peer_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->pos = -1;
    cfg->max_request = 1u << 20;
    cfg->pipeline_bytes = 16u << 20;
    cfg->max_depth = 64;
    cfg->reqq = 256;
    cfg->unchoke_limit = 64;
    cfg->request_timeout = 2 * NS_PER_SEC;
    cfg->backoff = NS_PER_SEC;
    cfg->keepalive = 60 * NS_PER_SEC;
    cfg->idle_timeout = 180 * NS_PER_SEC;
    cfg->handshake_timeout = 10 * NS_PER_SEC;
}

int crow_peer_context_init(crow_peer_context_t *ctx, const crow_peer_config_t *cfg)
{
    const crow_manifest_t *m = cfg->manifest;
    if (!m || !cfg->peer_id || !cfg->have || cfg->have->nbits != m->piece_count || !cfg->max_depth ||
        !cfg->reqq || cfg->max_request < CROW_WIRE_STOCK_BLOCK || cfg->max_request > CROW_WIRE_MAX_BLOCK ||
        !cfg->request_timeout || !cfg->keepalive || !cfg->idle_timeout || !cfg->handshake_timeout)
        return CROW_EUSAGE;
    ctx->cfg = *cfg;
    ctx->unchoked = 0;
    return 0;
}

static uint32_t max_u32(uint32_t a, uint32_t b)
{
    return a > b ? a : b;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

int crow_peer_session_new(crow_peer_context_t *ctx, uint32_t distance, bool same_rack, uint64_t now,
                          crow_peer_session_t **out)
{
    const crow_manifest_t *m = ctx->cfg.manifest;
    crow_peer_session_t *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->ctx = ctx;
    s->m = m;
    s->nb = -1;
    s->am_choking = s->peer_choking = s->told_choking = true;
    s->info.pos = -1;
    s->info.request_size = CROW_WIRE_STOCK_BLOCK;
    s->created = s->last_recv = s->last_sent = now;
    s->max_len = max_u32(9 + ctx->cfg.max_request,
                         max_u32(1 + (uint32_t)crow_bitfield_bytes(m->piece_count), 2 + EXT_MESSAGE_MAX));
    int ret = -ENOMEM;
    s->serve = calloc(ctx->cfg.reqq, sizeof *s->serve);
    if (!s->serve || crow_bitfield_init(&s->remote, m->piece_count) ||
        crow_bitfield_init(&s->have_pending, m->piece_count))
        goto fail;
    if (ctx->cfg.picker) {
        ret = crow_picker_join(ctx->cfg.picker, &s->remote, distance, same_rack);
        if (ret < 0)
            goto fail;
        s->nb = ret;
    }
    *out = s;
    return 0;
fail:
    crow_peer_session_free(s);
    return ret;
}

static void release_slot(crow_peer_session_t *s)
{
    if (s->holds_slot) {
        s->ctx->unchoked--;
        s->holds_slot = false;
    }
}

void crow_peer_session_free(crow_peer_session_t *s)
{
    if (!s)
        return;
    if (s->nb >= 0)
        crow_picker_leave(s->ctx->cfg.picker, s->nb);
    release_slot(s);
    crow_bitfield_dispose(&s->have_pending);
    crow_bitfield_dispose(&s->remote);
    free(s->serve);
    free(s);
}

size_t crow_peer_session_max_message(const crow_peer_session_t *s)
{
    return 4 + (size_t)s->max_len;
}

size_t crow_peer_session_min_out(const crow_peer_session_t *s)
{
    return CROW_WIRE_HANDSHAKE_LEN + CROW_WIRE_BITFIELD_HEADER_LEN + crow_bitfield_bytes(s->m->piece_count) +
           CROW_WIRE_EXT_HEADER_LEN + EXT_PAYLOAD_MAX;
}

static int close_with(crow_peer_session_t *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int close_with(crow_peer_session_t *s, int code, const char *fmt, ...)
{
    if (s->state != CLOSED) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->reason, sizeof s->reason, fmt, ap);
        va_end(ap);
        s->state = CLOSED; /* the caller sees the negative return and logs crow_peer_session_reason */
    }
    return code;
}

/* Keeps the picker's view of this neighbour current: ready only while unchoked and not backing off. */
static void update_pipeline(crow_peer_session_t *s, uint64_t now)
{
    if (s->nb < 0)
        return;
    const crow_peer_config_t *cfg = &s->ctx->cfg;
    uint32_t size = CROW_WIRE_STOCK_BLOCK;
    if (s->info.crowcast)
        size = min_u32(cfg->max_request, s->remote_max_request);
    uint32_t depth = min_u32(max_u32(cfg->pipeline_bytes / size, 1), cfg->max_depth);
    if (s->remote_reqq)
        depth = min_u32(depth, s->remote_reqq);
    s->info.request_size = size;
    s->info.depth = depth;
    if (s->peer_choking || !s->am_interested || s->backoff_until > now || s->state != OPEN)
        depth = 0;
    crow_picker_set_pipeline(cfg->picker, s->nb, depth, size);
}

static int on_handshake(crow_peer_session_t *s, const crow_wire_handshake_t *hs, crow_peer_event_t *ev)
{
    const crow_peer_config_t *cfg = &s->ctx->cfg;
    if (memcmp(hs->info_hash, s->m->info_hash, CROW_WIRE_ID_LEN) != 0)
        return close_with(s, CROW_EPROTO, "unknown info hash");
    if (memcmp(hs->peer_id, cfg->peer_id, CROW_WIRE_ID_LEN) == 0)
        return close_with(s, CROW_EPROTO, "connected to ourselves");
    memcpy(s->info.peer_id, hs->peer_id, CROW_WIRE_ID_LEN);
    s->remote_ext = crow_wire_handshake_has_ext(hs);
    s->state = OPEN;
    ev->type = CROW_PEER_EV_READY;
    return 0;
}

static void copy_text(char *dst, size_t cap, const uint8_t *src, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
    dst[n] = 0;
}

void crow_peer_context_set_place(crow_peer_context_t *ctx, const char *rack, int64_t pos)
{
    ctx->cfg.rack = rack;
    ctx->cfg.pos = pos;
}

void crow_peer_session_set_link(crow_peer_session_t *s, uint32_t distance, bool same_rack)
{
    if (s->nb >= 0)
        crow_picker_set_link(s->ctx->cfg.picker, s->nb, distance, same_rack);
}

static int on_extended(crow_peer_session_t *s, const crow_wire_msg_t *msg, uint64_t now)
{
    if (msg->ext_id != 0)
        return 0; /* we advertise no extension messages: anything else is ignored */
    crow_wire_ext_t ext;
    const char *why = NULL;
    if (crow_wire_decode_ext(msg->data, msg->data_len, &ext, &why))
        return close_with(s, CROW_EPROTO, "%s", why);
    crow_peer_info_t *info = &s->info;
    if (ext.client)
        copy_text(info->client, sizeof info->client, ext.client, ext.client_len);
    info->crowcast = ext.crowcast;
    if (ext.crowcast) {
        /* What it says of its place is kept for logs only: the link comes from the tracker. */
        if (ext.rack)
            copy_text(info->rack, sizeof info->rack, ext.rack, ext.rack_len);
        info->pos = ext.pos;
        s->remote_max_request =
            ext.max_request >= CROW_WIRE_STOCK_BLOCK ? ext.max_request : CROW_WIRE_STOCK_BLOCK;
    }
    s->remote_reqq = ext.reqq;
    update_pipeline(s, now);
    return 0;
}

static void remote_gained(crow_peer_session_t *s, uint32_t piece)
{
    if (!crow_bitfield_get(s->ctx->cfg.have, piece))
        s->wanted++;
    if (s->nb >= 0)
        crow_picker_remote_have(s->ctx->cfg.picker, s->nb, piece);
}

/* BEP 3 puts the bitfield first, but stock clients send one later too (aria2, starting empty,
 * sends its bitfield after its first HAVEs): a late bitfield adds its pieces like HAVEs would. */
static int merge_late_bitfield(crow_peer_session_t *s, const crow_wire_msg_t *msg)
{
    uint32_t n = s->m->piece_count;
    size_t bytes = crow_bitfield_bytes(n);
    unsigned spare = (unsigned)(bytes * 8 - n);
    if (msg->data_len != bytes || (msg->data[bytes - 1] & ((1u << spare) - 1)))
        return close_with(s, CROW_EPROTO, "bitfield of %zu bytes for %u pieces, or spare bits set",
                          msg->data_len, n);
    for (uint32_t i = 0; i < n; i++)
        if ((msg->data[i >> 3] >> (7 - (i & 7)) & 1) && crow_bitfield_set(&s->remote, i))
            remote_gained(s, i);
    return 0;
}

static int on_bitfield(crow_peer_session_t *s, const crow_wire_msg_t *msg)
{
    if (s->seen_message)
        return merge_late_bitfield(s, msg);
    if (crow_bitfield_load(&s->remote, msg->data, msg->data_len))
        return close_with(s, CROW_EPROTO, "bitfield of %zu bytes for %u pieces, or spare bits set",
                          msg->data_len, s->m->piece_count);
    const crow_bitfield_t *have = s->ctx->cfg.have;
    for (uint32_t i = crow_bitfield_next_set(&s->remote, 0); i < s->remote.nbits;
         i = crow_bitfield_next_set(&s->remote, i + 1))
        s->wanted += !crow_bitfield_get(have, i);
    if (s->nb >= 0)
        crow_picker_remote_bitfield(s->ctx->cfg.picker, s->nb);
    return 0;
}

static int on_request(crow_peer_session_t *s, const crow_wire_msg_t *msg, crow_peer_event_t *ev)
{
    const crow_peer_config_t *cfg = &s->ctx->cfg;
    if (msg->index >= s->m->piece_count)
        return close_with(s, CROW_EPROTO, "request for piece %u of %u", msg->index, s->m->piece_count);
    uint32_t size = crow_manifest_piece_size(s->m, msg->index);
    if (msg->length == 0 || msg->length > cfg->max_request)
        return close_with(s, CROW_EPROTO, "request of %u bytes (max %u)", msg->length, cfg->max_request);
    if (msg->begin > size || msg->length > size - msg->begin)
        return close_with(s, CROW_EPROTO, "request beyond the end of piece %u", msg->index);
    if (!crow_bitfield_get(cfg->have, msg->index))
        return close_with(s, CROW_EPROTO, "request for piece %u, which we do not have", msg->index);
    if (s->am_choking) {
        s->info.requests_dropped++; /* it may have crossed our CHOKE */
        return 0;
    }
    if (s->serve_count == cfg->reqq)
        return close_with(s, CROW_EPROTO, "more than %u queued requests", cfg->reqq);
    crow_block_t b = {msg->index, msg->begin, msg->length};
    s->serve[(s->serve_head + s->serve_count) % cfg->reqq] = b;
    s->serve_count++;
    ev->type = CROW_PEER_EV_SERVE;
    ev->block = b;
    return 0;
}

static void on_cancel(crow_peer_session_t *s, const crow_wire_msg_t *msg)
{
    uint32_t cap = s->ctx->cfg.reqq;
    for (uint32_t i = 0; i < s->serve_count; i++) {
        crow_block_t *b = &s->serve[(s->serve_head + i) % cap];
        if (b->piece != msg->index || b->begin != msg->begin || b->length != msg->length)
            continue;
        for (uint32_t j = i; j + 1 < s->serve_count; j++)
            s->serve[(s->serve_head + j) % cap] = s->serve[(s->serve_head + j + 1) % cap];
        s->serve_count--;
        return;
    }
}

static int on_piece(crow_peer_session_t *s, const crow_wire_msg_t *msg, uint64_t now, crow_peer_event_t *ev)
{
    if (msg->index >= s->m->piece_count)
        return close_with(s, CROW_EPROTO, "block for piece %u of %u", msg->index, s->m->piece_count);
    uint32_t size = crow_manifest_piece_size(s->m, msg->index);
    if (msg->begin > size || msg->length > size - msg->begin)
        return close_with(s, CROW_EPROTO, "block beyond the end of piece %u", msg->index);
    if (s->nb < 0)
        return 0;
    /* The neighbour delivers: its other requests are queued behind this one, not lost. A request
     * expires only when its neighbour has sent nothing for request_timeout, however long the queue
     * (a fixed deadline per request timed out whole pipelines on a busy link and asked again for
     * what was already on its way). */
    crow_picker_extend(s->ctx->cfg.picker, s->nb, now + s->ctx->cfg.request_timeout);
    if (!crow_picker_received(s->ctx->cfg.picker, s->nb, msg->index, msg->begin, msg->length))
        return 0; /* unsolicited: it may have crossed our CANCEL */
    ev->type = CROW_PEER_EV_BLOCK;
    ev->block = (crow_block_t){msg->index, msg->begin, msg->length};
    ev->data = msg->data;
    return 0;
}

static int on_message(crow_peer_session_t *s, const crow_wire_msg_t *msg, uint64_t now, crow_peer_event_t *ev)
{
    switch (msg->type) {
    case CROW_WIRE_CHOKE:
        s->peer_choking = true;
        if (s->nb >= 0 && crow_picker_outstanding(s->ctx->cfg.picker, s->nb)) {
            crow_picker_release(s->ctx->cfg.picker, s->nb); /* BEP 3: a choking peer drops them */
            ev->wake_others = true;
        }
        update_pipeline(s, now);
        return 0;
    case CROW_WIRE_UNCHOKE:
        s->peer_choking = false;
        update_pipeline(s, now);
        return 0;
    case CROW_WIRE_INTERESTED:
        s->peer_interested = true;
        return 0;
    case CROW_WIRE_NOT_INTERESTED:
        s->peer_interested = false;
        return 0;
    case CROW_WIRE_HAVE:
        if (msg->index >= s->m->piece_count)
            return close_with(s, CROW_EPROTO, "have for piece %u of %u", msg->index, s->m->piece_count);
        if (crow_bitfield_set(&s->remote, msg->index))
            remote_gained(s, msg->index);
        return 0;
    case CROW_WIRE_BITFIELD:
        return on_bitfield(s, msg);
    case CROW_WIRE_REQUEST:
        return on_request(s, msg, ev);
    case CROW_WIRE_PIECE:
        return on_piece(s, msg, now, ev);
    case CROW_WIRE_CANCEL:
        on_cancel(s, msg);
        return 0;
    case CROW_WIRE_EXTENDED:
        return on_extended(s, msg, now);
    case CROW_WIRE_PORT:
    case CROW_WIRE_KEEPALIVE:
    case CROW_WIRE_UNKNOWN:
        return 0;
    }
    return 0;
}

long crow_peer_session_receive(crow_peer_session_t *s, const uint8_t *buf, size_t len, uint64_t now,
                               crow_peer_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    if (s->state == CLOSED)
        return CROW_ECLOSED;
    const char *why = NULL;
    long used;
    int ret;
    if (s->state == AWAIT_HANDSHAKE) {
        crow_wire_handshake_t hs;
        used = crow_wire_decode_handshake(buf, len, &hs, &why);
        if (used == CROW_EMORE)
            return used;
        if (used < 0)
            return close_with(s, (int)used, "%s", why);
        ret = on_handshake(s, &hs, ev);
    } else {
        crow_wire_msg_t msg;
        used = crow_wire_decode(buf, len, s->max_len, &msg, &why);
        if (used == CROW_EMORE)
            return used;
        if (used < 0)
            return close_with(s, (int)used, "%s", why);
        ret = on_message(s, &msg, now, ev);
        if (msg.type != CROW_WIRE_KEEPALIVE && msg.type != CROW_WIRE_EXTENDED && msg.type != CROW_WIRE_PORT)
            s->seen_message = true;
    }
    s->last_recv = now;
    return ret < 0 ? ret : used;
}

static bool room(const crow_outbuf_t *out, size_t n)
{
    return out->cap - out->len >= n;
}

static bool write_intro(crow_peer_session_t *s, crow_outbuf_t *out)
{
    const crow_peer_config_t *cfg = &s->ctx->cfg;
    uint8_t ext_payload[EXT_PAYLOAD_MAX];
    long ext_len = 0;
    if (s->remote_ext) {
        crow_wire_ext_t ext = {
            .reqq = cfg->reqq, .crowcast = true, .pos = cfg->pos, .max_request = cfg->max_request};
        if (cfg->client) {
            ext.client = (const uint8_t *)cfg->client;
            ext.client_len = strlen(cfg->client);
        }
        if (cfg->rack) {
            ext.rack = (const uint8_t *)cfg->rack;
            ext.rack_len = strlen(cfg->rack);
        }
        ext_len = crow_wire_encode_ext(ext_payload, sizeof ext_payload, &ext);
        if (ext_len < 0)
            ext_len = 0; /* a rack or client name too long for the handshake: send none */
    }
    uint32_t bf_len = (uint32_t)crow_bitfield_bytes(s->m->piece_count);
    size_t need = (cfg->have->count ? CROW_WIRE_BITFIELD_HEADER_LEN + bf_len : 0) +
                  (ext_len ? CROW_WIRE_EXT_HEADER_LEN + (size_t)ext_len : 0);
    if (!room(out, need))
        return false;
    uint8_t *p = out->data + out->len;
    /* BEP 3 wants the bitfield first; with nothing to announce it may be left out. */
    if (cfg->have->count)
        p = crow_wire_encode_bitfield(p, cfg->have->bytes, bf_len);
    if (ext_len) {
        p = crow_wire_encode_ext_header(p, 0, (uint32_t)ext_len);
        memcpy(p, ext_payload, (size_t)ext_len);
        p += ext_len;
    }
    out->len = (size_t)(p - out->data);
    s->intro_sent = true;
    return true;
}

/* Trusted datacenter: unchoke whoever is interested while slots last; choke whoever is not. */
static void decide_choke(crow_peer_session_t *s)
{
    crow_peer_context_t *ctx = s->ctx;
    if (s->peer_interested && s->am_choking && ctx->unchoked < ctx->cfg.unchoke_limit) {
        s->am_choking = false;
        s->holds_slot = true;
        ctx->unchoked++;
    } else if (!s->peer_interested && !s->am_choking) {
        s->am_choking = true;
        s->serve_count = 0; /* BEP 3: choking discards the peer's pending requests */
        release_slot(s);
    }
}

static void put(crow_outbuf_t *out, uint8_t *end)
{
    out->len = (size_t)(end - out->data);
}

static bool write_state(crow_peer_session_t *s, crow_outbuf_t *out)
{
    if (s->am_choking != s->told_choking) {
        if (!room(out, CROW_WIRE_STATE_LEN))
            return false;
        put(out, crow_wire_encode_state(out->data + out->len,
                                        s->am_choking ? CROW_WIRE_CHOKE : CROW_WIRE_UNCHOKE));
        s->told_choking = s->am_choking;
    }
    if (s->am_interested != s->told_interested) {
        if (!room(out, CROW_WIRE_STATE_LEN))
            return false;
        put(out, crow_wire_encode_state(out->data + out->len,
                                        s->am_interested ? CROW_WIRE_INTERESTED : CROW_WIRE_NOT_INTERESTED));
        s->told_interested = s->am_interested;
    }
    return true;
}

static bool write_haves(crow_peer_session_t *s, crow_outbuf_t *out)
{
    while (s->have_pending.count) {
        if (!room(out, CROW_WIRE_HAVE_LEN))
            return false;
        uint32_t i = crow_bitfield_next_set(&s->have_pending, 0);
        put(out, crow_wire_encode_have(out->data + out->len, i));
        crow_bitfield_clear(&s->have_pending, i);
    }
    return true;
}

static void write_cancel(crow_outbuf_t *out, const crow_block_t *b)
{
    put(out, crow_wire_encode_request(out->data + out->len, CROW_WIRE_CANCEL, b->piece, b->begin, b->length));
}

/* CANCELs for useless and expired requests; returns true when chunks went back to the picker. */
static bool write_cancels(crow_peer_session_t *s, uint64_t now, crow_outbuf_t *out)
{
    crow_picker_t *picker = s->ctx->cfg.picker;
    crow_block_t b;
    bool released = false;
    while (room(out, CROW_WIRE_REQUEST_LEN) && crow_picker_next_cancel(picker, s->nb, &b))
        write_cancel(out, &b);
    while (room(out, CROW_WIRE_REQUEST_LEN) && crow_picker_next_expired(picker, s->nb, now, &b)) {
        write_cancel(out, &b);
        released = true;
    }
    if (released) /* flush returns 1: the caller may log the timeout */
        s->backoff_until = now + s->ctx->cfg.backoff;
    return released;
}

/* A neighbour that keeps us choked while it claims pieces we want answers no more than one that
 * lets our requests expire: after request_timeout, the picker stops believing its claims. */
static void check_choked(crow_peer_session_t *s, uint64_t now)
{
    if (!s->peer_choking || !s->am_interested) {
        s->choked_since = 0;
        return;
    }
    if (!s->choked_since)
        s->choked_since = now ? now : 1;
    else if (now - s->choked_since >= s->ctx->cfg.request_timeout)
        crow_picker_unresponsive(s->ctx->cfg.picker, s->nb);
}

static void write_requests(crow_peer_session_t *s, uint64_t now, crow_outbuf_t *out)
{
    crow_picker_t *picker = s->ctx->cfg.picker;
    crow_block_t b;
    uint64_t deadline = now + s->ctx->cfg.request_timeout;
    while (room(out, CROW_WIRE_REQUEST_LEN) && crow_picker_pick(picker, s->nb, deadline, &b))
        put(out,
            crow_wire_encode_request(out->data + out->len, CROW_WIRE_REQUEST, b.piece, b.begin, b.length));
}

int crow_peer_session_flush(crow_peer_session_t *s, uint64_t now, crow_outbuf_t *out)
{
    const crow_peer_config_t *cfg = &s->ctx->cfg;
    if (s->state == CLOSED)
        return CROW_ECLOSED;
    size_t start = out->len;
    int ret = 0;
    if (!s->hs_sent && room(out, CROW_WIRE_HANDSHAKE_LEN)) {
        crow_wire_handshake_t hs = {.reserved = {[CROW_WIRE_EXT_BYTE] = CROW_WIRE_EXT_BIT}};
        memcpy(hs.info_hash, s->m->info_hash, CROW_WIRE_ID_LEN);
        memcpy(hs.peer_id, cfg->peer_id, CROW_WIRE_ID_LEN);
        put(out, crow_wire_encode_handshake(out->data + out->len, &hs));
        s->hs_sent = true;
    }
    if (s->state == AWAIT_HANDSHAKE) {
        if (now - s->created >= cfg->handshake_timeout)
            return close_with(s, CROW_ETIMEOUT, "no handshake within the timeout");
        goto out;
    }
    if (now - s->last_recv >= cfg->idle_timeout)
        return close_with(s, CROW_ETIMEOUT, "silent for too long");
    if (s->backoff_until && now >= s->backoff_until)
        s->backoff_until = 0;
    if (!s->intro_sent && !write_intro(s, out))
        goto out;
    decide_choke(s);
    s->am_interested = s->nb >= 0 && s->wanted > 0;
    if (!write_state(s, out) || !write_haves(s, out))
        goto out;
    if (s->nb >= 0) {
        ret = write_cancels(s, now, out) ? 1 : 0;
        check_choked(s, now);
        update_pipeline(s, now);
        write_requests(s, now, out);
    }
out:
    if (out->len > start)
        s->last_sent = now;
    else if (s->hs_sent && now - s->last_sent >= cfg->keepalive && room(out, CROW_WIRE_KEEPALIVE_LEN)) {
        put(out, crow_wire_encode_keepalive(out->data + out->len));
        s->last_sent = now;
    }
    return ret;
}

uint64_t crow_peer_session_next_deadline(const crow_peer_session_t *s)
{
    const crow_peer_config_t *cfg = &s->ctx->cfg;
    if (s->state == AWAIT_HANDSHAKE)
        return s->created + cfg->handshake_timeout;
    uint64_t next = s->last_recv + cfg->idle_timeout;
    uint64_t keepalive = s->last_sent + cfg->keepalive;
    if (keepalive < next)
        next = keepalive;
    if (s->nb >= 0) {
        uint64_t req = crow_picker_next_deadline(cfg->picker, s->nb);
        if (req < next)
            next = req;
        if (s->backoff_until && s->backoff_until < next)
            next = s->backoff_until;
        uint64_t choked = s->choked_since + cfg->request_timeout;
        if (s->choked_since && !crow_picker_is_unresponsive(cfg->picker, s->nb) && choked < next)
            next = choked;
    }
    return next;
}

void crow_peer_session_have(crow_peer_session_t *s, uint32_t piece)
{
    if (piece >= s->m->piece_count)
        return;
    if (crow_bitfield_get(&s->remote, piece) && s->wanted)
        s->wanted--; /* counted while we lacked it */
    /* Announced even to a remote that has the piece: stock clients learn from HAVEs that we
     * became a seed (and drop seed-to-seed connections). */
    if (s->intro_sent)
        crow_bitfield_set(&s->have_pending, piece); /* else the bitfield still to come carries it */
}

bool crow_peer_session_next_serve(crow_peer_session_t *s, crow_block_t *out)
{
    if (!s->serve_count)
        return false;
    *out = s->serve[s->serve_head];
    s->serve_head = (s->serve_head + 1) % s->ctx->cfg.reqq;
    s->serve_count--;
    return true;
}

int crow_peer_session_piece_header(crow_peer_session_t *s, const crow_block_t *b, crow_outbuf_t *out)
{
    if (!room(out, CROW_WIRE_PIECE_HEADER_LEN))
        return CROW_ESPACE;
    put(out, crow_wire_encode_piece_header(out->data + out->len, b->piece, b->begin, b->length));
    s->info.bytes_served += b->length;
    return 0;
}

bool crow_peer_keeps_dialled(const uint8_t ours[CROW_WIRE_ID_LEN], const uint8_t theirs[CROW_WIRE_ID_LEN])
{
    return memcmp(ours, theirs, CROW_WIRE_ID_LEN) < 0;
}

void crow_peer_session_info(const crow_peer_session_t *s, crow_peer_info_t *out)
{
    *out = s->info;
    out->am_choking = s->am_choking;
    out->am_interested = s->am_interested;
    out->peer_choking = s->peer_choking;
    out->peer_interested = s->peer_interested;
    out->remote_pieces = s->remote.count;
    out->picker_id = s->nb;
}

const char *crow_peer_session_reason(const crow_peer_session_t *s)
{
    return s->reason;
}
