/* Multicast datagram codec: the byte layout documented in include/crowcast/datagram.h, and the
 * check of a decoded datagram against the manifest it claims to belong to. Decoding never trusts a
 * length field: the length must equal what the datagram actually holds. */
#include <string.h>

#include "crowcast/byteorder.h"
#include "crowcast/datagram.h"
#include "crowcast/error.h"

uint64_t crow_dgram_session_of(const uint8_t release_id[CROW_SHA256_LEN])
{
    return crow_get64(release_id);
}

/* Flag bits each type may carry; anything else is malformed until a new version defines it. */
static uint16_t allowed_flags(uint8_t type)
{
    switch (type) {
    case CROW_DGRAM_DATA:
        return CROW_DGRAM_F_REPEAT | CROW_DGRAM_F_AUTH;
    case CROW_DGRAM_END:
        return CROW_DGRAM_F_FINAL | CROW_DGRAM_F_AUTH;
    default: /* CROW_DGRAM_BEACON */
        return CROW_DGRAM_F_CATCH_UP | CROW_DGRAM_F_AUTH;
    }
}

static void decode_beacon(const uint8_t *b, crow_dgram_beacon_t *out)
{
    memcpy(out->release_id, b, CROW_SHA256_LEN);
    out->total_length = crow_get64(b + 32);
    out->rate_bps = crow_get64(b + 40);
    out->piece_length = crow_get32(b + 48);
    out->chunk_size = crow_get32(b + 52);
    out->piece_count = crow_get32(b + 56);
    out->pass = crow_get32(b + 60);
    out->passes = crow_get32(b + 64);
    out->tcp_port = crow_get16(b + 68);
}

int crow_dgram_decode(const uint8_t *buf, size_t len, crow_dgram_t *out)
{
    if (len < CROW_DGRAM_HEADER_LEN)
        return CROW_EPARSE;
    if (crow_get16(buf) != CROW_DGRAM_MAGIC || buf[2] != CROW_DGRAM_VERSION)
        return CROW_EPARSE;
    out->type = buf[3];
    out->flags = crow_get16(buf + 4);
    out->length = crow_get16(buf + 6);
    out->session = crow_get64(buf + 8);
    out->seq = crow_get64(buf + 16);
    out->piece = crow_get32(buf + 24);
    out->offset = crow_get32(buf + 28);
    out->payload = buf + CROW_DGRAM_HEADER_LEN;
    out->tag = NULL;
    if (out->type < CROW_DGRAM_DATA || out->type > CROW_DGRAM_END)
        return CROW_EPARSE;
    if (out->flags & ~allowed_flags(out->type))
        return CROW_EPARSE;
    size_t body_len = len - CROW_DGRAM_HEADER_LEN;
    if (out->flags & CROW_DGRAM_F_AUTH) {
        if (body_len < CROW_DGRAM_TAG_LEN)
            return CROW_EPARSE;
        body_len -= CROW_DGRAM_TAG_LEN;
        out->tag = buf + len - CROW_DGRAM_TAG_LEN;
    }
    if (out->length != body_len)
        return CROW_EPARSE;
    const uint8_t *body = out->payload;
    switch (out->type) {
    case CROW_DGRAM_DATA:
        return out->length > 0 ? 0 : CROW_EPARSE;
    case CROW_DGRAM_BEACON:
        if (out->length != CROW_DGRAM_BEACON_BODY || out->piece || out->offset || crow_get16(body + 70))
            return CROW_EPARSE;
        decode_beacon(body, &out->beacon);
        return 0;
    default: /* CROW_DGRAM_END */
        if (out->length != CROW_DGRAM_END_BODY || out->piece || out->offset || crow_get32(body + 4))
            return CROW_EPARSE;
        out->end.pass = crow_get32(body);
        out->end.last_data_seq = crow_get64(body + 8);
        return 0;
    }
}

uint32_t crow_dgram_ip_size(uint32_t chunk_size, bool auth)
{
    return CROW_DGRAM_IPV4_UDP_LEN + CROW_DGRAM_HEADER_LEN + chunk_size + (auth ? CROW_DGRAM_TAG_LEN : 0);
}

uint32_t crow_dgram_chunk_for_mtu(uint32_t mtu, uint32_t piece_length)
{
    uint32_t room = crow_dgram_ip_size(0, true);
    if (mtu < room + CROW_MIN_CHUNK_SIZE)
        return 0;
    uint32_t most = mtu - room < CROW_MAX_CHUNK_SIZE ? mtu - room : CROW_MAX_CHUNK_SIZE;
    /* A divisor of a (power-of-two) piece length would be a power of two: 1024 bytes at a
     * 1500-byte MTU, 39 % more datagrams than this. The format lets a piece's last chunk be short. */
    most &= ~7u;
    return piece_length && piece_length < most ? piece_length : most;
}

int crow_dgram_check_data(const crow_dgram_t *d, const crow_manifest_t *m)
{
    if (d->session != crow_dgram_session_of(m->release_id))
        return CROW_ESESSION;
    if (d->type != CROW_DGRAM_DATA || d->piece >= m->piece_count)
        return CROW_EPROTO;
    uint32_t size = crow_manifest_piece_size(m, d->piece);
    if (d->offset % m->chunk_size != 0 || d->offset >= size)
        return CROW_EPROTO;
    uint32_t left = size - d->offset;
    uint32_t expect = left < m->chunk_size ? left : m->chunk_size;
    return d->length == expect ? 0 : CROW_EPROTO;
}

int crow_dgram_check_beacon(const crow_dgram_t *d, const crow_manifest_t *m)
{
    if (d->type != CROW_DGRAM_BEACON)
        return CROW_EPROTO;
    if (d->session != crow_dgram_session_of(m->release_id) ||
        memcmp(d->beacon.release_id, m->release_id, CROW_SHA256_LEN) != 0)
        return CROW_ESESSION;
    const crow_dgram_beacon_t *b = &d->beacon;
    if (b->total_length != m->total_length || b->piece_length != m->piece_length ||
        b->chunk_size != m->chunk_size || b->piece_count != m->piece_count)
        return CROW_EPROTO;
    return 0;
}

uint8_t *crow_dgram_encode_header(uint8_t *dst, const crow_dgram_t *d)
{
    uint8_t *p = crow_put16(dst, CROW_DGRAM_MAGIC);
    *p++ = CROW_DGRAM_VERSION;
    *p++ = d->type;
    p = crow_put16(p, d->flags);
    p = crow_put16(p, d->length);
    p = crow_put64(p, d->session);
    p = crow_put64(p, d->seq);
    p = crow_put32(p, d->piece);
    return crow_put32(p, d->offset);
}

static void encode_beacon(uint8_t *b, const crow_dgram_beacon_t *in)
{
    memcpy(b, in->release_id, CROW_SHA256_LEN);
    crow_put64(b + 32, in->total_length);
    crow_put64(b + 40, in->rate_bps);
    crow_put32(b + 48, in->piece_length);
    crow_put32(b + 52, in->chunk_size);
    crow_put32(b + 56, in->piece_count);
    crow_put32(b + 60, in->pass);
    crow_put32(b + 64, in->passes);
    crow_put16(b + 68, in->tcp_port);
    crow_put16(b + 70, 0);
}

long crow_dgram_encode(const crow_dgram_t *d, uint8_t *buf, size_t cap)
{
    crow_dgram_t h = *d;
    switch (d->type) {
    case CROW_DGRAM_DATA:
        if (d->length == 0)
            return CROW_EPARSE;
        break;
    case CROW_DGRAM_BEACON:
        h.length = CROW_DGRAM_BEACON_BODY;
        h.piece = h.offset = 0;
        break;
    case CROW_DGRAM_END:
        h.length = CROW_DGRAM_END_BODY;
        h.piece = h.offset = 0;
        break;
    default:
        return CROW_EPARSE;
    }
    size_t size = CROW_DGRAM_HEADER_LEN + (size_t)h.length;
    if (cap < size)
        return CROW_ESPACE;
    uint8_t *body = crow_dgram_encode_header(buf, &h);
    switch (d->type) {
    case CROW_DGRAM_DATA:
        memcpy(body, d->payload, d->length);
        break;
    case CROW_DGRAM_BEACON:
        encode_beacon(body, &d->beacon);
        break;
    default: /* CROW_DGRAM_END */
        crow_put32(body, d->end.pass);
        crow_put32(body + 4, 0);
        crow_put64(body + 8, d->end.last_data_seq);
        break;
    }
    return (long)size;
}
