/* When a seeder may leave; the rules are in crowcast/seeder_policy.h. */
#include "crowcast/seeder_policy.h"

#define DEFAULT_INTERVAL_NS 30000000000ull

void crow_seeder_policy_init(crow_seeder_policy_t *p, const crow_seeder_policy_config_t *cfg, uint64_t now)
{
    *p = (crow_seeder_policy_t){
        .cfg = *cfg,
        .interval_ns = DEFAULT_INTERVAL_NS,
        .next_announce = cfg->tracker ? now : UINT64_MAX,
        .last_busy = now,
    };
}

void crow_seeder_policy_passes_done(crow_seeder_policy_t *p, uint64_t now)
{
    if (p->passes_done)
        return;
    p->passes_done = true;
    p->passes_done_at = p->last_busy = now;
    /* From now on the tracker's counts decide when to leave: ask for them often. */
    if (p->cfg.tracker)
        p->next_announce = now;
}

static uint64_t period(const crow_seeder_policy_t *p)
{
    return p->passes_done ? CROW_SEEDER_POLL_NS : p->interval_ns;
}

void crow_seeder_policy_announced(crow_seeder_policy_t *p, uint64_t now)
{
    p->next_announce = now + period(p);
}

void crow_seeder_policy_tracker_answer(crow_seeder_policy_t *p, uint64_t now, uint32_t interval_s,
                                       int64_t complete, int64_t incomplete)
{
    if (interval_s)
        p->interval_ns = (uint64_t)interval_s * 1000000000ull;
    if (incomplete > 0 || complete > 1)
        p->swarm_seen = true;
    if (incomplete != 0 || !p->swarm_seen || !p->passes_done)
        p->quiet_since = 0;
    else if (!p->quiet_since)
        p->quiet_since = now;
}

void crow_seeder_policy_tracker_failed(crow_seeder_policy_t *p, uint64_t now)
{
    p->next_announce = now + CROW_SEEDER_POLL_NS;
}

enum crow_seeder_verdict crow_seeder_policy_tick(crow_seeder_policy_t *p, uint64_t now, unsigned connections,
                                                 bool *announce)
{
    *announce = p->cfg.tracker && now >= p->next_announce;
    if (connections)
        p->last_busy = now;
    if (!p->passes_done)
        return CROW_SEEDER_STAY;
    if (!p->cfg.serves_tcp)
        return CROW_SEEDER_STOP_NO_TCP;
    if (p->cfg.linger_ns < 0)
        return CROW_SEEDER_STAY;
    if (p->cfg.linger_ns == 0)
        return CROW_SEEDER_STOP_NO_LINGER;
    if (p->cfg.tracker && p->quiet_since && now - p->quiet_since >= CROW_SEEDER_QUIET_NS)
        return CROW_SEEDER_STOP_COMPLETE;
    if (!p->cfg.tracker && now - p->last_busy >= CROW_SEEDER_IDLE_NS)
        return CROW_SEEDER_STOP_IDLE;
    if (now - p->passes_done_at >= (uint64_t)p->cfg.linger_ns)
        return CROW_SEEDER_STOP_LINGER_OVER;
    return CROW_SEEDER_STAY;
}

const char *crow_seeder_stop_reason(enum crow_seeder_verdict v)
{
    switch (v) {
    case CROW_SEEDER_STAY:
        return "staying";
    case CROW_SEEDER_STOP_NO_TCP:
        return "the passes are over and no TCP is served";
    case CROW_SEEDER_STOP_NO_LINGER:
        return "the passes are over (--linger 0)";
    case CROW_SEEDER_STOP_COMPLETE:
        return "the tracker reports every peer of the release complete";
    case CROW_SEEDER_STOP_IDLE:
        return "no peer has been connected for 15 s";
    case CROW_SEEDER_STOP_LINGER_OVER:
        return "--linger ran out";
    }
    return "?";
}
