/* Which tracker to announce to; the rules are in crowcast/tracker_tiers.h. */
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/tracker_tiers.h"

void crow_tracker_tiers_init(crow_tracker_tiers_t *t)
{
    memset(t, 0, sizeof *t);
    t->current = -1;
}

int crow_tracker_tiers_add(crow_tracker_tiers_t *t, const char *url, uint32_t tier)
{
    if (t->count == CROW_TRACKER_TIERS_MAX)
        return CROW_ELIMIT;
    uint32_t id = t->count;
    t->entry[id] = (crow_tracker_entry_t){.url = url, .tier = tier};
    uint32_t at = t->count;
    while (at > 0 && t->entry[t->order[at - 1]].tier > tier)
        at--;
    memmove(&t->order[at + 1], &t->order[at], t->count - at);
    t->order[at] = (uint8_t)id;
    t->count++;
    return (int)id;
}

uint32_t crow_tracker_tiers_choose(crow_tracker_tiers_t *t, const crow_manifest_t *m, const char *override,
                                   bool none)
{
    if (override)
        crow_tracker_tiers_add(t, override, 0);
    else if (none)
        ;
    else if (m->tracker_count)
        for (uint32_t i = 0; i < m->tracker_count; i++)
            crow_tracker_tiers_add(t, m->trackers[i].url, m->trackers[i].tier);
    else if (m->announce)
        crow_tracker_tiers_add(t, m->announce, 0);
    return t->count;
}

void crow_tracker_tiers_disable(crow_tracker_tiers_t *t, int id)
{
    if (id >= 0 && (uint32_t)id < t->count)
        t->entry[id].disabled = true;
}

uint32_t crow_tracker_tiers_usable(const crow_tracker_tiers_t *t)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < t->count; i++)
        n += !t->entry[i].disabled;
    return n;
}

/* The next tracker of this announce: the first untried one in order that is not resting, else the
 * first untried one resting (a rest puts a tracker last, it never takes it away). */
static int pick(crow_tracker_tiers_t *t, uint64_t now)
{
    int resting = -1;
    for (uint32_t k = 0; k < t->count; k++) {
        const crow_tracker_entry_t *e = &t->entry[t->order[k]];
        if (e->disabled || e->tried)
            continue;
        if (e->rest_until <= now)
            return t->order[k];
        if (resting < 0)
            resting = t->order[k];
    }
    return resting;
}

int crow_tracker_tiers_begin(crow_tracker_tiers_t *t, uint64_t now)
{
    for (uint32_t i = 0; i < t->count; i++)
        t->entry[i].tried = false;
    t->current = pick(t, now);
    return t->current;
}

int crow_tracker_tiers_failed(crow_tracker_tiers_t *t, uint64_t now)
{
    if (t->current < 0)
        return -1;
    crow_tracker_entry_t *e = &t->entry[t->current];
    e->tried = true;
    if (e->failures < 32)
        e->failures++;
    uint64_t rest = CROW_TRACKER_REST_NS;
    for (uint32_t i = 1; i < e->failures && rest < CROW_TRACKER_REST_MAX_NS; i++)
        rest *= 2;
    e->rest_until = now + (rest < CROW_TRACKER_REST_MAX_NS ? rest : CROW_TRACKER_REST_MAX_NS);
    t->current = pick(t, now);
    return t->current;
}

void crow_tracker_tiers_worked(crow_tracker_tiers_t *t)
{
    if (t->current < 0)
        return;
    crow_tracker_entry_t *e = &t->entry[t->current];
    e->failures = 0;
    e->rest_until = 0;
    /* BEP 12: "if a connection with a tracker is successful, it will be moved to the front of the
     * tier". */
    uint32_t at = 0;
    while (t->order[at] != (uint8_t)t->current)
        at++;
    uint32_t front = at;
    while (front > 0 && t->entry[t->order[front - 1]].tier == e->tier)
        front--;
    memmove(&t->order[front + 1], &t->order[front], at - front);
    t->order[front] = (uint8_t)t->current;
}

int crow_tracker_tiers_current(const crow_tracker_tiers_t *t)
{
    return t->current;
}

const char *crow_tracker_tiers_url(const crow_tracker_tiers_t *t, int id)
{
    return id >= 0 && (uint32_t)id < t->count ? t->entry[id].url : NULL;
}

uint32_t crow_tracker_tiers_tier(const crow_tracker_tiers_t *t, int id)
{
    return id >= 0 && (uint32_t)id < t->count ? t->entry[id].tier : 0;
}

uint32_t crow_tracker_tiers_failures(const crow_tracker_tiers_t *t, int id)
{
    return id >= 0 && (uint32_t)id < t->count ? t->entry[id].failures : 0;
}
