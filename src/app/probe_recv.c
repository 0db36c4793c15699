/* `crowcast probe recv`: joins the rack's group the tracker names, accounts for each probe step
 * (probe.h) and reports it to the tracker (GET /probe/report), one request at a time. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/log.h"
#include "crowcast/probe.h"
#include "crowcast/probe_run.h"
#include "crowcast/udp.h"
#include "crowcast/units.h"
#include "http_client.h"

#define TICK_NS        (50 * 1000000ull)
#define REJOIN_NS      (10 * 1000000000ull)
#define QUEUE          16 /* reports waiting for the tracker */
#define REPORT_RETRIES 5

struct receiver {
    const struct crow_probe_recv_config *cfg;
    crow_loop_t *loop;
    crow_signals_t *signals;
    crow_http_client_t *http;
    struct crow_http_client_server tracker;
    crow_udp_rx_t *udp;
    crow_op_t tick;
    crow_probe_rx_t rx;
    crow_probe_report_line_t joined; /* the tracker's answer to /probe/join */
    bool have_rack;
    uint64_t started_ns, last_traffic_ns, next_join_ns, drops_before;
    char queue[QUEUE][256]; /* report queries, oldest first */
    unsigned queued, tries;
    bool sending_report;
    int result;
};

static void send_next(struct receiver *rv);

static void on_http(void *ctx, int err, const crow_http_response_t *res)
{
    struct receiver *rv = ctx;
    bool ok = err == 0 && res->status == 200;
    if (!rv->sending_report) {
        crow_probe_report_line_t l;
        if (ok && res->body_len &&
            crow_probe_report_line_decode((const char *)res->body, res->body_len - 1, &l) == 0 &&
            l.kind == CROW_PROBE_REPORT_LINE_RECEIVER) {
            rv->joined = l;
            rv->have_rack = true;
        } else if (!rv->have_rack) {
            crow_log_warn("tracker join: %s", err ? crow_strerror(err) : ok ? "bad answer" : "refused");
        }
    } else if (ok || ++rv->tries >= REPORT_RETRIES) {
        if (!ok)
            crow_log_warn("dropping a report the tracker did not take: %s", rv->queue[0]);
        memmove(rv->queue[0], rv->queue[1], (size_t)(rv->queued - 1) * sizeof rv->queue[0]);
        rv->queued--;
        rv->tries = 0;
    }
    rv->sending_report = false;
    send_next(rv);
}

/* Starts the next request: a queued report first, else a (re)join when it is due. */
static void send_next(struct receiver *rv)
{
    if (crow_http_client_busy(rv->http))
        return;
    char target[sizeof rv->tracker.path + sizeof rv->queue[0] + 32];
    uint64_t now = crow_loop_now(rv->loop);
    if (rv->queued && rv->have_rack) {
        snprintf(target, sizeof target, "%s/probe/report?%s", rv->tracker.path, rv->queue[0]);
        rv->sending_report = true;
    } else if (now >= rv->next_join_ns) {
        snprintf(target, sizeof target, "%s/probe/join%s%s", rv->tracker.path, rv->cfg->rack ? "?rack=" : "",
                 rv->cfg->rack ? rv->cfg->rack : "");
        rv->next_join_ns = now + (rv->have_rack ? REJOIN_NS : REJOIN_NS / 10);
    } else {
        return;
    }
    if (crow_http_client_get(rv->http, &rv->tracker, rv->cfg->iface, target, 3)) {
        rv->sending_report = false; /* the next tick tries again */
        if (!rv->have_rack)
            rv->next_join_ns = now + REJOIN_NS / 10;
    }
}

static void print_step(struct receiver *rv, const crow_probe_report_t *r)
{
    double loss = r->expected ? 100.0 * (double)(r->expected - r->received) / (double)r->expected : 0;
    double goodput = r->usec ? (double)r->payload_bytes * 8e6 / (double)r->usec : 0;
    if (rv->cfg->json) {
        printf("{\"event\":\"step\",\"run\":%u,\"step\":%u,\"rate_bps\":%llu,\"expected\":%llu,\"received\":%"
               "llu,"
               "\"loss_pct\":%.3f,\"goodput_bps\":%.0f,\"kernel_drops\":%llu}\n",
               r->run, r->step, (unsigned long long)r->rate_bps, (unsigned long long)r->expected,
               (unsigned long long)r->received, loss, goodput, (unsigned long long)r->kernel_drops);
    } else {
        char rate[32], good[32];
        printf("step %2u  sent at %12s  received %llu/%llu  loss %6.2f%%  goodput %12s  kernel drops %llu\n",
               r->step, crow_format_rate((double)r->rate_bps, rate, sizeof rate),
               (unsigned long long)r->received, (unsigned long long)r->expected, loss,
               crow_format_rate(goodput, good, sizeof good), (unsigned long long)r->kernel_drops);
    }
    fflush(stdout);
}

static void step_done(struct receiver *rv, crow_probe_report_t *r)
{
    struct crow_udp_rx_stats st;
    crow_udp_rx_get_stats(rv->udp, &st);
    r->kernel_drops = st.kernel_drops - rv->drops_before;
    rv->drops_before = st.kernel_drops;
    print_step(rv, r);
    if (rv->queued == QUEUE) {
        crow_log_warn("tracker unreachable: dropping the oldest queued report");
        memmove(rv->queue[0], rv->queue[1], (QUEUE - 1) * sizeof rv->queue[0]);
        rv->queued--;
    }
    crow_probe_report_encode(r, rv->queue[rv->queued++], sizeof rv->queue[0]);
    send_next(rv);
}

static void on_datagram(void *ctx, const uint8_t *data, size_t len, const struct sockaddr_in *from)
{
    struct receiver *rv = ctx;
    uint64_t now = crow_loop_now(rv->loop);
    uint64_t source = (uint64_t)ntohl(from->sin_addr.s_addr) << 16 | ntohs(from->sin_port);
    crow_probe_report_t done;
    int ret = crow_probe_rx_on_datagram(&rv->rx, source, data, len, now, &done);
    if (rv->rx.active)
        rv->last_traffic_ns = now;
    if (ret == 1)
        step_done(rv, &done);
    else if (ret < 0)
        crow_loop_stop(rv->loop, 3);
}

static int join_group(struct receiver *rv)
{
    struct crow_udp_rx_config rc = {
        .group = {.sin_family = AF_INET,
                  .sin_port = htons(rv->joined.port),
                  .sin_addr.s_addr = htonl(rv->joined.group)},
        .iface = rv->cfg->iface,
        .rcvbuf = 32 << 20,
        .buffers = 1024,
        .buffer_size = CROW_DGRAM_HEADER_LEN + CROW_MAX_CHUNK_SIZE + 64,
    };
    int ret = crow_udp_rx_open(rv->loop, &rv->udp, &rc, on_datagram, rv);
    char group[16];
    crow_ipv4_format(rv->joined.group, group);
    if (ret) {
        fprintf(stderr, "crowcast probe recv: cannot join %s:%u: %s\n", group, rv->joined.port,
                crow_strerror(ret));
        return ret;
    }
    crow_log_info("rack %s: joined %s:%u", rv->joined.rack, group, rv->joined.port);
    return 0;
}

static void on_tick(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    struct receiver *rv = op->owner;
    if (res == -ECANCELED || crow_loop_stopping(rv->loop))
        return;
    uint64_t now = crow_loop_now(rv->loop);
    const struct crow_probe_recv_config *cfg = rv->cfg;
    if (rv->have_rack && !rv->udp && join_group(rv)) {
        crow_loop_stop(rv->loop, 3);
        return;
    }
    crow_probe_report_t done;
    if (rv->udp && crow_probe_rx_poll(&rv->rx, now, (uint64_t)(cfg->silence * 1e9), &done))
        step_done(rv, &done);
    send_next(rv);
    bool idle = cfg->idle > 0 && rv->rx.stats.steps && !rv->rx.active && !rv->queued &&
                now > rv->last_traffic_ns + (uint64_t)(cfg->idle * 1e9);
    if (idle || (cfg->timeout > 0 && now > rv->started_ns + (uint64_t)(cfg->timeout * 1e9))) {
        if (!rv->have_rack)
            rv->result = 3;
        crow_loop_stop(rv->loop, 1);
        return;
    }
    crow_io_timeout(rv->loop, &rv->tick, TICK_NS);
}

static void on_signal(void *ctx, int signo)
{
    struct receiver *rv = ctx;
    crow_log_info("signal %d: stopping", signo);
    crow_loop_stop(rv->loop, 1);
}

int crow_probe_recv_run(const struct crow_probe_recv_config *cfg)
{
    struct receiver rv = {.cfg = cfg};
    crow_probe_rx_init(&rv.rx);
    if (crow_http_client_parse_server(cfg->tracker, &rv.tracker)) {
        fprintf(stderr, "crowcast probe recv: --tracker wants http[s]://A.B.C.D:PORT, not '%s'\n",
                cfg->tracker);
        return 2;
    }
    int ret = crow_loop_new(&rv.loop, 256);
    if (ret) {
        fprintf(stderr, "crowcast probe recv: io_uring: %s\n", crow_strerror(ret));
        return 3;
    }
    if ((ret = crow_http_client_new(&rv.http, rv.loop, 16 * 1024, on_http, &rv))) {
        rv.result = 3;
        goto out;
    }
    static const int sigs[] = {SIGINT, SIGTERM};
    crow_signals_watch(rv.loop, &rv.signals, sigs, 2, on_signal, &rv);
    rv.started_ns = rv.last_traffic_ns = crow_loop_update_now(rv.loop);
    crow_op_init(&rv.tick, on_tick, &rv);
    send_next(&rv);
    crow_io_timeout(rv.loop, &rv.tick, TICK_NS);
    int code = crow_loop_run(rv.loop);
    if (code == 3)
        rv.result = 3;
    /* Reports still queued get a last chance. */
    for (int i = 0; i < 40 && (rv.queued || crow_http_client_busy(rv.http)); i++) {
        send_next(&rv);
        crow_loop_run_for(rv.loop, 50 * 1000000ull);
    }
out:
    crow_http_client_free(rv.http);
    crow_udp_rx_close(rv.udp);
    crow_signals_close(rv.loop, rv.signals);
    crow_io_cancel(rv.loop, &rv.tick);
    crow_loop_drain(rv.loop, 2000000000ull);
    crow_loop_free(rv.loop);
    crow_probe_rx_dispose(&rv.rx);
    return rv.result;
}
