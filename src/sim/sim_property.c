/* The property check's random datacenters: a scenario drawn from a seed (racks, hosts, size, rate,
 * loss model, start order, one crash), the bound its last peer must be verified by, and the command
 * line that replays it. */
#include <stdio.h>
#include <string.h>

#include "sim_property.h"

void sim_property_config(uint64_t seed, sim_config_t *c)
{
    sim_rng_t r;
    sim_rng_seed(&r, seed ^ 0x70726f7065727479ull);
    sim_config_default(c);
    c->seed = seed;
    c->racks = 1 + (uint32_t)sim_rng_below(&r, 5);
    c->hosts_per_rack = 1 + (uint32_t)sim_rng_below(&r, 8);
    static const uint32_t pieces[] = {256u << 10, 1u << 20};
    static const uint32_t chunks[] = {1408, 8192, 16384};
    c->piece_length = pieces[sim_rng_below(&r, 2)];
    c->chunk_size = chunks[sim_rng_below(&r, 3)];
    c->size = (64u << 10) + sim_rng_below(&r, 16u << 20);
    c->rate_bps = sim_rng_below(&r, 2) ? 10000000000ull : 1000000000ull;
    uint32_t hosts = c->racks * c->hosts_per_rack;
    switch (sim_rng_below(&r, 5)) {
    case 1:
        c->loss.host = (sim_loss_t){.kind = SIM_LOSS_RANDOM, .p = 0.001 + 0.02 * sim_rng_unit(&r)};
        break;
    case 2:
        c->loss.host = (sim_loss_t){.kind = SIM_LOSS_GE, .p_gb = 0.001, .p_bg = 0.1, .loss_bad = 0.5};
        break;
    case 3:
        c->loss.rack = (uint32_t)sim_rng_below(&r, c->racks);
        c->loss.rack_loss = (sim_loss_t){.kind = SIM_LOSS_RANDOM, .p = 0.01 + 0.1 * sim_rng_unit(&r)};
        break;
    case 4:
        c->loss.slow_host = (uint32_t)sim_rng_below(&r, hosts);
        c->loss.slow_factor = 0.3 + 0.5 * sim_rng_unit(&r);
        break;
    default:
        break;
    }
    c->start_order = (enum sim_start_order)sim_rng_below(&r, 4);
    c->spread_ns = sim_rng_below(&r, 4 * SIM_NS);
    double sb = (double)c->size * 8 / (double)c->rate_bps;
    sim_crash_t *k = &c->crashes[0];
    c->crash_count = 1;
    k->who = (enum sim_who)sim_rng_below(&r, 3);
    k->host = (uint32_t)sim_rng_below(&r, hosts);
    k->at_ns = sim_rng_below(&r, (uint64_t)(2 * sb * 1e9) + c->spread_ns + SIM_NS);
    k->down_ns = SIM_NS / 2 + sim_rng_below(&r, 5 * SIM_NS);
    c->limit_ns = 600 * SIM_NS;
    c->tracker_dark = sim_rng_below(&r, 2); /* drawn after the rest: the draws above keep their values */
    /* Half the datacenters have a stray sender on the group (another session, or junk), more often
     * than a peer's 3 s of silence: drawn last, for the same reason. */
    if (sim_rng_below(&r, 2))
        c->junk_every_ns = SIM_NS / 10 + sim_rng_below(&r, 2 * SIM_NS);
}

double sim_property_bound_s(const sim_config_t *c)
{
    /* S/B for the bytes, with room for repair at a tenth of the rate; the timeouts of the protocol
     * (a silent stream 3 s, the tracker's announce backoff up to 16 s, a rack's chain head's
     * patience 10 s, the seeder waiting for peers) and the scenario's own start spread and downtime. */
    double sb = (double)c->size * 8 / (double)c->rate_bps, down = 0;
    for (uint32_t i = 0; i < c->crash_count; i++)
        down += (double)(c->crashes[i].at_ns + c->crashes[i].down_ns) / 1e9;
    return 10 * sb + (double)c->spread_ns / 1e9 + down + 60;
}

static int loss_text(const sim_loss_spec_t *l, char *buf, size_t cap)
{
    int n = 0;
    const sim_loss_t *h = &l->host;
    if (h->kind == SIM_LOSS_RANDOM)
        n += snprintf(buf + n, cap - (size_t)n, "random:%.17g,", h->p);
    else if (h->kind == SIM_LOSS_GE)
        n += snprintf(buf + n, cap - (size_t)n, "ge:%.17g:%.17g:%.17g,", h->p_gb, h->p_bg, h->loss_bad);
    if (l->rack != UINT32_MAX)
        n += snprintf(buf + n, cap - (size_t)n, "rack:%u:%.17g,", l->rack, l->rack_loss.p);
    if (l->slow_host != UINT32_MAX)
        n += snprintf(buf + n, cap - (size_t)n, "slow:%u:%.17g,", l->slow_host, l->slow_factor);
    if (n == 0)
        n = snprintf(buf, cap, "none,");
    buf[n - 1] = '\0';
    return n - 1;
}

int sim_property_command(const sim_config_t *c, char *buf, size_t cap)
{
    static const char *const orders[] = {"together", "seeder-first", "seeder-last", "random"};
    char loss[256];
    loss_text(&c->loss, loss, sizeof loss);
    int n =
        snprintf(buf, cap,
                 "crowcast sim --racks %u --hosts-per-rack %u --size %llu --piece-size %u --chunk-size %u "
                 "--rate %llu --loss %s --start-order %s --spread %.9f --seed %llu --limit %.0f",
                 c->racks, c->hosts_per_rack, (unsigned long long)c->size, c->piece_length, c->chunk_size,
                 (unsigned long long)c->rate_bps, loss, orders[c->start_order], (double)c->spread_ns / 1e9,
                 (unsigned long long)c->seed, (double)c->limit_ns / 1e9);
    if (c->tracker_dark && n > 0 && (size_t)n < cap)
        n += snprintf(buf + n, cap - (size_t)n, " --tracker-dark");
    if (c->junk_every_ns && n > 0 && (size_t)n < cap)
        n += snprintf(buf + n, cap - (size_t)n, " --junk %.9f", (double)c->junk_every_ns / 1e9);
    if (c->fault_linger0 && n > 0 && (size_t)n < cap)
        n += snprintf(buf + n, cap - (size_t)n, " --fault linger0");
    if (c->fault_junk && n > 0 && (size_t)n < cap)
        n += snprintf(buf + n, cap - (size_t)n, " --fault junk");
    if (c->fault_two_heads && n > 0 && (size_t)n < cap)
        n += snprintf(buf + n, cap - (size_t)n, " --fault two-heads");
    for (uint32_t i = 0; i < c->crash_count && n > 0 && (size_t)n < cap; i++) {
        const sim_crash_t *k = &c->crashes[i];
        char who[32];
        if (k->who == SIM_WHO_PEER)
            snprintf(who, sizeof who, "peer:%u", k->host);
        else
            snprintf(who, sizeof who, "%s", k->who == SIM_WHO_SEEDER ? "seeder" : "tracker");
        n += snprintf(buf + n, cap - (size_t)n, " --crash %s@%.9f+%.9f", who, (double)k->at_ns / 1e9,
                      (double)k->down_ns / 1e9);
    }
    return n;
}
