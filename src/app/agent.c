/* The rollout agent's loop: long polls to the tracker (with a growing pause while it is down),
 * orders handed to the job (agent_job.c) one at a time, the state file, --json events, signals and
 * a tick that collects child processes and retries what is due. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_internal.h"
#include "crowcast/error.h"
#include "crowcast/event.h"
#include "crowcast/log.h"

#define TICK_NS          200000000ull
#define POLL_BACKOFF_MAX 30.0
#define REPEAT_PAUSE_NS  1000000000ull /* between polls that bring back an order being carried out */

/* ---- helpers shared by the agent's files ---- */

void agent_event(struct agent *a, const char *name, ...)
{
    if (!a->cfg->json)
        return;
    char line[2048];
    crow_event_writer_t w;
    crow_event_begin(&w, line, sizeof line, name);
    crow_event_str(&w, "host", a->cfg->host);
    va_list ap;
    va_start(ap, name);
    for (const char *k; (k = va_arg(ap, const char *));)
        crow_event_str(&w, k, va_arg(ap, const char *));
    va_end(ap);
    long n = crow_event_end(&w);
    if (n > 0) {
        fwrite(line, 1, (size_t)n, stdout);
        fflush(stdout);
    }
}

bool agent_path(const struct agent *a, char *buf, size_t cap, const char *name, const char *rest)
{
    int n = rest ? snprintf(buf, cap, "%s/%s/%s", a->cfg->dir, name, rest)
                 : snprintf(buf, cap, "%s/%s", a->cfg->dir, name);
    return n > 0 && (size_t)n < cap;
}

bool agent_is_verified(const struct agent *a, const char *release)
{
    for (unsigned i = 0; i < AGENT_MAX_VERIFIED; i++)
        if (strcmp(a->verified[i], release) == 0)
            return true;
    return false;
}

void agent_mark_verified(struct agent *a, const char *release)
{
    if (agent_is_verified(a, release))
        return;
    snprintf(a->verified[a->verified_next], sizeof a->verified[0], "%s", release);
    a->verified_next = (a->verified_next + 1) % AGENT_MAX_VERIFIED;
}

void agent_http_refusal(const crow_http_response_t *res, char *out, size_t cap)
{
    /* The body's first line (a text/plain reason, or a bencoded failure) with only printable bytes. */
    size_t n = 0;
    int len = snprintf(out, cap, "tracker answered HTTP %d: ", res->status);
    for (size_t i = 0; len > 0 && (size_t)len + n + 1 < cap && i < res->body_len && res->body[i] != '\n'; i++)
        out[len + n++] = res->body[i] >= ' ' && res->body[i] < 127 ? (char)res->body[i] : '?';
    if (len > 0 && (size_t)len + n < cap)
        out[len + n] = '\0';
}

const char *agent_current(const struct agent *a)
{
    return a->state.release_count ? a->state.releases[0].current : "";
}

/* ---- state file ---- */

static void write_state(struct agent *a);

static void on_state_written(void *ctx, int err)
{
    struct agent *a = ctx;
    a->state_writing = false;
    if (err)
        crow_log_error("writing the state file: %s", crow_strerror(err));
    if (a->state_dirty)
        write_state(a);
}

static void write_state(struct agent *a)
{
    a->state_dirty = false;
    long n = crow_agent_state_encode(&a->state, a->state_buf, sizeof a->state_buf);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", a->cfg->dir, CROW_AGENT_STATE_FILE);
    int ret = n < 0 ? (int)n
                    : crow_atomic_file_write(&a->state_file, a->loop, path, a->state_buf, (size_t)n,
                                             on_state_written, a);
    if (ret)
        crow_log_error("writing the state file: %s", crow_strerror(ret));
    else
        a->state_writing = true;
}

void agent_save_state(struct agent *a)
{
    if (a->state_writing)
        a->state_dirty = true; /* written again, whole, once the write in flight is done */
    else
        write_state(a);
}

/* Reads DIR/.crowcast-agent before the loop runs (a missing file is a fresh host). */
static int load_state(struct agent *a)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", a->cfg->dir, CROW_AGENT_STATE_FILE);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    ssize_t n = read(fd, a->state_buf, sizeof a->state_buf);
    int ret = n < 0 ? -errno : 0;
    close(fd);
    if (ret)
        return ret;
    const char *why = "";
    if ((size_t)n == sizeof a->state_buf ||
        crow_agent_state_decode(a->state_buf, (size_t)n, &a->state, &why)) {
        fprintf(stderr, "crowcast agent: %s does not decode (%s); move it away to start afresh\n", path,
                (size_t)n == sizeof a->state_buf ? "too large" : why);
        return CROW_EPARSE;
    }
    for (uint32_t i = 0; i < a->state.release_count; i++)
        crow_log_info("state: %s runs %.12s (previous %.12s)", a->state.releases[i].name,
                      a->state.releases[i].current[0] ? a->state.releases[i].current : "-",
                      a->state.releases[i].previous[0] ? a->state.releases[i].previous : "-");
    if (a->state.outbox_count)
        crow_log_info("state: %u reports to send again", a->state.outbox_count);
    return 0;
}

/* ---- polls ---- */

static void poll_later(struct agent *a, uint64_t ns)
{
    a->next_poll_ns = crow_loop_now(a->loop) + ns;
}

static void poll_problem(struct agent *a, const char *what)
{
    crow_log(strcmp(what, a->poll_problem) ? CROW_LOG_WARN : CROW_LOG_DEBUG,
             "poll: %s; trying again in %.0f s", what, a->poll_backoff);
    snprintf(a->poll_problem, sizeof a->poll_problem, "%s", what);
    poll_later(a, (uint64_t)(a->poll_backoff * 1e9));
    a->poll_backoff = a->poll_backoff * 2 > POLL_BACKOFF_MAX ? POLL_BACKOFF_MAX : a->poll_backoff * 2;
}

static bool same_order(const crow_agent_order_t *x, const crow_agent_order_t *y)
{
    return x->order == y->order && x->rollout == y->rollout && strcmp(x->release, y->release) == 0 &&
           strcmp(x->name, y->name) == 0;
}

static void on_order(struct agent *a, const crow_agent_order_t *o)
{
    uint64_t held = crow_loop_now(a->loop) - a->poll_sent_ns;
    if (o->order == CROW_ORDER_NONE) {
        /* A held poll ended: ask again now. One answered at once waits the tracker's interval. */
        bool answered_at_once = a->cfg->poll_wait == 0 || held < (uint64_t)a->cfg->poll_wait * 500000000ull;
        poll_later(a, answered_at_once ? (uint64_t)(o->interval ? o->interval : 5) * 1000000000ull : 0);
        return;
    }
    /* The order stays outstanding until the tracker has the report: do not carry it out twice. But
     * repeated to a poll sent after the tracker answered every report, it means the tracker lost
     * them (restarted on an empty --state, numbering rollouts from 1 again): carry it out again (a
     * verified release is not fetched again). */
    bool repeated = a->have_done && same_order(o, &a->done);
    if (agent_job_busy(a) ||
        (repeated && (a->state.outbox_count > 0 || a->poll_sent_ns <= a->reports_answered_ns))) {
        poll_later(a, REPEAT_PAUSE_NS);
        return;
    }
    if (repeated)
        crow_log_warn("rollout %u: the tracker repeats a %s order whose reports it has answered (its state "
                      "was reset?): carrying it out again",
                      o->rollout, crow_order_name(o->order));
    agent_job_start(a, o);
    poll_later(a, 0);
}

static void on_poll(void *ctx, int err, const crow_http_response_t *res)
{
    struct agent *a = ctx;
    if (a->stopping)
        return;
    char what[160];
    if (err || res->status != 200) {
        snprintf(what, sizeof what, "%s", err ? crow_strerror(err) : "HTTP error");
        if (!err)
            agent_http_refusal(res, what, sizeof what);
        poll_problem(a, what);
        return;
    }
    crow_agent_order_t o;
    const char *why = "";
    int ret = crow_agent_order_decode(res->body, res->body_len, &o, &why);
    if (ret) {
        snprintf(what, sizeof what, "%s: %.140s", ret == CROW_EPROTO ? "refused" : "malformed answer",
                 ret == CROW_EPROTO ? o.failure : why);
        poll_problem(a, what);
        return;
    }
    if (a->poll_problem[0])
        crow_log_info("tracker reachable again");
    a->poll_problem[0] = '\0';
    a->poll_backoff = 1;
    on_order(a, &o);
}

static void send_poll(struct agent *a)
{
    char target[1024];
    long n = crow_agent_poll_target(target, sizeof target, a->prefix, a->cfg->host, a->cfg->rack,
                                    agent_current(a), a->cfg->poll_wait);
    a->next_poll_ns = UINT64_MAX; /* set again when the answer comes */
    a->poll_sent_ns = crow_loop_now(a->loop);
    int ret = n < 0 ? (int)n
                    : crow_http_client_request(a->poll_http, &a->server, a->cfg->iface, "POST", target,
                                               a->cfg->key, a->cfg->poll_wait + 10.0);
    if (ret)
        poll_problem(a, crow_strerror(ret));
}

/* ---- tick, signals ---- */

static void on_tick(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    (void)res;
    struct agent *a = op->owner;
    if (a->stopping)
        return;
    uint64_t now = crow_loop_update_now(a->loop);
    agent_gets_tick(a);
    agent_job_tick(a, now);
    agent_reports_tick(a, now);
    if (now >= a->next_poll_ns && !crow_http_client_busy(a->poll_http))
        send_poll(a);
    crow_io_timeout(a->loop, &a->tick, TICK_NS);
}

static void on_signal(void *ctx, int signo)
{
    struct agent *a = ctx;
    crow_log_info("signal %d: stopping (downloads resume at the next start)", signo);
    a->stopping = true;
    crow_loop_stop(a->loop, 1);
}

/* ---- setup ---- */

static int setup(struct agent *a)
{
    const struct crow_agent_config *cfg = a->cfg;
    if (crow_http_client_parse_server(cfg->tracker, &a->server)) {
        fprintf(stderr, "crowcast agent: --tracker wants http[s]://ADDR:PORT, not '%s'\n", cfg->tracker);
        return CROW_EUSAGE;
    }
    size_t plen = strlen(a->server.path);
    while (plen && a->server.path[plen - 1] == '/')
        plen--;
    snprintf(a->prefix, sizeof a->prefix, "%.*s", (int)plen, a->server.path);
    if (mkdir(cfg->dir, 0755) && errno != EEXIST) {
        fprintf(stderr, "crowcast agent: cannot create %s: %s\n", cfg->dir, strerror(errno));
        return -errno;
    }
    int ret = load_state(a);
    if (ret)
        return ret;
    if ((ret = crow_loop_new(&a->loop, 256))) {
        fprintf(stderr, "crowcast agent: io_uring: %s\n", crow_strerror(ret));
        return ret;
    }
    if ((ret = crow_http_client_new(&a->poll_http, a->loop, 16 * 1024, on_poll, a)) ||
        (ret = agent_reports_init(a)) || (ret = agent_download_init(a)))
        return ret;
    static const int sigs[] = {SIGINT, SIGTERM};
    if ((ret = crow_signals_watch(a->loop, &a->signals, sigs, 2, on_signal, a)))
        return ret;
    a->poll_backoff = 1;
    a->torrent_file.fd = a->torrent_file.dirfd = a->state_file.fd = a->state_file.dirfd = -1;
    crow_op_init(&a->tick, on_tick, a);
    return crow_io_timeout(a->loop, &a->tick, 1);
}

int crow_agent_run(const struct crow_agent_config *cfg)
{
    struct agent *a = calloc(1, sizeof *a);
    if (!a)
        return CROW_AGENT_IO;
    a->cfg = cfg;
    int ret = setup(a);
    int code = ret == CROW_EUSAGE || ret == CROW_EPARSE ? CROW_AGENT_USAGE
               : ret                                    ? CROW_AGENT_IO
                                                        : CROW_AGENT_OK;
    if (ret == 0) {
        crow_log_info("agent %s: tracker %s, releases in %s", cfg->host, cfg->tracker, cfg->dir);
        agent_event(a, "started", "tracker", cfg->tracker, "dir", cfg->dir, "current", agent_current(a),
                    NULL);
        int r = crow_loop_run(a->loop);
        if (r < 0) {
            crow_log_error("event loop: %s", crow_strerror(r));
            code = CROW_AGENT_IO;
        }
    }
    a->stopping = true;
    if (a->job.proc_running)
        crow_child_stop(&a->job.proc, 5);
    agent_gets_stop(a, 5);
    crow_http_client_free(a->poll_http);
    crow_http_client_free(a->report_http);
    agent_download_free(a);
    crow_signals_close(a->loop, a->signals);
    if (a->loop) {
        crow_io_cancel(a->loop, &a->tick);
        /* The last state write finishes (a report queued just before the signal is kept). */
        if (crow_loop_drain(a->loop, 3000000000ull))
            crow_log_warn("shutdown: some I/O did not finish in time");
        crow_loop_free(a->loop);
    }
    for (unsigned i = 0; i < AGENT_MAX_GETS; i++)
        if (a->gets[i].child.out_fd >= 0 && a->gets[i].child.pid)
            close(a->gets[i].child.out_fd);
    free(a);
    return code;
}
