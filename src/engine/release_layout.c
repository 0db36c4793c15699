/* Piece-aligned layout: one pass over the files, a running stream offset, a padding file where a
 * file must start elsewhere within its piece; the previous release's files found by path in a
 * sorted index. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/release_layout.h"

static int by_path(const void *a, const void *b)
{
    const crow_manifest_file_t *x = *(const crow_manifest_file_t *const *)a;
    const crow_manifest_file_t *y = *(const crow_manifest_file_t *const *)b;
    return strcmp(x->path, y->path);
}

/* The previous release's files (padding aside), sorted by path; NULL (and *n 0) without one. */
static const crow_manifest_file_t **index_of(const crow_manifest_t *prev, uint32_t *n)
{
    *n = 0;
    if (!prev)
        return NULL;
    const crow_manifest_file_t **idx = malloc((prev->file_count ? prev->file_count : 1) * sizeof *idx);
    if (!idx)
        return NULL;
    for (uint32_t i = 0; i < prev->file_count; i++)
        if (!(prev->files[i].attr & CROW_ATTR_PAD))
            idx[(*n)++] = &prev->files[i];
    qsort(idx, *n, sizeof *idx, by_path);
    return idx;
}

int crow_release_layout_align(crow_manifest_t *m, const crow_manifest_t *prev, char *why, size_t why_cap)
{
    if (prev && prev->piece_length != m->piece_length)
        return crow_why(why, why_cap, CROW_EMANIFEST,
                        "piece length %u differs from the previous release's %u", m->piece_length,
                        prev->piece_length);
    uint64_t pl = m->piece_length;
    uint32_t nprev;
    const crow_manifest_file_t **idx = index_of(prev, &nprev);
    /* At most one padding file before each file. */
    crow_manifest_file_t *out = malloc(2 * (size_t)(m->file_count ? m->file_count : 1) * sizeof *out);
    if (!out || (prev && !idx)) {
        free(out);
        free(idx);
        return crow_why(why, why_cap, -ENOMEM, "out of memory");
    }
    uint32_t n = 0, pads = 0;
    uint64_t pos = 0;
    int ret = 0;
    for (uint32_t i = 0; i < m->file_count && ret == 0; i++) {
        crow_manifest_file_t f = m->files[i];
        uint64_t want = pos % pl; /* where in its piece the file starts: unchanged by default */
        if (f.length >= pl && !(f.attr & CROW_ATTR_PAD)) {
            const crow_manifest_file_t key = {.path = f.path}, *k = &key;
            const crow_manifest_file_t **hit = nprev ? bsearch(&k, idx, nprev, sizeof *idx, by_path) : NULL;
            /* After a previous release only its files need a place: the others are packed, and
             * the next build keeps wherever they land now. Without one, each starts a piece. */
            want = hit && (*hit)->length == f.length ? (*hit)->offset % pl : prev ? want : 0;
        }
        uint64_t gap = (want + pl - pos % pl) % pl;
        if (gap) {
            char *path = malloc(32);
            if (!path) {
                ret = -ENOMEM;
                break;
            }
            snprintf(path, 32, ".pad/%llu", (unsigned long long)gap);
            out[n++] = (crow_manifest_file_t){.path = path, .length = gap, .attr = CROW_ATTR_PAD};
            pads++;
            pos += gap;
        }
        out[n++] = f;
        pos += f.length;
    }
    if (ret == 0 && (uint64_t)n + m->link_count + m->dir_count > CROW_MAX_FILES)
        ret = crow_why(why, why_cap, CROW_ELIMIT, "padding makes more than %u entries", CROW_MAX_FILES);
    free(idx);
    if (ret) {
        for (uint32_t i = 0; i < n; i++)
            if (out[i].attr & CROW_ATTR_PAD)
                free(out[i].path);
        free(out);
        return ret == -ENOMEM ? crow_why(why, why_cap, ret, "out of memory") : ret;
    }
    free(m->files);
    m->files = out;
    m->file_count = n;
    return (int)pads;
}
