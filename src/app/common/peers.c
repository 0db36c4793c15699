/* The connection set (peers.h), peer-wire connections on the loop: TCP buffers <->
 * crow_peer_session <-> picker and piece store.
 *
 * Every session is flushed into its connection's output buffer after input, after a served block,
 * after a verified piece and on a 50 ms tick (timeouts, keep-alives, new requests once the
 * multicast frontier moved). Requests to serve are read from the piece store into per-connection
 * block buffers and copied behind their PIECE header; a request that finds the store's reads all
 * busy waits for the next completion or tick. A neighbour's place comes from the peer directory,
 * what it supplied goes to the blame engine, which says whom to drop for the session.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "crowcast/blame.h"
#include "crowcast/error.h"
#include "crowcast/log.h"
#include "crowcast/peer_session.h"
#include "crowcast/tcp.h"
#include "peers.h"

#define TICK_NS         (50 * 1000000ull)
#define SERVES_PER_CONN 4
#define MAX_SOURCES     256
#define BLAME_STRIKES   3
#define BLAME_SOURCES   1024

struct serve {
    crow_op_t op;
    struct conn *c;
    crow_block_t block;
    uint8_t *buf;
    bool busy;   /* a storage read is in flight */
    bool parked; /* `block` waits for a free storage read */
};

struct conn {
    struct crow_peers *P;
    struct conn *next;
    crow_tcp_conn_t *tcp;
    crow_peer_session_t *s;
    struct sockaddr_in addr;
    crow_peer_place_t place;
    bool outgoing, ready, closing;
    bool has_alias; /* this incoming connection stands for our dialled one to `alias` (a duplicate closed) */
    struct sockaddr_in alias;
    bool in_handler; /* its data or drain handler runs: a close there frees it only at the end */
    struct serve serves[SERVES_PER_CONN];
};

struct crow_peers {
    crow_loop_t *loop;
    struct crow_peers_config cfg;
    crow_peer_context_t ctx;
    uint8_t peer_id[CROW_WIRE_ID_LEN];
    crow_tcp_listener_t *listener;
    struct conn *conns;
    unsigned nconns, nincoming, noutgoing;
    unsigned long unlinks; /* connections unlinked so far: a walk of `conns` restarts when it moves */
    crow_blame_t *blame;   /* downloads only */
    crow_op_t tick;
    bool stopping;
    struct crow_tcp_config tcp_cfg;
    struct crow_peers_source sources[MAX_SOURCES];
    unsigned nsources;
    uint64_t bytes_served;
    void (*on_bytes)(void *ctx, uint64_t bytes);
    void *user;
};

static void flush(struct conn *c);
static void dedupe(struct conn *c);
static void serve_all(struct crow_peers *P);
static void close_conn(struct conn *c, const char *why);
static void conn_release(struct conn *c);

static void add_source(struct crow_peers *P, struct in_addr addr, uint64_t bytes)
{
    for (unsigned i = 0; i < P->nsources; i++)
        if (P->sources[i].addr.s_addr == addr.s_addr) {
            P->sources[i].bytes += bytes;
            return;
        }
    if (P->nsources < MAX_SOURCES)
        P->sources[P->nsources++] = (struct crow_peers_source){.addr = addr, .bytes = bytes};
}

/* Runs fn on every open connection. fn may close any connection (its own through a timeout, others
 * through the flushes a close triggers), which frees it: the walk starts over from the head then,
 * never reading a freed link. Running fn twice on a connection is harmless (flush and serve do what
 * is due). Bounded: every restart follows an unlink. */
static void for_each_conn(struct crow_peers *P, void (*fn)(struct conn *c))
{
    unsigned long seen;
    do {
        seen = P->unlinks;
        for (struct conn *c = P->conns; c; c = c->next) {
            if (!c->closing)
                fn(c);
            if (P->unlinks != seen)
                break; /* c may be freed: do not read its link */
        }
    } while (P->unlinks != seen);
}

static void flush_all(struct crow_peers *P)
{
    for_each_conn(P, flush);
}

/* The session closed itself (a protocol breach, a timeout): it logs nothing, so say why here. */
static void log_session_close(const struct conn *c)
{
    crow_peer_info_t info;
    crow_peer_session_info(c->s, &info);
    crow_log_info("peer %s:%u (%s): closing: %s", inet_ntoa(c->addr.sin_addr), ntohs(c->addr.sin_port),
                  info.client[0] ? info.client : "unknown client", crow_peer_session_reason(c->s));
}

/* Appends what the session has to say into the connection's output buffer. */
static void flush(struct conn *c)
{
    if (!c->s || c->closing)
        return;
    size_t space = crow_tcp_out_space(c->tcp);
    if (space < crow_peer_session_min_out(c->s))
        return; /* the drain handler flushes again */
    crow_outbuf_t out = {.data = crow_tcp_reserve(c->tcp, space), .cap = space};
    if (!out.data)
        return;
    int ret = crow_peer_session_flush(c->s, crow_loop_now(c->P->loop), &out);
    crow_tcp_commit(c->tcp, out.len);
    if (ret < 0) {
        log_session_close(c);
        close_conn(c, crow_peer_session_reason(c->s));
        return;
    }
    if (ret == 1) {
        crow_log_debug("peer %s:%u: requests timed out; backing off", inet_ntoa(c->addr.sin_addr),
                       ntohs(c->addr.sin_port));
        flush_all(c->P);
    }
}

static void on_served(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    struct serve *sv = op->owner;
    struct conn *c = sv->c;
    sv->busy = false;
    if (c->closing || !c->s) {
        conn_release(c); /* the last read of a closed connection frees it */
        return;
    }
    struct crow_peers *P = c->P;
    if (res < 0) {
        crow_log_warn("reading piece %u for %s: %s", sv->block.piece, inet_ntoa(c->addr.sin_addr),
                      crow_strerror(res));
        close_conn(c, "storage read failed");
        return;
    }
    size_t need = CROW_WIRE_PIECE_HEADER_LEN + sv->block.length;
    crow_outbuf_t out = {.data = crow_tcp_reserve(c->tcp, need), .cap = need};
    if (!out.data || crow_peer_session_piece_header(c->s, &sv->block, &out)) {
        close_conn(c, "output buffer full");
        return;
    }
    memcpy(out.data + out.len, sv->buf, sv->block.length);
    crow_tcp_commit(c->tcp, need);
    P->bytes_served += sv->block.length;
    serve_all(P); /* a storage read is free again: parked requests (this one's too) go on */
}

/* Starts storage reads for queued requests while a block buffer is free and the output has room.
 * A request that finds every storage read busy is parked in its buffer: the store is shared by all
 * connections, and its being busy says nothing against this one. */
static void serve_more(struct conn *c)
{
    for (unsigned i = 0; i < SERVES_PER_CONN && !c->closing && c->s; i++) {
        struct serve *sv = &c->serves[i];
        if (sv->busy)
            continue;
        if (!sv->parked) {
            size_t reserved = 0;
            for (unsigned k = 0; k < SERVES_PER_CONN; k++)
                if (c->serves[k].busy || c->serves[k].parked)
                    reserved += CROW_WIRE_PIECE_HEADER_LEN + c->serves[k].block.length;
            if (crow_tcp_out_space(c->tcp) <
                reserved + CROW_WIRE_PIECE_HEADER_LEN + c->P->ctx.cfg.max_request)
                return;
            if (!crow_peer_session_next_serve(c->s, &sv->block))
                return;
        }
        sv->busy = true; /* before the read: its completion may run at once */
        int ret = crow_piece_store_read(c->P->cfg.store, &sv->op, sv->block.piece, sv->block.begin, sv->buf,
                                        sv->block.length);
        sv->parked = ret == -EBUSY;
        if (!ret)
            continue;
        sv->busy = false;
        if (!sv->parked)
            close_conn(c, "cannot serve a request");
        return;
    }
}

static void serve_all(struct crow_peers *P)
{
    for_each_conn(P, serve_more);
}

/* Bytes of a block (chunk-aligned: the picker asked for it) that the store does not hold yet. */
static uint32_t new_bytes(const struct crow_peers *P, const crow_block_t *b)
{
    const crow_bitfield_t *chunks = crow_piece_store_chunks(P->cfg.store);
    uint64_t first = crow_piece_store_first_chunk(P->cfg.store, b->piece);
    uint32_t cs = P->cfg.m->chunk_size, fresh = 0;
    for (uint32_t off = b->begin; off < b->begin + b->length; off += cs) {
        uint32_t len = b->begin + b->length - off < cs ? b->begin + b->length - off : cs;
        if (!crow_bitfield_get(chunks, (uint32_t)(first + off / cs)))
            fresh += len;
    }
    return fresh;
}

/* A handler of c is over: a close that happened inside it (a failed piece that drops this very
 * peer, a timeout found by a flush) frees c now. */
static void handler_end(struct conn *c)
{
    c->in_handler = false;
    if (c->closing)
        conn_release(c);
}

static long on_data(void *ctx, crow_tcp_conn_t *tcp, const uint8_t *data, size_t len)
{
    (void)tcp;
    struct conn *c = ctx;
    struct crow_peers *P = c->P;
    size_t used = 0;
    long ret = 0;
    c->in_handler = true;
    while (used < len && !c->closing) {
        crow_peer_event_t ev;
        long n = crow_peer_session_receive(c->s, data + used, len - used, crow_loop_now(P->loop), &ev);
        if (n == CROW_EMORE)
            break;
        if (n < 0) {
            log_session_close(c);
            ret = n;
            break;
        }
        used += (size_t)n;
        switch (ev.type) {
        case CROW_PEER_EV_READY: {
            crow_peer_info_t info;
            crow_peer_session_info(c->s, &info);
            c->ready = true;
            crow_log_debug("peer %s:%u ready (%s%s%s)", inet_ntoa(c->addr.sin_addr), ntohs(c->addr.sin_port),
                           info.client[0] ? info.client : "unknown client", info.rack[0] ? ", rack " : "",
                           info.rack);
            dedupe(c);
            break;
        }
        case CROW_PEER_EV_BLOCK: {
            /* Recorded before the store sees it: the put may complete the piece and verify it. */
            if (P->blame)
                crow_blame_supplied(P->blame, ev.block.piece, c->addr.sin_addr.s_addr,
                                    new_bytes(P, &ev.block));
            long taken =
                crow_piece_store_put(P->cfg.store, ev.block.piece, ev.block.begin, ev.data, ev.block.length);
            if (taken < 0 && P->cfg.picker) {
                /* The store could not take it (no room on the way to disk): ask for it again. */
                crow_picker_piece_failed(P->cfg.picker, ev.block.piece);
                flush_all(P);
            } else if (taken > 0) {
                add_source(P, c->addr.sin_addr, (uint64_t)taken);
                if (P->on_bytes)
                    P->on_bytes(P->user, (uint64_t)taken);
            }
            break;
        }
        case CROW_PEER_EV_SERVE:
            serve_more(c);
            break;
        default:
            break;
        }
        if (ev.wake_others)
            flush_all(P);
    }
    if (!c->closing && !ret)
        flush(c);
    handler_end(c);
    return ret ? ret : (long)used;
}

static void on_drain(void *ctx, crow_tcp_conn_t *tcp)
{
    (void)tcp;
    struct conn *c = ctx;
    c->in_handler = true;
    serve_more(c);
    flush(c);
    handler_end(c);
}

/* c just became ready: if another open connection reaches the same peer id, close the one that
 * both ends agree to drop (crow_peer_keeps_dialled). An incoming winner remembers the address we had
 * dialled, so the next announce does not dial it again. */
static void dedupe(struct conn *c)
{
    struct crow_peers *P = c->P;
    crow_peer_info_t mine, other;
    crow_peer_session_info(c->s, &mine);
    for (struct conn *o = P->conns; o; o = o->next) {
        if (o == c || o->closing || !o->ready || !o->s)
            continue;
        crow_peer_session_info(o->s, &other);
        if (memcmp(mine.peer_id, other.peer_id, CROW_WIRE_ID_LEN) != 0)
            continue;
        struct conn *loser = c; /* same direction twice: keep the older */
        if (c->outgoing != o->outgoing) {
            bool keep_dialled = crow_peer_keeps_dialled(P->peer_id, mine.peer_id);
            loser = c->outgoing == keep_dialled ? o : c;
        }
        struct conn *winner = loser == c ? o : c;
        if (loser->outgoing && !winner->outgoing) {
            winner->has_alias = true;
            winner->alias = loser->addr;
        }
        close_conn(loser, "duplicate connection to the same peer");
        return;
    }
}

static void unlink_conn(struct conn *c)
{
    struct crow_peers *P = c->P;
    for (struct conn **pp = &P->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            P->nconns--;
            P->unlinks++;
            if (c->outgoing)
                P->noutgoing--;
            else
                P->nincoming--;
            break;
        }
}

/* Frees what the connection owns once its reads are done and its handler returned (they look at c). */
static void conn_release(struct conn *c)
{
    if (c->in_handler)
        return; /* handler_end calls again */
    crow_peer_session_free(c->s);
    c->s = NULL;
    for (unsigned i = 0; i < SERVES_PER_CONN; i++)
        if (c->serves[i].busy)
            return; /* on_served calls again */
    for (unsigned i = 0; i < SERVES_PER_CONN; i++)
        free(c->serves[i].buf);
    free(c);
}

static void on_close(void *ctx, crow_tcp_conn_t *tcp, int err)
{
    (void)tcp;
    struct conn *c = ctx;
    const char *why =
        c->s && crow_peer_session_reason(c->s)[0] ? crow_peer_session_reason(c->s) : crow_strerror(err);
    crow_log_debug("peer %s:%u closed: %s", inet_ntoa(c->addr.sin_addr), ntohs(c->addr.sin_port), why);
    struct crow_peers *P = c->P;
    c->closing = true;
    c->tcp = NULL;
    unlink_conn(c);
    conn_release(c);
    flush_all(P);
}

static void close_conn(struct conn *c, const char *why)
{
    if (c->closing)
        return;
    crow_log_debug("closing peer %s:%u: %s", inet_ntoa(c->addr.sin_addr), ntohs(c->addr.sin_port), why);
    c->closing = true;
    crow_tcp_close(c->tcp);
    c->tcp = NULL;
    unlink_conn(c);
    struct crow_peers *P = c->P;
    conn_release(c);
    flush_all(P);
}

static int start_session(struct conn *c)
{
    int ret = crow_peer_session_new(&c->P->ctx, c->place.distance, c->place.same_rack,
                                    crow_loop_now(c->P->loop), &c->s);
    if (ret)
        return ret;
    flush(c);
    return 0;
}

static void on_connect(void *ctx, crow_tcp_conn_t *tcp, int res)
{
    (void)tcp;
    struct conn *c = ctx;
    if (res < 0) {
        crow_log_debug("connect to %s:%u: %s", inet_ntoa(c->addr.sin_addr), ntohs(c->addr.sin_port),
                       crow_strerror(res));
        c->closing = true;
        c->tcp = NULL; /* the tcp layer frees it */
        unlink_conn(c);
        conn_release(c);
        return;
    }
    if (start_session(c))
        close_conn(c, "no session slot");
}

static const struct crow_tcp_handlers handlers = {
    .on_connect = on_connect, .on_data = on_data, .on_drain = on_drain, .on_close = on_close};

static crow_peer_place_t place_of(const struct crow_peers *P, struct in_addr addr)
{
    crow_peer_place_t unknown = {.distance = CROW_PEER_DISTANCE_UNKNOWN};
    return P->cfg.directory ? crow_peer_directory_place(P->cfg.directory, ntohl(addr.s_addr)) : unknown;
}

/* Incoming and outgoing connections have caps of their own: idle strangers connecting to us must
 * not keep us from dialling the neighbours the tracker names. */
static struct conn *conn_new(struct crow_peers *P, const struct sockaddr_in *addr, bool outgoing)
{
    if (outgoing ? P->noutgoing >= P->cfg.max_outgoing : P->nincoming >= P->cfg.max_incoming)
        return NULL;
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->P = P;
    c->addr = *addr;
    c->outgoing = outgoing;
    c->place = place_of(P, addr->sin_addr);
    for (unsigned i = 0; i < SERVES_PER_CONN; i++) {
        c->serves[i].c = c;
        crow_op_init(&c->serves[i].op, on_served, &c->serves[i]);
        if (!(c->serves[i].buf = malloc(P->ctx.cfg.max_request))) {
            conn_release(c);
            return NULL;
        }
    }
    c->next = P->conns;
    P->conns = c;
    P->nconns++;
    if (outgoing)
        P->noutgoing++;
    else
        P->nincoming++;
    return c;
}

static bool dropped(const struct crow_peers *P, struct in_addr addr)
{
    return P->blame && crow_blame_dropped(P->blame, addr.s_addr);
}

int crow_peers_connect(crow_peers_t *P, const struct sockaddr_in *addr)
{
    if (dropped(P, addr->sin_addr))
        return -EPERM;
    for (struct conn *c = P->conns; c; c = c->next) {
        const struct sockaddr_in *to = c->has_alias ? &c->alias : &c->addr;
        if (to->sin_addr.s_addr == addr->sin_addr.s_addr && to->sin_port == addr->sin_port)
            return 0;
    }
    struct conn *c = conn_new(P, addr, true);
    if (!c)
        return -ENOMEM;
    struct sockaddr_in from = {.sin_family = AF_INET, .sin_addr = P->cfg.bind_addr};
    int ret = crow_tcp_connect(P->loop, &c->tcp, &from, addr, &P->tcp_cfg, &handlers, c);
    if (ret) {
        unlink_conn(c);
        conn_release(c);
    }
    return ret;
}

static void on_accept(void *ctx, int fd, const struct sockaddr_in *peer)
{
    struct crow_peers *P = ctx;
    if (fd < 0)
        return;
    struct conn *c = dropped(P, peer->sin_addr) ? NULL : conn_new(P, peer, false);
    if (!c) {
        close(fd);
        return;
    }
    if (crow_tcp_adopt(P->loop, &c->tcp, fd, &P->tcp_cfg, &handlers, c)) {
        close(fd);
        unlink_conn(c);
        conn_release(c);
        return;
    }
    if (start_session(c))
        close_conn(c, "no session slot");
}

static void on_tick(crow_op_t *op, int res, unsigned flags)
{
    (void)res;
    (void)flags;
    struct crow_peers *P = op->owner;
    if (P->stopping) {
        crow_blame_free(P->blame);
        free(P);
        return;
    }
    serve_all(P);
    flush_all(P);
    crow_io_timeout(P->loop, &P->tick, TICK_NS);
}

int crow_peers_new(crow_peers_t **out, crow_loop_t *loop, const struct crow_peers_config *cfg,
                   void (*on_bytes)(void *ctx, uint64_t bytes), void *user)
{
    struct crow_peers *P = calloc(1, sizeof *P);
    if (!P)
        return -ENOMEM;
    P->loop = loop;
    P->cfg = *cfg;
    P->on_bytes = on_bytes;
    P->user = user;
    /* Azureus-style peer id: client tag, version, then random bytes. */
    memcpy(P->peer_id, "-CW0100-", 8);
    if (getrandom(P->peer_id + 8, CROW_WIRE_ID_LEN - 8, 0) != CROW_WIRE_ID_LEN - 8)
        for (unsigned i = 8; i < CROW_WIRE_ID_LEN; i++)
            P->peer_id[i] = (uint8_t)(getpid() >> (i % 3 * 8));
    crow_peer_config_t pc;
    crow_peer_config_default(&pc);
    pc.manifest = cfg->m;
    pc.peer_id = P->peer_id;
    pc.have = crow_piece_store_verified(cfg->store);
    pc.picker = cfg->picker;
    pc.client = "crowcast " CROW_VERSION;
    pc.rack = cfg->rack;
    pc.pos = cfg->pos;
    if (pc.max_request > cfg->m->piece_length)
        pc.max_request = cfg->m->piece_length;
    int ret = crow_peer_context_init(&P->ctx, &pc);
    crow_blame_config_t bc = {.manifest = cfg->m, .max_sources = BLAME_SOURCES, .strikes = BLAME_STRIKES};
    if (!ret && cfg->picker)
        ret = crow_blame_new(&bc, &P->blame);
    if (ret) {
        free(P);
        return ret;
    }
    /* Input holds one whole message (a block is handed out in place) plus the next reads. */
    P->tcp_cfg.in_cap = 4 + 13 + (size_t)pc.max_request + 256 * 1024;
    P->tcp_cfg.out_cap = (size_t)SERVES_PER_CONN * (CROW_WIRE_PIECE_HEADER_LEN + pc.max_request) + 64 * 1024 +
                         crow_bitfield_bytes(cfg->m->piece_count) + 4096;
    if (!P->cfg.max_incoming)
        P->cfg.max_incoming = 64;
    if (!P->cfg.max_outgoing)
        P->cfg.max_outgoing = 64;
    if (cfg->listen.sin_addr.s_addr) {
        ret = crow_tcp_listen(loop, &P->listener, &cfg->listen, 128, on_accept, P);
        if (ret) {
            crow_blame_free(P->blame);
            free(P);
            return ret;
        }
    }
    crow_op_init(&P->tick, on_tick, P);
    crow_io_timeout(loop, &P->tick, TICK_NS);
    *out = P;
    return 0;
}

void crow_peers_free(crow_peers_t *P)
{
    if (!P)
        return;
    P->stopping = true;
    crow_tcp_listener_close(P->listener);
    while (P->conns)
        close_conn(P->conns, "shutting down");
    if (crow_op_pending(&P->tick)) {
        crow_io_cancel(P->loop, &P->tick); /* on_tick frees P */
    } else {
        crow_blame_free(P->blame);
        free(P);
    }
}

const struct sockaddr_in *crow_peers_listen_addr(const crow_peers_t *P)
{
    return P->listener ? crow_tcp_listener_addr(P->listener) : NULL;
}

unsigned crow_peers_count(const crow_peers_t *P)
{
    return P->nconns;
}

const uint8_t *crow_peers_peer_id(const crow_peers_t *P)
{
    return P->peer_id;
}

void crow_peers_set_place(crow_peers_t *P, const char *rack, int64_t pos)
{
    crow_peer_context_set_place(&P->ctx, rack, pos);
}

void crow_peers_relink(crow_peers_t *P)
{
    for (struct conn *c = P->conns; c; c = c->next) {
        if (!c->s || c->closing)
            continue;
        c->place = place_of(P, c->addr.sin_addr);
        crow_peer_session_set_link(c->s, c->place.distance, c->place.same_rack);
    }
    crow_peers_kick(P);
}

void crow_peers_piece_failed_mixed(crow_peers_t *P, uint32_t piece)
{
    if (P->blame)
        crow_blame_piece_verified(P->blame, piece); /* resets the record, strikes no one */
}

void crow_peers_piece_failed(crow_peers_t *P, uint32_t piece)
{
    if (!P->blame)
        return;
    crow_blame_drop_t drops[CROW_BLAME_PIECE_SOURCES];
    size_t n = crow_blame_piece_failed(P->blame, piece, drops, CROW_BLAME_PIECE_SOURCES);
    for (size_t i = 0; i < n; i++) {
        struct in_addr a = {.s_addr = (in_addr_t)drops[i].key};
        if (drops[i].whole)
            crow_log_warn(
                "peer %s dropped for the session: piece %u, which it supplied whole, failed verification",
                inet_ntoa(a), piece);
        else
            crow_log_warn("peer %s dropped for the session: %u pieces it took part in failed verification",
                          inet_ntoa(a), drops[i].strikes);
        bool closed;
        do { /* a close frees connections (others too, through the flushes it triggers): start over */
            closed = false;
            for (struct conn *c = P->conns; c; c = c->next)
                if (!c->closing && c->addr.sin_addr.s_addr == a.s_addr) {
                    close_conn(c, "dropped: its blocks failed verification");
                    closed = true;
                    break;
                }
        } while (closed);
    }
}

void crow_peers_have(crow_peers_t *P, uint32_t piece)
{
    if (P->blame)
        crow_blame_piece_verified(P->blame, piece);
    for (struct conn *c = P->conns; c; c = c->next)
        if (c->s && !c->closing)
            crow_peer_session_have(c->s, piece);
    flush_all(P);
}

void crow_peers_kick(crow_peers_t *P)
{
    flush_all(P);
}

unsigned crow_peers_sources(const crow_peers_t *P, struct crow_peers_source *out, unsigned max)
{
    unsigned n = P->nsources < max ? P->nsources : max;
    memcpy(out, P->sources, n * sizeof *out);
    return n;
}

uint64_t crow_peers_bytes_served(const crow_peers_t *P)
{
    return P->bytes_served;
}
