/* Pieces of a release found by content: SHA-256 and size. A new build's piece that an older one
 * already has (same hash, same size) need not move (`crowcast diff`, `get --previous`).
 */
#ifndef CROWCAST_PIECE_INDEX_H
#define CROWCAST_PIECE_INDEX_H

#include <stdint.h>

#include "crowcast/manifest.h"

typedef struct crow_piece_index {
    const crow_manifest_t *m; /* borrowed */
    uint32_t *order;          /* owned; the piece numbers sorted by (size, SHA-256) */
} crow_piece_index_t;

/* Indexes the pieces of m (borrowed: it must outlive the index). Returns 0 or -ENOMEM. */
int crow_piece_index_init(crow_piece_index_t *ix, const crow_manifest_t *m);
/* A piece of ix->m of this size and SHA-256 (the lowest numbered one), or UINT32_MAX. */
uint32_t crow_piece_index_find(const crow_piece_index_t *ix, const uint8_t sha256[32], uint32_t size);
void crow_piece_index_dispose(crow_piece_index_t *ix);

#endif
