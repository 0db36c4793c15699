/* When a seeder may leave; the rules are in crowcast/seeder_policy.h. */
#include "crowcast/seeder_policy.h"
#include "crowcast/stream_need.h"

#define DEFAULT_INTERVAL_NS 30000000000ull

void crow_seeder_policy_init(crow_seeder_policy_t *p, const crow_seeder_policy_config_t *cfg, uint64_t now)
{
    *p = (crow_seeder_policy_t){
        .cfg = *cfg,
        .interval_ns = DEFAULT_INTERVAL_NS,
        .next_announce = cfg->tracker ? now : UINT64_MAX,
        .last_busy = now,
        .started_at = now,
        .incomplete = -1,
        .passes_done = cfg->tcp_only,
        .passes_done_at = now,
    };
}

/* Time from `from` to now; 0 when an event was stamped later than the tick's `now` (a caller that
 * read the clock before an event it caused inside the same tick). */
static uint64_t since(uint64_t now, uint64_t from)
{
    return now > from ? now - from : 0;
}

enum crow_seeder_start crow_seeder_policy_may_start(const crow_seeder_policy_t *p, uint64_t now)
{
    if (!p->cfg.tracker || p->cfg.wait_peers_ns == 0)
        return CROW_SEEDER_START_AT_ONCE;
    if (p->incomplete > 0 && p->has_need)
        return CROW_SEEDER_START_PEERS;
    if (p->incomplete > 0 && p->peers_at && since(now, p->peers_at) >= CROW_SEEDER_MAP_WAIT_NS)
        return CROW_SEEDER_START_NO_MAP;
    if (p->incomplete > 0)
        return CROW_SEEDER_START_WAIT; /* for the peers' maps */
    if (p->cfg.wait_peers_ns > 0 && now - p->started_at >= (uint64_t)p->cfg.wait_peers_ns)
        return CROW_SEEDER_START_TIMEOUT;
    return CROW_SEEDER_START_WAIT;
}

void crow_seeder_policy_sending(crow_seeder_policy_t *p, uint64_t now)
{
    if (p->sending)
        return;
    p->sending = true;
    p->sending_since = now;
    if (p->cfg.tracker) /* whether the stream reaches anyone: ask soon */
        p->next_announce = now + CROW_SEEDER_SEND_POLL_NS;
}

bool crow_seeder_policy_reaches_nobody(crow_seeder_policy_t *p)
{
    if (!p->sending || p->passes_done || p->ended_early ||
        p->answer_at < p->sending_since + CROW_SEEDER_DARK_GRACE_NS)
        return false;
    if (p->dark == 0 || p->lit > 0)
        return false;
    p->ended_early = true;
    return true;
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
    if (p->passes_done)
        return CROW_SEEDER_POLL_NS;
    if (p->sending)
        return CROW_SEEDER_SEND_POLL_NS;
    /* waiting for the first peer to show up: the pass starts when it does */
    return p->cfg.wait_peers_ns != 0 ? CROW_SEEDER_WAIT_POLL_NS : p->interval_ns;
}

void crow_seeder_policy_announced(crow_seeder_policy_t *p, uint64_t now)
{
    p->next_announce = now + period(p);
}

/* The needed segments the passes will not bring: outside their scope, or out whole at least
 * CROW_SEEDER_NEED_AGE_NS before now. */
static void find_missed(crow_seeder_policy_t *p, uint64_t now, const crow_need_map_t *need)
{
    p->missed = (crow_need_map_t){{0}};
    for (uint32_t seg = 0; seg < p->segments; seg++)
        if (crow_need_map_get(need, seg) &&
            (!crow_need_map_get(&p->scope, seg) ||
             (p->sent_at[seg] && since(now, p->sent_at[seg]) >= CROW_SEEDER_NEED_AGE_NS)))
            crow_need_map_set(&p->missed, seg);
}

void crow_seeder_policy_tracker_answer(crow_seeder_policy_t *p, uint64_t now, const crow_seeder_swarm_t *sw)
{
    int64_t complete = sw->complete, incomplete = sw->incomplete;
    if (sw->interval_s)
        p->interval_ns = (uint64_t)sw->interval_s * 1000000000ull;
    p->incomplete = incomplete;
    p->lit = sw->lit;
    p->dark = sw->dark;
    p->has_need = sw->has_need;
    p->need = sw->need;
    p->answer_at = now;
    if (incomplete > 0 && !p->peers_at)
        p->peers_at = now ? now : 1;
    if (p->cfg.catch_up && sw->has_need && p->sending && !p->passes_done)
        find_missed(p, now, &sw->need);
    if (incomplete > 0 || complete > 1)
        p->swarm_seen = true;
    /* After an outage the tracker has heard only from peers that announced since it came back:
     * "none incomplete" counts once every peer had an interval to announce to it again. */
    bool heard_everyone = !p->tracker_failed || since(now, p->failed_at) >= p->interval_ns;
    if (incomplete != 0 || !p->swarm_seen || !p->passes_done || !heard_everyone)
        p->quiet_since = 0;
    else if (!p->quiet_since)
        p->quiet_since = now;
}

void crow_seeder_policy_stream_sent(crow_seeder_policy_t *p, uint64_t now, const crow_need_map_t *sent)
{
    for (unsigned seg = 0; seg < CROW_NEED_SEGMENTS; seg++)
        if (!crow_need_map_get(sent, seg))
            p->sent_at[seg] = 0;
        else if (!p->sent_at[seg])
            p->sent_at[seg] = now ? now : 1;
}

bool crow_seeder_policy_catch_up(crow_seeder_policy_t *p, crow_need_map_t *resend)
{
    for (unsigned i = 0; i < CROW_NEED_WORDS; i++)
        resend->w[i] = p->cfg.catch_up ? p->missed.w[i] & ~p->caught.w[i] : 0;
    crow_need_map_or(&p->caught, resend);
    return crow_need_map_any(resend);
}

uint32_t crow_seeder_policy_first_piece(const crow_seeder_policy_t *p, uint32_t piece_count)
{
    return p->has_need ? crow_stream_need_start(&p->need, piece_count) : 0;
}

enum crow_seeder_scope crow_seeder_policy_scope(crow_seeder_policy_t *p, uint32_t piece_count,
                                                crow_need_map_t *segs)
{
    p->segments = crow_stream_segments(piece_count);
    p->scope = (crow_need_map_t){{0}};
    if (p->cfg.tracker && p->has_need) {
        for (uint32_t seg = 0; seg < p->segments; seg++)
            if (crow_need_map_get(&p->need, seg))
                crow_need_map_set(&p->scope, seg);
    } else {
        crow_need_map_set_range(&p->scope, 0, p->segments);
    }
    *segs = p->scope;
    if (!p->cfg.tracker || !p->has_need)
        return CROW_SEEDER_SCOPE_ALL;
    return crow_need_map_any(&p->scope) ? CROW_SEEDER_SCOPE_NEEDED : CROW_SEEDER_SCOPE_NONE;
}

bool crow_seeder_policy_swarm_complete(crow_seeder_policy_t *p)
{
    if (!p->sending || p->passes_done || p->ended_early || !p->swarm_seen || p->incomplete != 0 ||
        p->answer_at <= p->sending_since)
        return false;
    p->ended_early = true;
    return true;
}

void crow_seeder_policy_tracker_failed(crow_seeder_policy_t *p, uint64_t now)
{
    p->next_announce = now + CROW_SEEDER_POLL_NS;
    p->quiet_since = 0; /* peers may start while it is down: it cannot say none is incomplete */
    p->tracker_failed = true;
    p->failed_at = now;
}

enum crow_seeder_verdict crow_seeder_policy_tick(crow_seeder_policy_t *p, uint64_t now, unsigned connections,
                                                 bool *announce)
{
    *announce = p->cfg.tracker && now >= p->next_announce;
    if (connections) {
        p->last_busy = now;
        p->served = true;
    }
    if (!p->passes_done)
        return CROW_SEEDER_STAY;
    if (!p->cfg.serves_tcp)
        return CROW_SEEDER_STOP_NO_TCP;
    if (p->cfg.linger_ns < 0)
        return CROW_SEEDER_STAY;
    if (p->cfg.linger_ns == 0)
        return CROW_SEEDER_STOP_NO_LINGER;
    /* Quiet for as long as the answers say so: an announce still waiting out its timeout is no answer. */
    if (p->cfg.tracker && p->quiet_since && since(p->answer_at, p->quiet_since) >= CROW_SEEDER_QUIET_NS)
        return CROW_SEEDER_STOP_COMPLETE;
    /* A TCP-only seeder's peers may start after it: idle counts once one has come. */
    if (!p->cfg.tracker && (p->served || !p->cfg.tcp_only) && since(now, p->last_busy) >= CROW_SEEDER_IDLE_NS)
        return CROW_SEEDER_STOP_IDLE;
    if (since(now, p->passes_done_at) >= (uint64_t)p->cfg.linger_ns)
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
