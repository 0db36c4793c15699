/* Release diff: paths of both manifests sorted and merged kind by kind; files in both judged by
 * their pieces; new pieces looked up by content among the old release's sorted piece hashes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/piece_index.h"
#include "crowcast/release_diff.h"

#define NONE UINT32_MAX

struct named {
    const char *path;
    uint32_t index;
};

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct named *)a)->path, ((const struct named *)b)->path);
}

/* The paths of one kind of entry, sorted; padding files are left out (they never reach the disk). */
static struct named *sorted_paths(const crow_manifest_t *m, enum crow_diff_what what, uint32_t *count)
{
    uint32_t n = what == CROW_DIFF_FILE   ? m->file_count
                 : what == CROW_DIFF_LINK ? m->link_count
                                          : m->dir_count;
    struct named *out = malloc((n ? n : 1) * sizeof *out);
    if (!out)
        return NULL;
    *count = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (what == CROW_DIFF_FILE && (m->files[i].attr & CROW_ATTR_PAD))
            continue;
        const char *p = what == CROW_DIFF_FILE   ? m->files[i].path
                        : what == CROW_DIFF_LINK ? m->links[i].path
                                                 : m->dirs[i];
        out[(*count)++] = (struct named){p, i};
    }
    if (*count)
        qsort(out, *count, sizeof *out, by_name);
    return out;
}

static const uint8_t *sha256_of(const crow_manifest_t *m, uint32_t piece)
{
    return m->sha256 + (size_t)piece * CROW_SHA256_LEN;
}

/* Judges a file present in both with the same length by the pieces that cover it. */
static enum crow_diff_change judge_file(const crow_manifest_t *a, uint32_t fa, const crow_manifest_t *b,
                                        uint32_t fb)
{
    const crow_manifest_file_t *x = &a->files[fa], *y = &b->files[fb];
    if (x->length != y->length)
        return CROW_DIFF_CHANGED;
    if (x->length == 0)
        return CROW_DIFF_SAME;
    uint64_t pl = a->piece_length;
    if (pl != b->piece_length || x->offset % pl != y->offset % pl)
        return CROW_DIFF_UNDETERMINED;
    uint32_t pa = (uint32_t)(x->offset / pl), pb = (uint32_t)(y->offset / pl);
    uint32_t pieces = (uint32_t)((x->offset + x->length - 1) / pl) - pa + 1;
    bool unsure = false;
    for (uint32_t k = 0; k < pieces; k++) {
        uint32_t sa = crow_manifest_piece_size(a, pa + k), sb = crow_manifest_piece_size(b, pb + k);
        if (sa == sb && memcmp(sha256_of(a, pa + k), sha256_of(b, pb + k), CROW_SHA256_LEN) == 0)
            continue;
        /* A piece inside the file in both releases holds nothing but its bytes. */
        uint64_t start_a = (uint64_t)(pa + k) * pl, start_b = (uint64_t)(pb + k) * pl;
        bool inside = start_a >= x->offset && start_a + sa <= x->offset + x->length && start_b >= y->offset &&
                      start_b + sb <= y->offset + y->length;
        if (inside)
            return CROW_DIFF_CHANGED;
        unsure = true;
    }
    return unsure ? CROW_DIFF_UNDETERMINED : CROW_DIFF_SAME;
}

static int add(crow_release_diff_t *d, uint32_t *cap, crow_diff_entry_t e)
{
    if (d->count == *cap) {
        uint32_t grown = *cap ? *cap * 2 : 16;
        crow_diff_entry_t *p = realloc(d->entries, grown * sizeof *p);
        if (!p)
            return -ENOMEM;
        d->entries = p;
        *cap = grown;
    }
    d->entries[d->count++] = e;
    return 0;
}

/* Sorts two manifests' entries of one kind into added, removed and changed. */
static int merge(const crow_manifest_t *a, const crow_manifest_t *b, enum crow_diff_what what,
                 crow_release_diff_t *d, uint32_t *cap)
{
    uint32_t na = 0, nb = 0;
    struct named *sa = sorted_paths(a, what, &na), *sb = sorted_paths(b, what, &nb);
    int ret = sa && sb ? 0 : -ENOMEM;
    for (uint32_t i = 0, j = 0; ret == 0 && (i < na || j < nb);) {
        int cmp = i == na ? 1 : j == nb ? -1 : strcmp(sa[i].path, sb[j].path);
        crow_diff_entry_t e;
        if (cmp < 0) {
            e = (crow_diff_entry_t){what, CROW_DIFF_REMOVED, false, sa[i].path, sa[i].index, NONE};
            i++;
        } else if (cmp > 0) {
            e = (crow_diff_entry_t){what, CROW_DIFF_ADDED, false, sb[j].path, NONE, sb[j].index};
            j++;
        } else {
            e = (crow_diff_entry_t){what, CROW_DIFF_SAME, false, sb[j].path, sa[i].index, sb[j].index};
            if (what == CROW_DIFF_FILE) {
                e.change = judge_file(a, e.old_index, b, e.new_index);
                e.mode_changed = (a->files[e.old_index].attr ^ b->files[e.new_index].attr) & CROW_ATTR_EXEC;
            } else if (what == CROW_DIFF_LINK &&
                       strcmp(a->links[e.old_index].target, b->links[e.new_index].target) != 0) {
                e.change = CROW_DIFF_CHANGED;
            }
            i++;
            j++;
        }
        if (e.change == CROW_DIFF_SAME && !e.mode_changed)
            d->files_same += what == CROW_DIFF_FILE;
        else
            ret = add(d, cap, e);
    }
    free(sa);
    free(sb);
    return ret;
}

static int count_new_pieces(const crow_manifest_t *a, const crow_manifest_t *b, crow_release_diff_t *d)
{
    crow_piece_index_t ix;
    if (crow_piece_index_init(&ix, a))
        return -ENOMEM;
    d->pieces_total = b->piece_count;
    d->bytes_total = b->total_length;
    for (uint32_t p = 0; p < b->piece_count; p++) {
        uint32_t size = crow_manifest_piece_size(b, p);
        if (crow_piece_index_find(&ix, sha256_of(b, p), size) != UINT32_MAX)
            continue;
        d->pieces_new++;
        d->bytes_to_move += size;
    }
    crow_piece_index_dispose(&ix);
    return 0;
}

int crow_release_diff(const crow_manifest_t *from, const crow_manifest_t *to, crow_release_diff_t *d)
{
    memset(d, 0, sizeof *d);
    uint32_t cap = 0;
    int ret = merge(from, to, CROW_DIFF_FILE, d, &cap);
    if (ret == 0)
        ret = merge(from, to, CROW_DIFF_LINK, d, &cap);
    if (ret == 0)
        ret = merge(from, to, CROW_DIFF_DIR, d, &cap);
    if (ret == 0)
        ret = count_new_pieces(from, to, d);
    if (ret)
        crow_release_diff_dispose(d);
    return ret;
}

void crow_release_diff_dispose(crow_release_diff_t *d)
{
    free(d->entries);
    memset(d, 0, sizeof *d);
}
