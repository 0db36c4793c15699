/* The simulator's scenario arguments: loss models, start orders, crashes (crowcast sim's --loss,
 * --start-order, --crash), and the defaults of a run. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_world.h"

void sim_config_default(sim_config_t *c)
{
    *c = (sim_config_t){
        .racks = 2,
        .hosts_per_rack = 4,
        .size = 64ull << 20,
        .piece_length = 1u << 20,
        .chunk_size = 8192,
        .rate_bps = 10000000000ull,
        .host_queue_bytes = 8u << 20,
        .loss = {.rack = UINT32_MAX, .slow_host = UINT32_MAX},
        .start_order = SIM_START_TOGETHER,
        .spread_ns = 2 * SIM_NS,
        .seed_time_ns = 60 * SIM_NS,
        .limit_ns = 3600 * SIM_NS,
        .seed = 1,
        .trace_host = UINT32_MAX,
    };
}

/* Numbers separated by ':' after a "name:" prefix; returns how many were read (at most max). */
static int numbers(const char *text, double *out, int max)
{
    int n = 0;
    while (*text == ':' && n < max) {
        char *end;
        out[n++] = strtod(text + 1, &end);
        if (end == text + 1)
            return -1;
        text = end;
    }
    return *text ? -1 : n;
}

static bool is_share(double p)
{
    return p >= 0 && p <= 1;
}

static int loss_item(sim_loss_spec_t *out, const char *item)
{
    double v[3];
    if (strcmp(item, "none") == 0)
        return 0;
    if (strncmp(item, "random", 6) == 0 && numbers(item + 6, v, 3) == 1 && is_share(v[0])) {
        out->host = (sim_loss_t){.kind = SIM_LOSS_RANDOM, .p = v[0]};
        return 0;
    }
    if (strncmp(item, "ge", 2) == 0 && numbers(item + 2, v, 3) == 3 && is_share(v[0]) && is_share(v[1]) &&
        is_share(v[2])) {
        out->host = (sim_loss_t){.kind = SIM_LOSS_GE, .p_gb = v[0], .p_bg = v[1], .loss_bad = v[2]};
        return 0;
    }
    if (strncmp(item, "rack", 4) == 0 && numbers(item + 4, v, 3) == 2 && v[0] >= 0 && is_share(v[1])) {
        out->rack = (uint32_t)v[0];
        out->rack_loss = (sim_loss_t){.kind = SIM_LOSS_RANDOM, .p = v[1]};
        return 0;
    }
    if (strncmp(item, "slow", 4) == 0 && numbers(item + 4, v, 3) == 2 && v[0] >= 0 && v[1] > 0 && v[1] <= 1) {
        out->slow_host = (uint32_t)v[0];
        out->slow_factor = v[1];
        return 0;
    }
    return -EINVAL;
}

int sim_loss_parse(sim_loss_spec_t *out, const char *text)
{
    *out = (sim_loss_spec_t){.rack = UINT32_MAX, .slow_host = UINT32_MAX};
    char buf[256];
    size_t len = strlen(text);
    if (len >= sizeof buf || !len || text[0] == ',' || text[len - 1] == ',' || strstr(text, ",,"))
        return -EINVAL; /* an empty item */
    strcpy(buf, text);
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save))
        if (loss_item(out, item))
            return -EINVAL;
    return 0;
}

int sim_start_parse(enum sim_start_order *out, const char *text)
{
    static const char *const names[] = {"together", "seeder-first", "seeder-last", "random"};
    for (int i = 0; i < 4; i++)
        if (strcmp(text, names[i]) == 0) {
            *out = (enum sim_start_order)i;
            return 0;
        }
    return -EINVAL;
}

int sim_crash_parse(sim_crash_t *out, const char *text)
{
    *out = (sim_crash_t){0};
    const char *at = strchr(text, '@');
    if (!at)
        return -EINVAL;
    size_t who = (size_t)(at - text);
    if (who == 6 && strncmp(text, "seeder", 6) == 0) {
        out->who = SIM_WHO_SEEDER;
    } else if (who == 7 && strncmp(text, "tracker", 7) == 0) {
        out->who = SIM_WHO_TRACKER;
    } else if (who > 5 && strncmp(text, "peer:", 5) == 0) {
        char *end;
        unsigned long h = strtoul(text + 5, &end, 10);
        if (end != at || h > UINT32_MAX)
            return -EINVAL;
        out->who = SIM_WHO_PEER;
        out->host = (uint32_t)h;
    } else {
        return -EINVAL;
    }
    char *end;
    double t = strtod(at + 1, &end);
    if (end == at + 1 || *end != '+' || t < 0)
        return -EINVAL;
    const char *plus = end + 1;
    double d = strtod(plus, &end);
    if (end == plus || *end || d < 0)
        return -EINVAL;
    out->at_ns = (uint64_t)llround(t * 1e9); /* a replayed command gives back the very nanosecond */
    out->down_ns = (uint64_t)llround(d * 1e9);
    return 0;
}
