/* Test helper: writes captured frames (link header, IPv4, UDP or TCP) into a buffer, the way a capture
 * would hold them, for the netframe and diag suites. Checksums are left zero: nothing checks them. */
#ifndef CROW_TEST_FRAME_FIXTURE_H
#define CROW_TEST_FRAME_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "crowcast/netframe.h"

#define FX_IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

typedef struct fx_addr {
    int link;
    int32_t ifindex; /* SLL2 */
    uint8_t pkttype; /* SLL, SLL2 */
    uint32_t src, dst;
    uint16_t sport, dport;
} fx_addr_t;

static inline uint8_t *fx_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}

static inline uint8_t *fx_put32(uint8_t *p, uint32_t v)
{
    p = fx_put16(p, (uint16_t)(v >> 16));
    return fx_put16(p, (uint16_t)v);
}

/* The link header for an IPv4 packet; returns its length. */
static inline size_t fx_link(uint8_t *buf, const fx_addr_t *a)
{
    static const uint8_t mac_src[6] = {0x02, 0, 0, 0, 0, 0x01};
    static const uint8_t mac_dst[6] = {0x01, 0x00, 0x5e, 0x7f, 0x00, 0x01};
    switch (a->link) {
    case CROW_LINK_EN10MB:
        memcpy(buf, mac_dst, 6);
        memcpy(buf + 6, mac_src, 6);
        fx_put16(buf + 12, 0x0800);
        return 14;
    case CROW_LINK_SLL:
        fx_put16(buf, a->pkttype);
        fx_put16(buf + 2, 1);
        fx_put16(buf + 4, 6);
        memset(buf + 6, 0, 8);
        memcpy(buf + 6, mac_src, 6);
        fx_put16(buf + 14, 0x0800);
        return 16;
    case CROW_LINK_SLL2:
        fx_put16(buf, 0x0800);
        fx_put16(buf + 2, 0);
        fx_put32(buf + 4, (uint32_t)a->ifindex);
        fx_put16(buf + 8, 1);
        buf[10] = a->pkttype;
        buf[11] = 6;
        memset(buf + 12, 0, 8);
        memcpy(buf + 12, mac_src, 6);
        return 20;
    case CROW_LINK_NULL:
        fx_put32(buf, 2u << 24); /* AF_INET written little-endian by the capturing host */
        return 4;
    default:
        return 0;
    }
}

static inline size_t fx_ipv4(uint8_t *p, uint8_t proto, uint32_t src, uint32_t dst, size_t l4len)
{
    memset(p, 0, 20);
    p[0] = 0x45;
    fx_put16(p + 2, (uint16_t)(20 + l4len));
    fx_put16(p + 6, 0x4000); /* DF */
    p[8] = 1;
    p[9] = proto;
    fx_put32(p + 12, src);
    fx_put32(p + 16, dst);
    return 20;
}

static inline size_t fx_udp(uint8_t *buf, const fx_addr_t *a, const uint8_t *payload, size_t len)
{
    size_t off = fx_link(buf, a);
    off += fx_ipv4(buf + off, CROW_IPPROTO_UDP, a->src, a->dst, 8 + len);
    uint8_t *u = buf + off;
    fx_put16(u, a->sport);
    fx_put16(u + 2, a->dport);
    fx_put16(u + 4, (uint16_t)(8 + len));
    fx_put16(u + 6, 0);
    memcpy(u + 8, payload, len);
    return off + 8 + len;
}

static inline size_t fx_tcp(uint8_t *buf, const fx_addr_t *a, uint32_t seq, uint8_t flags,
                            const uint8_t *payload, size_t len)
{
    size_t off = fx_link(buf, a);
    off += fx_ipv4(buf + off, CROW_IPPROTO_TCP, a->src, a->dst, 20 + len);
    uint8_t *t = buf + off;
    memset(t, 0, 20);
    fx_put16(t, a->sport);
    fx_put16(t + 2, a->dport);
    fx_put32(t + 4, seq);
    t[12] = 5 << 4;
    t[13] = flags;
    fx_put16(t + 14, 65535);
    if (len)
        memcpy(t + 20, payload, len);
    return off + 20 + len;
}

/* The same address with the direction reversed. */
static inline fx_addr_t fx_reverse(fx_addr_t a)
{
    fx_addr_t r = a;
    r.src = a.dst;
    r.dst = a.src;
    r.sport = a.dport;
    r.dport = a.sport;
    return r;
}

#endif
