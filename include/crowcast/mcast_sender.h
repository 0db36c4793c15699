/* The multicast sender's schedule and pacing, sans I/O.
 *
 * The sender walks every chunk of every piece, pass after pass, and says what to send next: a DATA
 * datagram (the engine gives its header; the caller appends the release bytes it names), a BEACON
 * announcing the session (at the start and every `beacon_interval_ns`), or an END closing a pass.
 * Every datagram gets the next sequence number. A token bucket paces everything at `rate_bps`,
 * counting `overhead_bytes` of IP and UDP headers per datagram; time is the caller's `now` (ns, any
 * monotonic origin, never decreasing).
 *
 * Pieces can be sent as they become available (a relay streams pieces as they verify): within a
 * pass the sender streams the lowest-numbered available piece it has not sent in that pass; when
 * nothing is available it keeps beaconing and waits. A pass ends once every piece went out in it.
 *
 * Scope (crow_mcast_sender_want_segments, before the first datagram): every pass sends only the
 * pieces of some need segments (crowcast/stream_need.h: what the peers lack, a delta's changed
 * pieces) and ends once those went out; with none wanted a pass is its ENDs (and, with
 * catch_up, BEACONs while the last one waits).
 *
 * Catching up (cfg.catch_up): when the last pass has sent every piece, the sender holds its final ENDs
 * (beaconing meanwhile, crow_mcast_sender_drained says so) until the caller either resends pieces in
 * it (crow_mcast_sender_resend: those that peers which joined late missed) or closes it
 * (crow_mcast_sender_close_pass). Its BEACONs carry CROW_DGRAM_F_CATCH_UP.
 *
 * Usage from an event loop:
 *     crow_mcast_sender_init(&s, &manifest, &cfg);
 *     crow_mcast_sender_set_all_available(&s);      (or _set_available(piece) as pieces verify)
 *     loop: n = crow_mcast_sender_batch(&s, now, out, 16, &st);
 *           send out[0..n) (DATA: header then release bytes [piece*piece_length + offset, +length));
 *           st.state == CROW_MCAST_WAIT: arm a timer for st.wake_ns (and call again after marking a
 *           piece available); CROW_MCAST_DONE: finished; CROW_MCAST_SEND: the batch was full, go on.
 * A datagram handed out counts as sent: if the socket refuses it, it is lost like on the network.
 */
#ifndef CROWCAST_MCAST_SENDER_H
#define CROWCAST_MCAST_SENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/bitfield.h"
#include "crowcast/datagram.h"
#include "crowcast/manifest.h"
#include "crowcast/need_map.h"

#define CROW_MCAST_IPV4_UDP_OVERHEAD CROW_DGRAM_IPV4_UDP_LEN /* IPv4 header 20 + UDP header 8 */
#define CROW_MCAST_BURST_NS          (10ull * 1000000ull)

typedef struct crow_mcast_sender_config {
    uint64_t rate_bps;           /* pacing rate in bits per second, IP level; > 0 */
    uint32_t passes;             /* passes over the release; >= 1 */
    uint32_t overhead_bytes;     /* per-datagram bytes on the wire beyond the UDP payload */
    uint32_t burst_bytes;        /* token bucket depth (wire bytes); at least one largest datagram */
    uint64_t beacon_interval_ns; /* a BEACON at start and then at least this often; > 0 */
    uint32_t end_copies;         /* ENDs sent back to back after each pass (a lost END costs a timeout) */
    uint16_t tcp_port;           /* advertised in BEACONs; 0 = no TCP seed */
    uint32_t first_piece;        /* the first pass starts here and wraps around (a seeder restarted
                                    mid-pass sends what the swarm lacks first); default 0 */
    bool auth;                   /* every datagram gets CROW_DGRAM_F_AUTH and room for its tag */
    bool catch_up;               /* the last pass waits for resends or close_pass before its ENDs */
} crow_mcast_sender_config_t;

enum crow_mcast_state {
    CROW_MCAST_SEND, /* a datagram was handed out (or, after a batch: the batch is full, call again) */
    CROW_MCAST_WAIT, /* nothing to send before wake_ns (pacing, or waiting for pieces to arrive) */
    CROW_MCAST_DONE, /* every pass and its ENDs went out */
};

/* One datagram to send. For BEACON and END, bytes[0..bytes_len) is the whole datagram but its tag.
 * For DATA it is the 32-byte header; the payload to append is release piece `piece`, bytes
 * [offset, offset+length). With cfg.auth, tag_len is CROW_DGRAM_TAG_LEN: the caller seals the
 * assembled datagram (crow_dgram_seal), which appends the tag. */
typedef struct crow_mcast_tx {
    uint8_t type; /* enum crow_dgram_type */
    uint32_t piece, offset, length;
    uint64_t seq;
    uint16_t bytes_len;
    uint8_t tag_len;
    uint8_t bytes[CROW_DGRAM_CONTROL_MAX];
} crow_mcast_tx_t;

/* Datagram size on the UDP level: bytes_len plus the DATA payload plus the tag. */
static inline size_t crow_mcast_tx_size(const crow_mcast_tx_t *tx)
{
    return (size_t)tx->bytes_len + (tx->type == CROW_DGRAM_DATA ? tx->length : 0) + tx->tag_len;
}

typedef struct crow_mcast_sender_stats {
    uint64_t datagrams, data, beacons, ends;
    uint64_t payload_bytes; /* DATA payload */
    uint64_t wire_bytes;    /* every datagram plus overhead_bytes each: what the pacer counted */
    uint32_t pass;          /* current pass (== passes once done) */
    uint32_t pieces_sent;   /* pieces fully sent in the current pass (and not asked again) */
    uint32_t wanted;        /* pieces each pass sends (the scope) */
    uint32_t resent;        /* pieces resent to catch up */
} crow_mcast_sender_stats_t;

/* Caller-allocated; fields other than `stats` are private. */
typedef struct crow_mcast_sender {
    const crow_manifest_t *m; /* borrowed; must outlive the sender */
    crow_mcast_sender_config_t cfg;
    uint64_t session;
    crow_bitfield_t available; /* pieces the caller has */
    crow_bitfield_t wanted;    /* pieces the passes send (the scope; all by default) */
    crow_bitfield_t pending;   /* available, wanted and not yet sent in this pass */
    uint32_t low_pending;      /* no pending piece below this index */
    bool in_piece;             /* streaming `piece` at `offset` */
    uint32_t piece, offset;
    uint32_t ends_left; /* ENDs still to send for the pass just finished */
    bool drained;       /* catch_up: the last pass sent everything and holds its ENDs */
    uint64_t seq;
    uint64_t last_data_seq;
    bool started;
    uint64_t next_beacon_ns;
    /* Token bucket in units of bit·10^9/s (bits × ns × rate fit one integer): a datagram of B wire
     * bytes costs 8·B·10^9, and t ns add t × rate_bps. Exact: no drift over a long transfer. */
    uint64_t tokens, depth, last_ns;
    crow_mcast_sender_stats_t stats;
} crow_mcast_sender_t;

/* Defaults: 1 Gbit/s, 1 pass, 28 bytes overhead (IPv4+UDP), a 16-datagram burst, a BEACON every
 * 200 ms, 3 ENDs per pass, no TCP port. */
void crow_mcast_sender_config_default(crow_mcast_sender_config_t *cfg);
/* The bucket depth for a sender at rate_bps whose largest datagram is datagram_wire_bytes on the wire:
 * CROW_MCAST_BURST_NS of sending, between 16 and 256 datagrams. A sender that wakes late (a loaded
 * host schedules it milliseconds after its timer) keeps its rate as long as it is late by less than
 * that; the default 16 datagrams last 2 ms at 100 Mbit/s, and every later wake lost rate for good. The
 * upper bound keeps a burst within a NIC's default transmit queue (1000 frames). */
uint32_t crow_mcast_sender_burst_for(uint64_t rate_bps, uint32_t datagram_wire_bytes);

/* Prepares a sender for m (which must stay valid and unchanged) with no piece available yet.
 * Returns 0, CROW_EUSAGE for a config out of range (rate 0, passes 0, interval 0, a burst smaller
 * than one datagram, a chunk size above CROW_DGRAM_MAX_PAYLOAD) or -ENOMEM. On failure nothing needs
 * disposing. */
int crow_mcast_sender_init(crow_mcast_sender_t *s, const crow_manifest_t *m,
                           const crow_mcast_sender_config_t *cfg);
void crow_mcast_sender_dispose(crow_mcast_sender_t *s);

/* Before the first datagram: the passes send only the pieces of the need segments `segs`
 * (crowcast/stream_need.h); ignored once sending started. */
void crow_mcast_sender_want_segments(crow_mcast_sender_t *s, const crow_need_map_t *segs);
/* The pieces the passes send. */
const crow_bitfield_t *crow_mcast_sender_wanted(const crow_mcast_sender_t *s);

/* Marks one piece (out-of-range indexes are ignored) or all pieces as available to send. */
void crow_mcast_sender_set_available(crow_mcast_sender_t *s, uint32_t piece);
void crow_mcast_sender_set_all_available(crow_mcast_sender_t *s);

/* Whether any DATA is still to go out, in this pass or a later one (none once a pass was ended
 * early and only its ENDs remain). */
bool crow_mcast_sender_data_left(const crow_mcast_sender_t *s);

/* Ends the current pass now (its ENDs, final, go out next) and drops the passes after it: nobody
 * receives the stream. Nothing happens once every pass is done. */
void crow_mcast_sender_end_now(crow_mcast_sender_t *s);

/* The pieces the current pass has still to send (the one under way included). */
const crow_bitfield_t *crow_mcast_sender_pending(const crow_mcast_sender_t *s);
/* catch_up: the last pass sent every piece and waits for resends or close_pass. */
bool crow_mcast_sender_drained(const crow_mcast_sender_t *s);
/* catch_up: sends the piece again in the last pass before its ENDs (ignored unless that pass is under
 * way or drained, the piece is available and not pending already). */
void crow_mcast_sender_resend(crow_mcast_sender_t *s, uint32_t piece);
/* catch_up: resends every piece of the need segments `segs` (crowcast/stream_need.h), in index
 * order, as crow_mcast_sender_resend (also those outside the scope); the pieces it took go to
 * out[0..max) in the order they will be sent (out may be NULL). Returns how many it took. */
uint32_t crow_mcast_sender_resend_segments(crow_mcast_sender_t *s, const crow_need_map_t *segs, uint32_t *out,
                                           uint32_t max);
/* catch_up: the drained last pass sends its ENDs now (nothing happens when it is not drained). */
void crow_mcast_sender_close_pass(crow_mcast_sender_t *s);

/* Decides the next datagram at time now_ns. Returns CROW_MCAST_SEND with *out filled (sequence
 * number and tokens consumed), CROW_MCAST_WAIT with *wake_ns set (call again at or after it, or
 * sooner after marking a piece available), or CROW_MCAST_DONE. */
int crow_mcast_sender_next(crow_mcast_sender_t *s, uint64_t now_ns, crow_mcast_tx_t *out, uint64_t *wake_ns);

/* What stopped a batch. */
typedef struct crow_mcast_batch_end {
    int state;        /* enum crow_mcast_state: SEND when `max` datagrams were filled */
    uint64_t wake_ns; /* WAIT: when to call again */
} crow_mcast_batch_end_t;

/* Fills out[0..max) with the datagrams sendable at now_ns, in order; returns how many. *end says
 * why it stopped. Consecutive DATA datagrams of one piece have equal sizes except a piece's last
 * chunk, so runs of them suit one UDP GSO send. */
size_t crow_mcast_sender_batch(crow_mcast_sender_t *s, uint64_t now_ns, crow_mcast_tx_t *out, size_t max,
                               crow_mcast_batch_end_t *end);

#endif
