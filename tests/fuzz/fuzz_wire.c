/* Peer wire codec: a byte stream as a peer would send it (an optional handshake, then messages) is
 * cut into messages that each encode back to the bytes they came from; an extension handshake that
 * decodes re-encodes to one that decodes to the same values. The first byte picks the length limit. */
#include "crowcast/error.h"
#include "crowcast/wire.h"
#include "fuzz.h"

static void ext_round_trip(const crow_wire_msg_t *msg)
{
    crow_wire_ext_t ext, again;
    const char *why = NULL;
    if (crow_wire_decode_ext(msg->data, msg->data_len, &ext, &why) != 0) {
        FUZZ_ASSERT(why != NULL);
        return;
    }
    size_t cap = msg->data_len + 64;
    uint8_t *buf = malloc(cap);
    if (!buf)
        abort();
    long len = crow_wire_encode_ext(buf, cap, &ext);
    FUZZ_ASSERT(len > 0);
    FUZZ_ASSERT(crow_wire_decode_ext(buf, (size_t)len, &again, &why) == 0);
    FUZZ_ASSERT(again.crowcast == ext.crowcast && again.reqq == ext.reqq && again.pos == ext.pos);
    FUZZ_ASSERT(again.max_request == ext.max_request && again.client_len == ext.client_len);
    FUZZ_ASSERT(again.rack_len == ext.rack_len && (ext.rack == NULL) == (again.rack == NULL));
    free(buf);
}

/* The encoding of msg, for the types this codec can write; NULL for the others. */
static uint8_t *encode(uint8_t *dst, const crow_wire_msg_t *msg)
{
    switch (msg->type) {
    case CROW_WIRE_KEEPALIVE:
        return crow_wire_encode_keepalive(dst);
    case CROW_WIRE_CHOKE:
    case CROW_WIRE_UNCHOKE:
    case CROW_WIRE_INTERESTED:
    case CROW_WIRE_NOT_INTERESTED:
        return crow_wire_encode_state(dst, msg->type);
    case CROW_WIRE_HAVE:
        return crow_wire_encode_have(dst, msg->index);
    case CROW_WIRE_BITFIELD:
        return crow_wire_encode_bitfield(dst, msg->data, (uint32_t)msg->data_len);
    case CROW_WIRE_REQUEST:
    case CROW_WIRE_CANCEL:
        return crow_wire_encode_request(dst, msg->type, msg->index, msg->begin, msg->length);
    case CROW_WIRE_PIECE:
        FUZZ_ASSERT(msg->length == msg->data_len);
        dst = crow_wire_encode_piece_header(dst, msg->index, msg->begin, msg->length);
        memcpy(dst, msg->data, msg->data_len);
        return dst + msg->data_len;
    case CROW_WIRE_EXTENDED:
        dst = crow_wire_encode_ext_header(dst, msg->ext_id, (uint32_t)msg->data_len);
        memcpy(dst, msg->data, msg->data_len);
        return dst + msg->data_len;
    default:
        return NULL;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t limits[4] = {0, 17, 1u << 14, CROW_WIRE_MAX_BLOCK + 13};
    fuzz_input_t in = fuzz_input(data, size);
    uint32_t max_len = limits[fuzz_byte(&in) & 3u];
    const uint8_t *p = in.pos, *end = in.pos + in.left;
    const char *why = NULL;
    crow_wire_handshake_t hs;
    int hret = crow_wire_decode_handshake(p, (size_t)(end - p), &hs, &why);
    if (hret == CROW_WIRE_HANDSHAKE_LEN) {
        uint8_t again[CROW_WIRE_HANDSHAKE_LEN];
        FUZZ_ASSERT(crow_wire_encode_handshake(again, &hs) == again + sizeof again);
        FUZZ_ASSERT(memcmp(again, p, sizeof again) == 0);
        p += hret;
    }
    uint8_t *out = malloc((size_t)(end - p) + 16);
    if (!out)
        abort();
    while (p < end) {
        crow_wire_msg_t msg;
        long n = crow_wire_decode(p, (size_t)(end - p), max_len, &msg, &why);
        if (n < 0) {
            FUZZ_ASSERT(n == CROW_EMORE || n == CROW_ELIMIT || n == CROW_EPROTO);
            break;
        }
        FUZZ_ASSERT(n >= 4 && (size_t)n <= (size_t)(end - p) && (size_t)n - 4 <= max_len);
        FUZZ_ASSERT(crow_wire_type_name(msg.type) != NULL);
        uint8_t *stop = encode(out, &msg);
        if (stop)
            FUZZ_ASSERT(stop - out == n && memcmp(out, p, (size_t)n) == 0);
        if (msg.type == CROW_WIRE_EXTENDED && msg.ext_id == 0)
            ext_round_trip(&msg);
        p += n;
    }
    free(out);
    return 0;
}
