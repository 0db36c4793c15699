/* Getting a release onto the host: its manifest from the tracker (checked against the release id
 * and name of the order, then saved), `crowcast get` as a child process, and `crowcast verify` for a
 * release already on disk.
 *
 * Why a child process and not the getter in-process: the peer role owns its loop, its signals and
 * its exit status (crow_getter_run), it resumes from its staging area after any crash, and it keeps
 * seeding for neighbours after publishing (--seed-time) while the agent goes on with the next order.
 * Running it as a child reuses all of that unchanged and keeps a download's failure (or memory) out
 * of the long-running agent. The child dies with the agent (crow_spawn_tied): a restarted agent
 * starts a new get that resumes from the staging area, with no orphan writing into it. The agent
 * learns progress and completion from get's --json events, read from a pipe on the loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_internal.h"
#include "crowcast/error.h"
#include "crowcast/event.h"
#include "crowcast/hash.h"
#include "crowcast/log.h"
#include "crowcast/manifest.h"
#include "crowcast/release_sig.h"

#define TORRENT_MAX     (CROW_MANIFEST_MAX_BYTES + 4096)
#define TORRENT_TIMEOUT 30.0

/* ---- the manifest ---- */

static void on_saved(void *ctx, int err)
{
    struct agent *a = ctx;
    agent_job_next(a, err, err ? "cannot save the release manifest" : NULL);
}

/* Checks that the tracker served the manifest of the ordered release, signed by a trusted key when
 * the agent trusts keys: a tracker that was taken over can name any release, but cannot sign one. */
static int check_torrent(struct agent *a, const uint8_t *body, size_t len, char *why, size_t cap)
{
    crow_manifest_t m;
    int ret = crow_manifest_parse(body, len, &m, why, cap);
    if (ret)
        return ret;
    char id[2 * CROW_SHA256_LEN + 1];
    crow_hex(m.release_id, CROW_SHA256_LEN, id);
    if (strcmp(id, a->job.order.release) != 0) {
        snprintf(why, cap, "the tracker served release %.16s..., not %.16s...", id, a->job.order.release);
        ret = CROW_ESESSION;
    } else if (strcmp(m.name, a->job.order.name) != 0) {
        snprintf(why, cap, "the manifest names '%.60s', the order '%.60s'", m.name, a->job.order.name);
        ret = CROW_ESESSION;
    } else if (a->cfg->trust) {
        char reason[200];
        if ((ret = crow_release_verify(&m, a->cfg->trust, NULL, reason, sizeof reason)))
            snprintf(why, cap, "refused: %s", reason);
    }
    crow_manifest_dispose(&m);
    return ret;
}

static void on_torrent(void *ctx, int err, const crow_http_response_t *res)
{
    struct agent *a = ctx;
    char why[256] = "";
    if (err || res->status != 200) {
        snprintf(why, sizeof why, "fetching the manifest: %s",
                 err                  ? crow_strerror(err)
                 : res->status == 404 ? "the tracker does not know it"
                                      : "HTTP error");
        agent_job_next(a, err ? err : CROW_EPROTO, why);
        return;
    }
    int ret = check_torrent(a, res->body, res->body_len, why, sizeof why);
    if (ret) {
        agent_job_next(a, ret, why);
        return;
    }
    free(a->torrent);
    a->torrent = malloc(res->body_len);
    char dir[4096], path[4096], rest[128];
    if (!a->torrent) {
        agent_job_next(a, -ENOMEM, "out of memory");
        return;
    }
    memcpy(a->torrent, res->body, res->body_len);
    a->torrent_len = res->body_len;
    agent_path(a, dir, sizeof dir, a->job.order.name, ".crowcast");
    snprintf(rest, sizeof rest, ".crowcast/%s.torrent", a->job.order.release);
    agent_path(a, path, sizeof path, a->job.order.name, rest);
    /* DIR/<name>/.crowcast: created here, the first time a release of this name arrives. */
    char top[4096];
    agent_path(a, top, sizeof top, a->job.order.name, NULL);
    if ((mkdir(top, 0755) && errno != EEXIST) || (mkdir(dir, 0755) && errno != EEXIST)) {
        agent_job_next(a, -errno, "cannot create the release directory");
        return;
    }
    ret = crow_atomic_file_write(&a->torrent_file, a->loop, path, a->torrent, a->torrent_len, on_saved, a);
    if (ret)
        agent_job_next(a, ret, "cannot save the release manifest");
}

void agent_fetch_torrent(struct agent *a)
{
    char target[512];
    long n = crow_agent_torrent_target(target, sizeof target, a->prefix, a->job.order.release);
    int ret = n < 0 ? (int)n
                    : crow_http_client_request(a->torrent_http, &a->server, a->cfg->iface, "GET", target,
                                               a->cfg->key, TORRENT_TIMEOUT);
    if (ret)
        agent_job_next(a, ret, "cannot ask the tracker for the manifest");
}

/* ---- children ---- */

static void torrent_path(const struct agent *a, const char *name, const char *id, char *buf, size_t cap)
{
    char rest[128];
    snprintf(rest, sizeof rest, ".crowcast/%s.torrent", id);
    agent_path(a, buf, cap, name, rest);
}

int agent_start_verify(struct agent *a)
{
    const crow_agent_order_t *o = &a->job.order;
    char torrent[4096], rest[400], data[4096];
    torrent_path(a, o->name, o->release, torrent, sizeof torrent);
    snprintf(rest, sizeof rest, "%s/%s", o->release, o->name);
    agent_path(a, data, sizeof data, o->name, rest);
    struct crow_agent_verify_args v = {
        .exe = a->cfg->exe, .torrent = torrent, .data = data, .trust = a->cfg->trust_path};
    char *argv[16];
    int err = a->cfg->verify_argv(argv, sizeof argv / sizeof argv[0], &v);
    if (err)
        return err;
    crow_log_info("verifying %s/%s", o->name, o->release);
    return crow_spawn(&a->job.proc, argv, NULL, false);
}

static void read_more(struct agent_get *g);

/* One line of get's --json stream. */
static void on_line(struct agent_get *g, const char *line, size_t len)
{
    char event[32], text[160];
    if (!crow_event_get_str(line, len, "event", event, sizeof event))
        return;
    if (strcmp(event, "error") == 0 && crow_event_get_str(line, len, "message", text, sizeof text))
        snprintf(g->error, sizeof g->error, "%s", text);
    double verified, pieces;
    if (strcmp(event, "progress") == 0 && crow_event_get_num(line, len, "verified", &verified) &&
        crow_event_get_num(line, len, "pieces", &pieces)) {
        char v[24], p[24];
        snprintf(v, sizeof v, "%.0f", verified);
        snprintf(p, sizeof p, "%.0f", pieces);
        agent_event(g->a, "progress", "release", g->release, "verified", v, "pieces", p, NULL);
    }
    if (strcmp(event, "complete") != 0 || g->completed)
        return;
    g->completed = true;
    struct agent *a = g->a;
    /* get published DIR/<name>/.crowcast/<id>/<name>; one rename makes DIR/<name>/<id> appear whole. */
    char from[4096], to[4096], rest[128];
    snprintf(rest, sizeof rest, ".crowcast/%s", g->release);
    agent_path(a, from, sizeof from, g->name, rest);
    agent_path(a, to, sizeof to, g->name, g->release);
    int err = rename(from, to) ? -errno : 0;
    if (!err) {
        agent_mark_verified(a, g->release);
        agent_event(a, "published", "name", g->name, "release", g->release, "path", to, NULL);
        crow_log_info("published %s", to);
    }
    if (g->for_job) {
        g->for_job = false;
        agent_job_next(a, err, err ? "cannot move the verified release into place" : NULL);
    }
}

static void on_read(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    struct agent_get *g = op->owner;
    if (res <= 0) {
        g->eof = true;
        return;
    }
    g->len += (size_t)res;
    size_t start = 0;
    for (size_t i = 0; i < g->len; i++) {
        if (g->buf[i] != '\n')
            continue;
        on_line(g, g->buf + start, i - start);
        start = i + 1;
    }
    /* A line longer than the buffer (a long "missing" list entry never is) is dropped. */
    if (start == 0 && g->len == sizeof g->buf)
        start = g->len;
    memmove(g->buf, g->buf + start, g->len - start);
    g->len -= start;
    read_more(g);
}

static void read_more(struct agent_get *g)
{
    if (g->a->stopping || crow_io_read(g->a->loop, &g->read_op, g->child.out_fd, g->buf + g->len,
                                       (unsigned)(sizeof g->buf - g->len), 0))
        g->eof = true;
}

int agent_start_get(struct agent *a)
{
    const crow_agent_order_t *o = &a->job.order;
    struct agent_get *g = NULL;
    a->get_waiting = false;
    for (unsigned i = 0; i < AGENT_MAX_GETS && !g; i++)
        if (a->gets[i].child.pid == 0)
            g = &a->gets[i];
    if (!g) {
        /* Every slot holds a child seeding an earlier release: one gives way. It is asked to stop,
         * not waited for: agent_gets_tick reaps it (its stream read ends) and starts this get. */
        for (unsigned i = 0; i < AGENT_MAX_GETS && !g; i++)
            if (!a->gets[i].for_job)
                g = &a->gets[i];
        if (!g)
            return CROW_ELIMIT;
        if (!g->child.exited)
            kill(g->child.pid, SIGTERM);
        a->get_waiting = true;
        return 0;
    }
    char torrent[4096], out[4096], rest[128], announce[512], seed[32];
    torrent_path(a, o->name, o->release, torrent, sizeof torrent);
    snprintf(rest, sizeof rest, ".crowcast/%s", o->release);
    agent_path(a, out, sizeof out, o->name, rest);
    snprintf(announce, sizeof announce, "%s://%s%s/announce", a->server.tls ? "https" : "http",
             a->server.host, a->prefix);
    snprintf(seed, sizeof seed, "%.0f", a->cfg->seed_time);
    char iface[16];
    snprintf(iface, sizeof iface, "%s", inet_ntoa(a->cfg->iface));
    struct crow_agent_get_args args = {.exe = a->cfg->exe,
                                       .torrent = torrent,
                                       .out = out,
                                       .tracker = announce,
                                       .iface = iface,
                                       .seed_time = seed,
                                       .log_level = a->cfg->log_level,
                                       .trust = a->cfg->trust_path,
                                       .tls_ca = a->cfg->tls_ca,
                                       .mcast_key = a->cfg->mcast_key};
    /* The release this host runs now holds most of the next build's pieces (make --previous keeps
     * them): get takes them from disk and fetches only the rest. */
    char prev_torrent[4096], prev_data[4096], prev_rest[400];
    const crow_agent_release_t *now = crow_agent_state_find(&a->state, o->name);
    if (now && now->current[0] && strcmp(now->current, o->release) != 0) {
        torrent_path(a, o->name, now->current, prev_torrent, sizeof prev_torrent);
        snprintf(prev_rest, sizeof prev_rest, "%s/%s", now->current, o->name);
        agent_path(a, prev_data, sizeof prev_data, o->name, prev_rest);
        if (access(prev_torrent, R_OK) == 0) {
            args.previous = prev_torrent;
            args.previous_path = prev_data;
        }
    }
    char *argv[32];
    int err = a->cfg->get_argv(argv, sizeof argv / sizeof argv[0], &args);
    if (err)
        return err;
    *g = (struct agent_get){.a = a, .for_job = true};
    snprintf(g->release, sizeof g->release, "%s", o->release);
    snprintf(g->name, sizeof g->name, "%s", o->name);
    crow_op_init(&g->read_op, on_read, g);
    int ret = crow_spawn_tied(&g->child, argv);
    if (ret)
        return ret;
    crow_log_info("downloading %s/%s (crowcast get, pid %d)", o->name, o->release, (int)g->child.pid);
    read_more(g);
    return 0;
}

void agent_gets_tick(struct agent *a)
{
    for (unsigned i = 0; i < AGENT_MAX_GETS; i++) {
        struct agent_get *g = &a->gets[i];
        /* The exit counts once its last words were read (the stream ended). */
        if (g->child.pid == 0 || !g->eof || crow_op_pending(&g->read_op) || !crow_child_poll(&g->child))
            continue;
        int code = crow_child_code(&g->child);
        close(g->child.out_fd);
        g->child = (struct crow_child){0};
        crow_log(code == 0 ? CROW_LOG_INFO : CROW_LOG_WARN, "crowcast get for %s/%.12s exited with %d",
                 g->name, g->release, code);
        if (g->for_job) {
            g->for_job = false;
            char why[256];
            snprintf(why, sizeof why, "crowcast get exited with %d%s%s", code, g->error[0] ? ": " : "",
                     g->error);
            agent_job_next(a, CROW_EPROTO, why);
        } else if (a->get_waiting && a->job.phase == JOB_GET) {
            int ret = agent_start_get(a); /* the slot this child left */
            if (ret)
                agent_job_next(a, ret, "cannot start crowcast get");
        }
    }
}

void agent_gets_stop(struct agent *a, double grace)
{
    for (unsigned i = 0; i < AGENT_MAX_GETS; i++)
        if (a->gets[i].child.pid > 0 && !a->gets[i].child.exited)
            kill(a->gets[i].child.pid, SIGTERM);
    for (unsigned i = 0; i < AGENT_MAX_GETS; i++) {
        struct agent_get *g = &a->gets[i];
        if (g->child.pid > 0)
            crow_child_wait(&g->child, grace);
    }
}

int agent_download_init(struct agent *a)
{
    return crow_http_client_new(&a->torrent_http, a->loop, TORRENT_MAX, on_torrent, a);
}

void agent_download_free(struct agent *a)
{
    crow_http_client_free(a->torrent_http);
    free(a->torrent);
}
