/* The peer's timing decisions (stream liveness, announce schedule, what it waits for); the rules
 * are in crowcast/peer_policy.h. */
#include "crowcast/peer_policy.h"

#define DEFAULT_INTERVAL_NS 30000000000ull

static void set_stream(crow_peer_policy_t *p, enum crow_stream_state s, uint64_t now)
{
    p->stream = s;
    p->stream_since = now;
}

void crow_peer_policy_init(crow_peer_policy_t *p, const crow_peer_policy_config_t *cfg, uint64_t now)
{
    *p = (crow_peer_policy_t){
        .cfg = *cfg,
        .stream = cfg->multicast ? CROW_STREAM_UNJOINED : CROW_STREAM_OFF,
        .stream_since = now,
        .last_datagram = now,
        .interval_ns = DEFAULT_INTERVAL_NS,
        .next_announce = cfg->tracker ? now : UINT64_MAX,
        .urgent_backoff = CROW_PEER_URGENT_MIN_NS,
        .retry_backoff = CROW_PEER_URGENT_MIN_NS,
        .wait_since = now,
    };
}

/* On the multicast path: its announces carry a need map (getter_on_stream). */
static bool on_stream(const crow_peer_policy_t *p)
{
    return p->stream != CROW_STREAM_OFF && p->stream != CROW_STREAM_UNJOINED;
}

void crow_peer_policy_joined(crow_peer_policy_t *p, uint64_t now)
{
    if (p->stream != CROW_STREAM_UNJOINED && p->stream != CROW_STREAM_OFF)
        return;
    set_stream(p, p->source_known ? CROW_STREAM_DUE : CROW_STREAM_AWAITED, now);
    p->last_datagram = now;
    /* its first need map goes to the tracker at once: the seeder waits for it */
    if (p->cfg.tracker && !p->complete)
        p->announce_now = true;
}

void crow_peer_policy_no_multicast(crow_peer_policy_t *p, uint64_t now)
{
    set_stream(p, CROW_STREAM_OFF, now);
}

bool crow_peer_policy_datagram(crow_peer_policy_t *p, uint64_t now)
{
    p->source_known = p->ever_datagram = true;
    p->last_datagram = now;
    enum crow_stream_state was = p->stream;
    if (was == CROW_STREAM_AWAITED || was == CROW_STREAM_DUE || was == CROW_STREAM_SILENT)
        set_stream(p, CROW_STREAM_ALIVE, now);
    return was == CROW_STREAM_SILENT;
}

void crow_peer_policy_source_known(crow_peer_policy_t *p, uint64_t now)
{
    if (p->source_known)
        return;
    p->source_known = true;
    if (p->stream == CROW_STREAM_AWAITED) {
        set_stream(p, CROW_STREAM_DUE, now);
        p->last_datagram = now;
    }
}

void crow_peer_policy_senders(crow_peer_policy_t *p, uint64_t now, uint32_t sending, uint32_t streaming)
{
    p->no_sender = sending == 0;
    if (!streaming)
        p->streaming_since = 0;
    else if (!p->streaming_since)
        p->streaming_since = now ? now : 1;
}

void crow_peer_policy_progress(crow_peer_policy_t *p)
{
    p->rack_stalled = false;
}

void crow_peer_policy_stream_ended(crow_peer_policy_t *p, uint64_t now)
{
    if (p->stream == CROW_STREAM_ENDED)
        return;
    set_stream(p, CROW_STREAM_ENDED, now);
    /* what it still needs goes to the tracker at once: the seeder decides on it */
    if (p->cfg.tracker && !p->complete)
        p->announce_now = true;
}

bool crow_peer_policy_stream_resumed(crow_peer_policy_t *p, uint64_t now)
{
    if (p->stream != CROW_STREAM_ENDED)
        return false;
    set_stream(p, CROW_STREAM_ALIVE, now);
    p->last_datagram = now;
    return true;
}

bool crow_peer_policy_stream_over(const crow_peer_policy_t *p, uint64_t now)
{
    return p->stream == CROW_STREAM_ENDED && now - p->stream_since >= CROW_PEER_END_GRACE_NS;
}

void crow_peer_policy_announced(crow_peer_policy_t *p, uint64_t now)
{
    p->last_announce = now;
    p->announced = true;
    p->announce_now = false;
    p->next_announce = now + p->interval_ns;
    p->reported = crow_peer_policy_mcast_report(p);
    p->reported_need = p->need;
    p->reported_on_stream = on_stream(p);
}

void crow_peer_policy_need(crow_peer_policy_t *p, const crow_need_map_t *need)
{
    p->need = *need;
}

/* What the peer lacks shrinks (stream or TCP): the tracker hears of it every
 * CROW_PEER_NEED_REFRESH_NS, so a seeder restarted mid-pass knows where the swarm's data ends, and
 * one deciding on another pass sees what the TCP repair has left. */
static bool need_stale(const crow_peer_policy_t *p)
{
    return p->cfg.tracker && p->announced && !p->complete && p->stream != CROW_STREAM_OFF &&
           (!crow_need_map_equal(&p->need, &p->reported_need) || on_stream(p) != p->reported_on_stream);
}

enum crow_mcast_report crow_peer_policy_mcast_report(const crow_peer_policy_t *p)
{
    if (p->complete)
        return CROW_MCAST_REPORT_NONE;
    if (p->stream == CROW_STREAM_ALIVE)
        return CROW_MCAST_REPORT_LIT;
    /* Silent without a single datagram although a source was known: the fabric does not carry it. */
    if (p->stream == CROW_STREAM_SILENT && !p->ever_datagram)
        return CROW_MCAST_REPORT_DARK;
    return CROW_MCAST_REPORT_NONE;
}

/* What the peer sees of the stream changed since its last announce: the seeder decides on it. */
static bool report_stale(const crow_peer_policy_t *p)
{
    return p->cfg.tracker && p->announced && !p->complete && crow_peer_policy_mcast_report(p) != p->reported;
}

/* When the changed report may go out: lit or dark at once (the seeder decides on them: to stop a
 * stream that reaches nobody, and not one that reaches us), "nothing to say" 1 s after the last
 * announce. A report changes only with the stream's state, so this cannot flood the tracker. */
static uint64_t report_due(const crow_peer_policy_t *p)
{
    return crow_peer_policy_mcast_report(p) != CROW_MCAST_REPORT_NONE
               ? p->last_announce
               : p->last_announce + CROW_PEER_URGENT_MIN_NS;
}

void crow_peer_policy_tracker_answer(crow_peer_policy_t *p, uint64_t now, bool ok, uint32_t interval_s)
{
    if (!ok) {
        p->tracker_failing = true;
        p->next_announce = now + p->retry_backoff;
        p->retry_backoff =
            p->retry_backoff * 2 > CROW_PEER_RETRY_MAX_NS ? CROW_PEER_RETRY_MAX_NS : p->retry_backoff * 2;
        return;
    }
    p->tracker_failing = false;
    p->retry_backoff = CROW_PEER_URGENT_MIN_NS;
    if (interval_s) {
        p->interval_ns = (uint64_t)interval_s * 1000000000ull;
        p->next_announce = p->last_announce + p->interval_ns;
    }
}

void crow_peer_policy_complete(crow_peer_policy_t *p, uint64_t now)
{
    p->complete = true;
    p->wait = CROW_WAIT_NONE;
    p->wait_since = now;
}

bool crow_peer_policy_stream_pending(const crow_peer_policy_t *p)
{
    return p->stream == CROW_STREAM_UNJOINED || p->stream == CROW_STREAM_AWAITED ||
           p->stream == CROW_STREAM_DUE || p->stream == CROW_STREAM_ALIVE;
}

static bool clock_runs(const crow_peer_policy_t *p)
{
    return p->cfg.silence_ns && (p->stream == CROW_STREAM_DUE || p->stream == CROW_STREAM_ALIVE);
}

/* When the stream counts as silent. A stream that never showed a datagram although its source is
 * known is given less time than one that went quiet: a seeder's first datagram follows its start
 * within milliseconds, so this is a fabric that does not carry the group; should it come after all,
 * the peer goes back to it. Less still once the tracker says a seeder is multicasting now; none at
 * all when it says no seeder is still sending. */
static uint64_t silent_at(const crow_peer_policy_t *p)
{
    uint64_t at = p->last_datagram + p->cfg.silence_ns;
    if (p->stream != CROW_STREAM_DUE)
        return at;
    if (p->no_sender)
        return p->last_datagram;
    if (p->cfg.silence_ns > CROW_PEER_FIRST_DATAGRAM_NS)
        at = p->last_datagram + CROW_PEER_FIRST_DATAGRAM_NS;
    if (p->streaming_since && p->streaming_since + CROW_PEER_STREAMING_DATAGRAM_NS < at)
        at = p->streaming_since + CROW_PEER_STREAMING_DATAGRAM_NS;
    return at;
}

static enum crow_peer_wait judge_wait(const crow_peer_policy_t *p, const crow_picker_needs_t *n,
                                      bool chain_head)
{
    enum crow_peer_wait w = CROW_WAIT_NONE;
    if (p->complete)
        return w;
    if (p->stream == CROW_STREAM_UNJOINED || p->stream == CROW_STREAM_AWAITED || p->stream == CROW_STREAM_DUE)
        w = CROW_WAIT_STREAM;
    else if (n && n->unserved && !n->requests_out)
        w = chain_head || !n->rack_neighbours ? CROW_WAIT_SOURCE : CROW_WAIT_RACK;
    /* The tracker is what would name a source: when it fails, that is what the peer waits for. */
    if (p->tracker_failing && (w == CROW_WAIT_SOURCE || (w == CROW_WAIT_STREAM && !p->source_known)))
        w = CROW_WAIT_TRACKER;
    return w;
}

/* Polls the tracker: for a stream nobody is known to send, for pieces nobody connected has, or
 * when the rack's chain head has been silent too long (it may have died: the tracker names a new
 * one, perhaps us). */
static bool urgent(const crow_peer_policy_t *p, uint64_t now)
{
    if (!p->cfg.tracker || p->complete)
        return false;
    switch (p->wait) {
    case CROW_WAIT_SOURCE:
        return true;
    case CROW_WAIT_STREAM:
        return !p->source_known;
    case CROW_WAIT_RACK:
        return now - p->wait_since >= CROW_PEER_RACK_PATIENCE_NS;
    default:
        return false;
    }
}

void crow_peer_policy_tick(crow_peer_policy_t *p, uint64_t now, const crow_picker_needs_t *needs,
                           bool chain_head, crow_peer_actions_t *out)
{
    *out = (crow_peer_actions_t){0};
    if (clock_runs(p) && now >= silent_at(p)) {
        set_stream(p, CROW_STREAM_SILENT, now);
        out->went_silent = true;
        if (p->cfg.tracker && !p->complete)
            p->announce_now = true;
    }
    enum crow_peer_wait w = judge_wait(p, needs, chain_head);
    if (w != p->wait) { /* a new wait: its backoff starts over */
        p->wait = w;
        p->wait_since = now;
        p->urgent_backoff = w == CROW_WAIT_STREAM ? CROW_PEER_AWAIT_STREAM_NS : CROW_PEER_URGENT_MIN_NS;
    }
    /* Waiting for the head, on and off (requests to a head that claims pieces go out and expire), or
     * for a source while only the head may fetch outside the rack (a dead head not expired yet, no
     * rack neighbour connected): the stall counts from the first such wait since a piece last
     * verified. */
    bool head_bound = !chain_head && (w == CROW_WAIT_RACK || w == CROW_WAIT_SOURCE);
    if (!head_bound && w != CROW_WAIT_NONE) {
        p->rack_stalled = false;
    } else if (head_bound && !p->rack_stalled) {
        p->rack_stalled = true;
        p->rack_stalled_since = now;
    }
    out->lead = head_bound && now - p->rack_stalled_since >= CROW_PEER_RACK_LEAD_NS;
    if (!p->cfg.tracker)
        return;
    if (urgent(p, now) && (!p->announced || now - p->last_announce >= p->urgent_backoff)) {
        out->announce = true;
        p->urgent_backoff =
            p->urgent_backoff * 2 > CROW_PEER_URGENT_MAX_NS ? CROW_PEER_URGENT_MAX_NS : p->urgent_backoff * 2;
    }
    if (report_stale(p) && now >= report_due(p))
        out->announce = true;
    if (need_stale(p) && now >= p->last_announce + CROW_PEER_NEED_REFRESH_NS)
        out->announce = true;
    if (p->announce_now || now >= p->next_announce)
        out->announce = true;
}

uint64_t crow_peer_policy_next_deadline(const crow_peer_policy_t *p)
{
    if (p->announce_now)
        return 0;
    uint64_t at = p->cfg.tracker ? p->next_announce : UINT64_MAX;
    if (clock_runs(p) && silent_at(p) < at)
        at = silent_at(p);
    /* the earliest time at which an urgent announce may go out */
    uint64_t urgent_at = p->last_announce + p->urgent_backoff;
    if (p->wait == CROW_WAIT_RACK && p->wait_since + CROW_PEER_RACK_PATIENCE_NS > urgent_at)
        urgent_at = p->wait_since + CROW_PEER_RACK_PATIENCE_NS;
    if (p->rack_stalled && p->rack_stalled_since + CROW_PEER_RACK_LEAD_NS < at)
        at = p->rack_stalled_since + CROW_PEER_RACK_LEAD_NS;
    if (urgent(p, urgent_at) && urgent_at < at)
        at = urgent_at;
    if (report_stale(p) && report_due(p) < at)
        at = report_due(p);
    if (need_stale(p) && p->last_announce + CROW_PEER_NEED_REFRESH_NS < at)
        at = p->last_announce + CROW_PEER_NEED_REFRESH_NS;
    return at;
}

const char *crow_stream_state_name(enum crow_stream_state s)
{
    switch (s) {
    case CROW_STREAM_UNJOINED:
        return "unjoined";
    case CROW_STREAM_OFF:
        return "off";
    case CROW_STREAM_AWAITED:
        return "awaited";
    case CROW_STREAM_DUE:
        return "due";
    case CROW_STREAM_ALIVE:
        return "alive";
    case CROW_STREAM_SILENT:
        return "silent";
    case CROW_STREAM_ENDED:
        return "ended";
    }
    return "?";
}

const char *crow_peer_wait_name(enum crow_peer_wait w)
{
    switch (w) {
    case CROW_WAIT_NONE:
        return "none";
    case CROW_WAIT_STREAM:
        return "stream";
    case CROW_WAIT_SOURCE:
        return "source";
    case CROW_WAIT_RACK:
        return "rack";
    case CROW_WAIT_TRACKER:
        return "tracker";
    }
    return "?";
}
