/* Where a peer's data comes from: its rack's multicast group (given, or assigned by the tracker),
 * static TCP peers, and the neighbours the tracker lists in chain order; and what it tells the
 * tracker (progress, completion, the hook's exit status). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/event.h"
#include "crowcast/log.h"
#include "crowcast/stream_need.h"
#include "getter_internal.h"

/* Connections each way; the picker has a neighbour slot for every one of them, so that strangers
 * holding every incoming connection leave the neighbours we dial their slots. */
#define MAX_INCOMING 64
#define MAX_OUTGOING 64

static uint64_t bytes_left(const struct getter *g)
{
    const crow_bitfield_t *v = crow_piece_store_verified(g->store);
    uint64_t left = 0;
    for (uint32_t p = 0; p < g->m.piece_count; p++)
        if (!crow_bitfield_get(v, p))
            left += crow_manifest_piece_size(&g->m, p);
    return left;
}

bool getter_on_stream(const struct getter *g)
{
    return g->policy.stream != CROW_STREAM_OFF && g->policy.stream != CROW_STREAM_UNJOINED;
}

/* What this peer lacks of whole stretches of the release: only one on the multicast path asks the
 * seeder for them. */
void getter_need(const struct getter *g, crow_need_map_t *out)
{
    if (getter_on_stream(g))
        crow_stream_need(&g->m, g->rx.have, crow_piece_store_verified(g->store), out);
    else
        *out = (crow_need_map_t){{0}};
}

void getter_announce(struct getter *g, enum crow_announce_event ev)
{
    if (!g->announcer)
        return;
    uint64_t up = g->peers ? crow_peers_bytes_served(g->peers) : 0;
    crow_announcer_set_mcast_report(g->announcer, crow_peer_policy_mcast_report(&g->policy));
    crow_need_map_t need;
    getter_need(g, &need);
    crow_announcer_set_need(g->announcer, getter_on_stream(g) && !g->completed, &need);
    crow_announcer_announce(g->announcer, ev, up, g->bytes_mcast + g->bytes_tcp, bytes_left(g));
    crow_peer_policy_announced(&g->policy, crow_loop_now(g->loop));
}

/* The tracker's list places our neighbours (the directory) and names whom to dial. */
static void connect_neighbours(struct getter *g, const crow_announce_peer_t *peers, size_t n, bool in_rack)
{
    crow_peer_directory_set_tracker_list(&g->directory, peers, n, in_rack);
    crow_peers_relink(g->peers);
    const struct sockaddr_in *self = crow_peers_listen_addr(g->peers);
    for (size_t i = 0; i < n; i++) {
        struct sockaddr_in a = {
            .sin_family = AF_INET, .sin_port = htons(peers[i].port), .sin_addr.s_addr = htonl(peers[i].addr)};
        if (self && a.sin_addr.s_addr == self->sin_addr.s_addr && a.sin_port == self->sin_port)
            continue;
        if (peers[i].flags & CROW_PEER_SEEDER)
            getter_source_known(g);
        crow_peers_connect(g->peers, &a);
    }
}

static void on_announced(void *ctx, const struct crow_announce_outcome *o)
{
    struct getter *g = ctx;
    if (o->error || o->failure) { /* logged by the announcer */
        crow_peer_policy_tracker_answer(&g->policy, crow_loop_now(g->loop), false, 0);
        return;
    }
    const crow_announce_result_t *r = o->result;
    crow_peer_policy_tracker_answer(&g->policy, crow_loop_now(g->loop), true,
                                    r->interval > 0 ? (uint32_t)r->interval : 0);
    g->swarm_incomplete = r->incomplete;
    /* A complete peer (the seeder, or a neighbour that finished) exists: if no datagram comes, the
     * multicast silence must end in TCP repair rather than wait for a pass that is already over. */
    if (r->complete > 0)
        getter_source_known(g);
    const crow_crowcast_info_t *cc = &r->crowcast;
    if (cc->present && cc->has_sending)
        crow_peer_policy_senders(&g->policy, crow_loop_now(g->loop), cc->sending, cc->streaming);
    if (cc->present) {
        if (strcmp(g->rack, cc->rack) != 0 || crow_picker_chain_head(g->picker) != (cc->head || g->leading)) {
            snprintf(g->rack, sizeof g->rack, "%s", cc->rack);
            crow_picker_set_chain_head(g->picker, cc->head || g->leading);
            crow_log_info("rack %s, chain position %u%s", cc->rack[0] ? cc->rack : "(none)", cc->position,
                          cc->head ? " (chain head)" : "");
        }
        if (cc->rack[0])
            crow_peers_set_place(g->peers, g->rack, cc->position);
        getter_relay_answer(g, cc);
        if (g->mcast && !g->udp && !g->mcast_given && cc->group && !g->completed) {
            struct sockaddr_in group = {
                .sin_family = AF_INET, .sin_port = htons(cc->port), .sin_addr.s_addr = htonl(cc->group)};
            if (getter_join(g, &group))
                getter_mcast_unavailable(g);
        }
    }
    if (g->mcast && !g->udp && !g->mcast_given && !(cc->present && cc->group) &&
        g->policy.stream == CROW_STREAM_UNJOINED && !g->completed) {
        crow_log_warn("the tracker assigned no multicast group: TCP only");
        getter_mcast_unavailable(g);
    }
    connect_neighbours(g, o->peers, r->peer_count, cc->present && cc->rack[0]);
    /* Otherwise a source or a streaming seeder learned (its clock is short), or it joined (its
     * first need map goes at once: the seeder waits for it): decide at that deadline. */
    if (g->policy.no_sender && g->policy.stream == CROW_STREAM_DUE)
        getter_decide(g); /* no stream is coming: on to TCP now, not at the next tick */
    else
        getter_wake_for_deadline(g);
}

void getter_mcast_unavailable(struct getter *g)
{
    crow_peer_policy_no_multicast(&g->policy, crow_loop_now(g->loop));
    getter_peers_frontier(g);
}

int getter_choose_trackers(struct getter *g)
{
    const struct crow_getter_config *cfg = g->cfg;
    int usable = crow_announcer_choose(&g->trackers, &g->m, cfg->torrent, cfg->tracker, cfg->no_tracker,
                                       "get", "--mcast or --peer");
    if (usable < 0)
        return CROW_GET_USAGE;
    g->tracker = usable > 0;
    g->mcast = !cfg->no_mcast && (cfg->group.sin_port || g->tracker);
    if (!g->mcast && !g->tracker && cfg->peer_count == 0) {
        fprintf(stderr,
                "crowcast get: no source: %s%s; give --tracker URL, --mcast GROUP:PORT or --peer ADDR:PORT\n"
                "Try 'crowcast get --help'.\n",
                cfg->no_tracker ? "--no-tracker" : cfg->torrent, cfg->no_tracker ? "" : " names no tracker");
        return CROW_GET_USAGE;
    }
    if (g->tracker && !cfg->tracker)
        crow_log_debug("announcing to the manifest's %d tracker(s), first %s", usable,
                       crow_tracker_tiers_url(&g->trackers, g->trackers.order[0]));
    return 0;
}

int getter_start_sources(struct getter *g)
{
    const struct crow_getter_config *cfg = g->cfg;
    crow_picker_config_t pc = {.manifest = &g->m,
                               .max_neighbours = MAX_INCOMING + MAX_OUTGOING,
                               .max_depth = 64,
                               .chain_head = !g->tracker,
                               .multicast = g->mcast};
    int ret = crow_picker_new(&pc, &g->picker);
    if (ret)
        return ret;
    const crow_bitfield_t *have = crow_piece_store_verified(g->store);
    for (uint32_t p = 0; p < g->m.piece_count; p++)
        if (crow_bitfield_get(have, p))
            crow_picker_piece_verified(g->picker, p);
    /* Room for a full tracker list, the --peer list and the seeder of a BEACON. */
    if ((ret = crow_peer_directory_init(&g->directory, CROW_ANNOUNCER_MAX_PEERS + cfg->peer_count + 1)))
        return ret;
    /* --peer: the operator's word, rack neighbours in the order given. */
    for (unsigned i = 0; i < cfg->peer_count; i++)
        crow_peer_directory_add(&g->directory, ntohl(cfg->peers[i].sin_addr.s_addr), i + 1, true);
    struct crow_peers_config peers = {.m = &g->m,
                                      .store = g->store,
                                      .picker = g->picker,
                                      .listen = cfg->listen,
                                      .bind_addr = cfg->iface,
                                      .pos = -1,
                                      .directory = &g->directory,
                                      .max_incoming = MAX_INCOMING,
                                      .max_outgoing = MAX_OUTGOING};
    if ((ret = crow_peers_new(&g->peers, g->loop, &peers, getter_on_tcp_bytes, g))) {
        fprintf(stderr, "crowcast get: cannot listen on %s:%u: %s\n", inet_ntoa(cfg->listen.sin_addr),
                ntohs(cfg->listen.sin_port), crow_strerror(ret));
        return ret;
    }
    if (g->mcast && cfg->group.sin_port) {
        g->mcast_given = true;
        if (getter_join(g, &cfg->group))
            getter_mcast_unavailable(g);
    } else if (!g->mcast) {
        crow_picker_stream_end(g->picker);
    }
    for (unsigned i = 0; i < cfg->peer_count; i++)
        crow_peers_connect(g->peers, &cfg->peers[i]);
    if (cfg->peer_count)
        getter_source_known(g);
    if (g->tracker) {
        struct crow_announcer_config ac = {
            .trackers = &g->trackers,
            .info_hash = g->m.info_hash,
            .peer_id = crow_peers_peer_id(g->peers),
            .port = ntohs(crow_peers_listen_addr(g->peers)->sin_port),
            .bind = cfg->iface,
            .numwant = 50,
            .timeout = 5,
        };
        if ((ret = crow_announcer_new(&g->announcer, g->loop, &ac, on_announced, g))) {
            fprintf(stderr, "crowcast get: announce client: %s\n", crow_strerror(ret));
            return ret;
        }
        getter_announce(g, CROW_EVENT_STARTED);
    }
    return 0;
}

void getter_stop_sources(struct getter *g)
{
    if (g->announcer && g->loop) {
        getter_announce(g, CROW_EVENT_STOPPED);
        /* give the "stopped" announce a moment, so the tracker forgets us at once */
        for (int i = 0; i < 20 && crow_announcer_busy(g->announcer); i++)
            crow_loop_run_for(g->loop, 50 * 1000000ull);
    }
    crow_announcer_free(g->announcer);
    g->announcer = NULL;
    crow_peers_free(g->peers);
    g->peers = NULL;
    crow_picker_free(g->picker);
    g->picker = NULL;
    crow_peer_directory_dispose(&g->directory);
}

bool getter_has_tcp(const struct getter *g)
{
    return g->tracker || g->cfg->peer_count || (g->peers && crow_peers_count(g->peers));
}

void getter_on_tcp_bytes(void *ctx, uint64_t bytes)
{
    struct getter *g = ctx;
    g->bytes_tcp += bytes;
}

void getter_peers_frontier(struct getter *g)
{
    if (!g->picker)
        return;
    if (!crow_peer_policy_stream_pending(&g->policy)) {
        crow_picker_stream_end(g->picker);
    } else {
        crow_picker_stream_resume(g->picker, g->frontier);
        /* Until the stream's BEACON says it does not, it resends what went by before we joined. */
        crow_picker_hold_untouched(g->picker, crow_mcast_receiver_catches_up(&g->rx) != 0);
    }
    crow_peers_kick(g->peers);
}

void getter_peers_failed(struct getter *g, uint32_t piece, bool mixed)
{
    if (!g->picker)
        return;
    if (mixed)
        crow_peers_piece_failed_mixed(g->peers, piece);
    else
        crow_peers_piece_failed(g->peers, piece);
    crow_picker_piece_failed(g->picker, piece);
    crow_peers_kick(g->peers);
}

void getter_peers_have(struct getter *g, uint32_t piece)
{
    if (!g->picker)
        return;
    crow_picker_piece_verified(g->picker, piece);
    crow_peers_have(g->peers, piece);
}

void getter_on_beacon(struct getter *g, const crow_dgram_beacon_t *b, const struct sockaddr_in *from,
                      bool main)
{
    /* The seeder's TCP port rides in its BEACONs: without a tracker it is the last-resort source. */
    struct sockaddr_in seed = {
        .sin_family = AF_INET, .sin_port = htons(b->tcp_port), .sin_addr = from->sin_addr};
    if (!b->tcp_port || !g->peers || g->tracker || (!main && g->seeder_dialled.sin_port) ||
        (seed.sin_addr.s_addr == g->seeder_dialled.sin_addr.s_addr &&
         seed.sin_port == g->seeder_dialled.sin_port))
        return;
    g->seeder_dialled = seed;
    crow_peer_directory_add(&g->directory, ntohl(from->sin_addr.s_addr), CROW_PEER_DISTANCE_FOREIGN, false);
    crow_peers_relink(g->peers);
    crow_peers_connect(g->peers, &seed);
}

void getter_emit_sources(struct getter *g)
{
    if (!g->peers || !g->cfg->json)
        return;
    struct crow_peers_source src[64];
    unsigned n = crow_peers_sources(g->peers, src, 64);
    for (unsigned i = 0; i < n; i++) {
        char line[256];
        crow_event_writer_t w;
        crow_event_begin(&w, line, sizeof line, "source");
        crow_event_str(&w, "addr", inet_ntoa(src[i].addr));
        crow_event_u64(&w, "bytes", src[i].bytes);
        long len = crow_event_end(&w);
        if (len > 0)
            fwrite(line, 1, (size_t)len, stdout);
    }
    fflush(stdout);
}

void getter_hook_reported(struct getter *g, int code)
{
    if (g->announcer)
        crow_announcer_set_hook_status(g->announcer, code);
}

void getter_after_complete(struct getter *g)
{
    crow_udp_rx_close(g->udp);
    g->udp = NULL;
    crow_peer_policy_complete(&g->policy, crow_loop_now(g->loop));
    getter_announce(g, CROW_EVENT_COMPLETED);
    g->seed_until_ns = crow_loop_now(g->loop) + (uint64_t)(g->cfg->seed_time * 1e9);
    if ((g->cfg->seed_time <= 0 || !g->peers) && !g->hook_running && !getter_relay_busy(g)) {
        g->done = true;
        crow_loop_stop(g->loop, 1);
    } else if (g->cfg->seed_time > 0) {
        crow_log_info("seeding for neighbours for up to %.0f s", g->cfg->seed_time);
    }
}

void getter_tick(struct getter *g, uint64_t now)
{
    /* A --peer that was not listening yet is dialled again (connected ones are skipped). */
    if (!g->completed && g->cfg->peer_count && now >= g->next_redial_ns) {
        g->next_redial_ns = now + 2000000000ull;
        for (unsigned i = 0; i < g->cfg->peer_count; i++)
            crow_peers_connect(g->peers, &g->cfg->peers[i]);
    }
    if (!g->completed || g->hook_running || getter_relay_busy(g))
        return;
    bool swarm_done = g->announcer && g->swarm_incomplete == 0;
    if (now >= g->seed_until_ns || swarm_done) {
        crow_log_info("%s: done seeding",
                      swarm_done ? "every peer of the release is complete" : "--seed-time over");
        g->done = true;
        crow_loop_stop(g->loop, 1);
    }
}
