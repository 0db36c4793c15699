/* The tracker registry's state, shared by its two files:
 *   tracker_registry.c         the registry: swarms, chains, announces, expiry, scrape
 *   tracker_registry_render.c  its rendering: the JSON status and the Prometheus metrics text
 * Nothing outside src/engine includes this; callers use crowcast/tracker_registry.h. */
#ifndef CROWCAST_ENGINE_TRACKER_REGISTRY_INTERNAL_H
#define CROWCAST_ENGINE_TRACKER_REGISTRY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "crowcast/tracker_registry.h"

struct peer {
    uint32_t rack, addr;
    uint16_t port;
    bool seeder;
    int16_t hook;   /* last --on-complete exit status announced (hook=N), -1 before any */
    uint8_t mcast;  /* its last announce's mcast= report (enum crow_mcast_report) */
    bool has_need;  /* its last announce's need= map */
    bool sending;   /* its last announce's sending=1: a seeder whose passes are not over */
    bool streaming; /* ... and streaming=1: multicasting now */
    crow_need_map_t need;
    uint8_t peer_id[CROW_PEER_ID_LEN];
    uint64_t left, first_seen, last_seen;
    uint64_t joined; /* join number: when it entered its current chain (lowest = chain head) */
};

struct swarm {
    uint8_t info_hash[CROW_INFO_HASH_LEN];
    uint32_t count, complete;
    uint64_t downloaded, created;
    struct peer *peers; /* max_peers_per_swarm slots, sorted by (rack, addr, port) */
};

struct crow_tracker_registry {
    crow_tracker_registry_config_t cfg;
    const crow_racks_t *racks;
    struct swarm *swarms; /* max_swarms; a swarm is in use when listed in `order` */
    uint32_t *order;      /* indices of swarms in use, sorted by info hash */
    uint32_t *free_slots; /* indices of unused swarms (a stack) */
    uint32_t active, free_count;
    struct peer *pool;
    uint64_t next_deadline;
    uint64_t announces, rejected, expired;
    uint64_t joins; /* join numbers handed out; 64 bits never wrap */
};

/* The head of the chain [lo, hi) of swarm s: the member that joined it first (decided here alone). */
uint32_t crow_tracker_registry_chain_head(const struct swarm *s, uint32_t lo, uint32_t hi);

#endif
