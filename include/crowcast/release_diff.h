/* What changed from one release to the next, from their manifests alone (sans I/O): files,
 * symlinks and empty directories added, removed and changed, executable bits flipped, and the
 * bytes a host holding the old release would still have to receive.
 *
 * A v1 manifest has no per-file hashes, only piece hashes over the release's byte stream, so a
 * file present in both with the same length is judged by the pieces that cover it: when it sits
 * at the same place in its pieces in both (same piece length, same offset modulo it), equal piece
 * hashes mean the same bytes and a differing piece that lies wholly inside it means changed. A
 * file whose pieces differ only where they are shared with a neighbour, or that moved within its
 * pieces (an earlier file changed size), cannot be told from the hashes: it is "undetermined".
 * A piece-aligned layout (every file starting a piece) leaves nothing undetermined.
 *
 * The bytes to move are those of the new release's pieces whose SHA-256 (and size) no piece of
 * the old release has: what a get that can take pieces from the old release on disk must fetch.
 */
#ifndef CROWCAST_RELEASE_DIFF_H
#define CROWCAST_RELEASE_DIFF_H

#include <stdbool.h>
#include <stdint.h>

#include "crowcast/manifest.h"

enum crow_diff_what { CROW_DIFF_FILE, CROW_DIFF_LINK, CROW_DIFF_DIR };

enum crow_diff_change {
    CROW_DIFF_SAME,         /* in both, equal (an entry then only reports a mode change) */
    CROW_DIFF_ADDED,        /* only in the new release */
    CROW_DIFF_REMOVED,      /* only in the old release */
    CROW_DIFF_CHANGED,      /* in both, different: length, bytes or link target */
    CROW_DIFF_UNDETERMINED, /* a file in both, same length, that the piece hashes cannot judge */
};

typedef struct crow_diff_entry {
    enum crow_diff_what what;
    enum crow_diff_change change;
    bool mode_changed;             /* a file in both whose executable bit differs */
    const char *path;              /* borrowed from the old or the new manifest */
    uint32_t old_index, new_index; /* into files[], links[] or dirs[]; UINT32_MAX where absent */
} crow_diff_entry_t;

typedef struct crow_release_diff {
    crow_diff_entry_t *entries; /* owned; count entries, by kind (files, links, dirs), each by path */
    uint32_t count;
    uint32_t files_same;    /* files (padding aside) in both, equal, same mode: not listed */
    uint32_t pieces_total;  /* of the new release */
    uint32_t pieces_new;    /* of them, whose content the old release lacks */
    uint64_t bytes_total;   /* of the new release */
    uint64_t bytes_to_move; /* the new pieces' bytes */
} crow_release_diff_t;

/* Compares release `from` with its successor `to` (parsed manifests, borrowed: they must outlive
 * *d, whose paths point into them).
 * Returns 0 and fills *d (release with crow_release_diff_dispose), or -ENOMEM. */
int crow_release_diff(const crow_manifest_t *from, const crow_manifest_t *to, crow_release_diff_t *d);
void crow_release_diff_dispose(crow_release_diff_t *d);

#endif
