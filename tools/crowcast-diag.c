/* crowcast-diag: captures live or reads capture files with libpcap, feeds every frame to the sans-I/O
 * accounting (engine/diag_stats, engine/diag_flows) and prints what it found: a table or JSON, and a
 * periodic line. Only option parsing, libpcap and printing live here. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "crowcast/announce.h"
#include "crowcast/diag_stats.h"
#include "crowcast/error.h"
#include "crowcast/event.h"
#include "crowcast/json.h"
#include "crowcast/units.h"
#include "crowcast/wire.h"

#define MAX_FILES 64

enum { EXIT_OK = 0, EXIT_USAGE = 2, EXIT_CAPTURE = 3 };

typedef struct options {
    const char *iface;
    const char *files[MAX_FILES];
    int file_count;
    const char *filter;
    const char *write;
    double interval, duration;
    uint64_t count;
    int snaplen;
    bool json;
    crow_diag_stats_config_t cfg;
} options_t;

typedef struct run {
    options_t *opt;
    crow_diag_stats_t diag;
    pcap_t *pcap;
    pcap_dumper_t *dumper;
    int link;
    uint16_t source;
    double start_ts, prev_tick, next_tick, last_ts;
    bool started;
    crow_diag_stats_counts_t tick_prev;
    crow_diag_stats_agg_t *agg; /* max_streams entries: room for any view */
    uint64_t frames;
} run_t;

static volatile sig_atomic_t stop_requested;
static pcap_t *live_pcap;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    if (live_pcap)
        pcap_breakloop(live_pcap);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: crowcast-diag -i IFACE [--filter BPF] [--interval S] [-w FILE.pcap] [options]\n"
            "       crowcast-diag -r FILE.pcap [-r FILE2.pcap ...] [options]\n\n"
            "Decodes crowcast multicast datagrams, peer-wire connections and tracker announces in a\n"
            "capture and reports, per session, sender (source IP:port), group (destination IP:port)\n"
            "and receiving host: datagrams, bytes, rate, loss (sequence gaps), reordering, duplicates,\n"
            "BEACON/END seen; per peer-wire connection: messages by type, piece bytes, request->piece\n"
            "latency; per announcing peer: announces and events.\n\n"
            "A host is one capture source (each -r file, or the -i interface), split further by the\n"
            "interface index of a Linux cooked v2 capture (-i any) and by direction (copies leaving\n"
            "an interface are shown as 'out'). To compare receivers, capture on each host and pass\n"
            "every file, or capture with -i any on the host that bridges them.\n\n"
            "  -i, --interface IFACE  capture live (\"any\" records the interface of each frame)\n"
            "  -r, --read FILE        read a pcap/pcapng file; repeat for several hosts (max %d)\n"
            "  -f, --filter BPF       capture filter, e.g. 'udp port 5000 or tcp port 6881'\n"
            "  -w, --write FILE       live: also save the captured frames (pcap)\n"
            "      --interval S       print a line every S seconds of capture time\n"
            "      --duration S       live: stop after S seconds\n"
            "  -c, --count N          stop after N frames\n"
            "      --snaplen N        live: bytes kept per frame (default 262144; 96 keeps headers)\n"
            "      --wire-port N      a peer-wire TCP port (repeatable; handshakes are found anyway)\n"
            "      --tracker-port N   a tracker HTTP port whose GET /announce to count (repeatable)\n"
            "      --no-handshake-detect  only --wire-port connections are decoded\n"
            "      --max-streams N    streams tracked (default 4096); --max-flows N TCP connections (256)\n"
            "      --json             JSON lines: interval events, then one summary object\n"
            "  -h, --help             this text\n\n"
            "Exit status: 0 done, 2 bad usage, 3 the capture could not be opened or read.\n",
            MAX_FILES);
}

static int parse_port(const char *text, uint16_t *ports, uint32_t *count)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno || *end || v == 0 || v > 65535 || *count >= CROW_DIAG_MAX_PORTS)
        return CROW_EUSAGE;
    ports[(*count)++] = (uint16_t)v;
    return 0;
}

static int parse_u64(const char *text, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end || end == text || v == 0 || v > max)
        return CROW_EUSAGE;
    *out = v;
    return 0;
}

static int parse_options(int argc, char **argv, options_t *o)
{
    enum { O_INTERVAL = 256, O_DURATION, O_SNAPLEN, O_WIRE, O_TRACKER, O_NOHS, O_STREAMS, O_FLOWS, O_JSON };
    static const struct option longs[] = {
        {"interface", required_argument, NULL, 'i'},
        {"read", required_argument, NULL, 'r'},
        {"filter", required_argument, NULL, 'f'},
        {"write", required_argument, NULL, 'w'},
        {"count", required_argument, NULL, 'c'},
        {"interval", required_argument, NULL, O_INTERVAL},
        {"duration", required_argument, NULL, O_DURATION},
        {"snaplen", required_argument, NULL, O_SNAPLEN},
        {"wire-port", required_argument, NULL, O_WIRE},
        {"tracker-port", required_argument, NULL, O_TRACKER},
        {"no-handshake-detect", no_argument, NULL, O_NOHS},
        {"max-streams", required_argument, NULL, O_STREAMS},
        {"max-flows", required_argument, NULL, O_FLOWS},
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->snaplen = 262144;
    crow_diag_flows_config_t *fc = &o->cfg.flows;
    uint64_t v;
    int c;
    while ((c = getopt_long(argc, argv, "i:r:f:w:c:h", longs, NULL)) != -1) {
        int ret = 0;
        switch (c) {
        case 'i':
            o->iface = optarg;
            break;
        case 'r':
            if (o->file_count == MAX_FILES)
                ret = CROW_EUSAGE;
            else
                o->files[o->file_count++] = optarg;
            break;
        case 'f':
            o->filter = optarg;
            break;
        case 'w':
            o->write = optarg;
            break;
        case 'c':
            ret = parse_u64(optarg, UINT64_MAX, &o->count);
            break;
        case O_INTERVAL:
            ret = crow_parse_seconds(optarg, &o->interval);
            break;
        case O_DURATION:
            ret = crow_parse_seconds(optarg, &o->duration);
            break;
        case O_SNAPLEN:
            ret = parse_u64(optarg, 262144, &v);
            o->snaplen = (int)v;
            break;
        case O_WIRE:
            ret = parse_port(optarg, fc->wire_ports, &fc->wire_port_count);
            break;
        case O_TRACKER:
            ret = parse_port(optarg, fc->tracker_ports, &fc->tracker_port_count);
            break;
        case O_NOHS:
            fc->no_handshake_detect = true;
            break;
        case O_STREAMS:
            ret = parse_u64(optarg, 1u << 20, &v);
            o->cfg.max_streams = (uint32_t)v;
            break;
        case O_FLOWS:
            ret = parse_u64(optarg, 1u << 16, &v);
            fc->max_conns = (uint32_t)v;
            break;
        case O_JSON:
            o->json = true;
            break;
        case 'h':
            usage(stdout);
            exit(EXIT_OK);
        default:
            return CROW_EUSAGE;
        }
        if (ret) {
            fprintf(stderr, "crowcast-diag: invalid value for option %s: %s\n", argv[optind - 1], optarg);
            return CROW_EUSAGE;
        }
    }
    if (optind != argc || (!o->iface) == (o->file_count == 0)) {
        fprintf(stderr, "crowcast-diag: give either -i IFACE or -r FILE (see --help)\n");
        return CROW_EUSAGE;
    }
    if (o->write && !o->iface) {
        fprintf(stderr, "crowcast-diag: -w only saves a live capture\n");
        return CROW_EUSAGE;
    }
    return 0;
}

/* --- printing ----------------------------------------------------------------------------------- */

static const char *ip_port(uint32_t ip, uint16_t port, char *out, size_t cap)
{
    char dotted[16];
    crow_ipv4_format(ip, dotted);
    snprintf(out, cap, "%s:%u", dotted, port);
    return out;
}

/* "FILE", "IFACE", "any/if3(veth1)", with " out" for copies leaving an interface. */
static const char *host_label(const run_t *r, const crow_diag_stats_key_t *k, char *out, size_t cap)
{
    const options_t *o = r->opt;
    const char *src = o->iface ? o->iface : o->files[k->source];
    char ifname[IF_NAMESIZE + 8] = "";
    if (k->ifindex > 0) {
        char name[IF_NAMESIZE];
        /* The name is this machine's: only meaningful for a live capture. */
        if (o->iface && if_indextoname((unsigned)k->ifindex, name))
            snprintf(ifname, sizeof ifname, "(%s)", name);
        snprintf(out, cap, "%s/if%d%s%s", src, k->ifindex, ifname, k->outgoing ? " out" : "");
    } else {
        snprintf(out, cap, "%s%s", src, k->outgoing ? " out" : "");
    }
    return out;
}

static double loss_pct(const crow_diag_stats_counts_t *c)
{
    return c->expected ? 100.0 * (double)crow_diag_stats_lost(c) / (double)c->expected : 0.0;
}

static double rate_bps(const crow_diag_stats_counts_t *c)
{
    double span = c->last_ts - c->first_ts;
    return span > 0 ? 8.0 * (double)c->bytes / span : 0.0;
}

static const char *agg_label(const run_t *r, enum crow_diag_stats_by by, const crow_diag_stats_agg_t *a,
                             char *out, size_t cap)
{
    switch (by) {
    case CROW_DIAG_STATS_BY_SESSION:
        snprintf(out, cap, "%016" PRIx64, a->key.session);
        return out;
    case CROW_DIAG_STATS_BY_SENDER:
        return ip_port(a->key.src_ip, a->key.src_port, out, cap);
    case CROW_DIAG_STATS_BY_GROUP:
        return ip_port(a->key.dst_ip, a->key.dst_port, out, cap);
    default:
        return host_label(r, &a->key, out, cap);
    }
}

static const char *const by_names[] = {"sessions", "senders", "groups", "hosts"};
static const char *const key_names[] = {"session", "sender", "group", "host"};

static void print_table(const run_t *r, enum crow_diag_stats_by by, const crow_diag_stats_agg_t *a, size_t n)
{
    static const char *const titles[] = {"SESSION", "SENDER", "GROUP", "HOST"};
    printf("\n%-28s %9s %10s %8s %7s %6s %6s %8s %14s %s\n", titles[by], "datagrams", "bytes", "lost",
           "loss%", "dup", "reord", "seconds", "rate", "beacon/end");
    for (size_t i = 0; i < n; i++) {
        const crow_diag_stats_counts_t *c = &a[i].c;
        char label[96], size[32], rate[32];
        printf("%-28s %9" PRIu64 " %10s %8" PRIu64 " %6.2f%% %6" PRIu64 " %6" PRIu64 " %8.2f %14s %" PRIu64
               "/%" PRIu64 "%s\n",
               agg_label(r, by, &a[i], label, sizeof label), c->datagrams,
               crow_format_size(c->bytes, size, sizeof size), crow_diag_stats_lost(c), loss_pct(c),
               c->duplicates, c->reordered, c->last_ts - c->first_ts,
               crow_format_rate(rate_bps(c), rate, sizeof rate), c->beacons, c->ends,
               a[i].final_seen ? " final" : "");
    }
}

static const char *msg_name(uint32_t slot)
{
    switch (slot) {
    case CROW_DIAG_MSG_HANDSHAKE:
        return "handshake";
    case CROW_DIAG_MSG_KEEPALIVE:
        return "keep-alive";
    case CROW_DIAG_MSG_UNKNOWN:
        return "unknown";
    default:
        return crow_wire_type_name((enum crow_wire_type)slot);
    }
}

static void print_wire(const crow_diag_flows_t *f)
{
    bool any = false;
    for (uint32_t i = 0; i < f->conn_count; i++) {
        const crow_diag_conn_t *c = &f->conns[i];
        /* Connections that never carried a byte (refused, or only SYN/FIN) are left to --json. */
        if (c->kind != CROW_DIAG_CONN_WIRE || c->dir[0].bytes + c->dir[1].bytes == 0)
            continue;
        if (!any)
            printf("\nPEER WIRE (direction: bytes, piece bytes, requests answered, latency avg/max, gaps, "
                   "messages)\n");
        any = true;
        for (int s = 0; s < 2; s++) {
            const crow_diag_dir_t *d = &c->dir[s];
            char a[32], b[32], size[32], piece[32];
            printf("%21s -> %-21s %10s %10s %6" PRIu64 " %7.2f/%.2f ms %3" PRIu64 " ",
                   ip_port(c->ip[s], c->port[s], a, sizeof a),
                   ip_port(c->ip[1 - s], c->port[1 - s], b, sizeof b),
                   crow_format_size(d->bytes, size, sizeof size),
                   crow_format_size(d->piece_bytes, piece, sizeof piece), d->answered,
                   1e3 * crow_diag_dir_latency(d), 1e3 * d->lat_max, d->gaps);
            for (uint32_t m = 0; m < CROW_DIAG_MSG_SLOTS; m++)
                if (d->msgs[m])
                    printf(" %s:%" PRIu64, msg_name(m), d->msgs[m]);
            if (d->unparsed_bytes)
                printf(" unparsed:%" PRIu64, d->unparsed_bytes);
            printf("\n");
        }
    }
}

static const char *const event_names[] = {"none", "started", "stopped", "completed", "paused"};

static void print_tracker(const crow_diag_flows_t *f)
{
    if (f->http_requests == 0 && f->http_errors == 0)
        return;
    printf("\nTRACKER: %" PRIu64 " requests, %" PRIu64 " announces (%" PRIu64 " unparsable), %" PRIu64
           " scrapes, %" PRIu64 " other, %" PRIu64 " bad HTTP\n",
           f->http_requests, f->announces, f->announce_errors, f->scrapes, f->other_requests, f->http_errors);
    printf("%-21s %9s %7s %9s %7s %6s %12s %s\n", "peer", "announces", "started", "completed", "stopped",
           "none", "left", "rack");
    for (uint32_t i = 0; i < f->announcer_count; i++) {
        const crow_diag_announcer_t *a = &f->announcers[i];
        char peer[32];
        printf("%-21s %9" PRIu64 " %7" PRIu64 " %9" PRIu64 " %7" PRIu64 " %6" PRIu64 " %12" PRIu64 " %s\n",
               ip_port(a->ip, a->port, peer, sizeof peer), a->announces, a->events[CROW_EVENT_STARTED],
               a->events[CROW_EVENT_COMPLETED], a->events[CROW_EVENT_STOPPED], a->events[CROW_EVENT_NONE],
               a->left, a->rack);
    }
}

static void print_text(const run_t *r, crow_diag_stats_agg_t *agg)
{
    const crow_diag_stats_totals_t *t = &r->diag.totals;
    printf("frames %" PRIu64 ":", t->frames);
    for (int s = 0; s < CROW_NF_COUNT_; s++)
        if (t->frame_status[s])
            printf(" %s %" PRIu64, crow_netframe_status_name((enum crow_nf_status)s), t->frame_status[s]);
    printf("; udp %" PRIu64 " (not crowcast %" PRIu64 ", cut %" PRIu64 ", GSO batches %" PRIu64
           "), tcp %" PRIu64,
           t->udp, t->udp_other, t->dgram_cut, t->gso_packets, t->tcp);
    if (r->diag.flows.copies)
        printf(" (%" PRIu64 " copies from other interfaces)", r->diag.flows.copies);
    if (t->streams_dropped || r->diag.flows.conns_dropped)
        printf("; over limits: %" PRIu64 " datagrams, %" PRIu64 " connections", t->streams_dropped,
               r->diag.flows.conns_dropped);
    printf("\n");
    for (int by = CROW_DIAG_STATS_BY_SESSION; by <= CROW_DIAG_STATS_BY_HOST; by++) {
        size_t n =
            crow_diag_stats_aggregate(&r->diag, (enum crow_diag_stats_by)by, agg, r->diag.stream_count);
        if (n)
            print_table(r, (enum crow_diag_stats_by)by, agg, n);
    }
    print_wire(&r->diag.flows);
    print_tracker(&r->diag.flows);
}

static void json_counts(const crow_diag_stats_counts_t *c)
{
    printf("\"datagrams\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"data\":%" PRIu64 ",\"beacons\":%" PRIu64
           ",\"ends\":%" PRIu64 ",\"expected\":%" PRIu64 ",\"distinct\":%" PRIu64 ",\"lost\":%" PRIu64
           ",\"loss_pct\":%.4f,\"duplicates\":%" PRIu64 ",\"reordered\":%" PRIu64
           ",\"first_ts\":%.6f,\"last_ts\":%.6f,\"rate_bps\":%.0f",
           c->datagrams, c->bytes, c->data, c->beacons, c->ends, c->expected, c->distinct,
           crow_diag_stats_lost(c), loss_pct(c), c->duplicates, c->reordered, c->first_ts, c->last_ts,
           rate_bps(c));
}

static void json_str(const char *key, const char *value)
{
    printf("\"%s\":", key);
    crow_json_fput(stdout, value);
}

static void json_aggs(const run_t *r, enum crow_diag_stats_by by, crow_diag_stats_agg_t *agg)
{
    size_t n = crow_diag_stats_aggregate(&r->diag, by, agg, r->diag.stream_count);
    printf(",\"%s\":[", by_names[by]);
    for (size_t i = 0; i < n; i++) {
        char label[96];
        printf("%s{", i ? "," : "");
        json_str(key_names[by], agg_label(r, by, &agg[i], label, sizeof label));
        printf(",\"streams\":%u,\"beacon_seen\":%s,\"end_seen\":%s,\"final_seen\":%s,", agg[i].streams,
               agg[i].beacon_seen ? "true" : "false", agg[i].end_seen ? "true" : "false",
               agg[i].final_seen ? "true" : "false");
        if (by == CROW_DIAG_STATS_BY_SESSION && agg[i].beacon_seen)
            printf("\"beacon_rate_bps\":%" PRIu64 ",\"beacon_pieces\":%u,\"beacon_length\":%" PRIu64 ",",
                   agg[i].beacon.rate_bps, agg[i].beacon.piece_count, agg[i].beacon.total_length);
        json_counts(&agg[i].c);
        printf("}");
    }
    printf("]");
}

static void json_flows(const crow_diag_flows_t *f)
{
    printf(",\"wire\":[");
    bool first = true;
    for (uint32_t i = 0; i < f->conn_count; i++) {
        const crow_diag_conn_t *c = &f->conns[i];
        if (c->kind != CROW_DIAG_CONN_WIRE)
            continue;
        for (int s = 0; s < 2; s++) {
            const crow_diag_dir_t *d = &c->dir[s];
            char a[32], b[32];
            printf("%s{", first ? "" : ",");
            first = false;
            json_str("from", ip_port(c->ip[s], c->port[s], a, sizeof a));
            printf(",");
            json_str("to", ip_port(c->ip[1 - s], c->port[1 - s], b, sizeof b));
            printf(",\"handshake\":%s,\"bytes\":%" PRIu64 ",\"piece_bytes\":%" PRIu64 ",\"answered\":%" PRIu64
                   ",\"latency_avg_s\":%.6f,\"latency_max_s\":%.6f,\"gaps\":%" PRIu64 ",\"retrans\":%" PRIu64
                   ",\"errors\":%" PRIu64 ",\"unparsed_bytes\":%" PRIu64 ",\"messages\":{",
                   c->handshake[s] ? "true" : "false", d->bytes, d->piece_bytes, d->answered,
                   crow_diag_dir_latency(d), d->lat_max, d->gaps, d->retrans, d->errors, d->unparsed_bytes);
            bool firstm = true;
            for (uint32_t m = 0; m < CROW_DIAG_MSG_SLOTS; m++)
                if (d->msgs[m]) {
                    printf("%s\"%s\":%" PRIu64, firstm ? "" : ",", msg_name(m), d->msgs[m]);
                    firstm = false;
                }
            printf("}}");
        }
    }
    printf("],\"tracker\":{\"requests\":%" PRIu64 ",\"announces\":%" PRIu64 ",\"announce_errors\":%" PRIu64
           ",\"scrapes\":%" PRIu64 ",\"other\":%" PRIu64 ",\"http_errors\":%" PRIu64 ",\"peers\":[",
           f->http_requests, f->announces, f->announce_errors, f->scrapes, f->other_requests, f->http_errors);
    for (uint32_t i = 0; i < f->announcer_count; i++) {
        const crow_diag_announcer_t *a = &f->announcers[i];
        char peer[32];
        printf("%s{", i ? "," : "");
        json_str("peer", ip_port(a->ip, a->port, peer, sizeof peer));
        printf(",\"announces\":%" PRIu64, a->announces);
        for (int e = 0; e <= CROW_EVENT_PAUSED; e++)
            printf(",\"%s\":%" PRIu64, event_names[e], a->events[e]);
        printf(",\"left\":%" PRIu64 ",", a->left);
        json_str("rack", a->rack);
        printf("}");
    }
    printf("]}");
}

static void print_json(const run_t *r, crow_diag_stats_agg_t *agg)
{
    const crow_diag_stats_totals_t *t = &r->diag.totals;
    printf("{\"event\":\"summary\",\"frames\":%" PRIu64 ",\"frame_status\":{", t->frames);
    for (int s = 0; s < CROW_NF_COUNT_; s++)
        printf("%s\"%s\":%" PRIu64, s ? "," : "", crow_netframe_status_name((enum crow_nf_status)s),
               t->frame_status[s]);
    printf("},\"udp\":%" PRIu64 ",\"udp_other\":%" PRIu64 ",\"dgram_cut\":%" PRIu64
           ",\"gso_packets\":%" PRIu64 ",\"gso_tail_bad\":%" PRIu64 ",\"tcp\":%" PRIu64
           ",\"streams_dropped\":%" PRIu64 ",\"conns_dropped\":%" PRIu64 ",\"tcp_copies\":%" PRIu64,
           t->udp, t->udp_other, t->dgram_cut, t->gso_packets, t->gso_tail_bad, t->tcp, t->streams_dropped,
           r->diag.flows.conns_dropped, r->diag.flows.copies);
    crow_diag_stats_counts_t all;
    crow_diag_stats_sum(&r->diag, &all);
    printf(",\"total\":{");
    json_counts(&all);
    printf("}");
    for (int by = CROW_DIAG_STATS_BY_SESSION; by <= CROW_DIAG_STATS_BY_HOST; by++)
        json_aggs(r, (enum crow_diag_stats_by)by, agg);
    json_flows(&r->diag.flows);
    printf("}\n");
}

/* The periodic line: totals now and the rate since the previous line. */
static void print_tick(run_t *r, double now)
{
    crow_diag_stats_counts_t c;
    crow_diag_stats_sum(&r->diag, &c);
    double span = now - r->prev_tick;
    double bps = span > 0 ? 8.0 * (double)(c.bytes - r->tick_prev.bytes) / span : 0.0;
    uint64_t piece = 0;
    for (uint32_t i = 0; i < r->diag.flows.conn_count; i++)
        piece += r->diag.flows.conns[i].dir[0].piece_bytes + r->diag.flows.conns[i].dir[1].piece_bytes;
    /* The receiving host with the highest loss so far: the first place to look. */
    size_t hosts =
        crow_diag_stats_aggregate(&r->diag, CROW_DIAG_STATS_BY_HOST, r->agg, r->diag.cfg.max_streams);
    const crow_diag_stats_agg_t *worst = NULL;
    for (size_t i = 0; i < hosts; i++)
        if (crow_diag_stats_lost(&r->agg[i].c) > 0 &&
            (!worst || loss_pct(&r->agg[i].c) > loss_pct(&worst->c)))
            worst = &r->agg[i];
    char worst_label[96] = "";
    if (worst)
        host_label(r, &worst->key, worst_label, sizeof worst_label);
    if (r->opt->json) {
        char line[512];
        crow_event_writer_t w;
        crow_event_begin(&w, line, sizeof line, "interval");
        crow_event_num(&w, "t", now - r->start_ts);
        crow_event_u64(&w, "datagrams", c.datagrams);
        crow_event_u64(&w, "new_datagrams", c.datagrams - r->tick_prev.datagrams);
        crow_event_num(&w, "rate_bps", bps);
        crow_event_u64(&w, "lost", crow_diag_stats_lost(&c));
        crow_event_u64(&w, "duplicates", c.duplicates);
        crow_event_u64(&w, "reordered", c.reordered);
        crow_event_u64(&w, "piece_bytes", piece);
        crow_event_u64(&w, "announces", r->diag.flows.announces);
        if (worst) {
            crow_event_str(&w, "worst_host", worst_label);
            crow_event_num(&w, "worst_host_loss_pct", loss_pct(&worst->c));
        }
        if (crow_event_end(&w) > 0)
            fputs(line, stdout);
    } else {
        char rate[32], size[32];
        printf("[%7.1fs] datagrams %" PRIu64 " (+%" PRIu64 ", %s) lost %" PRIu64 " (%.2f%%) dup %" PRIu64
               " reord %" PRIu64 " | piece data %s | announces %" PRIu64,
               now - r->start_ts, c.datagrams, c.datagrams - r->tick_prev.datagrams,
               crow_format_rate(bps, rate, sizeof rate), crow_diag_stats_lost(&c), loss_pct(&c), c.duplicates,
               c.reordered, crow_format_size(piece, size, sizeof size), r->diag.flows.announces);
        if (worst)
            printf(" | worst %s %.2f%%", worst_label, loss_pct(&worst->c));
        printf("\n");
    }
    fflush(stdout);
    r->tick_prev = c;
}

/* Prints the lines due by `now` (capture time), one per interval; a jump of more than 100 intervals
 * (a damaged timestamp) gets a single line, not millions. A clock that goes back (the next file)
 * restarts them. */
static void ticks_until(run_t *r, double now)
{
    double iv = r->opt->interval;
    if (iv <= 0 || !r->started)
        return;
    if (now < r->next_tick - iv) {
        r->next_tick = now + iv;
        r->prev_tick = now;
    }
    if (now - r->next_tick > 100 * iv)
        r->next_tick = now;
    while (now >= r->next_tick) {
        print_tick(r, r->next_tick);
        r->prev_tick = r->next_tick;
        r->next_tick += iv;
    }
}

/* --- capture ------------------------------------------------------------------------------------ */

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    run_t *r = (run_t *)user;
    double ts = (double)h->ts.tv_sec + (double)h->ts.tv_usec / 1e6;
    if (!r->started) {
        r->started = true;
        r->start_ts = r->prev_tick = ts;
        r->next_tick = ts + r->opt->interval;
    }
    ticks_until(r, ts);
    r->last_ts = ts;
    if (r->dumper)
        pcap_dump((u_char *)r->dumper, h, bytes);
    crow_diag_stats_feed(&r->diag, r->link, bytes, h->caplen, h->len, r->source, ts);
    if (r->opt->count && ++r->frames >= r->opt->count) {
        stop_requested = 1;
        pcap_breakloop(r->pcap);
    }
}

static int apply_filter(run_t *r, const char *what)
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

static int read_file(run_t *r, uint16_t source)
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

static double wall_clock(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static int capture_live(run_t *r)
{
    char err[PCAP_ERRBUF_SIZE];
    const options_t *o = r->opt;
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
        ticks_until(r, now > r->last_ts ? now : r->last_ts);
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
    options_t opt;
    if (parse_options(argc, argv, &opt) != 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    run_t r;
    memset(&r, 0, sizeof r);
    r.opt = &opt;
    if (crow_diag_stats_init(&r.diag, &opt.cfg) != 0 ||
        !(r.agg = calloc(r.diag.cfg.max_streams, sizeof *r.agg))) {
        fprintf(stderr, "crowcast-diag: out of memory\n");
        return EXIT_CAPTURE;
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
            ticks_until(&r, r.last_ts);
        if (opt.json)
            print_json(&r, r.agg);
        else
            print_text(&r, r.agg);
    }
    free(r.agg);
    crow_diag_stats_dispose(&r.diag);
    return ret == 0 ? EXIT_OK : EXIT_CAPTURE;
}
