/* Multicast through the simulated fabric: the seeder's NIC, then one copy to every rack's switch
 * (the rack's downlink from the fabric, where a rack-wide loss sits), then one copy to each host of
 * the rack (its NIC, where a host's own loss and its receive buffer's overflow sit). A datagram is
 * kept once, in a slot with a count of the deliveries still pending; its payload is never stored:
 * the receiving engine gets the header and a scratch buffer's bytes behind it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim_world.h"

static uint32_t packet_new(sim_world_t *w, const crow_mcast_tx_t *tx)
{
    uint32_t i;
    if (w->nfree) {
        i = w->free_packets[--w->nfree];
    } else {
        if (w->npackets == w->packets_cap) {
            uint32_t cap = w->packets_cap ? 2 * w->packets_cap : 1024;
            sim_packet_t *p = realloc(w->packets, cap * sizeof *p);
            uint32_t *f = realloc(w->free_packets, cap * sizeof *f);
            if (p)
                w->packets = p;
            if (f)
                w->free_packets = f;
            if (!p || !f) {
                sim_fail(w, -ENOMEM);
                return UINT32_MAX;
            }
            w->packets_cap = cap;
        }
        i = w->npackets++;
    }
    sim_packet_t *p = &w->packets[i];
    memcpy(p->bytes, tx->bytes, tx->bytes_len);
    p->bytes_len = tx->bytes_len;
    p->payload_len = tx->type == CROW_DGRAM_DATA ? tx->length : 0;
    p->refs = 0;
    return i;
}

static void packet_unref(sim_world_t *w, uint32_t i)
{
    if (--w->packets[i].refs == 0)
        w->free_packets[w->nfree++] = i;
}

static uint64_t packet_size(const sim_packet_t *p)
{
    return (uint64_t)p->bytes_len + p->payload_len + CROW_MCAST_IPV4_UDP_OVERHEAD;
}

void sim_mcast_send(sim_world_t *w, const crow_mcast_tx_t *tx)
{
    uint32_t i = packet_new(w, tx);
    if (i == UINT32_MAX)
        return;
    sim_packet_t *p = &w->packets[i];
    /* The seeder's socket takes what its own pacing hands it: its NIC queues, never drops. */
    uint64_t t = sim_link_offer(&w->hosts[w->seeder].up, sim_now(w), packet_size(p), false, NULL);
    p->refs = 1;
    sim_at(w, t, SIM_EV_MC_FABRIC, 0, i);
}

static void fabric(sim_world_t *w, uint32_t i)
{
    sim_packet_t *p = &w->packets[i];
    for (uint32_t r = 0; r < w->racks.count; r++) {
        uint64_t t = sim_link_offer(&w->rack_down[r], sim_now(w), packet_size(p), true, &w->rng);
        if (t == SIM_DROPPED)
            continue;
        w->rack_in_bytes[r] += p->payload_len;
        p->refs++;
        sim_at(w, t, SIM_EV_MC_RACK, r, i);
    }
    packet_unref(w, i);
}

static void rack(sim_world_t *w, uint32_t r, uint32_t i)
{
    sim_packet_t *p = &w->packets[i];
    uint32_t per = w->cfg->hosts_per_rack;
    for (uint32_t k = 0; k < per; k++) {
        sim_host_t *h = &w->hosts[r * per + k];
        /* A host that is down still has a switch port: its NIC drops the datagram. */
        if (!h->alive)
            continue;
        uint64_t t = sim_link_offer(&h->down, sim_now(w), packet_size(p), true, &w->rng);
        if (t == SIM_DROPPED)
            continue;
        p->refs++;
        sim_at(w, t, SIM_EV_MC_HOST, h->index, i);
    }
    packet_unref(w, i);
}

static void deliver(sim_world_t *w, uint32_t host, uint32_t i)
{
    sim_host_t *h = &w->hosts[host];
    sim_packet_t *p = &w->packets[i];
    if (h->alive) {
        /* The payload's bytes are whatever the scratch holds: nothing hashes them. */
        size_t len = p->bytes_len + p->payload_len;
        memcpy(w->scratch, p->bytes, p->bytes_len);
        uint64_t source = (uint64_t)w->hosts[w->seeder].addr << 16 | SIM_PORT;
        sim_peer_datagram(w, h, w->scratch, len, source);
    }
    packet_unref(w, i);
}

void sim_mcast_event(sim_world_t *w, const sim_event_t *e)
{
    uint32_t i = (uint32_t)e->arg;
    switch (e->kind) {
    case SIM_EV_MC_FABRIC:
        fabric(w, i);
        break;
    case SIM_EV_MC_RACK:
        rack(w, e->obj, i);
        break;
    case SIM_EV_MC_HOST:
        deliver(w, e->obj, i);
        break;
    default:
        break;
    }
}

void sim_mcast_dispose(sim_world_t *w)
{
    free(w->packets);
    free(w->free_packets);
    w->packets = NULL;
    w->free_packets = NULL;
}
