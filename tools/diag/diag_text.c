/* crowcast-diag's text report, and the names both reports print (diag.h). */
#include <inttypes.h>
#include <net/if.h>

#include "crowcast/event.h"
#include "crowcast/ipv4.h"
#include "crowcast/units.h"
#include "crowcast/wire.h"
#include "diag.h"

const char *diag_text_ip_port(uint32_t ip, uint16_t port, char *out, size_t cap)
{
    char dotted[16];
    crow_ipv4_format(ip, dotted);
    snprintf(out, cap, "%s:%u", dotted, port);
    return out;
}

/* "FILE", "IFACE", "any/if3(veth1)", with " out" for copies leaving an interface. */
const char *diag_text_host_label(const diag_run_t *r, const crow_diag_stats_key_t *k, char *out, size_t cap)
{
    const diag_options_t *o = r->opt;
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

double diag_text_loss_pct(const crow_diag_stats_counts_t *c)
{
    return c->expected ? 100.0 * (double)crow_diag_stats_lost(c) / (double)c->expected : 0.0;
}

double diag_text_rate_bps(const crow_diag_stats_counts_t *c)
{
    double span = c->last_ts - c->first_ts;
    return span > 0 ? 8.0 * (double)c->bytes / span : 0.0;
}

const char *diag_text_agg_label(const diag_run_t *r, enum crow_diag_stats_by by,
                                const crow_diag_stats_agg_t *a, char *out, size_t cap)
{
    switch (by) {
    case CROW_DIAG_STATS_BY_SESSION:
        snprintf(out, cap, "%016" PRIx64, a->key.session);
        return out;
    case CROW_DIAG_STATS_BY_SENDER:
        return diag_text_ip_port(a->key.src_ip, a->key.src_port, out, cap);
    case CROW_DIAG_STATS_BY_GROUP:
        return diag_text_ip_port(a->key.dst_ip, a->key.dst_port, out, cap);
    default:
        return diag_text_host_label(r, &a->key, out, cap);
    }
}

static void print_table(const diag_run_t *r, enum crow_diag_stats_by by, const crow_diag_stats_agg_t *a,
                        size_t n)
{
    static const char *const titles[] = {"SESSION", "SENDER", "GROUP", "HOST"};
    printf("\n%-28s %9s %10s %8s %7s %6s %6s %8s %14s %s\n", titles[by], "datagrams", "bytes", "lost",
           "loss%", "dup", "reord", "seconds", "rate", "beacon/end");
    for (size_t i = 0; i < n; i++) {
        const crow_diag_stats_counts_t *c = &a[i].c;
        char label[96], size[32], rate[32];
        printf("%-28s %9" PRIu64 " %10s %8" PRIu64 " %6.2f%% %6" PRIu64 " %6" PRIu64 " %8.2f %14s %" PRIu64
               "/%" PRIu64 "%s\n",
               diag_text_agg_label(r, by, &a[i], label, sizeof label), c->datagrams,
               crow_format_size(c->bytes, size, sizeof size), crow_diag_stats_lost(c), diag_text_loss_pct(c),
               c->duplicates, c->reordered, c->last_ts - c->first_ts,
               crow_format_rate(diag_text_rate_bps(c), rate, sizeof rate), c->beacons, c->ends,
               a[i].final_seen ? " final" : "");
    }
}

const char *diag_text_msg_name(uint32_t slot)
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
                   diag_text_ip_port(c->ip[s], c->port[s], a, sizeof a),
                   diag_text_ip_port(c->ip[1 - s], c->port[1 - s], b, sizeof b),
                   crow_format_size(d->bytes, size, sizeof size),
                   crow_format_size(d->piece_bytes, piece, sizeof piece), d->answered,
                   1e3 * crow_diag_dir_latency(d), 1e3 * d->lat_max, d->gaps);
            for (uint32_t m = 0; m < CROW_DIAG_MSG_SLOTS; m++)
                if (d->msgs[m])
                    printf(" %s:%" PRIu64, diag_text_msg_name(m), d->msgs[m]);
            if (d->unparsed_bytes)
                printf(" unparsed:%" PRIu64, d->unparsed_bytes);
            printf("\n");
        }
    }
}

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
               diag_text_ip_port(a->ip, a->port, peer, sizeof peer), a->announces,
               a->events[CROW_EVENT_STARTED], a->events[CROW_EVENT_COMPLETED], a->events[CROW_EVENT_STOPPED],
               a->events[CROW_EVENT_NONE], a->left, a->rack);
    }
}

void diag_text_print(const diag_run_t *r, crow_diag_stats_agg_t *agg)
{
    const crow_diag_stats_totals_t *t = &r->diag.totals;
    printf("frames %" PRIu64 ":", t->frames);
    for (int s = 0; s < CROW_NF_COUNT_; s++)
        if (t->frame_status[s])
            printf(" %s %" PRIu64, crow_netframe_status_name((enum crow_netframe_status)s),
                   t->frame_status[s]);
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
