/* What a peer still needs from the multicast stream, as a map a seeder can act on, sans I/O.
 *
 * The release's pieces are cut into CROW_NEED_SEGMENTS segments (crowcast/need_map.h; as many as
 * there are pieces when fewer): segment i holds pieces [i*P/S, (i+1)*P/S). A peer needs segment i
 * when at least half of its chunks are missing, or one of its pieces is missing whole. Scattered
 * loss (a few chunks a piece) is the TCP repair's, not a reason to send the release again; a whole
 * stretch missing is: the peer joined after the stream went by, or the seeder died before sending
 * it, or the peer holds the previous release and took every unchanged piece from it (get
 * --previous): then only the changed pieces are missing. Peers report the map with their announces
 * (need=, crowcast/need_map.h); the tracker ORs the maps of the incomplete peers; a seeder's pass
 * sends only the segments in that OR (crowcast/seeder_policy.h) and starts where the need begins.
 */
#ifndef CROWCAST_STREAM_NEED_H
#define CROWCAST_STREAM_NEED_H

#include <stdint.h>

#include "crowcast/bitfield.h"
#include "crowcast/manifest.h"
#include "crowcast/need_map.h"

/* The segments of a release of piece_count pieces. */
uint32_t crow_stream_segments(uint32_t piece_count);

/* The segments needed. have_chunks[p]: chunks of piece p received by multicast; verified: pieces
 * held whole (from any source). */
void crow_stream_need(const crow_manifest_t *m, const uint32_t *have_chunks, const crow_bitfield_t *verified,
                      crow_need_map_t *out);

/* The piece a pass over `need` should start at: the first needed segment after the longest run of
 * unneeded ones (cyclically), so the needed part comes first and in one stretch. 0 for an empty map. */
uint32_t crow_stream_need_start(const crow_need_map_t *need, uint32_t piece_count);

/* The segments none of whose pieces is in `pending` (the pieces a pass has still to send, the one
 * under way included): those the pass has sent whole. */
void crow_stream_segments_sent(uint32_t piece_count, const crow_bitfield_t *pending, crow_need_map_t *out);

/* The pieces [*first, *end) of segment `seg` (seg below the release's segment count). */
void crow_stream_segment_pieces(uint32_t seg, uint32_t piece_count, uint32_t *first, uint32_t *end);

#endif
