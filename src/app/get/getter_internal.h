/* State of the peer role, shared by getter.c (reception, completion) and getter_sources.c (where
 * data comes from: multicast group, static peers, tracker-assigned neighbours). */
#ifndef CROWCAST_APP_GETTER_INTERNAL_H
#define CROWCAST_APP_GETTER_INTERNAL_H

#include <netinet/in.h>

#include "crowcast/dgram_auth.h"
#include "crowcast/getter.h"
#include "crowcast/loop.h"
#include "crowcast/manifest.h"
#include "crowcast/mcast_receiver.h"
#include "crowcast/peer_directory.h"
#include "crowcast/peer_policy.h"
#include "crowcast/picker.h"
#include "crowcast/relay_plan.h"
#include "crowcast/storage.h"
#include "crowcast/udp.h"
#include "announcer.h"
#include "mcast_stream.h"
#include "metrics_file.h"
#include "peers.h"
#include "piece_store.h"
#include "spawn.h"

struct getter {
    const struct crow_getter_config *cfg;
    crow_loop_t *loop;
    crow_manifest_t m;
    crow_staging_t *staging;
    crow_piece_store_t *store;
    crow_mcast_receiver_t rx;
    crow_udp_rx_t *udp;
    crow_picker_t *picker;
    crow_peers_t *peers;
    crow_peer_directory_t directory; /* where neighbours sit: the tracker's list and --peer */
    crow_announcer_t *announcer;
    crow_signals_t *signals;
    crow_op_t tick;
    uint64_t tick_at; /* when the armed tick fires */
    crow_op_t soon;   /* brings a decision forward when the engine's deadline moves before tick_at */
    bool soon_armed;
    crow_peer_policy_t policy; /* stream liveness, announce schedule, what we wait for */
    struct crow_metrics_file metrics;
    crow_picker_needs_t needs; /* the picker's view at the last tick */
    uint64_t started_ns, completed_ns, last_tick_ns, last_tick_bytes;
    uint64_t next_second_ns; /* the tick's once-a-second work (progress, hook, seeding, metrics) */
    uint64_t seed_until_ns;
    int64_t swarm_incomplete;
    uint64_t bytes_mcast, bytes_tcp;
    uint64_t frontier;    /* release byte the multicast stream has passed */
    int8_t catch_up_seen; /* crow_mcast_receiver_catches_up as last acted on */
    bool mcast_given, completed, done;
    bool leading; /* acting as the rack's chain head: the named one brought nothing (crow_peer_policy lead) */
    struct sockaddr_in seeder_dialled; /* the BEACON-advertised TCP seed dialled last (no tracker) */
    crow_dgram_key_t key;              /* with a fleet secret: datagrams without a valid tag are dropped */
    bool keyed;                        /* ... and the relay's stream is sealed with it */
    crow_relay_plan_t relay_plan;      /* getter_relay.c: the rack relay's role and progress */
    crow_mcast_stream_t *relay_stream; /* while relaying */
    struct sockaddr_in relay_group;
    bool relay_waiting;  /* the stream's pass sent what it had and waits for segments */
    bool relay_finished; /* the stream ended (or was stopped) */
    uint64_t next_redial_ns;
    char rack[40];
    struct crow_child hook; /* the --on-complete command while it runs */
    bool hook_running;
    int result;

    crow_tracker_tiers_t trackers; /* chosen at start; the announcer works on its own copy */
    bool tracker;                  /* announces to a tracker */
    bool mcast;                    /* joins a group: given, or named by the tracker */
};

/* getter.c */
uint64_t getter_datagrams_lost(const struct getter *g);
uint64_t getter_kernel_drops(const struct getter *g);
void getter_event_simple(struct getter *g, const char *name, const char *key, const char *value);
/* Joins a multicast group; 0 or a negative code (then the peer goes on over TCP only). */
int getter_join(struct getter *g, const struct sockaddr_in *group);

/* The --on-complete command ended with `code`: report it (event, tracker, exit status). */
void getter_hook_done(struct getter *g, int code);

/* Runs the peer's decisions on what the picker sees now and carries them out (announce, give up
 * on a silent stream, report what it waits for). */
void getter_decide(struct getter *g);
/* After an event that may move the peer policy's deadline closer (a tracker answer): wakes the
 * decisions at that deadline rather than at the next tick. */
void getter_wake_for_deadline(struct getter *g);

/* A source of the release is known to exist: the multicast silence clock starts now. */
void getter_source_known(struct getter *g);

/* getter_metrics.c: --metrics, when due (every few seconds) or `final` (at exit). */
void getter_write_metrics(struct getter *g, bool final);

/* getter_sources.c */
/* Picks the trackers (--tracker, --no-tracker or the manifest's) and with them whether a group is
 * joined; a get with no source at all is a usage error. Returns 0 or CROW_GET_USAGE (said why). */
int getter_choose_trackers(struct getter *g);
/* Announces now (with a tracker); `ev` as BEP 3's event. */
/* On the multicast path (a group joined), and the segments it lacks (crowcast/stream_need.h). */
bool getter_on_stream(const struct getter *g);
void getter_need(const struct getter *g, crow_need_map_t *out);
void getter_announce(struct getter *g, enum crow_announce_event ev);
int getter_start_sources(struct getter *g);
void getter_stop_sources(struct getter *g);
bool getter_has_tcp(const struct getter *g);
/* The multicast frontier moved, the stream ended, went silent or came back: tell the picker. */
void getter_peers_frontier(struct getter *g);
/* A piece failed verification: its TCP sources are blamed (and dropped after enough strikes), unless
 * multicast chunks were in it (`mixed`: the bad bytes may be a forger's), then the picker asks for it
 * again. */
void getter_peers_failed(struct getter *g, uint32_t piece, bool mixed);
void getter_peers_have(struct getter *g, uint32_t piece);
/* A BEACON (`main`: from the stream's main source, crowcast/mcast_receiver.h): without a tracker
 * its TCP port is the last-resort source. The first BEACON's sender is dialled, and then each new
 * main source's, so a forger's BEACON that came first is not the seeder for good. */
void getter_on_beacon(struct getter *g, const crow_dgram_beacon_t *b, const struct sockaddr_in *from,
                      bool main);
void getter_emit_sources(struct getter *g);
void getter_hook_reported(struct getter *g, int code);
void getter_on_tcp_bytes(void *ctx, uint64_t bytes);
/* Multicast cannot be used (join failed, no group assigned): fetch everything over TCP. */
void getter_mcast_unavailable(struct getter *g);
/* Completion done: seed for neighbours until --seed-time or the rack is complete, then stop. */
void getter_after_complete(struct getter *g);
void getter_tick(struct getter *g, uint64_t now);

/* getter_relay.c: the rack relay. A tracker answer's crowcast dictionary (starts or stops relaying);
 * a piece verified (the stream may go on); whether the stream still runs (the get waits for it after
 * completing); stop it (at exit, or when another peer relays). */
void getter_relay_answer(struct getter *g, const crow_crowcast_info_t *cc);
void getter_relay_verified(struct getter *g);
bool getter_relay_busy(const struct getter *g);
void getter_relay_stop(struct getter *g);

#endif
