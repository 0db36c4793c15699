/* The tracker's (and the operator's) word on where each neighbour sits; see crowcast/peer_directory.h. */
#include <errno.h>
#include <stdlib.h>

#include "crowcast/error.h"
#include "crowcast/peer_directory.h"

int crow_peer_directory_init(crow_peer_directory_t *d, size_t cap)
{
    d->count = 0;
    d->cap = cap;
    d->entries = calloc(cap ? cap : 1, sizeof *d->entries);
    return d->entries ? 0 : -ENOMEM;
}

void crow_peer_directory_dispose(crow_peer_directory_t *d)
{
    free(d->entries);
    d->entries = NULL;
    d->count = d->cap = 0;
}

static int add(crow_peer_directory_t *d, uint32_t addr, uint32_t distance, bool same_rack, bool from_tracker)
{
    if (d->count == d->cap)
        return CROW_ELIMIT;
    d->entries[d->count++] =
        (crow_peer_directory_entry_t){.addr = addr,
                                      .place = {.distance = distance, .same_rack = same_rack, .named = true},
                                      .from_tracker = from_tracker};
    return 0;
}

int crow_peer_directory_add(crow_peer_directory_t *d, uint32_t addr, uint32_t distance, bool same_rack)
{
    return add(d, addr, distance, same_rack, false);
}

void crow_peer_directory_set_tracker_list(crow_peer_directory_t *d, const crow_announce_peer_t *peers,
                                          size_t n, bool in_rack)
{
    size_t kept = 0;
    for (size_t i = 0; i < d->count; i++)
        if (!d->entries[i].from_tracker)
            d->entries[kept++] = d->entries[i];
    d->count = kept;
    for (size_t k = 0; k < n; k++) {
        bool same_rack =
            !(peers[k].flags & CROW_PEER_OTHER_RACK) && (in_rack || !(peers[k].flags & CROW_PEER_SEEDER));
        uint32_t distance = same_rack ? (uint32_t)(k / 2 + 1) : CROW_PEER_DISTANCE_FOREIGN;
        if (add(d, peers[k].addr, distance, same_rack, true))
            break;
    }
}

crow_peer_place_t crow_peer_directory_place(const crow_peer_directory_t *d, uint32_t addr)
{
    crow_peer_place_t best = {.distance = CROW_PEER_DISTANCE_UNKNOWN};
    for (size_t i = 0; i < d->count; i++) {
        const crow_peer_place_t *p = &d->entries[i].place;
        if (d->entries[i].addr != addr)
            continue;
        /* The same host named twice (two ports, or a --peer the tracker also lists): its nearest place. */
        if (!best.named || p->same_rack > best.same_rack ||
            (p->same_rack == best.same_rack && p->distance < best.distance))
            best = *p;
    }
    return best;
}
