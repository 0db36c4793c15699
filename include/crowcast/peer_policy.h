/* The getter's timing decisions (the receiving peer's policy, README "Words"), sans I/O: whether
 * the multicast stream is alive, when to announce to the tracker, and what the peer is waiting for.
 * The caller feeds events with the time (`now`, nanoseconds on a monotonic clock) and calls
 * crow_peer_policy_tick at crow_peer_policy_next_deadline or sooner; the tick says what to do.
 * Nothing here reads a clock or touches a socket.
 *
 * The stream. A joined peer waits for datagrams without a clock until a source of the release is
 * known to exist (the tracker lists a complete peer, a --peer was given, a datagram came): then the
 * silence clock runs, and after `silence_ns` without a datagram of this session the stream counts as
 * silent: every missing chunk may be fetched over TCP. A stream that has shown no datagram at all
 * since its source became known gets CROW_PEER_FIRST_DATAGRAM_NS (when shorter): a seeder's first
 * datagram follows its start by milliseconds, so such silence means a fabric that does not carry the
 * group, and the rack should be on the TCP chain a moment after the seeder starts. When the tracker
 * says no seeder is still sending (its passes are over: a peer that joins late), that stream is not
 * waited for at all (crow_peer_policy_senders). Only a datagram that
 * decoded, belongs to this session and fits the manifest counts (crow_peer_policy_datagram); junk and other
 * sessions' traffic never hold the clock off. A datagram after silence brings the stream back (the caller
 * returns the picker to the stream's frontier): a peer never fetches over TCP what a live stream is still
 * sending. The final END ends the stream, but the END is believed only while nothing contradicts it:
 * DATA of the stream after it (the receiver says so) brings the stream back
 * (crow_peer_policy_stream_resumed), and a peer with no TCP source gives up on missing chunks only
 * once the stream has stayed ended for CROW_PEER_END_GRACE_NS (crow_peer_policy_stream_over): a
 * forged END alone never makes it exit.
 *
 * Announces. Regularly at the tracker's interval. At once, then 1 s, 2 s ... apart (capped at
 * CROW_PEER_URGENT_MAX_NS) while the peer has work and no source for it: it has pieces that no
 * connected neighbour it may ask holds (the chain head, or a peer with no rack neighbour), or it waits
 * for a stream nobody is known to send: that wait's backoff starts at CROW_PEER_AWAIT_STREAM_NS (announces
 * at 0, 0.5 s, 1.5 s, 3.5 s ...), so peers that start before the seeder learn within half a second that it
 * streams and, if no datagram of it arrives, are on the TCP chain a moment later (on a fabric that does not
 * carry the group every such second is the whole swarm idle). A peer that waits for its rack's chain head
 * does not poll (the head does) until it has waited CROW_PEER_RACK_PATIENCE_NS: the head may have died, and
 * the tracker names a new one (perhaps this peer) only to those who ask. A peer that is not head and has
 * waited for its head, or for a source it may not fetch from outside the rack, on and off, for
 * CROW_PEER_RACK_LEAD_NS with no piece verified meanwhile (it asked the tracker, and the tracker
 * still names another head: one that claims pieces and never delivers them, or a dead one not
 * expired yet) is told to lead (`lead`): it fetches
 * from outside the rack itself, one extra copy across the fabric rather than a wait without end.
 * A new wait restarts the backoff. A failed
 * announce is retried after the same backoff, capped at CROW_PEER_RETRY_MAX_NS, so a tracker that comes back
 * is not met by every host at once. When the stream goes silent or ends, an incomplete peer
 * announces at once (fresh neighbours for the repair, and what it still needs from the stream).
 *
 * What the peer sees of the stream goes with every announce (crow_peer_policy_mcast_report): lit
 * while datagrams arrive, dark once the first-datagram clock ran out without one; when it changes, the
 * peer announces again (lit or dark at once, "nothing to say" CROW_PEER_URGENT_MIN_NS after the last
 * announce), so a seeder whose multicast reaches nobody learns it within seconds and stops sending
 * into the void, and one whose stream reaches us, however late, does not. So does its need map
 * (crow_peer_policy_need): a changed map goes out CROW_PEER_NEED_REFRESH_NS after the last announce, so a
 * seeder restarted mid-pass knows where the swarm's data ends. Joining the stream, the peer announces
 * at once: its first map (its announces before carried none), which a seeder waits for before its
 * pass (peers holding the previous release lack only a delta).
 *
 * What it waits for (crow_peer_policy_wait, with the time it began) is reported on the progress line
 * and in --json events, so a peer never waits silently.
 */
#ifndef CROWCAST_PEER_POLICY_H
#define CROWCAST_PEER_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "crowcast/announce.h"
#include "crowcast/picker.h"

#define CROW_PEER_URGENT_MIN_NS         1000000000ull
#define CROW_PEER_URGENT_MAX_NS         2000000000ull
#define CROW_PEER_RETRY_MAX_NS          16000000000ull
#define CROW_PEER_RACK_PATIENCE_NS      10000000000ull
#define CROW_PEER_RACK_LEAD_NS          (CROW_PEER_RACK_PATIENCE_NS + CROW_PEER_URGENT_MAX_NS)
#define CROW_PEER_FIRST_DATAGRAM_NS     1000000000ull
#define CROW_PEER_STREAMING_DATAGRAM_NS 250000000ull
#define CROW_PEER_AWAIT_STREAM_NS       250000000ull
#define CROW_PEER_NEED_REFRESH_NS       2000000000ull
#define CROW_PEER_END_GRACE_NS          1000000000ull

enum crow_stream_state {
    CROW_STREAM_UNJOINED, /* multicast wanted, no group joined yet (the tracker names it) */
    CROW_STREAM_OFF,      /* no multicast: TCP only */
    CROW_STREAM_AWAITED,  /* joined; no datagram yet and no source known: no clock runs */
    CROW_STREAM_DUE,      /* a source is known, no datagram yet: the silence clock runs */
    CROW_STREAM_ALIVE,    /* datagrams of this session arrive */
    CROW_STREAM_SILENT,   /* silent too long: fetch everything over TCP until a datagram comes */
    CROW_STREAM_ENDED,    /* the final END arrived */
};

enum crow_peer_wait {
    CROW_WAIT_NONE,    /* data flows or requests are out */
    CROW_WAIT_STREAM,  /* for the multicast stream */
    CROW_WAIT_SOURCE,  /* pieces are missing that no known source can give */
    CROW_WAIT_RACK,    /* for the rack's chain head to bring pieces nobody in the rack has */
    CROW_WAIT_TRACKER, /* for the tracker, which does not answer, to name a source */
};

typedef struct crow_peer_policy_config {
    uint64_t silence_ns; /* 0: never give up on the stream */
    bool multicast;      /* a group will be joined (given, or named by the tracker) */
    bool tracker;        /* announces go to a tracker */
} crow_peer_policy_config_t;

typedef struct crow_peer_actions {
    bool announce;    /* send an announce now (then call crow_peer_policy_announced) */
    bool went_silent; /* the stream just went silent: let the picker ask for everything */
    bool lead;        /* the rack's chain head brought nothing for CROW_PEER_RACK_LEAD_NS: act as head */
} crow_peer_actions_t;

/* Caller-allocated; read the fields, change them only through the calls below. */
typedef struct crow_peer_policy {
    crow_peer_policy_config_t cfg;
    enum crow_stream_state stream;
    uint64_t stream_since;  /* when `stream` took its value */
    uint64_t last_datagram; /* the last datagram of this session, or when the silence clock started */
    uint64_t interval_ns;   /* the tracker's announce interval */
    uint64_t next_announce; /* regular or retry; UINT64_MAX without a tracker */
    uint64_t last_announce;
    uint64_t urgent_backoff, retry_backoff;
    bool source_known, announced, tracker_failing, announce_now, complete;
    bool ever_datagram;                  /* a datagram of this session arrived at some time */
    bool no_sender;                      /* the tracker's last answer counted no seeder still sending */
    bool rack_stalled;                   /* it waited for the head since a piece last verified ... */
    uint64_t rack_stalled_since;         /* ... first at this time */
    uint64_t streaming_since;            /* the first of the answers in a row that counted a seeder
                                            multicasting now, 0 when the last did not */
    uint8_t reported;                    /* the mcast report of the last announce (enum crow_mcast_report) */
    crow_need_map_t need, reported_need; /* what it lacks (crowcast/stream_need.h): now, and last announced */
    bool reported_on_stream;             /* the last announce came from a peer on the stream (with a map) */
    enum crow_peer_wait wait;
    uint64_t wait_since;
} crow_peer_policy_t;

/* Starts with the stream UNJOINED (multicast) or OFF, and an announce due now. */
void crow_peer_policy_init(crow_peer_policy_t *p, const crow_peer_policy_config_t *cfg, uint64_t now);

/* --- events --- */
void crow_peer_policy_joined(crow_peer_policy_t *p, uint64_t now);
/* Multicast cannot be used (join failed, no group): TCP only. */
void crow_peer_policy_no_multicast(crow_peer_policy_t *p, uint64_t now);
/* A datagram of this session arrived. Returns true when it brought a silent stream back: the caller
 * returns the picker to the stream's frontier. */
bool crow_peer_policy_datagram(crow_peer_policy_t *p, uint64_t now);
/* A source of the release is known to exist: the silence clock starts (once). */
void crow_peer_policy_source_known(crow_peer_policy_t *p, uint64_t now);
/* The tracker counted `sending` seeders whose multicast passes are not over and `streaming` of them
 * multicasting now (announce "sending", "streaming"; call only when the answer had them). With no
 * sender, a stream that has shown no datagram since its source became known is not waited for: it
 * goes silent at the next tick (a peer that joins after the pass fetches over TCP at once). With one
 * streaming, such a stream gets CROW_PEER_STREAMING_DATAGRAM_NS from the first answer that said so
 * (when that is sooner than the first-datagram clock): its datagrams would be here by then. A datagram
 * brings a silent stream back as always. */
void crow_peer_policy_senders(crow_peer_policy_t *p, uint64_t now, uint32_t sending, uint32_t streaming);
/* A piece verified (from any source): the rack is not stalled. */
void crow_peer_policy_progress(crow_peer_policy_t *p);
/* The final END arrived: unless complete, the peer announces at once (what it still needs, and
 * fresh neighbours for the repair). */
void crow_peer_policy_stream_ended(crow_peer_policy_t *p, uint64_t now);
/* DATA of the stream contradicted the final END: the stream is alive again. Returns true when it
 * was ENDED (the caller returns the picker to the stream's frontier). */
bool crow_peer_policy_stream_resumed(crow_peer_policy_t *p, uint64_t now);
/* An announce was sent. */
void crow_peer_policy_announced(crow_peer_policy_t *p, uint64_t now);
/* The tracker answered (ok) with its interval in seconds (0: keep the current one), or failed. */
void crow_peer_policy_tracker_answer(crow_peer_policy_t *p, uint64_t now, bool ok, uint32_t interval_s);
/* Every piece verified: from now on only regular announces. */
void crow_peer_policy_complete(crow_peer_policy_t *p, uint64_t now);

/* --- decisions --- */
/* Advances the stream's clock and the wait, and says what to do now. needs: what the picker sees
 * now (crow_picker_needs; NULL when there is no picker); chain_head: we may fetch from outside the
 * rack. */
void crow_peer_policy_tick(crow_peer_policy_t *p, uint64_t now, const crow_picker_needs_t *needs,
                           bool chain_head, crow_peer_actions_t *out);
/* When the next tick has something to decide (UINT64_MAX: nothing pending). */
uint64_t crow_peer_policy_next_deadline(const crow_peer_policy_t *p);
/* The stream ended at least CROW_PEER_END_GRACE_NS ago and nothing contradicted it since. */
bool crow_peer_policy_stream_over(const crow_peer_policy_t *p, uint64_t now);
/* The picker may ask only for what the stream passed (UNJOINED, AWAITED, DUE, ALIVE); false once it
 * is OFF, SILENT or ENDED. */
bool crow_peer_policy_stream_pending(const crow_peer_policy_t *p);

/* What the peer lacks now (crowcast/stream_need.h), sent with every announce. */
void crow_peer_policy_need(crow_peer_policy_t *p, const crow_need_map_t *need);
/* What to tell the tracker of the stream (mcast=): LIT while it is alive, DARK when it went silent
 * without ever showing a datagram, NONE otherwise (and once complete). */
enum crow_mcast_report crow_peer_policy_mcast_report(const crow_peer_policy_t *p);

const char *crow_stream_state_name(enum crow_stream_state s);
/* A short phrase: "the multicast stream", "a source for 3 pieces" is the caller's to build; this
 * names the kind ("stream", "source", "rack", "tracker", "none"). */
const char *crow_peer_wait_name(enum crow_peer_wait w);

#endif
