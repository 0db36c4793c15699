/* The release the engine harnesses (datagram, mcast receiver, peer session) run against: 5 pieces of
 * 16 KiB (the last one short), 1 KiB chunks. tests/fuzz/make_seeds.py writes its seeds for the same
 * geometry: keep the two in step. */
#ifndef CROWCAST_FUZZ_RELEASE_H
#define CROWCAST_FUZZ_RELEASE_H

#include <string.h>

#include "crowcast/manifest.h"

#define FUZZ_PIECE  16384u
#define FUZZ_PIECES 5u
#define FUZZ_TOTAL  ((FUZZ_PIECES - 1) * FUZZ_PIECE + 5000u)
#define FUZZ_CHUNK  1024u

/* A manifest with the geometry above: release id bytes 0xa0, 0xa1, ... (session 0xa0a1a2a3a4a5a6a7),
 * info hash twenty 0x5a bytes. Nothing in it is owned: do not dispose it. */
static inline void fuzz_release(crow_manifest_t *m)
{
    memset(m, 0, sizeof *m);
    m->total_length = FUZZ_TOTAL;
    m->piece_length = FUZZ_PIECE;
    m->piece_count = FUZZ_PIECES;
    m->chunk_size = FUZZ_CHUNK;
    for (int i = 0; i < CROW_SHA256_LEN; i++)
        m->release_id[i] = (uint8_t)(0xa0 + i);
    memset(m->info_hash, 0x5a, sizeof m->info_hash);
}

#endif
