/* The seeder role: multicast passes over a release (and, with the peer-wire glue, TCP seeding). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/event.h"
#include "crowcast/log.h"
#include "crowcast/seeder.h"
#include "crowcast/storage.h"
#include "crowcast/units.h"
#include "mcast_send.h"
#include "piece_store.h"

struct seeder {
    const struct crow_seeder_config *cfg;
    crow_loop_t *loop;
    crow_manifest_t m;
    crow_storage_t *storage;
    crow_piece_store_t *store;
    crow_mcast_send_t *mcast;
    crow_signals_t *signals;
    crow_op_t tick;
    int result;
    bool mcast_done;
};

static void emit_stats(struct seeder *s, const char *event)
{
    struct crow_mcast_send_stats st;
    crow_mcast_send_get_stats(s->mcast, &st);
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
    if (s->cfg->linger >= 0)
        crow_loop_stop(s->loop, 1);
}

static void on_tick(crow_op_t *op, int res, unsigned flags)
{
    (void)res;
    (void)flags;
    struct seeder *s = op->owner;
    if (s->mcast && !s->mcast_done)
        emit_stats(s, "progress");
    crow_io_timeout(s->loop, &s->tick, 1000000000ull);
}

static void on_signal(void *ctx, int signo)
{
    struct seeder *s = ctx;
    crow_log_info("signal %d: stopping", signo);
    crow_loop_stop(s->loop, 1);
}

int crow_seeder_run(const struct crow_seeder_config *cfg)
{
    struct seeder s = {.cfg = cfg, .result = 0};
    char why[256] = "";
    int ret = crow_manifest_load(cfg->torrent, &s.m, why, sizeof why);
    if (ret) {
        fprintf(stderr, "crowcast seed: %s: %s\n", cfg->torrent, why[0] ? why : crow_strerror(ret));
        return 2;
    }
    crow_bitfield_t all;
    if ((ret = crow_bitfield_init(&all, s.m.piece_count))) {
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
    static const struct crow_piece_store_events no_events = {0};
    if ((ret = crow_piece_store_new(&s.store, s.loop, s.storage, &all, 2, &no_events, &s)))
        goto out;
    static const int sigs[] = {SIGINT, SIGTERM};
    crow_signals_watch(s.loop, &s.signals, sigs, 2, on_signal, &s);
    s.result = 0;
    if (cfg->group_count) {
        struct crow_mcast_send_config mc = {
            .groups = cfg->groups,
            .group_count = cfg->group_count,
            .iface = cfg->iface,
            .ttl = cfg->ttl,
            .loop = cfg->mcast_loop,
            .rate_bps = cfg->rate,
            .passes = cfg->passes,
            .beacon_interval_ns = (uint64_t)(cfg->beacon_interval * 1e9),
            .tcp_port = ntohs(cfg->listen.sin_port),
            .window = 4,
        };
        if ((ret = crow_mcast_send_start(&s.mcast, s.loop, s.store, &s.m, &mc, on_mcast_done, &s))) {
            fprintf(stderr, "crowcast seed: multicast: %s\n", crow_strerror(ret));
            s.result = 3;
            goto out;
        }
        char a[32];
        struct crow_mcast_send_stats st;
        crow_mcast_send_get_stats(s.mcast, &st);
        crow_log_info("multicasting %s to %u group(s) at %s each, %u pass(es), UDP GSO %s", s.m.name,
                      cfg->group_count, crow_format_rate((double)cfg->rate, a, sizeof a), cfg->passes,
                      st.gso ? "on" : "off");
    }
    crow_op_init(&s.tick, on_tick, &s);
    crow_io_timeout(s.loop, &s.tick, 1000000000ull);
    crow_loop_run(s.loop);
    if (s.mcast && !s.mcast_done)
        emit_stats(&s, "stopped");
out:
    crow_mcast_send_stop(s.mcast);
    crow_piece_store_free(s.store);
    crow_loop_free(s.loop);
    crow_storage_close(s.storage);
    crow_bitfield_dispose(&all);
    crow_manifest_dispose(&s.m);
    return s.result;
}
