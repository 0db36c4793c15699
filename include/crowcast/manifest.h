/* The release manifest: a BitTorrent v1 metainfo file (BEP 3) with crowcast's extras.
 *
 * Layout of the bencoded file (keys sorted, canonical):
 *   announce          tracker URL (optional)
 *   announce-list     BEP 12 tiers (optional): a list of tiers, each a list of tracker URLs; a
 *                     client that reads it ignores `announce`
 *   crowcast signatures
 *                     release signatures (optional, outside `info`, so adding one keeps the ids and
 *                     stock clients skip it): a list of 1..8 dictionaries, each "public key" (the
 *                     signer's Ed25519 key, 32 bytes) and "signature" (64 bytes); no key twice.
 *                     What is signed, and when a signature counts, is release_sig.h's business
 *   info
 *     attr            single file only (BEP 47): "x" when the file is executable
 *     crowcast        dictionary: "chunk size" (int, bytes per multicast datagram payload),
 *                     "empty directories" (optional: a list of paths, each a list of components,
 *                     of directories that hold nothing; no BEP has them, and stock clients skip
 *                     the crowcast dictionary), "sha256" (string, 32 bytes per piece,
 *                     concatenated), "version" (int: 1, or 2 when the release has attributes, so
 *                     a crowcast that predates them refuses it instead of dropping them)
 *     files | length  multi-file list or single length. Each entry: "length", "path" (a list of
 *                     components) and, BEP 47, "attr" (letters: "x" executable, "p" a padding
 *                     file of zeros that never lands on disk, "l" a symlink: length 0, with
 *                     "symlink path", its target as components relative to the release root;
 *                     other letters are ignored) and "symlink path"
 *     name            the file name (single) or top directory name (multi)
 *     piece length    bytes per piece (a power of two, 16 KiB .. 64 MiB)
 *     pieces          SHA-1 per piece, concatenated (20 bytes each), for stock clients
 * Release id = SHA-256 of the bencoded `info`; info hash = SHA-1 of it (the BitTorrent v1 id).
 * Symlinks do not take part in the byte stream: the parser moves them out of `files` into `links`,
 * and the writer lists them after every file. Stock clients that do not know BEP 47 show them as
 * empty files.
 *
 * The release is one byte stream: files in manifest order, back to back; piece i covers bytes
 * [i * piece_length, min((i+1) * piece_length, total_length)). Pieces are split into chunks of
 * chunk_size bytes (the last chunk of a piece may be shorter).
 */
#ifndef CROWCAST_MANIFEST_H
#define CROWCAST_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/ed25519.h"
#include "crowcast/hash.h"

#define CROW_MIN_PIECE_LENGTH   (16u * 1024)
#define CROW_MAX_PIECE_LENGTH   (64u * 1024 * 1024)
#define CROW_MIN_CHUNK_SIZE     256u
#define CROW_MAX_CHUNK_SIZE     65000u
#define CROW_DEFAULT_CHUNK_SIZE 1408u    /* fits a 1500-byte MTU with IP, UDP and datagram headers */
#define CROW_MAX_FILES          1000000u /* files, symlinks and empty directories together */
#define CROW_MAX_PATH           4096u
#define CROW_MAX_NAME           255u                /* bytes in one path component (NAME_MAX) */
#define CROW_MANIFEST_MAX_BYTES (64u * 1024 * 1024) /* largest .torrent crow_manifest_file_load reads */
/* Parsing allocates one bencode node per value, at most len/2+1 and never more than this
 * (~224 MiB of nodes; enough for ~400k files with short paths). */
#define CROW_MANIFEST_MAX_NODES      (4u * 1024 * 1024)
#define CROW_MANIFEST_MAX_TRACKERS   64u /* URLs in announce-list, all tiers together */
#define CROW_MANIFEST_MAX_SIGNATURES 8u  /* entries of "crowcast signatures" */

/* BEP 47 attributes of a file (crow_manifest_file_t.attr). */
enum crow_file_attr {
    CROW_ATTR_EXEC = 1u << 0, /* "x": published with mode 0755 (others 0644) */
    CROW_ATTR_PAD = 1u << 1,  /* "p": zeros in the stream, never a file on disk; path not unique */
};

typedef struct crow_manifest_file {
    char *path;      /* owned; relative, '/'-separated, validated (no "..", no absolute, no empty) */
    uint64_t length; /* bytes */
    uint64_t offset; /* where the file starts in the release byte stream */
    uint32_t attr;   /* crow_file_attr bits */
} crow_manifest_file_t;

/* A symlink of the release (BEP 47 attr "l"). */
typedef struct crow_manifest_link {
    char *path;   /* owned; validated like a file's path */
    char *target; /* owned; relative to the release root, validated likewise (see link_path.h) */
} crow_manifest_link_t;

/* One URL of announce-list (BEP 12). */
typedef struct crow_manifest_tracker {
    char *url;     /* owned */
    uint32_t tier; /* 0 for the first tier; tiers are numbered without gaps */
} crow_manifest_tracker_t;

/* One entry of "crowcast signatures". */
typedef struct crow_manifest_signature {
    uint8_t public_key[CROW_ED25519_PUBLIC_LEN];
    uint8_t signature[CROW_ED25519_SIGNATURE_LEN];
} crow_manifest_signature_t;

typedef struct crow_manifest {
    char *name;     /* owned */
    char *announce; /* owned; NULL when absent */
    /* owned; announce-list flattened: tracker_count entries in tier order, each tier's URLs in
     * their listed order (empty tiers dropped); NULL and 0 when the manifest has no announce-list */
    crow_manifest_tracker_t *trackers;
    uint32_t tracker_count;
    bool single_file; /* `length` (true) rather than `files` */
    uint64_t total_length;
    uint32_t piece_length;
    uint32_t piece_count;
    uint32_t chunk_size;
    uint32_t file_count;
    crow_manifest_file_t *files; /* owned; file_count entries (1 for a single file) */
    crow_manifest_link_t *links; /* owned; link_count symlinks (multi-file only) */
    uint32_t link_count;
    char **dirs; /* owned; dir_count paths of empty directories (multi-file only) */
    uint32_t dir_count;
    uint8_t *sha1;                       /* owned; piece_count * 20 bytes */
    uint8_t *sha256;                     /* owned; piece_count * 32 bytes */
    uint8_t release_id[CROW_SHA256_LEN]; /* SHA-256 of the bencoded info */
    uint8_t info_hash[CROW_SHA1_LEN];    /* SHA-1 of the bencoded info */
    /* "crowcast signatures", as listed; parsing checks their shape (lengths, count, no key twice),
     * never their validity (crow_release_verify) */
    crow_manifest_signature_t signatures[CROW_MANIFEST_MAX_SIGNATURES];
    uint32_t signature_count;
} crow_manifest_t;

/* Parses and validates a metainfo buffer. On success returns 0 and *m owns its memory (release
 * with crow_manifest_dispose). On failure returns CROW_EPARSE (not bencode), CROW_EMANIFEST (bad
 * field), CROW_EPATH (unsafe path), CROW_ELIMIT or -ENOMEM, leaves *m empty, and writes a
 * one-line reason into why (when why_cap > 0). */
int crow_manifest_parse(const uint8_t *buf, size_t len, crow_manifest_t *m, char *why, size_t why_cap);
void crow_manifest_dispose(crow_manifest_t *m);

/* Bytes in piece `piece` (the last one may be short); 0 when out of range. */
uint32_t crow_manifest_piece_size(const crow_manifest_t *m, uint32_t piece);
/* Chunks in piece `piece`: ceil(piece_size / chunk_size). */
uint32_t crow_manifest_piece_chunks(const crow_manifest_t *m, uint32_t piece);
/* Total chunks in the release; chunk numbers run piece by piece. */
uint64_t crow_manifest_total_chunks(const crow_manifest_t *m);

/* Checks one relative path as it would be created under a release root: components separated by
 * '/', none empty, ".", or "..", none longer than CROW_MAX_NAME, no leading '/', no NUL, at most
 * CROW_MAX_PATH bytes. Returns 0 or CROW_EPATH. */
int crow_manifest_check_path(const char *path, size_t len);

/* Completes and validates a manifest being built (the writer's first step; parse runs it too).
 * Reads name, single_file, file_count, files[].path/length/attr, links, dirs, piece_length and
 * chunk_size; checks them like crow_manifest_parse does (safe paths and link targets, a safe
 * single-component name, no path twice among files, links and empty directories, none of them
 * inside a file, a link or an "empty" directory, limits, no overflow, at least one byte) and
 * fills files[].offset, total_length and piece_count. For a single file, files[0].path must equal
 * name. Allocates nothing that outlives the call. Returns 0, CROW_EMANIFEST, CROW_EPATH,
 * CROW_ELIMIT or -ENOMEM, with a one-line reason in why. */
int crow_manifest_layout(crow_manifest_t *m, char *why, size_t why_cap);

/* Sets the trackers of a manifest being built from `count` tier arguments, as `crowcast make
 * --tracker` takes them (mktorrent's -a convention): each is "URL[,URL...]", one tier, its URLs in
 * order. The first URL becomes `announce`; announce-list lists every URL when there is more than one
 * (a single tracker needs no list, and stock clients read `announce`). Replaces what m held. Returns
 * 0, CROW_EMANIFEST (an empty URL, or one with a space or control byte), CROW_ELIMIT (more than
 * CROW_MANIFEST_MAX_TRACKERS URLs) or -ENOMEM, with a one-line reason in why. */
int crow_manifest_set_trackers(crow_manifest_t *m, const char *const *tiers, uint32_t count, char *why,
                               size_t why_cap);

/* Writes the canonical bencoded metainfo of `m` (announce when not NULL; announce-list when
 * tracker_count > 0, a new tier wherever trackers[].tier changes; crowcast signatures when
 * signature_count > 0; info with the crowcast
 * dictionary, `length` or `files`, name, piece length, pieces) into buf[0..cap). `m` must have
 * passed crow_manifest_layout and carry piece_count hashes in sha1 and sha256. Output depends
 * only on those fields, so the same release always encodes to the same bytes. Returns the length
 * written, CROW_ESPACE when cap is too small (see crow_manifest_encoded_size), or CROW_EMANIFEST
 * when the hashes are missing. release_id and info_hash are not read: parse the output to get them. */
long crow_manifest_encode(const crow_manifest_t *m, uint8_t *buf, size_t cap);
/* Bytes crow_manifest_encode needs for `m`. */
size_t crow_manifest_encoded_size(const crow_manifest_t *m);

/* Whether m uses anything beyond BitTorrent v1 (attributes, symlinks, empty directories), which
 * makes it a version 2 manifest. */
bool crow_manifest_has_attributes(const crow_manifest_t *m);

#endif
