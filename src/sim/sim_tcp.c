/* Simulated TCP connections carrying the real peer-wire bytes between two crow_peer_sessions, as
 * src/app/common/peers.c drives them over sockets.
 *
 * A connection's two directions are pipes: the sender's session writes real bytes (handshake,
 * bitfield, requests, HAVEs, the 13-byte PIECE headers); a served block's payload is only counted,
 * and stands behind its header in a scratch buffer when the receiving session reads the PIECE message (the
 * simulator's chunks are all genuine). Segments of at most SEG_BYTES cross the sender's NIC, the
 * racks' fabric links when the hosts sit in different racks, and the receiver's NIC, which they share
 * with the multicast stream (they compete for its queue but are never dropped: the simulator does not
 * model retransmission). A window of WINDOW_BYTES in flight per direction stands for TCP's flow
 * control; acknowledgements are not simulated (the window opens when the bytes arrive).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/byteorder.h"
#include "crowcast/error.h"
#include "crowcast/wire.h"
#include "sim_world.h"

#define SEG_BYTES    (64u * 1024)
#define WINDOW_BYTES (512u * 1024)
/* Output a sender may hold unsent (peers.c sizes its socket buffer for a few blocks the same way). */
#define OUT_CAP_EXTRA (64u * 1024 + 4096)
#define FLUSH_ROOM    (16u * 1024)

/* The link a segment takes next (SIM_EV_TCP_TOR's arg, bits 40 and up). */
enum hop { HOP_HOST, HOP_RACK_UP, HOP_FABRIC };

static void flush(sim_world_t *w, uint32_t c, int d);
static void close_side(sim_world_t *w, uint32_t c, int d);

static sim_conn_t *conn_at(sim_world_t *w, uint32_t c)
{
    return &w->conns[c];
}

static size_t out_cap(const sim_world_t *w, const sim_host_t *h)
{
    return 4 * (CROW_WIRE_PIECE_HEADER_LEN + (size_t)h->ctx.cfg.max_request) + OUT_CAP_EXTRA +
           crow_bitfield_bytes(w->m.piece_count);
}

static size_t out_space(const sim_world_t *w, const sim_host_t *h, const sim_pipe_t *p)
{
    uint64_t unsent = p->produced - p->sent, cap = out_cap(w, h);
    return unsent >= cap ? 0 : (size_t)(cap - unsent);
}

static int pipe_reserve(sim_pipe_t *p, size_t n)
{
    if (p->real_read > 0 && p->real_read == p->real_len)
        p->real_read = p->real_len = 0;
    if (p->real_len + n <= p->real_cap)
        return 0;
    if (p->real_read > p->real_cap / 2) { /* compact before growing */
        memmove(p->real, p->real + p->real_read, p->real_len - p->real_read);
        p->real_len -= p->real_read;
        p->real_read = 0;
        if (p->real_len + n <= p->real_cap)
            return 0;
    }
    size_t cap = p->real_cap ? p->real_cap : 256;
    while (cap < p->real_len + n)
        cap *= 2;
    uint8_t *b = realloc(p->real, cap);
    if (!b)
        return -ENOMEM;
    p->real = b;
    p->real_cap = cap;
    return 0;
}

static void host_add_conn(sim_world_t *w, sim_host_t *h, uint32_t c, bool outgoing)
{
    if (h->nconns == h->conns_cap) {
        uint32_t cap = h->conns_cap ? 2 * h->conns_cap : 8;
        uint32_t *n = realloc(h->conns, cap * sizeof *n);
        if (!n) {
            sim_fail(w, -ENOMEM);
            return;
        }
        h->conns = n;
        h->conns_cap = cap;
    }
    h->conns[h->nconns++] = c;
    if (outgoing)
        h->nout++;
    else
        h->nin++;
}

static void host_remove_conn(sim_host_t *h, uint32_t c, bool outgoing)
{
    for (uint32_t i = 0; i < h->nconns; i++)
        if (h->conns[i] == c) {
            memmove(h->conns + i, h->conns + i + 1, (h->nconns - i - 1) * sizeof *h->conns);
            h->nconns--;
            if (outgoing)
                h->nout--;
            else
                h->nin--;
            return;
        }
}

bool sim_tcp_connected(const sim_world_t *w, uint32_t from, uint32_t to_addr)
{
    const sim_host_t *h = &w->hosts[from];
    for (uint32_t i = 0; i < h->nconns; i++) {
        const sim_conn_t *c = &w->conns[h->conns[i]];
        int d = c->host[0] == from ? 0 : 1;
        if (w->hosts[c->host[1 - d]].addr == to_addr)
            return true;
    }
    return false;
}

void sim_tcp_connect(sim_world_t *w, uint32_t from, uint32_t to)
{
    sim_host_t *h = &w->hosts[from];
    if (h->nout >= SIM_MAX_CONNS || from == to)
        return;
    if (w->nconns == w->conns_cap) {
        uint32_t cap = w->conns_cap ? 2 * w->conns_cap : 1024;
        sim_conn_t *n = realloc(w->conns, cap * sizeof *n);
        if (!n) {
            sim_fail(w, -ENOMEM);
            return;
        }
        w->conns = n;
        w->conns_cap = cap;
    }
    uint32_t c = w->nconns++;
    w->conns[c] = (sim_conn_t){.host = {from, to}, .incarnation = {h->incarnation, 0}, .open = {true, false}};
    host_add_conn(w, h, c, true);
    sim_at(w, sim_now(w) + sim_oneway_ns(w, from, to), SIM_EV_TCP_SYN, c, 0);
}

/* Side d's session is made once its socket is connected (peers.c's start_session). */
static void start_session(sim_world_t *w, uint32_t c, int d)
{
    sim_conn_t *cn = conn_at(w, c);
    sim_host_t *h = &w->hosts[cn->host[d]];
    crow_peer_place_t place = sim_peer_place(w, h, w->hosts[cn->host[1 - d]].addr);
    int ret = crow_peer_session_new(&h->ctx, place.distance, place.same_rack, sim_now(w), &cn->s[d]);
    if (ret) {
        close_side(w, c, d);
        return;
    }
    flush(w, c, d);
}

/* Segments from side d while the window and the stream allow. */
static void pump(sim_world_t *w, uint32_t c, int d)
{
    sim_conn_t *cn = conn_at(w, c);
    sim_pipe_t *p = &cn->pipe[d];
    sim_host_t *a = &w->hosts[cn->host[d]], *b = &w->hosts[cn->host[1 - d]];
    while (p->sent < p->produced && p->sent - p->arrived < WINDOW_BYTES) {
        uint64_t n = p->produced - p->sent, room = WINDOW_BYTES - (p->sent - p->arrived);
        n = n < SEG_BYTES ? n : SEG_BYTES;
        n = n < room ? n : room;
        uint64_t t = sim_link_offer(&a->up, sim_now(w), n, false, NULL);
        /* Every shared link takes the segment when it gets there (an offer ahead of time would
         * count it in the queue early, and multicast behind it would be dropped for it). */
        enum hop next = a->rack == b->rack ? HOP_HOST : a->rack != CROW_RACK_NONE ? HOP_RACK_UP : HOP_FABRIC;
        p->sent += n;
        sim_at(w, t, SIM_EV_TCP_TOR, c, (uint64_t)next << 40 | (uint64_t)d << 32 | n);
    }
}

/* peers.c's serve_more: queued requests go out while the output has room for a whole block. */
static void serve(sim_world_t *w, uint32_t c, int d)
{
    sim_conn_t *cn = conn_at(w, c);
    sim_host_t *h = &w->hosts[cn->host[d]];
    sim_pipe_t *p = &cn->pipe[d];
    crow_block_t b;
    while (cn->s[d] && out_space(w, h, p) >= CROW_WIRE_PIECE_HEADER_LEN + h->ctx.cfg.max_request &&
           crow_peer_session_next_serve(cn->s[d], &b)) {
        if (pipe_reserve(p, CROW_WIRE_PIECE_HEADER_LEN)) {
            sim_fail(w, -ENOMEM);
            return;
        }
        crow_outbuf_t out = {.data = p->real + p->real_len, .cap = CROW_WIRE_PIECE_HEADER_LEN};
        if (crow_peer_session_piece_header(cn->s[d], &b, &out)) {
            close_side(w, c, d);
            return;
        }
        p->real_len += out.len;
        p->produced += out.len + b.length;
        if (cn->host[d] == w->seeder)
            w->seeder_tcp_bytes += b.length;
    }
}

/* Runs the session's flush (and the serving of queued requests) for side d of conn c. */
static void flush(sim_world_t *w, uint32_t c, int d)
{
    sim_conn_t *cn = conn_at(w, c);
    if (!cn->s[d] || !cn->open[d])
        return;
    sim_host_t *h = &w->hosts[cn->host[d]];
    sim_pipe_t *p = &cn->pipe[d];
    serve(w, c, d);
    if (!cn->s[d])
        return;
    /* Room for what a flush says (requests, HAVEs, the first messages); what does not fit waits for
     * the next flush, as over a socket. */
    size_t space = out_space(w, h, p), want = crow_peer_session_min_out(cn->s[d]);
    if (space > want + FLUSH_ROOM)
        space = want + FLUSH_ROOM;
    if (space >= want) {
        /* Written to the shared flush buffer, then only what was said is kept in the pipe: a pipe
         * holds its bytes in flight, not the room a flush may use. */
        crow_outbuf_t out = {.data = w->flushbuf, .cap = space < w->flushbuf_cap ? space : w->flushbuf_cap};
        int ret = crow_peer_session_flush(cn->s[d], sim_now(w), &out);
        if (out.len) {
            if (pipe_reserve(p, out.len)) {
                sim_fail(w, -ENOMEM);
                return;
            }
            memcpy(p->real + p->real_len, w->flushbuf, out.len);
            p->real_len += out.len;
            p->produced += out.len;
        }
        if (ret < 0) {
            pump(w, c, d);
            close_side(w, c, d);
            return;
        }
        if (ret == 1)
            sim_tcp_flush_host(w, cn->host[d]);
    }
    pump(w, c, d);
}

void sim_tcp_flush_host(sim_world_t *w, uint32_t host)
{
    /* A flush may close connections (and so change the list): walk a copy. */
    sim_host_t *h = &w->hosts[host];
    uint32_t n = h->nconns, small[2 * SIM_MAX_CONNS], *ids = small;
    if (n == 0)
        return;
    if (n > 2 * SIM_MAX_CONNS && !(ids = malloc(n * sizeof *ids))) { /* the seeder's many */
        sim_fail(w, -ENOMEM);
        return;
    }
    memcpy(ids, h->conns, n * sizeof *ids);
    for (uint32_t i = 0; i < n; i++) {
        sim_conn_t *cn = conn_at(w, ids[i]);
        int d = cn->host[0] == host ? 0 : 1;
        if (cn->open[d] && cn->established)
            flush(w, ids[i], d);
    }
    if (ids != small)
        free(ids);
}

static void free_side(sim_world_t *w, uint32_t c, int d)
{
    sim_conn_t *cn = conn_at(w, c);
    if (!cn->open[d])
        return;
    cn->open[d] = false;
    host_remove_conn(&w->hosts[cn->host[d]], c, d == 0);
    crow_peer_session_free(cn->s[d]); /* its requests go back to the picker */
    cn->s[d] = NULL;
    if (!cn->open[1 - d]) {
        for (int k = 0; k < 2; k++) {
            free(cn->pipe[k].real);
            cn->pipe[k] = (sim_pipe_t){0};
        }
    }
}

/* Closes side d (the other side learns it a one-way delay later). */
static void close_side(sim_world_t *w, uint32_t c, int d)
{
    sim_conn_t *cn = conn_at(w, c);
    if (!cn->open[d])
        return;
    uint32_t host = cn->host[d];
    bool tell = cn->open[1 - d];
    free_side(w, c, d);
    if (tell)
        sim_at(w, sim_now(w) + sim_oneway_ns(w, cn->host[0], cn->host[1]), SIM_EV_TCP_FIN, c, (uint64_t)d);
    if (w->hosts[host].alive)
        sim_tcp_flush_host(w, host); /* requests went back to the picker: others may take them */
}

void sim_tcp_close_host(sim_world_t *w, uint32_t host)
{
    sim_host_t *h = &w->hosts[host];
    while (h->nconns) {
        uint32_t c = h->conns[0];
        sim_conn_t *cn = conn_at(w, c);
        int d = cn->host[0] == host ? 0 : 1;
        bool tell = cn->open[1 - d];
        free_side(w, c, d);
        if (tell)
            sim_at(w, sim_now(w) + sim_oneway_ns(w, cn->host[0], cn->host[1]), SIM_EV_TCP_FIN, c,
                   (uint64_t)d);
    }
}

/* Side d of c just became ready (peers.c's dedupe): when another ready connection of the same host
 * reaches the same peer id, both ends close the one crow_peer_keeps_dialled says to drop (the same
 * direction twice: the newer). Returns whether c's side d was the one closed. */
static bool dedupe(sim_world_t *w, uint32_t c, int d)
{
    sim_conn_t *cn = conn_at(w, c);
    sim_host_t *h = &w->hosts[cn->host[d]];
    crow_peer_info_t mine, other;
    crow_peer_session_info(cn->s[d], &mine);
    for (uint32_t i = 0; i < h->nconns; i++) {
        uint32_t oc = h->conns[i];
        sim_conn_t *o = conn_at(w, oc);
        int od = o->host[0] == h->index ? 0 : 1;
        if (oc == c || !o->open[od] || !o->ready[od] || !o->s[od])
            continue;
        crow_peer_session_info(o->s[od], &other);
        if (memcmp(mine.peer_id, other.peer_id, CROW_WIRE_ID_LEN) != 0)
            continue;
        bool lose_c = true; /* same direction twice: keep the older */
        if ((d == 0) != (od == 0)) {
            bool keep_dialled = crow_peer_keeps_dialled(h->peer_id, mine.peer_id);
            lose_c = (d == 0) != keep_dialled;
        }
        if (lose_c)
            close_side(w, c, d);
        else
            close_side(w, oc, od);
        return lose_c;
    }
    return false;
}

/* The receiving side r reads whole messages: the handshake, then length-prefixed messages, a PIECE
 * message's payload (elided on the way) stands in a scratch buffer behind its header. */
static void receive(sim_world_t *w, uint32_t c, int r)
{
    sim_conn_t *cn = conn_at(w, c);
    sim_pipe_t *p = &cn->pipe[1 - r];
    bool flushed_all = false;
    while (cn->open[r] && cn->s[r]) {
        uint64_t avail = p->arrived - p->consumed;
        const uint8_t *at = p->real + p->real_read;
        size_t real_bytes, msg_bytes;
        if (!p->handshake_read) {
            if (avail < CROW_WIRE_HANDSHAKE_LEN)
                break;
            real_bytes = msg_bytes = CROW_WIRE_HANDSHAKE_LEN;
        } else {
            if (avail < 4)
                break;
            uint32_t len = crow_get32(at);
            if (avail < 4 + (uint64_t)len)
                break;
            msg_bytes = 4 + (size_t)len;
            real_bytes = len >= 9 && at[4] == CROW_WIRE_PIECE ? CROW_WIRE_PIECE_HEADER_LEN : msg_bytes;
        }
        const uint8_t *msg = at;
        if (real_bytes < msg_bytes) {
            if (msg_bytes > w->scratch_cap) { /* longer than any session accepts: let it refuse */
                real_bytes = msg_bytes = CROW_WIRE_PIECE_HEADER_LEN;
            } else {
                memcpy(w->scratch, at, real_bytes); /* the payload: whatever the scratch holds */
                msg = w->scratch;
            }
        }
        crow_peer_event_t ev;
        long n = crow_peer_session_receive(cn->s[r], msg, msg_bytes, sim_now(w), &ev);
        if (n == CROW_EMORE)
            n = CROW_EPROTO; /* a whole message did not satisfy it: the framing disagrees */
        if (n < 0) {
            close_side(w, c, r);
            return;
        }
        p->handshake_read = true;
        p->real_read += real_bytes;
        p->consumed += msg_bytes;
        sim_host_t *h = &w->hosts[cn->host[r]];
        if (ev.type == CROW_PEER_EV_READY) {
            cn->ready[r] = true;
            if (dedupe(w, c, r))
                return;
        }
        if (ev.type == CROW_PEER_EV_BLOCK && h->index < w->npeers)
            sim_peer_block(w, h, &ev.block);
        if (ev.wake_others && !flushed_all) {
            sim_tcp_flush_host(w, cn->host[r]);
            flushed_all = true;
        }
    }
    if (cn->open[r])
        flush(w, c, r);
}

/* A segment reached the next link of its way: the sender's rack uplink, the receiver's rack link
 * from the fabric, the receiver's NIC. */
static void hop(sim_world_t *w, const sim_event_t *e)
{
    sim_conn_t *cn = conn_at(w, e->obj);
    int d = (int)(e->arg >> 32 & 1);
    uint64_t n = e->arg & 0xffffffffu, t;
    sim_host_t *a = &w->hosts[cn->host[d]], *b = &w->hosts[cn->host[1 - d]];
    enum hop next;
    switch ((enum hop)(e->arg >> 40)) {
    case HOP_RACK_UP:
        t = sim_link_offer(&w->rack_up[a->rack], sim_now(w), n, false, NULL);
        next = b->rack != CROW_RACK_NONE ? HOP_FABRIC : HOP_HOST;
        break;
    case HOP_FABRIC:
        if (b->rack == CROW_RACK_NONE) {
            t = sim_now(w);
            next = HOP_HOST;
            break;
        }
        t = sim_link_offer(&w->rack_down[b->rack], sim_now(w), n, false, NULL);
        w->rack_in_bytes[b->rack] += n;
        next = HOP_HOST;
        break;
    default:
        t = sim_link_offer(&b->down, sim_now(w), n, false, NULL);
        sim_at(w, t, SIM_EV_TCP_DATA, e->obj, e->arg & 0xffffffffffull);
        return;
    }
    sim_at(w, t, SIM_EV_TCP_TOR, e->obj, (uint64_t)next << 40 | (e->arg & 0xffffffffffull));
}

void sim_tcp_event(sim_world_t *w, const sim_event_t *e)
{
    sim_conn_t *cn = conn_at(w, e->obj);
    int d = (int)(e->arg >> 32);
    uint64_t n = e->arg & 0xffffffffu;
    switch (e->kind) {
    case SIM_EV_TCP_SYN: {
        sim_host_t *t = &w->hosts[cn->host[1]];
        bool ok =
            cn->open[0] && t->alive && t->nin < (t->index == w->seeder ? 4 * SIM_MAX_CONNS : SIM_MAX_CONNS);
        if (ok) {
            cn->open[1] = true;
            cn->incarnation[1] = t->incarnation;
            cn->established = true;
            host_add_conn(w, t, e->obj, false);
            start_session(w, e->obj, 1);
        }
        sim_at(w, sim_now(w) + sim_oneway_ns(w, cn->host[0], cn->host[1]), SIM_EV_TCP_SYNACK, e->obj, ok);
        break;
    }
    case SIM_EV_TCP_SYNACK:
        if (!cn->open[0])
            break; /* the dialler died meanwhile; its FIN reaches the target */
        if (!e->arg || !cn->open[1]) {
            free_side(w, e->obj, 0); /* refused, or the target died since (its FIN is moot) */
            break;
        }
        start_session(w, e->obj, 0);
        receive(w, e->obj, 0); /* the target's handshake may have come with the answer */
        break;
    case SIM_EV_TCP_TOR:
        hop(w, e);
        break;
    case SIM_EV_TCP_DATA: {
        sim_pipe_t *p = &cn->pipe[d];
        if (!cn->open[1 - d])
            break;
        p->arrived += n;
        receive(w, e->obj, 1 - d);
        if (cn->open[d] && cn->s[d]) /* the window opened: the sender goes on */
            flush(w, e->obj, d);
        break;
    }
    case SIM_EV_TCP_FIN:
        d = (int)e->arg; /* the side that closed */
        if (cn->open[1 - d]) {
            uint32_t host = cn->host[1 - d];
            free_side(w, e->obj, 1 - d);
            if (w->hosts[host].alive)
                sim_tcp_flush_host(w, host);
        }
        break;
    default:
        break;
    }
}

void sim_tcp_dispose(sim_world_t *w)
{
    for (uint32_t c = 0; c < w->nconns; c++)
        for (int d = 0; d < 2; d++) {
            crow_peer_session_free(w->conns[c].s[d]);
            free(w->conns[c].pipe[d].real);
        }
    free(w->conns);
    w->conns = NULL;
}
