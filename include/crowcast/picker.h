/* The gap picker: decides which byte ranges to request from which neighbour, sans I/O.
 *
 * The picker keeps a chunk bitmap of the release (chunks as the manifest defines them: pieces cut
 * into chunk_size pieces, numbered piece by piece), the same view the multicast receiver has, and
 * a ledger of outstanding requests. A request covers contiguous missing chunks of one piece, never
 * straddles a piece, and is at most the neighbour's request size; stock clients see plain byte
 * ranges within a piece. Rules, in the order they apply:
 *   - only chunks we miss, and only one outstanding request per chunk, except in the endgame (no
 *     chunk left to ask for, stream over): then a neighbour whose own queue ran dry duplicates the
 *     request that would come last (the newest of the longest queue), one at a time, cancelled
 *     when either copy arrives;
 *   - while a multicast stream is active, only chunks wholly behind its frontier (all after END, or
 *     all from the start when there is no stream); while it may catch up (crow_picker_hold_untouched),
 *     not a piece of which nothing had arrived when the frontier passed it: a peer that joined late
 *     waits for the stream to resend what went by before it joined, rather than take it from a
 *     seeder's link the stream fills;
 *   - a piece nobody in the rack has is fetched by the rack's chain head only, and only from
 *     outside the rack; everyone else asks rack neighbours only (cross-rack traffic stays at one
 *     copy per rack);
 *   - nearest chain neighbours first: a neighbour is not given a piece that a nearer neighbour,
 *     ready for more requests, could serve;
 *   - claims are checked, not believed: a neighbour whose request expired (or that kept us choked,
 *     crow_picker_unresponsive) is asked only for pieces no other neighbour may be asked for, gets
 *     no endgame duplicate, and its pieces stop counting in the rack's availability (so the chain
 *     head fetches them outside the rack) until it delivers a requested block.
 * Memory: bitmaps of the release's chunks and pieces, 2 bytes per piece for rack availability and
 * max_neighbours * max_depth ledger entries, all allocated by crow_picker_new.
 */
#ifndef CROWCAST_PICKER_H
#define CROWCAST_PICKER_H

#include <stdbool.h>
#include <stdint.h>

#include "crowcast/bitfield.h"
#include "crowcast/manifest.h"

typedef struct crow_block {
    uint32_t piece, begin, length; /* a byte range within one piece */
} crow_block_t;

typedef struct crow_picker_config {
    const crow_manifest_t *manifest; /* geometry and chunk size; must outlive the picker */
    uint32_t max_neighbours;         /* neighbour slots */
    uint32_t max_depth;              /* outstanding requests per neighbour, at most */
    bool chain_head;                 /* we are the rack's chain head (true without racks) */
    bool multicast;                  /* a stream will arrive: wait for its frontier */
} crow_picker_config_t;

typedef struct crow_picker_stats {
    uint64_t requested; /* bytes asked for (duplicates included) */
    uint64_t received;  /* bytes of blocks accepted */
    uint64_t wasted;    /* bytes of blocks that arrived after being cancelled or expired */
    uint32_t timeouts;  /* requests that expired */
} crow_picker_stats_t;

typedef struct crow_picker crow_picker_t;

/* Allocates a picker with no chunk present. Returns 0, CROW_EUSAGE (bad config), CROW_ELIMIT
 * (more than 2^32 - 1 chunks) or -ENOMEM. */
int crow_picker_new(const crow_picker_config_t *cfg, crow_picker_t **out);
void crow_picker_free(crow_picker_t *p);

/* The tracker told us (again) whether we are our rack's chain head. */
void crow_picker_set_chain_head(crow_picker_t *p, bool chain_head);

/* --- What we have (fed by the multicast receiver, storage resume and verification) --- */

/* Marks the chunks wholly inside [begin, begin + length) of `piece` as present (received and
 * written, not yet verified). Outstanding requests left with nothing missing are cancelled. */
void crow_picker_mark(crow_picker_t *p, uint32_t piece, uint32_t begin, uint32_t length);
/* True when every chunk of the piece is present (time to verify it). */
bool crow_picker_piece_filled(const crow_picker_t *p, uint32_t piece);
/* The piece verified: all its chunks present for good. */
void crow_picker_piece_verified(crow_picker_t *p, uint32_t piece);
/* The piece failed verification: all its chunks are missing again. Call every session's flush. */
void crow_picker_piece_failed(crow_picker_t *p, uint32_t piece);
/* Chunks not present. */
uint64_t crow_picker_missing(const crow_picker_t *p);

/* --- The multicast stream --- */

/* The stream has passed release byte `offset` (monotonic; smaller values are ignored). */
void crow_picker_set_frontier(crow_picker_t *p, uint64_t offset);
/* The stream ended (END seen or given up): every missing chunk may be requested. */
void crow_picker_stream_end(crow_picker_t *p);
/* A stream given up came back: only chunks behind `offset` (its frontier) may be requested again;
 * requests already out ahead of it stay and are cancelled as the stream brings their chunks. */
void crow_picker_stream_resume(crow_picker_t *p, uint64_t offset);

/* Whether pieces of which no chunk had arrived when the frontier passed them are left to the stream
 * (it resends what late joiners missed before its final END, crowcast/mcast_sender.h): they are not
 * asked for, also once the resend has brought part of them, until the hold is lifted (false, or
 * crow_picker_stream_end). */
void crow_picker_hold_untouched(crow_picker_t *p, bool hold);

/* What the picker can and cannot do now, for the peer's decisions (crow_peer_policy). */
typedef struct crow_picker_needs {
    uint32_t unserved;    /* pieces with chunks askable now (behind the frontier, not in flight) that
                             no connected neighbour may be asked for */
    bool requests_out;    /* some neighbour has requests outstanding */
    bool rack_neighbours; /* a neighbour of our rack is connected */
} crow_picker_needs_t;
/* Fills *out. Costs O(pieces missing behind the frontier x max_neighbours): call it per tick, not
 * per datagram. */
void crow_picker_needs(const crow_picker_t *p, crow_picker_needs_t *out);
/* Whether we are the chain head (as last set). */
bool crow_picker_chain_head(const crow_picker_t *p);

/* --- Neighbours (driven by crow_peer_session; usable directly by tests) --- */

/* Registers a neighbour whose pieces are `remote` (caller-owned, must stay valid until
 * crow_picker_leave; the caller updates it and reports each change below). distance: chain
 * distance (1 = adjacent; larger is farther); same_rack: the neighbour is in our rack. The
 * neighbour starts with depth 0 (not ready). Returns its id (>= 0) or CROW_ELIMIT. */
int crow_picker_join(crow_picker_t *p, const crow_bitfield_t *remote, uint32_t distance, bool same_rack);
/* Forgets the neighbour and its outstanding requests (their chunks go back to the pool). */
void crow_picker_leave(crow_picker_t *p, int nb);
void crow_picker_set_link(crow_picker_t *p, int nb, uint32_t distance, bool same_rack);
/* depth: requests it may have outstanding now (0 while it chokes us or backs off; clamped to
 * max_depth); max_request: largest request in bytes (16 KiB for stock clients). */
void crow_picker_set_pipeline(crow_picker_t *p, int nb, uint32_t depth, uint32_t max_request);
/* nb does not answer (it keeps us choked while we want its pieces): see the rules above. A request
 * of nb expiring does the same by itself; a block it delivers undoes it. */
void crow_picker_unresponsive(crow_picker_t *p, int nb);
bool crow_picker_is_unresponsive(const crow_picker_t *p, int nb);
/* The remote gained `piece` (its bit was just set) / loaded a whole bitfield (call once). */
void crow_picker_remote_have(crow_picker_t *p, int nb, uint32_t piece);
void crow_picker_remote_bitfield(crow_picker_t *p, int nb);

/* Picks the next request for neighbour nb and records it as outstanding until `deadline`.
 * Returns true and fills *out, or false when there is nothing for this neighbour now. */
bool crow_picker_pick(crow_picker_t *p, int nb, uint64_t deadline, crow_block_t *out);
/* A block arrived from nb. Returns true when it answers one of nb's outstanding requests (its
 * chunks become present; write it to storage), false when it is unsolicited, cancelled or
 * expired (drop it; counted as wasted). */
bool crow_picker_received(crow_picker_t *p, int nb, uint32_t piece, uint32_t begin, uint32_t length);
/* nb delivered a block: none of its outstanding requests expires before `deadline` (they are queued
 * behind what it is sending, not lost). */
void crow_picker_extend(crow_picker_t *p, int nb, uint64_t deadline);
/* Takes one of nb's requests that became useless (its duplicate arrived, or its chunks came by
 * multicast): send CANCEL for it. Returns false when there is none. */
bool crow_picker_next_cancel(crow_picker_t *p, int nb, crow_block_t *out);
/* Takes one of nb's requests whose deadline passed; its chunks go back to the pool for other
 * neighbours. Send CANCEL for it. Returns false when there is none. */
bool crow_picker_next_expired(crow_picker_t *p, int nb, uint64_t now, crow_block_t *out);
/* Drops all of nb's outstanding requests (it choked us: BEP 3 peers discard them). */
void crow_picker_release(crow_picker_t *p, int nb);
/* Outstanding requests of nb, and the earliest deadline among them (UINT64_MAX when none). */
uint32_t crow_picker_outstanding(const crow_picker_t *p, int nb);
uint64_t crow_picker_next_deadline(const crow_picker_t *p, int nb);

void crow_picker_neighbour_stats(const crow_picker_t *p, int nb, crow_picker_stats_t *out);
void crow_picker_total_stats(const crow_picker_t *p, crow_picker_stats_t *out);

#endif
