/* Probe results as tables (per step, per rack) or one JSON object. Rates are IP level (what
 * `crowcast seed --rate` means); "payload" converts them to DATA payload bits. */
#include <stdio.h>

#include "crowcast/mcast_sender.h"
#include "crowcast/units.h"
#include "probe_print.h"

static const char *where_name(int where)
{
    return where == CROW_PROBE_RACK ? "rack-wide" : where == CROW_PROBE_HOST ? "hosts" : "clean";
}

/* Payload share of an IP-level rate. */
static double payload_of(const crow_probe_table_t *t, uint64_t bps)
{
    const crow_probe_step_t *s = &t->steps[0];
    uint32_t payload = s->wire_bytes - CROW_DGRAM_HEADER_LEN - CROW_MCAST_IPV4_UDP_OVERHEAD;
    return (double)bps * payload / s->wire_bytes;
}

static uint32_t worst_loss(const crow_probe_table_t *t, uint32_t r, uint32_t s)
{
    uint32_t worst = 0;
    for (uint32_t h = 0; h < t->nhosts; h++) {
        uint32_t l = crow_probe_verdict_loss_ppm(t, h, s);
        if (t->hosts[h].rack == r && l > worst)
            worst = l;
    }
    return worst;
}

static void print_json(const crow_probe_table_t *t, uint16_t run)
{
    char host[16];
    printf("{\"run\":%u,\"loss_threshold_pct\":%.4f,\"steps\":[", run, t->loss_ppm / 1e4);
    for (uint32_t s = 0; s < t->nsteps; s++) {
        const crow_probe_step_t *st = &t->steps[s];
        printf("%s{\"step\":%u,\"rate_bps\":%llu,\"achieved_bps\":%llu,\"sent\":%llu,\"hosts\":[",
               s ? "," : "", s, (unsigned long long)st->rate_bps, (unsigned long long)st->achieved_bps,
               (unsigned long long)st->sent);
        for (uint32_t h = 0; h < t->nhosts; h++) {
            const crow_probe_cell_t *c = &t->cells[h][s];
            crow_ipv4_format(t->hosts[h].addr, host);
            printf("%s{\"host\":\"%s\",\"rack\":\"%s\",\"reported\":%s,\"received\":%llu,\"loss_pct\":%.4f,"
                   "\"usec\":%llu,\"kernel_drops\":%llu}",
                   h ? "," : "", host, t->racks[t->hosts[h].rack], c->reported ? "true" : "false",
                   (unsigned long long)c->received, crow_probe_verdict_loss_ppm(t, h, s) / 1e4,
                   (unsigned long long)c->usec, (unsigned long long)c->kernel_drops);
        }
        printf("]}");
    }
    printf("],\"racks\":[");
    for (uint32_t r = 0; r < t->nracks; r++) {
        crow_probe_rack_verdict_t v;
        crow_probe_verdict(t, r, &v);
        crow_ipv4_format(v.fail_step >= 0 ? t->hosts[v.worst_host].addr : 0, host);
        printf(
            "%s{\"rack\":\"%s\",\"hosts\":%u,\"limit_bps\":%llu,\"limit_payload_bps\":%.0f,\"fail_step\":%d,"
            "\"fail_bps\":%llu,\"where\":\"%s\",\"hosts_over\":%u,\"worst_host\":\"%s\",\"worst_loss_pct\":%."
            "4f,"
            "\"delivered_bps\":%llu,\"kernel_drops\":%llu,\"flukes\":%u}",
            r ? "," : "", t->racks[r], v.hosts, (unsigned long long)v.limit_bps, payload_of(t, v.limit_bps),
            v.fail_step, (unsigned long long)v.fail_bps, where_name(v.where), v.hosts_over, host,
            v.worst_loss_ppm / 1e4, (unsigned long long)v.delivered_bps, (unsigned long long)v.kernel_drops,
            v.flukes);
    }
    printf("]}\n");
}

static void print_tables(const crow_probe_table_t *t)
{
    char a[32], b[32], c[32], d[32];
    printf("%-5s %14s %14s", "STEP", "RATE", "ACHIEVED");
    for (uint32_t r = 0; r < t->nracks; r++)
        printf("  %10.10s", t->racks[r]);
    printf("   (worst loss of a host in the rack)\n");
    for (uint32_t s = 0; s < t->nsteps; s++) {
        printf("%-5u %14s %14s", s, crow_format_rate((double)t->steps[s].rate_bps, a, sizeof a),
               crow_format_rate((double)t->steps[s].achieved_bps, b, sizeof b));
        for (uint32_t r = 0; r < t->nracks; r++)
            printf("  %9.2f%%", worst_loss(t, r, s) / 1e4);
        printf("\n");
    }
    printf("\n%-10s %5s %14s %14s %14s %8s %-10s %14s %s\n", "RACK", "HOSTS", "LIMIT", "PAYLOAD", "LOSS FROM",
           "LOSS", "WHERE", "DELIVERED", "NOTES");
    for (uint32_t r = 0; r < t->nracks; r++) {
        crow_probe_rack_verdict_t v;
        crow_probe_verdict(t, r, &v);
        printf("%-10s %5u %14s %14s", t->racks[r], v.hosts,
               crow_format_rate((double)v.limit_bps, a, sizeof a),
               crow_format_rate(payload_of(t, v.limit_bps), b, sizeof b));
        if (v.fail_step < 0) {
            printf(" %14s %8s %-10s %14s", "-", "-", "clean", "-");
        } else {
            printf(" %14s %7.2f%% %-10s %14s", crow_format_rate((double)v.fail_bps, c, sizeof c),
                   v.worst_loss_ppm / 1e4, where_name(v.where),
                   crow_format_rate((double)v.delivered_bps, d, sizeof d));
            if (v.where == CROW_PROBE_HOST) {
                char host[16];
                crow_ipv4_format(t->hosts[v.worst_host].addr, host);
                printf(" %u of %u hosts, worst %s;", v.hosts_over, v.hosts, host);
            }
        }
        if (v.kernel_drops)
            printf(" %llu kernel drops (receive buffers);", (unsigned long long)v.kernel_drops);
        if (v.flukes)
            printf(" %u isolated lossy steps below the limit;", v.flukes);
        printf("\n");
    }
    printf("\nLIMIT: highest rate (IP level, per group) every host of the rack took with loss <= %.2f%%;\n"
           "LOSS FROM: the first of two lossy steps in a row; DELIVERED: median rate that reached the\n"
           "rack's hosts in that step (the bottleneck's capacity when it was the uplink).\n",
           t->loss_ppm / 1e4);
}

bool crow_probe_print(const crow_probe_table_t *t, uint16_t run, bool json)
{
    bool any = false;
    for (uint32_t h = 0; h < t->nhosts; h++)
        for (uint32_t s = 0; s < t->nsteps; s++)
            any |= t->cells[h][s].reported;
    if (json)
        print_json(t, run);
    else
        print_tables(t);
    fflush(stdout);
    return any;
}
