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
    p->stray = false;
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
        if (!p->stray)
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
        uint32_t from = p->stray ? 0x0afffe01u /* 10.255.254.1 */ : w->hosts[w->seeder].addr;
        uint64_t source = (uint64_t)from << 16 | SIM_PORT;
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

void sim_mcast_junk_event(sim_world_t *w)
{
    crow_mcast_tx_t tx = {.type = CROW_DGRAM_BEACON, .bytes_len = CROW_DGRAM_HEADER_LEN};
    if (w->junk_sent % 2 == 0) {
        for (size_t k = 0; k < tx.bytes_len; k++) /* no payload: the junk is these bytes */
            tx.bytes[k] = (uint8_t)sim_rng_below(&w->rng, 256);
    } else {
        /* The release's own session id with its top bit flipped: a stream of another release. */
        uint32_t len = crow_manifest_piece_size(&w->m, 0);
        crow_dgram_t d = {.type = CROW_DGRAM_DATA,
                          .length = (uint16_t)(len < w->cfg->chunk_size ? len : w->cfg->chunk_size),
                          .session = crow_dgram_session_of(w->m.release_id) ^ 1ull << 63,
                          .seq = w->junk_sent / 2};
        crow_dgram_encode_header(tx.bytes, &d);
        tx.type = CROW_DGRAM_DATA;
        tx.length = d.length;
    }
    w->junk_sent++;
    uint32_t i = packet_new(w, &tx);
    if (i != UINT32_MAX) {
        w->packets[i].stray = true;
        w->packets[i].refs = 1;
        fabric(w, i); /* it comes from a host on the fabric, beside the seeder */
    }
    sim_at(w, sim_now(w) + w->cfg->junk_every_ns, SIM_EV_JUNK, 0, 0);
}

void sim_mcast_dispose(sim_world_t *w)
{
    free(w->packets);
    free(w->free_packets);
    w->packets = NULL;
    w->free_packets = NULL;
}
