/* The probe's verdict per rack: the highest rate every host of the rack took with loss at or below
 * the threshold, and whether loss beyond it hit the whole rack (uplink) or single hosts. No I/O. */
#include <stdlib.h>
#include <string.h>

#include "crowcast/probe.h"

uint32_t crow_probe_verdict_loss_ppm(const crow_probe_table_t *t, uint32_t h, uint32_t s)
{
    const crow_probe_cell_t *c = &t->cells[h][s];
    uint64_t sent = t->steps[s].sent;
    if (!c->reported)
        return 1000000;
    if (sent == 0 || c->received >= sent)
        return 0;
    return (uint32_t)((sent - c->received) * 1000000 / sent);
}

/* Whether some host of rack r lost more than the threshold in step s. */
static bool step_fails(const crow_probe_table_t *t, uint32_t r, uint32_t s)
{
    for (uint32_t h = 0; h < t->nhosts; h++)
        if (t->hosts[h].rack == r && crow_probe_verdict_loss_ppm(t, h, s) > t->loss_ppm)
            return true;
    return false;
}

/* The first step that fails with the next one failing too (or that fails last); -1 if none. */
static int32_t first_failure(const crow_probe_table_t *t, uint32_t r, bool confirmed_only)
{
    for (uint32_t s = 0; s < t->nsteps; s++) {
        if (!step_fails(t, r, s))
            continue;
        if (s + 1 < t->nsteps ? step_fails(t, r, s + 1) : !confirmed_only)
            return (int32_t)s;
    }
    return -1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The IP-level rate that reached host h in step s: datagrams received over its receive span. */
static uint64_t delivered(const crow_probe_table_t *t, uint32_t h, uint32_t s)
{
    const crow_probe_cell_t *c = &t->cells[h][s];
    if (!c->reported || c->usec == 0)
        return 0;
    return (uint64_t)((double)c->received * t->steps[s].wire_bytes * 8 * 1e6 / (double)c->usec);
}

static void judge_failure(const crow_probe_table_t *t, uint32_t r, crow_probe_rack_verdict_t *v)
{
    uint32_t s = (uint32_t)v->fail_step;
    uint64_t rates[CROW_PROBE_MAX_HOSTS];
    uint32_t n = 0;
    v->fail_bps = t->steps[s].achieved_bps;
    for (uint32_t h = 0; h < t->nhosts; h++) {
        if (t->hosts[h].rack != r)
            continue;
        uint32_t loss = crow_probe_verdict_loss_ppm(t, h, s);
        if (loss > t->loss_ppm)
            v->hosts_over++;
        if (n == 0 || loss > v->worst_loss_ppm) {
            v->worst_loss_ppm = loss;
            v->worst_host = h;
        }
        v->kernel_drops += t->cells[h][s].kernel_drops;
        rates[n++] = delivered(t, h, s);
    }
    qsort(rates, n, sizeof rates[0], cmp_u64);
    v->delivered_bps = rates[n / 2];
    v->where = v->hosts_over == v->hosts && v->hosts >= 2 ? CROW_PROBE_RACK : CROW_PROBE_HOST;
}

void crow_probe_verdict(const crow_probe_table_t *t, uint32_t r, crow_probe_rack_verdict_t *out)
{
    memset(out, 0, sizeof *out);
    for (uint32_t h = 0; h < t->nhosts; h++)
        out->hosts += t->hosts[h].rack == r;
    out->fail_step = out->hosts ? first_failure(t, r, false) : -1;
    uint32_t end = out->fail_step >= 0 ? (uint32_t)out->fail_step : t->nsteps;
    for (uint32_t s = 0; out->hosts && s < end; s++) {
        if (step_fails(t, r, s))
            out->flukes++;
        else if (t->steps[s].achieved_bps > out->limit_bps)
            out->limit_bps = t->steps[s].achieved_bps;
    }
    if (out->fail_step >= 0)
        judge_failure(t, r, out);
}

bool crow_probe_verdict_all_failed(const crow_probe_table_t *t)
{
    bool any = false;
    for (uint32_t r = 0; r < t->nracks; r++) {
        bool has_hosts = false;
        for (uint32_t h = 0; h < t->nhosts && !has_hosts; h++)
            has_hosts = t->hosts[h].rack == r;
        if (!has_hosts)
            continue;
        if (first_failure(t, r, true) < 0)
            return false;
        any = true;
    }
    return any;
}
