/* Tracker registry: swarms of peers kept sorted by (rack, address, port), so each rack's chain is one
 * contiguous run, and neighbour selection is index arithmetic around the asking peer. A chain's head is
 * its member with the lowest join number, wherever its address places it. Its rendering (the JSON status,
 * the Prometheus metrics) is tracker_registry_render.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/tracker_registry.h"
#include "tracker_registry_internal.h"

static void apply_defaults(crow_tracker_registry_config_t *c)
{
    if (!c->max_swarms)
        c->max_swarms = 64;
    if (!c->max_peers_per_swarm)
        c->max_peers_per_swarm = 4096;
    if (!c->interval)
        c->interval = 30;
    if (!c->min_interval)
        c->min_interval = c->interval < 5 ? c->interval : 5;
    if (!c->peer_timeout_ms)
        c->peer_timeout_ms = 3000ull * c->interval;
    if (!c->max_numwant)
        c->max_numwant = 200;
    if (!c->head_seeders)
        c->head_seeders = 2;
    if (!c->default_numwant)
        c->default_numwant = c->max_numwant < 50 ? c->max_numwant : 50;
}

int crow_tracker_registry_new(crow_tracker_registry_t **out, const crow_tracker_registry_config_t *cfg,
                              const crow_racks_t *racks)
{
    crow_tracker_registry_t *reg = NULL;
    int ret = 0;
    crow_tracker_registry_config_t c = cfg ? *cfg : (crow_tracker_registry_config_t){0};
    apply_defaults(&c);
    if (c.min_interval > c.interval || c.default_numwant > c.max_numwant) {
        ret = CROW_EUSAGE;
        goto out;
    }
    reg = calloc(1, sizeof(*reg));
    if (!reg) {
        ret = -ENOMEM;
        goto out;
    }
    reg->cfg = c;
    reg->racks = racks;
    reg->next_deadline = UINT64_MAX;
    reg->swarms = calloc(c.max_swarms, sizeof(*reg->swarms));
    reg->order = calloc(c.max_swarms, sizeof(*reg->order));
    reg->free_slots = calloc(c.max_swarms, sizeof(*reg->free_slots));
    /* calloc checks the product for overflow. */
    reg->pool = calloc((size_t)c.max_swarms * c.max_peers_per_swarm, sizeof(*reg->pool));
    if (!reg->swarms || !reg->order || !reg->free_slots || !reg->pool) {
        ret = -ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < c.max_swarms; i++) {
        reg->swarms[i].peers = reg->pool + (size_t)i * c.max_peers_per_swarm;
        reg->free_slots[i] = c.max_swarms - 1 - i;
    }
    reg->free_count = c.max_swarms;
out:
    if (ret < 0) {
        crow_tracker_registry_free(reg);
        reg = NULL;
    }
    *out = reg;
    return ret;
}

void crow_tracker_registry_free(crow_tracker_registry_t *reg)
{
    if (!reg)
        return;
    free(reg->pool);
    free(reg->free_slots);
    free(reg->order);
    free(reg->swarms);
    free(reg);
}

const crow_tracker_registry_config_t *crow_tracker_registry_config(const crow_tracker_registry_t *reg)
{
    return &reg->cfg;
}

/* Position of the swarm with this hash in reg->order, or where it would go; *found tells which. */
static uint32_t find_swarm(const crow_tracker_registry_t *reg, const uint8_t *hash, bool *found)
{
    uint32_t lo = 0, hi = reg->active;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = memcmp(reg->swarms[reg->order[mid]].info_hash, hash, CROW_INFO_HASH_LEN);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static struct swarm *lookup_swarm(const crow_tracker_registry_t *reg, const uint8_t *hash)
{
    bool found;
    uint32_t at = find_swarm(reg, hash, &found);
    return found ? &reg->swarms[reg->order[at]] : NULL;
}

static void remove_swarm_at(crow_tracker_registry_t *reg, uint32_t at)
{
    reg->free_slots[reg->free_count++] = reg->order[at];
    memmove(&reg->order[at], &reg->order[at + 1], (reg->active - at - 1) * sizeof(*reg->order));
    reg->active--;
}

static int compare_key(const struct peer *p, uint32_t rack, uint32_t addr, uint16_t port)
{
    if (p->rack != rack)
        return p->rack < rack ? -1 : 1;
    if (p->addr != addr)
        return p->addr < addr ? -1 : 1;
    if (p->port != port)
        return p->port < port ? -1 : 1;
    return 0;
}

/* Index of the peer with this key, or the insertion point; *found tells which. */
static uint32_t find_peer(const struct swarm *s, uint32_t rack, uint32_t addr, uint16_t port, bool *found)
{
    uint32_t lo = 0, hi = s->count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = compare_key(&s->peers[mid], rack, addr, port);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static void remove_peer_at(struct swarm *s, uint32_t at)
{
    if (s->peers[at].seeder)
        s->complete--;
    memmove(&s->peers[at], &s->peers[at + 1], (s->count - at - 1) * sizeof(*s->peers));
    s->count--;
}

/* Start and end of the chain (run of one rack) containing index at. */
static void chain_bounds(const struct swarm *s, uint32_t at, uint32_t *lo, uint32_t *hi)
{
    uint32_t rack = s->peers[at].rack;
    *lo = at;
    while (*lo > 0 && s->peers[*lo - 1].rack == rack)
        (*lo)--;
    *hi = at + 1;
    while (*hi < s->count && s->peers[*hi].rack == rack)
        (*hi)++;
}

/* The head of the chain [lo, hi): the member that joined it first. Join numbers are unique, so two peers
 * that announced within the same millisecond are still told apart, in arrival order; this is the only
 * place the head is decided (the reply's head flag, the foreign seeders and the status all ask it). */
uint32_t crow_tracker_registry_chain_head(const struct swarm *s, uint32_t lo, uint32_t hi)
{
    uint32_t head = lo;
    for (uint32_t i = lo + 1; i < hi; i++)
        if (s->peers[i].joined < s->peers[head].joined)
            head = i;
    return head;
}

struct picker {
    const struct swarm *s;
    uint32_t rack; /* the asking peer's */
    crow_announce_peer_t *out;
    size_t n;
};

static void pick(struct picker *pk, uint32_t at)
{
    const struct peer *p = &pk->s->peers[at];
    crow_announce_peer_t *o = &pk->out[pk->n++];
    o->addr = p->addr;
    o->port = p->port;
    o->flags =
        (uint8_t)((p->seeder ? CROW_PEER_SEEDER : 0) | (p->rack != pk->rack ? CROW_PEER_OTHER_RACK : 0));
    memcpy(o->peer_id, p->peer_id, CROW_PEER_ID_LEN);
}

/* The oldest seeder outside [lo, hi) not yet listed, or UINT32_MAX. */
static uint32_t oldest_foreign_seeder(const struct picker *pk, uint32_t lo, uint32_t hi)
{
    const struct swarm *s = pk->s;
    uint32_t best = UINT32_MAX;
    for (uint32_t i = 0; i < s->count; i++) {
        const struct peer *p = &s->peers[i];
        if ((i >= lo && i < hi) || !p->seeder ||
            (best != UINT32_MAX && p->first_seen >= s->peers[best].first_seen))
            continue;
        bool listed = false;
        for (size_t k = 0; k < pk->n && !listed; k++)
            listed = pk->out[k].addr == p->addr && pk->out[k].port == p->port;
        if (!listed)
            best = i;
    }
    return best;
}

/* Neighbours of peer me, whose chain is [lo, hi); is_head: me is that chain's head. */
static void select_neighbours(const struct swarm *s, uint32_t me, uint32_t lo, uint32_t hi, bool is_head,
                              size_t want, uint32_t head_seeders, crow_announce_peer_t *out, size_t *count)
{
    struct picker pk = {s, s->peers[me].rack, out, 0};
    const struct peer *self = &s->peers[me];
    size_t foreign_seeders = 0;
    uint64_t max_left = 0;
    bool other_seeder = false, rack_has_data = false;
    for (uint32_t i = 0; i < s->count; i++) {
        if (s->peers[i].left > max_left)
            max_left = s->peers[i].left;
        if (i != me && s->peers[i].seeder) {
            other_seeder = true;
            if (i < lo || i >= hi)
                foreign_seeders++;
        }
    }
    for (uint32_t i = lo; i < hi; i++)
        if (i != me && s->peers[i].left < max_left)
            rack_has_data = true;

    size_t reserve = 0;
    if (is_head) {
        reserve = foreign_seeders < head_seeders ? foreign_seeders : head_seeders;
        if (reserve > want)
            reserve = want;
    }
    size_t chain_room = want - reserve;
    uint32_t pos = me - lo, len = hi - lo;
    for (uint32_t d = 1; pk.n < chain_room && (d <= pos || pos + d < len); d++) {
        if (d <= pos)
            pick(&pk, me - d);
        if (pk.n < chain_room && pos + d < len)
            pick(&pk, me + d);
    }
    for (size_t k = 0; k < reserve; k++)
        pick(&pk, oldest_foreign_seeder(&pk, lo, hi));
    if (!self->seeder && !other_seeder && !rack_has_data)
        for (uint32_t i = 0; i < s->count && pk.n < want; i++)
            if ((i < lo || i >= hi) && s->peers[i].left < max_left)
                pick(&pk, i);
    *count = pk.n;
}

static void fill_crowcast(const crow_tracker_registry_t *reg, uint32_t rack, uint32_t position, bool is_head,
                          crow_crowcast_info_t *c)
{
    const crow_rack_t *r = crow_racks_get(reg->racks, rack);
    memset(c, 0, sizeof(*c));
    c->present = true;
    if (r) {
        memcpy(c->rack, r->name, sizeof(c->rack));
        c->group = r->group;
        c->port = r->port;
        /* A relayed rack's head relays: the oldest peer, replaced as head is when it leaves or expires. */
        c->relay = is_head && r->relayed;
    }
    c->position = position;
    c->head = is_head;
}

/* Finds or creates the swarm; NULL when the registry is full. */
static struct swarm *obtain_swarm(crow_tracker_registry_t *reg, const uint8_t *hash, uint64_t now,
                                  bool create)
{
    bool found;
    uint32_t at = find_swarm(reg, hash, &found);
    if (found)
        return &reg->swarms[reg->order[at]];
    if (!create || reg->free_count == 0)
        return NULL;
    uint32_t slot = reg->free_slots[--reg->free_count];
    memmove(&reg->order[at + 1], &reg->order[at], (reg->active - at) * sizeof(*reg->order));
    reg->order[at] = slot;
    reg->active++;
    struct swarm *s = &reg->swarms[slot];
    memcpy(s->info_hash, hash, CROW_INFO_HASH_LEN);
    s->count = s->complete = 0;
    s->downloaded = 0;
    s->created = now;
    return s;
}

/* Locates the announcing peer: first under its current rack, then anywhere (its rack changed). */
static bool locate_peer(const struct swarm *s, uint32_t rack, uint32_t addr, uint16_t port, uint32_t *at)
{
    bool found;
    *at = find_peer(s, rack, addr, port, &found);
    if (found)
        return true;
    for (uint32_t i = 0; i < s->count; i++) {
        if (s->peers[i].addr == addr && s->peers[i].port == port) {
            *at = i;
            return true;
        }
    }
    return false;
}

/* What the incomplete peers say of the multicast stream: how many receive it and how many do not
 * (a seeder stops multicasting into a fabric where it reaches nobody), and the OR of their need maps
 * (a seeder sends what they missed again), known only when every one of them sent a map; and how many
 * seeders say a stream is under way or about to start (a late peer need not wait for one otherwise). */
static void summarize_stream_reports(const struct swarm *s, crow_crowcast_info_t *c)
{
    bool all_need = true, any = false;
    crow_need_map_t need = {{0}};
    for (uint32_t i = 0; i < s->count; i++) {
        const struct peer *p = &s->peers[i];
        c->sending += p->sending;
        c->streaming += p->streaming;
        if (p->seeder)
            continue;
        any = true;
        c->lit += p->mcast == CROW_MCAST_REPORT_LIT;
        c->dark += p->mcast == CROW_MCAST_REPORT_DARK;
        all_need &= p->has_need;
        if (p->has_need)
            crow_need_map_or(&need, &p->need);
    }
    c->has_need = any && all_need;
    c->need = c->has_need ? need : (crow_need_map_t){{0}};
}

int crow_tracker_registry_announce(crow_tracker_registry_t *reg, const crow_announce_req_t *req,
                                   uint32_t addr, uint32_t rack, uint64_t now, crow_announce_peer_t *peers,
                                   size_t cap, crow_announce_resp_t *resp, const char **failure)
{
    bool stopping = req->event == CROW_EVENT_STOPPED;
    struct swarm *s = obtain_swarm(reg, req->info_hash, now, !stopping);
    memset(resp, 0, sizeof(*resp));
    resp->interval = reg->cfg.interval;
    resp->min_interval = reg->cfg.min_interval;
    resp->peers = peers;
    reg->announces++;
    if (!s && !stopping) {
        reg->rejected++;
        *failure = "tracker full: too many releases";
        return CROW_ELIMIT;
    }
    uint32_t at;
    bool known = s && locate_peer(s, rack, addr, req->port, &at);
    struct peer old = {0};
    /* A peer announcing again from its rack keeps its place in the sorted array (rack, addr, port):
     * it is rewritten where it is, without moving the swarm's peers twice. */
    bool in_place = known && !stopping && s->peers[at].rack == rack;
    if (known) {
        old = s->peers[at];
        if (!in_place)
            remove_peer_at(s, at);
        else if (old.seeder)
            s->complete--;
    } else if (s && !stopping && s->count >= reg->cfg.max_peers_per_swarm) {
        reg->rejected++;
        *failure = "release full: too many peers";
        return CROW_ELIMIT;
    }
    if (stopping) {
        if (s) {
            resp->complete = s->complete;
            resp->incomplete = s->count - s->complete;
            if (s->count == 0) {
                bool found;
                remove_swarm_at(reg, find_swarm(reg, req->info_hash, &found));
            }
        }
        return 0;
    }
    if (!in_place) {
        bool found;
        at = find_peer(s, rack, addr, req->port, &found);
        memmove(&s->peers[at + 1], &s->peers[at], (s->count - at) * sizeof(*s->peers));
        s->count++;
    }
    struct peer *p = &s->peers[at];
    p->rack = rack;
    p->addr = addr;
    p->port = req->port;
    p->left = req->left;
    p->seeder = req->left == 0;
    memcpy(p->peer_id, req->peer_id, CROW_PEER_ID_LEN);
    p->hook = req->has_hook ? (int16_t)req->hook : known ? old.hook : -1;
    p->mcast = req->mcast;
    p->has_need = req->has_need;
    p->need = req->need;
    p->sending = req->sending;
    p->streaming = req->streaming;
    p->first_seen = known ? old.first_seen : now;
    /* Seniority in the chain decides its head: kept across announces (completion and a restart on the
     * same endpoint included), renewed when the peer moves to another rack's chain, where it is a
     * newcomer that must not displace a head already told so. */
    p->joined = known && old.rack == rack ? old.joined : ++reg->joins;
    p->last_seen = now;
    if (p->seeder)
        s->complete++;
    if (req->event == CROW_EVENT_COMPLETED && !(known && old.seeder))
        s->downloaded++;
    if (now + reg->cfg.peer_timeout_ms < reg->next_deadline)
        reg->next_deadline = now + reg->cfg.peer_timeout_ms;

    size_t want = req->numwant == CROW_NUMWANT_ABSENT ? reg->cfg.default_numwant : (size_t)req->numwant;
    if (want > reg->cfg.max_numwant)
        want = reg->cfg.max_numwant;
    if (want > cap)
        want = cap;
    uint32_t lo, hi;
    chain_bounds(s, at, &lo, &hi);
    uint32_t head = crow_tracker_registry_chain_head(s, lo, hi);
    bool is_head = head == at || (reg->cfg.fault_same_ms_heads && s->peers[head].first_seen == p->first_seen);
    /* A peer that leads because its head brings nothing is listed what the head would be. */
    select_neighbours(s, at, lo, hi, is_head || req->lead, want, reg->cfg.head_seeders, peers,
                      &resp->peer_count);
    fill_crowcast(reg, rack, at - lo, is_head, &resp->crowcast);
    summarize_stream_reports(s, &resp->crowcast);
    resp->complete = s->complete;
    resp->incomplete = s->count - s->complete;
    return 0;
}

uint32_t crow_tracker_registry_expire(crow_tracker_registry_t *reg, uint64_t now)
{
    uint32_t removed = 0;
    uint64_t next = UINT64_MAX;
    for (uint32_t k = reg->active; k-- > 0;) {
        struct swarm *s = &reg->swarms[reg->order[k]];
        uint32_t keep = 0;
        for (uint32_t i = 0; i < s->count; i++) {
            struct peer *p = &s->peers[i];
            uint64_t deadline = p->last_seen + reg->cfg.peer_timeout_ms;
            if (deadline <= now) {
                if (p->seeder)
                    s->complete--;
                removed++;
                continue;
            }
            if (deadline < next)
                next = deadline;
            s->peers[keep++] = *p;
        }
        s->count = keep;
        if (keep == 0)
            remove_swarm_at(reg, k);
    }
    reg->next_deadline = next;
    reg->expired += removed;
    return removed;
}

uint64_t crow_tracker_registry_next_deadline(const crow_tracker_registry_t *reg)
{
    return reg->next_deadline;
}

static void fill_scrape(const struct swarm *s, crow_scrape_entry_t *e)
{
    memcpy(e->info_hash, s->info_hash, CROW_INFO_HASH_LEN);
    e->complete = s->complete;
    e->incomplete = s->count - s->complete;
    e->downloaded = (uint32_t)(s->downloaded > UINT32_MAX ? UINT32_MAX : s->downloaded);
}

size_t crow_tracker_registry_scrape(const crow_tracker_registry_t *reg,
                                    const uint8_t (*hashes)[CROW_INFO_HASH_LEN], size_t count,
                                    crow_scrape_entry_t *out, size_t cap)
{
    size_t n = 0;
    if (count == 0) {
        for (uint32_t k = 0; k < reg->active && n < cap; k++)
            fill_scrape(&reg->swarms[reg->order[k]], &out[n++]);
        return n;
    }
    for (size_t i = 0; i < count && n < cap; i++) {
        const struct swarm *s = lookup_swarm(reg, hashes[i]);
        if (s)
            fill_scrape(s, &out[n++]);
    }
    return n;
}
