/* The seeder's glue in the simulator, as src/app/seed/seeder.c and mcast_stream.c drive the engines: the
 * seeder policy decides when the pass starts, ends early and when the seeder leaves; the sender
 * engine paces the datagrams (handed to the simulated NIC in batches of 16, as mcast_stream.c pumps
 * them); a peer context without a picker serves the release over TCP to whoever connects. A killed
 * seeder restarts from scratch: a new policy and a new pass, which starts where the swarm's need
 * begins. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "sim_world.h"

#define BATCH 16

struct sim_seeder {
    crow_seeder_policy_t policy;
    crow_mcast_sender_t sender;
    crow_bitfield_t all;
    bool running, groups_known, sending, mcast_done;
    uint64_t pump_at;     /* the pacing timer armed, 0: none */
    uint64_t mcast_bytes; /* over every incarnation */
};

uint64_t sim_seeder_mcast_bytes(const sim_host_t *h)
{
    return h->seeder
               ? h->seeder->mcast_bytes + (h->seeder->sending ? h->seeder->sender.stats.payload_bytes : 0)
               : 0;
}

static void announce(sim_world_t *w, sim_host_t *h, enum crow_announce_event ev)
{
    sim_seeder_t *s = h->seeder;
    crow_announce_req_t *q = &h->ann_req;
    *q = (crow_announce_req_t){
        .port = SIM_PORT, .numwant = 0, .compact = true, .event = ev, .want_groups = true};
    /* Until the passes are over, a peer that joins late waits for the stream; after, it need not. */
    q->sending = !s->mcast_done && ev != CROW_EVENT_STOPPED;
    q->streaming = q->sending && s->sending;
    memcpy(q->info_hash, w->m.info_hash, sizeof q->info_hash);
    memcpy(q->peer_id, h->peer_id, sizeof q->peer_id);
    q->uploaded = w->seeder_tcp_bytes;
    crow_seeder_policy_announced(&s->policy, sim_now(w));
    sim_announce(w, h);
}

static void decide(sim_world_t *w, sim_host_t *h);

static void passes_done(sim_world_t *w, sim_host_t *h)
{
    sim_seeder_t *s = h->seeder;
    s->mcast_done = true;
    crow_seeder_policy_passes_done(&s->policy, sim_now(w));
    announce(w, h, CROW_EVENT_NONE); /* the tracker tells peers at once that no stream is coming */
    decide(w, h);
}

/* seeder.c's note_stream */
static void note_stream(sim_world_t *w, sim_seeder_t *s)
{
    if (!s->sending || s->mcast_done)
        return;
    crow_need_map_t sent;
    crow_stream_segments_sent(w->m.piece_count, crow_mcast_sender_pending(&s->sender), &sent);
    crow_seeder_policy_stream_sent(&s->policy, sim_now(w), &sent);
}

/* seeder.c's on_mcast_drained: resend what late joiners missed, or close the pass. */
static void drained(sim_world_t *w, sim_seeder_t *s)
{
    note_stream(w, s);
    crow_need_map_t missed;
    crow_seeder_policy_catch_up(&s->policy, &missed);
    if (!crow_mcast_sender_resend_segments(&s->sender, &missed, NULL, 0))
        crow_mcast_sender_close_pass(&s->sender);
}

/* mcast_stream.c's pump: batches while the engine has datagrams due, then its timer. */
static void pump(sim_world_t *w, sim_host_t *h)
{
    sim_seeder_t *s = h->seeder;
    crow_mcast_tx_t txs[BATCH];
    for (;;) {
        crow_mcast_batch_end_t end;
        size_t n = crow_mcast_sender_batch(&s->sender, sim_now(w), txs, BATCH, &end);
        for (size_t i = 0; i < n; i++)
            sim_mcast_send(w, &txs[i]);
        if (end.state == CROW_MCAST_DONE) {
            passes_done(w, h);
            return;
        }
        if (end.state == CROW_MCAST_WAIT && crow_mcast_sender_drained(&s->sender)) {
            drained(w, s);
            if (!crow_mcast_sender_drained(&s->sender))
                continue;
        }
        if (end.state == CROW_MCAST_WAIT) {
            if (!s->pump_at || end.wake_ns < s->pump_at) {
                s->pump_at = end.wake_ns;
                sim_at(w, end.wake_ns, SIM_EV_SEEDER_PUMP, h->index, h->incarnation);
            }
            return;
        }
    }
}

static int start_mcast(sim_world_t *w, sim_host_t *h)
{
    sim_seeder_t *s = h->seeder;
    crow_mcast_sender_config_t ec;
    crow_mcast_sender_config_default(&ec);
    ec.rate_bps = w->cfg->mcast_rate_bps;
    ec.passes = 1;
    ec.tcp_port = SIM_PORT;
    ec.first_piece = crow_seeder_policy_first_piece(&s->policy, w->m.piece_count);
    ec.catch_up = true;
    ec.burst_bytes =
        crow_mcast_sender_burst_for(ec.rate_bps, CROW_DGRAM_HEADER_LEN + w->m.chunk_size +
                                                     CROW_DGRAM_TAG_LEN + CROW_MCAST_IPV4_UDP_OVERHEAD);
    int ret = crow_mcast_sender_init(&s->sender, &w->m, &ec);
    if (ret)
        return ret;
    crow_mcast_sender_set_all_available(&s->sender);
    crow_need_map_t scope; /* seeder.c's start_mcast: the pass sends what the swarm lacks */
    crow_seeder_policy_scope(&s->policy, w->m.piece_count, &scope);
    crow_mcast_sender_want_segments(&s->sender, &scope);
    s->sending = true;
    pump(w, h);
    return 0;
}

static void maybe_start_mcast(sim_world_t *w, sim_host_t *h)
{
    sim_seeder_t *s = h->seeder;
    if (s->sending || !s->groups_known)
        return;
    if (crow_seeder_policy_may_start(&s->policy, sim_now(w)) == CROW_SEEDER_START_WAIT)
        return;
    int ret = start_mcast(w, h);
    if (ret) {
        sim_fail(w, ret);
        return;
    }
    crow_seeder_policy_sending(&s->policy, sim_now(w));
    announce(w, h, CROW_EVENT_NONE); /* streaming=1: peers that see no datagram give up on it sooner */
}

static void leave(sim_world_t *w, sim_host_t *h)
{
    announce(w, h, CROW_EVENT_STOPPED);
    sim_seeder_stop(w, h);
    h->alive = false;
}

/* seeder.c's decide */
static void decide(sim_world_t *w, sim_host_t *h)
{
    sim_seeder_t *s = h->seeder;
    if (!s->running)
        return;
    maybe_start_mcast(w, h);
    note_stream(w, s);
    if (s->sending && !s->mcast_done &&
        (crow_seeder_policy_swarm_complete(&s->policy) || crow_seeder_policy_reaches_nobody(&s->policy))) {
        crow_mcast_sender_end_now(&s->sender);
        pump(w, h); /* the ENDs go out, then the passes are done */
        return;
    }
    bool announce_now;
    enum crow_seeder_verdict v = crow_seeder_policy_tick(&s->policy, sim_now(w), h->nconns, &announce_now);
    if (v != CROW_SEEDER_STAY) {
        leave(w, h);
        return;
    }
    if (announce_now)
        announce(w, h, CROW_EVENT_NONE);
}

void sim_seeder_pump_event(sim_world_t *w, sim_host_t *h)
{
    sim_seeder_t *s = h->seeder;
    s->pump_at = 0;
    if (s->running && s->sending && !s->mcast_done)
        pump(w, h);
}

void sim_seeder_tick_event(sim_world_t *w, sim_host_t *h)
{
    sim_seeder_t *s = h->seeder;
    decide(w, h);
    if (!s->running)
        return;
    uint64_t now = sim_now(w), wait = SIM_NS, due = s->policy.next_announce;
    if (due > now && due - now < wait)
        wait = due - now;
    sim_at(w, now + wait, SIM_EV_SEEDER_TICK, h->index, h->incarnation);
}

void sim_seeder_answer(sim_world_t *w, sim_host_t *h)
{
    sim_seeder_t *s = h->seeder;
    if (!s || !s->running)
        return;
    if (!h->ann_ok) {
        crow_seeder_policy_tracker_failed(&s->policy, sim_now(w));
        return;
    }
    const crow_announce_resp_t *r = &h->ann_resp;
    crow_seeder_swarm_t sw = {
        .interval_s = r->interval,
        .complete = r->complete,
        .incomplete = r->incomplete,
        .lit = r->crowcast.lit,
        .dark = r->crowcast.dark,
        .has_need = r->crowcast.has_need,
        .need = r->crowcast.need,
    };
    note_stream(w, s);
    crow_seeder_policy_tracker_answer(&s->policy, sim_now(w), &sw);
    if (r->crowcast.group_count)
        s->groups_known = true;
    decide(w, h);
}

int sim_seeder_start(sim_world_t *w, sim_host_t *h)
{
    int ret;
    if (!h->seeder) {
        if (!(h->seeder = calloc(1, sizeof *h->seeder)))
            return -ENOMEM;
        if ((ret = crow_bitfield_init(&h->seeder->all, w->m.piece_count)))
            return ret;
        crow_bitfield_set_all(&h->seeder->all);
    }
    sim_seeder_t *s = h->seeder;
    s->groups_known = s->sending = s->mcast_done = false;
    s->pump_at = 0;
    crow_peer_config_t cc;
    crow_peer_config_default(&cc);
    cc.manifest = &w->m;
    cc.peer_id = h->peer_id;
    cc.have = &s->all;
    cc.client = "crowcast sim";
    if (cc.max_request > w->m.piece_length)
        cc.max_request = w->m.piece_length;
    if ((ret = crow_peer_context_init(&h->ctx, &cc)))
        return ret;
    crow_seeder_policy_config_t lc = {.tracker = true,
                                      .serves_tcp = true,
                                      .linger_ns =
                                          w->cfg->fault_linger0 ? 0 : (int64_t)CROW_SEEDER_LINGER_DEFAULT_NS,
                                      .wait_peers_ns = (int64_t)CROW_SEEDER_WAIT_PEERS_DEFAULT_NS,
                                      .catch_up = true};
    crow_seeder_policy_init(&s->policy, &lc, sim_now(w));
    s->running = true;
    announce(w, h, CROW_EVENT_STARTED);
    decide(w, h);
    sim_at(w, sim_now(w) + SIM_NS, SIM_EV_SEEDER_TICK, h->index, h->incarnation);
    return 0;
}

void sim_seeder_stop(sim_world_t *w, sim_host_t *h)
{
    sim_seeder_t *s = h->seeder;
    if (!s || !s->running)
        return;
    sim_tcp_close_host(w, h->index);
    if (s->sending) {
        s->mcast_bytes += s->sender.stats.payload_bytes;
        crow_mcast_sender_dispose(&s->sender);
        s->sending = false;
    }
    s->running = false;
}

void sim_seeder_free(sim_host_t *h)
{
    if (!h->seeder)
        return;
    crow_bitfield_dispose(&h->seeder->all);
    free(h->seeder);
    h->seeder = NULL;
}
