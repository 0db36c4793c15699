/* The rollout endpoints of the tracker: /agent/poll, /agent/torrent, /agent/report and /rollout/...
 * (see tracker_rollout.h), their answers, and the release torrents kept in the state directory.
 *
 * Files here (a torrent read at /rollout/start, its copy into DIR/releases, a torrent that is not the
 * current one) use plain blocking calls: they happen once per rollout or per restart, and the copy must
 * be on disk before the START record that names it is journaled. The journal itself, written for
 * every input, goes through the loop (tracker_journal.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowcast/error.h"
#include "crowcast/event.h"
#include "crowcast/hash.h"
#include "crowcast/log.h"
#include "crowcast/manifest.h"
#include "crowcast/rollout_query.h"
#include "tracker_rollout_internal.h"

#define SCRATCH_MAX     (CROW_MANIFEST_MAX_BYTES + 1024u)
#define POLL_INTERVAL_S 5 /* told to agents that polled with wait=0 and got nothing to do */
#define NO_STATE        "tracker started without --state"

int tracker_rollout_scratch(tracker_rollout_t *tr, size_t cap)
{
    if (cap <= tr->scratch_cap)
        return 0;
    uint8_t *bigger = cap <= SCRATCH_MAX ? realloc(tr->scratch, cap) : NULL;
    if (!bigger)
        return -ENOMEM;
    tr->scratch = bigger;
    tr->scratch_cap = cap;
    return 0;
}

static void reply(struct tracker_reply *out, int status, const char *type, const void *body, size_t len)
{
    *out = (struct tracker_reply){.status = status, .content_type = type, .body = body, .len = len};
}

static void agent_failure(tracker_rollout_t *tr, struct tracker_reply *out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void agent_failure(tracker_rollout_t *tr, struct tracker_reply *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tr->why, sizeof tr->why, fmt, ap);
    va_end(ap);
    long n = crow_announce_encode_failure(tr->scratch, tr->scratch_cap, tr->why);
    reply(out, 200, "text/plain", tr->scratch, n > 0 ? (size_t)n : 0);
    out->failure = tr->why;
}

/* Operator answers are one-line JSON objects ({"event":"rollout",...}). */
static void json_begin(tracker_rollout_t *tr, crow_event_writer_t *w)
{
    crow_event_begin(w, (char *)tr->scratch, tr->scratch_cap, "rollout");
}

static void json_end(tracker_rollout_t *tr, crow_event_writer_t *w, int status, struct tracker_reply *out)
{
    long n = crow_event_end(w);
    reply(out, status, "application/json", tr->scratch, n > 0 ? (size_t)n : 0);
}

static void json_error(tracker_rollout_t *tr, struct tracker_reply *out, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void json_error(tracker_rollout_t *tr, struct tracker_reply *out, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tr->why, sizeof tr->why, fmt, ap);
    va_end(ap);
    crow_event_writer_t w;
    json_begin(tr, &w);
    crow_event_str(&w, "error", tr->why);
    json_end(tr, &w, status, out);
    out->failure = tr->why;
}

static void poll_answer(tracker_rollout_t *tr, const char *host, struct tracker_reply *out)
{
    const crow_rollout_t *r = tr->durable;
    const char *release;
    enum crow_order o = crow_rollout_order_for(r, host, &release);
    long n = crow_poll_answer_encode(tr->scratch, tr->scratch_cap, o, r->id, o ? release : "",
                                     o ? r->name : "", POLL_INTERVAL_S);
    reply(out, 200, "text/plain", tr->scratch, n > 0 ? (size_t)n : 0);
}

static void state_answer(tracker_rollout_t *tr, struct tracker_reply *out)
{
    crow_event_writer_t w;
    json_begin(tr, &w);
    crow_event_bool(&w, "ok", true);
    crow_event_u64(&w, "rollout", tr->durable->id);
    crow_event_str(&w, "state", crow_rollout_state_name(tr->durable->state));
    json_end(tr, &w, 200, out);
}

void tracker_rollout_held_answer(tracker_rollout_t *tr, enum wait_kind kind, uint32_t host, int err,
                                 struct tracker_reply *out)
{
    const crow_rollout_t *r = tr->durable;
    if (err && (kind == W_POLL || kind == W_REPORT)) {
        agent_failure(tr, out, "tracker journal write failed (%s): try again", crow_strerror(err));
    } else if (err) {
        json_error(tr, out, 503, "tracker journal write failed (%s): not done", crow_strerror(err));
    } else if (kind == W_POLL) {
        poll_answer(tr, host < r->host_count ? r->hosts[host].name : "", out);
    } else if (kind == W_REPORT) {
        reply(out, 200, "text/plain", "d2:oki1ee", 9);
    } else if (kind == W_CONTROL) {
        state_answer(tr, out);
    } else {
        crow_event_writer_t w;
        json_begin(tr, &w);
        crow_event_u64(&w, "rollout", r->id);
        crow_event_str(&w, "release", r->release);
        crow_event_str(&w, "name", r->name);
        crow_event_u64(&w, "waves", r->wave_count);
        crow_event_str(&w, "state", crow_rollout_state_name(r->state));
        json_end(tr, &w, 200, out);
    }
}

/* Reads a whole regular file of at most max bytes into a new buffer. Returns 0, -errno (-EINVAL: not
 * a regular file) or CROW_ELIMIT. O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
 * writer, with the whole loop (every announce and poll) stopped behind it. */
static int read_file(const char *path, size_t max, uint8_t **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return -EINVAL;
    }
    int ret = tracker_read_file(fd, max, out, len);
    close(fd);
    return ret;
}

/* Writes path atomically and durably: a temporary file, fsync, rename, fsync of the directory. */
static int write_durable(const char *dir, const char *path, const uint8_t *buf, size_t len)
{
    char tmp[PATH_MAX + 256];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    int ret = 0, fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    for (size_t done = 0; done < len && !ret;) {
        ssize_t n = write(fd, buf + done, len - done);
        if (n < 0 && errno != EINTR)
            ret = -errno;
        done += n > 0 ? (size_t)n : 0;
    }
    if (!ret && fsync(fd))
        ret = -errno;
    close(fd);
    if (!ret && rename(tmp, path))
        ret = -errno;
    if (ret) {
        unlink(tmp);
        return ret;
    }
    tracker_sync_dir(dir);
    return 0;
}

static void torrent_path(const tracker_rollout_t *tr, const char *release, char *out, size_t cap)
{
    snprintf(out, cap, "%s/releases/%s.torrent", tr->dir, release);
}

void tracker_rollout_cache_torrent(tracker_rollout_t *tr, const char *release)
{
    char path[PATH_MAX + 128];
    uint8_t *buf;
    size_t len;
    torrent_path(tr, release, path, sizeof path);
    int ret = read_file(path, CROW_MANIFEST_MAX_BYTES, &buf, &len);
    if (ret) {
        crow_log_warn("%s: %s: agents cannot fetch release %.12s", path, crow_strerror(ret), release);
        return;
    }
    free(tr->torrent);
    tr->torrent = buf;
    tr->torrent_len = len;
    snprintf(tr->torrent_id, sizeof tr->torrent_id, "%s", release);
}

static bool is_release(const char *s)
{
    return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static bool serve_torrent(tracker_rollout_t *tr, const crow_http_request_t *req, struct tracker_reply *out)
{
    char id[80];
    if (crow_query_value(req->query, "release", id, sizeof id) || !is_release(id)) {
        reply(out, 400, "text/plain", "release= wants 64 lower-case hex digits\n", 40);
        return true;
    }
    if (tr->torrent && strcmp(id, tr->torrent_id) == 0) {
        reply(out, 200, "application/x-bittorrent", tr->torrent, tr->torrent_len);
        return true;
    }
    char path[PATH_MAX + 128];
    uint8_t *buf;
    size_t len;
    torrent_path(tr, id, path, sizeof path);
    if (read_file(path, CROW_MANIFEST_MAX_BYTES, &buf, &len)) {
        reply(out, 404, "text/plain", "unknown release\n", 16);
        return true;
    }
    if (tracker_rollout_scratch(tr, len)) {
        free(buf);
        reply(out, 503, "text/plain", "out of memory\n", 14);
        return true;
    }
    memcpy(tr->scratch, buf, len);
    free(buf);
    reply(out, 200, "application/x-bittorrent", tr->scratch, len);
    return true;
}

/* An agent identity speaks only for its own host. */
static bool not_its_host(tracker_rollout_t *tr, const crow_control_auth_key_t *who, const char *host,
                         struct tracker_reply *out)
{
    if (!who || strcmp(who->name, host) == 0)
        return false;
    agent_failure(tr, out, "agent %s cannot speak for host %s", who->name, host);
    out->status = 403;
    return true;
}

static bool serve_poll(tracker_rollout_t *tr, const crow_http_request_t *req, uint32_t src,
                       const crow_control_auth_key_t *who, void *conn, struct tracker_reply *out)
{
    crow_poll_query_t q;
    const char *why;
    if (crow_poll_query_parse(req->query, &q, &why)) {
        agent_failure(tr, out, "%s", why);
        return true;
    }
    if (not_its_host(tr, who, q.host, out))
        return true;
    /* The racks file decides for an address it covers. A signed poll's claimed rack is never believed
     * (an address outside the racks file is in no rack); only an insecure tracker takes it. */
    if (who)
        q.rack[0] = '\0';
    const crow_rack_t *rack = crow_racks_get(tr->racks, crow_racks_lookup(tr->racks, src));
    crow_jrec_t *rec = &tr->rec;
    memset(rec, 0, sizeof *rec);
    rec->type = CROW_JREC_HOST;
    rec->rollout = tr->ahead->id;
    rec->t_ms = tracker_rollout_wall_ms();
    snprintf(rec->host, sizeof rec->host, "%s", q.host);
    snprintf(rec->rack, sizeof rec->rack, "%s", rack ? rack->name : q.rack);
    uint32_t known = crow_rollout_find_host(tr->ahead, q.host);
    if (!rec->rack[0] && known != UINT32_MAX && tr->ahead->hosts[known].rack < tr->ahead->rack_count)
        snprintf(rec->rack, sizeof rec->rack, "%s",
                 tr->ahead->racks[tr->ahead->hosts[known].rack]); /* optional */
    snprintf(rec->release, sizeof rec->release, "%s", q.current);
    int ret = tracker_rollout_submit(tr, rec);
    if (ret < 0) {
        agent_failure(tr, out, "%s",
                      ret == CROW_ELIMIT ? "tracker busy or host table full: try again later"
                                         : "invalid host or rack name (1-63 of [A-Za-z0-9._-], racks 1-32)");
        return true;
    }
    if (ret == 0)
        crow_log_info("rollout: host %s registered in rack %s%s%.12s", q.host,
                      rec->rack[0] ? rec->rack : "(none)", q.current[0] ? ", running " : "", q.current);
    uint32_t host = known != UINT32_MAX ? known : crow_rollout_find_host(tr->ahead, q.host);
    /* Both copies: the one decisions come from, and the one it goes back to after a failed write. */
    crow_rollout_seen(tr->ahead, host, rec->t_ms);
    crow_rollout_seen(tr->durable, crow_rollout_find_host(tr->durable, q.host), rec->t_ms);
    tracker_rollout_after_input(tr);
    const char *release;
    bool durable = tracker_journal_appended(tr->journal) <= tracker_journal_durable(tr->journal);
    if (durable &&
        (q.wait_s == 0 || crow_rollout_order_for(tr->durable, q.host, &release) != CROW_ORDER_NONE)) {
        poll_answer(tr, q.host, out);
        return true;
    }
    uint64_t deadline = crow_loop_now(tr->loop) + (uint64_t)q.wait_s * 1000000000ull;
    if (!tracker_rollout_hold(tr, conn, W_POLL, host, deadline)) {
        poll_answer(tr, q.host, out); /* every slot taken: answer from what is on disk now */
        return true;
    }
    tracker_rollout_arm(tr); /* for this poll's end */
    return false;
}

static bool serve_report(tracker_rollout_t *tr, const crow_http_request_t *req,
                         const crow_control_auth_key_t *who, void *conn, struct tracker_reply *out)
{
    crow_report_query_t q;
    const char *why;
    if (crow_report_query_parse(req->query, &q, &why)) {
        agent_failure(tr, out, "%s", why);
        return true;
    }
    if (not_its_host(tr, who, q.host, out))
        return true;
    uint32_t known = crow_rollout_find_host(tr->ahead, q.host);
    if (known == UINT32_MAX) {
        agent_failure(tr, out, "unknown host %s: poll first", q.host);
        return true;
    }
    if (q.seq && q.seq < tr->ahead->hosts[known].report_seq) {
        agent_failure(tr, out, "stale report: sequence %llu is older than %llu, taken already from host %s",
                      (unsigned long long)q.seq, (unsigned long long)tr->ahead->hosts[known].report_seq,
                      q.host);
        return true;
    }
    crow_jrec_t *rec = &tr->rec;
    memset(rec, 0, sizeof *rec);
    rec->type = CROW_JREC_REPORT;
    rec->rollout = q.rollout;
    rec->t_ms = tracker_rollout_wall_ms();
    rec->code = (int32_t)q.step;
    rec->status = q.ok ? 0 : 1;
    rec->seq = q.seq;
    snprintf(rec->host, sizeof rec->host, "%s", q.host);
    snprintf(rec->text, sizeof rec->text, "%s", q.detail);
    int ret = tracker_rollout_submit(tr, rec);
    if (ret == CROW_ESESSION) {
        agent_failure(tr, out, "report for rollout %u, the current one is %u", q.rollout, tr->ahead->id);
        return true;
    }
    if (ret < 0) {
        agent_failure(tr, out,
                      ret == CROW_ELIMIT ? "tracker busy: report again"
                                         : "%s %s does not fit host %s's state (no such order, or "
                                           "reported already)",
                      crow_step_name(q.step), q.ok ? "ok" : "failed", q.host);
        return true;
    }
    tracker_rollout_after_input(tr);
    if (tracker_journal_appended(tr->journal) <= tracker_journal_durable(tr->journal)) {
        reply(out, 200, "text/plain", "d2:oki1ee", 9);
        return true;
    }
    if (!tracker_rollout_hold(tr, conn, W_REPORT, 0, 0)) {
        agent_failure(tr, out, "tracker busy: report again");
        return true;
    }
    return false;
}

/* The operator's request was journaled (or changed nothing): answer once it is durable. */
static bool held_or_now(tracker_rollout_t *tr, void *conn, enum wait_kind kind, struct tracker_reply *out)
{
    if (tracker_journal_appended(tr->journal) <= tracker_journal_durable(tr->journal)) {
        tracker_rollout_held_answer(tr, kind, 0, 0, out);
        return true;
    }
    if (!tracker_rollout_hold(tr, conn, kind, 0, 0)) {
        json_error(tr, out, 503, "tracker busy: the command is recorded, see /rollout/status");
        return true;
    }
    return false;
}

static bool serve_start(tracker_rollout_t *tr, const crow_http_request_t *req, void *conn,
                        struct tracker_reply *out)
{
    static crow_start_query_t q;
    const char *why;
    if (crow_start_query_parse(req->query, &q, &why)) {
        json_error(tr, out, 400, "%s", why);
        return true;
    }
    uint8_t *buf = NULL;
    size_t len;
    int ret = read_file(q.torrent, CROW_MANIFEST_MAX_BYTES, &buf, &len);
    if (ret) {
        json_error(tr, out, 400, "torrent %s: %s (the tracker reads it itself)", q.torrent,
                   ret == -EINVAL ? "not a regular file" : crow_strerror(ret));
        return true;
    }
    crow_manifest_t m;
    char text[PATH_MAX + 64], id[65], copy[PATH_MAX + 128];
    if ((ret = crow_manifest_parse(buf, len, &m, text, sizeof text))) {
        free(buf);
        json_error(tr, out, 400, "torrent %s: %s", q.torrent, text);
        return true;
    }
    crow_hex(m.release_id, CROW_SHA256_LEN, id);
    torrent_path(tr, id, copy, sizeof copy);
    crow_rollout_plan_error_t perr = {0};
    ret = crow_rollout_prepare_start(tr->ahead, id, m.name, copy, q.plan, tr->racks, q.distribute,
                                     tracker_rollout_wall_ms(), &tr->rec, &perr);
    crow_manifest_dispose(&m);
    if (ret) {
        free(buf);
        json_error(tr, out, ret == CROW_EUSAGE ? 409 : 400, "%s%s",
                   ret == CROW_EUSAGE ? "" : "plan: ", perr.text);
        return true;
    }
    snprintf(text, sizeof text, "%s/releases", tr->dir);
    if ((ret = write_durable(text, copy, buf, len))) {
        free(buf);
        json_error(tr, out, 500, "cannot copy the torrent to %s: %s", copy, crow_strerror(ret));
        return true;
    }
    if ((ret = tracker_rollout_submit(tr, &tr->rec))) {
        free(buf);
        json_error(tr, out, ret == CROW_ELIMIT ? 503 : 409, "cannot start: %s", crow_strerror(ret));
        return true;
    }
    free(tr->torrent);
    tr->torrent = buf;
    tr->torrent_len = len;
    snprintf(tr->torrent_id, sizeof tr->torrent_id, "%s", id);
    crow_log_info("rollout %u requested: %s (%.12s) from %s, distribute %s", tr->rec.rollout, tr->rec.name,
                  id, q.torrent, q.distribute == CROW_DISTRIBUTE_ALL ? "all" : "per-wave");
    tracker_rollout_after_input(tr);
    return held_or_now(tr, conn, W_START, out);
}

static const struct {
    const char *path;
    enum crow_control code;
} controls[] = {
    {"/rollout/pause", CROW_CONTROL_PAUSE},
    {"/rollout/resume", CROW_CONTROL_RESUME},
    {"/rollout/abort", CROW_CONTROL_ABORT},
    {"/rollout/rollback", CROW_CONTROL_ROLLBACK},
};

static bool serve_control(tracker_rollout_t *tr, const crow_http_request_t *req, enum crow_control code,
                          void *conn, struct tracker_reply *out)
{
    crow_jrec_t *rec = &tr->rec;
    memset(rec, 0, sizeof *rec);
    if (crow_query_value(req->query, "reason", rec->text, sizeof rec->text) < 0) {
        json_error(tr, out, 400, "invalid reason");
        return true;
    }
    const char *verb = controls[code - 1].path + strlen("/rollout/");
    rec->type = CROW_JREC_CONTROL;
    rec->rollout = tr->ahead->id;
    rec->t_ms = tracker_rollout_wall_ms();
    rec->code = (int32_t)code;
    int ret = tracker_rollout_submit(tr, rec);
    if (ret == CROW_ESESSION || ret == CROW_EUSAGE) {
        if (tr->ahead->state == CROW_ROLLOUT_IDLE)
            json_error(tr, out, 409, "cannot %s: no rollout yet", verb);
        else
            json_error(tr, out, 409, "cannot %s: rollout %u is %s", verb, tr->ahead->id,
                       crow_rollout_state_name(tr->ahead->state));
        return true;
    }
    if (ret < 0) {
        json_error(tr, out, 503, "cannot %s now: %s", verb, crow_strerror(ret));
        return true;
    }
    tracker_rollout_after_input(tr);
    return held_or_now(tr, conn, W_CONTROL, out);
}

static bool serve_status(tracker_rollout_t *tr, const crow_http_request_t *req, struct tracker_reply *out)
{
    char format[16];
    bool json =
        crow_query_value(req->query, "format", format, sizeof format) == 0 && strcmp(format, "json") == 0;
    uint64_t now = tracker_rollout_wall_ms();
    for (;;) {
        long n = json ? crow_rollout_status_json(tr->durable, now, (char *)tr->scratch, tr->scratch_cap - 1)
                      : crow_rollout_status_text(tr->durable, now, (char *)tr->scratch, tr->scratch_cap);
        if (n >= 0) {
            if (json)
                tr->scratch[n++] = '\n';
            reply(out, 200, json ? "application/json" : "text/plain", tr->scratch, (size_t)n);
            return true;
        }
        if (tracker_rollout_scratch(tr, tr->scratch_cap * 2)) {
            reply(out, 503, "text/plain", "status too large\n", 17);
            return true;
        }
    }
}

long tracker_rollout_render(const tracker_rollout_t *tr, bool metrics, char *buf, size_t len, size_t cap)
{
    if (metrics) {
        long n = crow_rollout_metrics(tr->durable, buf + len, cap - len);
        return n < 0 ? n : (long)len + n;
    }
    static const char key[] = ",\"rollout\":";
    if (len == 0 || buf[len - 1] != '}' || cap - len < sizeof key + 1)
        return CROW_ESPACE;
    len--; /* the object's closing brace moves behind the rollout */
    memcpy(buf + len, key, sizeof key - 1);
    len += sizeof key - 1;
    long n = crow_rollout_status_json(tr->durable, tracker_rollout_wall_ms(), buf + len, cap - len - 1);
    if (n < 0)
        return n;
    len += (size_t)n;
    buf[len++] = '}';
    return (long)len;
}

static bool starts_with(crow_http_str_t s, const char *prefix)
{
    return s.len >= strlen(prefix) && memcmp(s.ptr, prefix, strlen(prefix)) == 0;
}

static bool is(crow_http_str_t s, const char *text)
{
    return s.len == strlen(text) && memcmp(s.ptr, text, s.len) == 0;
}

bool tracker_rollout_handles(const crow_http_request_t *req)
{
    return starts_with(req->path, "/agent/") || starts_with(req->path, "/rollout/");
}

bool tracker_rollout_serve(tracker_rollout_t *tr, const crow_http_request_t *req, uint32_t src,
                           const crow_control_auth_key_t *who, void *conn, struct tracker_reply *out)
{
    bool agent = starts_with(req->path, "/agent/");
    if (!tr) {
        static const char json[] = "{\"event\":\"rollout\",\"error\":\"" NO_STATE "\"}\n";
        static uint8_t benc[64];
        long n = crow_announce_encode_failure(benc, sizeof benc, NO_STATE);
        if (agent)
            reply(out, 200, "text/plain", benc, n > 0 ? (size_t)n : 0);
        else
            reply(out, 409, "application/json", json, sizeof json - 1);
        out->failure = NO_STATE;
        return true;
    }
    if (is(req->path, "/agent/poll"))
        return serve_poll(tr, req, src, who, conn, out);
    if (is(req->path, "/agent/report"))
        return serve_report(tr, req, who, conn, out);
    if (is(req->path, "/agent/torrent"))
        return serve_torrent(tr, req, out);
    if (who && who->kind == CROW_AUTH_OPERATOR && !is(req->path, "/rollout/status"))
        crow_log_info("operator %s: %.*s", who->name, (int)req->path.len, req->path.ptr);
    if (is(req->path, "/rollout/start"))
        return serve_start(tr, req, conn, out);
    if (is(req->path, "/rollout/status"))
        return serve_status(tr, req, out);
    for (size_t i = 0; i < sizeof controls / sizeof controls[0]; i++)
        if (is(req->path, controls[i].path))
            return serve_control(tr, req, controls[i].code, conn, out);
    json_error(tr, out, 404,
               "not found: try /agent/poll, /agent/torrent, /agent/report or /rollout/start, status, "
               "pause, resume, abort, rollback");
    return true;
}
