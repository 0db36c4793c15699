/* `crowcast demo`: a tracker, a seeder and peers in racks on loopback, a generated release, a live
 * view and a final report. Every process is a real `crowcast` started from this binary. */
#ifndef CROWCAST_DEMO_H
#define CROWCAST_DEMO_H

#include <stdbool.h>
#include <stdint.h>

struct crow_demo_config {
    uint64_t size;           /* release bytes */
    unsigned racks;          /* 1..9 */
    unsigned peers_per_rack; /* 1..50 */
    uint64_t rate;           /* multicast bits/s per rack group */
    uint32_t loss_ppm;       /* injected loss per peer, per million datagrams */
    uint32_t chunk_size;     /* datagram payload bytes */
    const char *workdir;     /* NULL: a new directory under /tmp, removed afterwards */
    bool keep;               /* keep the work directory */
    bool live;               /* redraw a live view (a terminal); otherwise a line per second */
    bool json;               /* the final report as JSON on stdout */
    double timeout;          /* give up after this many seconds */
};

/* Returns 0 when every peer verified and published the release, 1 when one did not, 2 for bad
 * usage, 3 for a setup error, 130 when interrupted. */
int crow_demo_run(const struct crow_demo_config *cfg);

#endif
