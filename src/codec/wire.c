/* BitTorrent v1 peer wire messages (BEP 3) and the BEP 10 extension handshake: framing, strict
 * length checks, encoders into caller buffers. No allocation, no copies of payloads. */
#include <string.h>

#include "crowcast/byteorder.h"
#include "crowcast/bencode.h"
#include "crowcast/error.h"
#include "crowcast/wire.h"

static int fail(const char **why, const char *reason, int code)
{
    if (why)
        *why = reason;
    return code;
}

int crow_wire_decode_handshake(const uint8_t *buf, size_t len, crow_wire_handshake_t *hs, const char **why)
{
    /* Compare whatever prefix has arrived: an HTTP request or a TLS hello is refused at once. */
    if (len >= 1 && buf[0] != CROW_WIRE_PSTR_LEN)
        return fail(why, "handshake: protocol string length is not 19", CROW_EPROTO);
    size_t have = len > 1 + CROW_WIRE_PSTR_LEN ? CROW_WIRE_PSTR_LEN : (len ? len - 1 : 0);
    if (memcmp(buf + 1, CROW_WIRE_PSTR, have) != 0)
        return fail(why, "handshake: protocol is not \"BitTorrent protocol\"", CROW_EPROTO);
    if (len < CROW_WIRE_HANDSHAKE_LEN)
        return CROW_EMORE;
    const uint8_t *p = buf + 1 + CROW_WIRE_PSTR_LEN;
    memcpy(hs->reserved, p, sizeof hs->reserved);
    memcpy(hs->info_hash, p + 8, CROW_WIRE_ID_LEN);
    memcpy(hs->peer_id, p + 8 + CROW_WIRE_ID_LEN, CROW_WIRE_ID_LEN);
    return CROW_WIRE_HANDSHAKE_LEN;
}

uint8_t *crow_wire_encode_handshake(uint8_t *dst, const crow_wire_handshake_t *hs)
{
    *dst++ = CROW_WIRE_PSTR_LEN;
    memcpy(dst, CROW_WIRE_PSTR, CROW_WIRE_PSTR_LEN);
    dst += CROW_WIRE_PSTR_LEN;
    memcpy(dst, hs->reserved, sizeof hs->reserved);
    dst += sizeof hs->reserved;
    memcpy(dst, hs->info_hash, CROW_WIRE_ID_LEN);
    dst += CROW_WIRE_ID_LEN;
    memcpy(dst, hs->peer_id, CROW_WIRE_ID_LEN);
    return dst + CROW_WIRE_ID_LEN;
}

/* Body length (after the id byte) each fixed-size message must have; -1 for variable ones. */
static long fixed_body(uint8_t id)
{
    switch (id) {
    case CROW_WIRE_CHOKE:
    case CROW_WIRE_UNCHOKE:
    case CROW_WIRE_INTERESTED:
    case CROW_WIRE_NOT_INTERESTED:
        return 0;
    case CROW_WIRE_HAVE:
        return 4;
    case CROW_WIRE_REQUEST:
    case CROW_WIRE_CANCEL:
        return 12;
    case CROW_WIRE_PORT:
        return 2;
    default:
        return -1;
    }
}

long crow_wire_decode(const uint8_t *buf, size_t len, uint32_t max_len, crow_wire_msg_t *msg,
                      const char **why)
{
    if (len < 4)
        return CROW_EMORE;
    uint32_t n = crow_get32(buf);
    if (n > max_len)
        return fail(why, "message longer than allowed", CROW_ELIMIT);
    if (len - 4 < n)
        return CROW_EMORE;
    memset(msg, 0, sizeof *msg);
    if (n == 0) {
        msg->type = CROW_WIRE_KEEPALIVE;
        return 4;
    }
    const uint8_t *body = buf + 5;
    size_t body_len = n - 1;
    msg->id = buf[4];
    long fixed = fixed_body(msg->id);
    if (fixed >= 0 && body_len != (size_t)fixed)
        return fail(why, "fixed-size message with a wrong length", CROW_EPROTO);
    switch (msg->id) {
    case CROW_WIRE_CHOKE:
    case CROW_WIRE_UNCHOKE:
    case CROW_WIRE_INTERESTED:
    case CROW_WIRE_NOT_INTERESTED:
        break;
    case CROW_WIRE_HAVE:
        msg->index = crow_get32(body);
        break;
    case CROW_WIRE_REQUEST:
    case CROW_WIRE_CANCEL:
        msg->index = crow_get32(body);
        msg->begin = crow_get32(body + 4);
        msg->length = crow_get32(body + 8);
        break;
    case CROW_WIRE_PORT:
        msg->port = (uint16_t)(body[0] << 8 | body[1]);
        break;
    case CROW_WIRE_BITFIELD:
        msg->data = body;
        msg->data_len = body_len;
        break;
    case CROW_WIRE_PIECE:
        if (body_len < 8)
            return fail(why, "piece message shorter than its header", CROW_EPROTO);
        msg->index = crow_get32(body);
        msg->begin = crow_get32(body + 4);
        msg->data = body + 8;
        msg->data_len = body_len - 8;
        msg->length = (uint32_t)msg->data_len;
        break;
    case CROW_WIRE_EXTENDED:
        if (body_len < 1)
            return fail(why, "extended message without its id", CROW_EPROTO);
        msg->ext_id = body[0];
        msg->data = body + 1;
        msg->data_len = body_len - 1;
        break;
    default:
        msg->type = CROW_WIRE_UNKNOWN;
        msg->data = body;
        msg->data_len = body_len;
        return 4 + (long)n;
    }
    msg->type = (enum crow_wire_type)msg->id;
    return 4 + (long)n;
}

uint8_t *crow_wire_encode_keepalive(uint8_t *dst)
{
    return crow_put32(dst, 0);
}

uint8_t *crow_wire_encode_state(uint8_t *dst, enum crow_wire_type type)
{
    dst = crow_put32(dst, 1);
    *dst++ = (uint8_t)type;
    return dst;
}

uint8_t *crow_wire_encode_have(uint8_t *dst, uint32_t index)
{
    dst = crow_put32(dst, 5);
    *dst++ = CROW_WIRE_HAVE;
    return crow_put32(dst, index);
}

uint8_t *crow_wire_encode_bitfield(uint8_t *dst, const uint8_t *bits, uint32_t nbytes)
{
    dst = crow_put32(dst, 1 + nbytes);
    *dst++ = CROW_WIRE_BITFIELD;
    memcpy(dst, bits, nbytes);
    return dst + nbytes;
}

uint8_t *crow_wire_encode_request(uint8_t *dst, enum crow_wire_type type, uint32_t index, uint32_t begin,
                                  uint32_t length)
{
    dst = crow_put32(dst, 13);
    *dst++ = (uint8_t)type;
    dst = crow_put32(dst, index);
    dst = crow_put32(dst, begin);
    return crow_put32(dst, length);
}

uint8_t *crow_wire_encode_piece_header(uint8_t *dst, uint32_t index, uint32_t begin, uint32_t length)
{
    dst = crow_put32(dst, 9 + length);
    *dst++ = CROW_WIRE_PIECE;
    dst = crow_put32(dst, index);
    return crow_put32(dst, begin);
}

uint8_t *crow_wire_encode_ext_header(uint8_t *dst, uint8_t ext_id, uint32_t payload_len)
{
    dst = crow_put32(dst, 2 + payload_len);
    *dst++ = CROW_WIRE_EXTENDED;
    *dst++ = ext_id;
    return dst;
}

/* Reads an optional integer in [0, max]; absent leaves *out alone. */
static int ext_int(const crow_bencode_doc_t *doc, uint32_t dict, const char *key, int64_t max, int64_t *out)
{
    uint32_t at = crow_bencode_dict_get(doc, dict, key);
    if (!at)
        return 0;
    if (doc->nodes[at].type != CROW_BENCODE_INT || doc->nodes[at].ival < 0 || doc->nodes[at].ival > max)
        return CROW_EPROTO;
    *out = doc->nodes[at].ival;
    return 0;
}

int crow_wire_decode_ext(const uint8_t *payload, size_t len, crow_wire_ext_t *ext, const char **why)
{
    crow_bencode_node_t nodes[CROW_WIRE_EXT_MAX_NODES];
    crow_bencode_doc_t doc;
    memset(ext, 0, sizeof *ext);
    ext->pos = -1;
    if (crow_bencode_decode(payload, len, nodes, CROW_WIRE_EXT_MAX_NODES, &doc, NULL) != 0)
        return fail(why, "extension handshake is not valid bencode", CROW_EPROTO);
    if (doc.nodes[0].type != CROW_BENCODE_DICT)
        return fail(why, "extension handshake is not a dictionary", CROW_EPROTO);
    int64_t reqq = 0;
    if (ext_int(&doc, 0, "reqq", UINT32_MAX, &reqq))
        return fail(why, "extension handshake: bad reqq", CROW_EPROTO);
    ext->reqq = (uint32_t)reqq;
    crow_bencode_dict_str(&doc, 0, "v", &ext->client, &ext->client_len);
    uint32_t cc = crow_bencode_dict_get(&doc, 0, "crowcast");
    if (!cc)
        return 0;
    if (doc.nodes[cc].type != CROW_BENCODE_DICT)
        return fail(why, "extension handshake: crowcast is not a dictionary", CROW_EPROTO);
    ext->crowcast = true;
    int64_t max_req = 0;
    if (ext_int(&doc, cc, "max req", UINT32_MAX, &max_req) || ext_int(&doc, cc, "pos", INT32_MAX, &ext->pos))
        return fail(why, "extension handshake: bad crowcast integer", CROW_EPROTO);
    ext->max_request = (uint32_t)max_req;
    crow_bencode_dict_str(&doc, cc, "rack", &ext->rack, &ext->rack_len);
    return 0;
}

long crow_wire_encode_ext(uint8_t *dst, size_t cap, const crow_wire_ext_t *ext)
{
    crow_bencode_writer_t e;
    crow_bencode_writer_init(&e, dst, cap);
    crow_bencode_open_dict(&e);
    if (ext->crowcast) {
        crow_bencode_put_key(&e, "crowcast");
        crow_bencode_open_dict(&e);
        if (ext->max_request) {
            crow_bencode_put_key(&e, "max req");
            crow_bencode_put_int(&e, ext->max_request);
        }
        if (ext->pos >= 0) {
            crow_bencode_put_key(&e, "pos");
            crow_bencode_put_int(&e, ext->pos);
        }
        if (ext->rack) {
            crow_bencode_put_key(&e, "rack");
            crow_bencode_put_str(&e, ext->rack, ext->rack_len);
        }
        crow_bencode_close(&e);
    }
    crow_bencode_put_key(&e, "m");
    crow_bencode_open_dict(&e);
    crow_bencode_close(&e);
    if (ext->reqq) {
        crow_bencode_put_key(&e, "reqq");
        crow_bencode_put_int(&e, ext->reqq);
    }
    if (ext->client) {
        crow_bencode_put_key(&e, "v");
        crow_bencode_put_str(&e, ext->client, ext->client_len);
    }
    crow_bencode_close(&e);
    return crow_bencode_finish(&e);
}

const char *crow_wire_type_name(enum crow_wire_type type)
{
    switch (type) {
    case CROW_WIRE_CHOKE:
        return "choke";
    case CROW_WIRE_UNCHOKE:
        return "unchoke";
    case CROW_WIRE_INTERESTED:
        return "interested";
    case CROW_WIRE_NOT_INTERESTED:
        return "not interested";
    case CROW_WIRE_HAVE:
        return "have";
    case CROW_WIRE_BITFIELD:
        return "bitfield";
    case CROW_WIRE_REQUEST:
        return "request";
    case CROW_WIRE_PIECE:
        return "piece";
    case CROW_WIRE_CANCEL:
        return "cancel";
    case CROW_WIRE_PORT:
        return "port";
    case CROW_WIRE_EXTENDED:
        return "extended";
    case CROW_WIRE_KEEPALIVE:
        return "keep-alive";
    case CROW_WIRE_UNKNOWN:
        break;
    }
    return "unknown";
}
