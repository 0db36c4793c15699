/* Where a release's files go in its byte stream, so that a file that did not change keeps its
 * pieces from one build to the next (sans I/O). Pieces hash the stream, not the files: when one
 * file grows, every later file moves within its pieces and all their hashes change. BEP 47
 * padding files (zeros that never reach the disk) put files back where their pieces start:
 *   - with a previous release: a file at least one piece long that it holds under the same path
 *     with the same length goes at the same offset within its pieces as there; every other file
 *     is packed as before (wherever it lands, the next build keeps it there);
 *   - without one (a first build, piece-aligned): each file of at least one piece starts a piece,
 *     smaller files are packed.
 * Then such a file's pieces of its own hash as they did, whatever changed around it.
 */
#ifndef CROWCAST_RELEASE_LAYOUT_H
#define CROWCAST_RELEASE_LAYOUT_H

#include <stddef.h>

#include "crowcast/manifest.h"

/* Inserts padding files (".pad/N", attr p) into m->files, which holds the files in their order
 * with m->piece_length set, following `prev` (the previous release, NULL for none; its piece
 * length must equal m's). m->files is reallocated; file_count grows; offsets are not set (run
 * crow_manifest_layout afterwards). Returns the number of padding files added, CROW_EMANIFEST
 * when the piece lengths differ, CROW_ELIMIT past CROW_MAX_FILES entries, or -ENOMEM; why gets a
 * reason. */
int crow_release_layout_align(crow_manifest_t *m, const crow_manifest_t *prev, char *why, size_t why_cap);

#endif
