/* sendto_baseline: the plain-sockets baseline of bench/bench_mcast.sh.
 *
 *   sendto_baseline send GROUP:PORT COUNT SIZE MAX_SECONDS
 *       one sendto() per datagram, COUNT datagrams of SIZE bytes, as fast as the kernel takes them
 *       (no pacing, no GSO, a blocking socket); stops early after MAX_SECONDS.
 *   sendto_baseline recv GROUP:PORT IFACE IDLE_MS MAX_SECONDS [gro]
 *       joins GROUP on IFACE and counts datagrams (recvmmsg, 64 at a time, 64 MiB receive buffer)
 *       until IDLE_MS pass without one after the first, or MAX_SECONDS in all; kernel drops from
 *       SO_RXQ_OVFL. Prints "joined" on stderr once it is receiving. With "gro", UDP_GRO is on:
 *       a read may bring a run of datagrams, counted one by one from the UDP_GRO size.
 *
 * Both print one line on stdout: datagrams=N bytes=B seconds=S [drops=D]; for recv, seconds is the
 * time from the first datagram to the last. Network rule: the sender binds 127.0.0.1 and sends with
 * IP_MULTICAST_IF 127.0.0.1 and TTL 1; the group must be multicast.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH    64
#define MAX_SIZE 65507u

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long num(const char *s, unsigned long max, const char *what)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || end == s || v > max) {
        fprintf(stderr, "sendto_baseline: bad %s '%s'\n", what, s);
        exit(2);
    }
    return v;
}

static void parse_group(const char *spec, struct sockaddr_in *g)
{
    char host[64];
    const char *colon = strrchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= sizeof host) {
        fprintf(stderr, "sendto_baseline: GROUP:PORT expected, got '%s'\n", spec);
        exit(2);
    }
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    *g = (struct sockaddr_in){.sin_family = AF_INET,
                              .sin_port = htons((uint16_t)num(colon + 1, 65535, "port"))};
    if (inet_pton(AF_INET, host, &g->sin_addr) != 1 || !IN_MULTICAST(ntohl(g->sin_addr.s_addr))) {
        fprintf(stderr, "sendto_baseline: '%s' is not a multicast group\n", host);
        exit(2);
    }
}

static int die(const char *what)
{
    fprintf(stderr, "sendto_baseline: %s: %s\n", what, strerror(errno));
    return 1;
}

static int run_send(const struct sockaddr_in *g, unsigned long count, size_t size, double max_s)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return die("socket");
    struct in_addr lo = {.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_in self = {.sin_family = AF_INET, .sin_addr = lo};
    unsigned char ttl = 1, loop = 1;
    if (bind(fd, (struct sockaddr *)&self, sizeof self) ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof lo) ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop))
        return die("socket options");
    static uint8_t buf[MAX_SIZE];
    memset(buf, 0xa5, size);
    double t0 = now_s(), t = t0;
    unsigned long sent = 0;
    while (sent < count) {
        /* the datagram's first bytes carry its number, as a real sender's header would */
        memcpy(buf, &sent, sizeof sent);
        if (sendto(fd, buf, size, 0, (const struct sockaddr *)g, sizeof *g) != (ssize_t)size)
            return die("sendto");
        sent++;
        if (sent % 1024 == 0 && (t = now_s()) - t0 > max_s)
            break;
    }
    t = now_s();
    close(fd);
    printf("datagrams=%lu bytes=%llu seconds=%.6f\n", sent, (unsigned long long)sent * size, t - t0);
    return 0;
}

static int run_recv(const struct sockaddr_in *g, const char *iface, unsigned long idle_ms, double max_s,
                    int gro)
{
    struct in_addr ifa;
    if (inet_pton(AF_INET, iface, &ifa) != 1) {
        fprintf(stderr, "sendto_baseline: bad interface address '%s'\n", iface);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return die("socket");
    int one = 1, zero = 0, rcvbuf = 64 << 20;
    struct sockaddr_in bind_to = {.sin_family = AF_INET, .sin_port = g->sin_port, .sin_addr = g->sin_addr};
    struct ip_mreq mreq = {.imr_multiaddr = g->sin_addr, .imr_interface = ifa};
    struct timeval tv = {.tv_sec = (time_t)(idle_ms / 1000), .tv_usec = (suseconds_t)(idle_ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf))
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof zero) ||
        bind(fd, (struct sockaddr *)&bind_to, sizeof bind_to) ||
        setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) ||
        (gro && setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one)))
        return die("socket options");
    fprintf(stderr, "joined\n");
    static uint8_t bufs[BATCH][65536]; /* any datagram whole, 8 KiB chunks too */
    static char ctl[BATCH][CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(int))];
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    unsigned long datagrams = 0;
    unsigned long long bytes = 0;
    uint32_t drops = 0;
    double start = now_s(), first = 0, last = 0;
    while (now_s() - start < max_s) {
        for (int i = 0; i < BATCH; i++) {
            iov[i] = (struct iovec){.iov_base = bufs[i], .iov_len = sizeof bufs[i]};
            msgs[i].msg_hdr = (struct msghdr){
                .msg_iov = &iov[i], .msg_iovlen = 1, .msg_control = ctl[i], .msg_controllen = sizeof ctl[i]};
        }
        int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN && datagrams)
                break; /* idle after the stream */
            if (errno == EAGAIN)
                continue;
            return die("recvmmsg");
        }
        last = now_s();
        if (!datagrams)
            first = last;
        for (int i = 0; i < n; i++) {
            int seg = 0;
            bytes += msgs[i].msg_len;
            for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c;
                 c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL)
                    memcpy(&drops, CMSG_DATA(c), sizeof drops);
                if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO)
                    memcpy(&seg, CMSG_DATA(c), sizeof seg);
            }
            datagrams += seg > 0 && msgs[i].msg_len > (unsigned)seg ? (msgs[i].msg_len + seg - 1) / seg : 1;
        }
    }
    close(fd);
    printf("datagrams=%lu bytes=%llu seconds=%.6f drops=%u\n", datagrams, bytes, last - first, drops);
    return 0;
}

int main(int argc, char **argv)
{
    struct sockaddr_in g;
    if (argc == 6 && strcmp(argv[1], "send") == 0) {
        parse_group(argv[2], &g);
        return run_send(&g, num(argv[3], 100000000, "count"), num(argv[4], MAX_SIZE, "size"),
                        (double)num(argv[5], 3600, "seconds"));
    }
    if ((argc == 6 || (argc == 7 && strcmp(argv[6], "gro") == 0)) && strcmp(argv[1], "recv") == 0) {
        parse_group(argv[2], &g);
        return run_recv(&g, argv[3], num(argv[4], 60000, "idle ms"), (double)num(argv[5], 3600, "seconds"),
                        argc == 7);
    }
    fprintf(stderr, "usage: sendto_baseline send GROUP:PORT COUNT SIZE MAX_SECONDS\n"
                    "       sendto_baseline recv GROUP:PORT IFACE IDLE_MS MAX_SECONDS [gro]\n");
    return 2;
}
