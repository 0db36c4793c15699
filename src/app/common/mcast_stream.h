/* The seeder's multicast stream: the sender engine's schedule, fed from the piece store with a
 * bounded read-ahead window, sent to every group through the loop (GSO bursts where available). */
#ifndef CROWCAST_APP_MCAST_STREAM_H
#define CROWCAST_APP_MCAST_STREAM_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "crowcast/dgram_auth.h"
#include "crowcast/loop.h"
#include "crowcast/mcast_sender.h"
#include "piece_store.h"

struct crow_mcast_stream_config {
    const struct sockaddr_in *groups;
    unsigned group_count;
    struct in_addr iface;
    int ttl;
    bool loop;
    uint64_t rate_bps;
    unsigned passes;
    uint64_t beacon_interval_ns;
    uint16_t tcp_port;
    unsigned window;              /* pieces read ahead (memory: window x piece length) */
    uint32_t first_piece;         /* the first pass starts at this piece and wraps around */
    const crow_need_map_t *scope; /* the passes send only the pieces of these need segments
                                 (crowcast/stream_need.h); NULL, or passes 0: every piece */
    const crow_dgram_key_t *key;  /* borrowed, outlives the stream; NULL: datagrams carry no tag */
    /* Catching up (crowcast/mcast_sender.h; needs passes >= 1): the last pass holds its final ENDs
     * once everything went out, and this fires (with the start's ctx); answer, then or later, with
     * crow_mcast_stream_resend or crow_mcast_stream_close_pass. NULL: the ENDs follow at once. */
    void (*on_drained)(void *ctx);
};

struct crow_mcast_stream_stats {
    crow_mcast_sender_stats_t engine;
    uint64_t send_errors;
    uint64_t started_ns, finished_ns;
    bool gso;
};

typedef struct crow_mcast_stream crow_mcast_stream_t;

/* Starts streaming every piece of the store in cfg->scope (all must be verified; NULL: zeros, for a
 * synthetic release). on_done fires once every pass
 * went out (or with a negative code on a fatal error). Returns 0 or a negative code. */
int crow_mcast_stream_start(crow_mcast_stream_t **out, crow_loop_t *loop, crow_piece_store_t *store,
                            const crow_manifest_t *m, const struct crow_mcast_stream_config *cfg,
                            void (*on_done)(void *ctx, int result), void *ctx);
void crow_mcast_stream_get_stats(const crow_mcast_stream_t *ms, struct crow_mcast_stream_stats *out);
/* Ends the pass under way at once (final ENDs), and the passes after it; on_done follows. */
void crow_mcast_stream_end_now(crow_mcast_stream_t *ms);
/* Catching up, once on_drained fired: sends the pieces of these need segments (crowcast/stream_need.h)
 * again before the final ENDs (on_drained fires again when they went out), or, with none new to
 * send, closes the pass. Returns the pieces it resends. Nothing happens at another time. */
uint32_t crow_mcast_stream_resend(crow_mcast_stream_t *ms, const crow_need_map_t *segs);
/* Catching up, once on_drained fired: the final ENDs go out now. */
void crow_mcast_stream_close_pass(crow_mcast_stream_t *ms);
/* The need segments (crowcast/stream_need.h) the current pass has sent whole. */
void crow_mcast_stream_segments_sent(const crow_mcast_stream_t *ms, crow_need_map_t *out);
/* Stops sending; the object is freed once no send or read is pending. */
void crow_mcast_stream_stop(crow_mcast_stream_t *ms);

#endif
