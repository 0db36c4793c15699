/* Announce client on the loop: HTTP/1.1 GET /announce to a tracker over crow_tcp, one request at a
 * time, with a connect+response timeout. Used by `get` (as a downloader) and `seed` (as the seeder).
 * With several trackers (a manifest's BEP 12 tiers) an announce that fails at one goes on to the
 * next, as crowcast/tracker_tiers.h decides; the callback hears only how the announce ended.
 */
#ifndef CROWCAST_APP_ANNOUNCER_H
#define CROWCAST_APP_ANNOUNCER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "crowcast/announce.h"
#include "crowcast/loop.h"
#include "crowcast/tracker_tiers.h"

#define CROW_ANNOUNCER_MAX_PEERS  200
#define CROW_ANNOUNCER_MAX_GROUPS 64

struct crow_announcer_config {
    const crow_tracker_tiers_t *trackers; /* copied; URLs http[s]://A.B.C.D:PORT/path (IPv4 literal) */
    const uint8_t *info_hash;             /* 20 bytes */
    const uint8_t *peer_id;               /* 20 bytes */
    uint16_t port;                        /* our peer-wire listening port */
    struct in_addr bind;                  /* source address of the connection (the tracker sees it) */
    const char *rack;                     /* announce this rack name, or NULL */
    int32_t numwant;                      /* CROW_NUMWANT_ABSENT for the tracker's default */
    bool want_groups;                     /* seeder: ask for every rack's multicast group (groups=1) */
    double timeout;                       /* seconds for connect + response */
};

/* What one announce returned. Valid only during the callback. */
struct crow_announce_outcome {
    int error;                            /* 0, or a negative code (connect, timeout, HTTP, parse) */
    const char *failure;                  /* the tracker's "failure reason" (NUL-terminated), or NULL */
    const crow_announce_result_t *result; /* when error == 0 and failure == NULL */
    const crow_announce_peer_t *peers;    /* result->peer_count entries */
    const struct sockaddr_in *groups;     /* want_groups: every rack's group, deduplicated */
    unsigned group_count;
};

/* Called with every announce's outcome; a failure has been logged already (warned once per
 * distinct problem, see crow_announcer_problem). */
typedef void (*crow_announcer_cb)(void *ctx, const struct crow_announce_outcome *o);

typedef struct crow_announcer crow_announcer_t;

/* Disables in `t` every tracker whose URL the announcer cannot speak (not http[s]://IPv4[:PORT]/...),
 * warning once for each as `role` ("get", "seed") when some usable tracker remains (a single bad
 * URL is the caller's error to report). Returns how many usable trackers remain. */
uint32_t crow_announcer_filter(crow_tracker_tiers_t *t, const char *role);

/* Chooses the trackers for `role` ("get", "seed") from --tracker, --no-tracker or the manifest m
 * (loaded from `torrent`), then drops those the announcer cannot speak (crow_announcer_filter).
 * Returns how many usable remain, or -1 when some were listed and none is usable: then it said why
 * on stderr, naming `alternative` (the command's other sources, e.g. "--mcast or --peer"). */
int crow_announcer_choose(crow_tracker_tiers_t *t, const crow_manifest_t *m, const char *torrent,
                          const char *tracker, bool no_tracker, const char *role, const char *alternative);

/* Needs a usable tracker in cfg->trackers (CROW_EUSAGE otherwise; run crow_announcer_filter
 * first). The callback fires once per announce, never from inside crow_announcer_announce. */
int crow_announcer_new(crow_announcer_t **out, crow_loop_t *loop, const struct crow_announcer_config *cfg,
                       crow_announcer_cb cb, void *ctx);
/* Sends an announce. If one is in flight, this one replaces any queued one and goes right after it
 * (a "stopped" or "completed" event is never lost). Returns 0 or a negative code. */
int crow_announcer_announce(crow_announcer_t *a, enum crow_announce_event event, uint64_t uploaded,
                            uint64_t downloaded, uint64_t left);
/* Adds hook=CODE (the --on-complete command's exit status) to every later announce. */
void crow_announcer_set_hook_status(crow_announcer_t *a, int code);
/* Adds mcast=lit|dark (what the peer sees of the multicast stream) to later announces; NONE: none. */
void crow_announcer_set_mcast_report(crow_announcer_t *a, enum crow_mcast_report report);
/* Adds need=MAP (what the peer still needs from the stream, crowcast/stream_need.h) to later
 * announces, or no need= when !known. */
void crow_announcer_set_need(crow_announcer_t *a, bool known, const crow_need_map_t *need);
/* Adds sending=1 (a seeder whose multicast passes are not over) and streaming=1 (it multicasts now)
 * to later announces, or nothing. */
void crow_announcer_set_sending(crow_announcer_t *a, bool sending, bool streaming);
/* Adds lead=1 (the peer acts as its rack's chain head) to later announces. */
void crow_announcer_set_lead(crow_announcer_t *a, bool lead);
/* True while a request is in flight or queued. */
/* The last announce's problem ("" after an answer): what a peer waiting for the tracker shows. */
const char *crow_announcer_problem(const crow_announcer_t *a);
bool crow_announcer_busy(const crow_announcer_t *a);
/* Abandons what is in flight; freed once the loop returned every buffer. */
void crow_announcer_free(crow_announcer_t *a);

#endif
