/* crowcast-diag's JSON summary (diag.h): one object, the text report's tables as arrays. */
#include <inttypes.h>

#include "crowcast/event.h"
#include "crowcast/json.h"
#include "diag.h"

static const char *const by_names[] = {"sessions", "senders", "groups", "hosts"}; /* by crow_diag_stats_by */
static const char *const key_names[] = {"session", "sender", "group", "host"};
static const char *const event_names[] = {"none", "started", "stopped", "completed", "paused"};

static void json_counts(const crow_diag_stats_counts_t *c)
{
    printf("\"datagrams\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"data\":%" PRIu64 ",\"beacons\":%" PRIu64
           ",\"ends\":%" PRIu64 ",\"expected\":%" PRIu64 ",\"distinct\":%" PRIu64 ",\"lost\":%" PRIu64
           ",\"loss_pct\":%.4f,\"duplicates\":%" PRIu64 ",\"reordered\":%" PRIu64
           ",\"first_ts\":%.6f,\"last_ts\":%.6f,\"rate_bps\":%.0f",
           c->datagrams, c->bytes, c->data, c->beacons, c->ends, c->expected, c->distinct,
           crow_diag_stats_lost(c), diag_text_loss_pct(c), c->duplicates, c->reordered, c->first_ts,
           c->last_ts, diag_text_rate_bps(c));
}

static void json_str(const char *key, const char *value)
{
    printf("\"%s\":", key);
    crow_json_fput(stdout, value);
}

static void json_aggs(const diag_run_t *r, enum crow_diag_stats_by by, crow_diag_stats_agg_t *agg)
{
    size_t n = crow_diag_stats_aggregate(&r->diag, by, agg, r->diag.stream_count);
    printf(",\"%s\":[", by_names[by]);
    for (size_t i = 0; i < n; i++) {
        char label[96];
        printf("%s{", i ? "," : "");
        json_str(key_names[by], diag_text_agg_label(r, by, &agg[i], label, sizeof label));
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
            json_str("from", diag_text_ip_port(c->ip[s], c->port[s], a, sizeof a));
            printf(",");
            json_str("to", diag_text_ip_port(c->ip[1 - s], c->port[1 - s], b, sizeof b));
            printf(",\"handshake\":%s,\"bytes\":%" PRIu64 ",\"piece_bytes\":%" PRIu64 ",\"answered\":%" PRIu64
                   ",\"latency_avg_s\":%.6f,\"latency_max_s\":%.6f,\"gaps\":%" PRIu64 ",\"retrans\":%" PRIu64
                   ",\"errors\":%" PRIu64 ",\"unparsed_bytes\":%" PRIu64 ",\"messages\":{",
                   c->handshake[s] ? "true" : "false", d->bytes, d->piece_bytes, d->answered,
                   crow_diag_dir_latency(d), d->lat_max, d->gaps, d->retrans, d->errors, d->unparsed_bytes);
            bool firstm = true;
            for (uint32_t m = 0; m < CROW_DIAG_MSG_SLOTS; m++)
                if (d->msgs[m]) {
                    printf("%s\"%s\":%" PRIu64, firstm ? "" : ",", diag_text_msg_name(m), d->msgs[m]);
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
        json_str("peer", diag_text_ip_port(a->ip, a->port, peer, sizeof peer));
        printf(",\"announces\":%" PRIu64, a->announces);
        for (int e = 0; e <= CROW_EVENT_PAUSED; e++)
            printf(",\"%s\":%" PRIu64, event_names[e], a->events[e]);
        printf(",\"left\":%" PRIu64 ",", a->left);
        json_str("rack", a->rack);
        printf("}");
    }
    printf("]}");
}

void diag_json_print(const diag_run_t *r, crow_diag_stats_agg_t *agg)
{
    const crow_diag_stats_totals_t *t = &r->diag.totals;
    printf("{\"event\":\"summary\",\"frames\":%" PRIu64 ",\"frame_status\":{", t->frames);
    for (int s = 0; s < CROW_NF_COUNT_; s++)
        printf("%s\"%s\":%" PRIu64, s ? "," : "", crow_netframe_status_name((enum crow_netframe_status)s),
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
