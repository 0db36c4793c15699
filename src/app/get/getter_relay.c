/* The rack relay (issue 15): a get the tracker names its relayed rack's relay streams each need
 * segment into the rack's group as soon as every piece of it verified, through the seeder's paced
 * sender (mcast_stream), while it goes on fetching over TCP. The decisions are crowcast/relay_plan.h's;
 * this is the glue. The stream's single pass waits (catching up) while segments are still to come and
 * closes once every one went out; the get stays up, after completing, until then. */
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/log.h"
#include "crowcast/units.h"
#include "getter_internal.h"

static void relay_more(struct getter *g);

static void on_relay_done(void *ctx, int result)
{
    struct getter *g = ctx;
    char a[32];
    struct crow_mcast_stream_stats st;
    crow_mcast_stream_get_stats(g->relay_stream, &st);
    if (result < 0)
        crow_log_warn("relay: the stream into the rack stopped: %s", crow_strerror(result));
    else
        crow_log_info("relay: streamed %s into the rack",
                      crow_format_size(st.engine.payload_bytes, a, sizeof a));
    g->relay_finished = true;
    if (g->completed && !g->hook_running && g->cfg->seed_time <= 0) {
        g->done = true;
        crow_loop_stop(g->loop, 1);
    }
}

static void on_relay_drained(void *ctx)
{
    struct getter *g = ctx;
    g->relay_waiting = true;
    relay_more(g);
}

/* Hands the segments verified since to a waiting stream, or closes its pass once all went. */
static void relay_more(struct getter *g)
{
    if (!g->relay_stream || !g->relay_waiting || g->relay_finished)
        return;
    crow_need_map_t segs;
    if (crow_relay_plan_take(&g->relay_plan, crow_piece_store_verified(g->store), &segs)) {
        g->relay_waiting = false;
        crow_mcast_stream_resend(g->relay_stream, &segs);
    } else if (crow_relay_plan_all_taken(&g->relay_plan)) {
        g->relay_waiting = false;
        crow_mcast_stream_close_pass(g->relay_stream);
    }
}

static void relay_start(struct getter *g)
{
    crow_need_map_t scope;
    if (g->relay_stream || !crow_relay_plan_take(&g->relay_plan, crow_piece_store_verified(g->store), &scope))
        return; /* a stream under way, or nothing verified whole yet: the next verified piece tries again */
    g->relay_group = (struct sockaddr_in){.sin_family = AF_INET,
                                          .sin_port = htons(g->relay_plan.port),
                                          .sin_addr.s_addr = htonl(g->relay_plan.group)};
    struct crow_mcast_stream_config mc = {
        .groups = &g->relay_group,
        .group_count = 1,
        .iface = g->cfg->iface,
        .ttl = 1,
        .loop = true, /* peers of the rack on this host (loopback tests) receive it too */
        .rate_bps = g->cfg->relay_rate,
        .passes = 1,
        .beacon_interval_ns = 200000000ull,
        .tcp_port = g->peers ? ntohs(crow_peers_listen_addr(g->peers)->sin_port) : 0,
        .window = 4,
        .scope = &scope,
        .key = g->keyed ? &g->key : NULL,
        .on_drained = on_relay_drained,
    };
    g->relay_waiting = false;
    g->relay_finished = false;
    int ret = crow_mcast_stream_start(&g->relay_stream, g->loop, g->store, &g->m, &mc, on_relay_done, g);
    if (ret) {
        crow_log_warn("relay: cannot stream into the rack: %s", crow_strerror(ret));
        g->relay_stream = NULL;
        g->relay_finished = true;
        return;
    }
    char a[32];
    crow_log_info("relay: streaming verified pieces into the rack's group at %s",
                  crow_format_rate((double)g->cfg->relay_rate, a, sizeof a));
}

void getter_relay_answer(struct getter *g, const crow_crowcast_info_t *cc)
{
    if (g->relay_plan.piece_count == 0)
        crow_relay_plan_init(&g->relay_plan, g->m.piece_count);
    switch (crow_relay_plan_answer(&g->relay_plan, cc)) {
    case CROW_RELAY_START:
        crow_log_info("relay: the tracker names this peer its rack's relay");
        getter_relay_stop(g);
        crow_relay_plan_restart(&g->relay_plan);
        relay_start(g);
        break;
    case CROW_RELAY_STOP:
        crow_log_info("relay: another peer relays for the rack now");
        getter_relay_stop(g);
        break;
    case CROW_RELAY_SAME:
        break;
    }
}

void getter_relay_verified(struct getter *g)
{
    if (!g->relay_plan.relay)
        return;
    if (!g->relay_stream)
        relay_start(g);
    else
        relay_more(g);
}

bool getter_relay_busy(const struct getter *g)
{
    return g->relay_stream && !g->relay_finished;
}

void getter_relay_stop(struct getter *g)
{
    if (!g->relay_stream)
        return;
    crow_mcast_stream_stop(g->relay_stream);
    g->relay_stream = NULL;
    g->relay_finished = true;
}
