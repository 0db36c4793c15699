/* `crowcast demo`: builds a small datacenter on loopback out of real crowcast processes.
 *
 * Racks are 127.0.R.0/24 (peer H of rack R is 127.0.R.H), each with its own multicast group; the
 * tracker and the seeder sit on 127.0.0.1. Peers start first and report "joined" on their --json
 * stream; the seeder starts once all joined, so the timings measure the transfer. The demo reads
 * every peer's and the seeder's events through the loop, redraws the view, and prints the report
 * at the end. The view names the phase the demo is in (demo_phase) from its first frame, drawn
 * before anything else happens: generating, hashing, starting, joining, the multicast pass,
 * repair, publishing, done.
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crowcast/demo.h"
#include "crowcast/event.h"
#include "crowcast/loop.h"
#include "crowcast/mix.h"
#include "crowcast/tcp.h"
#include "crowcast/units.h"
#include "spawn.h"

#define MAX_PEERS 450
#define TICK_NS   (100 * 1000000ull) /* the view is redrawn this often */

/* A child's --json stream on stdout, read line by line through the loop. */
struct line_reader {
    crow_op_t rd;
    crow_loop_t *loop;
    int fd;
    char buf[8192];
    size_t len;
    void (*on_line)(void *owner, const char *line, size_t len);
    void *owner;
};

struct peer {
    struct demo *demo;
    struct crow_child child;
    char addr[40], dir[PATH_MAX], log[PATH_MAX];
    unsigned rack;
    struct line_reader out;
    bool joined, complete;
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
    struct crow_child make, tracker, seeder;
    struct line_reader seeder_out;
    uint16_t seeder_port, tracker_port;
    uint64_t started_ns, make_ns, swarm_ns, seeder_ns, drawn_ns, printed_ns;
    double generated;            /* bytes of the release written so far */
    bool generating, starting;   /* generate_release / start_tracker+peers under way */
    double pass_payload;         /* bytes per group the seeder reported sent ("progress") */
    uint64_t pass_payload_ns;    /* when it reported them */
    bool pass_done;              /* the seeder's "mcast_done" came */
    double pass_shown;           /* the share of the pass the view showed last (it never goes back) */
    double pass_secs, pass_rate; /* from "mcast_done" */
    crow_op_t tick;
    crow_signals_t *signals;
    int result;
    unsigned lines_drawn;
    char last_phase[32]; /* the phase of the last line printed (not live) */
};

static void draw(struct demo *d, bool force);

static double since(const struct demo *d, uint64_t t0)
{
    return (double)(crow_loop_now(d->loop) - t0) / 1e9;
}

/* Deterministic pseudo-random release content (splitmix64), written in 1 MiB blocks; the view is
 * redrawn between blocks, so generating a large release is a phase the user sees move. */
static int generate_release(struct demo *d, const char *path, uint64_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    static uint64_t block[1 << 17];
    uint64_t state = 0x63726f7763617374ull;
    int ret = 0;
    for (uint64_t left = size; left && !ret;) {
        for (size_t i = 0; i < sizeof block / sizeof block[0]; i++) {
            block[i] = crow_mix_next(&state);
        }
        size_t n = left < sizeof block ? (size_t)left : sizeof block;
        if (write(fd, block, n) != (ssize_t)n)
            ret = errno ? -errno : -ENOSPC;
        left -= n;
        d->generated = (double)(size - left);
        crow_loop_update_now(d->loop);
        draw(d, false);
    }
    if (close(fd) && !ret)
        ret = -errno;
    return ret;
}

/* The tracker answers on loopback port `port`. */
static bool port_open(uint16_t port)
{
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    return crow_tcp_accepts(&a);
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

static void on_output(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    struct line_reader *r = op->owner;
    if (res <= 0)
        return; /* the child closed its stdout (or the read failed): nothing more to read */
    r->len += (size_t)res;
    char *start = r->buf, *nl;
    while ((nl = memchr(start, '\n', r->len - (size_t)(start - r->buf)))) {
        r->on_line(r->owner, start, (size_t)(nl - start + 1));
        start = nl + 1;
    }
    r->len -= (size_t)(start - r->buf);
    memmove(r->buf, start, r->len);
    if (r->len == sizeof r->buf)
        r->len = 0; /* a line longer than the buffer is not one of ours: drop it */
    crow_io_read(r->loop, &r->rd, r->fd, r->buf + r->len, (unsigned)(sizeof r->buf - r->len), 0);
}

static int read_lines(crow_loop_t *loop, struct line_reader *r, int fd,
                      void (*on_line)(void *, const char *, size_t), void *owner)
{
    r->loop = loop;
    r->fd = fd;
    r->on_line = on_line;
    r->owner = owner;
    crow_op_init(&r->rd, on_output, r);
    return crow_io_read(loop, &r->rd, fd, r->buf, sizeof r->buf, 0);
}

static void peer_event(void *owner, const char *line, size_t len)
{
    peer_line(owner, line, len);
}

/* The seeder's --json stream: how far its pass is, and its own account of it at the end. */
static void seeder_event(void *owner, const char *line, size_t len)
{
    struct demo *d = owner;
    char kind[32];
    if (!crow_event_get_str(line, len, "event", kind, sizeof kind))
        return;
    if (strcmp(kind, "progress") == 0) {
        crow_event_get_num(line, len, "payload_bytes", &d->pass_payload);
        d->pass_payload_ns = crow_loop_now(d->loop);
    } else if (strcmp(kind, "mcast_done") == 0) {
        d->pass_done = true;
        crow_event_get_num(line, len, "elapsed", &d->pass_secs);
        crow_event_get_num(line, len, "rate_bps", &d->pass_rate);
    }
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
    return read_lines(d->loop, &p->out, p->child.out_fd, peer_event, p);
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
    int ret = crow_spawn(&d->seeder, argv, log, true);
    if (ret)
        return ret;
    return read_lines(d->loop, &d->seeder_out, d->seeder.out_fd, seeder_event, d);
}

/* `crowcast make` in the background: the loop goes on drawing while it hashes. */
static int start_make(struct demo *d)
{
    char chunk[16], log[PATH_MAX + 16];
    snprintf(chunk, sizeof chunk, "%u", d->cfg->chunk_size);
    snprintf(log, sizeof log, "%s/make.log", d->workdir);
    char *argv[] = {d->self,     "make",         d->release,     "-o",  d->torrent,
                    "--tracker", d->tracker_url, "--chunk-size", chunk, NULL};
    d->make_ns = crow_loop_update_now(d->loop);
    return crow_spawn(&d->make, argv, log, false);
}

/* The tracker, then every peer (they join their racks' groups and wait for the seeder). */
static int start_swarm(struct demo *d)
{
    const struct crow_demo_config *cfg = d->cfg;
    d->starting = true;
    draw(d, false);
    int ret = start_tracker(d, d->tracker_port);
    if (ret) {
        fprintf(stderr, "crowcast demo: the tracker did not start (see %s/tracker.log)\n", d->workdir);
        return ret;
    }
    d->peers = calloc(cfg->racks * cfg->peers_per_rack, sizeof *d->peers);
    if (!d->peers)
        return -ENOMEM;
    d->npeers = cfg->racks * cfg->peers_per_rack;
    for (unsigned i = 0; i < d->npeers; i++)
        d->peers[i].child.out_fd = -1;
    for (unsigned r = 0; r < cfg->racks; r++)
        for (unsigned h = 0; h < cfg->peers_per_rack; h++) {
            unsigned i = r * cfg->peers_per_rack + h;
            if ((ret = start_peer(d, &d->peers[i], r + 1, h + 1, i)))
                return ret;
        }
    d->starting = false;
    return 0;
}

/* ---- the view ---- */

/* What the demo is doing now, in words, as a function of what its children reported: `name` is the
 * phase's short name (for the line mode, which prints a line when it changes), `text` the sentence.
 * It remembers only the share of the multicast pass last shown (pass_shown). */
static void demo_phase(struct demo *d, char *name, size_t name_cap, char *text, size_t cap)
{
    const struct crow_demo_config *cfg = d->cfg;
    char a[32], b[32];
    unsigned joined = 0, complete = 0, publishing = 0;
    double pieces = 0, to_go = 0; /* the release's pieces (from any report); pieces peers still lack */
    for (unsigned i = 0; i < d->npeers; i++)
        if (d->peers[i].pieces > pieces)
            pieces = d->peers[i].pieces;
    for (unsigned i = 0; i < d->npeers; i++) {
        const struct peer *p = &d->peers[i];
        joined += p->joined;
        complete += p->complete;
        publishing += !p->complete && p->pieces > 0 && p->verified >= p->pieces;
        if (!p->complete)
            to_go += pieces - p->verified;
    }
    unsigned n = cfg->racks * cfg->peers_per_rack;
    if (d->generating) {
        snprintf(name, name_cap, "generating");
        snprintf(text, cap, "generating the release: %s of %s",
                 crow_format_size((uint64_t)d->generated, a, sizeof a),
                 crow_format_size(cfg->size, b, sizeof b));
    } else if (d->make.pid && !d->make.exited) {
        snprintf(name, name_cap, "hashing");
        snprintf(text, cap,
                 "hashing the release into its manifest (crowcast make: SHA-1 and SHA-256 per piece), %.1f s",
                 since(d, d->make_ns));
    } else if (d->starting) {
        snprintf(name, name_cap, "starting");
        snprintf(text, cap, "starting the tracker and %u peers", n);
    } else if (!d->seeder_ns) {
        snprintf(name, name_cap, "joining");
        snprintf(text, cap, "waiting for %u peers to join their racks' multicast groups (%u left)", n,
                 n - joined);
    } else if (complete == n) {
        snprintf(name, name_cap, "done");
        snprintf(text, cap, "done: %u of %u peers verified and published the release", complete, n);
    } else if (!d->pass_done) {
        /* The seeder reports its bytes once a second; between reports the share shown moves on at
         * the rate it reported so far (the pacing rate before its first report), never past 99%
         * before the pass ends. */
        double rate = (double)cfg->rate / 8, sent = d->pass_payload;
        uint64_t t0 = d->pass_payload_ns ? d->pass_payload_ns : d->seeder_ns;
        if (d->pass_payload_ns > d->seeder_ns)
            rate = d->pass_payload / ((double)(d->pass_payload_ns - d->seeder_ns) / 1e9);
        sent += (double)(crow_loop_now(d->loop) - t0) / 1e9 * rate;
        double pct = 100 * sent / (double)cfg->size;
        /* A sender short of CPU falls behind the pacing rate: the share never goes back. */
        if (pct < d->pass_shown)
            pct = d->pass_shown;
        d->pass_shown = pct > 99 ? 99 : pct;
        snprintf(name, name_cap, "multicast");
        snprintf(text, cap, "multicast pass: %.0f%% sent to %u rack group(s) at %s each, %.1f s",
                 d->pass_shown, cfg->racks, crow_format_rate((double)cfg->rate, a, sizeof a),
                 since(d, d->seeder_ns));
    } else if (publishing && publishing + complete == n) {
        snprintf(name, name_cap, "publishing");
        snprintf(text, cap, "publishing: %u peer(s) verified every piece and move the release into place",
                 publishing);
    } else {
        snprintf(name, name_cap, "repair");
        int k = snprintf(text, cap, "repair over TCP: %u of %u peers not complete", n - complete, n);
        if (pieces > 0 && k > 0 && (size_t)k < cap)
            snprintf(text + k, cap - (size_t)k, ", %.0f piece(s) to go in all", to_go);
    }
}

/* Redraws the view (live), or prints a line when the phase changed and once a second (not live).
 * Unless `force`, a call sooner than most of a tick after the last draw does nothing: generation
 * calls this after every block. */
static void draw(struct demo *d, bool force)
{
    char a[32], b[32], name[32], phase[256];
    FILE *out = stderr;
    uint64_t now = crow_loop_now(d->loop);
    if (!force && d->drawn_ns && now - d->drawn_ns < TICK_NS * 8 / 10)
        return;
    d->drawn_ns = now;
    demo_phase(d, name, sizeof name, phase, sizeof phase);
    if (!d->cfg->live) {
        if (strcmp(name, d->last_phase) == 0 && now - d->printed_ns < 1000000000ull)
            return;
        snprintf(d->last_phase, sizeof d->last_phase, "%s", name);
        d->printed_ns = now;
        fprintf(out, "demo: %5.1f s  %s\n", since(d, d->started_ns), phase);
        return;
    }
    if (d->lines_drawn)
        fprintf(out, "\033[%uA", d->lines_drawn);
    unsigned lines = 0;
    fprintf(out, "\033[Kcrowcast demo  %5.1f s  %s\n", since(d, d->started_ns), phase);
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
                : p->joined       ? ""
                                  : "joining");
        lines++;
    }
    fflush(out);
    d->lines_drawn = lines;
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
    /* The seeder's own account of its multicast pass (its "mcast_done" event). */
    double pass_secs = d->pass_secs, pass_rate = d->pass_rate;
    if (d->pass_done) {
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

static void fail_setup(struct demo *d, const char *why)
{
    fprintf(stderr, "%scrowcast demo: %s\n", d->cfg->live ? "\n" : "", why);
    d->result = 3;
    crow_loop_stop(d->loop, 1);
}

static void on_tick(crow_op_t *op, int res, unsigned flags)
{
    (void)res;
    (void)flags;
    struct demo *d = op->owner;
    if (crow_loop_stopping(d->loop))
        return;
    if (!d->peers) { /* hashing: the swarm starts once the manifest is written */
        if (crow_child_poll(&d->make)) {
            int code = crow_child_code(&d->make);
            char why[PATH_MAX + 64];
            snprintf(why, sizeof why, "crowcast make failed (exit %d); see %s/make.log", code, d->workdir);
            if (code) {
                fail_setup(d, why);
                return;
            }
            if (start_swarm(d)) {
                fail_setup(d, "the tracker or a peer did not start");
                return;
            }
            d->swarm_ns = crow_loop_update_now(d->loop);
            draw(d, true);
        } else {
            draw(d, false);
        }
        crow_io_timeout(d->loop, &d->tick, TICK_NS);
        return;
    }
    unsigned joined = 0, complete = 0, gone = 0;
    for (unsigned i = 0; i < d->npeers; i++) {
        struct peer *p = &d->peers[i];
        joined += p->joined;
        complete += p->complete;
        gone += crow_child_poll(&p->child) && !p->complete;
    }
    if (!d->seeder_ns && (joined == d->npeers || since(d, d->swarm_ns) > 20)) {
        if (start_seeder(d)) {
            fail_setup(d, "cannot start the seeder");
            return;
        }
        draw(d, true);
    }
    draw(d, complete == d->npeers);
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
    crow_child_stop(&d->make, 2);
    crow_child_stop(&d->seeder, 2);
    for (unsigned i = 0; i < d->npeers; i++)
        crow_child_stop(&d->peers[i].child, 2);
    crow_child_stop(&d->tracker, 2);
    for (unsigned i = 0; i < d->npeers; i++)
        if (d->peers[i].child.out_fd >= 0)
            close(d->peers[i].child.out_fd);
    if (d->seeder.pid && d->seeder.out_fd >= 0)
        close(d->seeder.out_fd);
    if (!d->cfg->keep && d->workdir[0])
        nftw(d->workdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Everything before the loop runs: the work directory, the first frame of the view (at once: the
 * user sees a phase from the start), the release, and `crowcast make` started in the background. */
static int setup(struct demo *d)
{
    const struct crow_demo_config *cfg = d->cfg;
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
    d->tracker_port = crow_tcp_free_port(INADDR_LOOPBACK);
    d->seeder_port = crow_tcp_free_port(INADDR_LOOPBACK);
    snprintf(d->tracker_url, sizeof d->tracker_url, "http://127.0.0.1:%u/announce", d->tracker_port);
    snprintf(d->release, sizeof d->release, "%s/release.bin", d->workdir);
    snprintf(d->torrent, sizeof d->torrent, "%s/release.torrent", d->workdir);
    fprintf(stderr, "crowcast demo: working in %s\n", d->workdir);
    d->generating = true;
    draw(d, true);
    int ret = generate_release(d, d->release, cfg->size);
    d->generating = false;
    if (ret)
        return ret;
    if ((ret = start_make(d)))
        return ret;
    draw(d, true);
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
