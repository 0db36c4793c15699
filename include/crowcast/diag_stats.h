/* Multicast accounting for crowcast-diag, sans I/O: captured frames in, per-stream counters out.
 *
 * A *stream* is what one receiving host saw of one sender's datagrams to one group for one session:
 * key (host, sender IP:port, group IP:port, session). Sequence numbers are per sender (datagram.h),
 * so loss, reordering and duplicates are judged per stream; sessions, senders, groups and hosts are
 * sums of their streams (crow_diag_stats_aggregate).
 *
 * The *host* is where a copy was captured: the capture source (one file or interface, numbered by
 * the caller), the interface index a Linux cooked v2 capture records (`-i any` on a bridge host sees
 * each bridge port, i.e. each downstream host, as its own interface) and the direction (a copy
 * leaving an interface is the sender's side of that link, not a receiver's). On a plain Ethernet
 * capture of a bridge the frame is seen once whatever the number of receivers, and a multicast
 * frame's destination MAC names the group, not a host: capture per port (-i any) or per host.
 *
 * Loss: a stream expects every sequence number from the lowest to the highest it saw; lost =
 * expected - distinct numbers seen. A number at or below the highest seen arrives *reordered* when it
 * is new, a *duplicate* when it was already seen; the window that remembers which numbers were seen
 * is CROW_DIAG_STATS_WINDOW numbers deep, and an arrival older than that counts as reordered (a duplicate
 * that late is far rarer than a straggler).
 *
 * A UDP packet may hold several datagrams back to back: a UDP GSO send captured on the sending host
 * (or on loopback) before the kernel split it. Each datagram's own length field delimits it.
 *
 * A DATA datagram whose capture was cut by the snaplen still counts (its 32-byte header holds all
 * the accounting needs); a cut BEACON or END is counted in `dgram_cut` and otherwise ignored.
 *
 * Memory: crow_diag_stats_init allocates every table at its configured bound; crow_diag_stats_feed never
 * allocates. Streams beyond the bound are counted in `streams_dropped`.
 */
#ifndef CROWCAST_DIAG_STATS_H
#define CROWCAST_DIAG_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/datagram.h"
#include "crowcast/diag_flows.h"
#include "crowcast/netframe.h"

#define CROW_DIAG_STATS_WINDOW 4096u /* sequence numbers remembered per stream, multiple of 64 */

typedef struct crow_diag_stats_key {
    uint64_t session;
    uint32_t src_ip, dst_ip; /* host byte order */
    uint16_t src_port, dst_port;
    uint16_t source; /* capture source number given to crow_diag_stats_feed */
    int32_t ifindex; /* SLL2 interface index, 0 otherwise */
    bool outgoing;   /* SLL/SLL2 said the frame was leaving the interface */
} crow_diag_stats_key_t;

typedef struct crow_diag_stats_counts {
    uint64_t datagrams; /* decoded, duplicates included */
    uint64_t bytes;     /* UDP payload bytes on the wire, duplicates included */
    uint64_t data, beacons, ends;
    uint64_t expected;   /* sequence numbers from the lowest to the highest seen */
    uint64_t distinct;   /* distinct sequence numbers seen */
    uint64_t duplicates; /* copies of a number already seen */
    uint64_t reordered;  /* new numbers that arrived after a higher one */
    double first_ts, last_ts;
} crow_diag_stats_counts_t;

/* Lost datagrams of a count: expected - distinct (never negative). */
static inline uint64_t crow_diag_stats_lost(const crow_diag_stats_counts_t *c)
{
    return c->expected > c->distinct ? c->expected - c->distinct : 0;
}

typedef struct crow_diag_stats_stream {
    crow_diag_stats_key_t key;
    crow_diag_stats_counts_t c;
    bool beacon_seen, end_seen, final_seen;
    crow_dgram_beacon_t beacon; /* the last BEACON seen */
    uint64_t min_seq, max_seq;
    uint64_t
        seen[CROW_DIAG_STATS_WINDOW / 64]; /* bit (seq % WINDOW) for seq in (max_seq - WINDOW, max_seq] */
} crow_diag_stats_stream_t;

/* Frames that were not crowcast datagrams or could not be accounted, by reason. */
typedef struct crow_diag_stats_totals {
    uint64_t frames;
    uint64_t frame_status[CROW_NF_COUNT_]; /* crow_netframe_parse's verdicts */
    uint64_t udp;                          /* UDP packets (whole or cut) */
    uint64_t udp_other;                    /* UDP payloads that are not crowcast datagrams */
    uint64_t dgram_cut;                    /* crowcast-looking datagrams cut too short to account */
    uint64_t gso_packets;     /* UDP packets holding several datagrams (GSO before segmentation) */
    uint64_t gso_tail_bad;    /* such packets whose later bytes were not a datagram */
    uint64_t tcp;             /* TCP segments */
    uint64_t streams_dropped; /* datagrams of streams past max_streams */
} crow_diag_stats_totals_t;

typedef struct crow_diag_stats_config {
    uint32_t max_streams; /* 0: 4096 */
    crow_diag_flows_config_t flows;
} crow_diag_stats_config_t;

typedef struct crow_diag_stats {
    crow_diag_stats_config_t cfg;
    crow_diag_stats_totals_t totals;
    crow_diag_stats_stream_t *streams; /* [0, stream_count): read-only for callers */
    uint32_t stream_count;
    uint32_t *slots; /* open-addressing index of streams: stream number + 1, 0 when empty */
    uint32_t slot_mask;
    uint8_t *scratch; /* CROW_DGRAM_HEADER_LEN + CROW_DGRAM_MAX_PAYLOAD: rebuilds cut DATA datagrams */
    crow_diag_flows_t flows;
} crow_diag_stats_t;

/* Allocates the tables (cfg may be NULL: defaults). Returns 0 or -ENOMEM. */
int crow_diag_stats_init(crow_diag_stats_t *d, const crow_diag_stats_config_t *cfg);
void crow_diag_stats_dispose(crow_diag_stats_t *d);

/* Accounts one captured frame: link type, captured bytes, wire length, capture source number and
 * timestamp (seconds). UDP goes to the stream tables, TCP to the flow tracker. Never fails: what
 * cannot be used is counted in d->totals. */
void crow_diag_stats_feed(crow_diag_stats_t *d, int link, const uint8_t *buf, size_t caplen, size_t wirelen,
                          uint16_t source, double ts);

/* Views of the streams summed by one part of their key. */
enum crow_diag_stats_by {
    CROW_DIAG_STATS_BY_SESSION, /* key.session */
    CROW_DIAG_STATS_BY_SENDER,  /* key.src_ip, key.src_port */
    CROW_DIAG_STATS_BY_GROUP,   /* key.dst_ip, key.dst_port */
    CROW_DIAG_STATS_BY_HOST,    /* key.source, key.ifindex, key.outgoing */
};

typedef struct crow_diag_stats_agg {
    crow_diag_stats_key_t key; /* only the fields of the grouping are set */
    crow_diag_stats_counts_t c;
    uint32_t streams;
    bool beacon_seen, end_seen, final_seen;
    crow_dgram_beacon_t beacon; /* BY_SESSION: a BEACON of the session, when beacon_seen */
} crow_diag_stats_agg_t;

/* Writes one entry per distinct value of the grouping into out (in order of first appearance) and
 * returns how many; cap >= d->stream_count always suffices, entries past cap are left out. */
size_t crow_diag_stats_aggregate(const crow_diag_stats_t *d, enum crow_diag_stats_by by,
                                 crow_diag_stats_agg_t *out, size_t cap);

/* Sum over every stream (for the periodic line). */
void crow_diag_stats_sum(const crow_diag_stats_t *d, crow_diag_stats_counts_t *out);

#endif
