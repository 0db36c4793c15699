/* The map of what a peer still needs from the stream; see crowcast/stream_need.h. */
#include "crowcast/stream_need.h"

uint32_t crow_stream_segments(uint32_t piece_count)
{
    return piece_count < CROW_NEED_SEGMENTS ? piece_count : CROW_NEED_SEGMENTS;
}

static uint32_t segment_first(uint32_t seg, uint32_t nseg, uint32_t piece_count)
{
    return (uint32_t)((uint64_t)seg * piece_count / nseg);
}

void crow_stream_need(const crow_manifest_t *m, const uint32_t *have_chunks, const crow_bitfield_t *verified,
                      crow_need_map_t *out)
{
    uint32_t nseg = crow_stream_segments(m->piece_count);
    *out = (crow_need_map_t){{0}};
    for (uint32_t seg = 0; seg < nseg; seg++) {
        uint32_t lo = segment_first(seg, nseg, m->piece_count),
                 hi = segment_first(seg + 1, nseg, m->piece_count);
        uint64_t chunks = 0, missing = 0;
        bool whole = false; /* a piece of it is missing whole */
        for (uint32_t p = lo; p < hi; p++) {
            uint32_t n = crow_manifest_piece_chunks(m, p);
            chunks += n;
            if (!crow_bitfield_get(verified, p)) {
                missing += have_chunks[p] < n ? n - have_chunks[p] : 0;
                whole |= have_chunks[p] == 0;
            }
        }
        if ((missing * 2 >= chunks && missing > 0) || whole)
            crow_need_map_set(out, seg);
    }
}

uint32_t crow_stream_need_start(const crow_need_map_t *need, uint32_t piece_count)
{
    uint32_t nseg = crow_stream_segments(piece_count), k = 0;
    while (k < nseg && !crow_need_map_get(need, k))
        k++;
    if (k == nseg)
        return 0;
    /* The longest cyclic run of unneeded segments; the pass starts right after it. The walk starts
     * after a needed segment and ends on it, so no run is cut by the wrap. */
    uint32_t best_len = 0, best_end = k, len = 0;
    for (uint32_t i = 1; i <= nseg; i++) {
        uint32_t seg = (k + i) % nseg;
        if (!crow_need_map_get(need, seg)) {
            len++;
            continue;
        }
        if (len > best_len) {
            best_len = len;
            best_end = seg;
        }
        len = 0;
    }
    return segment_first(best_end, nseg, piece_count);
}

void crow_stream_segments_sent(uint32_t piece_count, const crow_bitfield_t *pending, crow_need_map_t *out)
{
    uint32_t nseg = crow_stream_segments(piece_count);
    *out = (crow_need_map_t){{0}};
    for (uint32_t seg = 0; seg < nseg; seg++) {
        uint32_t lo = segment_first(seg, nseg, piece_count), hi = segment_first(seg + 1, nseg, piece_count);
        if (crow_bitfield_next_set(pending, lo) >= hi)
            crow_need_map_set(out, seg);
    }
}

void crow_stream_segment_pieces(uint32_t seg, uint32_t piece_count, uint32_t *first, uint32_t *end)
{
    uint32_t nseg = crow_stream_segments(piece_count);
    *first = segment_first(seg, nseg, piece_count);
    *end = segment_first(seg + 1, nseg, piece_count);
}
