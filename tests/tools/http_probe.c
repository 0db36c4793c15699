/* http_probe: a test client for the tracker that can pick its source address (bash's /dev/tcp cannot).
 *
 *   http_probe announce --to H:P --from A [--hash HEX40] [--port N] [--left N] [--event E]
 *                       [--numwant N] [--extra 'k=v&...'] [--dict]
 *       one announce; prints "status", "failure" or rack/group/position/head/groups/peers/flags lines
 *       and the round trip in "ms".
 *   http_probe raw --to H:P [--from A] [--quiet-ms N]
 *       sends stdin as is, prints every byte received until the server closes ("[closed]" last) or
 *       stays quiet for N ms (default 1000; "[open]" last).
 *   http_probe hold --to H:P --from A[,A...] --count N --seconds S
 *       opens N idle connections round-robin over the sources, prints "ready C" once C connected,
 *       holds them S seconds, then prints "held C closed_by_server K".
 *   http_probe slow --to H:P --from A [--interval-ms N] [--max-seconds S]
 *       sends an announce head one byte per interval; prints when and how the server ended it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crowcast/announce.h"
#include "crowcast/http.h"

struct opts {
    struct sockaddr_in to;
    struct in_addr from[64];
    int from_count;
    uint8_t hash[20];
    unsigned port, count, interval_ms, quiet_ms;
    double seconds;
    uint64_t left;
    int numwant;
    const char *event, *extra;
    bool dict;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "http_probe: %s: %s\n", what, strerror(errno));
    exit(2);
}

static int open_conn(const struct opts *o, int i, bool block)
{
    int fd = socket(AF_INET, SOCK_STREAM | (block ? 0 : SOCK_NONBLOCK), 0);
    if (fd < 0)
        die("socket");
    if (o->from_count) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr = o->from[i % o->from_count]};
        if (bind(fd, (struct sockaddr *)&a, sizeof a))
            die("bind");
    }
    if (connect(fd, (const struct sockaddr *)&o->to, sizeof o->to) && errno != EINPROGRESS)
        die("connect");
    return fd;
}

static void send_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n <= 0)
            die("send");
        buf += n;
        len -= (size_t)n;
    }
}

/* Reads until the server closes or is quiet for quiet_ms; returns the length, *closed tells which. */
static size_t read_reply(int fd, uint8_t *buf, size_t cap, unsigned quiet_ms, bool *closed)
{
    size_t len = 0;
    *closed = false;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (len < cap && poll(&p, 1, (int)quiet_ms) == 1) {
        ssize_t n = recv(fd, buf + len, cap - len, 0);
        if (n <= 0) {
            *closed = true;
            break;
        }
        len += (size_t)n;
    }
    return len;
}

static void print_endpoint(uint32_t addr, unsigned port, bool first)
{
    char d[16];
    crow_ipv4_format(addr, d);
    printf("%s%s:%u", first ? "" : ",", d, port);
}

static int cmd_announce(const struct opts *o)
{
    crow_announce_req_t req = {
        .port = (uint16_t)o->port, .left = o->left, .numwant = o->numwant, .compact = !o->dict};
    memcpy(req.info_hash, o->hash, 20);
    char id[24];
    snprintf(id, sizeof id, "-PR0001-%08x%04x", ntohl(o->from[0].s_addr), o->port & 0xffff);
    memcpy(req.peer_id, id, sizeof req.peer_id);
    if (o->event) {
        static const char *const names[] = {"", "started", "stopped", "completed", "paused"};
        for (int i = 1; i < 5; i++)
            if (strcmp(o->event, names[i]) == 0)
                req.event = (enum crow_announce_event)i;
    }
    char query[1024], request[2048];
    if (crow_announce_build_query(query, sizeof query, &req) < 0)
        return 2;
    int n = snprintf(request, sizeof request,
                     "GET /announce?%s%s%s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", query,
                     o->extra ? "&" : "", o->extra ? o->extra : "");
    double t0 = now_s();
    int fd = open_conn(o, 0, true);
    send_all(fd, request, (size_t)n);
    static uint8_t buf[256 * 1024];
    bool closed;
    size_t len = read_reply(fd, buf, sizeof buf, 5000, &closed);
    double ms = (now_s() - t0) * 1e3;
    close(fd);
    crow_http_response_t res;
    crow_http_error_t err;
    if (crow_http_parse_response(buf, len, true, NULL, &res, &err) <= 0) {
        printf("status none\n");
        return 1;
    }
    printf("status %d\nms %.3f\n", res.status, ms);
    static crow_bencode_node_t nodes[8192];
    static crow_announce_peer_t peers[1024];
    crow_announce_result_t r;
    const char *why = NULL;
    if (res.status != 200 ||
        crow_announce_decode(res.body, res.body_len, nodes, 8192, peers, 1024, &r, &why)) {
        printf("undecodable %s\n", why ? why : "");
        return 1;
    }
    if (r.failure) {
        printf("failure %.*s\n", (int)r.failure_len, (const char *)r.failure);
        return 0;
    }
    printf("complete %lld\nincomplete %lld\ninterval %lld\n", (long long)r.complete, (long long)r.incomplete,
           (long long)r.interval);
    const crow_crowcast_info_t *c = &r.crowcast;
    if (c->present) {
        printf("rack %s\nposition %u\nhead %d\ngroup ", c->rack, c->position, c->head);
        print_endpoint(c->group, c->port, true);
        printf("\ngroups ");
        for (uint32_t i = 0; i < c->group_count; i++)
            print_endpoint(c->groups[i].addr, c->groups[i].port, i == 0);
        printf("\n");
    }
    printf("peers ");
    for (size_t i = 0; i < r.peer_count; i++)
        print_endpoint(peers[i].addr, peers[i].port, i == 0);
    printf("\nflags ");
    for (size_t i = 0; i < r.peer_count; i++)
        printf("%s%u", i ? "," : "", peers[i].flags);
    printf("\n");
    return 0;
}

static int cmd_raw(const struct opts *o)
{
    static char in[1 << 20];
    size_t len = fread(in, 1, sizeof in, stdin);
    int fd = open_conn(o, 0, true);
    send_all(fd, in, len);
    static uint8_t buf[1 << 22];
    bool closed;
    size_t n = read_reply(fd, buf, sizeof buf, o->quiet_ms, &closed);
    fwrite(buf, 1, n, stdout);
    printf("%s[%s]\n", n && buf[n - 1] != '\n' ? "\n" : "", closed ? "closed" : "open");
    close(fd);
    return 0;
}

static int cmd_hold(const struct opts *o)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    int *fds = calloc(o->count, sizeof *fds);
    struct pollfd *p = calloc(o->count, sizeof *p);
    if (!fds || !p)
        die("calloc");
    for (unsigned i = 0; i < o->count; i++)
        fds[i] = open_conn(o, (int)i, false);
    /* Wait until every connect finished (or 10 s). */
    unsigned connected = 0;
    double end = now_s() + 10;
    bool *done = calloc(o->count, 1);
    while (connected < o->count && now_s() < end) {
        for (unsigned i = 0; i < o->count; i++)
            p[i] = (struct pollfd){.fd = done[i] ? -1 : fds[i], .events = POLLOUT};
        if (poll(p, o->count, 200) <= 0)
            continue;
        for (unsigned i = 0; i < o->count; i++) {
            int err = 0;
            socklen_t l = sizeof err;
            if (!done[i] && (p[i].revents & (POLLOUT | POLLERR | POLLHUP))) {
                done[i] = true;
                if (getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &err, &l) == 0 && err == 0)
                    connected++;
            }
        }
    }
    printf("ready %u\n", connected);
    fflush(stdout);
    usleep((useconds_t)(o->seconds * 1e6));
    unsigned closed = 0;
    for (unsigned i = 0; i < o->count; i++) {
        char b;
        ssize_t n = recv(fds[i], &b, 1, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN))
            closed++;
        close(fds[i]);
    }
    printf("held %u closed_by_server %u\n", connected, closed);
    free(done);
    free(p);
    free(fds);
    return 0;
}

static int cmd_slow(const struct opts *o)
{
    char request[512];
    int n =
        snprintf(request, sizeof request,
                 "GET /announce?info_hash=%%01%%02%%03%%04%%05%%06%%07%%08%%09%%0a%%0b%%0c%%0d%%0e%%0f%%10"
                 "%%11%%12%%13%%14&peer_id=-SL0001-abcdefghijkl&port=7000&uploaded=0&downloaded=0&left=1 "
                 "HTTP/1.1\r\nHost: t\r\n\r\n");
    int fd = open_conn(o, 0, true);
    double t0 = now_s();
    int sent = 0;
    uint8_t buf[4096];
    size_t got = 0;
    bool closed = false;
    while (!closed && now_s() - t0 < o->seconds) {
        if (sent < n && send(fd, request + sent, 1, MSG_NOSIGNAL) == 1)
            sent++;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        double next = t0 + (sent + 0.0) * o->interval_ms / 1e3;
        int wait = (int)((next - now_s()) * 1e3);
        while (!closed && poll(&p, 1, wait > 0 ? wait : 0) == 1) {
            ssize_t r = recv(fd, buf + got, sizeof buf - 1 - got, 0);
            if (r <= 0)
                closed = true;
            else
                got += (size_t)r;
            wait = (int)((next - now_s()) * 1e3);
        }
    }
    buf[got] = '\0';
    char *eol = strpbrk((char *)buf, "\r\n");
    if (eol)
        *eol = '\0';
    printf("%s after %.1f s, %d of %d bytes sent, reply: %s\n", closed ? "cut" : "not cut", now_s() - t0,
           sent, n, got ? (char *)buf : "(none)");
    close(fd);
    return closed ? 0 : 1;
}

static void parse_hash(const char *hex, uint8_t *out)
{
    for (int i = 0; i < 20; i++) {
        unsigned v;
        if (strlen(hex) != 40 || sscanf(hex + 2 * i, "%2x", &v) != 1) {
            fprintf(stderr, "http_probe: --hash wants 40 hex digits\n");
            exit(2);
        }
        out[i] = (uint8_t)v;
    }
}

int main(int argc, char **argv)
{
    struct opts o = {.port = 6881,
                     .numwant = CROW_NUMWANT_ABSENT,
                     .quiet_ms = 1000,
                     .interval_ms = 1000,
                     .seconds = 10,
                     .count = 1};
    for (int i = 0; i < 20; i++)
        o.hash[i] = (uint8_t)(i + 1);
    if (argc < 2)
        goto usage;
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(k, "--dict") == 0) {
            o.dict = true;
            continue;
        }
        if (!v)
            goto usage;
        i++;
        if (strcmp(k, "--to") == 0) {
            char host[32];
            unsigned port;
            if (sscanf(v, "%31[0-9.]:%u", host, &port) != 2 || !inet_aton(host, &o.to.sin_addr))
                goto usage;
            o.to.sin_family = AF_INET;
            o.to.sin_port = htons((uint16_t)port);
        } else if (strcmp(k, "--from") == 0) {
            char list[1024], *save = NULL;
            snprintf(list, sizeof list, "%s", v);
            for (char *a = strtok_r(list, ",", &save); a && o.from_count < 64; a = strtok_r(NULL, ",", &save))
                if (!inet_aton(a, &o.from[o.from_count++]))
                    goto usage;
        } else if (strcmp(k, "--hash") == 0) {
            parse_hash(v, o.hash);
        } else if (strcmp(k, "--port") == 0) {
            o.port = (unsigned)atoi(v);
        } else if (strcmp(k, "--left") == 0) {
            o.left = strtoull(v, NULL, 10);
        } else if (strcmp(k, "--event") == 0) {
            o.event = v;
        } else if (strcmp(k, "--numwant") == 0) {
            o.numwant = atoi(v);
        } else if (strcmp(k, "--extra") == 0) {
            o.extra = v;
        } else if (strcmp(k, "--count") == 0) {
            o.count = (unsigned)atoi(v);
        } else if (strcmp(k, "--seconds") == 0 || strcmp(k, "--max-seconds") == 0) {
            o.seconds = atof(v);
        } else if (strcmp(k, "--interval-ms") == 0) {
            o.interval_ms = (unsigned)atoi(v);
        } else if (strcmp(k, "--quiet-ms") == 0) {
            o.quiet_ms = (unsigned)atoi(v);
        } else {
            goto usage;
        }
    }
    if (!o.to.sin_port || o.count == 0)
        goto usage;
    if (strcmp(argv[1], "announce") == 0 && o.from_count)
        return cmd_announce(&o);
    if (strcmp(argv[1], "raw") == 0)
        return cmd_raw(&o);
    if (strcmp(argv[1], "hold") == 0)
        return cmd_hold(&o);
    if (strcmp(argv[1], "slow") == 0)
        return cmd_slow(&o);
usage:
    fprintf(stderr,
            "usage: http_probe announce|raw|hold|slow --to H:P [--from A[,A...]] ... (see the source)\n");
    return 2;
}
