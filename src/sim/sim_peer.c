/* The peer's glue in the simulator: what src/app/get/getter.c, getter_sources.c and peers.c do around
 * the engines, in the same order, with simulated time and network.
 *
 * The piece store is the picker's chunk map: a piece whose chunks are all present verifies at once
 * (every simulated chunk is genuine; hashing costs no time). The verified set outlives a kill -9, as
 * the staging area on disk does: a restarted peer resumes with it, a complete one exits at once
 * (getter.c's resume). A complete peer serves its neighbours for seed_time, or until the tracker
 * reports no incomplete peer, then announces `stopped` and exits. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/stream_need.h"
#include "sim_world.h"

#define PEER_TICK_NS   (50 * 1000000ull) /* peers.c's tick */
#define DECIDE_TICK_NS SIM_NS            /* getter.c's tick */
#define SILENCE_NS     (3 * SIM_NS)      /* --mcast-timeout's default */
#define NUMWANT        50
/* getter.c flushes every session each time a datagram moves the stream's frontier; here one flush
 * covers the datagrams of KICK_NS: the same requests (for chunks the stream passed), at most this much
 * later, and a simulation that does not spend its time on a flush per datagram per neighbour. */
#define KICK_NS (1000 * 1000ull)

struct sim_peer {
    crow_bitfield_t have;  /* verified: survives a kill (the staging area) */
    uint64_t completed_at; /* the first verification of the whole release, 0 before */
    /* the rest lives and dies with the process */
    crow_mcast_receiver_t rx;
    crow_picker_t *picker;
    crow_peer_policy_t policy;
    crow_peer_directory_t dir;
    crow_picker_needs_t needs;
    uint64_t frontier;
    int8_t catch_up_seen; /* crow_mcast_receiver_catches_up as last acted on */
    bool running, joined, completed;
    bool kick_armed;
    bool leading; /* the rack's chain head brought nothing: it fetches outside the rack itself */
    int64_t swarm_incomplete;
    char rack[CROW_RACK_NAME_MAX + 1];
    uint64_t seed_until, next_second;
    uint64_t bytes_mcast, bytes_tcp;
};

crow_peer_place_t sim_peer_place(const sim_world_t *w, const sim_host_t *h, uint32_t addr)
{
    crow_peer_place_t unknown = {.distance = CROW_PEER_DISTANCE_UNKNOWN};
    if (h->index >= w->npeers || !h->peer->running)
        return unknown;
    return crow_peer_directory_place(&h->peer->dir, addr);
}

bool sim_peer_verified(const sim_host_t *h)
{
    return h->peer && crow_bitfield_full(&h->peer->have);
}

uint64_t sim_peer_completed_at(const sim_host_t *h)
{
    return h->peer ? h->peer->completed_at : 0;
}

/* --trace HOST: what the peer tells the tracker and hears back, with its state. */
__attribute__((format(printf, 3, 4))) static void trace(const sim_world_t *w, const sim_host_t *h,
                                                        const char *fmt, ...)
{
    if (h->index != w->cfg->trace_host || !w->cfg->trace)
        return;
    const sim_peer_t *p = h->peer;
    fprintf(w->cfg->trace, "%.6f peer %u [stream %s, wait %s, %u conns, head %d, %u unserved] ",
            (double)sim_now(w) / 1e9, h->index, crow_stream_state_name(p->policy.stream),
            crow_peer_wait_name(p->policy.wait), h->nconns, p->picker && crow_picker_chain_head(p->picker),
            p->needs.unserved);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(w->cfg->trace, fmt, ap);
    va_end(ap);
    fputc('\n', w->cfg->trace);
}

static bool on_stream(const sim_peer_t *p)
{
    return p->policy.stream != CROW_STREAM_OFF && p->policy.stream != CROW_STREAM_UNJOINED;
}

static void need(const sim_world_t *w, const sim_peer_t *p, crow_need_map_t *out)
{
    if (on_stream(p))
        crow_stream_need(&w->m, p->rx.have, &p->have, out);
    else
        *out = (crow_need_map_t){{0}};
}

static uint64_t bytes_left(const sim_world_t *w, const sim_peer_t *p)
{
    uint64_t left = 0;
    for (uint32_t i = 0; i < w->m.piece_count; i++)
        if (!crow_bitfield_get(&p->have, i))
            left += crow_manifest_piece_size(&w->m, i);
    return left;
}

/* getter_announce */
static void announce(sim_world_t *w, sim_host_t *h, enum crow_announce_event ev)
{
    sim_peer_t *p = h->peer;
    crow_announce_req_t *q = &h->ann_req;
    *q = (crow_announce_req_t){.port = SIM_PORT, .numwant = NUMWANT, .compact = true, .event = ev};
    memcpy(q->info_hash, w->m.info_hash, sizeof q->info_hash);
    memcpy(q->peer_id, h->peer_id, sizeof q->peer_id);
    q->downloaded = p->bytes_mcast + p->bytes_tcp;
    q->left = bytes_left(w, p);
    q->mcast = (uint8_t)crow_peer_policy_mcast_report(&p->policy);
    q->has_need = on_stream(p) && !p->completed;
    need(w, p, &q->need);
    q->lead = p->leading;
    crow_peer_policy_announced(&p->policy, sim_now(w));
    trace(w, h, "announce event %d left %llu", ev, (unsigned long long)q->left);
    sim_announce(w, h);
}

/* getter_peers_frontier: the picker follows the stream (its frontier, or everything once the stream
 * is over or silent); the caller flushes the sessions. */
static void picker_follow(sim_peer_t *p)
{
    if (!crow_peer_policy_stream_pending(&p->policy)) {
        crow_picker_stream_end(p->picker);
    } else {
        crow_picker_stream_resume(p->picker, p->frontier);
        crow_picker_hold_untouched(p->picker, crow_mcast_receiver_catches_up(&p->rx) != 0);
    }
}

static void frontier_changed(sim_world_t *w, sim_host_t *h)
{
    picker_follow(h->peer);
    sim_tcp_flush_host(w, h->index);
}

static void exit_peer(sim_world_t *w, sim_host_t *h)
{
    announce(w, h, CROW_EVENT_STOPPED);
    sim_peer_stop(w, h);
    h->alive = false;
}

/* getter_after_complete */
static void complete(sim_world_t *w, sim_host_t *h)
{
    sim_peer_t *p = h->peer;
    if (p->completed)
        return;
    p->completed = true;
    trace(w, h, "verified");
    if (!p->completed_at) {
        p->completed_at = sim_now(w);
        w->verified++;
    }
    p->joined = false; /* the multicast socket closes */
    crow_peer_policy_complete(&p->policy, sim_now(w));
    announce(w, h, CROW_EVENT_COMPLETED);
    p->seed_until = sim_now(w) + w->cfg->seed_time_ns;
    if (!w->cfg->seed_time_ns)
        exit_peer(w, h);
}

/* The piece store's verdict: the piece's chunks are all present (on_verified in getter.c). */
static void check_piece(sim_world_t *w, sim_host_t *h, uint32_t piece)
{
    sim_peer_t *p = h->peer;
    if (crow_bitfield_get(&p->have, piece) || !crow_picker_piece_filled(p->picker, piece))
        return;
    crow_bitfield_set(&p->have, piece);
    crow_mcast_receiver_mark_verified(&p->rx, piece);
    crow_peer_policy_progress(&p->policy);
    crow_picker_piece_verified(p->picker, piece);
    for (uint32_t i = 0; i < h->nconns; i++) {
        sim_conn_t *c = &w->conns[h->conns[i]];
        crow_peer_session_t *s = c->s[c->host[0] == h->index ? 0 : 1];
        if (s)
            crow_peer_session_have(s, piece);
    }
    sim_tcp_flush_host(w, h->index);
    if (h->alive && crow_bitfield_full(&p->have))
        complete(w, h);
}

/* getter_decide */
static void decide(sim_world_t *w, sim_host_t *h)
{
    sim_peer_t *p = h->peer;
    uint64_t now = sim_now(w);
    crow_picker_needs(p->picker, &p->needs);
    crow_need_map_t lacks;
    need(w, p, &lacks);
    crow_peer_policy_need(&p->policy, &lacks);
    crow_peer_actions_t act;
    crow_peer_policy_tick(&p->policy, now, &p->needs, crow_picker_chain_head(p->picker), &act);
    if (act.lead) { /* the tracker lists a head's sources to a peer that leads */
        p->leading = true;
        crow_picker_set_chain_head(p->picker, true);
        trace(w, h, "leads: the rack's chain head brings nothing");
        announce(w, h, CROW_EVENT_NONE);
    }
    if (act.went_silent)
        frontier_changed(w, h);
    if (act.announce)
        announce(w, h, CROW_EVENT_NONE);
}

static void join(sim_world_t *w, sim_host_t *h)
{
    h->peer->joined = true;
    crow_peer_policy_joined(&h->peer->policy, sim_now(w));
}

static void mcast_unavailable(sim_world_t *w, sim_host_t *h)
{
    crow_peer_policy_no_multicast(&h->peer->policy, sim_now(w));
    frontier_changed(w, h);
}

static void kick_later(sim_world_t *w, sim_host_t *h)
{
    sim_peer_t *p = h->peer;
    if (p->kick_armed)
        return;
    p->kick_armed = true;
    sim_at(w, sim_now(w) + KICK_NS, SIM_EV_PEER_KICK, h->index, h->incarnation);
}

void sim_peer_kick_event(sim_world_t *w, sim_host_t *h)
{
    h->peer->kick_armed = false;
    if (h->peer->running)
        sim_tcp_flush_host(w, h->index);
}

void sim_peer_datagram(sim_world_t *w, sim_host_t *h, const uint8_t *buf, size_t len, uint64_t source)
{
    sim_peer_t *p = h->peer;
    if (!p || !p->running || !p->joined)
        return;
    uint64_t now = sim_now(w);
    crow_mcast_rx_event_t ev;
    crow_mcast_receiver_set_repair(&p->rx, true); /* a tracker: TCP repair exists */
    /* --fault junk: what getter.c once did, before any check of the datagram. */
    if (w->cfg->fault_junk && crow_peer_policy_datagram(&p->policy, now))
        frontier_changed(w, h);
    if (crow_mcast_receiver_on_datagram(&p->rx, source, buf, len, &ev) != 0)
        return;
    if (ev.live && crow_peer_policy_datagram(&p->policy, now))
        frontier_changed(w, h);
    if (ev.live && crow_peer_policy_mcast_report(&p->policy) != p->policy.reported)
        decide(w, h);
    switch (ev.kind) {
    case CROW_MCAST_RX_DATA: {
        uint64_t before = crow_picker_missing(p->picker);
        crow_picker_mark(p->picker, ev.piece, ev.offset, ev.length);
        if (crow_picker_missing(p->picker) < before)
            p->bytes_mcast += ev.length;
        check_piece(w, h, ev.piece);
        if (!h->alive || !p->running)
            return;
        if (ev.stream_resumed && crow_peer_policy_stream_resumed(&p->policy, now))
            frontier_changed(w, h);
        break;
    }
    case CROW_MCAST_RX_END:
        if (ev.stream_done && !p->completed && p->policy.stream != CROW_STREAM_ENDED) {
            bool missing = crow_mcast_receiver_missing_chunks(&p->rx) > 0;
            crow_peer_policy_stream_ended(&p->policy, now);
            if (missing) {
                frontier_changed(w, h);
                decide(w, h);
            }
        }
        break;
    case CROW_MCAST_RX_BEACON: /* with a tracker, the seeder's TCP port comes from it */
        if (crow_mcast_receiver_catches_up(&p->rx) != p->catch_up_seen) {
            p->catch_up_seen = (int8_t)crow_mcast_receiver_catches_up(&p->rx);
            frontier_changed(w, h);
        }
        break;
    default:
        break;
    }
    if (ev.kind == CROW_MCAST_RX_DATA && crow_mcast_receiver_frontier_offset(&p->rx) > p->frontier) {
        p->frontier = crow_mcast_receiver_frontier_offset(&p->rx);
        picker_follow(p);
        kick_later(w, h);
    }
}

void sim_peer_block(sim_world_t *w, sim_host_t *h, const crow_block_t *b)
{
    sim_peer_t *p = h->peer;
    if (!p || !p->running)
        return;
    /* The session's picker already took the block's chunks (crow_picker_received). */
    p->bytes_tcp += b->length;
    w->tcp_bytes += b->length;
    check_piece(w, h, b->piece);
}

/* on_announced in getter_sources.c */
void sim_peer_answer(sim_world_t *w, sim_host_t *h)
{
    sim_peer_t *p = h->peer;
    if (!p || !p->running)
        return;
    uint64_t now = sim_now(w);
    if (!h->ann_ok) {
        trace(w, h, "announce failed");
        crow_peer_policy_tracker_answer(&p->policy, now, false, 0);
        return;
    }
    const crow_announce_resp_t *r = &h->ann_resp;
    trace(w, h, "answer: %u complete, %u incomplete, head %d, %zu peers", r->complete, r->incomplete,
          r->crowcast.head, r->peer_count);
    crow_peer_policy_tracker_answer(&p->policy, now, true, r->interval);
    p->swarm_incomplete = r->incomplete;
    if (r->complete > 0)
        crow_peer_policy_source_known(&p->policy, now);
    const crow_crowcast_info_t *cc = &r->crowcast;
    if (cc->present && cc->has_sending)
        crow_peer_policy_senders(&p->policy, now, cc->sending, cc->streaming);
    if (cc->present) {
        if (strcmp(p->rack, cc->rack) != 0 || crow_picker_chain_head(p->picker) != (cc->head || p->leading)) {
            snprintf(p->rack, sizeof p->rack, "%s", cc->rack);
            crow_picker_set_chain_head(p->picker, cc->head || p->leading);
        }
        if (cc->rack[0])
            crow_peer_context_set_place(&h->ctx, p->rack, cc->position);
        if (!p->joined && cc->group && !p->completed && p->policy.stream == CROW_STREAM_UNJOINED)
            join(w, h);
    }
    if (!p->joined && !(cc->present && cc->group) && p->policy.stream == CROW_STREAM_UNJOINED &&
        !p->completed)
        mcast_unavailable(w, h);
    /* connect_neighbours */
    crow_peer_directory_set_tracker_list(&p->dir, r->peers, r->peer_count, cc->present && cc->rack[0]);
    for (uint32_t i = 0; i < h->nconns; i++) {
        sim_conn_t *c = &w->conns[h->conns[i]];
        int d = c->host[0] == h->index ? 0 : 1;
        if (!c->s[d])
            continue;
        crow_peer_place_t place = crow_peer_directory_place(&p->dir, w->hosts[c->host[1 - d]].addr);
        crow_peer_session_set_link(c->s[d], place.distance, place.same_rack);
    }
    sim_tcp_flush_host(w, h->index);
    for (size_t i = 0; i < r->peer_count && h->alive; i++) {
        const crow_announce_peer_t *a = &r->peers[i];
        if (a->addr == h->addr && a->port == SIM_PORT)
            continue;
        if (a->flags & CROW_PEER_SEEDER)
            crow_peer_policy_source_known(&p->policy, now);
        sim_host_t *t = sim_host_by_addr(w, a->addr);
        if (t && !sim_tcp_connected(w, h->index, a->addr))
            sim_tcp_connect(w, h->index, t->index);
    }
    if (h->alive && p->policy.no_sender && p->policy.stream == CROW_STREAM_DUE)
        decide(w, h); /* no stream is coming: on to TCP now, not at the next tick */
    else if (h->alive && p->policy.announce_now)
        decide(w, h); /* it joined: its first need map now, the seeder waits for it */
}

void sim_peer_decide_event(sim_world_t *w, sim_host_t *h)
{
    sim_peer_t *p = h->peer;
    uint64_t now = sim_now(w);
    decide(w, h);
    if (!h->alive)
        return;
    if (now >= p->next_second) {
        p->next_second = now + DECIDE_TICK_NS - DECIDE_TICK_NS / 20;
        /* getter_tick: a complete peer seeds until seed_time or until nobody is incomplete */
        if (p->completed && (now >= p->seed_until || p->swarm_incomplete == 0)) {
            exit_peer(w, h);
            return;
        }
    }
    uint64_t due = crow_peer_policy_next_deadline(&p->policy), wait = DECIDE_TICK_NS;
    if (due > now && due - now < wait)
        wait = due - now < 1000000 ? 1000000 : due - now;
    sim_at(w, now + wait, SIM_EV_PEER_DECIDE, h->index, h->incarnation);
}

void sim_peer_tick_event(sim_world_t *w, sim_host_t *h)
{
    sim_tcp_flush_host(w, h->index);
    if (h->alive)
        sim_at(w, sim_now(w) + PEER_TICK_NS, SIM_EV_PEER_TICK, h->index, h->incarnation);
}

int sim_peer_start(sim_world_t *w, sim_host_t *h)
{
    int ret;
    if (!h->peer) {
        if (!(h->peer = calloc(1, sizeof *h->peer)))
            return -ENOMEM;
        if ((ret = crow_bitfield_init(&h->peer->have, w->m.piece_count)))
            return ret;
    }
    sim_peer_t *p = h->peer;
    uint64_t now = sim_now(w);
    p->frontier = 0;
    p->catch_up_seen = -1;
    p->joined = p->completed = p->kick_armed = p->leading = false;
    p->swarm_incomplete = -1;
    p->rack[0] = '\0';
    p->bytes_mcast = p->bytes_tcp = 0;
    p->next_second = now;
    if ((ret = crow_mcast_receiver_init(&p->rx, &w->m)))
        return ret;
    crow_peer_policy_config_t pc = {.silence_ns = SILENCE_NS, .multicast = true, .tracker = true};
    crow_peer_policy_init(&p->policy, &pc, now);
    crow_picker_config_t kc = {.manifest = &w->m,
                               .max_neighbours = 2 * SIM_MAX_CONNS,
                               .max_depth = 64,
                               .chain_head = false,
                               .multicast = true};
    if ((ret = crow_picker_new(&kc, &p->picker)))
        return ret;
    if ((ret = crow_peer_directory_init(&p->dir, NUMWANT + 1)))
        return ret;
    crow_peer_config_t cc;
    crow_peer_config_default(&cc);
    cc.manifest = &w->m;
    cc.peer_id = h->peer_id;
    cc.have = &p->have;
    cc.picker = p->picker;
    cc.client = "crowcast sim";
    if (cc.max_request > w->m.piece_length)
        cc.max_request = w->m.piece_length;
    if ((ret = crow_peer_context_init(&h->ctx, &cc)))
        return ret;
    p->running = true;
    for (uint32_t i = 0; i < w->m.piece_count; i++)
        if (crow_bitfield_get(&p->have, i)) {
            crow_mcast_receiver_mark_verified(&p->rx, i);
            crow_picker_piece_verified(p->picker, i);
        }
    if (crow_bitfield_full(&p->have)) { /* resumed complete: publish and exit (no --seed-time peers) */
        sim_peer_stop(w, h);
        h->alive = false;
        return 0;
    }
    announce(w, h, CROW_EVENT_STARTED);
    sim_at(w, now + DECIDE_TICK_NS, SIM_EV_PEER_DECIDE, h->index, h->incarnation);
    sim_at(w, now + PEER_TICK_NS, SIM_EV_PEER_TICK, h->index, h->incarnation);
    return 0;
}

void sim_peer_stop(sim_world_t *w, sim_host_t *h)
{
    sim_peer_t *p = h->peer;
    if (!p || !p->running)
        return;
    sim_tcp_close_host(w, h->index);
    p->running = p->joined = false;
    crow_picker_free(p->picker);
    p->picker = NULL;
    crow_mcast_receiver_dispose(&p->rx);
    crow_peer_directory_dispose(&p->dir);
}

void sim_peer_free(sim_host_t *h)
{
    if (!h->peer)
        return;
    crow_bitfield_dispose(&h->peer->have);
    free(h->peer);
    h->peer = NULL;
}
