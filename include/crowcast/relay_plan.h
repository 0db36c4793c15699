/* A rack relay's decisions, sans I/O (issue 15): whether this peer is its rack's relay (the tracker
 * says so, "relay": 1 with the rack's group, crowcast/racks.h), and what its stream sends next.
 *
 * The relay streams the release into its rack as its pieces verify, not once it is complete: a need
 * segment (crowcast/stream_need.h) goes to the stream once every piece of it verified, each segment
 * once. The stream's single pass is held open (catching up, crowcast/mcast_sender.h) while segments
 * are still to come, and closed once every segment went to it.
 */
#ifndef CROWCAST_RELAY_PLAN_H
#define CROWCAST_RELAY_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "crowcast/announce.h"
#include "crowcast/bitfield.h"
#include "crowcast/need_map.h"

typedef struct crow_relay_plan {
    uint32_t piece_count, segments;
    crow_need_map_t taken; /* segments handed to the stream */
    bool relay;            /* the tracker's last answer named this peer its rack's relay */
    uint32_t group;        /* the rack's group (host order) and port, while relay */
    uint16_t port;
} crow_relay_plan_t;

enum crow_relay_change {
    CROW_RELAY_SAME,  /* nothing changed */
    CROW_RELAY_START, /* named relay now (or for another group): stream into plan->group:port */
    CROW_RELAY_STOP,  /* no longer relay (another peer took the role): stop streaming */
};

void crow_relay_plan_init(crow_relay_plan_t *p, uint32_t piece_count);

/* A tracker answer's crowcast dictionary. A relay named for another group than before restarts. */
enum crow_relay_change crow_relay_plan_answer(crow_relay_plan_t *p, const crow_crowcast_info_t *c);

/* The segments every piece of which is in `verified` and that were not taken yet: written to *out
 * (cleared first) and marked taken. Returns their number. */
uint32_t crow_relay_plan_take(crow_relay_plan_t *p, const crow_bitfield_t *verified, crow_need_map_t *out);

/* Every segment was taken: the stream's pass may close. */
bool crow_relay_plan_all_taken(const crow_relay_plan_t *p);

/* Forget what was taken (a new stream after a stop starts over). */
void crow_relay_plan_restart(crow_relay_plan_t *p);

#endif
