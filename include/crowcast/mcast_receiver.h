/* The multicast receiver's bookkeeping, sans I/O: which chunks of the release arrived, which pieces
 * are complete and need hashing, what the stream lost, and what is still missing when it ends.
 *
 * The caller hands every datagram received to crow_mcast_receiver_on_datagram with an id for its
 * source (for instance the IPv4 address << 16 | port). The engine decodes it, checks it against the
 * manifest, accounts for it, and says what to do: write a DATA payload at (piece, offset), then,
 * when that completed the piece, hash the piece and report the verdict with mark_verified or
 * mark_failed. The engine never keeps payload bytes: memory is one bit per chunk plus a counter per
 * piece, whatever the stream does.
 *
 * Loss accounting per source, from sequence numbers (one space for every datagram type): the span
 * first..highest seen is what the source sent; `received` counts distinct numbers, `duplicates` the
 * ones seen before and `reordered` the ones that arrived after a higher one, both judged within a
 * window of CROW_MCAST_SEQ_WINDOW numbers; older ones count as `stale`.
 *
 * Frontier: the release byte offset the stream has passed: the start of the highest DATA chunk
 * seen, or the whole release once a pass ended (an END, or a DATA of a repeat pass). Chunks wholly
 * before it will not come again in this pass, so the TCP repair side may ask for them (the picker's
 * crow_picker_set_frontier takes this offset).
 *
 * Test-only loss: with crow_mcast_receiver_set_test_loss, DATA datagrams whose sequence number
 * hashes (with a seed) below a threshold are dropped as if the network lost them, before any
 * accounting; crow_mcast_test_loss_drops recomputes the verdict for any sequence number.
 */
#ifndef CROWCAST_MCAST_RECEIVER_H
#define CROWCAST_MCAST_RECEIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/bitfield.h"
#include "crowcast/datagram.h"
#include "crowcast/manifest.h"

#define CROW_MCAST_MAX_SOURCES 8u
#define CROW_MCAST_SEQ_WINDOW  1024u /* a power of two */

typedef struct crow_mcast_source_stats {
    uint64_t source; /* the caller's id */
    uint64_t first_seq, highest_seq;
    uint64_t received;   /* distinct sequence numbers */
    uint64_t duplicates; /* seen before: dropped */
    uint64_t reordered;  /* arrived after a higher number, not seen before */
    uint64_t stale;      /* older than the window: dropped, not in `received` */
} crow_mcast_source_stats_t;

/* Sequence numbers in first..highest that never arrived. */
static inline uint64_t crow_mcast_source_lost(const crow_mcast_source_stats_t *s)
{
    uint64_t span = s->highest_seq - s->first_seq + 1;
    return span > s->received ? span - s->received : 0;
}

typedef struct crow_mcast_receiver_stats {
    uint64_t datagrams;           /* every call to on_datagram */
    uint64_t malformed;           /* did not decode (CROW_EPARSE) */
    uint64_t foreign;             /* another session (CROW_ESESSION) */
    uint64_t out_of_range;        /* this session, but does not fit the manifest (CROW_EPROTO) */
    uint64_t data, beacons, ends; /* accepted, after duplicates */
    uint64_t duplicates;          /* sequence numbers seen before, over all sources */
    uint64_t stale;               /* too old to judge, over all sources */
    uint64_t untracked;           /* from sources beyond CROW_MCAST_MAX_SOURCES: no sequence accounting */
    uint64_t redundant;           /* DATA for a chunk already held */
    uint64_t chunks;              /* chunks stored (write events) */
    uint64_t pieces_complete, pieces_verified, pieces_failed;
    uint64_t dropped_on_purpose; /* test loss */
} crow_mcast_receiver_stats_t;

enum crow_mcast_rx_kind {
    CROW_MCAST_RX_NONE,   /* nothing to do (rejected, duplicate, redundant or dropped on purpose) */
    CROW_MCAST_RX_DATA,   /* write payload[0..length) at piece `piece`, byte `offset` */
    CROW_MCAST_RX_BEACON, /* the session's parameters: crow_mcast_receiver_beacon() */
    CROW_MCAST_RX_END,    /* pass `pass` ended; stream_done when no pass follows */
};

typedef struct crow_mcast_rx_event {
    int kind; /* enum crow_mcast_rx_kind */
    uint32_t piece, offset, length;
    const uint8_t *payload; /* DATA: inside the caller's datagram buffer */
    bool piece_complete;    /* DATA: after writing, hash `piece` and call mark_verified / mark_failed */
    uint32_t pass;          /* BEACON, END */
    bool stream_done;       /* END */
    bool live;              /* the datagram belongs to this session's stream (decoded, fits the
                               manifest, not a test drop): the stream is alive, even if ev is NONE */
} crow_mcast_rx_event_t;

/* A run of missing bytes inside one piece, on chunk boundaries. */
typedef struct crow_mcast_range {
    uint32_t piece, offset, length;
} crow_mcast_range_t;

/* Caller-allocated; fields other than `stats` are private. */
typedef struct crow_mcast_receiver {
    const crow_manifest_t *m; /* borrowed */
    uint64_t session;
    uint32_t piece_chunks;    /* chunks in a full piece */
    crow_bitfield_t chunks;   /* one bit per chunk of the release */
    crow_bitfield_t complete; /* pieces whose chunks are all in (hashing or verified) */
    crow_bitfield_t verified;
    uint32_t *have;    /* per piece: chunks held */
    uint64_t frontier; /* release byte offset */
    bool stream_done;
    bool have_beacon;
    crow_dgram_beacon_t beacon;
    uint32_t loss_ppm;
    uint64_t loss_seed;
    uint32_t nsources;
    struct crow_mcast_source {
        crow_mcast_source_stats_t st;
        uint64_t
            seen[CROW_MCAST_SEQ_WINDOW / 64]; /* bit seq % WINDOW: seq in (highest-WINDOW, highest] seen */
    } sources[CROW_MCAST_MAX_SOURCES];
    crow_mcast_receiver_stats_t stats;
} crow_mcast_receiver_t;

/* Prepares a receiver for m (borrowed: it must stay valid and unchanged) with nothing received.
 * Returns 0, CROW_ELIMIT when the release has more than UINT32_MAX chunks, or -ENOMEM. */
int crow_mcast_receiver_init(crow_mcast_receiver_t *r, const crow_manifest_t *m);
void crow_mcast_receiver_dispose(crow_mcast_receiver_t *r);

/* Accounts for one datagram buf[0..len) from `source` and fills *ev. Returns 0 (ev->kind says what
 * to do; NONE for a duplicate, a chunk already held or a test drop), or, with ev->kind NONE and the
 * matching counter raised: CROW_EPARSE (malformed), CROW_ESESSION (another session), CROW_EPROTO
 * (this session, but it does not fit the manifest). ev->payload points into buf. */
int crow_mcast_receiver_on_datagram(crow_mcast_receiver_t *r, uint64_t source, const uint8_t *buf, size_t len,
                                    crow_mcast_rx_event_t *ev);

/* The hash verdict on a piece. mark_verified also marks every chunk of the piece held, so a piece
 * completed by other means (TCP repair) may be reported here too. mark_failed clears the piece's
 * chunks so the stream or repair fills them again, and counts the failure. Both return 0 or
 * CROW_EUSAGE for a piece out of range. */
int crow_mcast_receiver_mark_verified(crow_mcast_receiver_t *r, uint32_t piece);
int crow_mcast_receiver_mark_failed(crow_mcast_receiver_t *r, uint32_t piece);

bool crow_mcast_receiver_has_chunk(const crow_mcast_receiver_t *r, uint32_t piece, uint32_t offset);
bool crow_mcast_receiver_piece_verified(const crow_mcast_receiver_t *r, uint32_t piece);
/* Every piece verified. */
bool crow_mcast_receiver_done(const crow_mcast_receiver_t *r);
/* Chunks not held, over the release. */
uint64_t crow_mcast_receiver_missing_chunks(const crow_mcast_receiver_t *r);
/* The frontier as a release byte offset (0 .. total_length), and as the number of leading pieces
 * wholly behind it (piece_count once a pass ended). */
uint64_t crow_mcast_receiver_frontier_offset(const crow_mcast_receiver_t *r);
uint32_t crow_mcast_receiver_frontier(const crow_mcast_receiver_t *r);
/* An END with the final flag arrived. */
bool crow_mcast_receiver_stream_done(const crow_mcast_receiver_t *r);
/* The last BEACON accepted, or NULL before the first. */
const crow_dgram_beacon_t *crow_mcast_receiver_beacon(const crow_mcast_receiver_t *r);

/* Lists missing chunks as ranges (each within one piece, maximal runs) in pieces below piece_limit
 * (pass the frontier, or piece_count for all), starting at chunk number *cursor (0 to begin).
 * Writes at most max ranges, advances *cursor past them, and returns how many were written: 0 when
 * the listing is over. */
size_t crow_mcast_receiver_missing(const crow_mcast_receiver_t *r, uint32_t piece_limit, uint64_t *cursor,
                                   crow_mcast_range_t *out, size_t max);

/* Sequence accounting of the i-th source in order of first appearance (i < source_count), or NULL. */
const crow_mcast_source_stats_t *crow_mcast_receiver_sources(const crow_mcast_receiver_t *r, size_t i);
size_t crow_mcast_receiver_source_count(const crow_mcast_receiver_t *r);

/* TEST ONLY: drop DATA datagrams as if lost, ppm per million (0 turns it off), deterministic from
 * seed and each datagram's sequence number. */
void crow_mcast_receiver_set_test_loss(crow_mcast_receiver_t *r, uint32_t ppm, uint64_t seed);
/* Whether test loss (ppm, seed) drops the DATA datagram numbered seq. */
bool crow_mcast_test_loss_drops(uint64_t seed, uint32_t ppm, uint64_t seq);

#endif
