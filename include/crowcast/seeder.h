/* The seeder role: multicasts a release to one or more groups, paced, pass after pass, and serves
 * it over TCP (BitTorrent peer wire) to any peer. */
#ifndef CROWCAST_SEEDER_H
#define CROWCAST_SEEDER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#define CROW_MAX_GROUPS 64

struct crow_seeder_config {
    const char *torrent; /* manifest path */
    const char *path;    /* the release: the file (single-file) or the directory */
    struct sockaddr_in groups[CROW_MAX_GROUPS];
    unsigned group_count;      /* 0: no multicast (TCP seeding only) */
    struct in_addr iface;      /* multicast source interface */
    uint64_t rate;             /* bits/s per group */
    unsigned passes;           /* multicast passes over the release; 0 = until stopped */
    int ttl;                   /* multicast TTL */
    bool mcast_loop;           /* deliver to receivers on this host too */
    double beacon_interval;    /* seconds between BEACONs */
    struct sockaddr_in listen; /* TCP seeding address; port 0 = no TCP */
    const char *tracker;       /* --tracker URL: announce there only; NULL: to the manifest's
                                  trackers (announce-list tiers, else announce) */
    bool no_tracker;           /* --no-tracker: announce to none */
    bool json;                 /* machine-readable events on stdout */
    const char *metrics;       /* --metrics FILE: Prometheus text, rewritten every 5 s and at exit */
    const char *mcast_key;     /* --mcast-key FILE, as crowcast/getter.h says */
    double linger;     /* bound in seconds on serving TCP after the last pass (crowcast/seeder_policy.h
                          says when it leaves sooner); negative: until stopped */
    double wait_peers; /* with a tracker, seconds to wait for a peer before multicasting; < 0: until
                          one comes, 0: at once */
};

/* Runs the seeder until its passes are done and (when serving TCP) it is no longer needed (see
 * crowcast/seeder_policy.h), or
 * SIGINT/SIGTERM. Returns a crow exit code (0 ok, 2 bad manifest/usage, 3 I/O). */
int crow_seeder_run(const struct crow_seeder_config *cfg);

#endif
