/* crowcast-diag's TCP side: bounded per-direction reassembly of peer-wire and tracker connections,
 * message accounting with the wire codec, request->piece matching, announces parsed with the HTTP
 * and announce codecs. See diag_flows.h for the reassembly rules. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/byteorder.h"
#include "crowcast/diag_flows.h"
#include "crowcast/error.h"
#include "crowcast/http.h"
#include "crowcast/mix.h"
#include "crowcast/wire.h"

#define DEFAULT_MAX_CONNS      256u
#define DEFAULT_MAX_ANNOUNCERS 4096u
/* Largest wire message accepted header-first: a PIECE of the largest block crowcast serves. */
#define WIRE_MAX_MESSAGE (9u + CROW_WIRE_MAX_BLOCK)

enum dir_state {
    DIR_NEW = 0,   /* nothing seen yet */
    DIR_HANDSHAKE, /* at the start of a wire stream: the handshake comes next */
    DIR_MSGS,      /* at or inside a known message (buf and skip say where) */
    DIR_LOST,      /* the message boundary is unknown */
    DIR_IGNORE,    /* a tracker's responses: counted, not parsed */
};

int crow_diag_flows_init(crow_diag_flows_t *f, const crow_diag_flows_config_t *cfg)
{
    memset(f, 0, sizeof *f);
    if (cfg)
        f->cfg = *cfg;
    if (f->cfg.wire_port_count > CROW_DIAG_MAX_PORTS)
        f->cfg.wire_port_count = CROW_DIAG_MAX_PORTS;
    if (f->cfg.tracker_port_count > CROW_DIAG_MAX_PORTS)
        f->cfg.tracker_port_count = CROW_DIAG_MAX_PORTS;
    if (f->cfg.max_conns == 0)
        f->cfg.max_conns = DEFAULT_MAX_CONNS;
    if (f->cfg.max_announcers == 0)
        f->cfg.max_announcers = DEFAULT_MAX_ANNOUNCERS;
    f->conn_mask = crow_mix_table_mask(f->cfg.max_conns);
    f->ann_mask = crow_mix_table_mask(f->cfg.max_announcers);
    f->conns = calloc(f->cfg.max_conns, sizeof *f->conns);
    f->conn_slots = calloc((size_t)f->conn_mask + 1, sizeof *f->conn_slots);
    f->announcers = calloc(f->cfg.max_announcers, sizeof *f->announcers);
    f->ann_slots = calloc((size_t)f->ann_mask + 1, sizeof *f->ann_slots);
    if (!f->conns || !f->conn_slots || !f->announcers || !f->ann_slots) {
        crow_diag_flows_dispose(f);
        return -ENOMEM;
    }
    return 0;
}

void crow_diag_flows_dispose(crow_diag_flows_t *f)
{
    free(f->ann_slots);
    free(f->announcers);
    free(f->conn_slots);
    free(f->conns);
    memset(f, 0, sizeof *f);
}

static bool port_in(const uint16_t *ports, uint32_t count, uint16_t port)
{
    for (uint32_t i = 0; i < count; i++)
        if (ports[i] == port)
            return true;
    return false;
}

static bool starts_with_handshake(const uint8_t *p, size_t n)
{
    return n >= 1 + CROW_WIRE_PSTR_LEN && p[0] == CROW_WIRE_PSTR_LEN &&
           memcmp(p + 1, CROW_WIRE_PSTR, CROW_WIRE_PSTR_LEN) == 0;
}

/* --- connection table ------------------------------------------------------------------------- */

static bool conn_is(const crow_diag_conn_t *c, const crow_netframe_t *fr)
{
    return (c->ip[0] == fr->src_ip && c->port[0] == fr->src_port && c->ip[1] == fr->dst_ip &&
            c->port[1] == fr->dst_port) ||
           (c->ip[1] == fr->src_ip && c->port[1] == fr->src_port && c->ip[0] == fr->dst_ip &&
            c->port[0] == fr->dst_port);
}

/* Same hash whichever way the segment goes. */
static uint32_t conn_hash(const crow_netframe_t *fr)
{
    uint64_t a = (uint64_t)fr->src_ip << 16 | fr->src_port;
    uint64_t b = (uint64_t)fr->dst_ip << 16 | fr->dst_port;
    return (uint32_t)crow_mix_bits(crow_mix_bits(a < b ? a : b) ^ (a < b ? b : a));
}

/* The connection of a segment; created (as `kind`) when kind != 0; NULL when unknown or full. */
static crow_diag_conn_t *conn_for(crow_diag_flows_t *f, const crow_netframe_t *fr, uint8_t kind,
                                  uint16_t source, double ts)
{
    uint32_t i = conn_hash(fr) & f->conn_mask;
    for (;; i = (i + 1) & f->conn_mask) {
        uint32_t slot = f->conn_slots[i];
        if (slot == 0)
            break;
        if (conn_is(&f->conns[slot - 1], fr))
            return &f->conns[slot - 1];
    }
    if (kind == 0)
        return NULL;
    if (f->conn_count == f->cfg.max_conns) {
        f->conns_dropped++;
        return NULL;
    }
    crow_diag_conn_t *c = &f->conns[f->conn_count++];
    c->kind = kind;
    c->source = source;
    c->ifindex = fr->ifindex;
    c->ip[0] = fr->src_ip;
    c->port[0] = fr->src_port;
    c->ip[1] = fr->dst_ip;
    c->port[1] = fr->dst_port;
    c->first_ts = ts;
    f->conn_slots[i] = f->conn_count;
    return c;
}

/* --- peer wire -------------------------------------------------------------------------------- */

static uint32_t msg_slot(const crow_wire_msg_t *m)
{
    if (m->type == CROW_WIRE_KEEPALIVE)
        return CROW_DIAG_MSG_KEEPALIVE;
    if (m->type == CROW_WIRE_UNKNOWN || m->id > CROW_WIRE_EXTENDED)
        return CROW_DIAG_MSG_UNKNOWN;
    return m->id;
}

static void pending_add(crow_diag_dir_t *d, const crow_wire_msg_t *m, double ts)
{
    uint32_t at = d->pending_count;
    if (at == CROW_DIAG_PENDING) {
        at = 0;
        for (uint32_t i = 1; i < d->pending_count; i++)
            if (d->pending[i].ts < d->pending[at].ts)
                at = i;
        d->unanswered_dropped++;
    } else {
        d->pending_count++;
    }
    d->pending[at] =
        (crow_diag_request_t){.index = m->index, .begin = m->begin, .length = m->length, .ts = ts};
}

/* Removes the pending request (index, begin, length); returns it in *out when found. */
static bool pending_take(crow_diag_dir_t *d, const crow_wire_msg_t *m, crow_diag_request_t *out)
{
    for (uint32_t i = 0; i < d->pending_count; i++) {
        crow_diag_request_t *r = &d->pending[i];
        if (r->index == m->index && r->begin == m->begin && r->length == m->length) {
            *out = *r;
            *r = d->pending[--d->pending_count];
            return true;
        }
    }
    return false;
}

static void wire_account(crow_diag_conn_t *c, int side, const crow_wire_msg_t *m, double ts)
{
    crow_diag_dir_t *d = &c->dir[side], *other = &c->dir[1 - side];
    crow_diag_request_t req;
    d->msgs[msg_slot(m)]++;
    switch (m->type) {
    case CROW_WIRE_REQUEST:
        pending_add(d, m, ts);
        break;
    case CROW_WIRE_CANCEL:
        pending_take(d, m, &req);
        break;
    case CROW_WIRE_PIECE:
        d->piece_bytes += m->length;
        if (pending_take(other, m, &req)) {
            double lat = ts - req.ts;
            if (other->answered == 0 || lat < other->lat_min)
                other->lat_min = lat;
            if (lat > other->lat_max)
                other->lat_max = lat;
            other->lat_sum += lat;
            other->answered++;
        }
        break;
    default:
        break;
    }
}

/* Parses the next wire item at buf[0..len). Returns the bytes consumed (> 0), 0 for "need more",
 * or -1 when the stream does not parse (the boundary is lost). */
static long wire_next(crow_diag_conn_t *c, int side, const uint8_t *buf, size_t len, double ts)
{
    crow_diag_dir_t *d = &c->dir[side];
    crow_wire_msg_t m;
    const char *why;
    if (d->state == DIR_HANDSHAKE) {
        crow_wire_handshake_t hs;
        int r = crow_wire_decode_handshake(buf, len, &hs, &why);
        if (r == CROW_EMORE)
            return 0;
        if (r < 0)
            return -1;
        if (!c->handshake[0] && !c->handshake[1])
            memcpy(c->info_hash, hs.info_hash, sizeof c->info_hash);
        c->handshake[side] = true;
        d->msgs[CROW_DIAG_MSG_HANDSHAKE]++;
        d->state = DIR_MSGS;
        return r;
    }
    long r = crow_wire_decode(buf, len, CROW_DIAG_FLOW_BUF - 4, &m, &why);
    if (r > 0) {
        wire_account(c, side, &m, ts);
        return r;
    }
    if (r == CROW_EMORE)
        return 0;
    if (r != CROW_ELIMIT)
        return -1;
    /* Too long to buffer: decode a copy of its first bytes whose length prefix covers only them
     * (a PIECE then reads as a zero-length block), account it, and skip the rest of the body. */
    uint32_t n = crow_get32(buf);
    if (n > WIRE_MAX_MESSAGE)
        return -1;
    uint8_t head[4 + 9];
    uint32_t h = n < 9 ? n : 9;
    if (len < 4 + h)
        return 0;
    memcpy(head, buf, 4 + h);
    head[0] = head[1] = head[2] = 0;
    head[3] = (uint8_t)h;
    if (crow_wire_decode(head, 4 + h, h, &m, &why) <= 0)
        return -1;
    if (m.type == CROW_WIRE_PIECE)
        m.length = n - 9;
    wire_account(c, side, &m, ts);
    d->skip = 4 + (uint64_t)n - len;
    return (long)len;
}

/* Does a segment that starts with p look like it starts a wire message? */
static bool wire_plausible(const uint8_t *p, size_t n)
{
    crow_wire_msg_t m;
    if (n < 5 || crow_get32(p) == 0)
        return false;
    long r = crow_wire_decode(p, n, WIRE_MAX_MESSAGE, &m, NULL);
    if (r > 0)
        return m.type != CROW_WIRE_UNKNOWN;
    return r == CROW_EMORE &&
           (p[4] == CROW_WIRE_PIECE || p[4] == CROW_WIRE_BITFIELD || p[4] == CROW_WIRE_EXTENDED);
}

/* --- tracker ---------------------------------------------------------------------------------- */

static crow_diag_announcer_t *announcer_for(crow_diag_flows_t *f, uint32_t ip, uint16_t port)
{
    uint32_t i = (uint32_t)crow_mix_bits((uint64_t)ip << 16 | port) & f->ann_mask;
    for (;; i = (i + 1) & f->ann_mask) {
        uint32_t slot = f->ann_slots[i];
        if (slot == 0)
            break;
        crow_diag_announcer_t *a = &f->announcers[slot - 1];
        if (a->ip == ip && a->port == port)
            return a;
    }
    if (f->announcer_count == f->cfg.max_announcers) {
        f->announcers_dropped++;
        return NULL;
    }
    crow_diag_announcer_t *a = &f->announcers[f->announcer_count++];
    a->ip = ip;
    a->port = port;
    f->ann_slots[i] = f->announcer_count;
    return a;
}

static bool str_is(crow_http_str_t s, const char *text)
{
    return s.len == strlen(text) && memcmp(s.ptr, text, s.len) == 0;
}

static void tracker_request(crow_diag_flows_t *f, uint32_t client_ip, const crow_http_request_t *req,
                            double ts)
{
    f->http_requests++;
    if (str_is(req->path, "/scrape")) {
        f->scrapes++;
        return;
    }
    if (!str_is(req->path, "/announce")) {
        f->other_requests++;
        return;
    }
    crow_announce_req_t ann;
    const char *failure;
    if (crow_announce_parse(req->query.ptr, req->query.len, &ann, &failure) != 0) {
        f->announce_errors++;
        return;
    }
    f->announces++;
    crow_diag_announcer_t *a = announcer_for(f, client_ip, ann.port);
    if (!a)
        return;
    if (a->announces++ == 0)
        a->first_ts = ts;
    a->last_ts = ts;
    a->events[ann.event]++;
    a->left = ann.left;
    memcpy(a->rack, ann.has_rack ? ann.rack : "", ann.has_rack ? sizeof a->rack : 1);
}

static long tracker_next(crow_diag_flows_t *f, crow_diag_conn_t *c, int side, const uint8_t *buf, size_t len,
                         double ts)
{
    crow_http_limits_t limits = {.max_head = CROW_DIAG_FLOW_BUF};
    crow_http_parser_t p;
    crow_http_request_t req;
    crow_http_error_t err;
    crow_http_parser_init(&p, &limits);
    int r = crow_http_parse_request(&p, buf, len, &req, &err);
    if (r == CROW_EMORE)
        return 0;
    if (r < 0) {
        f->http_errors++;
        return -1;
    }
    tracker_request(f, c->ip[side], &req, ts);
    return r;
}

/* --- reassembly ------------------------------------------------------------------------------- */

static void lose_boundary(crow_diag_dir_t *d)
{
    d->state = DIR_LOST;
    d->buf_len = 0;
    d->skip = 0;
}

/* Parses in-order bytes p[0..n) of a direction at a known boundary. */
static void consume(crow_diag_flows_t *f, crow_diag_conn_t *c, int side, const uint8_t *p, size_t n,
                    double ts)
{
    crow_diag_dir_t *d = &c->dir[side];
    while (n > 0) {
        if (d->skip > 0) {
            size_t k = d->skip < n ? (size_t)d->skip : n;
            d->skip -= k;
            p += k;
            n -= k;
            continue;
        }
        size_t k = CROW_DIAG_FLOW_BUF - d->buf_len;
        if (k > n)
            k = n;
        memcpy(d->buf + d->buf_len, p, k);
        d->buf_len += (uint32_t)k;
        p += k;
        n -= k;
        size_t used = 0;
        long r;
        do {
            r = c->kind == CROW_DIAG_CONN_WIRE
                    ? wire_next(c, side, d->buf + used, d->buf_len - used, ts)
                    : tracker_next(f, c, side, d->buf + used, d->buf_len - used, ts);
            if (r > 0)
                used += (size_t)r;
        } while (r > 0 && used < d->buf_len && d->skip == 0);
        /* A full buffer that holds no whole item cannot make progress: the limits say it is not one. */
        if (r < 0 || (r == 0 && used == 0 && d->buf_len == CROW_DIAG_FLOW_BUF)) {
            d->errors++;
            d->unparsed_bytes += n + d->buf_len - used;
            lose_boundary(d);
            return;
        }
        memmove(d->buf, d->buf + used, d->buf_len - used);
        d->buf_len -= (uint32_t)used;
    }
}

/* At the start of a segment while the boundary is unknown: does the segment start an item? */
static void try_resync(const crow_diag_conn_t *c, crow_diag_dir_t *d, const uint8_t *p, size_t n)
{
    if (c->kind == CROW_DIAG_CONN_TRACKER) {
        if (n >= 4 && memcmp(p, "GET ", 4) == 0)
            d->state = DIR_MSGS;
    } else if (starts_with_handshake(p, n)) {
        d->state = DIR_HANDSHAKE;
    } else if (wire_plausible(p, n)) {
        d->state = DIR_MSGS;
    }
}

static void feed_dir(crow_diag_flows_t *f, crow_diag_conn_t *c, int side, const crow_netframe_t *fr,
                     double ts)
{
    crow_diag_dir_t *d = &c->dir[side];
    uint32_t seq = fr->tcp_seq;
    /* A SYN at another sequence number than the one this direction started with: the same ports
     * carry a new connection, whose stream starts afresh (a retransmitted SYN changes nothing). */
    if ((fr->tcp_flags & CROW_TCP_SYN) && d->state != DIR_NEW && seq != d->isn) {
        d->state = DIR_NEW;
        d->buf_len = 0;
        d->skip = 0;
        d->pending_count = 0;
    }
    if (d->state == DIR_NEW) {
        d->isn = seq;
        bool tracker_reply = c->kind == CROW_DIAG_CONN_TRACKER &&
                             port_in(f->cfg.tracker_ports, f->cfg.tracker_port_count, fr->src_port);
        if (fr->tcp_flags & CROW_TCP_SYN) {
            d->next_seq = seq + 1;
            d->state = c->kind == CROW_DIAG_CONN_WIRE ? DIR_HANDSHAKE : DIR_MSGS;
        } else {
            d->next_seq = seq;
            d->state = DIR_LOST;
        }
        if (tracker_reply)
            d->state = DIR_IGNORE;
    }
    if (fr->tcp_flags & CROW_TCP_SYN)
        seq++;
    const uint8_t *p = fr->payload;
    size_t n = fr->payload_len;
    if (n == 0)
        return;
    /* Serial-number arithmetic: the sequence space wraps at 2^32. */
    int32_t off = (int32_t)(seq - d->next_seq);
    bool segment_start = true;
    if (off > 0) {
        d->gaps++;
        if (d->state != DIR_IGNORE)
            lose_boundary(d);
    } else if (off < 0) {
        size_t old = (size_t) - (int64_t)off;
        if (old >= n) {
            d->retrans++;
            return;
        }
        p += old;
        n -= old;
        segment_start = false;
    }
    d->next_seq = seq + (uint32_t)fr->payload_len;
    d->bytes += n;
    if (d->state == DIR_LOST && segment_start)
        try_resync(c, d, p, n);
    if (d->state == DIR_LOST || d->state == DIR_IGNORE) {
        if (d->state == DIR_LOST)
            d->unparsed_bytes += n;
        return;
    }
    consume(f, c, side, p, n, ts);
}

void crow_diag_flows_feed(crow_diag_flows_t *f, const crow_netframe_t *fr, uint16_t source, double ts)
{
    uint8_t kind = 0;
    if (port_in(f->cfg.tracker_ports, f->cfg.tracker_port_count, fr->src_port) ||
        port_in(f->cfg.tracker_ports, f->cfg.tracker_port_count, fr->dst_port))
        kind = CROW_DIAG_CONN_TRACKER;
    else if (port_in(f->cfg.wire_ports, f->cfg.wire_port_count, fr->src_port) ||
             port_in(f->cfg.wire_ports, f->cfg.wire_port_count, fr->dst_port) ||
             (!f->cfg.no_handshake_detect && starts_with_handshake(fr->payload, fr->payload_len)))
        kind = CROW_DIAG_CONN_WIRE;
    crow_diag_conn_t *c = conn_for(f, fr, kind, source, ts);
    if (!c)
        return;
    if (c->source != source || c->ifindex != fr->ifindex) {
        f->copies++;
        return;
    }
    c->last_ts = ts;
    int side = c->ip[0] == fr->src_ip && c->port[0] == fr->src_port ? 0 : 1;
    feed_dir(f, c, side, fr, ts);
}
