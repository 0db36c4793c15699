/* netframe: a table of frames, each a valid one bent in one way (VLAN tags, IP options, fragments,
 * wrong lengths, other protocols, every link type) with the verdict and fields expected; every
 * truncation of valid frames; random bytes. */
#include <stdlib.h>
#include <string.h>

#include "crowcast/netframe.h"
#include "frame_fixture.h"
#include "check_main.h"

static const uint8_t PAYLOAD[] = "crowcast payload bytes";
#define PLEN (sizeof PAYLOAD - 1)

static const fx_addr_t ETH = {.link = CROW_LINK_EN10MB,
                              .src = FX_IP(10, 0, 1, 2),
                              .dst = FX_IP(239, 255, 0, 1),
                              .sport = 40000,
                              .dport = 5000};

typedef struct frame_case {
    const char *name;
    int link;       /* link type the frame is parsed as (the builder uses `addr.link`) */
    fx_addr_t addr; /* .link 0 means ETH */
    bool tcp;
    /* Bends the built frame buf[0..*len); ip is the IPv4 header's offset. */
    void (*mutate)(uint8_t *buf, size_t *len, size_t ip);
    int cut; /* > 0: caplen = len - cut, wirelen = len */
    enum crow_netframe_status want;
    size_t want_payload, want_wire_payload; /* checked when want == CROW_NF_OK */
    uint16_t want_vlan;
} frame_case_t;

static void add_vlan(uint8_t *buf, size_t *len, size_t ip)
{
    (void)ip;
    memmove(buf + 16, buf + 12, *len - 12);
    fx_put16(buf + 12, 0x8100);
    fx_put16(buf + 14, 0x2000 | 42); /* priority 1, VLAN 42 */
    *len += 4;
}

static void add_two_vlans(uint8_t *buf, size_t *len, size_t ip)
{
    add_vlan(buf, len, ip);
    add_vlan(buf, len, ip);
    fx_put16(buf + 12, 0x88a8);
    fx_put16(buf + 14, 7);
}

static void add_three_vlans(uint8_t *buf, size_t *len, size_t ip)
{
    add_two_vlans(buf, len, ip);
    add_vlan(buf, len, ip);
}

static void ethertype_arp(uint8_t *buf, size_t *len, size_t ip)
{
    (void)len, (void)ip;
    fx_put16(buf + 12, 0x0806);
}

static void ethertype_ipv6(uint8_t *buf, size_t *len, size_t ip)
{
    (void)len, (void)ip;
    fx_put16(buf + 12, 0x86dd);
}

static void ip_options(uint8_t *buf, size_t *len, size_t ip)
{
    /* Insert 4 bytes of options (NOPs) after the fixed header; IHL 6, total length + 4. */
    memmove(buf + ip + 24, buf + ip + 20, *len - ip - 20);
    memset(buf + ip + 20, 1, 4);
    buf[ip] = 0x46;
    fx_put16(buf + ip + 2, (uint16_t)(*len - ip + 4));
    *len += 4;
}

static void ihl_4(uint8_t *buf, size_t *len, size_t ip)
{
    (void)len;
    buf[ip] = 0x44;
}

static void ihl_15(uint8_t *buf, size_t *len, size_t ip)
{
    (void)len;
    buf[ip] = 0x4f; /* 60 bytes of header in a packet shorter than that */
}

static void version_6(uint8_t *buf, size_t *len, size_t ip)
{
    (void)len;
    buf[ip] = 0x65;
}

static void total_below_ihl(uint8_t *buf, size_t *len, size_t ip)
{
    (void)len;
    fx_put16(buf + ip + 2, 19);
}

static void total_past_frame(uint8_t *buf, size_t *len, size_t ip)
{
    fx_put16(buf + ip + 2, (uint16_t)(*len - ip + 1));
}

static void ethernet_padding(uint8_t *buf, size_t *len, size_t ip)
{
    (void)ip;
    memset(buf + *len, 0xee, 18);
    *len += 18;
}

static void more_fragments(uint8_t *buf, size_t *len, size_t ip)
{
    (void)len;
    fx_put16(buf + ip + 6, 0x2000);
}

static void fragment_offset(uint8_t *buf, size_t *len, size_t ip)
{
    (void)len;
    fx_put16(buf + ip + 6, 0x0010);
}

static void proto_icmp(uint8_t *buf, size_t *len, size_t ip)
{
    (void)len;
    buf[ip + 9] = 1;
}

static void udp_len_7(uint8_t *buf, size_t *len, size_t ip)
{
    (void)len;
    fx_put16(buf + ip + 24, 7);
}

static void udp_len_past_ip(uint8_t *buf, size_t *len, size_t ip)
{
    fx_put16(buf + ip + 24, (uint16_t)(*len - ip - 20 + 1));
}

static void udp_len_short(uint8_t *buf, size_t *len, size_t ip)
{
    (void)len;
    fx_put16(buf + ip + 24, 8 + 5); /* IP carries more than UDP claims: the rest is not payload */
}

static void tcp_doff_4(uint8_t *buf, size_t *len, size_t ip)
{
    (void)len;
    buf[ip + 20 + 12] = 4 << 4;
}

static void tcp_doff_15(uint8_t *buf, size_t *len, size_t ip)
{
    (void)len;
    buf[ip + 20 + 12] = 15 << 4;
}

static void tcp_options(uint8_t *buf, size_t *len, size_t ip)
{
    size_t tcp = ip + 20;
    memmove(buf + tcp + 32, buf + tcp + 20, *len - tcp - 20);
    memset(buf + tcp + 20, 1, 12);
    buf[tcp + 12] = 8 << 4;
    fx_put16(buf + ip + 2, (uint16_t)(*len - ip + 12));
    *len += 12;
}

static void null_big_endian(uint8_t *buf, size_t *len, size_t ip)
{
    (void)len, (void)ip;
    fx_put32(buf, 2);
}

static void null_inet6(uint8_t *buf, size_t *len, size_t ip)
{
    (void)len, (void)ip;
    fx_put32(buf, 30u << 24);
}

static const frame_case_t cases[] = {
    {"udp", CROW_LINK_EN10MB, {.link = CROW_LINK_EN10MB}, false, NULL, 0, CROW_NF_OK, PLEN, PLEN, 0},
    {"tcp", CROW_LINK_EN10MB, {.link = CROW_LINK_EN10MB}, true, NULL, 0, CROW_NF_OK, PLEN, PLEN, 0},
    {"vlan", CROW_LINK_EN10MB, {.link = CROW_LINK_EN10MB}, false, add_vlan, 0, CROW_NF_OK, PLEN, PLEN, 42},
    {"qinq",
     CROW_LINK_EN10MB,
     {.link = CROW_LINK_EN10MB},
     false,
     add_two_vlans,
     0,
     CROW_NF_OK,
     PLEN,
     PLEN,
     7},
    {"three tags",
     CROW_LINK_EN10MB,
     {.link = CROW_LINK_EN10MB},
     false,
     add_three_vlans,
     0,
     CROW_NF_NOT_IPV4,
     0,
     0,
     0},
    {"arp", CROW_LINK_EN10MB, {.link = CROW_LINK_EN10MB}, false, ethertype_arp, 0, CROW_NF_NOT_IPV4, 0, 0, 0},
    {"ipv6",
     CROW_LINK_EN10MB,
     {.link = CROW_LINK_EN10MB},
     false,
     ethertype_ipv6,
     0,
     CROW_NF_NOT_IPV4,
     0,
     0,
     0},
    {"ip options",
     CROW_LINK_EN10MB,
     {.link = CROW_LINK_EN10MB},
     false,
     ip_options,
     0,
     CROW_NF_OK,
     PLEN,
     PLEN,
     0},
    {"ihl 4", CROW_LINK_EN10MB, {.link = CROW_LINK_EN10MB}, false, ihl_4, 0, CROW_NF_BAD_IP, 0, 0, 0},
    {"ihl 15", CROW_LINK_EN10MB, {.link = CROW_LINK_EN10MB}, false, ihl_15, 0, CROW_NF_BAD_IP, 0, 0, 0},
    {"version 6 in ipv4 ethertype",
     CROW_LINK_EN10MB,
     {.link = CROW_LINK_EN10MB},
     false,
     version_6,
     0,
     CROW_NF_BAD_IP,
     0,
     0,
     0},
    {"total < ihl",
     CROW_LINK_EN10MB,
     {.link = CROW_LINK_EN10MB},
     false,
     total_below_ihl,
     0,
     CROW_NF_BAD_IP,
     0,
     0,
     0},
    {"total > frame",
     CROW_LINK_EN10MB,
     {.link = CROW_LINK_EN10MB},
     false,
     total_past_frame,
     0,
     CROW_NF_BAD_IP,
     0,
     0,
     0},
    {"ethernet padding",
     CROW_LINK_EN10MB,
     {.link = CROW_LINK_EN10MB},
     false,
     ethernet_padding,
     0,
     CROW_NF_OK,
     PLEN,
     PLEN,
     0},
    {"more fragments",
     CROW_LINK_EN10MB,
     {.link = CROW_LINK_EN10MB},
     false,
     more_fragments,
     0,
     CROW_NF_FRAGMENT,
     0,
     0,
     0},
    {"fragment offset",
     CROW_LINK_EN10MB,
     {.link = CROW_LINK_EN10MB},
     false,
     fragment_offset,
     0,
     CROW_NF_FRAGMENT,
     0,
     0,
     0},
    {"icmp",
     CROW_LINK_EN10MB,
     {.link = CROW_LINK_EN10MB},
     false,
     proto_icmp,
     0,
     CROW_NF_OTHER_PROTO,
     0,
     0,
     0},
    {"udp length 7",
     CROW_LINK_EN10MB,
     {.link = CROW_LINK_EN10MB},
     false,
     udp_len_7,
     0,
     CROW_NF_BAD_L4,
     0,
     0,
     0},
    {"udp length past ip",
     CROW_LINK_EN10MB,
     {.link = CROW_LINK_EN10MB},
     false,
     udp_len_past_ip,
     0,
     CROW_NF_BAD_L4,
     0,
     0,
     0},
    {"udp length short",
     CROW_LINK_EN10MB,
     {.link = CROW_LINK_EN10MB},
     false,
     udp_len_short,
     0,
     CROW_NF_OK,
     5,
     5,
     0},
    {"tcp doff 4",
     CROW_LINK_EN10MB,
     {.link = CROW_LINK_EN10MB},
     true,
     tcp_doff_4,
     0,
     CROW_NF_BAD_L4,
     0,
     0,
     0},
    {"tcp doff 15",
     CROW_LINK_EN10MB,
     {.link = CROW_LINK_EN10MB},
     true,
     tcp_doff_15,
     0,
     CROW_NF_BAD_L4,
     0,
     0,
     0},
    {"tcp options",
     CROW_LINK_EN10MB,
     {.link = CROW_LINK_EN10MB},
     true,
     tcp_options,
     0,
     CROW_NF_OK,
     PLEN,
     PLEN,
     0},
    {"snaplen cut payload",
     CROW_LINK_EN10MB,
     {.link = CROW_LINK_EN10MB},
     false,
     NULL,
     5,
     CROW_NF_OK,
     PLEN - 5,
     PLEN,
     0},
    {"snaplen cut udp header",
     CROW_LINK_EN10MB,
     {.link = CROW_LINK_EN10MB},
     false,
     NULL,
     PLEN + 3,
     CROW_NF_TRUNCATED,
     0,
     0,
     0},
    {"unknown link type", 999, {.link = CROW_LINK_EN10MB}, false, NULL, 0, CROW_NF_LINKTYPE, 0, 0, 0},
    {"sll",
     CROW_LINK_SLL,
     {.link = CROW_LINK_SLL, .pkttype = CROW_SLL_MULTICAST},
     false,
     NULL,
     0,
     CROW_NF_OK,
     PLEN,
     PLEN,
     0},
    {"sll2",
     CROW_LINK_SLL2,
     {.link = CROW_LINK_SLL2, .ifindex = 7, .pkttype = CROW_SLL_OUTGOING},
     false,
     NULL,
     0,
     CROW_NF_OK,
     PLEN,
     PLEN,
     0},
    {"null little-endian",
     CROW_LINK_NULL,
     {.link = CROW_LINK_NULL},
     false,
     NULL,
     0,
     CROW_NF_OK,
     PLEN,
     PLEN,
     0},
    {"null big-endian",
     CROW_LINK_NULL,
     {.link = CROW_LINK_NULL},
     false,
     null_big_endian,
     0,
     CROW_NF_OK,
     PLEN,
     PLEN,
     0},
    {"null inet6", CROW_LINK_NULL, {.link = CROW_LINK_NULL}, false, null_inet6, 0, CROW_NF_NOT_IPV4, 0, 0, 0},
    {"raw", CROW_LINK_RAW, {.link = CROW_LINK_RAW}, false, NULL, 0, CROW_NF_OK, PLEN, PLEN, 0},
    {"raw (file value)",
     CROW_LINK_RAW_FILE,
     {.link = CROW_LINK_RAW},
     false,
     NULL,
     0,
     CROW_NF_OK,
     PLEN,
     PLEN,
     0},
    {"ipv4 link", CROW_LINK_IPV4, {.link = CROW_LINK_RAW}, false, NULL, 0, CROW_NF_OK, PLEN, PLEN, 0},
    {"raw ipv6", CROW_LINK_RAW, {.link = CROW_LINK_RAW}, false, version_6, 0, CROW_NF_NOT_IPV4, 0, 0, 0},
};

static size_t build(const frame_case_t *c, uint8_t *buf, size_t *ip)
{
    fx_addr_t a = ETH;
    a.link = c->addr.link;
    a.ifindex = c->addr.ifindex;
    a.pkttype = c->addr.pkttype;
    size_t len = c->tcp ? fx_tcp(buf, &a, 1000, CROW_TCP_ACK, PAYLOAD, PLEN) : fx_udp(buf, &a, PAYLOAD, PLEN);
    uint8_t probe[64];
    *ip = fx_link(probe, &a);
    return len;
}

START_TEST(test_frame_table)
{
    const frame_case_t *c = &cases[_i];
    uint8_t buf[256];
    memset(buf, 0, sizeof buf);
    size_t ip;
    size_t len = build(c, buf, &ip);
    if (c->mutate)
        c->mutate(buf, &len, ip);
    int link = c->link;
    size_t caplen = len - (size_t)c->cut;
    /* A copy of exactly caplen bytes on the heap, so ASan sees any read past the capture. */
    uint8_t *cap = malloc(caplen ? caplen : 1);
    memcpy(cap, buf, caplen);
    crow_netframe_t fr;
    enum crow_netframe_status st = crow_netframe_parse(link, cap, caplen, len, &fr);
    ck_assert_msg(st == c->want, "%s: status %s, want %s", c->name, crow_netframe_status_name(st),
                  crow_netframe_status_name(c->want));
    if (st == CROW_NF_OK) {
        ck_assert_msg(fr.payload_len == c->want_payload, "%s: payload %zu", c->name, fr.payload_len);
        ck_assert_uint_eq(fr.wire_payload_len, c->want_wire_payload);
        ck_assert_uint_eq(fr.src_ip, ETH.src);
        ck_assert_uint_eq(fr.dst_ip, ETH.dst);
        ck_assert_uint_eq(fr.src_port, ETH.sport);
        ck_assert_uint_eq(fr.dst_port, ETH.dport);
        ck_assert_uint_eq(fr.proto, c->tcp ? CROW_IPPROTO_TCP : CROW_IPPROTO_UDP);
        ck_assert_uint_eq(fr.vlan, c->want_vlan);
        ck_assert(memcmp(fr.payload, PAYLOAD, fr.payload_len) == 0);
        if (c->tcp) {
            ck_assert_uint_eq(fr.tcp_seq, 1000);
            ck_assert_uint_eq(fr.tcp_flags, CROW_TCP_ACK);
        }
        if (link == CROW_LINK_SLL2) {
            ck_assert_int_eq(fr.ifindex, 7);
            ck_assert_uint_eq(fr.pkttype, CROW_SLL_OUTGOING);
        } else if (link == CROW_LINK_SLL) {
            ck_assert_uint_eq(fr.pkttype, CROW_SLL_MULTICAST);
        } else {
            ck_assert_uint_eq(fr.pkttype, CROW_SLL_NONE);
        }
    }
    free(cap);
}
END_TEST

START_TEST(test_every_truncation)
{
    /* Every caplen of a valid frame of each link type and protocol (UDP, TCP, TCP with options, UDP
     * behind IP options): cut inside the headers it is TRUNCATED, cut inside the payload it is OK
     * with exactly the captured payload bytes. */
    static const int links[] = {CROW_LINK_EN10MB, CROW_LINK_SLL, CROW_LINK_SLL2, CROW_LINK_NULL,
                                CROW_LINK_RAW};
    for (size_t l = 0; l < sizeof links / sizeof links[0]; l++) {
        for (int variant = 0; variant < 4; variant++) {
            bool tcp = variant == 1 || variant == 2;
            fx_addr_t a = ETH;
            a.link = links[l];
            uint8_t buf[256], probe[64];
            size_t len = tcp ? fx_tcp(buf, &a, 1, 0, PAYLOAD, PLEN) : fx_udp(buf, &a, PAYLOAD, PLEN);
            if (variant == 2)
                tcp_options(buf, &len, fx_link(probe, &a));
            if (variant == 3)
                ip_options(buf, &len, fx_link(probe, &a));
            size_t headers = len - PLEN;
            for (size_t caplen = 0; caplen < len; caplen++) {
                uint8_t *cap = malloc(caplen ? caplen : 1);
                memcpy(cap, buf, caplen);
                crow_netframe_t fr;
                enum crow_netframe_status st = crow_netframe_parse(a.link, cap, caplen, len, &fr);
                if (caplen < headers) {
                    ck_assert_msg(st == CROW_NF_TRUNCATED, "link %d variant %d caplen %zu: %s", a.link,
                                  variant, caplen, crow_netframe_status_name(st));
                } else {
                    ck_assert_int_eq(st, CROW_NF_OK);
                    ck_assert_uint_eq(fr.payload_len, caplen - headers);
                    ck_assert_uint_eq(fr.wire_payload_len, PLEN);
                }
                free(cap);
            }
        }
    }
}
END_TEST

START_TEST(test_random_bytes)
{
    /* Junk of every length under each link type: a verdict, never a read past the capture. */
    static const int links[] = {CROW_LINK_EN10MB, CROW_LINK_SLL, CROW_LINK_SLL2, CROW_LINK_NULL,
                                CROW_LINK_RAW};
    unsigned seed = 12345;
    for (int round = 0; round < 4000; round++) {
        size_t len = (size_t)(rand_r(&seed) % 120);
        uint8_t *buf = malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)rand_r(&seed);
        /* Make many of them start like IPv4 so the deeper layers get exercised too. */
        int link = links[round % 5];
        size_t ip = link == CROW_LINK_EN10MB ? 14
                    : link == CROW_LINK_SLL  ? 16
                    : link == CROW_LINK_SLL2 ? 20
                                             : 4;
        if (link == CROW_LINK_RAW)
            ip = 0;
        if (round % 2 && len > ip + 10) {
            buf[ip] = 0x45;
            buf[ip + 6] = 0;
            buf[ip + 7] = 0;
            buf[ip + 9] = (round % 4) == 1 ? CROW_IPPROTO_UDP : CROW_IPPROTO_TCP;
            if (link == CROW_LINK_EN10MB)
                fx_put16(buf + 12, 0x0800);
            else if (link == CROW_LINK_SLL)
                fx_put16(buf + 14, 0x0800);
            else if (link == CROW_LINK_SLL2)
                fx_put16(buf, 0x0800);
            else if (link == CROW_LINK_NULL)
                fx_put32(buf, 2);
        }
        crow_netframe_t fr;
        enum crow_netframe_status st = crow_netframe_parse(link, buf, len, len + (size_t)(round % 3), &fr);
        ck_assert_int_lt(st, CROW_NF_COUNT_);
        if (st == CROW_NF_OK)
            ck_assert(fr.payload + fr.payload_len <= buf + len);
        free(buf);
    }
}
END_TEST

Suite *crow_test_suite(void)
{
    Suite *s = suite_create("netframe");
    TCase *tc = tcase_create("codec");
    tcase_add_loop_test(tc, test_frame_table, 0, sizeof cases / sizeof cases[0]);
    tcase_add_test(tc, test_every_truncation);
    tcase_add_test(tc, test_random_bytes);
    suite_add_tcase(s, tc);
    return s;
}
