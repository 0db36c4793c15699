/* The tracker host in the simulator, as src/app/tracker/tracker.c and tracker_http.c drive the registry:
 * every announce goes through crow_tracker_registry_announce with the rack its address resolves to in the
 * racks file, the seeder's asks for the groups, expiry runs at the registry's deadline. A killed
 * tracker loses everything (as a restarted tracker does); its peers' announces time out meanwhile.
 *
 * Announces travel as messages of no size: one one-way delay there, one back (the HTTP exchange's
 * bytes are not simulated), with the announce client's 5 s timeout. One is in flight per host; one
 * asked meanwhile waits for the answer and then goes (the announcer's queue: a later request replaces
 * a waiting one, but an event it carried is kept). */
#include <errno.h>
#include <string.h>

#include "crowcast/error.h"
#include "sim_world.h"

#define ANNOUNCE_TIMEOUT_NS (5 * SIM_NS)
#define TRACKER_TICK_NS     SIM_NS
#define MAX_PEERS           200u

static uint64_t now_ms(const sim_world_t *w)
{
    return sim_now(w) / 1000000u;
}

int sim_tracker_start(sim_world_t *w)
{
    crow_tracker_registry_config_t rc = {.max_swarms = 4,
                                         .max_peers_per_swarm = w->npeers + 8,
                                         .fault_same_ms_heads = w->cfg->fault_two_heads};
    for (uint32_t i = 0; i < w->npeers; i++)
        w->hosts[i].told_head = false; /* a new registry: nobody is anybody's head yet */
    int ret = crow_tracker_registry_new(&w->registry, &rc, &w->racks);
    if (ret)
        return ret;
    sim_at(w, sim_now(w) + TRACKER_TICK_NS, SIM_EV_TRACKER_TICK, w->tracker,
           w->hosts[w->tracker].incarnation);
    return 0;
}

void sim_tracker_stop(sim_world_t *w)
{
    crow_tracker_registry_free(w->registry);
    w->registry = NULL;
}

void sim_tracker_tick_event(sim_world_t *w)
{
    if (!w->registry)
        return;
    uint64_t now = now_ms(w);
    if (crow_tracker_registry_next_deadline(w->registry) <= now)
        crow_tracker_registry_expire(w->registry, now);
    sim_at(w, sim_now(w) + TRACKER_TICK_NS, SIM_EV_TRACKER_TICK, w->tracker,
           w->hosts[w->tracker].incarnation);
}

static void send_now(sim_world_t *w, sim_host_t *h)
{
    h->ann_sent = h->ann_req;
    h->ann_busy = true;
    h->ann_queued = false;
    h->ann_id++;
    sim_at(w, sim_now(w) + sim_oneway_ns(w, h->index, w->tracker), SIM_EV_ANNOUNCE, h->index, h->ann_id);
    sim_at(w, sim_now(w) + ANNOUNCE_TIMEOUT_NS, SIM_EV_ANN_TIMEOUT, h->index, h->ann_id);
}

void sim_announce(sim_world_t *w, sim_host_t *h)
{
    /* `stopped` goes at once (the process is leaving; the one in flight no longer matters). */
    if (!h->ann_busy || h->ann_req.event == CROW_EVENT_STOPPED) {
        send_now(w, h);
        return;
    }
    /* A waiting started/completed/stopped is not lost to a plain one that replaces it. */
    if (h->ann_queued && h->ann_sent.event != CROW_EVENT_NONE && h->ann_req.event == CROW_EVENT_NONE)
        h->ann_req.event = h->ann_sent.event;
    h->ann_queued = true;
}

/* The registry's promise (tracker_registry.h): at most one registered member of a chain was last told
 * head. Checked for the live peers of h's rack as each answer goes out; a break stops the run. */
static void check_head(sim_world_t *w, sim_host_t *h, bool head, bool stopping)
{
    if (h->index >= w->npeers)
        return;
    h->told_head = head && !stopping;
    uint32_t per = w->cfg->hosts_per_rack, first = h->rack * per;
    for (uint32_t k = first; h->told_head && k < first + per; k++) {
        const sim_host_t *o = &w->hosts[k];
        if (o != h && o->alive && o->told_head && !w->violation[0])
            snprintf(w->violation, sizeof w->violation,
                     "two chain heads in rack %u at %.6f s: peers %u and %u", h->rack,
                     (double)sim_now(w) / 1e9, o->index, h->index);
    }
}

/* The tracker answers h's announce (tracker_http.c's announce). */
static void answer(sim_world_t *w, sim_host_t *h, uint64_t id)
{
    if (!w->registry || !w->hosts[w->tracker].alive) {
        /* A killed tracker process on a live host refuses the connection at once; a host gone dark
         * (--tracker-dark) answers nothing, and the announce times out. */
        if (!w->cfg->tracker_dark)
            sim_at(w, sim_now(w) + sim_oneway_ns(w, w->tracker, h->index), SIM_EV_ANSWER, h->index,
                   id | 1ull << 63);
        return;
    }
    const crow_announce_req_t *q = &h->ann_sent;
    uint32_t rack;
    if (crow_racks_resolve(&w->racks, h->addr, q->has_rack ? q->rack : NULL, &rack))
        return;
    const char *failure = NULL;
    w->announces++;
    if (crow_tracker_registry_announce(w->registry, q, h->addr, rack, now_ms(w), h->ann_peers, MAX_PEERS,
                                       &h->ann_resp, &failure))
        h->ann_resp.interval = 0; /* refused: answered as a failure */
    else
        h->ann_resp.crowcast.has_sending = true; /* the encoder always writes "sending" */
    if (!failure)
        check_head(w, h, h->ann_resp.crowcast.present && h->ann_resp.crowcast.head,
                   q->event == CROW_EVENT_STOPPED);
    if (!failure && q->want_groups) {
        crow_crowcast_info_t *cc = &h->ann_resp.crowcast;
        const crow_rack_t *r = crow_racks_get(&w->racks, 0);
        cc->group_count = r && r->group ? 1 : 0; /* every rack shares one group */
        if (cc->group_count) {
            cc->groups[0].addr = r->group;
            cc->groups[0].port = r->port;
        }
    }
    sim_at(w, sim_now(w) + sim_oneway_ns(w, w->tracker, h->index), SIM_EV_ANSWER, h->index,
           failure ? id | 1ull << 63 : id);
}

static void deliver(sim_world_t *w, sim_host_t *h, bool ok)
{
    h->ann_busy = false;
    h->ann_ok = ok;
    if (h->index < w->npeers)
        sim_peer_answer(w, h);
    else if (h->index == w->seeder)
        sim_seeder_answer(w, h);
    if (h->alive && h->ann_queued && !h->ann_busy)
        send_now(w, h);
}

void sim_announce_event(sim_world_t *w, const sim_event_t *e)
{
    sim_host_t *h = &w->hosts[e->obj];
    uint64_t id = e->arg & ~(1ull << 63);
    switch (e->kind) {
    case SIM_EV_ANNOUNCE:
        if (id == h->ann_id)
            answer(w, h, id);
        break;
    case SIM_EV_ANSWER:
        if (id == h->ann_id && h->ann_busy && h->alive)
            deliver(w, h, !(e->arg >> 63));
        break;
    case SIM_EV_ANN_TIMEOUT:
        if (id == h->ann_id && h->ann_busy && h->alive)
            deliver(w, h, false);
        break;
    default:
        break;
    }
}
