/* crowcast-diag: captures live or reads capture files with libpcap, feeds every frame to the sans-I/O
 * accounting (engine/diag_stats, engine/diag_flows) and prints what it found: a table or JSON, and a
 * periodic line. This file is the capture (libpcap, live or from files) and main; diag.h lists the other
 * parts. */
#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/clock.h"
#include "crowcast/error.h"
#include "diag.h"

static volatile sig_atomic_t stop_requested;
static pcap_t *live_pcap;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    if (live_pcap)
        pcap_breakloop(live_pcap);
}

/* --- capture ------------------------------------------------------------------------------------ */

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    diag_run_t *r = (diag_run_t *)user;
    double ts = (double)h->ts.tv_sec + (double)h->ts.tv_usec / 1e6;
    if (!r->started) {
        r->started = true;
        r->start_ts = r->prev_tick = ts;
        r->next_tick = ts + r->opt->interval;
    }
    diag_tick_until(r, ts);
    r->last_ts = ts;
    if (r->dumper)
        pcap_dump((u_char *)r->dumper, h, bytes);
    crow_diag_stats_feed(&r->diag, r->link, bytes, h->caplen, h->len, r->source, ts);
    if (r->opt->count && ++r->frames >= r->opt->count) {
        stop_requested = 1;
        pcap_breakloop(r->pcap);
    }
}

static int apply_filter(diag_run_t *r, const char *what)
{
    if (!r->opt->filter)
        return 0;
    struct bpf_program prog;
    if (pcap_compile(r->pcap, &prog, r->opt->filter, 1, PCAP_NETMASK_UNKNOWN) != 0 ||
        pcap_setfilter(r->pcap, &prog) != 0) {
        fprintf(stderr, "crowcast-diag: %s: filter '%s': %s\n", what, r->opt->filter, pcap_geterr(r->pcap));
        return -1;
    }
    pcap_freecode(&prog);
    return 0;
}

static int read_file(diag_run_t *r, uint16_t source)
{
    char err[PCAP_ERRBUF_SIZE];
    const char *path = r->opt->files[source];
    r->pcap = pcap_open_offline(path, err);
    if (!r->pcap) {
        fprintf(stderr, "crowcast-diag: %s\n", err);
        return -1;
    }
    int ret = apply_filter(r, path);
    r->link = pcap_datalink(r->pcap);
    r->source = source;
    if (ret == 0 && pcap_loop(r->pcap, -1, on_packet, (u_char *)r) == PCAP_ERROR) {
        /* A file cut mid-record ends here: what came before it is still reported. */
        fprintf(stderr, "crowcast-diag: %s: %s (reporting the frames before it)\n", path,
                pcap_geterr(r->pcap));
    }
    pcap_close(r->pcap);
    r->pcap = NULL;
    return ret;
}

/* Seconds since the epoch, as pcap stamps its packets. */
static double wall_clock(void)
{
    return (double)crow_clock_wall_ns() / 1e9;
}

static int capture_live(diag_run_t *r)
{
    char err[PCAP_ERRBUF_SIZE];
    const diag_options_t *o = r->opt;
    int ret = -1;
    r->pcap = pcap_create(o->iface, err);
    if (!r->pcap) {
        fprintf(stderr, "crowcast-diag: %s\n", err);
        return -1;
    }
    pcap_set_snaplen(r->pcap, o->snaplen);
    pcap_set_promisc(r->pcap, 0);
    pcap_set_timeout(r->pcap, 100);
    if (pcap_activate(r->pcap) < 0) {
        fprintf(stderr, "crowcast-diag: %s: %s\n", o->iface, pcap_geterr(r->pcap));
        goto out;
    }
    /* Cooked v2 carries the interface index, which tells the hosts behind a bridge apart. */
    if (pcap_datalink(r->pcap) == DLT_LINUX_SLL)
        pcap_set_datalink(r->pcap, DLT_LINUX_SLL2);
    r->link = pcap_datalink(r->pcap);
    if (apply_filter(r, o->iface) != 0)
        goto out;
    if (o->write && !(r->dumper = pcap_dump_open(r->pcap, o->write))) {
        fprintf(stderr, "crowcast-diag: %s: %s\n", o->write, pcap_geterr(r->pcap));
        goto out;
    }
    /* Non-blocking reads behind our own poll: a blocking pcap_dispatch on Linux may wait for the
     * first packet without bound, and quiet links must still get their periodic line. */
    if (pcap_setnonblock(r->pcap, 1, err) != 0 || pcap_get_selectable_fd(r->pcap) < 0) {
        fprintf(stderr, "crowcast-diag: %s: cannot poll the capture: %s\n", o->iface, err);
        goto out;
    }
    live_pcap = r->pcap;
    struct pollfd pfd = {.fd = pcap_get_selectable_fd(r->pcap), .events = POLLIN};
    double t0 = wall_clock();
    while (!stop_requested) {
        poll(&pfd, 1, 100);
        if (pcap_dispatch(r->pcap, -1, on_packet, (u_char *)r) == PCAP_ERROR) {
            fprintf(stderr, "crowcast-diag: %s: %s\n", o->iface, pcap_geterr(r->pcap));
            goto out;
        }
        double now = wall_clock();
        if (!r->started) {
            r->started = true;
            r->start_ts = r->prev_tick = now;
            r->next_tick = now + o->interval;
        }
        /* Quiet links still get their line: live capture time is the wall clock. */
        diag_tick_until(r, now > r->last_ts ? now : r->last_ts);
        if (o->duration > 0 && now - t0 >= o->duration)
            break;
    }
    ret = 0;
out:
    live_pcap = NULL;
    if (r->dumper)
        pcap_dump_close(r->dumper);
    pcap_close(r->pcap);
    r->pcap = NULL;
    return ret;
}

int main(int argc, char **argv)
{
    diag_options_t opt;
    if (diag_options_parse(argc, argv, &opt) != 0) {
        diag_options_usage(stderr);
        return DIAG_EXIT_USAGE;
    }
    diag_run_t r;
    memset(&r, 0, sizeof r);
    r.opt = &opt;
    if (crow_diag_stats_init(&r.diag, &opt.cfg) != 0 ||
        !(r.agg = calloc(r.diag.cfg.max_streams, sizeof *r.agg))) {
        fprintf(stderr, "crowcast-diag: out of memory\n");
        return DIAG_EXIT_CAPTURE;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int ret = 0;
    if (opt.iface)
        ret = capture_live(&r);
    for (int i = 0; i < opt.file_count && ret == 0 && !stop_requested; i++)
        ret = read_file(&r, (uint16_t)i);
    if (ret == 0) {
        if (opt.interval > 0 && r.started)
            diag_tick_until(&r, r.last_ts);
        if (opt.json)
            diag_json_print(&r, r.agg);
        else
            diag_text_print(&r, r.agg);
    }
    free(r.agg);
    crow_diag_stats_dispose(&r.diag);
    return ret == 0 ? DIAG_EXIT_OK : DIAG_EXIT_CAPTURE;
}
