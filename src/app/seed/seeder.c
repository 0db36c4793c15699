/* The seeder role: multicast passes over a release (and, with the peer-wire glue, TCP seeding). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/event.h"
#include "crowcast/log.h"
#include "crowcast/manifest_file.h"
#include "crowcast/prom_text.h"
#include "crowcast/seeder.h"
#include "crowcast/seeder_policy.h"
#include "crowcast/storage.h"
#include "crowcast/udp.h"
#include "crowcast/units.h"
#include "announcer.h"
#include "mcast_key.h"
#include "mcast_stream.h"
#include "metrics_file.h"
#include "peers.h"
#include "piece_store.h"

struct seeder {
    const struct crow_seeder_config *cfg;
    crow_loop_t *loop;
    crow_manifest_t m;
    crow_storage_t *storage;
    crow_piece_store_t *store;
    crow_mcast_stream_t *mcast;
    crow_peers_t *peers;
    crow_announcer_t *announcer;
    crow_tracker_tiers_t trackers; /* chosen at start; the announcer works on its own copy */
    bool tracker;                  /* announces to a tracker */
    crow_signals_t *signals;
    crow_op_t tick;
    crow_seeder_policy_t policy; /* when to announce, when to leave */
    struct crow_metrics_file metrics;
    uint64_t started_ns;
    uint64_t next_second_ns; /* when the once-a-second work is due */
    struct sockaddr_in groups[CROW_MAX_GROUPS];
    unsigned group_count;
    int result;
    bool mcast_done;
    uint64_t served_seen; /* bytes served as of the last decision */
    bool waiting_logged;  /* "waiting for a peer" said once */
    crow_dgram_key_t key; /* with a fleet secret: every datagram is tagged */
    bool keyed;
};

static int start_mcast(struct seeder *s);
static void decide(struct seeder *s);
static void announce(struct seeder *s, enum crow_announce_event ev);
static void note_stream(struct seeder *s);

static void emit_stats(struct seeder *s, const char *event)
{
    struct crow_mcast_stream_stats st;
    crow_mcast_stream_get_stats(s->mcast, &st);
    uint64_t end = st.finished_ns ? st.finished_ns : crow_loop_now(s->loop);
    double secs = (double)(end - st.started_ns) / 1e9;
    double rate = secs > 0 ? (double)st.engine.wire_bytes * 8 / secs : 0;
    if (s->cfg->json) {
        char line[512];
        crow_event_writer_t w;
        crow_event_begin(&w, line, sizeof line, event);
        crow_event_num(&w, "elapsed", secs);
        crow_event_u64(&w, "datagrams", st.engine.datagrams);
        crow_event_u64(&w, "payload_bytes", st.engine.payload_bytes);
        crow_event_u64(&w, "wire_bytes", st.engine.wire_bytes);
        crow_event_u64(&w, "pass", st.engine.pass);
        crow_event_u64(&w, "pieces", st.engine.wanted);
        crow_event_u64(&w, "resent", st.engine.resent);
        crow_event_num(&w, "rate_bps", rate);
        crow_event_u64(&w, "send_errors", st.send_errors);
        crow_event_bool(&w, "gso", st.gso);
        long n = crow_event_end(&w);
        if (n > 0)
            fwrite(line, 1, (size_t)n, stdout), fflush(stdout);
    }
    char a[32], b[32];
    crow_log_info("%s: %llu datagrams, %s payload per group in %.2f s, %s per group%s", event,
                  (unsigned long long)st.engine.datagrams,
                  crow_format_size(st.engine.payload_bytes, a, sizeof a), secs,
                  crow_format_rate(rate, b, sizeof b), st.send_errors ? " (send errors)" : "");
}

static void on_mcast_done(void *ctx, int result)
{
    struct seeder *s = ctx;
    s->mcast_done = true;
    if (result < 0) {
        crow_log_error("multicast stopped: %s", crow_strerror(result));
        s->result = 3;
    }
    emit_stats(s, "mcast_done");
    crow_seeder_policy_passes_done(&s->policy, crow_loop_now(s->loop));
    announce(s, CROW_EVENT_NONE); /* the tracker tells peers at once that no stream is coming */
    decide(s);
}

static void announce(struct seeder *s, enum crow_announce_event ev)
{
    if (!s->announcer)
        return;
    uint64_t served = s->peers ? crow_peers_bytes_served(s->peers) : 0;
    /* Until the passes are over, a peer that joins late waits for the stream; after, it need not. */
    bool pending = !s->mcast_done && ev != CROW_EVENT_STOPPED;
    crow_announcer_set_sending(s->announcer, pending, pending && s->mcast);
    crow_announcer_announce(s->announcer, ev, served, 0, 0);
    crow_seeder_policy_announced(&s->policy, crow_loop_now(s->loop));
}

/* Starts the passes once the groups are known and the policy lets them (peers have shown up). */
static void maybe_start_mcast(struct seeder *s)
{
    if (s->mcast || s->group_count == 0)
        return;
    uint64_t now = crow_loop_now(s->loop);
    enum crow_seeder_start why = crow_seeder_policy_may_start(&s->policy, now);
    if (why == CROW_SEEDER_START_WAIT) {
        if (!s->waiting_logged)
            crow_log_info("waiting for a peer of the release to show up at the tracker before multicasting "
                          "(at most %s)",
                          s->cfg->wait_peers < 0 ? "until one does" : "--wait-peers");
        s->waiting_logged = true;
        return;
    }
    if (why == CROW_SEEDER_START_TIMEOUT)
        crow_log_warn("no peer showed up at the tracker in %.0f s: multicasting anyway", s->cfg->wait_peers);
    if (why == CROW_SEEDER_START_NO_MAP)
        crow_log_info("not every peer told the tracker what it lacks within %.1f s: multicasting everything",
                      (double)CROW_SEEDER_MAP_WAIT_NS / 1e9);
    if (start_mcast(s)) {
        s->result = 3;
        crow_loop_stop(s->loop, 1);
        return;
    }
    crow_seeder_policy_sending(&s->policy, now);
    announce(s, CROW_EVENT_NONE); /* streaming=1: peers that see no datagram give up on it sooner */
}

/* Carries out the seeder's decisions (crow_seeder_policy): start, end a pass that reaches nobody,
 * announce, stay or leave, saying why. */
static void decide(struct seeder *s)
{
    if (crow_loop_stopping(s->loop))
        return; /* decided already */
    uint64_t now = crow_loop_now(s->loop);
    maybe_start_mcast(s);
    note_stream(s);
    if (crow_loop_stopping(s->loop))
        return;
    if (s->mcast && !s->mcast_done && crow_seeder_policy_swarm_complete(&s->policy)) {
        crow_log_info("the tracker reports every peer complete: ending the pass");
        crow_mcast_stream_end_now(s->mcast); /* its on_done decides what follows */
        return;
    }
    if (s->mcast && !s->mcast_done && crow_seeder_policy_reaches_nobody(&s->policy)) {
        crow_log_warn("the multicast stream reaches no peer (%u say no datagram arrives, none receives it): "
                      "ending the pass; the peers fetch over TCP",
                      s->policy.dark);
        crow_mcast_stream_end_now(s->mcast); /* its on_done decides what follows */
        return;
    }
    bool announce_now;
    /* A peer that came and went between two decisions counts as connected: it was served. */
    uint64_t served = s->peers ? crow_peers_bytes_served(s->peers) : 0;
    unsigned connected = (s->peers ? crow_peers_count(s->peers) : 0) + (served != s->served_seen);
    s->served_seen = served;
    enum crow_seeder_verdict v = crow_seeder_policy_tick(&s->policy, now, connected, &announce_now);
    if (v != CROW_SEEDER_STAY) {
        crow_log_info("stopping: %s", crow_seeder_stop_reason(v));
        crow_loop_stop(s->loop, 1);
        return;
    }
    if (announce_now)
        announce(s, CROW_EVENT_NONE);
}

static void on_announced(void *ctx, const struct crow_announce_outcome *o)
{
    struct seeder *s = ctx;
    if (o->error || o->failure) { /* logged by the announcer */
        crow_seeder_policy_tracker_failed(&s->policy, crow_loop_now(s->loop));
        return;
    }
    const crow_announce_result_t *r = o->result;
    crow_seeder_swarm_t sw = {
        .interval_s = r->interval > 0 ? (uint32_t)r->interval : 0,
        .complete = r->complete,
        .incomplete = r->incomplete,
        .lit = r->crowcast.lit,
        .dark = r->crowcast.dark,
        .has_need = r->crowcast.has_need,
        .need = r->crowcast.need,
    };
    note_stream(s);
    crow_seeder_policy_tracker_answer(&s->policy, crow_loop_now(s->loop), &sw);
    /* Without --mcast the tracker names the groups: one per rack (or shared). */
    if (!s->cfg->group_count && !s->group_count && o->group_count) {
        s->group_count = o->group_count < CROW_MAX_GROUPS ? o->group_count : CROW_MAX_GROUPS;
        memcpy(s->groups, o->groups, s->group_count * sizeof *s->groups);
    }
    decide(s);
}

/* --metrics: the seeder's counters and state as Prometheus text, when due or at exit. */
static void write_metrics(struct seeder *s, bool final)
{
    uint64_t now = crow_loop_now(s->loop);
    if (!crow_metrics_file_due(&s->metrics, now, final))
        return;
    struct crow_mcast_stream_stats st = {0};
    if (s->mcast)
        crow_mcast_stream_get_stats(s->mcast, &st);
    char id[2 * CROW_SHA256_LEN + 1];
    crow_hex(s->m.release_id, CROW_SHA256_LEN, id);
    crow_prom_text_writer_t w;
    crow_prom_text_begin(&w, crow_metrics_file_buffer(&s->metrics), CROW_METRICS_MAX);
    crow_prom_text_family(&w, "crowcast_seed_info", "gauge", "The release this seeder sends.");
    crow_prom_text_sample(&w, "crowcast_seed_info", "release", s->m.name, "release_id", id, 1);
    static const struct {
        const char *name, *type, *help;
    } fam[] = {
        {"crowcast_seed_datagrams_total", "counter", "Multicast datagrams sent, per group."},
        {"crowcast_seed_payload_bytes_total", "counter", "Release bytes multicast, per group."},
        {"crowcast_seed_wire_bytes_total", "counter", "Multicast bytes sent with headers, per group."},
        {"crowcast_seed_send_errors_total", "counter", "Multicast sends that failed."},
        {"crowcast_seed_pass", "gauge", "The multicast pass under way (or the last one)."},
        {"crowcast_seed_served_bytes_total", "counter", "Release bytes served over TCP."},
        {"crowcast_seed_peers_connected", "gauge", "Peers connected over TCP."},
        {"crowcast_seed_elapsed_seconds", "gauge", "Seconds since the seeder started."},
    };
    double value[] = {(double)st.engine.datagrams,
                      (double)st.engine.payload_bytes,
                      (double)st.engine.wire_bytes,
                      (double)st.send_errors,
                      (double)st.engine.pass,
                      s->peers ? (double)crow_peers_bytes_served(s->peers) : 0,
                      s->peers ? (double)crow_peers_count(s->peers) : 0,
                      (double)(now - s->started_ns) / 1e9};
    for (size_t i = 0; i < sizeof fam / sizeof *fam; i++) {
        crow_prom_text_family(&w, fam[i].name, fam[i].type, fam[i].help);
        crow_prom_text_sample(&w, fam[i].name, NULL, NULL, NULL, NULL, value[i]);
    }
    static const char *const states[] = {"sending", "lingering", "done", "failed"};
    const char *state = final                        ? (s->result ? "failed" : "done")
                        : s->mcast_done || !s->mcast ? "lingering"
                                                     : "sending";
    crow_prom_text_family(&w, "crowcast_seed_state", "gauge", "1 for the state the seeder is in.");
    for (size_t i = 0; i < sizeof states / sizeof *states; i++)
        crow_prom_text_sample(&w, "crowcast_seed_state", "state", states[i], NULL, NULL,
                              strcmp(states[i], state) == 0);
    if (final) {
        crow_prom_text_family(&w, "crowcast_seed_exit_code", "gauge", "The exit status of the seeder.");
        crow_prom_text_sample(&w, "crowcast_seed_exit_code", NULL, NULL, NULL, NULL, s->result);
    }
    crow_metrics_file_commit(&s->metrics, crow_prom_text_end(&w), now);
}

static void on_tick(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    struct seeder *s = op->owner;
    if (res == -ECANCELED || crow_loop_stopping(s->loop))
        return;
    uint64_t now = crow_loop_now(s->loop);
    if (now >= s->next_second_ns) { /* progress once a second; decisions also at the policy's time */
        s->next_second_ns = now + 950000000ull;
        if (s->mcast && !s->mcast_done)
            emit_stats(s, "progress");
        write_metrics(s, false);
    }
    decide(s);
    if (crow_loop_stopping(s->loop))
        return;
    uint64_t wait = 1000000000ull, due = s->policy.next_announce;
    if (due > now && due - now < wait)
        wait = due - now;
    crow_io_timeout(s->loop, &s->tick, wait);
}

static void on_signal(void *ctx, int signo)
{
    struct seeder *s = ctx;
    crow_log_info("signal %d: stopping", signo);
    crow_loop_stop(s->loop, 1);
}

/* What the pass has sent whole, for the catch-up's judgement of the tracker's need maps. */
static void note_stream(struct seeder *s)
{
    if (!s->mcast || s->mcast_done)
        return;
    crow_need_map_t sent;
    crow_mcast_stream_segments_sent(s->mcast, &sent);
    crow_seeder_policy_stream_sent(&s->policy, crow_loop_now(s->loop), &sent);
}

/* The last pass sent everything: resend what peers that joined late missed, or end it. */
static void on_mcast_drained(void *ctx)
{
    struct seeder *s = ctx;
    note_stream(s);
    crow_need_map_t missed;
    crow_seeder_policy_catch_up(&s->policy, &missed);
    uint32_t n = crow_mcast_stream_resend(s->mcast, &missed);
    if (n)
        crow_log_info("catching up: sending %u piece(s) again that peers which joined late missed", n);
}

static int start_mcast(struct seeder *s)
{
    const struct crow_seeder_config *cfg = s->cfg;
    crow_need_map_t scope;
    enum crow_seeder_scope kind = crow_seeder_policy_scope(&s->policy, s->m.piece_count, &scope);
    struct crow_mcast_stream_config mc = {
        .groups = s->groups,
        .group_count = s->group_count,
        .iface = cfg->iface,
        .ttl = cfg->ttl,
        .loop = cfg->mcast_loop,
        .rate_bps = cfg->rate,
        .passes = cfg->passes,
        .beacon_interval_ns = (uint64_t)(cfg->beacon_interval * 1e9),
        .tcp_port = s->peers ? ntohs(crow_peers_listen_addr(s->peers)->sin_port) : 0,
        .window = 4,
        .first_piece = crow_seeder_policy_first_piece(&s->policy, s->m.piece_count),
        .scope = &scope,
        .key = s->keyed ? &s->key : NULL,
        .on_drained = s->policy.cfg.catch_up ? on_mcast_drained : NULL,
    };
    int ret = crow_mcast_stream_start(&s->mcast, s->loop, s->store, &s->m, &mc, on_mcast_done, s);
    if (ret) {
        fprintf(stderr, "crowcast seed: multicast: %s\n", crow_strerror(ret));
        return ret;
    }
    char a[32];
    struct crow_mcast_stream_stats st;
    crow_mcast_stream_get_stats(s->mcast, &st);
    static const char *const scopes[] = {
        [CROW_SEEDER_SCOPE_ALL] = "every piece",
        [CROW_SEEDER_SCOPE_NEEDED] = "the pieces the peers lack",
        [CROW_SEEDER_SCOPE_NONE] = "no piece: the peers lack none",
    };
    crow_log_info(
        "multicasting %s to %u group(s) at %s each, %u pass(es) of %u of %u pieces (%s) from piece %u, "
        "UDP GSO %s",
        s->m.name, s->group_count, crow_format_rate((double)cfg->rate, a, sizeof a), cfg->passes,
        st.engine.wanted, s->m.piece_count, scopes[kind], mc.first_piece, st.gso ? "on" : "off");
    return 0;
}

/* The trackers to announce to (--tracker, --no-tracker or the manifest's). A seeder with nothing
 * to do (no tracker, no group, no TCP) is a usage error. Returns 0 or 2 (said why). */
static int choose_trackers(struct seeder *s)
{
    const struct crow_seeder_config *cfg = s->cfg;
    int usable = crow_announcer_choose(&s->trackers, &s->m, cfg->torrent, cfg->tracker, cfg->no_tracker,
                                       "seed", "--mcast or --listen");
    if (usable < 0)
        return 2;
    s->tracker = usable > 0;
    if (!s->tracker && cfg->group_count == 0 && cfg->listen.sin_port == 0) {
        fprintf(stderr,
                "crowcast seed: nothing to do: %s%s; give --mcast, --listen or --tracker\n"
                "Try 'crowcast seed --help'.\n",
                cfg->no_tracker ? "--no-tracker" : cfg->torrent, cfg->no_tracker ? "" : " names no tracker");
        return 2;
    }
    return 0;
}

/* A datagram over --iface's MTU would go out as IP fragments (one lost fragment loses the chunk,
 * and the switches' multicast replication handles fragments badly): refused, saying what fits.
 * An address no interface holds is left to the socket to refuse. Returns 0 or 2 (said why). */
static int check_mtu(const struct seeder *s)
{
    char ifname[IF_NAMESIZE];
    unsigned mtu;
    uint32_t need = crow_dgram_ip_size(s->m.chunk_size, s->keyed);
    if (crow_udp_iface_mtu(s->cfg->iface, ifname, &mtu) || need <= mtu)
        return 0;
    uint32_t fits = crow_dgram_chunk_for_mtu(mtu, s->m.piece_length);
    fprintf(stderr,
            "crowcast seed: %s's chunk size %u makes %u-byte IP datagrams%s, over the MTU of %s (%u bytes): "
            "they would be fragmented. Make the release with --mtu %u (chunk size %u) or raise the MTU\n",
            s->cfg->torrent, s->m.chunk_size, need, s->keyed ? " (with the tag)" : "", ifname, mtu, mtu,
            fits);
    return 2;
}

int crow_seeder_run(const struct crow_seeder_config *cfg)
{
    struct seeder s = {.cfg = cfg, .result = 0};
    char why[256] = "";
    int ret = crow_manifest_file_load(cfg->torrent, &s.m, why, sizeof why);
    if (ret) {
        fprintf(stderr, "crowcast seed: %s: %s\n", cfg->torrent, why[0] ? why : crow_strerror(ret));
        return 2;
    }
    if ((ret = choose_trackers(&s))) {
        crow_manifest_dispose(&s.m);
        return ret;
    }
    const char *key_file = NULL;
    if ((ret = crow_mcast_key_open(&s.key, cfg->mcast_key, s.m.release_id, "seed", &key_file)) < 0) {
        crow_manifest_dispose(&s.m);
        return 2;
    }
    s.keyed = ret == 1;
    if (s.keyed)
        crow_log_info("multicast: every datagram authenticated with the key from %s", key_file);
    if ((s.tracker || cfg->group_count) && check_mtu(&s)) { /* a TCP-only seeder sends no datagram */
        crow_dgram_key_dispose(&s.key);
        crow_manifest_dispose(&s.m);
        return 2;
    }
    crow_bitfield_t all;
    if ((ret = crow_bitfield_init(&all, s.m.piece_count))) {
        crow_dgram_key_dispose(&s.key);
        crow_manifest_dispose(&s.m);
        return 3;
    }
    crow_bitfield_set_all(&all);
    s.result = 3;
    if ((ret = crow_storage_open_posix(&s.storage, &s.m, AT_FDCWD, cfg->path, 0))) {
        fprintf(stderr, "crowcast seed: %s: %s\n", cfg->path, crow_strerror(ret));
        goto out;
    }
    if ((ret = crow_loop_new(&s.loop, 512))) {
        fprintf(stderr, "crowcast seed: io_uring: %s\n", crow_strerror(ret));
        goto out;
    }
    s.started_ns = crow_loop_update_now(s.loop);
    crow_metrics_file_init(&s.metrics, s.loop, cfg->metrics);
    static const struct crow_piece_store_events no_events = {0};
    if ((ret = crow_piece_store_new(&s.store, s.loop, s.storage, &all, 2, &no_events, &s)))
        goto out;
    static const int sigs[] = {SIGINT, SIGTERM};
    crow_signals_watch(s.loop, &s.signals, sigs, 2, on_signal, &s);
    s.result = 0;
    if (cfg->listen.sin_port || s.tracker) {
        struct crow_peers_config pc = {.m = &s.m,
                                       .store = s.store,
                                       .listen = cfg->listen,
                                       .bind_addr = cfg->iface,
                                       .pos = -1,
                                       .max_incoming = 256};
        if (!pc.listen.sin_port) /* a tracker needs a port to hand out */
            pc.listen = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr = cfg->iface};
        if ((ret = crow_peers_new(&s.peers, s.loop, &pc, NULL, NULL))) {
            fprintf(stderr, "crowcast seed: cannot listen on %s:%u: %s\n", inet_ntoa(pc.listen.sin_addr),
                    ntohs(pc.listen.sin_port), crow_strerror(ret));
            s.result = 3;
            goto out;
        }
        const struct sockaddr_in *la = crow_peers_listen_addr(s.peers);
        crow_log_info("serving over TCP on %s:%u", inet_ntoa(la->sin_addr), ntohs(la->sin_port));
    }
    crow_seeder_policy_config_t lc = {
        .tracker = s.tracker,
        .serves_tcp = s.peers != NULL,
        .linger_ns = cfg->linger < 0 ? -1 : (int64_t)(cfg->linger * 1e9),
        .wait_peers_ns = cfg->wait_peers < 0 ? -1 : (int64_t)(cfg->wait_peers * 1e9),
        .tcp_only = !s.tracker && cfg->group_count == 0,
        .catch_up = s.tracker && cfg->passes > 0,
    };
    crow_seeder_policy_init(&s.policy, &lc, crow_loop_update_now(s.loop));
    s.group_count = cfg->group_count;
    memcpy(s.groups, cfg->groups, cfg->group_count * sizeof *cfg->groups);
    if (s.tracker) {
        struct crow_announcer_config ac = {
            .trackers = &s.trackers,
            .info_hash = s.m.info_hash,
            .peer_id = crow_peers_peer_id(s.peers),
            .port = ntohs(crow_peers_listen_addr(s.peers)->sin_port),
            .bind = cfg->iface,
            .numwant = 0,
            .want_groups = cfg->group_count == 0,
            .timeout = 5,
        };
        if ((ret = crow_announcer_new(&s.announcer, s.loop, &ac, on_announced, &s))) {
            fprintf(stderr, "crowcast seed: announce client: %s\n", crow_strerror(ret));
            s.result = 2;
            goto out;
        }
        announce(&s, CROW_EVENT_STARTED);
    }
    decide(&s); /* multicast at once unless it waits for peers */
    crow_op_init(&s.tick, on_tick, &s);
    crow_io_timeout(s.loop, &s.tick, 1000000000ull);
    crow_loop_run(s.loop);
    if (s.mcast && !s.mcast_done)
        emit_stats(&s, "stopped");
    write_metrics(&s, true); /* written while the loop drains */
out:
    if (s.announcer) {
        announce(&s, CROW_EVENT_STOPPED);
        for (int i = 0; i < 20 && crow_announcer_busy(s.announcer); i++)
            crow_loop_run_for(s.loop, 50 * 1000000ull);
    }
    crow_announcer_free(s.announcer);
    crow_peers_free(s.peers);
    crow_mcast_stream_stop(s.mcast);
    crow_signals_close(s.loop, s.signals);
    if (s.loop)
        crow_io_cancel(s.loop, &s.tick);
    if (s.loop && crow_loop_drain(s.loop, 3000000000ull))
        crow_log_warn("shutdown: some I/O did not finish in time");
    if (s.store && !crow_piece_store_busy(s.store))
        crow_piece_store_free(s.store);
    crow_loop_free(s.loop);
    crow_storage_close(s.storage);
    crow_bitfield_dispose(&all);
    crow_dgram_key_dispose(&s.key);
    crow_manifest_dispose(&s.m);
    return s.result;
}
