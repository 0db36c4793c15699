/* The rollout coordinator's indexes over its host table (see rollout_index.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rollout_index.h"

#define SET_COUNT (CROW_PLAN_MAX_WAVES * SET_KINDS)

int rollout_index_new(struct rollout_index **out, uint32_t cap)
{
    struct rollout_index *ix = calloc(1, sizeof *ix);
    *out = NULL;
    if (!ix)
        return -ENOMEM;
    ix->cap = cap;
    /* Level 0 has a bit per host, each level above a bit per word of the one below. */
    uint32_t words = (cap + 63) / 64, at = 0;
    for (;;) {
        ix->level_at[ix->levels++] = at;
        at += words;
        if (words == 1)
            break;
        words = (words + 63) / 64;
    }
    ix->set_words = at;
    ix->slots = calloc(2 * (size_t)cap, sizeof *ix->slots);
    ix->sets = calloc((size_t)SET_COUNT * at, sizeof *ix->sets);
    ix->polls = malloc(2 * (size_t)cap * sizeof *ix->polls);
    if (!ix->slots || !ix->sets || !ix->polls) {
        rollout_index_free(ix);
        return -ENOMEM;
    }
    rollout_index_clear(ix);
    *out = ix;
    return 0;
}

void rollout_index_free(struct rollout_index *ix)
{
    if (!ix)
        return;
    free(ix->slots);
    free(ix->sets);
    free(ix->polls);
    free(ix);
}

void rollout_index_clear(struct rollout_index *ix)
{
    memset(ix->slots, 0, 2 * (size_t)ix->cap * sizeof *ix->slots);
    memset(ix->sets, 0, (size_t)SET_COUNT * ix->set_words * sizeof *ix->sets);
    memset(ix->polls, 0xff, 2 * (size_t)ix->cap * sizeof *ix->polls);
    memset(ix->counts, 0, sizeof ix->counts);
    memset(ix->rb_involved, 0, sizeof ix->rb_involved);
    memset(ix->rb_back, 0, sizeof ix->rb_back);
    memset(ix->rb_failed, 0, sizeof ix->rb_failed);
}

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

uint32_t rollout_index_find(const struct rollout_index *ix, const crow_rollout_host_t *hosts,
                            const char *name, uint64_t *probes)
{
    uint32_t mask = 2 * ix->cap - 1;
    for (uint32_t at = name_hash(name) & mask;; at = (at + 1) & mask) {
        ++*probes;
        uint32_t v = ix->slots[at];
        if (v == 0)
            return UINT32_MAX;
        if (strcmp(hosts[v - 1].name, name) == 0)
            return v - 1;
    }
}

void rollout_index_add(struct rollout_index *ix, const crow_rollout_host_t *hosts, uint32_t i)
{
    uint32_t mask = 2 * ix->cap - 1, at = name_hash(hosts[i].name) & mask;
    while (ix->slots[at]) /* at most half the slots are taken: there is a free one */
        at = (at + 1) & mask;
    ix->slots[at] = i + 1;
}

static uint64_t *set_of(const struct rollout_index *ix, enum rollout_set kind, uint32_t wave)
{
    return ix->sets + ((size_t)wave * SET_KINDS + kind) * ix->set_words;
}

void rollout_index_put(struct rollout_index *ix, enum rollout_set kind, uint32_t wave, uint32_t i, int member)
{
    uint64_t *s = set_of(ix, kind, wave);
    /* Up the levels while a word turns empty or stops being empty: its summary bit follows. */
    for (uint32_t l = 0; l < ix->levels; l++, i /= 64) {
        uint64_t *w = &s[ix->level_at[l] + i / 64], was = *w, bit = 1ull << (i % 64);
        *w = member ? was | bit : was & ~bit;
        if ((was != 0) == (*w != 0))
            break;
    }
}

uint32_t rollout_index_first(const struct rollout_index *ix, enum rollout_set kind, uint32_t wave,
                             uint64_t *probes)
{
    const uint64_t *s = set_of(ix, kind, wave);
    uint32_t i = 0;
    for (uint32_t l = ix->levels; l-- > 0;) {
        ++*probes;
        uint64_t w = s[ix->level_at[l] + i];
        if (!w)
            return UINT32_MAX;
        i = i * 64 + (uint32_t)__builtin_ctzll(w);
    }
    return i;
}

void rollout_index_poll(struct rollout_index *ix, uint32_t i, uint64_t seen_ms)
{
    uint32_t n = ix->cap + i;
    ix->polls[n] = seen_ms;
    for (n /= 2; n; n /= 2) {
        uint64_t a = ix->polls[2 * n], b = ix->polls[2 * n + 1], min = a < b ? a : b;
        if (ix->polls[n] == min)
            break; /* nothing above changes: a poll moves an entry that was rarely the oldest */
        ix->polls[n] = min;
    }
}

uint64_t rollout_index_oldest_poll(const struct rollout_index *ix)
{
    return ix->polls[1];
}

uint32_t rollout_index_first_polled_by(const struct rollout_index *ix, uint64_t cutoff_ms, uint64_t *probes)
{
    if (ix->polls[1] > cutoff_ms)
        return UINT32_MAX;
    uint32_t n = 1;
    while (n < ix->cap) {
        ++*probes;
        n = ix->polls[2 * n] <= cutoff_ms ? 2 * n : 2 * n + 1;
    }
    return n - ix->cap;
}
