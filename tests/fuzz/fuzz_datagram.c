/* Multicast datagram codec: any UDP payload is refused or decodes to a datagram that encodes back to
 * the same bytes (every reserved field is checked to be zero, so the encoding is unique), and the
 * checks against a release never read past it. */
#include "crowcast/datagram.h"
#include "crowcast/error.h"
#include "fuzz.h"
#include "fuzz_release.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static crow_manifest_t m;
    if (m.piece_count == 0)
        fuzz_release(&m);
    crow_dgram_t d;
    if (crow_dgram_decode(data, size, &d) != 0)
        return 0;
    FUZZ_ASSERT(size ==
                CROW_DGRAM_HEADER_LEN + d.length + (d.flags & CROW_DGRAM_F_AUTH ? CROW_DGRAM_TAG_LEN : 0));
    int ret = 0;
    if (d.type == CROW_DGRAM_DATA) {
        FUZZ_ASSERT(d.payload == data + CROW_DGRAM_HEADER_LEN);
        ret = crow_dgram_check_data(&d, &m);
    } else if (d.type == CROW_DGRAM_BEACON) {
        ret = crow_dgram_check_beacon(&d, &m);
    }
    FUZZ_ASSERT(ret == 0 || ret == CROW_ESESSION || ret == CROW_EPROTO);
    if (d.type == CROW_DGRAM_DATA && ret == 0) {
        uint64_t end = (uint64_t)d.offset + d.length;
        FUZZ_ASSERT(d.piece < m.piece_count && end <= crow_manifest_piece_size(&m, d.piece));
    }

    uint8_t *out = malloc(size);
    if (!out)
        abort();
    /* The encoder writes header and body; an authenticated datagram's tag is the sender's to add. */
    size_t body = size - (d.flags & CROW_DGRAM_F_AUTH ? CROW_DGRAM_TAG_LEN : 0);
    FUZZ_ASSERT(crow_dgram_encode(&d, out, body) == (long)body);
    FUZZ_ASSERT(memcmp(out, data, body) == 0);
    if (body > 0)
        FUZZ_ASSERT(crow_dgram_encode(&d, out, body - 1) == CROW_ESPACE);
    free(out);
    return 0;
}
