/* The simulated datacenter: its configuration, its hosts (peers, one seeder, one tracker), the
 * network between them, and the calls the pieces of the simulator make on each other.
 *
 * Hosts 0 .. N-1 are peers, host N the seeder, host N+1 the tracker. Peer h of rack r has address
 * 10.0.0.0 + (r+1) << 12 + h + 1 (a /20 per rack); the seeder and the tracker sit outside the racks,
 * on the fabric. Every rack has the same multicast group: the fabric carries one copy of each
 * datagram to every rack, and the rack's switch one to each of its hosts.
 *
 * Files: sim_world.c (setup, the event loop, crashes, results), sim_spec.c (scenario arguments),
 * sim_mcast.c (datagrams through the fabric), sim_tcp.c (connections carrying real peer-wire bytes,
 * block payloads elided), sim_peer.c (the peer's glue, as src/app/get/getter*.c and peers.c drive the
 * engines), sim_seeder.c (as src/app/seed/seeder.c), sim_tracker.c (as src/app/tracker/tracker*.c, and the
 * announce transport); beside them sim_property.c (the property check's scenarios) and
 * sim_rollout.c (the rollout coordinator under simulated agents). */
#ifndef CROWCAST_SIM_WORLD_H
#define CROWCAST_SIM_WORLD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "crowcast/announce.h"
#include "crowcast/manifest.h"
#include "crowcast/mcast_receiver.h"
#include "crowcast/mcast_sender.h"
#include "crowcast/peer_directory.h"
#include "crowcast/peer_policy.h"
#include "crowcast/peer_session.h"
#include "crowcast/picker.h"
#include "crowcast/racks.h"
#include "crowcast/seeder_policy.h"
#include "crowcast/tracker_registry.h"
#include "sim_link.h"
#include "sim_rng.h"
#include "sim_sched.h"

#define SIM_MAX_CRASHES 8
#define SIM_NS          1000000000ull

enum sim_start_order {
    SIM_START_TOGETHER,     /* every host at t=0 */
    SIM_START_SEEDER_FIRST, /* the seeder and tracker at 0, the peers spread over `spread` */
    SIM_START_SEEDER_LAST,  /* the peers spread over `spread`, then the seeder */
    SIM_START_RANDOM,       /* every host (seeder included) at a random time within `spread` */
};

enum sim_who { SIM_WHO_PEER, SIM_WHO_SEEDER, SIM_WHO_TRACKER };

typedef struct sim_crash {
    enum sim_who who;
    uint32_t host;    /* SIM_WHO_PEER: which */
    uint64_t at_ns;   /* kill -9 */
    uint64_t down_ns; /* restarted this long after */
} sim_crash_t;

/* Loss where it sits (sim_link.h); parsed from --loss by sim_loss_parse. */
typedef struct sim_loss_spec {
    sim_loss_t host; /* every host's downlink, each with its own state */
    uint32_t rack;   /* a rack whose downlink from the fabric loses (UINT32_MAX: none) */
    sim_loss_t rack_loss;
    uint32_t slow_host; /* a host whose NIC drains slower than the stream (UINT32_MAX: none) */
    double slow_factor; /* its drain rate, a share of the link rate */
} sim_loss_spec_t;

typedef struct sim_config {
    uint32_t racks, hosts_per_rack;
    uint64_t size; /* release bytes */
    uint32_t piece_length, chunk_size;
    uint64_t rate_bps;         /* every host's NIC (B in S/B) */
    uint64_t mcast_rate_bps;   /* the seeder's pacing (0: 95 % of rate_bps) */
    uint64_t rack_uplink_bps;  /* a rack's links to the fabric, each way (0: 4 x rate_bps) */
    uint64_t host_queue_bytes; /* a host's receive buffering (switch port and socket) */
    sim_loss_spec_t loss;
    enum sim_start_order start_order;
    uint64_t spread_ns;
    sim_crash_t crashes[SIM_MAX_CRASHES];
    uint32_t crash_count;
    uint64_t seed_time_ns; /* a complete peer serves this long (or until the tracker shows none incomplete) */
    uint64_t limit_ns;     /* simulated time after which the run gives up */
    uint64_t seed;
    FILE *log;              /* every event as a line, or NULL */
    uint64_t junk_every_ns; /* a stray sender on the group: a junk or another session's datagram this
                               often, to every rack (0: none) */
    /* Deliberate faults (--fault), each one the project once had, for the property check to catch: */
    bool fault_linger0;   /* the seeder leaves after its pass (--linger 0) */
    bool fault_junk;      /* any datagram, junk or another session's, resets a peer's silence clock */
    bool fault_two_heads; /* the registry judges seniority by the millisecond (peers of a rack that
                             start together are each told chain head) */
    bool tracker_dark;    /* a killed tracker's host answers nothing (else: connections refused) */
    uint32_t trace_host;  /* a peer whose announces and answers are told on `trace` (UINT32_MAX: none) */
    FILE *trace;
} sim_config_t;

typedef struct sim_result {
    bool all_verified;
    uint32_t verified;          /* peers verified at the end */
    double sb_s;                /* S/B in seconds */
    double p50_s, p99_s, max_s; /* completion, from each peer's (last) start */
    double last_done_s;         /* the last verification, simulated time since t=0 */
    double
        fabric_copies_per_rack; /* release copies into an average rack from the fabric (multicast and TCP) */
    double fabric_copies_max;
    uint64_t seeder_mcast_bytes, seeder_tcp_bytes;
    uint64_t announces;
    double announces_per_s;  /* at the tracker, over the run's simulated time */
    uint64_t datagrams_lost; /* dropped on links (loss models and full queues) */
    uint64_t tcp_bytes;      /* block bytes peers took over TCP */
    uint64_t events, hash;
    double sim_s;           /* simulated time at the end */
    uint32_t first_missing; /* a peer not verified (when !all_verified) */
    /* An invariant the run broke (it stopped there), or "": at most one live peer of a rack whose
     * last answer from the tracker (since it last started) said chain head. */
    char violation[160];
} sim_result_t;

/* Defaults: 2 racks x 4 hosts, 64 MiB, 1 MiB pieces, 8 KiB chunks, 10 Gbit/s, no loss, together. */
void sim_config_default(sim_config_t *c);
/* Parses a loss model: "none", or items joined by ',': random:P (each host's downlink loses P),
 * ge:P_GB:P_BG:LOSS (bursty, each host), rack:R:P (rack R's downlink from the fabric), slow:H:F (host
 * H drains at F x the link rate). Returns 0 or -EINVAL. */
int sim_loss_parse(sim_loss_spec_t *out, const char *text);
/* "together" | "seeder-first" | "seeder-last" | "random"; -EINVAL otherwise. */
int sim_start_parse(enum sim_start_order *out, const char *text);
/* "peer:H@T+D" | "seeder@T+D" | "tracker@T+D" (T, D in seconds); -EINVAL otherwise. */
int sim_crash_parse(sim_crash_t *out, const char *text);

/* Runs one simulated rollout. Returns 0 (see r->all_verified) or a negative code (bad config, or
 * out of memory). */
int sim_run(const sim_config_t *c, sim_result_t *r);

/* ---- inside the simulator ---- */

#define SIM_PORT      6881u
#define SIM_MAX_CONNS 64u /* each way, per host (peers.c's MAX_INCOMING / MAX_OUTGOING) */

enum sim_ev {
    SIM_EV_START,        /* obj host: (re)start */
    SIM_EV_KILL,         /* obj host: kill -9; arg: down ns */
    SIM_EV_PEER_DECIDE,  /* obj host, arg incarnation */
    SIM_EV_PEER_TICK,    /* obj host, arg incarnation: peers.c's 50 ms tick */
    SIM_EV_PEER_KICK,    /* obj host, arg incarnation: the flush after the stream's frontier moved */
    SIM_EV_SEEDER_PUMP,  /* arg incarnation: the sender's pacing timer */
    SIM_EV_SEEDER_TICK,  /* arg incarnation */
    SIM_EV_TRACKER_TICK, /* arg incarnation: expiry */
    SIM_EV_MC_FABRIC,    /* arg packet: a datagram reaches the fabric */
    SIM_EV_MC_RACK,      /* obj rack, arg packet: it reaches the rack's switch */
    SIM_EV_MC_HOST,      /* obj host, arg packet: it reaches the host's socket */
    SIM_EV_TCP_SYN,      /* obj conn: the connect reaches its target */
    SIM_EV_TCP_SYNACK,   /* obj conn: accepted (arg 1) or refused (arg 0), back at the dialler */
    SIM_EV_TCP_TOR,      /* obj conn, arg hop << 40 | dir << 32 | bytes: a segment reaches its next link */
    SIM_EV_TCP_DATA,     /* obj conn, arg dir << 32 | bytes: it reaches the receiver */
    SIM_EV_TCP_FIN,      /* obj conn, arg side that closed: the other side learns it */
    SIM_EV_ANNOUNCE,     /* obj host: its announce reaches the tracker */
    SIM_EV_ANSWER,       /* obj host, arg announce id: the tracker's answer reaches it */
    SIM_EV_ANN_TIMEOUT,  /* obj host, arg announce id */
    SIM_EV_JUNK,         /* the stray sender's next datagram (junk_every_ns) */
};

/* One datagram in flight: the engine's header (or whole control datagram), the payload elided. */
typedef struct sim_packet {
    uint8_t bytes[CROW_DGRAM_CONTROL_MAX];
    uint16_t bytes_len;
    uint32_t payload_len;
    uint32_t refs; /* deliveries still pending */
    bool stray;    /* the stray sender's (junk or another session's), not the release's */
} sim_packet_t;

/* One direction of a connection: the stream as the sender wrote it. Real bytes are kept (`real`);
 * the payload of every PIECE message is counted, not stored. Stream offsets count both. */
typedef struct sim_pipe {
    uint8_t *real;
    size_t real_len, real_read, real_cap;
    uint64_t produced; /* stream bytes the sender wrote */
    uint64_t sent;     /* handed to the network */
    uint64_t arrived;  /* reached the receiver */
    uint64_t consumed; /* parsed by the receiver */
    bool handshake_read;
} sim_pipe_t;

typedef struct sim_conn {
    uint32_t host[2]; /* 0: the dialler, 1: the target */
    uint32_t incarnation[2];
    crow_peer_session_t *s[2];
    bool open[2];  /* each side's socket is open */
    bool ready[2]; /* each side's session saw the remote handshake */
    bool established;
    sim_pipe_t pipe[2]; /* pipe[d]: from host[d] to host[1-d] */
} sim_conn_t;

typedef struct sim_peer sim_peer_t;
typedef struct sim_seeder sim_seeder_t;

typedef struct sim_host {
    uint32_t index, rack; /* rack CROW_RACK_NONE for the seeder and tracker */
    uint32_t addr;
    bool alive;
    uint32_t incarnation; /* bumped by every kill: stale timers are ignored */
    uint64_t started_at;  /* the last start */
    sim_link_t up, down;  /* NIC: towards the switch, and from it */
    uint32_t *conns;      /* connection ids this host has open */
    uint32_t nconns, conns_cap, nout, nin;
    /* announces (peers and the seeder) */
    uint64_t ann_id;
    bool ann_busy, ann_queued;
    crow_announce_req_t ann_req;  /* the next one, as the glue filled it */
    crow_announce_req_t ann_sent; /* the one in flight */
    crow_announce_resp_t ann_resp;
    crow_announce_peer_t *ann_peers;
    bool ann_ok;
    bool told_head; /* a peer whose last answer from this tracker incarnation said chain head */
    crow_peer_context_t ctx;
    uint8_t peer_id[CROW_WIRE_ID_LEN];
    union {
        sim_peer_t *peer;
        sim_seeder_t *seeder;
    };
} sim_host_t;

typedef struct sim_world {
    const sim_config_t *cfg;
    sim_sched_t sched;
    sim_rng_t rng;
    crow_manifest_t m;
    crow_manifest_file_t file;
    crow_racks_t racks;
    uint32_t npeers, seeder, tracker;
    sim_host_t *hosts;
    sim_link_t *rack_up, *rack_down; /* each rack's links to and from the fabric */
    uint64_t *rack_in_bytes;         /* release bytes into each rack from the fabric */
    sim_packet_t *packets;
    uint32_t npackets, packets_cap, *free_packets, nfree;
    sim_conn_t *conns;
    uint32_t nconns, conns_cap;
    crow_tracker_registry_t *registry; /* NULL while the tracker is down */
    uint64_t announces;
    uint8_t *scratch; /* a datagram or a PIECE message being handed to an engine */
    size_t scratch_cap;
    uint8_t *flushbuf; /* a session's flush writes here first (sim_tcp.c) */
    size_t flushbuf_cap;
    uint32_t verified;
    uint64_t seeder_tcp_bytes;
    uint64_t tcp_bytes;
    uint64_t junk_sent;
    char violation[160]; /* sim_result_t's: the run stops */
    int error;           /* the first failure of the glue (out of memory): the run stops */
} sim_world_t;

/* sim_world.c */
/* The racks file of `count` racks r0, r1 ... (rack R is 10.0.0.0 + (R+1)<<12 /20, one shared group),
 * parsed. Returns 0 or a crow_racks_parse / -ENOMEM code. */
int sim_racks_make(crow_racks_t *racks, uint32_t count);
uint64_t sim_now(const sim_world_t *w);
void sim_at(sim_world_t *w, uint64_t t, enum sim_ev kind, uint32_t obj, uint64_t arg);
void sim_fail(sim_world_t *w, int err);
/* One-way delay between two hosts for small messages (announces, connects). */
uint64_t sim_oneway_ns(const sim_world_t *w, uint32_t a, uint32_t b);
sim_host_t *sim_host_by_addr(sim_world_t *w, uint32_t addr);

/* sim_mcast.c */
void sim_mcast_send(sim_world_t *w, const crow_mcast_tx_t *tx);
void sim_mcast_event(sim_world_t *w, const sim_event_t *e);
/* The stray sender's datagram now, and its next one scheduled: by turns bytes that decode as no
 * datagram, and a DATA datagram of another session (of this release's geometry). */
void sim_mcast_junk_event(sim_world_t *w);
void sim_mcast_dispose(sim_world_t *w);

/* sim_tcp.c: connections between hosts. A session on each side is made by the side's glue
 * (sim_peer_session_new / the seeder's) when it connects or accepts. */
void sim_tcp_connect(sim_world_t *w, uint32_t from, uint32_t to);
bool sim_tcp_connected(const sim_world_t *w, uint32_t from, uint32_t to_addr);
void sim_tcp_event(sim_world_t *w, const sim_event_t *e);
void sim_tcp_flush_host(sim_world_t *w, uint32_t host);
void sim_tcp_close_host(sim_world_t *w, uint32_t host);
void sim_tcp_dispose(sim_world_t *w);

/* sim_peer.c */
/* Where `addr` sits for host h's sessions: the peer's directory (the tracker's word), or an unknown,
 * far neighbour (the seeder's, which ranks nobody). */
crow_peer_place_t sim_peer_place(const sim_world_t *w, const sim_host_t *h, uint32_t addr);
int sim_peer_start(sim_world_t *w, sim_host_t *h);
void sim_peer_stop(sim_world_t *w, sim_host_t *h);
void sim_peer_datagram(sim_world_t *w, sim_host_t *h, const uint8_t *buf, size_t len, uint64_t source);
void sim_peer_block(sim_world_t *w, sim_host_t *h, const crow_block_t *b);
void sim_peer_decide_event(sim_world_t *w, sim_host_t *h);
void sim_peer_tick_event(sim_world_t *w, sim_host_t *h);
void sim_peer_kick_event(sim_world_t *w, sim_host_t *h);
void sim_peer_answer(sim_world_t *w, sim_host_t *h);
bool sim_peer_verified(const sim_host_t *h);
uint64_t sim_peer_completed_at(const sim_host_t *h);
void sim_peer_free(sim_host_t *h);

/* sim_seeder.c */
int sim_seeder_start(sim_world_t *w, sim_host_t *h);
void sim_seeder_stop(sim_world_t *w, sim_host_t *h);
void sim_seeder_pump_event(sim_world_t *w, sim_host_t *h);
void sim_seeder_tick_event(sim_world_t *w, sim_host_t *h);
void sim_seeder_answer(sim_world_t *w, sim_host_t *h);
uint64_t sim_seeder_mcast_bytes(const sim_host_t *h);
void sim_seeder_free(sim_host_t *h);

/* sim_tracker.c: the tracker host, and announces to it */
int sim_tracker_start(sim_world_t *w);
void sim_tracker_stop(sim_world_t *w);
void sim_tracker_tick_event(sim_world_t *w);
/* Sends h->ann_req (filled by the caller, event included); one at a time per host, a later one
 * waits for the answer (as the announcer queues). */
void sim_announce(sim_world_t *w, sim_host_t *h);
void sim_announce_event(sim_world_t *w, const sim_event_t *e);

#endif
