/* The rollout coordinator's indexes over its host table (private to rollout.c): host names to
 * indexes, per-wave sets of the hosts waiting for an order (first by index in a few word reads), and
 * a tree of the hosts' last polls (the first silent host, the next expiry). Each has room for `cap`
 * hosts (a power of two); rollout.c rebuilds them from the host table when the table grows, so they
 * hold nothing the table does not. */
#ifndef CROWCAST_ENGINE_ROLLOUT_INDEX_H
#define CROWCAST_ENGINE_ROLLOUT_INDEX_H

#include <stdint.h>

#include "crowcast/rollout.h"

/* Hosts a decision may pick next, one set of each kind per wave. */
enum rollout_set { SET_DOWNLOAD, SET_ACTIVATE, SET_ROLLBACK, SET_KINDS };

struct rollout_index {
    uint32_t cap;    /* hosts it has room for: a power of two */
    uint32_t *slots; /* 2 * cap: host index + 1, 0 empty (open addressing; hosts are never removed) */
    /* A set is a bitmap over host indexes with a summary bit per word above it, level after level up
     * to a single word: the first member is found in one word read per level. */
    uint32_t levels, level_at[5], set_words;
    uint64_t *sets;  /* CROW_PLAN_MAX_WAVES * SET_KINDS sets of set_words words */
    uint64_t *polls; /* 2 * cap: a min-tree, leaf cap + i = host i's last poll (UINT64_MAX: not watched) */
    crow_wave_counts_t counts[CROW_PLAN_MAX_WAVES];
    uint32_t rb_involved[CROW_PLAN_MAX_WAVES]; /* hosts told to activate (silent ones too) */
    uint32_t rb_back[CROW_PLAN_MAX_WAVES];     /* of those, rolled back */
    uint32_t rb_failed[CROW_PLAN_MAX_WAVES];   /* of those, rollback failed or silent without one */
    uint64_t work; /* crow_rollout_work: counted through const lookups, hence here */
};

/* Allocates an empty index with room for cap hosts (a power of two, at least 64). 0 or -ENOMEM. */
int rollout_index_new(struct rollout_index **out, uint32_t cap);
void rollout_index_free(struct rollout_index *ix);
/* Empties it (no host, no member, counts zero), keeping its room and its work count. */
void rollout_index_clear(struct rollout_index *ix);

/* Index of the host named name in hosts (count of them), or UINT32_MAX. *probes += slots looked at. */
uint32_t rollout_index_find(const struct rollout_index *ix, const crow_rollout_host_t *hosts,
                            const char *name, uint64_t *probes);
/* Adds hosts[i] by its name (not present yet; i < cap). */
void rollout_index_add(struct rollout_index *ix, const crow_rollout_host_t *hosts, uint32_t i);

void rollout_index_put(struct rollout_index *ix, enum rollout_set kind, uint32_t wave, uint32_t i,
                       int member);
/* The lowest member of a wave's set, or UINT32_MAX. *probes += words looked at. */
uint32_t rollout_index_first(const struct rollout_index *ix, enum rollout_set kind, uint32_t wave,
                             uint64_t *probes);

/* Sets host i's last poll (UINT64_MAX: it cannot expire). */
void rollout_index_poll(struct rollout_index *ix, uint32_t i, uint64_t seen_ms);
/* The earliest last poll of a watched host, or UINT64_MAX. */
uint64_t rollout_index_oldest_poll(const struct rollout_index *ix);
/* The lowest host whose last poll is at or before cutoff_ms, or UINT32_MAX. *probes += nodes. */
uint32_t rollout_index_first_polled_by(const struct rollout_index *ix, uint64_t cutoff_ms, uint64_t *probes);

#endif
