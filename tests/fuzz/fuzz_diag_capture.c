/* crowcast-diag's accounting fed a whole hostile capture: the first byte picks the link type, then
 * each record is one frame (in an exact-size buffer, as diag_replay feeds them) with a timestamp that
 * moves forward, from one of two capture sources. UDP frames go through the datagram decoder and the
 * stream tables, TCP through flow reassembly, the peer wire codec and the announce parser. The
 * aggregates it reports afterwards stay consistent with its tables. */
#include "crowcast/diag_stats.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int links[4] = {CROW_LINK_EN10MB, CROW_LINK_RAW, CROW_LINK_SLL, CROW_LINK_SLL2};
    static crow_diag_stats_agg_t agg[64];
    fuzz_input_t in = fuzz_input(data, size);
    int link = links[fuzz_byte(&in) & 3u];
    crow_diag_stats_config_t cfg = {.max_streams = 16,
                                    .flows = {.wire_ports = {6881},
                                              .wire_port_count = 1,
                                              .tracker_ports = {6969},
                                              .tracker_port_count = 1,
                                              .max_conns = 8,
                                              .max_announcers = 8}};
    crow_diag_stats_t d;
    if (crow_diag_stats_init(&d, &cfg) != 0)
        abort();
    double ts = 1.0;
    size_t len;
    uint8_t *frame;
    for (uint32_t n = 0; (frame = fuzz_record(&in, &len)) != NULL; n++) {
        crow_diag_stats_feed(&d, link, frame, len, len, (uint16_t)(n & 1u), ts);
        ts += 0.001 * (double)(len & 7u);
        free(frame);
    }
    FUZZ_ASSERT(d.stream_count <= cfg.max_streams && d.flows.conn_count <= cfg.flows.max_conns);
    for (int by = CROW_DIAG_STATS_BY_SESSION; by <= CROW_DIAG_STATS_BY_HOST; by++)
        FUZZ_ASSERT(crow_diag_stats_aggregate(&d, (enum crow_diag_stats_by)by, agg, 64) <= d.stream_count);
    crow_diag_stats_counts_t sum;
    crow_diag_stats_sum(&d, &sum);
    crow_diag_stats_dispose(&d);
    return 0;
}
