/* The coarse map of what a peer still needs from the stream; see crowcast/stream_need.h. */
#include "crowcast/stream_need.h"

static uint32_t segments(uint32_t piece_count)
{
    return piece_count < CROW_NEED_SEGMENTS ? piece_count : CROW_NEED_SEGMENTS;
}

static uint32_t segment_first(uint32_t seg, uint32_t nseg, uint32_t piece_count)
{
    return (uint32_t)((uint64_t)seg * piece_count / nseg);
}

uint64_t crow_stream_need(const crow_manifest_t *m, const uint32_t *have_chunks,
                          const crow_bitfield_t *verified)
{
    uint32_t nseg = segments(m->piece_count);
    uint64_t need = 0;
    for (uint32_t seg = 0; seg < nseg; seg++) {
        uint32_t lo = segment_first(seg, nseg, m->piece_count),
                 hi = segment_first(seg + 1, nseg, m->piece_count);
        uint64_t chunks = 0, missing = 0;
        for (uint32_t p = lo; p < hi; p++) {
            uint32_t n = crow_manifest_piece_chunks(m, p);
            chunks += n;
            if (!crow_bitfield_get(verified, p))
                missing += have_chunks[p] < n ? n - have_chunks[p] : 0;
        }
        if (missing * 2 >= chunks && missing > 0)
            need |= 1ull << seg;
    }
    return need;
}

uint32_t crow_stream_need_start(uint64_t need, uint32_t piece_count)
{
    uint32_t nseg = segments(piece_count);
    if (need == 0 || nseg == 0)
        return 0;
    /* The longest cyclic run of unneeded segments; the pass starts right after it. */
    uint32_t best_len = 0, best_end = 0;
    for (uint32_t start = 0; start < nseg; start++) {
        if (need >> start & 1)
            continue;
        uint32_t len = 0;
        while (len < nseg && !(need >> ((start + len) % nseg) & 1))
            len++;
        if (len > best_len) {
            best_len = len;
            best_end = (start + len) % nseg;
        }
    }
    return segment_first(best_end, nseg, piece_count);
}

uint64_t crow_stream_segments_sent(uint32_t piece_count, const crow_bitfield_t *pending)
{
    uint32_t nseg = segments(piece_count);
    uint64_t sent = 0;
    for (uint32_t seg = 0; seg < nseg; seg++) {
        uint32_t lo = segment_first(seg, nseg, piece_count), hi = segment_first(seg + 1, nseg, piece_count);
        if (crow_bitfield_next_set(pending, lo) >= hi)
            sent |= 1ull << seg;
    }
    return sent;
}

void crow_stream_segment_pieces(uint32_t seg, uint32_t piece_count, uint32_t *first, uint32_t *end)
{
    uint32_t nseg = segments(piece_count);
    *first = segment_first(seg, nseg, piece_count);
    *end = segment_first(seg + 1, nseg, piece_count);
}
