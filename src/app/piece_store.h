/* The piece store of a running peer or seeder: where received data goes and uploads come from.
 *
 * Chunks (multicast) and blocks (TCP) of a piece are copied into one of a fixed number of piece
 * buffers; a piece whose chunks are all present is hashed from memory (SHA-256 against the
 * manifest), written to its files through io_uring, and then marked verified. When every buffer is
 * taken, the least recently used partial piece is written out ("spilled") and read back when it
 * completes. When no buffer is free (their writes lag behind the stream), buffers are added, up
 * to 64 in all and 64 MiB more. Memory: `slots` x piece length, plus what the disk's lag added,
 * whatever the release size.
 * Uploads read verified pieces through io_uring (or from a buffer while the piece is resident).
 */
#ifndef CROWCAST_APP_PIECE_STORE_H
#define CROWCAST_APP_PIECE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "crowcast/bitfield.h"
#include "crowcast/loop.h"
#include "crowcast/manifest.h"
#include "crowcast/storage.h"

typedef struct crow_piece_store crow_piece_store_t;

struct crow_piece_store_events {
    /* The piece matched its hash and is on disk. */
    void (*on_verified)(void *ctx, uint32_t piece);
    /* The piece did not match: its chunks were discarded and must be fetched again. */
    void (*on_failed)(void *ctx, uint32_t piece);
    /* A disk error (e.g. -ENOSPC): the store cannot go on. */
    void (*on_error)(void *ctx, int err);
};

struct crow_piece_store_stats {
    uint64_t bytes_accepted;  /* new payload bytes taken in */
    uint64_t bytes_duplicate; /* payload bytes already present */
    uint64_t pieces_failed;   /* hash mismatches */
    uint64_t spills;          /* partial pieces written out for lack of buffers */
    uint64_t dropped_busy;    /* chunks refused while every buffer was busy writing */
    uint64_t buffers_added;   /* piece buffers added when none was free */
};

/* Creates a store over `storage` (borrowed; writable for a download). `verified` (may be NULL)
 * gives the pieces already on disk and valid (resume, or a complete seed); `slots` is the number of
 * piece buffers; `ev` (copied) is told, with `ctx`, of every piece verified or failed and of a
 * disk error (its on_verified is where the staging area records a piece). Returns 0, -ENOMEM. */
int crow_piece_store_new(crow_piece_store_t **out, crow_loop_t *loop, crow_storage_t *storage,
                         const crow_bitfield_t *verified, unsigned slots,
                         const struct crow_piece_store_events *ev, void *ctx);
/* Frees buffers. Call when no read or write is pending (crow_piece_store_busy is false). */
void crow_piece_store_free(crow_piece_store_t *ps);
bool crow_piece_store_busy(const crow_piece_store_t *ps);

/* Takes bytes [offset, offset + len) of piece `piece`. offset must sit on a chunk boundary and
 * the range must end on one (or at the piece's end). Returns the number of new bytes taken
 * (0 when all were present or the piece is being written), CROW_EPROTO for a range that is not
 * chunk-aligned or lies outside the piece. */
long crow_piece_store_put(crow_piece_store_t *ps, uint32_t piece, uint32_t offset, const uint8_t *data,
                          uint32_t len);

/* Chunks present (in memory or on disk), one bit per chunk of the release, piece after piece. */
const crow_bitfield_t *crow_piece_store_chunks(const crow_piece_store_t *ps);
/* Pieces verified and on disk. */
const crow_bitfield_t *crow_piece_store_verified(const crow_piece_store_t *ps);
/* Index of the first chunk of `piece` in the chunk map. */
uint64_t crow_piece_store_first_chunk(const crow_piece_store_t *ps, uint32_t piece);
void crow_piece_store_get_stats(const crow_piece_store_t *ps, struct crow_piece_store_stats *out);

/* Reads bytes [offset, offset + len) of a verified piece into buf; `op` fires once with res = len
 * or a negative code. Returns 0 when armed, CROW_EPROTO for a piece that is not verified or a range
 * outside it, -EBUSY when too many reads are in flight. */
int crow_piece_store_read(crow_piece_store_t *ps, crow_op_t *op, uint32_t piece, uint32_t offset,
                          uint8_t *buf, uint32_t len);

#endif
