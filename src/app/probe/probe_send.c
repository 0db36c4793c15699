/* `crowcast probe send`: waits for receivers to join at the tracker, then for each rate of the
 * ladder sends one synthetic step (probe.h) to every rack's group through the seeder's multicast
 * path (mcast_stream.c without a piece store), collects the step's reports from the tracker, and stops
 * once every rack lost more than the threshold twice in a row (or at the top of the ladder). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crowcast/clock.h"
#include "crowcast/error.h"
#include "crowcast/log.h"
#include "crowcast/mcast_sender.h"
#include "crowcast/probe.h"
#include "crowcast/probe_run.h"
#include "crowcast/units.h"
#include "http_client.h"
#include "mcast_stream.h"
#include "probe_print.h"

#define POLL_NS      (200 * 1000000ull)
#define RESPONSE_MAX (512 * 1024)
#define MAX_GROUPS   64

enum phase { JOINING, SENDING, COLLECTING, DONE };

struct sender {
    const struct crow_probe_send_config *cfg;
    crow_loop_t *loop;
    crow_signals_t *signals;
    crow_http_client_t *http;
    struct crow_http_client_server tracker;
    crow_op_t timer;
    enum phase phase;
    uint16_t run;
    uint64_t ladder[CROW_PROBE_MAX_STEPS];
    size_t nladder;
    uint32_t step;
    uint64_t phase_started_ns;
    crow_manifest_t m; /* the step's synthetic release */
    crow_mcast_stream_t *mcast;
    struct sockaddr_in groups[MAX_GROUPS];
    unsigned ngroups;
    crow_probe_table_t *t;
    int result;
};

static void next_step(struct sender *s);

static uint32_t rack_index(crow_probe_table_t *t, const char *name)
{
    for (uint32_t r = 0; r < t->nracks; r++)
        if (strcmp(t->racks[r], name) == 0)
            return r;
    if (t->nracks == CROW_PROBE_MAX_RACKS)
        return UINT32_MAX;
    snprintf(t->racks[t->nracks], sizeof t->racks[0], "%s", name);
    return t->nracks++;
}

static int host_index(const crow_probe_table_t *t, uint32_t addr)
{
    for (uint32_t h = 0; h < t->nhosts; h++)
        if (t->hosts[h].addr == addr)
            return (int)h;
    return -1;
}

/* While joining: a receiver line adds its host, rack and group. */
static void add_receiver(struct sender *s, const crow_probe_report_line_t *l)
{
    crow_probe_table_t *t = s->t;
    if (host_index(t, l->host) >= 0 || t->nhosts == CROW_PROBE_MAX_HOSTS)
        return;
    uint32_t rack = rack_index(t, l->rack);
    if (rack == UINT32_MAX)
        return;
    t->hosts[t->nhosts++] = (crow_probe_host_t){.addr = l->host, .rack = rack};
    struct sockaddr_in g = {
        .sin_family = AF_INET, .sin_port = htons(l->port), .sin_addr.s_addr = htonl(l->group)};
    for (unsigned i = 0; i < s->ngroups; i++)
        if (s->groups[i].sin_addr.s_addr == g.sin_addr.s_addr && s->groups[i].sin_port == g.sin_port)
            return;
    if (s->ngroups < MAX_GROUPS)
        s->groups[s->ngroups++] = g;
}

/* While collecting: a report of the current step fills its host's cell. */
static void add_report(struct sender *s, const crow_probe_report_line_t *l)
{
    int h = host_index(s->t, l->host);
    if (h < 0 || l->report.run != s->run || l->report.step != s->step)
        return;
    s->t->cells[h][s->step] = (crow_probe_cell_t){.reported = true,
                                                  .received = l->report.received,
                                                  .payload_bytes = l->report.payload_bytes,
                                                  .usec = l->report.usec,
                                                  .kernel_drops = l->report.kernel_drops};
}

static uint32_t reported(const struct sender *s)
{
    uint32_t n = 0;
    for (uint32_t h = 0; h < s->t->nhosts; h++)
        n += s->t->cells[h][s->step].reported;
    return n;
}

static void poll_later(struct sender *s)
{
    crow_io_timeout(s->loop, &s->timer, POLL_NS);
}

static void on_results(void *ctx, int err, const crow_http_response_t *res)
{
    struct sender *s = ctx;
    if (err || res->status != 200) {
        crow_log_debug("tracker: %s", err ? crow_strerror(err) : "refused");
        poll_later(s);
        return;
    }
    const char *p = (const char *)res->body, *end = p + res->body_len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        crow_probe_report_line_t l;
        if (crow_probe_report_line_decode(p, len, &l) == 0) {
            if (l.kind == CROW_PROBE_REPORT_LINE_RECEIVER && s->phase == JOINING)
                add_receiver(s, &l);
            else if (l.kind == CROW_PROBE_REPORT_LINE_REPORT && s->phase == COLLECTING)
                add_report(s, &l);
        }
        p += len + 1;
    }
    poll_later(s);
}

static void ask_results(struct sender *s)
{
    char target[320];
    snprintf(target, sizeof target, "%s/probe/results?run=%u&step=%u", s->tracker.path, s->run, s->step);
    if (crow_http_client_get(s->http, &s->tracker, s->cfg->iface, target, 3))
        poll_later(s);
}

static void finish(struct sender *s, int result)
{
    s->phase = DONE;
    s->result = result;
    crow_loop_stop(s->loop, 1);
}

static void on_step_sent(void *ctx, int result)
{
    struct sender *s = ctx;
    struct crow_mcast_stream_stats st;
    crow_mcast_stream_get_stats(s->mcast, &st);
    crow_probe_step_t *ps = &s->t->steps[s->step];
    double secs = (double)(st.finished_ns - st.started_ns) / 1e9;
    ps->sent = st.engine.data;
    ps->achieved_bps = secs > 0 ? (uint64_t)((double)st.engine.wire_bytes * 8 / secs) : ps->rate_bps;
    if (result < 0 || st.send_errors)
        crow_log_warn("step %u: %llu send errors (%s)", s->step, (unsigned long long)st.send_errors,
                      crow_strerror(result));
    if (ps->achieved_bps < ps->rate_bps * 9 / 10) {
        char a[32], b[32];
        crow_log_warn("step %u: the sender managed only %s of %s", s->step,
                      crow_format_rate((double)ps->achieved_bps, a, sizeof a),
                      crow_format_rate((double)ps->rate_bps, b, sizeof b));
    }
    s->phase = COLLECTING;
    s->phase_started_ns = crow_loop_update_now(s->loop);
    /* mcast_stream frees itself once its sends completed; on_done fired after the last one went out. */
    crow_mcast_stream_stop(s->mcast);
    s->mcast = NULL;
}

static void start_step(struct sender *s)
{
    const struct crow_probe_send_config *cfg = s->cfg;
    crow_probe_step_t *ps = &s->t->steps[s->step];
    ps->rate_bps = s->ladder[s->step];
    ps->wire_bytes = CROW_DGRAM_HEADER_LEN + cfg->chunk_size + CROW_MCAST_IPV4_UDP_OVERHEAD;
    s->t->nsteps = s->step + 1;
    uint64_t bytes =
        crow_probe_step_bytes(ps->rate_bps, cfg->step_time, cfg->chunk_size, CROW_MCAST_IPV4_UDP_OVERHEAD);
    crow_probe_manifest(&s->m, s->run, (uint16_t)s->step, bytes, cfg->chunk_size);
    struct crow_mcast_stream_config mc = {
        .groups = s->groups,
        .group_count = s->ngroups,
        .iface = cfg->iface,
        .ttl = cfg->ttl,
        .loop = cfg->mcast_loop,
        .rate_bps = ps->rate_bps,
        .passes = 1,
        .beacon_interval_ns = 50 * 1000000ull,
    };
    s->phase = SENDING;
    int ret = crow_mcast_stream_start(&s->mcast, s->loop, NULL, &s->m, &mc, on_step_sent, s);
    if (ret) {
        fprintf(stderr, "crowcast probe send: cannot send: %s\n", crow_strerror(ret));
        finish(s, 3);
    }
}

static void next_step(struct sender *s)
{
    if (s->step + 1 >= s->nladder || crow_probe_verdict_all_failed(s->t)) {
        finish(s, 0);
        return;
    }
    s->step++;
    start_step(s);
}

static void on_timer(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    struct sender *s = op->owner;
    if (res == -ECANCELED || crow_loop_stopping(s->loop))
        return;
    uint64_t now = crow_loop_now(s->loop);
    double waited = (double)(now - s->phase_started_ns) / 1e9;
    const struct crow_probe_send_config *cfg = s->cfg;
    if (s->phase == JOINING) {
        bool enough =
            cfg->receivers ? s->t->nhosts >= cfg->receivers : s->t->nhosts > 0 && waited >= cfg->join_wait;
        if (enough) {
            crow_log_info("%u receivers in %u racks, %u groups: stepping from %llu to %llu bit/s",
                          s->t->nhosts, s->t->nracks, s->ngroups, (unsigned long long)cfg->from_bps,
                          (unsigned long long)cfg->to_bps);
            s->step = 0;
            start_step(s);
            poll_later(s);
            return;
        }
        if (waited >= cfg->join_wait && (cfg->receivers || waited >= cfg->join_wait * 2)) {
            fprintf(stderr, "crowcast probe send: %u of %u receivers joined within %.0f s\n", s->t->nhosts,
                    cfg->receivers, cfg->join_wait);
            finish(s, 1);
            return;
        }
    } else if (s->phase == COLLECTING) {
        if (reported(s) == s->t->nhosts || waited >= cfg->report_wait) {
            if (reported(s) < s->t->nhosts)
                crow_log_warn("step %u: %u of %u receivers reported", s->step, reported(s), s->t->nhosts);
            next_step(s);
            if (s->phase == DONE)
                return;
        }
    }
    if (s->phase == SENDING)
        poll_later(s);
    else
        ask_results(s);
}

static void on_signal(void *ctx, int signo)
{
    struct sender *s = ctx;
    crow_log_info("signal %d: stopping", signo);
    finish(s, 1);
}

int crow_probe_send_run(const struct crow_probe_send_config *cfg)
{
    struct sender s = {.cfg = cfg, .result = 3};
    if (crow_http_client_parse_server(cfg->tracker, &s.tracker)) {
        fprintf(stderr, "crowcast probe send: --tracker wants http[s]://A.B.C.D:PORT, not '%s'\n",
                cfg->tracker);
        return 2;
    }
    s.nladder = crow_probe_ladder(cfg->from_bps, cfg->to_bps, cfg->factor, s.ladder, CROW_PROBE_MAX_STEPS);
    if (s.nladder == 0) {
        fprintf(stderr, "crowcast probe send: no rates between --from and --to\n");
        return 2;
    }
    s.t = calloc(1, sizeof *s.t);
    if (!s.t)
        return 3;
    s.t->loss_ppm = cfg->loss_ppm;
    uint64_t wall = crow_clock_wall_ns();
    s.run = (uint16_t)((wall % 1000000000u) ^ (wall / 1000000000u) ^ (uint64_t)getpid());
    int ret = crow_loop_new(&s.loop, 512);
    if (ret) {
        fprintf(stderr, "crowcast probe send: io_uring: %s\n", crow_strerror(ret));
        goto out;
    }
    if ((ret = crow_http_client_new(&s.http, s.loop, RESPONSE_MAX, on_results, &s)))
        goto out;
    static const int sigs[] = {SIGINT, SIGTERM};
    crow_signals_watch(s.loop, &s.signals, sigs, 2, on_signal, &s);
    crow_op_init(&s.timer, on_timer, &s);
    s.phase = JOINING;
    s.phase_started_ns = crow_loop_update_now(s.loop);
    ask_results(&s);
    crow_loop_run(s.loop);
    if (s.result == 0)
        s.result = crow_probe_print(s.t, s.run, cfg->json) ? 0 : 1;
out:
    crow_mcast_stream_stop(s.mcast);
    crow_http_client_free(s.http);
    crow_signals_close(s.loop, s.signals);
    if (s.loop) {
        crow_io_cancel(s.loop, &s.timer);
        crow_loop_drain(s.loop, 2000000000ull);
        crow_loop_free(s.loop);
    }
    free(s.t);
    return s.result;
}
