/* Where the bytes of a release live: maps a range of the release byte stream (or a piece range)
 * onto file segments. Sans I/O; only reads a manifest's files[], piece_length and total_length.
 *
 * The release is one byte stream of the files in manifest order, back to back. A range may cross
 * any number of file boundaries; empty files hold no bytes and never appear in a segment.
 */
#ifndef CROWCAST_LAYOUT_H
#define CROWCAST_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/manifest.h"

typedef struct crow_segment {
    uint32_t file;   /* index into m->files */
    uint64_t offset; /* byte offset inside that file */
    uint64_t length; /* bytes, never 0 */
} crow_segment_t;

/* Walks the segments of one range, in stream order. Plain data: the caller owns it (on the
 * stack is fine); it borrows the manifest, which must outlive it. */
typedef struct crow_layout_iter {
    const crow_manifest_t *m;
    uint64_t pos; /* next stream byte to map */
    uint64_t end; /* one past the last byte of the range */
    uint32_t file;
} crow_layout_iter_t;

/* Index of the file holding stream byte `pos` (never an empty file), found by binary search over
 * the file offsets. Returns m->file_count when pos >= m->total_length. */
uint32_t crow_layout_file_at(const crow_manifest_t *m, uint64_t pos);

/* Starts a walk over stream bytes [pos, pos + len). Returns 0, or -ERANGE when the range does not
 * lie inside the release (len 0 at pos <= total_length is a valid, empty walk). */
int crow_layout_iter_init(crow_layout_iter_t *it, const crow_manifest_t *m, uint64_t pos, uint64_t len);
/* Starts a walk over bytes [offset, offset + len) of piece `piece`. -ERANGE when the piece does
 * not exist or the range exceeds its size (the last piece may be short). */
int crow_layout_iter_piece(crow_layout_iter_t *it, const crow_manifest_t *m, uint32_t piece, uint64_t offset,
                           uint64_t len);
/* Writes the next segment into *seg and returns true; false when the walk is done. */
bool crow_layout_next(crow_layout_iter_t *it, crow_segment_t *seg);

/* Maps stream bytes [pos, pos + len) into out[0..cap). Returns the number of segments, -ERANGE as
 * crow_layout_iter_init, or CROW_ESPACE when more than cap segments are needed. */
int crow_layout_map(const crow_manifest_t *m, uint64_t pos, uint64_t len, crow_segment_t *out, size_t cap);

/* The stream range of piece `piece`: *start and *len (short for the last piece). -ERANGE when
 * the piece does not exist. */
int crow_layout_piece_range(const crow_manifest_t *m, uint32_t piece, uint64_t *start, uint64_t *len);

/* The files that hold bytes of piece `piece`: [*first, *last], inclusive; empty files inside the
 * interval hold none of its bytes. -ERANGE when the piece does not exist. */
int crow_layout_piece_files(const crow_manifest_t *m, uint32_t piece, uint32_t *first, uint32_t *last);

#endif
