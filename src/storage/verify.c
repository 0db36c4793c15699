/* Verification of stored pieces against the manifest's SHA-256 hashes (the basis of resume). */
#include <string.h>

#include "crowcast/storage.h"

struct verify_ctx {
    const crow_manifest_t *m;
    crow_bitfield_t *good;
    crow_verify_progress_cb progress;
    void *ctx;
    uint32_t done;
    uint32_t matched;
};

static int check_piece(void *arg, uint32_t piece, int status, const uint8_t *sha1, const uint8_t *sha256)
{
    struct verify_ctx *v = arg;
    (void)sha1;
    if (status == 0 && memcmp(sha256, v->m->sha256 + (size_t)piece * CROW_SHA256_LEN, CROW_SHA256_LEN) == 0) {
        crow_bitfield_set(v->good, piece);
        v->matched++;
    } else {
        crow_bitfield_clear(v->good, piece);
    }
    v->done++;
    if (v->progress)
        v->progress(v->ctx, v->done, v->m->piece_count, v->matched);
    return 0;
}

int crow_storage_verify(crow_storage_t *s, unsigned threads, crow_bitfield_t *good,
                        crow_verify_progress_cb progress, void *ctx)
{
    struct verify_ctx v = {.m = crow_storage_manifest(s), .good = good, .progress = progress, .ctx = ctx};
    return crow_storage_hash_pieces(s, threads, CROW_PIECE_SHA256, check_piece, &v);
}
