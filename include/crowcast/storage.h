/* Storage of a release: reads and writes ranges of the release byte stream (or of a piece) on the
 * release's files, behind a small backend interface (POSIX files, memory for tests); hashes and
 * verifies pieces; stages a download and publishes it once every piece verified.
 *
 * A release root is the file itself for a single-file release, the top directory for a multi-file
 * one (m->files[i].path is then relative to it). Paths are validated again at open
 * (crow_manifest_check_path), and every component below the root is opened without following
 * symlinks, so a symlink planted in the tree cannot redirect reads or writes outside it.
 */
#ifndef CROWCAST_STORAGE_H
#define CROWCAST_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/bitfield.h"
#include "crowcast/manifest.h"

/* ---- Piece hashing (used by `crowcast make`) ---------------------------------------------- */

/* Receives the hashes of one piece. */
typedef void (*crow_piece_hash_cb)(void *ctx, uint32_t piece, const uint8_t sha1[20],
                                   const uint8_t sha256[32]);

/* Hashes every piece (SHA-1 and SHA-256) of the release whose files lie under `root`, reading
 * only m->files, m->file_count, m->piece_length, m->piece_count and m->total_length (m->sha1 and
 * m->sha256 may be NULL). Uses `threads` worker threads (0: one per online CPU); memory stays
 * bounded (one read block per thread plus a few dozen bytes per piece in flight), whatever the
 * release size. on_piece is called from the calling thread, once per piece, in piece order, and
 * never after this function returned. Returns 0, or a negative code: -errno when a file cannot
 * be opened or read (a missing or short file gives -ENOENT / -ENODATA), CROW_EPATH for an unsafe
 * path or a symlink under the root, -ENOMEM. On failure on_piece may have been called for a
 * prefix of the pieces. */
int crow_piece_hash_run(const crow_manifest_t *m, const char *root, unsigned threads,
                        crow_piece_hash_cb on_piece, void *ctx);

/* ---- Storage objects ------------------------------------------------------------------------ */

typedef struct crow_storage crow_storage_t;

enum crow_storage_flags {
    /* Open for writing: create missing directories and files and preallocate each file to its
     * length (fallocate, falling back to ftruncate). Existing data is kept (resume). Without
     * it, the storage is read-only and every file must exist. */
    CROW_STORAGE_WRITE = 1 << 0,
    /* Read-only: tolerate missing or unopenable files; reads touching them fail and
     * crow_storage_file_error says why (for verify). */
    CROW_STORAGE_PARTIAL = 1 << 1,
    /* Do not follow a symlink at the root itself either (staging uses this; a root given on the
     * command line is followed). */
    CROW_STORAGE_ROOT_NOFOLLOW = 1 << 2,
};

/* Opens the release described by `m` at `root` (resolved relative to dirfd, which may be
 * AT_FDCWD) with POSIX files. `m` is borrowed and must outlive the storage. Returns 0 and sets
 * *out, or a negative code: CROW_EPATH (unsafe manifest path, a symlink or non-regular file or a
 * non-directory where the tree needs a directory), -errno (-ENOENT for a missing file without
 * CROW_STORAGE_PARTIAL, -ENOSPC when preallocation fails), -ENOMEM. */
int crow_storage_open_posix(crow_storage_t **out, const crow_manifest_t *m, int dirfd, const char *root,
                            int flags);

/* An in-memory release of m->total_length zero bytes (for tests and small releases: it holds the
 * whole release in memory). Returns 0, or -ENOMEM. */
int crow_storage_open_memory(crow_storage_t **out, const crow_manifest_t *m);

/* Releases the storage and closes its files (without syncing). NULL is a no-op. */
void crow_storage_close(crow_storage_t *s);

const crow_manifest_t *crow_storage_manifest(const crow_storage_t *s);

/* Reads / writes stream bytes [pos, pos + len) across file boundaries. Returns 0, -ERANGE when
 * the range lies outside the release, -ENODATA when a file is shorter than the manifest says,
 * -EBADF on a file that is missing (CROW_STORAGE_PARTIAL) or a write to a read-only storage,
 * or -errno. Concurrent reads from several threads are safe; writes need the caller's
 * exclusion against reads and writes of the same bytes. */
int crow_storage_read(crow_storage_t *s, uint64_t pos, void *buf, size_t len);
int crow_storage_write(crow_storage_t *s, uint64_t pos, const void *buf, size_t len);
/* The same for bytes [offset, offset + len) of piece `piece`. */
int crow_storage_read_piece(crow_storage_t *s, uint32_t piece, uint32_t offset, void *buf, size_t len);
int crow_storage_write_piece(crow_storage_t *s, uint32_t piece, uint32_t offset, const void *buf, size_t len);

/* Flushes written data (fsync of every file and directory for the POSIX backend). 0 or -errno. */
int crow_storage_sync(crow_storage_t *s);

/* The open file descriptor of file `file` (POSIX backend; for an io_uring backend to submit its
 * own reads and writes, with crow_layout_* for the mapping). The storage keeps ownership.
 * Returns -EBADF for a missing file and CROW_EUNSUPPORTED for a backend without descriptors. */
int crow_storage_fd(crow_storage_t *s, uint32_t file);

/* Why file `file` could not be opened (CROW_STORAGE_PARTIAL): 0 when it is open, else the code
 * (-ENOENT, CROW_EPATH, ...). *size receives its current size in bytes (0 when not open). */
int crow_storage_file_error(crow_storage_t *s, uint32_t file, uint64_t *size);

/* ---- Hashing and verifying pieces of a storage ---------------------------------------------- */

enum crow_piece_hashes { CROW_PIECE_SHA1 = 1 << 0, CROW_PIECE_SHA256 = 1 << 1 };

/* Result of one piece: status 0 and the hashes asked for (others NULL), or status < 0 when the
 * piece could not be read (its hashes are NULL). Return 0 to go on, or a negative code to stop
 * the run with that code. */
typedef int (*crow_piece_result_cb)(void *ctx, uint32_t piece, int status, const uint8_t *sha1,
                                    const uint8_t *sha256);

/* Hashes every piece of s with `threads` workers (0: one per online CPU), calling cb from the
 * calling thread once per piece, in piece order. `which` is a mask of crow_piece_hashes.
 * Returns 0, the callback's stop code, or -ENOMEM / -EAGAIN (threads). */
int crow_storage_hash_pieces(crow_storage_t *s, unsigned threads, int which, crow_piece_result_cb cb,
                             void *ctx);

/* Called after each piece of a verify, from the calling thread: `done` pieces of `total` checked,
 * `good` of them matched. */
typedef void (*crow_verify_progress_cb)(void *ctx, uint32_t done, uint32_t total, uint32_t good);

/* Checks every piece of s against m->sha256 and sets, in `good` (initialised by the caller with
 * m->piece_count bits), exactly the bits of the pieces that match; unreadable pieces (missing or
 * short files) do not. progress may be NULL. Returns 0 (whatever the number of matches) or a
 * negative code as crow_storage_hash_pieces. */
int crow_storage_verify(crow_storage_t *s, unsigned threads, crow_bitfield_t *good,
                        crow_verify_progress_cb progress, void *ctx);

/* ---- Staging and publishing ----------------------------------------------------------------- */

#define CROW_STAGING_DIR ".crowcast-staging"

typedef struct crow_staging crow_staging_t;

/* Opens the staging area of release `m` under outdir: OUTDIR/.crowcast-staging/<release id hex>/
 * with the release root <m->name> in it, created and preallocated when new, kept as it is when it
 * exists (a restarted download resumes from it: call crow_staging_verify). `m` is borrowed. The
 * staging object starts with no piece marked verified. Returns 0, or a negative code as
 * crow_storage_open_posix (CROW_EPATH when m->name is unsafe). */
int crow_staging_open(crow_staging_t **out, const crow_manifest_t *m, const char *outdir);
/* Closes the storage without publishing; the staging directory stays for a later resume. */
void crow_staging_close(crow_staging_t *st);

/* The writable storage of the staged release (owned by the staging object). */
crow_storage_t *crow_staging_storage(crow_staging_t *st);
/* The pieces marked verified so far (owned by the staging object). */
const crow_bitfield_t *crow_staging_verified(const crow_staging_t *st);
/* Marks a piece the caller wrote and checked against m->sha256. */
void crow_staging_mark_verified(crow_staging_t *st, uint32_t piece);
/* Was the release's staging directory there before this open? A new one holds only preallocated
 * zeros (this open created it), so there is nothing to re-check; one that was there may hold
 * pieces from an earlier run: crow_staging_verify finds them. */
bool crow_staging_resumed(const crow_staging_t *st);
/* Re-checks the staged data and marks exactly the pieces that match (resume). Returns as
 * crow_storage_verify. */
int crow_staging_verify(crow_staging_t *st, unsigned threads);

/* Fills the staged release from a previous release on disk: every piece not yet verified whose
 * SHA-256 and size some piece of `prev` has is read from the previous release at `root` (its file
 * or top directory, opened read-only, symlinks not followed below it), checked against this
 * release's hash and written into the staging area, then marked verified. Pieces of prev that
 * cannot be read or no longer match are skipped (they come from the network). Memory: one piece
 * and an index of prev's pieces. Returns the number of pieces taken (their bytes in *bytes), or
 * -ENOMEM or a write error. */
long crow_staging_take(crow_staging_t *st, const crow_manifest_t *prev, const char *root, uint64_t *bytes);

/* Publishes the staged release as OUTDIR/<m->name>: refuses with CROW_EHASH while a piece is not
 * marked verified; applies modes, symlinks and empty directories (crow_tree_attrs_apply); syncs every
 * file and directory, renames the root into place without replacing
 * anything (renameat2 RENAME_NOREPLACE), syncs OUTDIR and removes the emptied staging directory.
 * When OUTDIR/<name> exists already it is accepted only when it holds exactly this release
 * (every file of the right size, every piece matching, modes,
 * symlinks and empty directories as crow_tree_attrs_check wants them): then the staged copy is deleted and 0
 * returned; otherwise -EEXIST. On error a one-line reason goes into why (when why_cap > 0).
 * The staging object stays valid and must still be closed. */
int crow_staging_publish(crow_staging_t *st, char *why, size_t why_cap);

#endif
