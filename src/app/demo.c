/* `crowcast demo`: builds a small datacenter on loopback out of real crowcast processes.
 *
 * Racks are 127.0.R.0/24 (peer H of rack R is 127.0.R.H), each with its own multicast group; the
 * tracker and the seeder sit on 127.0.0.1. Peers start first and report "joined" on their --json
 * stream; the seeder starts once all joined, so the timings measure the transfer. The demo reads
 * every peer's events through the loop, redraws the view, and prints the report at the end.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crowcast/demo.h"
#include "crowcast/event.h"
#include "crowcast/loop.h"
#include "crowcast/units.h"
#include "spawn.h"

#define MAX_PEERS 450
#define TICK_NS   (250 * 1000000ull)

struct peer {
    struct demo *demo;
    struct crow_child child;
    char addr[40], dir[PATH_MAX], log[PATH_MAX];
    unsigned rack;
    crow_op_t rd;
    char buf[8192];
    size_t len;
    bool joined, complete, eof;
    double done_at; /* seconds since the seeder started */
    double verified, pieces, bytes_mcast, bytes_tcp, lost, injected, cross_rack;
    char error[160];
};

struct demo {
    const struct crow_demo_config *cfg;
    crow_loop_t *loop;
    char workdir[1024], self[PATH_MAX], torrent[PATH_MAX], release[PATH_MAX], tracker_url[64];
    struct peer *peers;
    unsigned npeers;
    struct crow_child tracker, seeder;
    uint16_t seeder_port;
    uint64_t started_ns, seeder_ns;
    crow_op_t tick;
    crow_signals_t *signals;
    int result;
    unsigned lines_drawn;
};

static double since(const struct demo *d, uint64_t t0)
{
    return (double)(crow_loop_now(d->loop) - t0) / 1e9;
}

/* Deterministic pseudo-random release content (splitmix64), written in 1 MiB blocks. */
static int generate_release(const char *path, uint64_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    static uint64_t block[1 << 17];
    uint64_t state = 0x63726f7763617374ull;
    int ret = 0;
    for (uint64_t left = size; left && !ret;) {
        for (size_t i = 0; i < sizeof block / sizeof block[0]; i++) {
            uint64_t z = (state += 0x9e3779b97f4a7c15ull);
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
            block[i] = z ^ (z >> 31);
        }
        size_t n = left < sizeof block ? (size_t)left : sizeof block;
        if (write(fd, block, n) != (ssize_t)n)
            ret = errno ? -errno : -ENOSPC;
        left -= n;
    }
    if (close(fd) && !ret)
        ret = -errno;
    return ret;
}

static uint16_t pick_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static bool port_open(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static int run_to_end(struct demo *d, char *const argv[], const char *what)
{
    char log[PATH_MAX + 16];
    snprintf(log, sizeof log, "%s/%s.log", d->workdir, what);
    struct crow_child c;
    int ret = crow_spawn(&c, argv, log, false);
    if (ret)
        return ret;
    int code = crow_child_wait(&c, 600);
    if (code)
        fprintf(stderr, "crowcast demo: %s failed (exit %d); see %s\n", what, code, log);
    return code ? -EIO : 0;
}

static unsigned rack_of(const char *addr)
{
    struct in_addr a;
    if (inet_pton(AF_INET, addr, &a) != 1)
        return 0;
    return (ntohl(a.s_addr) >> 8) & 0xff;
}

/* ---- peer event streams ---- */

static void peer_line(struct peer *p, const char *line, size_t len)
{
    char kind[32], text[160];
    if (!crow_event_get_str(line, len, "event", kind, sizeof kind))
        return;
    struct demo *d = p->demo;
    if (strcmp(kind, "joined") == 0) {
        p->joined = true;
    } else if (strcmp(kind, "progress") == 0 || strcmp(kind, "complete") == 0) {
        crow_event_get_num(line, len, "verified", &p->verified);
        crow_event_get_num(line, len, "pieces", &p->pieces);
        crow_event_get_num(line, len, "bytes_mcast", &p->bytes_mcast);
        crow_event_get_num(line, len, "bytes_tcp", &p->bytes_tcp);
        crow_event_get_num(line, len, "datagrams_lost", &p->lost);
        crow_event_get_num(line, len, "test_dropped", &p->injected);
        if (strcmp(kind, "complete") == 0 && !p->complete) {
            p->complete = true;
            p->done_at = d->seeder_ns ? since(d, d->seeder_ns) : 0;
        }
    } else if (strcmp(kind, "source") == 0) {
        double bytes = 0;
        if (crow_event_get_str(line, len, "addr", text, sizeof text) &&
            crow_event_get_num(line, len, "bytes", &bytes) && rack_of(text) != p->rack)
            p->cross_rack += bytes;
    } else if (strcmp(kind, "error") == 0) {
        crow_event_get_str(line, len, "message", p->error, sizeof p->error);
    }
}

static void on_peer_output(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    struct peer *p = op->owner;
    if (res <= 0) {
        p->eof = true;
        return;
    }
    p->len += (size_t)res;
    char *start = p->buf, *nl;
    while ((nl = memchr(start, '\n', p->len - (size_t)(start - p->buf)))) {
        peer_line(p, start, (size_t)(nl - start + 1));
        start = nl + 1;
    }
    p->len -= (size_t)(start - p->buf);
    memmove(p->buf, start, p->len);
    if (p->len == sizeof p->buf)
        p->len = 0; /* a line longer than the buffer is not one of ours: drop it */
    crow_io_read(p->demo->loop, &p->rd, p->child.out_fd, p->buf + p->len, (unsigned)(sizeof p->buf - p->len),
                 0);
}

/* ---- processes ---- */

static int start_tracker(struct demo *d, uint16_t port)
{
    char racks[PATH_MAX + 16], listen[32], log[PATH_MAX + 16];
    snprintf(racks, sizeof racks, "%s/racks.conf", d->workdir);
    snprintf(listen, sizeof listen, "127.0.0.1:%u", port);
    snprintf(log, sizeof log, "%s/tracker.log", d->workdir);
    FILE *f = fopen(racks, "w");
    if (!f)
        return -errno;
    unsigned base = 20000 + (unsigned)(getpid() % 20000);
    fprintf(f, "# racks of the crowcast demo: 127.0.R.0/24, one multicast group each\n");
    for (unsigned r = 1; r <= d->cfg->racks; r++)
        fprintf(f, "rack r%u 127.0.%u.0/24 239.255.%u.%u:%u\n", r, r, (unsigned)(getpid() % 200) + 1, r,
                base + r);
    fclose(f);
    char *argv[] = {d->self, "tracker", "--listen", listen, "--racks", racks, "--interval", "2", NULL};
    int ret = crow_spawn(&d->tracker, argv, log, false);
    if (ret)
        return ret;
    for (int i = 0; i < 100 && !port_open(port); i++)
        usleep(50000);
    return port_open(port) ? 0 : -ECONNREFUSED;
}

static int start_peer(struct demo *d, struct peer *p, unsigned rack, unsigned host, unsigned index)
{
    p->demo = d;
    p->rack = rack;
    snprintf(p->addr, sizeof p->addr, "127.0.%u.%u", rack, host);
    snprintf(p->dir, sizeof p->dir, "%s/peer-%s", d->workdir, p->addr);
    snprintf(p->log, sizeof p->log, "%s/peer-%s.log", d->workdir, p->addr);
    mkdir(p->dir, 0755);
    char loss[16], seed[16];
    snprintf(loss, sizeof loss, "%u", d->cfg->loss_ppm);
    snprintf(seed, sizeof seed, "%u", index + 1);
    char *argv[] = {
        d->self, "get",    d->torrent,    "-o",   p->dir,        "--tracker", d->tracker_url,     "--iface",
        p->addr, "--json", "--seed-time", "3600", "--test-loss", loss,        "--test-loss-seed", seed,
        NULL};
    int ret = crow_spawn(&p->child, argv, p->log, true);
    if (ret)
        return ret;
    crow_op_init(&p->rd, on_peer_output, p);
    return crow_io_read(d->loop, &p->rd, p->child.out_fd, p->buf, sizeof p->buf, 0);
}

static int start_seeder(struct demo *d)
{
    char listen[32], rate[32], log[PATH_MAX + 16];
    snprintf(listen, sizeof listen, "127.0.0.1:%u", d->seeder_port);
    snprintf(rate, sizeof rate, "%llu", (unsigned long long)d->cfg->rate);
    snprintf(log, sizeof log, "%s/seeder.log", d->workdir);
    char *argv[] = {d->self, "seed",   d->torrent, d->release, "--tracker", d->tracker_url, "--listen",
                    listen,  "--rate", rate,       "--iface",  "127.0.0.1", "--json",       NULL};
    d->seeder_ns = crow_loop_update_now(d->loop);
    return crow_spawn(&d->seeder, argv, log, false);
}

/* ---- the view ---- */

static void draw(struct demo *d, bool final)
{
    char a[32], b[32];
    FILE *out = stderr;
    if (d->cfg->live && d->lines_drawn)
        fprintf(out, "\033[%uA", d->lines_drawn);
    if (!d->cfg->live && !final) {
        unsigned done = 0;
        double verified = 0, pieces = 0;
        for (unsigned i = 0; i < d->npeers; i++) {
            done += d->peers[i].complete;
            verified += d->peers[i].verified;
            pieces += d->peers[i].pieces;
        }
        fprintf(out, "demo: %5.1f s  %u/%u peers complete, %.0f%% of all pieces verified\n",
                since(d, d->started_ns), done, d->npeers, pieces ? 100 * verified / pieces : 0);
        return;
    }
    if (!d->cfg->live)
        return;
    unsigned lines = 0;
    fprintf(out, "\033[Kcrowcast demo  %5.1f s  %s\n", since(d, d->started_ns),
            d->seeder_ns ? "transfer running" : "peers joining their racks' groups");
    lines++;
    for (unsigned i = 0; i < d->npeers; i++) {
        struct peer *p = &d->peers[i];
        double frac = p->pieces ? p->verified / p->pieces : 0;
        char bar[21];
        for (int k = 0; k < 20; k++)
            bar[k] = k < (int)(frac * 20) ? '#' : '.';
        bar[20] = 0;
        fprintf(out, "\033[K  r%u %-11s [%s] %3.0f%%  mcast %10s  tcp %10s  %s\n", p->rack, p->addr, bar,
                frac * 100, crow_format_size((uint64_t)p->bytes_mcast, a, sizeof a),
                crow_format_size((uint64_t)p->bytes_tcp, b, sizeof b),
                p->complete       ? "verified"
                : p->child.exited ? "EXITED"
                                  : "");
        lines++;
    }
    d->lines_drawn = lines;
}

/* The seeder's own account of its multicast pass ("mcast_done" event in its log). */
static bool seeder_pass(const struct demo *d, double *secs, double *rate)
{
    char path[PATH_MAX + 16], line[1024];
    snprintf(path, sizeof path, "%s/seeder.log", d->workdir);
    FILE *f = fopen(path, "r");
    bool found = false;
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "\"event\":\"mcast_done\""))
            found = crow_event_get_num(line, strlen(line), "elapsed", secs) &&
                    crow_event_get_num(line, strlen(line), "rate_bps", rate);
    if (f)
        fclose(f);
    return found;
}

static void report(struct demo *d)
{
    const struct crow_demo_config *cfg = d->cfg;
    char a[32], b[32], c[32];
    double ideal = (double)cfg->size * 8 / (double)cfg->rate, last = 0, cross = 0;
    unsigned verified = 0;
    printf("\ncrowcast demo: %s to %u peers in %u racks, multicast at %s per rack, %.2f%% injected loss\n\n",
           crow_format_size(cfg->size, a, sizeof a), d->npeers, cfg->racks,
           crow_format_rate((double)cfg->rate, b, sizeof b), cfg->loss_ppm / 1e4);
    printf("%-5s %-12s %9s %13s %12s %10s %10s  %s\n", "rack", "peer", "done in", "via multicast", "via TCP",
           "lost dgrams", "cross-rack", "verified");
    for (unsigned i = 0; i < d->npeers; i++) {
        struct peer *p = &d->peers[i];
        verified += p->complete;
        if (p->done_at > last)
            last = p->done_at;
        cross += p->cross_rack;
        char when[16];
        snprintf(when, sizeof when, p->complete ? "%.2f s" : "-", p->done_at);
        printf("r%-4u %-12s %9s %13s %12s %10.0f %10s  %s\n", p->rack, p->addr, when,
               crow_format_size((uint64_t)p->bytes_mcast, a, sizeof a),
               crow_format_size((uint64_t)p->bytes_tcp, b, sizeof b), p->lost,
               crow_format_size((uint64_t)p->cross_rack, c, sizeof c),
               p->complete   ? "yes"
               : p->error[0] ? p->error
                             : "NO");
    }
    printf("\n%u of %u peers verified.", verified, d->npeers);
    if (verified == d->npeers)
        printf(" Last peer done %.2f s after the seeder started; ideal S/B = %.2f s (ratio %.2f).", last,
               ideal, last / ideal);
    double pass_secs = 0, pass_rate = 0;
    if (seeder_pass(d, &pass_secs, &pass_rate)) {
        printf("\nMulticast pass: %.2f s at %s per group (asked for %s)%s.", pass_secs,
               crow_format_rate(pass_rate, a, sizeof a), crow_format_rate((double)cfg->rate, b, sizeof b),
               pass_rate < 0.9 * (double)cfg->rate ? ", the sender was short of CPU" : "");
        if (verified == d->npeers)
            printf(" Repair done %.2f s after the pass.", last - pass_secs);
    }
    printf("\nTCP bytes across racks: %s (one copy per rack would be %s).\n",
           crow_format_size((uint64_t)cross, a, sizeof a),
           crow_format_size(cfg->size * cfg->racks, b, sizeof b));
    printf("Work directory: %s%s\n", d->workdir, cfg->keep ? "" : " (removed)");
}

/* ---- the loop ---- */

static void on_tick(crow_op_t *op, int res, unsigned flags)
{
    (void)res;
    (void)flags;
    struct demo *d = op->owner;
    unsigned joined = 0, complete = 0, gone = 0;
    for (unsigned i = 0; i < d->npeers; i++) {
        struct peer *p = &d->peers[i];
        joined += p->joined;
        complete += p->complete;
        gone += crow_child_poll(&p->child) && !p->complete;
    }
    if (!d->seeder_ns && (joined == d->npeers || since(d, d->started_ns) > 20)) {
        if (start_seeder(d)) {
            fprintf(stderr, "crowcast demo: cannot start the seeder\n");
            d->result = 3;
            crow_loop_stop(d->loop, 1);
            return;
        }
    }
    draw(d, false);
    if (complete == d->npeers) {
        d->result = 0;
        crow_loop_stop(d->loop, 1);
    } else if (gone || since(d, d->started_ns) > d->cfg->timeout || crow_child_poll(&d->tracker)) {
        fprintf(stderr, "crowcast demo: %s\n",
                gone ? "a peer exited before completing (see its log)" : "timed out or the tracker died");
        d->result = 1;
        crow_loop_stop(d->loop, 1);
    } else {
        crow_io_timeout(d->loop, &d->tick, TICK_NS);
    }
}

static void on_signal(void *ctx, int signo)
{
    struct demo *d = ctx;
    fprintf(stderr, "\ncrowcast demo: signal %d, cleaning up\n", signo);
    d->result = 130;
    crow_loop_stop(d->loop, 1);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void cleanup(struct demo *d)
{
    crow_child_stop(&d->seeder, 2);
    for (unsigned i = 0; i < d->npeers; i++)
        crow_child_stop(&d->peers[i].child, 2);
    crow_child_stop(&d->tracker, 2);
    for (unsigned i = 0; i < d->npeers; i++)
        if (d->peers[i].child.out_fd >= 0)
            close(d->peers[i].child.out_fd);
    if (!d->cfg->keep && d->workdir[0])
        nftw(d->workdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup(struct demo *d)
{
    const struct crow_demo_config *cfg = d->cfg;
    char chunk[16], size[32];
    ssize_t n = readlink("/proc/self/exe", d->self, sizeof d->self - 1);
    if (n <= 0)
        return -errno;
    d->self[n] = 0;
    if (cfg->workdir) {
        snprintf(d->workdir, sizeof d->workdir, "%s", cfg->workdir);
        if (mkdir(d->workdir, 0755) && errno != EEXIST)
            return -errno;
    } else {
        snprintf(d->workdir, sizeof d->workdir, "/tmp/crowcast-demo.XXXXXX");
        if (!mkdtemp(d->workdir))
            return -errno;
    }
    uint16_t tport = pick_port();
    d->seeder_port = pick_port();
    snprintf(d->tracker_url, sizeof d->tracker_url, "http://127.0.0.1:%u/announce", tport);
    snprintf(d->release, sizeof d->release, "%s/release.bin", d->workdir);
    snprintf(d->torrent, sizeof d->torrent, "%s/release.torrent", d->workdir);
    fprintf(stderr, "crowcast demo: generating a %s release in %s\n",
            crow_format_size(cfg->size, size, sizeof size), d->workdir);
    int ret = generate_release(d->release, cfg->size);
    if (ret)
        return ret;
    snprintf(chunk, sizeof chunk, "%u", cfg->chunk_size);
    char *make[] = {d->self,     "make",         d->release,     "-o",  d->torrent,
                    "--tracker", d->tracker_url, "--chunk-size", chunk, NULL};
    if ((ret = run_to_end(d, make, "make")))
        return ret;
    if ((ret = start_tracker(d, tport))) {
        fprintf(stderr, "crowcast demo: the tracker did not start (see %s/tracker.log)\n", d->workdir);
        return ret;
    }
    d->npeers = cfg->racks * cfg->peers_per_rack;
    d->peers = calloc(d->npeers, sizeof *d->peers);
    if (!d->peers)
        return -ENOMEM;
    for (unsigned r = 0; r < cfg->racks; r++)
        for (unsigned h = 0; h < cfg->peers_per_rack; h++) {
            unsigned i = r * cfg->peers_per_rack + h;
            if ((ret = start_peer(d, &d->peers[i], r + 1, h + 1, i)))
                return ret;
        }
    return 0;
}

int crow_demo_run(const struct crow_demo_config *cfg)
{
    struct demo d = {.cfg = cfg, .result = 3};
    int ret = crow_loop_new(&d.loop, 256);
    if (ret) {
        fprintf(stderr, "crowcast demo: io_uring: %s\n", strerror(-ret));
        return 3;
    }
    static const int sigs[] = {SIGINT, SIGTERM};
    crow_signals_watch(d.loop, &d.signals, sigs, 2, on_signal, &d);
    d.started_ns = crow_loop_update_now(d.loop);
    if ((ret = setup(&d)) == 0) {
        crow_op_init(&d.tick, on_tick, &d);
        crow_io_timeout(d.loop, &d.tick, TICK_NS);
        crow_loop_run(d.loop);
        draw(&d, true);
        report(&d);
    } else {
        fprintf(stderr, "crowcast demo: setup failed: %s\n", strerror(-ret));
    }
    cleanup(&d);
    crow_signals_close(d.loop, d.signals);
    crow_io_cancel(d.loop, &d.tick);
    crow_loop_drain(d.loop, 2000000000ull);
    free(d.peers);
    crow_loop_free(d.loop);
    return d.result;
}
