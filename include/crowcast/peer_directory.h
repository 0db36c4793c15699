/* Where each neighbour sits, by address, as the tracker says (or the operator, with --peer), sans I/O.
 *
 * A peer's place decides which pieces it may be asked for and how early (crowcast/picker.h). It is
 * taken from the tracker, which maps every peer's address to a rack and lists the asking peer's
 * rack neighbours in chain order (i-1, i+1, i-2, i+2 ...: entry k is at chain distance k/2 + 1),
 * and never from what a peer says of itself. An address nobody named is an unknown, far neighbour:
 * another rack's, ranked after every named one.
 *
 * Addresses are matched without the port: an incoming connection comes from an ephemeral port, and
 * a host runs one peer per release. Memory: `cap` entries, allocated by crow_peer_directory_init.
 */
#ifndef CROWCAST_PEER_DIRECTORY_H
#define CROWCAST_PEER_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/announce.h"

#define CROW_PEER_DISTANCE_UNKNOWN (UINT32_MAX / 2) /* farther than any named neighbour */
#define CROW_PEER_DISTANCE_FOREIGN 1000u            /* a named seeder or another rack's peer */

typedef struct crow_peer_place {
    uint32_t distance; /* chain distance (1 = adjacent) */
    bool same_rack;    /* in our rack */
    bool named;        /* the tracker or --peer named it; false: unknown, far */
} crow_peer_place_t;

typedef struct crow_peer_directory_entry {
    uint32_t addr; /* IPv4, host order */
    crow_peer_place_t place;
    bool from_tracker; /* replaced by the next tracker list; else given by the operator */
} crow_peer_directory_entry_t;

typedef struct crow_peer_directory {
    crow_peer_directory_entry_t *entries;
    size_t count, cap;
} crow_peer_directory_t;

/* Room for `cap` named peers. Returns 0 or -ENOMEM. */
int crow_peer_directory_init(crow_peer_directory_t *d, size_t cap);
void crow_peer_directory_dispose(crow_peer_directory_t *d);

/* Names a peer for the whole session (a --peer, or the seeder found through its BEACON). Returns 0,
 * or CROW_ELIMIT when the directory is full (the peer stays unknown). */
int crow_peer_directory_add(crow_peer_directory_t *d, uint32_t addr, uint32_t distance, bool same_rack);
/* The tracker's latest neighbour list, in its order, replaces the previous one. Peers that do not fit
 * stay unknown. in_rack: the tracker put us in a named rack; then a complete peer it does not flag as
 * another rack's is a rack neighbour like the others (it finished first). Without racks, a complete
 * peer (the seeder, or one that finished) is a far source, for the chain head only. */
void crow_peer_directory_set_tracker_list(crow_peer_directory_t *d, const crow_announce_peer_t *peers,
                                          size_t n, bool in_rack);
/* The place of `addr`: its nearest naming, or an unknown, far neighbour. */
crow_peer_place_t crow_peer_directory_place(const crow_peer_directory_t *d, uint32_t addr);

#endif
