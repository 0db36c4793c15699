/* Per-address connection counts and request buckets in an open-addressing table (see addr_limits.h). */
#include <errno.h>
#include <stdlib.h>

#include "crowcast/addr_limits.h"

#define PROBES 16

struct slot {
    uint32_t addr;
    uint32_t conns;   /* open connections admitted */
    double tokens;    /* requests left in the bucket at last_ms */
    uint64_t last_ms; /* 0: never used */
    bool refusing[2]; /* per limit (connections, rate): the last check refused, so the next refusal
                       * needs no new log line */
};

struct crow_addr_limits {
    crow_addr_limits_config_t cfg;
    struct slot *slots;
};

int crow_addr_limits_new(crow_addr_limits_t **out, const crow_addr_limits_config_t *cfg)
{
    crow_addr_limits_t *l = calloc(1, sizeof *l);
    if (!l || !(l->slots = calloc(CROW_ADDR_LIMITS_SLOTS, sizeof *l->slots))) {
        free(l);
        return -ENOMEM;
    }
    l->cfg = *cfg;
    if (l->cfg.burst <= 0)
        l->cfg.burst = l->cfg.rate > 1 ? l->cfg.rate : 1;
    *out = l;
    return 0;
}

void crow_addr_limits_free(crow_addr_limits_t *l)
{
    if (l)
        free(l->slots);
    free(l);
}

static double refilled(const crow_addr_limits_t *l, const struct slot *s, uint64_t now_ms)
{
    if (l->cfg.rate <= 0)
        return l->cfg.burst;
    double t =
        s->tokens + (double)(now_ms - (now_ms > s->last_ms ? s->last_ms : now_ms)) / 1000.0 * l->cfg.rate;
    return t < l->cfg.burst ? t : l->cfg.burst;
}

/* The slot of addr, or a reusable one taken for it (NULL: none in range). */
static struct slot *slot_of(crow_addr_limits_t *l, uint32_t addr, uint64_t now_ms)
{
    uint32_t at = (addr * 2654435761u) % CROW_ADDR_LIMITS_SLOTS; /* Knuth's multiplicative hash */
    struct slot *spare = NULL;
    for (unsigned i = 0; i < PROBES; i++) {
        struct slot *s = &l->slots[(at + i) % CROW_ADDR_LIMITS_SLOTS];
        if (s->last_ms && s->addr == addr)
            return s;
        bool idle = !s->last_ms || (s->conns == 0 && refilled(l, s, now_ms) >= l->cfg.burst);
        if (idle && !spare)
            spare = s;
    }
    if (spare)
        *spare = (struct slot){.addr = addr, .tokens = l->cfg.burst, .last_ms = now_ms ? now_ms : 1};
    return spare;
}

static enum crow_addr_verdict verdict(struct slot *s, int limit, bool ok)
{
    bool first = !ok && !s->refusing[limit];
    s->refusing[limit] = !ok;
    return ok ? CROW_ADDR_OK : first ? CROW_ADDR_REFUSED_FIRST : CROW_ADDR_REFUSED;
}

enum crow_addr_verdict crow_addr_limits_open(crow_addr_limits_t *l, uint32_t addr, uint64_t now_ms)
{
    struct slot *s = slot_of(l, addr, now_ms);
    if (!s)
        return CROW_ADDR_OK;
    bool ok = !l->cfg.max_conns || s->conns < l->cfg.max_conns;
    s->conns += ok;
    return verdict(s, 0, ok);
}

void crow_addr_limits_close(crow_addr_limits_t *l, uint32_t addr)
{
    if (!l)
        return;
    uint32_t at = (addr * 2654435761u) % CROW_ADDR_LIMITS_SLOTS;
    for (unsigned i = 0; i < PROBES; i++) {
        struct slot *s = &l->slots[(at + i) % CROW_ADDR_LIMITS_SLOTS];
        if (s->last_ms && s->addr == addr) {
            s->conns -= s->conns > 0;
            return;
        }
    }
}

enum crow_addr_verdict crow_addr_limits_request(crow_addr_limits_t *l, uint32_t addr, uint64_t now_ms)
{
    if (l->cfg.rate <= 0)
        return CROW_ADDR_OK;
    struct slot *s = slot_of(l, addr, now_ms);
    if (!s)
        return CROW_ADDR_OK;
    s->tokens = refilled(l, s, now_ms);
    s->last_ms = now_ms > s->last_ms ? now_ms : s->last_ms;
    bool ok = s->tokens >= 1;
    s->tokens -= ok;
    return verdict(s, 1, ok);
}
