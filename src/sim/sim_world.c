/* The simulated datacenter's setup and its event loop: a manifest of the configured geometry (no
 * bytes behind it), the racks file the tracker reads, hosts with their NICs, racks with their links
 * to the fabric; then events in time order until every peer verified or the time limit; kill -9 and
 * restarts as scheduled; the figures of the run. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "sim_world.h"

#define ADDR_BASE     0x0a000000u /* 10.0.0.0 */
#define ADDR_SEEDER   0x0afa0001u /* 10.250.0.1 */
#define ADDR_TRACKER  0x0afa0002u
#define GROUP         0xef010101u /* 239.1.1.1 */
#define NIC_DELAY_NS  1000u
#define RACK_DELAY_NS 5000u
#define HOP_NS        20000u /* a small message's processing at each end (connect, announce) */

uint64_t sim_now(const sim_world_t *w)
{
    return w->sched.now;
}

void sim_fail(sim_world_t *w, int err)
{
    if (!w->error)
        w->error = err;
}

void sim_at(sim_world_t *w, uint64_t t, enum sim_ev kind, uint32_t obj, uint64_t arg)
{
    if (sim_sched_at(&w->sched, t, (uint32_t)kind, obj, arg))
        sim_fail(w, -ENOMEM);
}

uint64_t sim_oneway_ns(const sim_world_t *w, uint32_t a, uint32_t b)
{
    bool same = w->hosts[a].rack == w->hosts[b].rack && w->hosts[a].rack != CROW_RACK_NONE;
    return 2 * HOP_NS + 2 * NIC_DELAY_NS + (same ? 0 : 2 * RACK_DELAY_NS);
}

sim_host_t *sim_host_by_addr(sim_world_t *w, uint32_t addr)
{
    if (addr == ADDR_SEEDER)
        return &w->hosts[w->seeder];
    if (addr == ADDR_TRACKER)
        return &w->hosts[w->tracker];
    uint32_t off = addr - ADDR_BASE, r = (off >> 12) - 1, k = (off & 0xfff) - 1;
    if (addr < ADDR_BASE || (off >> 12) == 0 || r >= w->cfg->racks || (off & 0xfff) == 0 ||
        k >= w->cfg->hosts_per_rack)
        return NULL;
    return &w->hosts[r * w->cfg->hosts_per_rack + k];
}

static int check_config(const sim_config_t *c)
{
    if (!c->racks || c->racks > CROW_RACKS_MAX || !c->hosts_per_rack || c->hosts_per_rack > 4000 ||
        !c->size || !c->piece_length || !c->chunk_size ||
        c->chunk_size > CROW_DGRAM_MAX_PAYLOAD - CROW_DGRAM_HEADER_LEN || c->chunk_size > c->piece_length ||
        !c->rate_bps || c->crash_count > SIM_MAX_CRASHES || c->size / c->piece_length >= UINT32_MAX)
        return CROW_EUSAGE;
    for (uint32_t i = 0; i < c->crash_count; i++)
        if (c->crashes[i].who == SIM_WHO_PEER && c->crashes[i].host >= c->racks * c->hosts_per_rack)
            return CROW_EUSAGE;
    return 0;
}

static void make_manifest(sim_world_t *w)
{
    const sim_config_t *c = w->cfg;
    crow_manifest_t *m = &w->m;
    *m = (crow_manifest_t){0};
    m->name = "sim.bin";
    m->single_file = true;
    m->total_length = c->size;
    m->piece_length = c->piece_length;
    m->chunk_size = c->chunk_size;
    m->piece_count = (uint32_t)((c->size + c->piece_length - 1) / c->piece_length);
    w->file = (crow_manifest_file_t){.path = "sim.bin", .length = c->size};
    m->files = &w->file;
    m->file_count = 1;
    /* Ids from the seed: a release of its own per run, nothing else depends on them. */
    sim_rng_t r;
    sim_rng_seed(&r, c->seed ^ 0x72656c65617365ull);
    for (size_t i = 0; i < sizeof m->release_id; i++)
        m->release_id[i] = (uint8_t)sim_rng_next(&r);
    for (size_t i = 0; i < sizeof m->info_hash; i++)
        m->info_hash[i] = (uint8_t)sim_rng_next(&r);
}

int sim_racks_make(crow_racks_t *racks, uint32_t count)
{
    size_t cap = (size_t)count * 64 + 1;
    char *text = malloc(cap);
    if (!text)
        return -ENOMEM;
    size_t len = 0;
    for (uint32_t r = 0; r < count; r++) {
        uint32_t net = ADDR_BASE + ((r + 1) << 12);
        len += (size_t)snprintf(text + len, cap - len, "rack r%u %u.%u.%u.%u/20 %u.%u.%u.%u:5000\n", r,
                                net >> 24, net >> 16 & 255, net >> 8 & 255, net & 255, GROUP >> 24,
                                GROUP >> 16 & 255, GROUP >> 8 & 255, GROUP & 255);
    }
    crow_racks_error_t err;
    int ret = crow_racks_parse(racks, text, len, &err);
    free(text);
    return ret;
}

static int make_hosts(sim_world_t *w)
{
    const sim_config_t *c = w->cfg;
    uint32_t n = w->npeers + 2;
    w->hosts = calloc(n, sizeof *w->hosts);
    w->rack_up = calloc(c->racks, sizeof *w->rack_up);
    w->rack_down = calloc(c->racks, sizeof *w->rack_down);
    w->rack_in_bytes = calloc(c->racks, sizeof *w->rack_in_bytes);
    if (!w->hosts || !w->rack_up || !w->rack_down || !w->rack_in_bytes)
        return -ENOMEM;
    uint64_t uplink = c->rack_uplink_bps ? c->rack_uplink_bps : 4 * c->rate_bps;
    for (uint32_t r = 0; r < c->racks; r++) {
        sim_link_init(&w->rack_up[r], uplink, RACK_DELAY_NS, 16u << 20);
        sim_link_init(&w->rack_down[r], uplink, RACK_DELAY_NS, 16u << 20);
        if (r == c->loss.rack)
            w->rack_down[r].loss = c->loss.rack_loss;
    }
    for (uint32_t i = 0; i < n; i++) {
        sim_host_t *h = &w->hosts[i];
        h->index = i;
        if (i < w->npeers) {
            h->rack = i / c->hosts_per_rack;
            h->addr = ADDR_BASE + ((h->rack + 1) << 12) + i % c->hosts_per_rack + 1;
        } else {
            h->rack = CROW_RACK_NONE;
            h->addr = i == w->seeder ? ADDR_SEEDER : ADDR_TRACKER;
        }
        double drain = i == c->loss.slow_host ? c->loss.slow_factor : 1.0;
        sim_link_init(&h->up, c->rate_bps, NIC_DELAY_NS, UINT64_MAX);
        sim_link_init(&h->down, (uint64_t)((double)c->rate_bps * drain), NIC_DELAY_NS, c->host_queue_bytes);
        if (i < w->npeers)
            h->down.loss = c->loss.host;
        if (!(h->ann_peers = calloc(200, sizeof *h->ann_peers)))
            return -ENOMEM;
    }
    return 0;
}

static void set_peer_id(sim_host_t *h)
{
    /* Azureus style, then the host and its incarnation: a restart is a new client on the same endpoint. */
    snprintf((char *)h->peer_id, sizeof h->peer_id, "-CW0100-%06u%05u", h->index % 1000000u,
             h->incarnation % 100000u);
}

static uint64_t start_time(sim_world_t *w, uint32_t i)
{
    const sim_config_t *c = w->cfg;
    uint64_t spread = c->spread_ns ? c->spread_ns : 1;
    bool peer = i < w->npeers;
    if (i == w->tracker)
        return 0;
    switch (c->start_order) {
    case SIM_START_SEEDER_FIRST:
        return peer ? sim_rng_below(&w->rng, spread) : 0;
    case SIM_START_SEEDER_LAST:
        return peer ? sim_rng_below(&w->rng, spread) : spread;
    case SIM_START_RANDOM:
        return sim_rng_below(&w->rng, spread);
    default:
        return 0;
    }
}

static int start_host(sim_world_t *w, sim_host_t *h)
{
    h->alive = true;
    h->started_at = sim_now(w);
    set_peer_id(h);
    if (h->index < w->npeers)
        return sim_peer_start(w, h);
    if (h->index == w->seeder)
        return sim_seeder_start(w, h);
    return sim_tracker_start(w);
}

static void kill_host(sim_world_t *w, sim_host_t *h, uint64_t down_ns)
{
    if (!h->alive)
        return; /* not started yet, or gone already */
    if (h->index < w->npeers)
        sim_peer_stop(w, h);
    else if (h->index == w->seeder)
        sim_seeder_stop(w, h);
    else
        sim_tracker_stop(w);
    sim_tcp_close_host(w, h->index);
    h->alive = false;
    h->told_head = false;
    h->incarnation++;
    h->ann_busy = h->ann_queued = false;
    h->ann_id++;
    sim_at(w, sim_now(w) + down_ns, SIM_EV_START, h->index, 0);
}

static bool current(const sim_host_t *h, const sim_event_t *e)
{
    return h->alive && e->arg == h->incarnation;
}

static void dispatch(sim_world_t *w, const sim_event_t *e)
{
    sim_host_t *h = e->obj < w->npeers + 2 ? &w->hosts[e->obj] : NULL;
    switch ((enum sim_ev)e->kind) {
    case SIM_EV_START:
        if (!h->alive)
            sim_fail(w, start_host(w, h));
        break;
    case SIM_EV_KILL:
        kill_host(w, h, e->arg);
        break;
    case SIM_EV_PEER_DECIDE:
        if (current(h, e))
            sim_peer_decide_event(w, h);
        break;
    case SIM_EV_PEER_TICK:
        if (current(h, e))
            sim_peer_tick_event(w, h);
        break;
    case SIM_EV_PEER_KICK:
        if (current(h, e))
            sim_peer_kick_event(w, h);
        break;
    case SIM_EV_SEEDER_PUMP:
        if (current(h, e))
            sim_seeder_pump_event(w, h);
        break;
    case SIM_EV_SEEDER_TICK:
        if (current(h, e))
            sim_seeder_tick_event(w, h);
        break;
    case SIM_EV_TRACKER_TICK:
        if (current(h, e))
            sim_tracker_tick_event(w);
        break;
    case SIM_EV_JUNK:
        sim_mcast_junk_event(w);
        break;
    case SIM_EV_MC_FABRIC:
    case SIM_EV_MC_RACK:
    case SIM_EV_MC_HOST:
        sim_mcast_event(w, e);
        break;
    case SIM_EV_TCP_SYN:
    case SIM_EV_TCP_SYNACK:
    case SIM_EV_TCP_TOR:
    case SIM_EV_TCP_DATA:
    case SIM_EV_TCP_FIN:
        sim_tcp_event(w, e);
        break;
    case SIM_EV_ANNOUNCE:
    case SIM_EV_ANSWER:
    case SIM_EV_ANN_TIMEOUT:
        sim_announce_event(w, e);
        break;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void figures(sim_world_t *w, sim_result_t *r)
{
    const sim_config_t *c = w->cfg;
    double *t = calloc(w->npeers, sizeof *t);
    uint32_t n = 0;
    r->all_verified = true;
    r->first_missing = UINT32_MAX;
    for (uint32_t i = 0; i < w->npeers; i++) {
        const sim_host_t *h = &w->hosts[i];
        if (!sim_peer_verified(h)) {
            r->all_verified = false;
            if (r->first_missing == UINT32_MAX)
                r->first_missing = i;
            continue;
        }
        uint64_t done = sim_peer_completed_at(h);
        if ((double)done / 1e9 > r->last_done_s)
            r->last_done_s = (double)done / 1e9;
        if (t)
            t[n++] = (double)(done - (h->started_at < done ? h->started_at : done)) / 1e9;
    }
    r->verified = w->verified;
    if (t && n) {
        qsort(t, n, sizeof *t, cmp_double);
        r->p50_s = t[(n - 1) / 2];
        r->p99_s = t[(size_t)ceil(0.99 * n) - 1];
        r->max_s = t[n - 1];
    }
    free(t);
    r->sb_s = (double)c->size * 8 / (double)c->rate_bps;
    double sum = 0;
    for (uint32_t k = 0; k < c->racks; k++) {
        double copies = (double)w->rack_in_bytes[k] / (double)c->size;
        sum += copies;
        r->fabric_copies_max = copies > r->fabric_copies_max ? copies : r->fabric_copies_max;
        r->datagrams_lost += w->rack_down[k].dropped_packets;
    }
    r->fabric_copies_per_rack = sum / c->racks;
    for (uint32_t i = 0; i < w->npeers; i++)
        r->datagrams_lost += w->hosts[i].down.dropped_packets;
    r->seeder_mcast_bytes = sim_seeder_mcast_bytes(&w->hosts[w->seeder]);
    r->seeder_tcp_bytes = w->seeder_tcp_bytes;
    r->tcp_bytes = w->tcp_bytes;
    r->announces = w->announces;
    r->sim_s = (double)sim_now(w) / 1e9;
    r->announces_per_s = r->sim_s > 0 ? (double)w->announces / r->sim_s : 0;
    r->events = w->sched.popped;
    r->hash = w->sched.hash;
    snprintf(r->violation, sizeof r->violation, "%s", w->violation);
}

static void dispose(sim_world_t *w)
{
    for (uint32_t i = 0; w->hosts && i < w->npeers + 2; i++) {
        sim_host_t *h = &w->hosts[i];
        if (i < w->npeers)
            sim_peer_stop(w, h);
        else if (i == w->seeder)
            sim_seeder_stop(w, h);
    }
    sim_tcp_dispose(w);
    for (uint32_t i = 0; w->hosts && i < w->npeers + 2; i++) {
        sim_host_t *h = &w->hosts[i];
        if (i < w->npeers)
            sim_peer_free(h);
        else if (i == w->seeder)
            sim_seeder_free(h);
        free(h->conns);
        free(h->ann_peers);
    }
    sim_tracker_stop(w);
    sim_mcast_dispose(w);
    free(w->hosts);
    free(w->rack_up);
    free(w->rack_down);
    free(w->rack_in_bytes);
    free(w->scratch);
    free(w->flushbuf);
    sim_sched_dispose(&w->sched);
}

int sim_run(const sim_config_t *cfg, sim_result_t *r)
{
    *r = (sim_result_t){0};
    int ret = check_config(cfg);
    if (ret)
        return ret;
    sim_config_t c = *cfg;
    if (!c.mcast_rate_bps)
        c.mcast_rate_bps = c.rate_bps / 100 * 95;
    sim_world_t w = {.cfg = &c};
    w.npeers = c.racks * c.hosts_per_rack;
    w.seeder = w.npeers;
    w.tracker = w.npeers + 1;
    sim_rng_seed(&w.rng, c.seed);
    make_manifest(&w);
    w.scratch_cap = CROW_WIRE_PIECE_HEADER_LEN +
                    (size_t)(c.piece_length < CROW_WIRE_MAX_BLOCK ? c.piece_length : CROW_WIRE_MAX_BLOCK);
    if (w.scratch_cap < CROW_DGRAM_HEADER_LEN + c.chunk_size)
        w.scratch_cap = CROW_DGRAM_HEADER_LEN + c.chunk_size;
    /* A flush's largest first message (handshake, bitfield, extension handshake) and then some. */
    w.flushbuf_cap = 32768 + crow_bitfield_bytes(w.m.piece_count);
    if ((ret = sim_sched_init(&w.sched)) || (ret = sim_racks_make(&w.racks, c.racks)) ||
        (ret = make_hosts(&w)) || !(w.scratch = calloc(1, w.scratch_cap)) ||
        !(w.flushbuf = malloc(w.flushbuf_cap))) {
        ret = ret ? ret : -ENOMEM;
        goto out;
    }
    w.sched.log = c.log;
    for (uint32_t i = 0; i < w.npeers + 2; i++)
        sim_at(&w, start_time(&w, i), SIM_EV_START, i, 0);
    for (uint32_t i = 0; i < c.crash_count; i++) {
        const sim_crash_t *k = &c.crashes[i];
        uint32_t host = k->who == SIM_WHO_PEER ? k->host : k->who == SIM_WHO_SEEDER ? w.seeder : w.tracker;
        sim_at(&w, k->at_ns, SIM_EV_KILL, host, k->down_ns);
    }
    sim_event_t e;
    if (c.junk_every_ns)
        sim_at(&w, c.junk_every_ns, SIM_EV_JUNK, 0, 0);
    while (!w.error && !w.violation[0] && w.verified < w.npeers && sim_sched_peek(&w.sched) <= c.limit_ns &&
           sim_sched_pop(&w.sched, &e))
        dispatch(&w, &e);
    ret = w.error;
    figures(&w, r);
out:
    dispose(&w);
    return ret;
}
