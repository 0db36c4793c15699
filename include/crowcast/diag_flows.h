/* TCP flows for crowcast-diag, sans I/O: peer-wire connections and tracker announces out of captured
 * TCP segments.
 *
 * A connection is tracked when one of its ports is a configured wire or tracker port, or (wire) when
 * a segment's payload starts with the 68-byte BitTorrent handshake. Each direction is reassembled into
 * an in-order byte stream by sequence number, kept simple and bounded: a retransmitted range is
 * skipped, a segment past the expected sequence number (a hole: lost in the capture or reordered) is
 * counted as a gap and the direction loses its message boundary. It finds one again only at the start
 * of a later segment that begins with something that parses as a message (a wire message whose
 * length fits its type, or "GET " toward a tracker); bytes in between are counted as unparsed.
 * A direction buffers at most CROW_DIAG_FLOW_BUF bytes: longer messages (PIECE blocks, big bitfields)
 * are read header-first and their bodies skipped, never buffered.
 *
 * Peer wire: messages by type per direction, piece-data bytes (counted when a PIECE header is read),
 * request->piece latency: a REQUEST (index, begin, length) waits in its direction's pending table
 * (bounded; the oldest is forgotten when full) until the PIECE with the same triple comes the other
 * way; the latency runs to the segment that carried the PIECE header. CANCEL removes a request.
 * Tracker: HTTP requests toward a tracker port; GET /announce is parsed (announce.h) and counted per
 * announcing peer (client IP and announced port) and event.
 */
#ifndef CROWCAST_DIAG_FLOWS_H
#define CROWCAST_DIAG_FLOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/announce.h"
#include "crowcast/netframe.h"

#define CROW_DIAG_FLOW_BUF      4096u /* bytes buffered per direction */
#define CROW_DIAG_PENDING       128u  /* outstanding requests remembered per direction */
#define CROW_DIAG_MAX_PORTS     16u   /* configured wire or tracker ports, each */
#define CROW_DIAG_MSG_HANDSHAKE 21u   /* msgs[] index of the handshake */
#define CROW_DIAG_MSG_KEEPALIVE 22u   /* msgs[] index of keep-alives */
#define CROW_DIAG_MSG_UNKNOWN   23u   /* msgs[] index of ids the codec does not know */
#define CROW_DIAG_MSG_SLOTS     24u   /* msgs[] indexes: message ids 0..20, then the three above */

enum crow_diag_conn_kind {
    CROW_DIAG_CONN_WIRE = 1,
    CROW_DIAG_CONN_TRACKER = 2,
};

typedef struct crow_diag_request {
    uint32_t index, begin, length;
    double ts;
} crow_diag_request_t;

/* One direction of a connection: what side[i] sent. */
typedef struct crow_diag_dir {
    uint64_t bytes; /* payload bytes in sequence (retransmissions not counted) */
    uint64_t msgs[CROW_DIAG_MSG_SLOTS];
    uint64_t piece_bytes;    /* block bytes announced by PIECE headers */
    uint64_t gaps;           /* holes in the sequence space */
    uint64_t retrans;        /* segments wholly below the expected sequence number */
    uint64_t errors;         /* messages the codec refused (boundary lost afterwards) */
    uint64_t unparsed_bytes; /* bytes seen while the message boundary was unknown */
    /* Requests this side sent, answered by the other side's PIECE messages. */
    uint64_t answered, unanswered_dropped;
    double lat_sum, lat_min, lat_max;
    /* reassembly state */
    uint8_t state; /* private: the flow tracker's direction state */
    uint32_t next_seq;
    uint32_t isn;  /* sequence number of the first segment (the SYN when seen) */
    uint64_t skip; /* body bytes of a long message still to pass over */
    uint32_t buf_len;
    uint32_t pending_count; /* pending[0, pending_count), in no order */
    crow_diag_request_t pending[CROW_DIAG_PENDING];
    uint8_t buf[CROW_DIAG_FLOW_BUF];
} crow_diag_dir_t;

typedef struct crow_diag_conn {
    uint8_t kind;    /* enum crow_diag_conn_kind */
    uint16_t source; /* the capture source and interface the connection is read from */
    int32_t ifindex;
    uint32_t ip[2]; /* side 0 sent the first segment seen (the client when the SYN was seen) */
    uint16_t port[2];
    bool handshake[2];                     /* wire: the side's handshake was decoded */
    uint8_t info_hash[CROW_INFO_HASH_LEN]; /* wire: from the first handshake seen */
    double first_ts, last_ts;
    crow_diag_dir_t dir[2];
} crow_diag_conn_t;

/* One announcing peer: the client's IP and the port it announced. */
typedef struct crow_diag_announcer {
    uint32_t ip;
    uint16_t port;
    uint64_t announces;
    uint64_t events[CROW_EVENT_PAUSED + 1]; /* by enum crow_announce_event */
    uint64_t left;                          /* the last announce's `left` */
    char rack[CROW_RACK_NAME_MAX + 1];      /* the last announce's rack, "" when none */
    double first_ts, last_ts;
} crow_diag_announcer_t;

typedef struct crow_diag_flows_config {
    uint16_t wire_ports[CROW_DIAG_MAX_PORTS];
    uint32_t wire_port_count;
    uint16_t tracker_ports[CROW_DIAG_MAX_PORTS];
    uint32_t tracker_port_count;
    bool no_handshake_detect; /* only configured ports make a wire connection */
    uint32_t max_conns;       /* 0: 256 */
    uint32_t max_announcers;  /* 0: 4096 */
} crow_diag_flows_config_t;

typedef struct crow_diag_flows {
    crow_diag_flows_config_t cfg;
    crow_diag_conn_t *conns; /* [0, conn_count): read-only for callers */
    uint32_t conn_count;
    uint32_t *conn_slots, conn_mask;
    crow_diag_announcer_t *announcers; /* [0, announcer_count) */
    uint32_t announcer_count;
    uint32_t *ann_slots, ann_mask;
    /* tracker requests */
    uint64_t http_requests, announces, scrapes, other_requests;
    uint64_t http_errors, announce_errors;
    uint64_t conns_dropped, announcers_dropped;
    uint64_t copies; /* segments of a tracked connection seen on another source or interface */
} crow_diag_flows_t;

/* Allocates the tables (cfg may be NULL: defaults, handshake detection on). Returns 0 or -ENOMEM. */
int crow_diag_flows_init(crow_diag_flows_t *f, const crow_diag_flows_config_t *cfg);
void crow_diag_flows_dispose(crow_diag_flows_t *f);

/* Accounts one decoded TCP segment (fr->proto == CROW_IPPROTO_TCP) captured at ts seconds from capture
 * source `source`. Only the captured payload bytes are used: a segment cut by the snaplen leaves a gap
 * after its captured part. A capture on several interfaces (-i any on a bridge) or several files holds
 * a segment once per place it was seen: a connection is read from the source and interface (SLL2
 * ifindex) it was first seen on, and its copies elsewhere are only counted in `copies`. */
void crow_diag_flows_feed(crow_diag_flows_t *f, const crow_netframe_t *fr, uint16_t source, double ts);

/* Requests answered by PIECE and the mean latency in seconds of a direction (0 when none). */
static inline double crow_diag_dir_latency(const crow_diag_dir_t *d)
{
    return d->answered ? d->lat_sum / (double)d->answered : 0.0;
}

#endif
