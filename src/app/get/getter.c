/* The peer role: staging (resume), multicast reception, piece store, progress, publish, hook.
 *
 * Data paths: multicast DATA -> receiver engine (tag check with a key, loss accounting, dedup) -> piece store
 * (assembly, SHA-256, io_uring writes). A verified piece is recorded in the staging area and in the receiver.
 * When every piece verified the release is published and the --on-complete hook runs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crowcast/clock.h"
#include "crowcast/error.h"
#include "crowcast/event.h"
#include "crowcast/getter.h"
#include "crowcast/log.h"
#include "crowcast/manifest_file.h"
#include "crowcast/mcast_receiver.h"
#include "crowcast/release_sig.h"
#include "crowcast/storage.h"
#include "crowcast/udp.h"
#include "crowcast/units.h"
#include "getter_internal.h"
#include "mcast_key.h"
#include "spawn.h"

#define TICK_NS 1000000000ull

static void emit(struct getter *g, crow_event_writer_t *w)
{
    long n = crow_event_end(w);
    if (n > 0 && g->cfg->json) {
        fwrite(w->buf, 1, (size_t)n, stdout);
        fflush(stdout);
    }
}

static void counters(struct getter *g, crow_event_writer_t *w)
{
    struct crow_piece_store_stats ps;
    crow_piece_store_get_stats(g->store, &ps);
    crow_event_num(w, "elapsed", (double)(crow_loop_now(g->loop) - g->started_ns) / 1e9);
    crow_event_u64(w, "verified", crow_piece_store_verified(g->store)->count);
    crow_event_u64(w, "pieces", g->m.piece_count);
    crow_event_u64(w, "bytes_mcast", g->bytes_mcast);
    crow_event_u64(w, "bytes_tcp", g->bytes_tcp);
    /* TCP blocks that came after their request was cancelled or expired (asked twice) */
    crow_picker_stats_t tcp = {0};
    if (g->picker)
        crow_picker_total_stats(g->picker, &tcp);
    crow_event_u64(w, "bytes_tcp_wasted", tcp.wasted);
    crow_event_u64(w, "tcp_timeouts", tcp.timeouts);
    crow_event_u64(w, "datagrams_lost", getter_datagrams_lost(g));
    crow_event_u64(w, "test_dropped", g->rx.stats.dropped_on_purpose);
    crow_event_u64(w, "kernel_drops", getter_kernel_drops(g));
    crow_event_u64(w, "pieces_failed", ps.pieces_failed);
    /* datagrams rejected: did not decode, another session, do not fit the manifest, too long */
    struct crow_udp_rx_stats us = {0};
    if (g->udp)
        crow_udp_rx_get_stats(g->udp, &us);
    crow_event_u64(w, "malformed", g->rx.stats.malformed);
    crow_event_u64(w, "foreign", g->rx.stats.foreign);
    /* refused without a valid tag (a key is set), chunks refused for a piece that failed its hash,
     * final ENDs that the stream's DATA contradicted */
    crow_event_u64(w, "forged", g->rx.stats.forged);
    crow_event_u64(w, "refused", g->rx.stats.refused);
    crow_event_u64(w, "ends_revoked", g->rx.stats.ends_revoked);
    crow_event_u64(w, "out_of_range", g->rx.stats.out_of_range);
    crow_event_u64(w, "truncated", us.truncated);
    crow_event_u64(w, "datagrams", us.datagrams); /* read whole from the socket (the bench's denominator) */
    crow_event_num(w, "cpu_loop_s", (double)crow_clock_thread_cpu_ns() / 1e9); /* the loop thread's CPU */
    crow_event_str(w, "stream", crow_stream_state_name(g->policy.stream));
    crow_event_str(w, "waiting", crow_peer_wait_name(g->policy.wait));
    crow_event_num(w, "waiting_s", (double)(crow_loop_now(g->loop) - g->policy.wait_since) / 1e9);
}

uint64_t getter_datagrams_lost(const struct getter *g)
{
    uint64_t lost = 0;
    for (size_t i = 0; i < crow_mcast_receiver_source_count(&g->rx); i++)
        lost += crow_mcast_source_lost(crow_mcast_receiver_sources(&g->rx, i));
    return lost;
}

uint64_t getter_kernel_drops(const struct getter *g)
{
    struct crow_udp_rx_stats st = {0};
    if (g->udp)
        crow_udp_rx_get_stats(g->udp, &st);
    return st.kernel_drops;
}

void getter_event_simple(struct getter *g, const char *name, const char *key, const char *value)
{
    char line[512];
    crow_event_writer_t w;
    crow_event_begin(&w, line, sizeof line, name);
    if (key)
        crow_event_str(&w, key, value);
    emit(g, &w);
}

/* What the peer waits for, in words; NULL when it waits for nothing. */
static const char *wait_text(const struct getter *g, char *buf, size_t cap)
{
    switch (g->policy.wait) {
    case CROW_WAIT_STREAM:
        return g->policy.source_known ? "the multicast stream (a source is known)"
                                      : "the multicast stream (no source known yet)";
    case CROW_WAIT_SOURCE:
        snprintf(buf, cap, "a source for %u piece(s) no connected peer has", g->needs.unserved);
        return buf;
    case CROW_WAIT_RACK:
        snprintf(buf, cap, "the rack's chain head to bring %u piece(s) nobody in the rack has",
                 g->needs.unserved);
        return buf;
    case CROW_WAIT_TRACKER:
        snprintf(buf, cap, "the tracker (%s)",
                 crow_announcer_problem(g->announcer)[0] ? crow_announcer_problem(g->announcer)
                                                         : "no answer");
        return buf;
    default:
        return NULL;
    }
}

static void print_progress(struct getter *g)
{
    char line[1024];
    crow_event_writer_t w;
    crow_event_begin(&w, line, sizeof line, "progress");
    counters(g, &w);
    emit(g, &w);
    if (!g->cfg->progress)
        return;
    uint32_t done = crow_piece_store_verified(g->store)->count;
    double secs = (double)(crow_loop_now(g->loop) - g->last_tick_ns) / 1e9;
    uint64_t bytes = g->bytes_mcast + g->bytes_tcp;
    double rate = secs > 0 ? (double)(bytes - g->last_tick_bytes) * 8 / secs : 0;
    g->last_tick_bytes = bytes;
    g->last_tick_ns = crow_loop_now(g->loop);
    char a[32], b[32], c[32], why[192];
    double left =
        (double)g->m.total_length * (1.0 - (double)done / (g->m.piece_count ? g->m.piece_count : 1));
    fprintf(stderr, "\r\033[K%u/%u pieces  %s  mcast %s  tcp %s  lost %llu  ETA %s", done, g->m.piece_count,
            crow_format_rate(rate, a, sizeof a), crow_format_size(g->bytes_mcast, b, sizeof b),
            crow_format_size(g->bytes_tcp, c, sizeof c), (unsigned long long)getter_datagrams_lost(g),
            rate > 0 ? (snprintf(line, sizeof line, "%.0f s", left * 8 / rate), line) : "-");
    const char *what = wait_text(g, why, sizeof why);
    if (what)
        fprintf(stderr, "  waiting %.0f s for %s",
                (double)(crow_loop_now(g->loop) - g->policy.wait_since) / 1e9, what);
}

/* ---- completion ---- */

/* Starts the --on-complete command; the tick collects its exit status without blocking the
 * loop, so neighbours keep being served while it runs. */
static void start_hook(struct getter *g, const char *path)
{
    char id[2 * CROW_SHA256_LEN + 1];
    crow_hex(g->m.release_id, CROW_SHA256_LEN, id);
    setenv("CROWCAST_RELEASE_PATH", path, 1);
    setenv("CROWCAST_RELEASE_ID", id, 1);
    setenv("CROWCAST_RELEASE_NAME", g->m.name, 1);
    char *argv[] = {"/bin/sh", "-c", (char *)g->cfg->on_complete, NULL};
    int ret = crow_spawn(&g->hook, argv, NULL, false);
    if (ret) {
        crow_log_error("--on-complete: cannot start /bin/sh: %s", crow_strerror(ret));
        getter_hook_done(g, 127);
        return;
    }
    g->hook_running = true;
}

void getter_hook_done(struct getter *g, int code)
{
    g->hook_running = false;
    char text[16];
    snprintf(text, sizeof text, "%d", code);
    getter_event_simple(g, "hook", "exit", text);
    getter_hook_reported(g, code);
    if (code) {
        crow_log_error("--on-complete exited with %d", code);
        g->result = CROW_GET_HOOK;
    } else {
        crow_log_info("--on-complete succeeded");
    }
}

static void complete(struct getter *g)
{
    if (g->completed)
        return;
    g->completed = true;
    g->completed_ns = crow_loop_update_now(g->loop);
    char why[256] = "";
    int ret = crow_staging_publish(g->staging, why, sizeof why);
    if (ret) {
        crow_log_error("publishing %s: %s", g->m.name, why[0] ? why : crow_strerror(ret));
        getter_event_simple(g, "error", "message", why[0] ? why : crow_strerror(ret));
        g->result = CROW_GET_IO;
        crow_loop_stop(g->loop, 1);
        return;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", g->cfg->outdir, g->m.name);
    if (g->cfg->progress)
        fputc('\n', stderr);
    char line[1024];
    crow_event_writer_t w;
    getter_emit_sources(g);
    crow_event_begin(&w, line, sizeof line, "complete");
    counters(g, &w);
    crow_event_str(&w, "path", path);
    emit(g, &w);
    char a[32], b[32];
    crow_log_info("verified and published %s in %.2f s (%s via multicast, %s via TCP, %llu datagrams lost)",
                  path, (double)(g->completed_ns - g->started_ns) / 1e9,
                  crow_format_size(g->bytes_mcast, a, sizeof a), crow_format_size(g->bytes_tcp, b, sizeof b),
                  (unsigned long long)getter_datagrams_lost(g));
    g->result = CROW_GET_OK;
    if (g->cfg->on_complete)
        start_hook(g, path);
    getter_after_complete(g);
}

static void on_verified(void *ctx, uint32_t piece)
{
    struct getter *g = ctx;
    crow_staging_mark_verified(g->staging, piece);
    crow_mcast_receiver_mark_verified(&g->rx, piece);
    crow_peer_policy_progress(&g->policy);
    getter_peers_have(g, piece);
    getter_relay_verified(g);
    if (crow_bitfield_full(crow_piece_store_verified(g->store)))
        complete(g);
}

static void on_failed(void *ctx, uint32_t piece)
{
    struct getter *g = ctx;
    bool mixed = crow_mcast_receiver_piece_chunks(&g->rx, piece) > 0;
    crow_mcast_receiver_mark_failed(&g->rx, piece);
    getter_peers_failed(g, piece, mixed);
}

static void on_disk_error(void *ctx, int err)
{
    struct getter *g = ctx;
    crow_log_error("disk: %s; nothing is published", crow_strerror(err));
    getter_event_simple(g, "error", "message", crow_strerror(err));
    g->result = CROW_GET_IO;
    crow_loop_stop(g->loop, 1);
}

/* ---- multicast ---- */

static void report_missing(struct getter *g)
{
    uint64_t cursor = 0, listed = 0;
    crow_mcast_range_t ranges[64];
    size_t n;
    uint64_t missing = crow_mcast_receiver_missing_chunks(&g->rx);
    crow_log_error("the multicast stream ended with %llu chunks missing:", (unsigned long long)missing);
    while ((n = crow_mcast_receiver_missing(&g->rx, g->m.piece_count, &cursor, ranges, 64)) > 0) {
        for (size_t i = 0; i < n; i++, listed++) {
            if (listed < 50 || crow_log_get_level() >= CROW_LOG_DEBUG)
                crow_log_error("  piece %u bytes %u..%u", ranges[i].piece, ranges[i].offset,
                               ranges[i].offset + ranges[i].length - 1);
            char line[256];
            crow_event_writer_t w;
            crow_event_begin(&w, line, sizeof line, "missing");
            crow_event_u64(&w, "piece", ranges[i].piece);
            crow_event_u64(&w, "offset", ranges[i].offset);
            crow_event_u64(&w, "length", ranges[i].length);
            emit(g, &w);
        }
    }
    if (listed > 50 && crow_log_get_level() < CROW_LOG_DEBUG)
        crow_log_error("  ... %llu ranges in all (--json lists every one)", (unsigned long long)listed);
    char line[1024];
    crow_event_writer_t w;
    crow_event_begin(&w, line, sizeof line, "incomplete");
    crow_event_u64(&w, "missing_chunks", missing);
    counters(g, &w);
    emit(g, &w);
}

static void on_datagram(void *ctx, const uint8_t *data, size_t len, const struct sockaddr_in *from)
{
    struct getter *g = ctx;
    uint64_t source = (uint64_t)ntohl(from->sin_addr.s_addr) << 16 | ntohs(from->sin_port);
    crow_mcast_rx_event_t ev;
    /* Whether a piece that failed may take the stream's chunks again: only with no one else to ask. */
    crow_mcast_receiver_set_repair(&g->rx, getter_has_tcp(g));
    int ret = crow_mcast_receiver_on_datagram(&g->rx, source, data, len, &ev);
    if (ret == CROW_EAUTH && g->rx.stats.forged == 1)
        crow_log_warn(
            "dropping multicast datagrams of this release without a valid tag from %s:%u (forged, or "
            "the seeder has another --mcast-key or none); the count is 'forged' in --json",
            inet_ntoa(from->sin_addr), ntohs(from->sin_port));
    if (ret != 0)
        return; /* junk, forged or another session's: it says nothing about our stream */
    if (ev.live && crow_peer_policy_datagram(&g->policy, crow_loop_now(g->loop))) {
        crow_log_info("the multicast stream is back: fetching over TCP only what it has passed");
        getter_event_simple(g, "stream", "state", "alive");
        getter_peers_frontier(g);
    }
    /* Only a tracker hears the report: without one `reported` never changes, and deciding again on
     * every datagram (crow_stream_need walks every piece) starved the receiver. */
    if (ev.live && g->tracker && crow_peer_policy_mcast_report(&g->policy) != g->policy.reported)
        getter_decide(g); /* the stream just reached us: the seeder hears it at once */
    switch (ev.kind) {
    case CROW_MCAST_RX_DATA: {
        /* The picker learns of the chunk before the store takes it: the put may complete the piece
         * and fail its hash at once (on_failed), and what it clears must stay cleared. */
        if (g->picker)
            crow_picker_mark(g->picker, ev.piece, ev.offset, ev.length);
        long taken = crow_piece_store_put(g->store, ev.piece, ev.offset, ev.payload, ev.length);
        if (taken > 0) {
            g->bytes_mcast += (uint64_t)taken;
        } else if (taken < 0) {
            /* The store could not take it: neither the receiver nor the picker may count it held. */
            crow_mcast_receiver_drop_piece(&g->rx, ev.piece);
            if (g->picker) {
                crow_picker_piece_failed(g->picker, ev.piece);
                crow_peers_kick(g->peers);
            }
        }
        if (ev.stream_resumed && crow_peer_policy_stream_resumed(&g->policy, crow_loop_now(g->loop))) {
            crow_log_warn("DATA of the stream goes on after its final END: that END was not the seeder's");
            getter_event_simple(g, "stream", "state", "resumed");
            getter_peers_frontier(g);
        }
        break;
    }
    case CROW_MCAST_RX_BEACON:
        getter_on_beacon(g, crow_mcast_receiver_beacon(&g->rx), from, ev.main_source);
        if (crow_mcast_receiver_catches_up(&g->rx) != g->catch_up_seen) {
            g->catch_up_seen = (int8_t)crow_mcast_receiver_catches_up(&g->rx);
            getter_peers_frontier(g); /* what it left to the stream may be asked for, or not */
        }
        break;
    case CROW_MCAST_RX_END:
        /* Several END copies close a pass: act on the first. With no chunk missing, the last
         * pieces are only still being hashed or written: completion follows. Without a TCP source
         * the tick gives up once the END has stood unchallenged (crow_peer_policy_stream_over). */
        if (ev.stream_done && !g->completed && g->policy.stream != CROW_STREAM_ENDED) {
            bool missing = crow_mcast_receiver_missing_chunks(&g->rx) > 0;
            crow_peer_policy_stream_ended(&g->policy, crow_loop_now(g->loop));
            if (missing && getter_has_tcp(g)) {
                getter_peers_frontier(g);
                getter_decide(g); /* repair time: fresh neighbours now, not at the next tick */
            }
        }
        break;
    default:
        break;
    }
    if (ev.kind == CROW_MCAST_RX_DATA && crow_mcast_receiver_frontier_offset(&g->rx) > g->frontier) {
        g->frontier = crow_mcast_receiver_frontier_offset(&g->rx);
        getter_peers_frontier(g);
    }
}

void getter_source_known(struct getter *g)
{
    crow_peer_policy_source_known(&g->policy, crow_loop_now(g->loop));
}

int getter_join(struct getter *g, const struct sockaddr_in *group)
{
    struct crow_udp_rx_config rc = {
        .group = *group,
        .iface = g->cfg->iface,
        .rcvbuf = 64 << 20,
        .buffers = 1024,
        .buffer_size = CROW_DGRAM_HEADER_LEN + g->m.chunk_size + 64,
        .gro = true, /* a run of datagrams per read: the socket read was a third of the receiver's CPU */
    };
    int ret = crow_udp_rx_open(g->loop, &g->udp, &rc, on_datagram, g);
    if (ret) {
        crow_log_warn("cannot join %s:%u on %s: %s; going on over TCP only", inet_ntoa(group->sin_addr),
                      ntohs(group->sin_port), inet_ntop(AF_INET, &g->cfg->iface, (char[16]){0}, 16),
                      crow_strerror(ret));
        return ret;
    }
    struct crow_udp_rx_stats st;
    crow_udp_rx_get_stats(g->udp, &st);
    char text[64];
    snprintf(text, sizeof text, "%s:%u", inet_ntoa(group->sin_addr), ntohs(group->sin_port));
    crow_log_info("joined %s (receive buffer %d KiB, %s%s)", text, st.rcvbuf / 1024,
                  st.multishot ? "multishot receive" : "recvmsg", st.gro ? ", UDP GRO" : "");
    crow_peer_policy_joined(&g->policy, crow_loop_now(g->loop));
    getter_event_simple(g, "joined", "group", text);
    return 0;
}

/* ---- ticks, signals ---- */

/* Runs the peer's decisions (crow_peer_policy) on what the picker sees now, and carries them out. */
void getter_decide(struct getter *g)
{
    uint64_t now = crow_loop_now(g->loop);
    if (!getter_has_tcp(g) && !g->completed && crow_peer_policy_stream_over(&g->policy, now) &&
        crow_mcast_receiver_missing_chunks(&g->rx) > 0) {
        report_missing(g);
        g->result = CROW_GET_INCOMPLETE;
        crow_loop_stop(g->loop, 1);
        return;
    }
    if (g->picker)
        crow_picker_needs(g->picker, &g->needs);
    enum crow_peer_wait was = g->policy.wait;
    crow_need_map_t need;
    getter_need(g, &need);
    crow_peer_policy_need(&g->policy, &need);
    crow_peer_actions_t act;
    crow_peer_policy_tick(&g->policy, now, g->picker ? &g->needs : NULL,
                          g->picker && crow_picker_chain_head(g->picker), &act);
    if (act.lead && g->picker) {
        crow_log_warn("the rack's chain head has brought nothing for %.0f s: fetching from outside the rack",
                      (double)CROW_PEER_RACK_LEAD_NS / 1e9);
        g->leading = true;
        crow_picker_set_chain_head(g->picker, true);
        getter_event_simple(g, "lead", "why", "the rack's chain head brings nothing");
        if (g->announcer) { /* the tracker lists a head's sources to a peer that leads */
            crow_announcer_set_lead(g->announcer, true);
            getter_announce(g, CROW_EVENT_NONE);
        }
    }
    if (act.went_silent) {
        if (g->policy.no_sender && !g->policy.ever_datagram)
            crow_log_info("the tracker lists no seeder still sending: fetching over TCP%s",
                          getter_has_tcp(g) ? "" : " (no TCP source: still waiting)");
        else
            crow_log_warn("no multicast datagram for %.1f s%s", (double)(now - g->policy.last_datagram) / 1e9,
                          getter_has_tcp(g) ? ": fetching over TCP until the stream comes back"
                                            : "; still waiting");
        getter_event_simple(g, "stream", "state", "silent");
        getter_peers_frontier(g);
    }
    if (g->policy.wait != was && !g->completed) {
        char buf[192];
        const char *what = wait_text(g, buf, sizeof buf);
        if (what)
            crow_log_info("waiting for %s", what);
        getter_event_simple(g, "waiting", "for", crow_peer_wait_name(g->policy.wait));
    }
    if (act.announce)
        getter_announce(g, CROW_EVENT_NONE);
    getter_wake_for_deadline(g);
}

static void on_soon(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    struct getter *g = op->owner;
    g->soon_armed = false;
    if (res == -ECANCELED || crow_loop_stopping(g->loop))
        return;
    getter_decide(g);
}

void getter_wake_for_deadline(struct getter *g)
{
    uint64_t now = crow_loop_now(g->loop), due = crow_peer_policy_next_deadline(&g->policy);
    if (g->soon_armed || due >= g->tick_at || crow_loop_stopping(g->loop))
        return;
    if (crow_io_timeout(g->loop, &g->soon, due > now ? due - now : 0) == 0)
        g->soon_armed = true;
}

static void on_tick(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    struct getter *g = op->owner;
    uint64_t now = crow_loop_now(g->loop);
    if (res == -ECANCELED || crow_loop_stopping(g->loop))
        return;
    if (g->cfg->test_exit_after > 0 && now - g->started_ns >= (uint64_t)(g->cfg->test_exit_after * 1e9)) {
        crow_log_warn("--test-exit-after: exiting abruptly");
        fflush(stdout);
        _exit(CROW_GET_INTERRUPTED);
    }
    getter_decide(g);
    /* The rest runs once a second; the decisions also at the engine's own deadline (a silence
     * clock of 1 s must not wait for the next whole second). */
    uint64_t period = g->cfg->test_exit_after > 0 ? TICK_NS / 10 : TICK_NS;
    if (now >= g->next_second_ns) {
        g->next_second_ns = now + period - period / 20;
        if (!g->completed)
            print_progress(g);
        if (g->hook_running && crow_child_poll(&g->hook))
            getter_hook_done(g, crow_child_code(&g->hook));
        getter_tick(g, now);
        getter_write_metrics(g, false);
    }
    uint64_t due = crow_peer_policy_next_deadline(&g->policy), wait = period;
    if (due > now && due - now < wait)
        wait = due - now < 1000000 ? 1000000 : due - now;
    g->tick_at = now + wait;
    crow_io_timeout(g->loop, &g->tick, wait);
}

static void on_signal(void *ctx, int signo)
{
    struct getter *g = ctx;
    crow_log_info("signal %d: stopping (the staging area is kept for a resume)", signo);
    if (!g->completed)
        g->result = CROW_GET_INTERRUPTED;
    crow_loop_stop(g->loop, 1);
}

/* ---- setup ---- */

/* mkdir -p: the output directory may be new. */
static int make_dirs(const char *path)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    return mkdir(tmp, 0755) && errno != EEXIST ? -errno : 0;
}

/* Takes what the previous release on disk already has, before anything is fetched. A previous
 * release that cannot be read costs nothing but a warning: the network has every piece. */
static int take_previous(struct getter *g)
{
    crow_manifest_t prev;
    char why[256];
    int ret = crow_manifest_file_load(g->cfg->previous, &prev, why, sizeof why);
    if (ret) {
        crow_log_warn("--previous %s: %s; fetching everything", g->cfg->previous, why);
        return 0;
    }
    uint64_t bytes;
    long taken = crow_staging_take(g->staging, &prev, g->cfg->previous_path, &bytes);
    crow_manifest_dispose(&prev);
    if (taken < 0) {
        fprintf(stderr, "crowcast get: copying from %s: %s\n", g->cfg->previous_path,
                crow_strerror((int)taken));
        return (int)taken;
    }
    char size[32];
    crow_log_info("took %ld of %u pieces (%s) from the previous release at %s", taken, g->m.piece_count,
                  crow_format_size(bytes, size, sizeof size), g->cfg->previous_path);
    char line[512];
    crow_event_writer_t w;
    crow_event_begin(&w, line, sizeof line, "previous");
    crow_event_u64(&w, "pieces", (uint64_t)taken);
    crow_event_u64(&w, "bytes", bytes);
    emit(g, &w);
    return 0;
}

static int open_staging(struct getter *g)
{
    int ret = make_dirs(g->cfg->outdir);
    if (ret) {
        fprintf(stderr, "crowcast get: cannot create %s: %s\n", g->cfg->outdir, crow_strerror(ret));
        return ret;
    }
    ret = crow_staging_open(&g->staging, &g->m, g->cfg->outdir);
    if (ret) {
        fprintf(stderr, "crowcast get: staging in %s: %s\n", g->cfg->outdir, crow_strerror(ret));
        return ret;
    }
    /* A staging area this run created holds only zeros: hashing it would cost ~1 s per GiB. */
    if (crow_staging_resumed(g->staging) && (ret = crow_staging_verify(g->staging, 0)))
        return ret;
    uint32_t have = crow_staging_verified(g->staging)->count;
    if (have)
        crow_log_info("resuming: %u of %u pieces already verified", have, g->m.piece_count);
    return g->cfg->previous ? take_previous(g) : 0;
}

int crow_getter_run(const struct crow_getter_config *cfg)
{
    struct getter g = {.cfg = cfg, .result = CROW_GET_IO, .swarm_incomplete = -1, .catch_up_seen = -1};
    char why[256] = "";
    int ret = crow_manifest_file_load(cfg->torrent, &g.m, why, sizeof why);
    if (ret) {
        fprintf(stderr, "crowcast get: %s: %s\n", cfg->torrent, why[0] ? why : crow_strerror(ret));
        return CROW_GET_USAGE;
    }
    /* Before anything leaves this host (an announce, a multicast join, a connection) or lands on
     * its disk (the staging area): a host that trusts keys runs only releases they signed. */
    if (cfg->trust && (ret = crow_release_verify(&g.m, cfg->trust, NULL, why, sizeof why))) {
        fprintf(stderr, "crowcast get: %s: refused: %s; nothing was fetched\n", cfg->torrent, why);
        char message[320];
        snprintf(message, sizeof message, "refused: %s", why);
        getter_event_simple(&g, "error", "message", message);
        crow_manifest_dispose(&g.m);
        return CROW_GET_UNTRUSTED;
    }
    if (getter_choose_trackers(&g)) {
        crow_manifest_dispose(&g.m);
        return CROW_GET_USAGE;
    }
    if ((ret = crow_mcast_receiver_init(&g.rx, &g.m)))
        goto out;
    const char *key_file = NULL;
    if ((ret = crow_mcast_key_open(&g.key, cfg->mcast_key, g.m.release_id, "get", &key_file)) < 0) {
        g.result = CROW_GET_USAGE;
        goto out;
    }
    if (ret == 1) {
        crow_mcast_receiver_set_key(&g.rx, &g.key);
        g.keyed = true;
        crow_log_info("multicast: only datagrams authenticated with the key from %s are taken", key_file);
    }
    crow_mcast_receiver_set_test_loss(&g.rx, cfg->test_loss_ppm, cfg->test_loss_seed);
    if ((ret = open_staging(&g)))
        goto out;
    if ((ret = crow_loop_new(&g.loop, 1024))) {
        fprintf(stderr, "crowcast get: io_uring: %s\n", crow_strerror(ret));
        goto out;
    }
    g.started_ns = g.last_tick_ns = crow_loop_update_now(g.loop);
    crow_metrics_file_init(&g.metrics, g.loop, cfg->metrics);
    crow_peer_policy_config_t pc = {.silence_ns =
                                        cfg->mcast_timeout > 0 ? (uint64_t)(cfg->mcast_timeout * 1e9) : 0,
                                    .multicast = g.mcast,
                                    .tracker = g.tracker};
    crow_peer_policy_init(&g.policy, &pc, g.started_ns);
    static const struct crow_piece_store_events ev = {
        .on_verified = on_verified, .on_failed = on_failed, .on_error = on_disk_error};
    if ((ret = crow_piece_store_new(&g.store, g.loop, crow_staging_storage(g.staging),
                                    crow_staging_verified(g.staging), 16, &ev, &g)))
        goto out;
    for (uint32_t p = 0; p < g.m.piece_count; p++)
        if (crow_bitfield_get(crow_staging_verified(g.staging), p))
            crow_mcast_receiver_mark_verified(&g.rx, p);
    static const int sigs[] = {SIGINT, SIGTERM};
    crow_signals_watch(g.loop, &g.signals, sigs, 2, on_signal, &g);
    g.result = CROW_GET_INCOMPLETE;
    if (crow_bitfield_full(crow_piece_store_verified(g.store)))
        complete(&g);
    else if ((ret = getter_start_sources(&g)))
        goto out;
    crow_op_init(&g.tick, on_tick, &g);
    crow_op_init(&g.soon, on_soon, &g);
    /* The decisions run at once (the policy's first announce backoff is shorter than a second);
     * the once-a-second work starts a second in. */
    uint64_t period = cfg->test_exit_after > 0 ? TICK_NS / 10 : TICK_NS;
    g.next_second_ns = g.started_ns + period - period / 20;
    g.tick_at = g.started_ns + 1000000;
    crow_io_timeout(g.loop, &g.tick, 1000000);
    if (!g.done)
        crow_loop_run(g.loop);
    getter_write_metrics(&g, true); /* written while the loop drains */
    ret = 0;
out:
    if (ret && g.result != CROW_GET_USAGE)
        g.result = CROW_GET_IO;
    getter_stop_sources(&g);
    getter_relay_stop(&g);
    crow_udp_rx_close(g.udp);
    crow_signals_close(g.loop, g.signals);
    if (g.loop)
        crow_io_cancel(g.loop, &g.tick);
    if (g.loop && g.soon_armed)
        crow_io_cancel(g.loop, &g.soon);
    if (g.loop && crow_loop_drain(g.loop, 3000000000ull))
        crow_log_warn("shutdown: some I/O did not finish in time");
    if (g.store && !crow_piece_store_busy(g.store))
        crow_piece_store_free(g.store);
    crow_staging_close(g.staging);
    crow_loop_free(g.loop);
    crow_mcast_receiver_dispose(&g.rx);
    crow_dgram_key_dispose(&g.key);
    crow_manifest_dispose(&g.m);
    return g.result;
}
