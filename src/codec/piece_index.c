/* Piece numbers sorted by (size, SHA-256, number), searched by halving. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/piece_index.h"

static int compare(const crow_manifest_t *m, uint32_t piece, const uint8_t *sha256, uint32_t size)
{
    uint32_t have = crow_manifest_piece_size(m, piece);
    if (have != size)
        return have < size ? -1 : 1;
    return memcmp(m->sha256 + (size_t)piece * CROW_SHA256_LEN, sha256, CROW_SHA256_LEN);
}

static int by_content(const void *pa, const void *pb, void *ctx)
{
    const crow_manifest_t *m = ctx;
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    int c = compare(m, a, m->sha256 + (size_t)b * CROW_SHA256_LEN, crow_manifest_piece_size(m, b));
    return c ? c : a < b ? -1 : a > b;
}

int crow_piece_index_init(crow_piece_index_t *ix, const crow_manifest_t *m)
{
    ix->m = m;
    ix->order = malloc((m->piece_count ? m->piece_count : 1) * sizeof *ix->order);
    if (!ix->order)
        return -ENOMEM;
    for (uint32_t p = 0; p < m->piece_count; p++)
        ix->order[p] = p;
    qsort_r(ix->order, m->piece_count, sizeof *ix->order, by_content, (void *)m);
    return 0;
}

uint32_t crow_piece_index_find(const crow_piece_index_t *ix, const uint8_t sha256[32], uint32_t size)
{
    uint32_t lo = 0, hi = ix->m->piece_count; /* the first entry not below the key lies in [lo, hi] */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (compare(ix->m, ix->order[mid], sha256, size) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ix->m->piece_count && compare(ix->m, ix->order[lo], sha256, size) == 0 ? ix->order[lo]
                                                                                       : UINT32_MAX;
}

void crow_piece_index_dispose(crow_piece_index_t *ix)
{
    free(ix->order);
    ix->order = NULL;
}
