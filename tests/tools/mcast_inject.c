/* mcast_inject: sends malformed and foreign datagrams into a crowcast multicast group on loopback,
 * for the hostile-input integration test (tests/integration/mcast_hostile.sh).
 *
 *   mcast_inject GROUP:PORT RELEASE_ID PIECES PIECE_LENGTH CHUNK_SIZE TOTAL_LENGTH ROUNDS GAP_US
 *                [ATTACK [spoof]]
 *
 * RELEASE_ID is the release's 64-hex-digit id and the numbers its geometry (crowcast inspect): the
 * session under attack. Every
 * round sends one datagram of each case in the table below, then sleeps GAP_US microseconds. On
 * exit it prints one line, how a correct receiver must classify what was sent:
 *
 *   malformed=N foreign=N out_of_range=N truncated=N sent=N
 *
 * With ATTACK, every round instead sends well-formed datagrams of the session that only its seeder
 * should send (none carries a tag, so a receiver with a key must refuse every one as forged):
 *
 *   end      a final END (pass 0) at a random sequence number
 *   repeat   DATA of the last piece's first chunk with the REPEAT flag, random bytes
 *   spray    one chunk of random bytes for every piece (chunk round % chunks-per-piece)
 *   seq      a BEACON of the release at sequence number 2^64 - 2 - round
 *   junk     the malformed and foreign table below (the default)
 *
 * and prints "sent=N". An attack starts once the session's real stream is seen on the group (so it
 * lands mid-pass). With `spoof` (root only) it then sends from that stream's address and port (raw
 * IPv4 + UDP, IP_HDRINCL), so the receiver sees the forgeries as the seeder's own.
 *
 * Datagrams are built here byte by byte (not with the project's codec), so a codec bug cannot hide
 * itself. Network rule: the socket is bound to 127.0.0.1, sends with IP_MULTICAST_IF 127.0.0.1 and
 * TTL 1, and the group must be multicast: nothing leaves the loopback interface (the raw socket is
 * also bound to the device "lo"). Plain sockets: this tool needs neither liburing nor any crowcast
 * library.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEADER    32u
#define BEACON    72u
#define END_BODY  16u
#define MAX_DGRAM 9000u
#define MAX_ROUND 100000u

enum verdict { MALFORMED, FOREIGN, OUT_OF_RANGE, TRUNCATED, VERDICTS };
static const char *const verdict_name[VERDICTS] = {"malformed", "foreign", "out_of_range", "truncated"};

struct target {
    uint8_t release_id[32];
    uint64_t session;
    uint32_t pieces, piece_length, chunk;
    uint64_t total;
};

struct hdr {
    uint16_t magic;
    uint8_t version, type;
    uint16_t flags, length;
    uint64_t session, seq;
    uint32_t piece, offset;
};

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

static void put_header(uint8_t *p, const struct hdr *h)
{
    put16(p, h->magic);
    p[2] = h->version;
    p[3] = h->type;
    put16(p + 4, h->flags);
    put16(p + 6, h->length);
    put64(p + 8, h->session);
    put64(p + 16, h->seq);
    put32(p + 24, h->piece);
    put32(p + 28, h->offset);
}

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void fill_random(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rng();
}

/* A well-formed DATA header for chunk 0 of piece 0 of the target: each case bends one thing. */
static struct hdr data_header(const struct target *t, uint64_t seq)
{
    uint32_t first = t->piece_length < t->chunk ? t->piece_length : t->chunk;
    if (t->total < first)
        first = (uint32_t)t->total;
    return (struct hdr){.magic = 0x4357,
                        .version = 1,
                        .type = 1,
                        .length = (uint16_t)first,
                        .session = t->session,
                        .seq = seq,
                        .piece = 0,
                        .offset = 0};
}

/* BEACON body for release `id` with the target's geometry, piece count `pieces`. */
static void put_beacon(uint8_t *b, const uint8_t id[32], const struct target *t, uint32_t pieces)
{
    memset(b, 0, BEACON);
    memcpy(b, id, 32);
    put64(b + 32, t->total);
    put64(b + 40, 1000000000ull);
    put32(b + 48, t->piece_length);
    put32(b + 52, t->chunk);
    put32(b + 56, pieces);
    put32(b + 64, 1);
}

static uint64_t session_of(const uint8_t id[32])
{
    uint64_t s = 0;
    for (int i = 0; i < 8; i++)
        s = s << 8 | id[i];
    return s;
}

/* Builds case `k` of round `round` into buf; returns its size and sets *v, or 0 past the last case. */
static size_t build_case(unsigned k, unsigned round, const struct target *t, uint8_t *buf, enum verdict *v)
{
    uint64_t seq = (uint64_t)round * 64 + k;
    struct hdr h = data_header(t, seq);
    size_t body = h.length;
    uint8_t other_id[32];
    memcpy(other_id, t->release_id, 32);
    other_id[0] ^= 0x5a; /* another release: another session */
    *v = MALFORMED;
    switch (k) {
    case 0: /* wrong magic */
        h.magic = 0x5743;
        break;
    case 1: /* wrong version */
        h.version = 2;
        break;
    case 2: /* unknown type */
        h.type = 9;
        break;
    case 3: /* a flag DATA does not define */
        h.flags = 0x4000;
        break;
    case 4: /* header cut short: 1..31 bytes */
        put_header(buf, &h);
        return 1 + round % (HEADER - 1);
    case 5: /* the length field claims more than is there */
        body = h.length > 100 ? h.length - 100u : 1;
        break;
    case 6: /* the length field claims less than is there */
        h.length = h.length > 100 ? 100 : 1;
        break;
    case 7: /* DATA with an empty body */
        h.length = 0;
        body = 0;
        break;
    case 8: /* END whose body is too short for an END */
        h.type = 3;
        h.piece = h.offset = 0;
        h.length = 8;
        body = 8;
        break;
    case 9: /* DATA of another session */
        h.session = session_of(other_id);
        *v = FOREIGN;
        break;
    case 10: /* BEACON of another release */
        h.type = 2;
        h.session = session_of(other_id);
        h.length = BEACON;
        put_header(buf, &h);
        put_beacon(buf + HEADER, other_id, t, t->pieces);
        *v = FOREIGN;
        return HEADER + BEACON;
    case 11: /* final END of another session */
        h.type = 3;
        h.flags = 1;
        h.session = session_of(other_id);
        h.length = END_BODY;
        put_header(buf, &h);
        memset(buf + HEADER, 0, END_BODY);
        put64(buf + HEADER + 8, seq);
        *v = FOREIGN;
        return HEADER + END_BODY;
    case 12: /* BEACON with this session id but the rest of the release id different */
        other_id[0] = t->release_id[0];
        other_id[31] ^= 0xa5;
        h.type = 2;
        h.length = BEACON;
        put_header(buf, &h);
        put_beacon(buf + HEADER, other_id, t, t->pieces);
        *v = FOREIGN;
        return HEADER + BEACON;
    case 13: /* piece past the end */
        h.piece = t->pieces + round;
        *v = OUT_OF_RANGE;
        break;
    case 14: /* offset past the piece, on a chunk boundary */
        h.offset = (t->piece_length + t->chunk - 1) / t->chunk * t->chunk;
        *v = OUT_OF_RANGE;
        break;
    case 15: /* offset not on a chunk boundary */
        h.offset = 1;
        *v = OUT_OF_RANGE;
        break;
    case 16: /* a consistent datagram whose length is not the chunk's size */
        if (h.length < 2)
            return build_case(13, round, t, buf, v);
        h.length /= 2;
        body = h.length;
        *v = OUT_OF_RANGE;
        break;
    case 17: /* a little longer than a chunk: fits the receiver's buffer, not the manifest */
        h.length += 32;
        body = h.length;
        *v = OUT_OF_RANGE;
        break;
    case 18: /* far longer than any chunk: the receiver's buffer cuts it */
        h.length = (uint16_t)(MAX_DGRAM - HEADER);
        body = h.length;
        *v = TRUNCATED;
        break;
    case 19: /* BEACON of this release with the wrong geometry */
        h.type = 2;
        h.length = BEACON;
        put_header(buf, &h);
        put_beacon(buf + HEADER, t->release_id, t, t->pieces + 1);
        *v = OUT_OF_RANGE;
        return HEADER + BEACON;
    default:
        return 0;
    }
    put_header(buf, &h);
    fill_random(buf + HEADER, body);
    return HEADER + body;
}

/* Builds datagram k of round `round` of an attack into buf; returns its size, 0 past the round's last. */
static size_t build_attack(const char *attack, unsigned k, unsigned round, const struct target *t,
                           uint8_t *buf)
{
    static uint64_t next_seq;
    uint32_t piece_chunks = (t->piece_length + t->chunk - 1) / t->chunk;
    struct hdr h = data_header(t, next_seq++);
    if (strcmp(attack, "end") == 0) {
        if (k > 0)
            return 0;
        h.type = 3;
        h.flags = 1;
        h.seq = rng();
        h.length = END_BODY;
        put_header(buf, &h);
        memset(buf + HEADER, 0, END_BODY);
        put64(buf + HEADER + 8, h.seq - 1);
        return HEADER + END_BODY;
    }
    if (strcmp(attack, "seq") == 0) {
        if (k > 0)
            return 0;
        h.type = 2;
        h.length = BEACON;
        h.seq = UINT64_MAX - 2 - round;
        put_header(buf, &h);
        put_beacon(buf + HEADER, t->release_id, t, t->pieces);
        return HEADER + BEACON;
    }
    uint32_t piece = t->pieces - 1, chunk = 0;
    if (strcmp(attack, "repeat") == 0) {
        if (k > 0)
            return 0;
        h.flags = 1;
    } else { /* spray */
        if (k >= t->pieces)
            return 0;
        piece = k;
        chunk = round % piece_chunks;
    }
    uint64_t piece_size =
        piece + 1 < t->pieces ? t->piece_length : t->total - (uint64_t)piece * t->piece_length;
    uint32_t off = chunk * t->chunk;
    if (off >= piece_size)
        off = 0;
    h.piece = piece;
    h.offset = off;
    h.length = (uint16_t)(piece_size - off < t->chunk ? piece_size - off : t->chunk);
    put_header(buf, &h);
    fill_random(buf + HEADER, h.length);
    return HEADER + h.length;
}

/* Joins the group and waits (at most 10 s) for a datagram of the session; its source is the one to
 * impersonate. Returns 0 or -1. */
static int find_sender(const struct sockaddr_in *group, const struct target *t, struct sockaddr_in *sender)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    struct sockaddr_in any = {
        .sin_family = AF_INET, .sin_port = group->sin_port, .sin_addr = group->sin_addr};
    struct ip_mreq mr = {.imr_multiaddr = group->sin_addr, .imr_interface.s_addr = htonl(INADDR_LOOPBACK)};
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(fd, (struct sockaddr *)&any, sizeof any) ||
        setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr)) {
        close(fd);
        return -1;
    }
    uint8_t buf[MAX_DGRAM];
    for (int tries = 0; tries < 100000; tries++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10000) != 1)
            break;
        socklen_t alen = sizeof *sender;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)sender, &alen);
        if (n < (ssize_t)HEADER || buf[0] != 0x43 || buf[1] != 0x57)
            continue;
        uint64_t s = 0;
        for (int i = 8; i < 16; i++)
            s = s << 8 | buf[i];
        if (s == t->session) {
            close(fd);
            return 0;
        }
    }
    close(fd);
    errno = ETIMEDOUT;
    return -1;
}

/* A raw socket on "lo" that sends IPv4 + UDP packets built here. */
static int open_raw(void)
{
    int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
    if (fd < 0)
        return -1;
    struct in_addr lo = {.s_addr = htonl(INADDR_LOOPBACK)};
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3) ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof lo)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends payload[0..len) from `from` to `group` as one raw IPv4/UDP packet (TTL 1). */
static int send_spoofed(int fd, const struct sockaddr_in *from, const struct sockaddr_in *group,
                        const uint8_t *payload, size_t len)
{
    static uint8_t pkt[MAX_DGRAM + 28];
    struct iphdr *ip = (struct iphdr *)pkt;
    struct udphdr *udp = (struct udphdr *)(pkt + sizeof *ip);
    memset(pkt, 0, 28);
    ip->version = 4;
    ip->ihl = 5;
    ip->ttl = 1;
    ip->protocol = IPPROTO_UDP;
    ip->saddr = from->sin_addr.s_addr;
    ip->daddr = group->sin_addr.s_addr;
    ip->tot_len = htons((uint16_t)(28 + len)); /* the kernel fills the checksum */
    udp->source = from->sin_port;
    udp->dest = group->sin_port;
    udp->len = htons((uint16_t)(8 + len)); /* checksum 0: none (IPv4 allows it) */
    memcpy(pkt + 28, payload, len);
    return sendto(fd, pkt, 28 + len, 0, (const struct sockaddr *)group, sizeof *group) == (ssize_t)(28 + len)
               ? 0
               : -1;
}

static int parse_hex(const char *s, uint8_t out[32])
{
    if (strlen(s) != 64)
        return -1;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

static unsigned long parse_num(const char *s, unsigned long max, const char *what)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || end == s || v > max) {
        fprintf(stderr, "mcast_inject: bad %s '%s'\n", what, s);
        exit(2);
    }
    return v;
}

static int open_socket(const char *spec, struct sockaddr_in *group)
{
    char host[64];
    errno = 0;
    const char *colon = strrchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= sizeof host)
        return -1;
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    *group = (struct sockaddr_in){.sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)parse_num(colon + 1, 65535, "port"))};
    if (inet_pton(AF_INET, host, &group->sin_addr) != 1 || !IN_MULTICAST(ntohl(group->sin_addr.s_addr)))
        return -1;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct in_addr lo = {.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_in self = {.sin_family = AF_INET, .sin_addr = lo};
    unsigned char ttl = 1, loop = 1;
    if (bind(fd, (struct sockaddr *)&self, sizeof self) ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof lo) ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop)) {
        close(fd);
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    if (argc < 9 || argc > 11) {
        fprintf(stderr,
                "usage: mcast_inject GROUP:PORT RELEASE_ID PIECES PIECE_LENGTH CHUNK_SIZE TOTAL_LENGTH "
                "ROUNDS GAP_US [end|repeat|spray|seq|junk [spoof]]\n");
        return 2;
    }
    const char *attack = argc > 9 ? argv[9] : "junk";
    bool spoof = argc > 10 && strcmp(argv[10], "spoof") == 0;
    if ((strcmp(attack, "end") && strcmp(attack, "repeat") && strcmp(attack, "spray") &&
         strcmp(attack, "seq") && strcmp(attack, "junk")) ||
        (argc > 10 && !spoof)) {
        fprintf(stderr, "mcast_inject: unknown attack '%s%s%s'\n", attack, argc > 10 ? " " : "",
                argc > 10 ? argv[10] : "");
        return 2;
    }
    bool junk = strcmp(attack, "junk") == 0;
    struct target t = {0};
    if (parse_hex(argv[2], t.release_id)) {
        fprintf(stderr, "mcast_inject: RELEASE_ID must be 64 hex digits\n");
        return 2;
    }
    t.session = session_of(t.release_id);
    t.pieces = (uint32_t)parse_num(argv[3], UINT32_MAX - MAX_ROUND, "piece count");
    t.piece_length = (uint32_t)parse_num(argv[4], UINT32_MAX, "piece length");
    t.chunk = (uint32_t)parse_num(argv[5], MAX_DGRAM - 2 * HEADER, "chunk size");
    t.total = parse_num(argv[6], UINT64_MAX, "total length");
    unsigned rounds = (unsigned)parse_num(argv[7], MAX_ROUND, "rounds");
    unsigned long gap_us = parse_num(argv[8], 1000000, "gap");
    if (!t.pieces || !t.piece_length || !t.chunk || !t.total) {
        fprintf(stderr, "mcast_inject: pieces, piece length and chunk size must be positive\n");
        return 2;
    }
    struct sockaddr_in group;
    int fd = open_socket(argv[1], &group);
    if (fd < 0) {
        fprintf(stderr, "mcast_inject: cannot send to '%s' from 127.0.0.1: %s\n", argv[1],
                errno ? strerror(errno) : "not a multicast GROUP:PORT");
        return 2;
    }
    struct sockaddr_in sender;
    int raw = -1;
    if (!junk && (find_sender(&group, &t, &sender) || (spoof && (raw = open_raw()) < 0))) {
        fprintf(stderr, "mcast_inject: %s\n",
                errno != ETIMEDOUT ? strerror(errno) : "no datagram of the session in 10 s");
        close(fd);
        return 1;
    }
    if (spoof)
        fprintf(stderr, "mcast_inject: sending as %s:%u\n", inet_ntoa(sender.sin_addr),
                ntohs(sender.sin_port));
    static uint8_t buf[MAX_DGRAM];
    unsigned long count[VERDICTS] = {0}, sent = 0;
    for (unsigned r = 0; r < rounds; r++) {
        enum verdict v = MALFORMED;
        size_t len;
        for (unsigned k = 0;
             (len = junk ? build_case(k, r, &t, buf, &v) : build_attack(attack, k, r, &t, buf)) > 0; k++) {
            int ret =
                spoof
                    ? send_spoofed(raw, &sender, &group, buf, len)
                    : (sendto(fd, buf, len, 0, (struct sockaddr *)&group, sizeof group) == (ssize_t)len ? 0
                                                                                                        : -1);
            if (ret) {
                if (errno == ENOBUFS || errno == EAGAIN)
                    continue; /* at line rate the socket buffer fills: that datagram is lost */
                fprintf(stderr, "mcast_inject: sendto: %s\n", strerror(errno));
                close(fd);
                return 1;
            }
            count[v]++;
            sent++;
        }
        struct timespec gap = {.tv_sec = (time_t)(gap_us / 1000000),
                               .tv_nsec = (long)(gap_us % 1000000) * 1000};
        nanosleep(&gap, NULL);
    }
    close(fd);
    if (raw >= 0)
        close(raw);
    if (junk)
        for (int v = 0; v < VERDICTS; v++)
            printf("%s=%lu ", verdict_name[v], count[v]);
    printf("sent=%lu\n", sent);
    return 0;
}
