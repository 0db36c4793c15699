/* crowcast-diag's multicast accounting: captured frames are decoded (netframe, datagram), keyed into
 * per-receiver streams and judged by sequence number; TCP segments go to the flow tracker. Every
 * table is allocated at init and bounded by the configuration. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/diag_stats.h"
#include "crowcast/error.h"
#include "crowcast/mix.h"

#define DEFAULT_MAX_STREAMS 4096u

static uint64_t key_hash(const crow_diag_stats_key_t *k)
{
    uint64_t h = crow_mix_bits(k->session);
    h = crow_mix_bits(h ^ ((uint64_t)k->src_ip << 32 | k->dst_ip));
    h = crow_mix_bits(h ^ ((uint64_t)k->src_port << 48 | (uint64_t)k->dst_port << 32 | k->source));
    return crow_mix_bits(h ^ ((uint64_t)(uint32_t)k->ifindex << 1 | k->outgoing));
}

static bool key_equal(const crow_diag_stats_key_t *a, const crow_diag_stats_key_t *b)
{
    return a->session == b->session && a->src_ip == b->src_ip && a->dst_ip == b->dst_ip &&
           a->src_port == b->src_port && a->dst_port == b->dst_port && a->source == b->source &&
           a->ifindex == b->ifindex && a->outgoing == b->outgoing;
}

int crow_diag_stats_init(crow_diag_stats_t *d, const crow_diag_stats_config_t *cfg)
{
    memset(d, 0, sizeof *d);
    if (cfg)
        d->cfg = *cfg;
    if (d->cfg.max_streams == 0)
        d->cfg.max_streams = DEFAULT_MAX_STREAMS;
    d->slot_mask = crow_mix_table_mask(d->cfg.max_streams);
    d->streams = calloc(d->cfg.max_streams, sizeof *d->streams);
    d->slots = calloc((size_t)d->slot_mask + 1, sizeof *d->slots);
    d->scratch = malloc(CROW_DGRAM_HEADER_LEN + CROW_DGRAM_MAX_PAYLOAD);
    if (!d->streams || !d->slots || !d->scratch || crow_diag_flows_init(&d->flows, &d->cfg.flows) != 0) {
        crow_diag_stats_dispose(d);
        return -ENOMEM;
    }
    return 0;
}

void crow_diag_stats_dispose(crow_diag_stats_t *d)
{
    crow_diag_flows_dispose(&d->flows);
    free(d->scratch);
    free(d->slots);
    free(d->streams);
    memset(d, 0, sizeof *d);
}

/* The stream of key k, created on first sight; NULL when the table is full. */
static crow_diag_stats_stream_t *stream_for(crow_diag_stats_t *d, const crow_diag_stats_key_t *k)
{
    uint32_t i = (uint32_t)key_hash(k) & d->slot_mask;
    for (;; i = (i + 1) & d->slot_mask) {
        uint32_t slot = d->slots[i];
        if (slot == 0)
            break;
        if (key_equal(&d->streams[slot - 1].key, k))
            return &d->streams[slot - 1];
    }
    if (d->stream_count == d->cfg.max_streams)
        return NULL;
    crow_diag_stats_stream_t *s = &d->streams[d->stream_count++];
    s->key = *k;
    d->slots[i] = d->stream_count;
    return s;
}

static bool seen_test(const crow_diag_stats_stream_t *s, uint64_t seq)
{
    uint64_t bit = seq % CROW_DIAG_STATS_WINDOW;
    return (s->seen[bit / 64] >> (bit % 64)) & 1u;
}

static void seen_set(crow_diag_stats_stream_t *s, uint64_t seq, bool on)
{
    uint64_t bit = seq % CROW_DIAG_STATS_WINDOW;
    if (on)
        s->seen[bit / 64] |= 1ull << (bit % 64);
    else
        s->seen[bit / 64] &= ~(1ull << (bit % 64));
}

static void track_seq(crow_diag_stats_stream_t *s, uint64_t seq)
{
    crow_diag_stats_counts_t *c = &s->c;
    if (c->distinct == 0) {
        s->min_seq = s->max_seq = seq;
    } else if (seq > s->max_seq) {
        /* Forget the numbers that slide out of the window: their bits now stand for the new ones. */
        if (seq - s->max_seq >= CROW_DIAG_STATS_WINDOW)
            memset(s->seen, 0, sizeof s->seen);
        else
            for (uint64_t q = s->max_seq + 1; q < seq; q++)
                seen_set(s, q, false);
        s->max_seq = seq;
    } else if (s->max_seq - seq < CROW_DIAG_STATS_WINDOW && seen_test(s, seq)) {
        c->duplicates++;
        return;
    } else {
        c->reordered++;
        if (seq < s->min_seq)
            s->min_seq = seq;
    }
    /* Past the window a bit would stand for a newer number: such a straggler is not remembered. */
    if (s->max_seq - seq < CROW_DIAG_STATS_WINDOW)
        seen_set(s, seq, true);
    c->distinct++;
    c->expected = s->max_seq - s->min_seq + 1;
}

/* Decodes the datagram at the start of p: `wire` bytes of the UDP payload are left on the wire,
 * `captured` of them in the capture. Its size comes from its own length field (a UDP GSO send
 * captured before segmentation holds several datagrams back to back) and must fit `wire`. A DATA
 * datagram cut by the snaplen is rebuilt in scratch with its declared length: the accounting needs
 * only its header. Returns the datagram's size, CROW_EPARSE (not crowcast) or CROW_ESPACE (looks like
 * crowcast but too cut to account). */
static long decode_at(crow_diag_stats_t *d, const uint8_t *p, size_t captured, size_t wire, crow_dgram_t *out)
{
    if (captured < CROW_DGRAM_HEADER_LEN) {
        bool magic = captured >= 2 && p[0] == (CROW_DGRAM_MAGIC >> 8) && p[1] == (CROW_DGRAM_MAGIC & 0xffu);
        return magic && wire >= CROW_DGRAM_HEADER_LEN ? CROW_ESPACE : CROW_EPARSE;
    }
    size_t size = CROW_DGRAM_HEADER_LEN + (size_t)(p[6] << 8 | p[7]);
    if (size > wire)
        return CROW_EPARSE;
    if (captured >= size)
        return crow_dgram_decode(p, size, out) == 0 ? (long)size : CROW_EPARSE;
    memcpy(d->scratch, p, captured);
    memset(d->scratch + captured, 0, size - captured);
    if (crow_dgram_decode(d->scratch, size, out) != 0)
        return CROW_EPARSE;
    return out->type == CROW_DGRAM_DATA ? (long)size : CROW_ESPACE;
}

static void account(crow_diag_stats_t *d, const crow_netframe_t *fr, const crow_dgram_t *dg, size_t size,
                    uint16_t source, double ts)
{
    crow_diag_stats_key_t k;
    memset(&k, 0, sizeof k);
    k.session = dg->session;
    k.src_ip = fr->src_ip;
    k.dst_ip = fr->dst_ip;
    k.src_port = fr->src_port;
    k.dst_port = fr->dst_port;
    k.source = source;
    k.ifindex = fr->ifindex;
    k.outgoing = fr->pkttype == CROW_SLL_OUTGOING;
    crow_diag_stats_stream_t *s = stream_for(d, &k);
    if (!s) {
        d->totals.streams_dropped++;
        return;
    }
    crow_diag_stats_counts_t *c = &s->c;
    if (c->datagrams == 0)
        c->first_ts = ts;
    c->last_ts = ts;
    c->datagrams++;
    c->bytes += size;
    switch (dg->type) {
    case CROW_DGRAM_DATA:
        c->data++;
        break;
    case CROW_DGRAM_BEACON:
        c->beacons++;
        s->beacon_seen = true;
        s->beacon = dg->beacon;
        break;
    default:
        c->ends++;
        s->end_seen = true;
        s->final_seen |= (dg->flags & CROW_DGRAM_F_FINAL) != 0;
        break;
    }
    track_seq(s, dg->seq);
}

static void feed_udp(crow_diag_stats_t *d, const crow_netframe_t *fr, uint16_t source, double ts)
{
    size_t off = 0;
    uint32_t count = 0;
    if (fr->wire_payload_len == 0)
        d->totals.udp_other++;
    while (off < fr->wire_payload_len) {
        crow_dgram_t dg;
        size_t captured = off < fr->payload_len ? fr->payload_len - off : 0;
        long size = decode_at(d, fr->payload + off, captured, fr->wire_payload_len - off, &dg);
        if (size == CROW_ESPACE) {
            d->totals.dgram_cut++;
            return;
        }
        if (size < 0) {
            if (count == 0)
                d->totals.udp_other++;
            else
                d->totals.gso_tail_bad++;
            return;
        }
        account(d, fr, &dg, (size_t)size, source, ts);
        off += (size_t)size;
        if (++count == 2)
            d->totals.gso_packets++;
    }
}

void crow_diag_stats_feed(crow_diag_stats_t *d, int link, const uint8_t *buf, size_t caplen, size_t wirelen,
                          uint16_t source, double ts)
{
    crow_netframe_t fr;
    enum crow_netframe_status st = crow_netframe_parse(link, buf, caplen, wirelen, &fr);
    d->totals.frames++;
    d->totals.frame_status[st]++;
    if (st != CROW_NF_OK)
        return;
    if (fr.proto == CROW_IPPROTO_UDP) {
        d->totals.udp++;
        feed_udp(d, &fr, source, ts);
    } else {
        d->totals.tcp++;
        crow_diag_flows_feed(&d->flows, &fr, source, ts);
    }
}

static crow_diag_stats_key_t group_key(const crow_diag_stats_key_t *k, enum crow_diag_stats_by by)
{
    crow_diag_stats_key_t g;
    memset(&g, 0, sizeof g);
    switch (by) {
    case CROW_DIAG_STATS_BY_SESSION:
        g.session = k->session;
        break;
    case CROW_DIAG_STATS_BY_SENDER:
        g.src_ip = k->src_ip;
        g.src_port = k->src_port;
        break;
    case CROW_DIAG_STATS_BY_GROUP:
        g.dst_ip = k->dst_ip;
        g.dst_port = k->dst_port;
        break;
    case CROW_DIAG_STATS_BY_HOST:
        g.source = k->source;
        g.ifindex = k->ifindex;
        g.outgoing = k->outgoing;
        break;
    }
    return g;
}

static void add_counts(crow_diag_stats_counts_t *to, const crow_diag_stats_counts_t *c)
{
    if (to->datagrams == 0 || c->first_ts < to->first_ts)
        to->first_ts = c->first_ts;
    if (to->datagrams == 0 || c->last_ts > to->last_ts)
        to->last_ts = c->last_ts;
    to->datagrams += c->datagrams;
    to->bytes += c->bytes;
    to->data += c->data;
    to->beacons += c->beacons;
    to->ends += c->ends;
    to->expected += c->expected;
    to->distinct += c->distinct;
    to->duplicates += c->duplicates;
    to->reordered += c->reordered;
}

size_t crow_diag_stats_aggregate(const crow_diag_stats_t *d, enum crow_diag_stats_by by,
                                 crow_diag_stats_agg_t *out, size_t cap)
{
    size_t n = 0;
    for (uint32_t i = 0; i < d->stream_count; i++) {
        const crow_diag_stats_stream_t *s = &d->streams[i];
        crow_diag_stats_key_t g = group_key(&s->key, by);
        size_t j = 0;
        while (j < n && !key_equal(&out[j].key, &g))
            j++;
        if (j == n) {
            if (n == cap)
                continue;
            memset(&out[n], 0, sizeof out[n]);
            out[n++].key = g;
        }
        crow_diag_stats_agg_t *a = &out[j];
        add_counts(&a->c, &s->c);
        a->streams++;
        if (s->beacon_seen) {
            a->beacon_seen = true;
            a->beacon = s->beacon;
        }
        a->end_seen |= s->end_seen;
        a->final_seen |= s->final_seen;
    }
    return n;
}

void crow_diag_stats_sum(const crow_diag_stats_t *d, crow_diag_stats_counts_t *out)
{
    memset(out, 0, sizeof *out);
    for (uint32_t i = 0; i < d->stream_count; i++)
        add_counts(out, &d->streams[i].c);
}
