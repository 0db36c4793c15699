/* `get --metrics FILE`: the peer's counters and state as Prometheus text (node_exporter's textfile
 * collector convention), rewritten every few seconds and at exit (metrics_file.h). */
#include <string.h>

#include "crowcast/peer_policy.h"
#include "crowcast/prom_text.h"
#include "getter_internal.h"

static const char *const states[] = {"waiting", "receiving", "repairing", "seeding", "done", "failed"};

static const char *state_of(const struct getter *g, bool final)
{
    if (final)
        return g->result == CROW_GET_OK ? "done" : "failed";
    if (g->completed)
        return "seeding";
    if (g->policy.wait == CROW_WAIT_STREAM)
        return "waiting";
    return g->policy.stream == CROW_STREAM_ALIVE ? "receiving" : "repairing";
}

static void one(crow_prom_text_writer_t *w, const char *name, const char *type, const char *help,
                double value)
{
    crow_prom_text_family(w, name, type, help);
    crow_prom_text_sample(w, name, NULL, NULL, NULL, NULL, value);
}

void getter_write_metrics(struct getter *g, bool final)
{
    uint64_t now = crow_loop_now(g->loop);
    if (!crow_metrics_file_due(&g->metrics, now, final))
        return;
    crow_prom_text_writer_t w;
    crow_prom_text_begin(&w, crow_metrics_file_buffer(&g->metrics), CROW_METRICS_MAX);
    char id[2 * CROW_SHA256_LEN + 1];
    crow_hex(g->m.release_id, CROW_SHA256_LEN, id);
    crow_prom_text_family(&w, "crowcast_get_info", "gauge", "The release this get fetches.");
    crow_prom_text_sample(&w, "crowcast_get_info", "release", g->m.name, "release_id", id, 1);
    crow_prom_text_family(&w, "crowcast_get_bytes_total", "counter",
                          "Release bytes received and stored, by path.");
    crow_prom_text_sample(&w, "crowcast_get_bytes_total", "via", "multicast", NULL, NULL,
                          (double)g->bytes_mcast);
    crow_prom_text_sample(&w, "crowcast_get_bytes_total", "via", "tcp", NULL, NULL, (double)g->bytes_tcp);
    one(&w, "crowcast_get_served_bytes_total", "counter", "Release bytes served to neighbours over TCP.",
        g->peers ? (double)crow_peers_bytes_served(g->peers) : 0);
    one(&w, "crowcast_get_datagrams_lost_total", "counter", "Multicast datagrams lost (sequence gaps).",
        (double)getter_datagrams_lost(g));
    one(&w, "crowcast_get_kernel_drops_total", "counter",
        "Datagrams the kernel dropped (receive buffer full).", (double)getter_kernel_drops(g));
    one(&w, "crowcast_get_datagrams_forged_total", "counter",
        "Datagrams of this release refused for a missing or wrong tag (--mcast-key).",
        (double)g->rx.stats.forged);
    struct crow_piece_store_stats ps;
    crow_piece_store_get_stats(g->store, &ps);
    one(&w, "crowcast_get_pieces_failed_total", "counter", "Pieces that failed SHA-256 verification.",
        (double)ps.pieces_failed);
    one(&w, "crowcast_get_pieces_verified", "gauge", "Pieces verified.",
        (double)crow_piece_store_verified(g->store)->count);
    one(&w, "crowcast_get_pieces", "gauge", "Pieces in the release.", (double)g->m.piece_count);
    const char *state = state_of(g, final);
    crow_prom_text_family(&w, "crowcast_get_state", "gauge", "1 for the state the get is in.");
    for (size_t i = 0; i < sizeof states / sizeof *states; i++)
        crow_prom_text_sample(&w, "crowcast_get_state", "state", states[i], NULL, NULL,
                              strcmp(states[i], state) == 0);
    one(&w, "crowcast_get_elapsed_seconds", "gauge", "Seconds since the get started.",
        (double)(now - g->started_ns) / 1e9);
    if (g->completed)
        one(&w, "crowcast_get_complete_seconds", "gauge", "Seconds from the start to the verified release.",
            (double)(g->completed_ns - g->started_ns) / 1e9);
    if (final)
        one(&w, "crowcast_get_exit_code", "gauge", "The exit status of the get.", g->result);
    crow_metrics_file_commit(&g->metrics, crow_prom_text_end(&w), now);
}
