/* FIFO links computed at offer time, and per-packet loss models. */
#include "sim_link.h"

void sim_link_init(sim_link_t *l, uint64_t rate_bps, uint64_t delay_ns, uint64_t queue_bytes)
{
    *l = (sim_link_t){.rate_bps = rate_bps ? rate_bps : 1, .delay_ns = delay_ns, .queue_bytes = queue_bytes};
}

uint64_t sim_link_serialise_ns(const sim_link_t *l, uint64_t bytes)
{
    return (uint64_t)(((unsigned __int128)bytes * 8000000000ull + l->rate_bps - 1) / l->rate_bps);
}

bool sim_loss_drop(sim_loss_t *m, sim_rng_t *rng)
{
    bool drop = false;
    switch (m->kind) {
    case SIM_LOSS_RANDOM:
        drop = sim_rng_unit(rng) < m->p;
        break;
    case SIM_LOSS_GE:
        m->bad = m->bad ? sim_rng_unit(rng) >= m->p_bg : sim_rng_unit(rng) < m->p_gb;
        drop = sim_rng_unit(rng) < (m->bad ? m->loss_bad : m->loss_good);
        break;
    default:
        break;
    }
    m->dropped += drop;
    return drop;
}

uint64_t sim_link_offer(sim_link_t *l, uint64_t now, uint64_t bytes, bool droppable, sim_rng_t *rng)
{
    uint64_t start = l->free_at > now ? l->free_at : now;
    if (droppable) {
        /* Bytes still waiting before this packet can start. */
        uint64_t backlog = (uint64_t)(((unsigned __int128)(start - now) * l->rate_bps) / 8000000000ull);
        if (backlog + bytes > l->queue_bytes || sim_loss_drop(&l->loss, rng)) {
            l->dropped_packets++;
            return SIM_DROPPED;
        }
    }
    l->free_at = start + sim_link_serialise_ns(l, bytes);
    l->sent_bytes += bytes;
    l->sent_packets++;
    return l->free_at + l->delay_ns;
}
