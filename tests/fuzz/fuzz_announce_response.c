/* The client's tracker-response decoder (a body from whatever answers on the tracker's address):
 * any bytes are refused with a reason or decode within the caller's arrays, pointers inside the body.
 * The first byte sizes the scratch nodes and the peer array, as small as a caller might pass. */
#include "crowcast/announce.h"
#include "crowcast/error.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static crow_bencode_node_t nodes[1024];
    static crow_announce_peer_t peers[64];
    if (size == 0)
        return 0;
    uint32_t node_cap = 1u + (data[0] & 0x0fu) * 68u;
    size_t peer_cap = (size_t)(data[0] >> 4) * 4u;
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    crow_announce_result_t res;
    const char *why = NULL;
    int ret = crow_announce_decode(body, len, nodes, node_cap, peers, peer_cap, &res, &why);
    if (ret != 0) {
        FUZZ_ASSERT((ret == CROW_EPARSE || ret == CROW_ELIMIT) && why != NULL);
        return 0;
    }
    FUZZ_ASSERT(res.peer_count <= peer_cap);
    FUZZ_ASSERT(!res.failure || (res.failure >= body && res.failure + res.failure_len <= body + len));
    FUZZ_ASSERT(res.crowcast.group_count <= CROW_ANNOUNCE_MAX_GROUPS);
    FUZZ_ASSERT(memchr(res.crowcast.rack, '\0', sizeof res.crowcast.rack) != NULL);
    if (res.crowcast.present && res.crowcast.rack[0])
        FUZZ_ASSERT(crow_rack_name_valid(res.crowcast.rack, strlen(res.crowcast.rack)));
    return 0;
}
