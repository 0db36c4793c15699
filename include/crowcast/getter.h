/* The getter role (`crowcast get`, README "Words"): receives a release from its rack's multicast group,
 * repairs the gaps over TCP from neighbours, verifies every piece, publishes the release atomically, then
 * keeps seeding for its neighbours for a while. */
#ifndef CROWCAST_GETTER_H
#define CROWCAST_GETTER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#define CROW_MAX_STATIC_PEERS 64

/* Exit codes of `crowcast get` (also in its --help and the README). */
enum crow_get_exit {
    CROW_GET_OK = 0,         /* verified and published */
    CROW_GET_INCOMPLETE = 1, /* the sources ended before every piece verified (missing chunks listed) */
    CROW_GET_USAGE = 2,      /* bad arguments or manifest */
    CROW_GET_IO = 3,         /* disk or network error (e.g. disk full); nothing published */
    CROW_GET_HOOK = 4,       /* published, but the --on-complete command failed */
    CROW_GET_UNTRUSTED = 5,  /* --trust: not signed by a trusted key; nothing fetched, nothing written */
    CROW_GET_INTERRUPTED = 130,
};

struct crow_keyring;

struct crow_getter_config {
    const char *torrent;
    const struct crow_keyring *trust; /* --trust: only a release one of these keys signed is
                                         fetched; NULL: any (release_sig.h) */
    const char *outdir;
    bool no_mcast;            /* TCP only (--no-mcast); otherwise a group is joined when given or
                                 when a tracker is announced to (it names the rack's group) */
    struct sockaddr_in group; /* --mcast GROUP:PORT; port 0 when not given */
    struct in_addr iface;     /* interface address to join on and to connect from */
    struct sockaddr_in peers[CROW_MAX_STATIC_PEERS];
    unsigned peer_count;       /* static TCP peers */
    const char *tracker;       /* --tracker URL: announce there only; NULL: to the manifest's
                                  trackers (announce-list tiers, else announce), see
                                  crowcast/tracker_tiers.h */
    bool no_tracker;           /* --no-tracker: announce to none */
    struct sockaddr_in listen; /* where neighbours connect to us; port 0 = pick one */
    double mcast_timeout;      /* seconds without a datagram before falling back to TCP only */
    double seed_time;          /* seconds to keep seeding after completion */
    uint64_t relay_rate;       /* --relay-rate: bits/s of the stream a rack relay sends (issue 15) */
    const char *previous;      /* --previous OLD.torrent: a previous release to take pieces from */
    const char *previous_path; /* --previous-path: where it lies (its file or top directory) */
    const char *on_complete;   /* shell command run after publishing */
    bool json;                 /* machine-readable events on stdout */
    const char *metrics;       /* --metrics FILE: Prometheus text, rewritten every 5 s and at exit */
    const char *mcast_key;     /* --mcast-key FILE: the fleet secret; NULL: /etc/crowcast/mcast.key
                                  if it exists; "none": datagrams are not authenticated */
    bool progress;             /* a live view on the terminal */
    uint32_t test_loss_ppm;    /* test-only: drop this many DATA datagrams per million, */
    uint64_t test_loss_seed;   /* deterministically from this seed */
    double test_exit_after;    /* test-only: exit abruptly after this many seconds (0: never) */
};

int crow_getter_run(const struct crow_getter_config *cfg);

#endif
