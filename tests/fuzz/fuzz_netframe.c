/* Captured frame decoder (crowcast-diag reads whatever a capture holds): the first byte picks the
 * link type (the ones it knows and one it does not) and whether the wire length exceeds the captured
 * length, the rest is the frame. Every verdict is a known status and a usable payload lies inside the
 * captured bytes. */
#include "crowcast/netframe.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int links[8] = {CROW_LINK_NULL, CROW_LINK_EN10MB, CROW_LINK_RAW,  CROW_LINK_RAW_FILE,
                                 CROW_LINK_SLL,  CROW_LINK_IPV4,   CROW_LINK_SLL2, 147};
    if (size == 0)
        return 0;
    int link = links[data[0] & 7u];
    size_t caplen = size - 1, wirelen = caplen + (data[0] & 8u ? 1000u : 0u);
    uint8_t *frame = malloc(caplen ? caplen : 1);
    if (!frame)
        abort();
    memcpy(frame, data + 1, caplen);
    crow_netframe_t fr;
    enum crow_netframe_status st = crow_netframe_parse(link, frame, caplen, wirelen, &fr);
    FUZZ_ASSERT(st < CROW_NF_COUNT_ && crow_netframe_status_name(st) != NULL);
    if (st == CROW_NF_OK) {
        FUZZ_ASSERT(fr.proto == CROW_IPPROTO_UDP || fr.proto == CROW_IPPROTO_TCP);
        FUZZ_ASSERT(fr.payload_len <= fr.wire_payload_len);
        FUZZ_ASSERT(fr.payload_len == 0 ||
                    (fr.payload >= frame && fr.payload + fr.payload_len <= frame + caplen));
    }
    free(frame);
    return 0;
}
