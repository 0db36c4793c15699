/* Captured link-layer frames down to UDP or TCP payload, sans I/O: the part of crowcast-diag that
 * reads headers out of bytes a capture handed over. Nothing here trusts a length field: every header
 * is checked against the bytes captured (caplen) and against the enclosing header's length, and a
 * frame that does not hold up is classified (CROW_NF_*), never read past.
 *
 * Link types are the DLT_* values libpcap's pcap_datalink() reports on Linux:
 *   DLT_NULL (0)         BSD loopback: 4-byte address family in the capturing host's byte order
 *   DLT_EN10MB (1)       Ethernet II, with up to two 802.1Q / 802.1ad VLAN tags
 *   DLT_RAW (12; 101)    a bare IP packet (12 is Linux's DLT_RAW, 101 its LINKTYPE_RAW file value)
 *   DLT_LINUX_SLL (113)  Linux cooked capture v1 (`-i any` on older libpcap)
 *   DLT_IPV4 (228)       a bare IPv4 packet
 *   DLT_LINUX_SLL2 (276) Linux cooked capture v2: carries the interface index
 * Only IPv4 is decoded (crowcast is IPv4-only); IPv6 and ARP are CROW_NF_NOT_IPV4.
 */
#ifndef CROWCAST_NETFRAME_H
#define CROWCAST_NETFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CROW_LINK_NULL     0
#define CROW_LINK_EN10MB   1
#define CROW_LINK_RAW      12
#define CROW_LINK_RAW_FILE 101
#define CROW_LINK_SLL      113
#define CROW_LINK_IPV4     228
#define CROW_LINK_SLL2     276

#define CROW_IPPROTO_TCP 6
#define CROW_IPPROTO_UDP 17

/* TCP flags as in the header's flag byte. */
#define CROW_TCP_FIN 0x01u
#define CROW_TCP_SYN 0x02u
#define CROW_TCP_RST 0x04u
#define CROW_TCP_ACK 0x10u

/* Linux cooked capture packet types (SLL and SLL2). */
#define CROW_SLL_HOST      0
#define CROW_SLL_BROADCAST 1
#define CROW_SLL_MULTICAST 2
#define CROW_SLL_OTHERHOST 3
#define CROW_SLL_OUTGOING  4
#define CROW_SLL_NONE      0xffu /* the link type has no packet type */

/* What a frame turned out to be. CROW_NF_OK means the UDP or TCP payload is usable; every other
 * value names why the frame stops being decodable (they are counters' indexes, not errors). */
enum crow_netframe_status {
    CROW_NF_OK = 0,
    CROW_NF_TRUNCATED,   /* the capture ends inside a link, IP, UDP or TCP header (snaplen or damage) */
    CROW_NF_LINKTYPE,    /* a link type this decoder does not know */
    CROW_NF_NOT_IPV4,    /* IPv6, ARP, LLDP, ...: not for crowcast */
    CROW_NF_BAD_IP,      /* IPv4 header inconsistent: version, IHL < 5, total length vs IHL or frame */
    CROW_NF_FRAGMENT,    /* an IPv4 fragment (MF set or offset != 0): its payload is not a whole datagram */
    CROW_NF_OTHER_PROTO, /* IPv4 but neither UDP nor TCP (IGMP, ICMP, ...) */
    CROW_NF_BAD_L4,      /* UDP length or TCP data offset inconsistent with the IP packet */
    CROW_NF_COUNT_
};

typedef struct crow_netframe {
    /* link layer */
    bool has_mac; /* Ethernet: both addresses; SLL/SLL2: src_mac only when 6 bytes long */
    uint8_t src_mac[6], dst_mac[6];
    uint16_t vlan;   /* outermost VLAN id, 0 when untagged */
    uint8_t pkttype; /* CROW_SLL_*; CROW_SLL_NONE for other link types */
    int32_t ifindex; /* SLL2 interface index; 0 when the link type has none */
    /* IPv4, addresses in host byte order */
    uint32_t src_ip, dst_ip;
    uint8_t proto; /* CROW_IPPROTO_UDP or CROW_IPPROTO_TCP */
    uint8_t ttl;
    /* UDP / TCP */
    uint16_t src_port, dst_port;
    uint32_t tcp_seq, tcp_ack;
    uint8_t tcp_flags;
    /* Payload: the bytes the packet carries after the UDP/TCP header, as far as they were captured.
     * payload_len <= wire_payload_len; they differ when the capture's snaplen cut the packet. */
    const uint8_t *payload;
    size_t payload_len;
    size_t wire_payload_len;
} crow_netframe_t;

/* Decodes the frame buf[0..caplen) of link type `link`; wirelen is its length on the wire (pcap's
 * `len`, >= caplen; pass caplen when unknown). Returns CROW_NF_OK with *out filled, or the reason the
 * frame is not a usable IPv4 UDP/TCP packet (*out then holds whatever was decoded before that
 * point). Ethernet trailer padding past the IP total length is ignored. Never reads past buf + caplen;
 * out->payload points into buf. */
enum crow_netframe_status crow_netframe_parse(int link, const uint8_t *buf, size_t caplen, size_t wirelen,
                                              crow_netframe_t *out);

/* Static short name of a status, for reports ("truncated", "fragment", ...). */
const char *crow_netframe_status_name(enum crow_netframe_status status);

#endif
