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
 * window of CROW_MCAST_SEQ_WINDOW numbers; older ones count as `stale`. Sequence numbers only
 * account and order control datagrams: a DATA chunk is taken whatever its number says (its bytes
 * answer to the piece hash), so a forged number cannot make the real stream's chunks be dropped.
 * A stale BEACON or END is ignored; after CROW_MCAST_REANCHOR stale numbers in a row the window
 * moves back to them (a forged number far ahead cannot make a real stream stale for good).
 *
 * Trust without a key. The stream's main source is the tracked source that delivered the most
 * datagrams lately (scores halve every CROW_MCAST_SCORE_DECAY datagrams, so a seeder that restarts
 * takes over at once; a forger on an address of its own never does, unless it outsends the seeder). Only the
 * main source moves the frontier and ends a pass; a final END from it ends the stream only until
 * more DATA from it follows (ev->stream_resumed: the END was forged, or a replay). A piece that
 * failed its hash takes no more multicast chunks while a repair source exists
 * (crow_mcast_receiver_set_repair): TCP fetches it whole, so a sender spraying bad chunks cannot
 * spoil it again. With a key (crow_mcast_receiver_set_key), every datagram of this session must
 * carry a valid tag (crowcast/dgram_auth.h) or it is dropped and counted as `forged` before it
 * touches any state.
 *
 * Frontier: the release byte offset the main source's stream has passed: the start of the highest
 * DATA chunk it sent, or the whole release once it ended a pass (END). The REPEAT flag does not
 * move it: a repeat pass is followed like the first. Chunks wholly before it will not come again in
 * this pass, so the TCP repair side may ask for them (the picker's crow_picker_set_frontier takes
 * this offset).
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
#define CROW_MCAST_REANCHOR    64u   /* stale numbers in a row that move a source's window back */
#define CROW_MCAST_END_REVOKE  8u    /* DATA datagrams after a final END that revoke it */
#define CROW_MCAST_SCORE_DECAY 4096u /* datagrams between halvings of the sources' scores */

typedef struct crow_mcast_source_stats {
    uint64_t source; /* the caller's id */
    uint64_t first_seq, highest_seq;
    uint64_t received;   /* distinct sequence numbers */
    uint64_t duplicates; /* seen before: dropped */
    uint64_t reordered;  /* arrived after a higher number, not seen before */
    uint64_t stale;      /* older than the window: not in `received` (DATA still taken) */
    uint64_t frontier;   /* release byte offset of the highest DATA chunk it sent */
} crow_mcast_source_stats_t;

/* Sequence numbers in first..highest that never arrived. */
static inline uint64_t crow_mcast_source_lost(const crow_mcast_source_stats_t *s)
{
    uint64_t span = s->highest_seq - s->first_seq + 1;
    return span > s->received ? span - s->received : 0;
}

typedef struct crow_mcast_receiver_stats {
    uint64_t datagrams;     /* every call to on_datagram */
    uint64_t malformed;     /* did not decode (CROW_EPARSE) */
    uint64_t foreign;       /* another session (CROW_ESESSION) */
    uint64_t forged;        /* this session, with a key set: tag missing or wrong (CROW_EAUTH) */
    uint64_t out_of_range;  /* this session, but does not fit the manifest (CROW_EPROTO) */
    uint64_t data;          /* DATA judged by the chunk map (sequence duplicates too) */
    uint64_t beacons, ends; /* accepted: in sequence, from the main source (END) */
    uint64_t duplicates;    /* sequence numbers seen before, over all sources */
    uint64_t stale;         /* too old to judge, over all sources */
    uint64_t untracked;     /* from sources beyond CROW_MCAST_MAX_SOURCES: no sequence accounting */
    uint64_t redundant;     /* DATA for a chunk already held */
    uint64_t refused;       /* DATA for a piece that failed its hash, while repair exists */
    uint64_t ends_ignored;  /* END not from the main source, or stale */
    uint64_t ends_revoked;  /* final ENDs that DATA of the stream contradicted */
    uint64_t chunks;        /* chunks stored (write events) */
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
    bool stream_resumed;    /* DATA: it contradicted the final END seen before (stream_done is over) */
    bool main_source;       /* BEACON, END: from the stream's main source */
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
    uint32_t *have;      /* per piece: chunks held */
    uint8_t *failures;   /* per piece: hash failures (saturating) */
    uint64_t frontier;   /* release byte offset (positional: the main source's highest chunk) */
    bool pass_over;      /* the main source ended a pass: the frontier is the whole release */
    bool stream_done;    /* a final END from the main source, not contradicted since */
    uint64_t end_source; /* of that END, and DATA from it since */
    uint64_t end_seq;
    uint32_t after_end;
    bool repair;                      /* a repair source exists: failed pieces take no multicast chunk */
    const struct crow_dgram_key *key; /* borrowed; NULL: datagrams are not authenticated */
    bool have_beacon;
    crow_dgram_beacon_t beacon;
    int8_t catch_up; /* the main source's last BEACON: CROW_DGRAM_F_CATCH_UP set (1), clear (0), none (-1) */
    uint32_t loss_ppm;
    uint64_t loss_seed;
    uint32_t nsources;
    struct crow_mcast_source {
        crow_mcast_source_stats_t st;
        uint64_t
            seen[CROW_MCAST_SEQ_WINDOW / 64]; /* bit seq % WINDOW: seq in (highest-WINDOW, highest] seen */
        uint32_t stale_run;                   /* stale numbers in a row */
        uint64_t last_stale;
        uint64_t score; /* recent datagrams: +1 each, all halved every CROW_MCAST_SCORE_DECAY */
    } sources[CROW_MCAST_MAX_SOURCES];
    uint32_t since_decay;
    crow_mcast_receiver_stats_t stats;
} crow_mcast_receiver_t;

/* Prepares a receiver for m (borrowed: it must stay valid and unchanged) with nothing received.
 * Returns 0, CROW_ELIMIT when the release has more than UINT32_MAX chunks, or -ENOMEM. */
int crow_mcast_receiver_init(crow_mcast_receiver_t *r, const crow_manifest_t *m);
void crow_mcast_receiver_dispose(crow_mcast_receiver_t *r);

/* Accounts for one datagram buf[0..len) from `source` and fills *ev. Returns 0 (ev->kind says what
 * to do; NONE for a duplicate, a chunk already held or refused, a test drop), or, with ev->kind
 * NONE and the matching counter raised: CROW_EPARSE (malformed), CROW_ESESSION (another session),
 * CROW_EAUTH (a key is set and the tag is missing or wrong), CROW_EPROTO (this session, but it does
 * not fit the manifest). ev->payload points into buf. */
int crow_mcast_receiver_on_datagram(crow_mcast_receiver_t *r, uint64_t source, const uint8_t *buf, size_t len,
                                    crow_mcast_rx_event_t *ev);

/* Authenticates every datagram with k (borrowed; it must outlive the receiver's use), or NULL to
 * stop. */
void crow_mcast_receiver_set_key(crow_mcast_receiver_t *r, const struct crow_dgram_key *k);
/* Whether a repair source (TCP) exists: then a piece that failed its hash is left to it. */
void crow_mcast_receiver_set_repair(crow_mcast_receiver_t *r, bool repair);

/* The hash verdict on a piece. mark_verified also marks every chunk of the piece held, so a piece
 * completed by other means (TCP repair) may be reported here too. mark_failed clears the piece's
 * chunks so the stream or repair fills them again, and counts the failure (with a repair source,
 * the stream's chunks for it are refused from now on). drop_piece clears the chunks without
 * blaming them (the store could not take one). All return 0 or CROW_EUSAGE for a piece out of
 * range. */
int crow_mcast_receiver_mark_verified(crow_mcast_receiver_t *r, uint32_t piece);
int crow_mcast_receiver_mark_failed(crow_mcast_receiver_t *r, uint32_t piece);
int crow_mcast_receiver_drop_piece(crow_mcast_receiver_t *r, uint32_t piece);

/* Chunks of an unverified piece the stream delivered since the piece was last dropped or failed. */
uint32_t crow_mcast_receiver_piece_chunks(const crow_mcast_receiver_t *r, uint32_t piece);
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
/* A final END from the main source arrived and no DATA of the stream contradicted it since. */
bool crow_mcast_receiver_stream_done(const crow_mcast_receiver_t *r);
/* Whether the stream's main source catches up late joiners (its last BEACON carried
 * CROW_DGRAM_F_CATCH_UP): 1 yes, 0 no, -1 no BEACON from it yet. */
int crow_mcast_receiver_catches_up(const crow_mcast_receiver_t *r);
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
