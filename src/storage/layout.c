/* Maps ranges of the release byte stream onto file segments (sans I/O). */
#include <errno.h>

#include "crowcast/error.h"
#include "crowcast/layout.h"

uint32_t crow_layout_file_at(const crow_manifest_t *m, uint64_t pos)
{
    if (pos >= m->total_length)
        return m->file_count;
    /* The last file whose offset is <= pos. Empty files share their offset with the next file,
     * so taking the last such index skips them: the file found has offset <= pos < offset + length. */
    uint32_t lo = 0, hi = m->file_count;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (m->files[mid].offset <= pos)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

int crow_layout_iter_init(crow_layout_iter_t *it, const crow_manifest_t *m, uint64_t pos, uint64_t len)
{
    if (pos > m->total_length || len > m->total_length - pos)
        return -ERANGE;
    it->m = m;
    it->pos = pos;
    it->end = pos + len;
    it->file = len ? crow_layout_file_at(m, pos) : m->file_count;
    return 0;
}

int crow_layout_piece_range(const crow_manifest_t *m, uint32_t piece, uint64_t *start, uint64_t *len)
{
    if (piece >= m->piece_count)
        return -ERANGE;
    uint64_t s = (uint64_t)piece * m->piece_length;
    if (s >= m->total_length)
        return -ERANGE;
    uint64_t rest = m->total_length - s;
    *start = s;
    *len = rest < m->piece_length ? rest : m->piece_length;
    return 0;
}

int crow_layout_iter_piece(crow_layout_iter_t *it, const crow_manifest_t *m, uint32_t piece, uint64_t offset,
                           uint64_t len)
{
    uint64_t start, size;
    int ret = crow_layout_piece_range(m, piece, &start, &size);
    if (ret < 0)
        return ret;
    if (offset > size || len > size - offset)
        return -ERANGE;
    return crow_layout_iter_init(it, m, start + offset, len);
}

bool crow_layout_next(crow_layout_iter_t *it, crow_segment_t *seg)
{
    if (it->pos >= it->end)
        return false;
    const crow_manifest_t *m = it->m;
    /* Step over files that end at or before pos (empty ones included). */
    while (it->file < m->file_count && m->files[it->file].offset + m->files[it->file].length <= it->pos)
        it->file++;
    if (it->file >= m->file_count)
        return false; /* unreachable with a consistent manifest: offsets sum to total_length */
    const crow_manifest_file_t *f = &m->files[it->file];
    uint64_t in_file = f->offset + f->length - it->pos;
    uint64_t want = it->end - it->pos;
    seg->file = it->file;
    seg->offset = it->pos - f->offset;
    seg->length = want < in_file ? want : in_file;
    it->pos += seg->length;
    return true;
}

int crow_layout_map(const crow_manifest_t *m, uint64_t pos, uint64_t len, crow_segment_t *out, size_t cap)
{
    crow_layout_iter_t it;
    int ret = crow_layout_iter_init(&it, m, pos, len);
    if (ret < 0)
        return ret;
    size_t n = 0;
    crow_segment_t seg;
    while (crow_layout_next(&it, &seg)) {
        if (n == cap || n >= (size_t)INT32_MAX)
            return CROW_ESPACE;
        out[n++] = seg;
    }
    return (int)n;
}

int crow_layout_piece_files(const crow_manifest_t *m, uint32_t piece, uint32_t *first, uint32_t *last)
{
    uint64_t start, len;
    int ret = crow_layout_piece_range(m, piece, &start, &len);
    if (ret < 0)
        return ret;
    *first = crow_layout_file_at(m, start);
    *last = crow_layout_file_at(m, start + len - 1);
    return 0;
}
