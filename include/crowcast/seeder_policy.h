/* The seeder's decisions, sans I/O: when to start multicasting, when to stop multicasting into a
 * fabric that carries it to nobody, and when to leave (a seeder stays as long as it is needed). The
 * caller feeds events with the time (`now`, nanoseconds, monotonic) and asks crow_seeder_policy_tick
 * once a second and after every tracker answer.
 *
 * Starting. With a tracker and `wait_peers_ns` != 0, the first pass waits until the tracker shows an
 * incomplete peer (a pass sent before any peer joined its group reaches nobody, and every peer would
 * then fetch the release over TCP), polling every CROW_SEEDER_WAIT_POLL_NS; after wait_peers_ns (< 0:
 * never) it starts anyway. Without a tracker, or with wait_peers_ns 0, it starts at once.
 *
 * Multicast that reaches nobody. Incomplete peers tell the tracker whether datagrams of the session
 * arrive (mcast=lit|dark; the tracker counts them in every answer). Once the pass has run for
 * CROW_SEEDER_DARK_GRACE_NS (time for every peer to see the stream and say so), an answer received
 * after that with dark peers and no lit one ends the pass: the peers are on the TCP chain, and the
 * multicast would only take the seeder's link from them. During the passes the tracker is asked every
 * CROW_SEEDER_SEND_POLL_NS.
 *
 * What the peers lack. Incomplete peers send the tracker a map of the segments they lack
 * (crowcast/stream_need.h); the tracker ORs them ("need", known when every incomplete peer sent
 * one). Once the tracker shows peers, the first pass waits for that map too (a peer sends its first
 * one as it joins the stream), at most CROW_SEEDER_MAP_WAIT_NS after the peers showed up (some peer
 * sends none: no multicast, or an older version): then it starts anyway (CROW_SEEDER_START_NO_MAP). The
 * passes' scope is decided as they start (crow_seeder_policy_scope): with a known map, only its segments
 * (peers holding the previous release lack only the changed pieces: the pass sends those and nothing else; a
 * seeder restarted mid-pass sends what the swarm lacks), none at all when the map is empty (nobody needs
 * anything of the stream: the pass has no DATA); every segment without a tracker or a known map. The first
 * pass starts where the needed part begins. A pass under way ends as soon as the tracker reports no
 * incomplete peer.
 *
 * Catching up late joiners (cfg.catch_up). A peer that joins mid-pass misses what went by before it
 * joined; fetching that over TCP takes the seeder's link from the stream (a chain head repairing from
 * it mid-pass overflows the link's queue, and every host loses the same datagrams), and three racks'
 * heads fetch it over one link after the pass. Instead the last pass resends it before its final
 * ENDs, to everyone at once. The caller says which segments the pass has sent whole
 * (crow_seeder_policy_stream_sent, every tick); a segment in the tracker's need map although it went
 * out whole more than CROW_SEEDER_NEED_AGE_NS before the answer is missed: some peer on the stream
 * lacks half of it although the stream passed it long ago; so is one outside the passes' scope (a peer
 * that joined after the scope was decided lacks more than the others did: one holding nothing, among
 * hosts that hold the previous release). (A host that is seconds behind in its
 * socket buffer looks the same and draws resends it does not need: peers report what they lack,
 * which a restarted seeder's first pass and the delta pass must know, not only what went by.) When the last
 * pass has sent everything, crow_seeder_policy_catch_up names the missed segments not resent yet (each is
 * resent at most once, so catching up costs at most one more pass); the caller resends them, and asks again
 * when those went out, until nothing is left: then the final ENDs.
 *
 * During the passes the seeder stays. After the last pass:
 *   - serving no TCP: it leaves at once (nobody can repair from it);
 *   - with a tracker: it announces every CROW_SEEDER_POLL_NS and leaves once the tracker has shown
 *     peers of the release (incomplete > 0, or a complete peer besides the seeder) and then reports
 *     no incomplete peer in answers spanning CROW_SEEDER_QUIET_NS in a row (time without an answer,
 *     an announce waiting out its timeout, does not count). Until the tracker has shown any peer,
 *     it stays: the peers may not have started yet. A failed announce breaks the streak, and after
 *     one the tracker's "none incomplete" counts only from an announce interval later (peers that
 *     started while it was down, or that it forgot in a restart, announce to it again by then);
 *   - without a tracker, serving TCP: it leaves once no peer has been connected for
 *     CROW_SEEDER_IDLE_NS (counted from the end of the pass at the earliest; a seeder with no
 *     multicast at all, `tcp_only`, has no pass and counts only once a peer has come);
 *   - in every case at most `linger_ns` after the last pass (default CROW_SEEDER_LINGER_DEFAULT_NS);
 *     a negative linger means until stopped (no automatic stop while TCP is served); 0 leaves at the
 *     pass's end.
 * Every stop says why (crow_seeder_stop_reason).
 */
#ifndef CROWCAST_SEEDER_POLICY_H
#define CROWCAST_SEEDER_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "crowcast/stream_need.h"

#define CROW_SEEDER_LINGER_DEFAULT_NS     (600ull * 1000000000ull)
#define CROW_SEEDER_QUIET_NS              (5ull * 1000000000ull)
#define CROW_SEEDER_IDLE_NS               (15ull * 1000000000ull)
#define CROW_SEEDER_POLL_NS               (1ull * 1000000000ull)
#define CROW_SEEDER_SEND_POLL_NS          (250ull * 1000000ull)
#define CROW_SEEDER_WAIT_POLL_NS          (250ull * 1000000ull)
#define CROW_SEEDER_DARK_GRACE_NS         (500ull * 1000000ull)
#define CROW_SEEDER_WAIT_PEERS_DEFAULT_NS (600ull * 1000000000ull)
/* A peer refreshes a changed need map 2 s after its last announce (crowcast/peer_policy.h), and its
 * announce and our answer take a moment more: a segment counts as missed only once it went out
 * longer ago than any map in the tracker's OR can be old. */
#define CROW_SEEDER_NEED_AGE_NS (3500ull * 1000000ull)
/* Peers send their first map as they join the stream, a round trip after their first announce
 * (crowcast/peer_policy.h). One that sends none (no multicast, an older version) must not hold the
 * pass past the 1 s the others give its first datagram (CROW_PEER_FIRST_DATAGRAM_NS), less our poll. */
#define CROW_SEEDER_MAP_WAIT_NS (500ull * 1000000ull)

enum crow_seeder_verdict {
    CROW_SEEDER_STAY,
    CROW_SEEDER_STOP_NO_TCP,      /* the passes are over and nothing is served over TCP */
    CROW_SEEDER_STOP_NO_LINGER,   /* the passes are over and --linger 0 */
    CROW_SEEDER_STOP_COMPLETE,    /* the tracker reports every peer complete */
    CROW_SEEDER_STOP_IDLE,        /* no tracker, and no peer connected for a while */
    CROW_SEEDER_STOP_LINGER_OVER, /* the linger bound ran out */
};

typedef struct crow_seeder_policy_config {
    bool tracker;          /* announces to a tracker */
    bool serves_tcp;       /* serves the release over TCP */
    int64_t linger_ns;     /* bound after the last pass; < 0: until stopped */
    int64_t wait_peers_ns; /* with a tracker: wait this long for a peer before the first pass; < 0:
                              until one comes, 0: start at once */
    bool tcp_only;         /* no multicast at all: the passes count as done from the start */
    bool catch_up;         /* the last pass resends what late joiners missed (see above) */
} crow_seeder_policy_config_t;

/* What the passes send (crow_seeder_policy_scope). */
enum crow_seeder_scope {
    CROW_SEEDER_SCOPE_ALL,    /* every piece: no tracker, or no known map */
    CROW_SEEDER_SCOPE_NEEDED, /* the segments of the tracker's need map */
    CROW_SEEDER_SCOPE_NONE,   /* nothing: the map is known and empty */
};

enum crow_seeder_start {
    CROW_SEEDER_START_WAIT,    /* no peer yet: keep waiting */
    CROW_SEEDER_START_PEERS,   /* the tracker shows peers and their need map: start */
    CROW_SEEDER_START_NO_MAP,  /* the tracker shows peers, but not every one sent a map in time */
    CROW_SEEDER_START_AT_ONCE, /* no tracker, or no wait configured */
    CROW_SEEDER_START_TIMEOUT, /* waited wait_peers_ns for a peer in vain: start anyway */
};

/* Caller-allocated; read the fields, change them only through the calls below. */
typedef struct crow_seeder_policy {
    crow_seeder_policy_config_t cfg;
    bool passes_done, swarm_seen;
    bool served;         /* a peer has been connected at some tick */
    bool sending;        /* the passes started */
    bool ended_early;    /* the caller was told to end them (nobody receives, or nobody needs them) */
    uint64_t started_at; /* the policy's start (the seeder's) */
    uint64_t sending_since;
    uint64_t passes_done_at;
    int64_t incomplete; /* the tracker's last counts (-1 before any) */
    uint32_t lit, dark;
    bool has_need; /* the tracker's last "need" */
    crow_need_map_t need;
    uint64_t peers_at;     /* the first answer that showed an incomplete peer (0: none yet) */
    crow_need_map_t scope; /* the segments the passes send (decided by crow_seeder_policy_scope) */
    uint32_t segments;     /* the release's segments (crow_stream_segments), known with the scope */
    uint64_t answer_at;    /* when the last tracker answer came (0: none) */
    uint64_t quiet_since;  /* the tracker's first report of no incomplete peer in a row, or 0 */
    bool tracker_failed;   /* an announce failed at some time ... */
    uint64_t failed_at;    /* ... the last one at this time */
    uint64_t last_busy;    /* the last tick with a peer connected (or the pass's end) */
    uint64_t sent_at[CROW_NEED_SEGMENTS]; /* catch_up: when each need segment went out whole in the pass (0:
                                             not yet) */
    crow_need_map_t missed;               /* segments the last answer shows missed (see "Catching up") */
    crow_need_map_t caught;               /* segments resent to catch up */
    uint64_t interval_ns;                 /* the tracker's interval during the passes */
    uint64_t next_announce;               /* UINT64_MAX without a tracker */
} crow_seeder_policy_t;

void crow_seeder_policy_init(crow_seeder_policy_t *p, const crow_seeder_policy_config_t *cfg, uint64_t now);
/* The last pass ended (never called with --passes 0). */
void crow_seeder_policy_passes_done(crow_seeder_policy_t *p, uint64_t now);
/* Whether the first pass may start now, and why (the caller starts it, then calls _sending). */
enum crow_seeder_start crow_seeder_policy_may_start(const crow_seeder_policy_t *p, uint64_t now);
/* The first pass started. */
void crow_seeder_policy_sending(crow_seeder_policy_t *p, uint64_t now);
/* True once (the caller then ends the pass) when the tracker's counts say the multicast reaches
 * nobody: see "Multicast that reaches nobody" above. */
bool crow_seeder_policy_reaches_nobody(crow_seeder_policy_t *p);
/* The piece the first pass starts at: where the swarm's need begins (0 when none is known). */
uint32_t crow_seeder_policy_first_piece(const crow_seeder_policy_t *p, uint32_t piece_count);
/* The passes' scope, asked once as they start (see "What the peers lack"): *segs gets the segments to
 * send (every one of the release's for ALL, none for NONE). */
enum crow_seeder_scope crow_seeder_policy_scope(crow_seeder_policy_t *p, uint32_t piece_count,
                                                crow_need_map_t *segs);
/* catch_up: the segments the pass has sent whole by now (crow_stream_segments_sent). */
void crow_seeder_policy_stream_sent(crow_seeder_policy_t *p, uint64_t now, const crow_need_map_t *sent);
/* catch_up: the last pass sent everything; *resend gets the missed segments to resend now, and the
 * call returns whether there is any (false: send the final ENDs). Each segment is named once. */
bool crow_seeder_policy_catch_up(crow_seeder_policy_t *p, crow_need_map_t *resend);
/* True once per pass when the pass under way should end because every peer is complete. */
bool crow_seeder_policy_swarm_complete(crow_seeder_policy_t *p);
void crow_seeder_policy_announced(crow_seeder_policy_t *p, uint64_t now);
/* An answer from the tracker: its interval (s, 0 keeps the current one), the swarm's counts
 * (complete includes this seeder) and how many incomplete peers said lit / dark. */
typedef struct crow_seeder_swarm {
    uint32_t interval_s;
    int64_t complete, incomplete;
    uint32_t lit, dark;
    bool has_need;
    crow_need_map_t need; /* OR of the incomplete peers' need maps (crowcast/stream_need.h) */
} crow_seeder_swarm_t;
void crow_seeder_policy_tracker_answer(crow_seeder_policy_t *p, uint64_t now, const crow_seeder_swarm_t *sw);
/* A failed announce: retried after CROW_SEEDER_POLL_NS. */
void crow_seeder_policy_tracker_failed(crow_seeder_policy_t *p, uint64_t now);
/* Decides: stay or stop (and why); *announce says whether to announce now. `connections`: peers
 * connected over TCP now. */
enum crow_seeder_verdict crow_seeder_policy_tick(crow_seeder_policy_t *p, uint64_t now, unsigned connections,
                                                 bool *announce);
/* "every peer of the release is complete", ... (for the log). */
const char *crow_seeder_stop_reason(enum crow_seeder_verdict v);

#endif
