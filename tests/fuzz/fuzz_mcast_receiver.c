/* The multicast receiver engine fed a hostile stream: a sequence of steps, each a byte (which of 12
 * sources sends, or a hash verdict on a piece) and a datagram record. Whatever arrives, the engine
 * never writes outside the release, its frontier stays inside it and its missing-ranges listing
 * stays on chunk boundaries within pieces. */
#include "crowcast/error.h"
#include "crowcast/mcast_receiver.h"
#include "fuzz.h"
#include "fuzz_release.h"

static void check_missing(const crow_mcast_receiver_t *r, const crow_manifest_t *m)
{
    uint64_t cursor = 0, missing = 0;
    crow_mcast_range_t ranges[16];
    size_t n;
    while ((n = crow_mcast_receiver_missing(r, m->piece_count, &cursor, ranges, 16)) > 0) {
        for (size_t i = 0; i < n; i++) {
            FUZZ_ASSERT(ranges[i].piece < m->piece_count && ranges[i].offset % m->chunk_size == 0);
            FUZZ_ASSERT(ranges[i].length > 0 && (uint64_t)ranges[i].offset + ranges[i].length <=
                                                    crow_manifest_piece_size(m, ranges[i].piece));
            missing += (ranges[i].length + m->chunk_size - 1) / m->chunk_size;
        }
    }
    FUZZ_ASSERT(missing == crow_mcast_receiver_missing_chunks(r));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static crow_manifest_t m;
    if (m.piece_count == 0)
        fuzz_release(&m);
    crow_mcast_receiver_t r;
    if (crow_mcast_receiver_init(&r, &m) != 0)
        abort();
    fuzz_input_t in = fuzz_input(data, size);
    while (in.left > 0) {
        uint8_t op = fuzz_byte(&in);
        if (op >= 0xf0) { /* a hash verdict on piece op & 7 (out of range on purpose at 5..7) */
            int ret = op & 8 ? crow_mcast_receiver_mark_failed(&r, op & 7u)
                             : crow_mcast_receiver_mark_verified(&r, op & 7u);
            FUZZ_ASSERT(ret == ((op & 7u) < m.piece_count ? 0 : CROW_EUSAGE));
            continue;
        }
        size_t len;
        uint8_t *dgram = fuzz_record(&in, &len);
        if (!dgram)
            break;
        crow_mcast_rx_event_t ev;
        int ret = crow_mcast_receiver_on_datagram(&r, op % 12u, dgram, len, &ev);
        FUZZ_ASSERT(ret == 0 || ret == CROW_EPARSE || ret == CROW_ESESSION || ret == CROW_EPROTO);
        if (ev.kind == CROW_MCAST_RX_DATA) {
            FUZZ_ASSERT(ret == 0 && ev.piece < m.piece_count && ev.length > 0);
            FUZZ_ASSERT((uint64_t)ev.offset + ev.length <= crow_manifest_piece_size(&m, ev.piece));
            FUZZ_ASSERT(ev.payload >= dgram && ev.payload + ev.length <= dgram + len);
        }
        free(dgram);
        FUZZ_ASSERT(crow_mcast_receiver_frontier_offset(&r) <= m.total_length);
        FUZZ_ASSERT(crow_mcast_receiver_frontier(&r) <= m.piece_count);
    }
    check_missing(&r, &m);
    FUZZ_ASSERT(crow_mcast_receiver_source_count(&r) <= CROW_MCAST_MAX_SOURCES);
    crow_mcast_receiver_dispose(&r);
    return 0;
}
