/* Link-layer frame decoding for crowcast-diag: Ethernet (VLAN tags), Linux cooked v1/v2, BSD loopback
 * and raw IP, then IPv4 and UDP or TCP. Each layer is checked against the bytes captured and against
 * the length the layer above declared; the first check that fails decides the frame's status. */
#include <string.h>

#include "crowcast/byteorder.h"
#include "crowcast/netframe.h"

#define ETH_HLEN       14u
#define SLL_HLEN       16u
#define SLL2_HLEN      20u
#define NULL_HLEN      4u
#define VLAN_TAG_LEN   4u
#define ETHERTYPE_IP   0x0800u
#define ETHERTYPE_Q    0x8100u
#define ETHERTYPE_QINQ 0x88a8u
#define BSD_AF_INET    2u

/* Finds where the IPv4 header starts: sets *l2 to its offset. Returns CROW_NF_OK or the reason the
 * link layer does not lead to IPv4. */
static enum crow_netframe_status link_header(int link, const uint8_t *buf, size_t caplen,
                                             crow_netframe_t *out, size_t *l2)
{
    uint16_t ethertype;
    switch (link) {
    case CROW_LINK_EN10MB: {
        if (caplen < ETH_HLEN)
            return CROW_NF_TRUNCATED;
        memcpy(out->dst_mac, buf, 6);
        memcpy(out->src_mac, buf + 6, 6);
        out->has_mac = true;
        size_t off = 12;
        ethertype = crow_get16(buf + off);
        /* At most two tags (802.1ad outer, 802.1Q inner); a third is not something a switch sends. */
        for (int tags = 0; tags < 2 && (ethertype == ETHERTYPE_Q || ethertype == ETHERTYPE_QINQ); tags++) {
            if (caplen < off + 2 + VLAN_TAG_LEN)
                return CROW_NF_TRUNCATED;
            if (tags == 0)
                out->vlan = crow_get16(buf + off + 2) & 0x0fffu;
            off += VLAN_TAG_LEN;
            ethertype = crow_get16(buf + off);
        }
        *l2 = off + 2;
        break;
    }
    case CROW_LINK_SLL:
        if (caplen < SLL_HLEN)
            return CROW_NF_TRUNCATED;
        out->pkttype = (uint8_t)crow_get16(buf);
        if (crow_get16(buf + 4) == 6) {
            memcpy(out->src_mac, buf + 6, 6);
            out->has_mac = true;
        }
        ethertype = crow_get16(buf + 14);
        *l2 = SLL_HLEN;
        break;
    case CROW_LINK_SLL2:
        if (caplen < SLL2_HLEN)
            return CROW_NF_TRUNCATED;
        ethertype = crow_get16(buf);
        out->ifindex = (int32_t)crow_get32(buf + 4);
        out->pkttype = buf[10];
        if (buf[11] == 6) {
            memcpy(out->src_mac, buf + 12, 6);
            out->has_mac = true;
        }
        *l2 = SLL2_HLEN;
        break;
    case CROW_LINK_NULL:
        if (caplen < NULL_HLEN)
            return CROW_NF_TRUNCATED;
        /* The family is in the byte order of the host that captured: accept either. */
        if (crow_get32(buf) != BSD_AF_INET && crow_get32(buf) != (BSD_AF_INET << 24))
            return CROW_NF_NOT_IPV4;
        *l2 = NULL_HLEN;
        return CROW_NF_OK;
    case CROW_LINK_RAW:
    case CROW_LINK_RAW_FILE:
    case CROW_LINK_IPV4:
        if (caplen < 1)
            return CROW_NF_TRUNCATED;
        *l2 = 0;
        return (buf[0] >> 4) == 4 ? CROW_NF_OK : CROW_NF_NOT_IPV4;
    default:
        return CROW_NF_LINKTYPE;
    }
    return ethertype == ETHERTYPE_IP ? CROW_NF_OK : CROW_NF_NOT_IPV4;
}

static enum crow_netframe_status transport(const uint8_t *l4, size_t captured, size_t ip_payload,
                                           crow_netframe_t *out)
{
    size_t hlen;
    if (out->proto == CROW_IPPROTO_UDP) {
        if (captured < 8)
            return CROW_NF_TRUNCATED;
        size_t udp_len = crow_get16(l4 + 4);
        if (udp_len < 8 || udp_len > ip_payload)
            return CROW_NF_BAD_L4;
        hlen = 8;
        out->wire_payload_len = udp_len - 8;
    } else {
        if (captured < 20)
            return CROW_NF_TRUNCATED;
        hlen = (size_t)(l4[12] >> 4) * 4;
        if (hlen < 20 || hlen > ip_payload)
            return CROW_NF_BAD_L4;
        if (captured < hlen)
            return CROW_NF_TRUNCATED;
        out->tcp_seq = crow_get32(l4 + 4);
        out->tcp_ack = crow_get32(l4 + 8);
        out->tcp_flags = l4[13];
        out->wire_payload_len = ip_payload - hlen;
    }
    out->src_port = crow_get16(l4);
    out->dst_port = crow_get16(l4 + 2);
    out->payload = l4 + hlen;
    size_t have = captured - hlen;
    out->payload_len = have < out->wire_payload_len ? have : out->wire_payload_len;
    return CROW_NF_OK;
}

enum crow_netframe_status crow_netframe_parse(int link, const uint8_t *buf, size_t caplen, size_t wirelen,
                                              crow_netframe_t *out)
{
    memset(out, 0, sizeof *out);
    out->pkttype = CROW_SLL_NONE;
    if (wirelen < caplen)
        wirelen = caplen;
    size_t l2 = 0;
    enum crow_netframe_status st = link_header(link, buf, caplen, out, &l2);
    if (st != CROW_NF_OK)
        return st;
    const uint8_t *ip = buf + l2;
    size_t cap_ip = caplen - l2, wire_ip = wirelen - l2;
    if (cap_ip < 20)
        return cap_ip >= 1 && (ip[0] >> 4) != 4 ? CROW_NF_BAD_IP : CROW_NF_TRUNCATED;
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
    size_t total = crow_get16(ip + 2);
    if ((ip[0] >> 4) != 4 || ihl < 20 || total < ihl || total > wire_ip)
        return CROW_NF_BAD_IP;
    if (cap_ip < ihl)
        return CROW_NF_TRUNCATED;
    out->ttl = ip[8];
    out->proto = ip[9];
    out->src_ip = crow_get32(ip + 12);
    out->dst_ip = crow_get32(ip + 16);
    if (crow_get16(ip + 6) & 0x3fffu)
        return CROW_NF_FRAGMENT;
    if (out->proto != CROW_IPPROTO_UDP && out->proto != CROW_IPPROTO_TCP)
        return CROW_NF_OTHER_PROTO;
    /* Bytes past the total length are link padding (Ethernet's 60-byte minimum), not payload. */
    size_t captured = (cap_ip < total ? cap_ip : total) - ihl;
    return transport(ip + ihl, captured, total - ihl, out);
}

const char *crow_netframe_status_name(enum crow_netframe_status status)
{
    static const char *const names[CROW_NF_COUNT_] = {
        [CROW_NF_OK] = "ok",
        [CROW_NF_TRUNCATED] = "truncated",
        [CROW_NF_LINKTYPE] = "link_type",
        [CROW_NF_NOT_IPV4] = "not_ipv4",
        [CROW_NF_BAD_IP] = "bad_ip",
        [CROW_NF_FRAGMENT] = "fragment",
        [CROW_NF_OTHER_PROTO] = "other_proto",
        [CROW_NF_BAD_L4] = "bad_l4",
    };
    return (unsigned)status < CROW_NF_COUNT_ ? names[status] : "unknown";
}
