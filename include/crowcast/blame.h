/* Piece-level blame for peer-wire sources, sans I/O: who supplied the bytes of a piece that failed
 * verification, and when a source has failed often enough to be dropped for the session.
 *
 * Every piece remembers the first few sources (by key: the caller uses the remote's address, so a
 * reconnect does not wipe the slate) that supplied new bytes of it since it was last reset. When the
 * piece fails verification, each of them takes a strike; one that supplied the whole piece by itself
 * is dropped at once, and one that reaches `strikes` is dropped too. A drop withdraws the strikes of
 * every source still in good standing: the failures they shared are explained by the one dropped
 * (two sources always failing together are both dropped). A verified piece or a failure resets the
 * piece's record. Bytes that came from elsewhere (multicast) are not recorded here: a piece whose
 * bytes did not all come from one source is never "whole".
 *
 * Memory: a 12-byte record per piece and `max_sources` source entries, allocated by crow_blame_new.
 * Sources beyond max_sources, and a piece's sources beyond the first CROW_BLAME_PIECE_SOURCES, are
 * not blamed.
 */
#ifndef CROWCAST_BLAME_H
#define CROWCAST_BLAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/manifest.h"

#define CROW_BLAME_PIECE_SOURCES 3

typedef struct crow_blame_config {
    const crow_manifest_t *manifest; /* piece count and sizes; must outlive the engine */
    uint32_t max_sources;            /* sources tracked at once (<= 65535) */
    uint32_t strikes;                /* failed pieces before a source is dropped (>= 1) */
} crow_blame_config_t;

/* A source dropped by crow_blame_piece_failed. */
typedef struct crow_blame_drop {
    uint64_t key;
    uint32_t strikes; /* its strikes, this failure included */
    bool whole;       /* it supplied the whole failing piece by itself */
} crow_blame_drop_t;

typedef struct crow_blame crow_blame_t;

/* Returns 0, CROW_EUSAGE (bad config) or -ENOMEM. */
int crow_blame_new(const crow_blame_config_t *cfg, crow_blame_t **out);
void crow_blame_free(crow_blame_t *b);

/* `bytes` new bytes of `piece` came from source `key`. */
void crow_blame_supplied(crow_blame_t *b, uint32_t piece, uint64_t key, uint32_t bytes);
/* The piece verified: its record is reset. */
void crow_blame_piece_verified(crow_blame_t *b, uint32_t piece);
/* The piece failed verification: strikes its sources and resets its record. Writes the sources this
 * drops (at most cap; a source is dropped once) to out. Returns how many were written. */
size_t crow_blame_piece_failed(crow_blame_t *b, uint32_t piece, crow_blame_drop_t *out, size_t cap);
/* Whether `key` was dropped: do not take bytes from it, do not connect to it again. */
bool crow_blame_dropped(const crow_blame_t *b, uint64_t key);
/* Strikes of `key` now (0 when unknown). */
uint32_t crow_blame_strikes(const crow_blame_t *b, uint64_t key);

#endif
