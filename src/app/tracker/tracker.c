/* The tracker's server loop: listener, HTTP connections with their timeouts and cap, the expiry
 * timer, signals. Request routing and bodies are tracker_http.c's. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "auth_file.h"
#include "crowcast/addr_limits.h"
#include "crowcast/control_verifier.h"
#include "crowcast/error.h"
#include "crowcast/event.h"
#include "crowcast/log.h"
#include "crowcast/tcp.h"
#include "crowcast/tracker.h"
#include "tracker_http.h"
#include "tls_files.h"
#include "tracker_rollout.h"

#define TICK_NS      (200 * 1000000ull) /* timeout sweep period: cuts off late by at most this */
#define IN_CAP       (8192 + 1024)      /* the parser's 8 KiB head limit, plus room to see it crossed */
#define OUT_CAP      (16 * 1024)
#define HEAD_MAX     384                  /* room for a signed answer's X-Crowcast-Answer line */
#define PENDING_MAX  (256u * 1024 * 1024) /* streamed bodies of all connections together */
#define FD_RESERVE   32                   /* descriptors kept for the listener, io_uring, files */
#define DEFAULT_CONN 16384
#define LINE_MAX_    7168 /* request line: a /rollout/start carries a 1 KiB plan and a path, encoded */

struct conn {
    struct tracker *t;
    crow_tcp_conn_t *tcp;
    struct conn *prev, *next;
    crow_http_parser_t parser;
    uint64_t deadline_ns;
    bool in_request;  /* part of a request head has arrived (or TLS is shaking hands): the header timeout runs
                       */
    bool handshaking; /* TLS: the handshake has not completed */
    uint32_t src;
    uint8_t *pending; /* a response larger than the output buffer, streamed on drain */
    size_t pending_len, pending_off;
    bool held;            /* the rollout module answers later: read nothing more until then */
    bool held_keep_alive; /* keep the connection after that answer (nothing pipelined behind it) */
    bool sign_answer;     /* the request was signed: its 200 answer is signed back (control_auth.h) */
    uint8_t answer_secret[CROW_AUTH_SECRET_LEN];
    char answer_nonce[2 * CROW_AUTH_NONCE_LEN + 1];
    char held_path[32]; /* for the log */
};

struct tracker {
    const struct crow_tracker_config *cfg;
    crow_loop_t *loop;
    crow_tcp_listener_t *listener;
    crow_signals_t *signals;
    crow_tracker_registry_t *reg;
    crow_racks_t racks;
    struct tracker_http http;
    tracker_rollout_t *rollout;        /* NULL without --state */
    crow_control_verifier_t *verifier; /* NULL without --auth */
    crow_tls_session_ctx_t *tls;       /* NULL without --tls-cert; new connections use the one loaded last */
    crow_addr_limits_t *limits;        /* per source address */
    crow_addr_limits_config_t limit_cfg;
    crow_control_auth_key_t *keys; /* scratch for reading the keys file */
    struct conn *conns;            /* every open connection */
    uint32_t max_conns;
    uint64_t header_ns, idle_ns;
    size_t pending_total;
    crow_op_t tick;
};

static uint64_t now_ms(const struct tracker *t)
{
    return crow_loop_now(t->loop) / 1000000u;
}

static void unlink_conn(struct conn *c)
{
    struct tracker *t = c->t;
    if (c->prev)
        c->prev->next = c->next;
    else
        t->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    t->pending_total -= c->pending_len;
    t->http.counters.open_connections--;
    crow_addr_limits_close(t->limits, c->src);
    if (c->held)
        tracker_rollout_forget(t->rollout, c);
    free(c->pending);
    free(c);
}

/* Closes at once (no handler fires afterwards) and frees. */
static void drop(struct conn *c)
{
    crow_tcp_close(c->tcp);
    unlink_conn(c);
}

static void log_request(struct tracker *t, const struct conn *c, const crow_http_request_t *req, int status,
                        const char *failure)
{
    char src[16], path[128];
    crow_ipv4_format(c->src, src);
    size_t n = req && req->path.len < sizeof path ? req->path.len : 0;
    memcpy(path, req ? req->path.ptr : "", n);
    path[n] = '\0';
    if (t->cfg->json_log) {
        char line[512];
        crow_event_writer_t w;
        crow_event_begin(&w, line, sizeof line, "request");
        crow_event_u64(&w, "t_ms", now_ms(t));
        crow_event_str(&w, "src", src);
        crow_event_str(&w, "path", path);
        crow_event_u64(&w, "status", (uint64_t)status);
        if (failure)
            crow_event_str(&w, "failure", failure);
        long len = crow_event_end(&w);
        if (len > 0)
            fwrite(line, 1, (size_t)len, stdout);
        fflush(stdout);
    } else {
        crow_log_debug("%s %s -> %d%s%s", src, path, status, failure ? ": " : "", failure ? failure : "");
    }
}

/* Copies as much of the streamed body as fits into the output buffer. */
static void feed_pending(struct conn *c)
{
    size_t room = crow_tcp_out_space(c->tcp), left = c->pending_len - c->pending_off;
    size_t n = room < left ? room : left;
    if (n && crow_tcp_write(c->tcp, c->pending + c->pending_off, n) == 0)
        c->pending_off += n;
    if (c->pending_off == c->pending_len) {
        c->t->pending_total -= c->pending_len;
        free(c->pending);
        c->pending = NULL;
        c->pending_len = c->pending_off = 0;
        crow_tcp_close_after_flush(c->tcp); /* may free c through on_close */
    }
}

/* Sends a reply. Returns false when the connection is ending (the caller must not touch it again). */
static bool send_reply(struct conn *c, const struct tracker_reply *r, bool keep_alive)
{
    struct tracker *t = c->t;
    char head[HEAD_MAX], answer[sizeof CROW_AUTH_ANSWER_HEADER + 2 * CROW_HMAC_SHA256_LEN + 4];
    const char *extra = r->extra;
    if (c->sign_answer && r->status == 200) {
        char mac[2 * CROW_HMAC_SHA256_LEN + 1];
        crow_control_auth_answer_mac(c->answer_secret, c->answer_nonce, r->status, r->body, r->len, mac);
        snprintf(answer, sizeof answer, CROW_AUTH_ANSWER_HEADER ": %s", mac);
        extra = answer;
    }
    size_t total = r->len + HEAD_MAX;
    /* A reply that does not fit the output buffer now is streamed, and ends the connection: input
     * behind it would wait for a read that may never come (the tcp layer hands input over on reads). */
    bool fits = total <= crow_tcp_out_space(c->tcp);
    long hl = crow_http_write_head_with(head, sizeof head, r->status, r->content_type, r->len,
                                        keep_alive && fits, extra);
    if (hl < 0) {
        drop(c);
        return false;
    }
    if (fits) {
        uint8_t *dst = crow_tcp_reserve(c->tcp, (size_t)hl + r->len);
        memcpy(dst, head, (size_t)hl);
        memcpy(dst + hl, r->body, r->len);
        crow_tcp_commit(c->tcp, (size_t)hl + r->len);
        if (keep_alive)
            return true;
        crow_tcp_close_after_flush(c->tcp);
        return false;
    }
    size_t len = (size_t)hl + r->len;
    uint8_t *copy = t->pending_total + len <= PENDING_MAX ? malloc(len) : NULL;
    if (!copy) {
        crow_log_warn("no room to stream a %zu-byte reply: connection dropped", len);
        drop(c);
        return false;
    }
    memcpy(copy, head, (size_t)hl);
    memcpy(copy + hl, r->body, r->len);
    c->pending = copy;
    c->pending_len = len;
    t->pending_total += len;
    feed_pending(c);
    return false;
}

static void refuse(struct conn *c, int status, const char *why)
{
    char buf[512];
    long n = crow_http_write_error(buf, sizeof buf, status, why);
    if (status < 500)
        c->t->http.counters.responses_4xx++;
    else
        c->t->http.counters.responses_5xx++;
    log_request(c->t, c, NULL, status, why);
    if (n > 0 && crow_tcp_write(c->tcp, buf, (size_t)n) == 0)
        crow_tcp_close_after_flush(c->tcp);
    else
        drop(c);
}

static void log_limit(uint32_t addr, const char *what, double limit)
{
    char src[16];
    crow_ipv4_format(addr, src);
    crow_log_warn("%s: over the per-address limit of %g %s: refused (logged again after it is "
                  "admitted once more)",
                  src, limit, what);
}

static long on_data(void *ctx, crow_tcp_conn_t *tcp, const uint8_t *data, size_t len)
{
    (void)tcp;
    struct conn *c = ctx;
    struct tracker *t = c->t;
    size_t used = 0;
    while (!c->pending && !c->held) {
        crow_http_request_t req;
        crow_http_error_t err;
        int ret = crow_http_parse_request(&c->parser, data + used, len - used, &req, &err);
        if (ret == CROW_EMORE) {
            if (used < len && !c->in_request) {
                c->in_request = true;
                c->deadline_ns = crow_loop_now(t->loop) + t->header_ns;
            }
            return (long)used;
        }
        if (ret < 0) {
            refuse(c, err.status, err.why);
            return (long)len;
        }
        used += (size_t)ret;
        enum crow_addr_verdict v = crow_addr_limits_request(t->limits, c->src, now_ms(t));
        if (v != CROW_ADDR_OK) {
            t->http.counters.rate_limited++;
            if (v == CROW_ADDR_REFUSED_FIRST)
                log_limit(c->src, "requests a second", t->limit_cfg.rate);
            refuse(c, 429, "too many requests from this address: slow down");
            return (long)len;
        }
        c->in_request = false;
        c->deadline_ns = crow_loop_now(t->loop) + t->idle_ns;
        struct tracker_reply r;
        bool now = tracker_http_answer(&t->http, &req, c->src, now_ms(t), c, &r);
        const crow_admission_t *a = &t->http.admission;
        c->sign_answer = a->who != NULL;
        if (a->who) {
            memcpy(c->answer_secret, a->who->secret, sizeof c->answer_secret);
            memcpy(c->answer_nonce, a->nonce, sizeof c->answer_nonce);
        }
        if (!now) {
            c->held = true;
            c->held_keep_alive = req.keep_alive && used == len;
            c->deadline_ns = UINT64_MAX; /* a long poll is not idle */
            snprintf(c->held_path, sizeof c->held_path, "%.*s", (int)req.path.len, req.path.ptr);
            return (long)used;
        }
        log_request(t, c, &req, r.status, r.failure);
        if (!send_reply(c, &r, req.keep_alive))
            return (long)len;
    }
    return (long)len;
}

/* The rollout module's answer to a held request. */
static void on_rollout_answer(void *ctx, void *conn, const struct tracker_reply *r)
{
    struct tracker *t = ctx;
    struct conn *c = conn;
    crow_http_request_t req = {.path = {c->held_path, strlen(c->held_path)}};
    c->held = false;
    c->deadline_ns = crow_loop_now(t->loop) + t->idle_ns;
    tracker_http_count(&t->http, r->status);
    log_request(t, c, &req, r->status, r->failure);
    send_reply(c, r, c->held_keep_alive);
}

static void on_drain(void *ctx, crow_tcp_conn_t *tcp)
{
    (void)tcp;
    struct conn *c = ctx;
    if (c->pending)
        feed_pending(c);
}

static void on_close(void *ctx, crow_tcp_conn_t *tcp, int err)
{
    (void)tcp;
    (void)err;
    struct conn *c = ctx;
    if (c->handshaking)
        c->t->http.counters.tls_failed++; /* a refused certificate, plaintext HTTP, junk, a hang-up */
    unlink_conn(c);
}

/* TLS is up: the connection waits for requests as a plain one does. */
static void on_secure(void *ctx, crow_tcp_conn_t *tcp)
{
    (void)tcp;
    struct conn *c = ctx;
    c->handshaking = false;
    c->in_request = false;
    c->deadline_ns = crow_loop_now(c->t->loop) + c->t->idle_ns;
    c->t->http.counters.tls_ok++;
}

static const struct crow_tcp_handlers handlers = {
    .on_data = on_data, .on_drain = on_drain, .on_close = on_close, .on_secure = on_secure};

static void on_accept(void *ctx, int fd, const struct sockaddr_in *peer)
{
    struct tracker *t = ctx;
    if (fd < 0) {
        crow_log_warn("accept: %s", crow_strerror(fd));
        return;
    }
    if (t->http.counters.open_connections >= t->max_conns) {
        t->http.counters.refused_over_cap++;
        close(fd);
        return;
    }
    uint32_t src = ntohl(peer->sin_addr.s_addr);
    enum crow_addr_verdict v = crow_addr_limits_open(t->limits, src, now_ms(t));
    if (v != CROW_ADDR_OK) {
        t->http.counters.refused_per_address++;
        if (v == CROW_ADDR_REFUSED_FIRST)
            log_limit(src, "open connections", t->limit_cfg.max_conns);
        close(fd);
        return;
    }
    struct conn *c = calloc(1, sizeof *c);
    struct crow_tcp_config tc = {.in_cap = IN_CAP, .out_cap = OUT_CAP, .tls = t->tls};
    if (!c || crow_tcp_adopt(t->loop, &c->tcp, fd, &tc, &handlers, c)) {
        crow_addr_limits_close(t->limits, src);
        free(c);
        close(fd);
        return;
    }
    c->t = t;
    c->src = src;
    crow_http_parser_init(&c->parser, &(crow_http_limits_t){.max_request_line = LINE_MAX_});
    /* A handshake is held to the header timeout, as a request head is: a client that opens
     * connections and never finishes it holds no slot for longer. */
    c->handshaking = c->in_request = t->tls != NULL;
    c->deadline_ns = crow_loop_now(t->loop) + (t->tls ? t->header_ns : t->idle_ns);
    c->next = t->conns;
    if (t->conns)
        t->conns->prev = c;
    t->conns = c;
    t->http.counters.accepted++;
    t->http.counters.open_connections++;
}

/* Cuts off connections past their deadline, expires silent peers, re-arms. */
static void on_tick(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    struct tracker *t = op->owner;
    if (res == -ECANCELED || crow_loop_stopping(t->loop))
        return;
    uint64_t now = crow_loop_update_now(t->loop);
    for (struct conn *c = t->conns, *next; c; c = next) {
        next = c->next;
        if (now < c->deadline_ns)
            continue; /* a streamed reply counts too: a reader that stalls it is idle */
        if (c->handshaking) {
            t->http.counters.header_timeouts++;
            t->http.counters.tls_timeouts++;
            drop(c); /* nothing can be said to it before the handshake */
        } else if (c->in_request) {
            t->http.counters.header_timeouts++;
            refuse(c, 408, "request head not received in time");
        } else {
            t->http.counters.idle_timeouts++;
            drop(c);
        }
    }
    if (crow_tracker_registry_next_deadline(t->reg) <= now / 1000000u) {
        uint32_t n = crow_tracker_registry_expire(t->reg, now / 1000000u);
        if (n)
            crow_log_info("expired %u silent peer(s)", n);
    }
    /* Wake for the next sweep, or earlier for the registry's next expiry. */
    uint64_t wait = TICK_NS, deadline = crow_tracker_registry_next_deadline(t->reg);
    if (deadline != UINT64_MAX && deadline * 1000000u > now && deadline * 1000000u - now < wait)
        wait = deadline * 1000000u - now;
    crow_io_timeout(t->loop, &t->tick, wait);
}

/* Reads the --auth file into the verifier. Returns 0 or an error (logged; the keys in use stay). */
static int load_keys(struct tracker *t)
{
    char why[PATH_MAX + 128];
    size_t count = 0;
    int ret =
        crow_auth_file_read(t->cfg->auth_path, t->keys, CROW_VERIFIER_MAX_KEYS, &count, why, sizeof why);
    if (!ret && (ret = crow_control_verifier_set_keys(t->verifier, t->keys, count)))
        snprintf(why, sizeof why, "%s: more than %u identities", t->cfg->auth_path, CROW_VERIFIER_MAX_KEYS);
    size_t ops = 0;
    for (size_t i = 0; i < count; i++)
        ops += t->keys[i].kind == CROW_AUTH_OPERATOR;
    explicit_bzero(t->keys, CROW_VERIFIER_MAX_KEYS * sizeof *t->keys); /* a line cut short too */
    if (ret) {
        crow_log_error("--auth %s", why);
        return ret;
    }
    crow_log_info("control plane: %zu operator(s) and %zu agent(s) from %s", ops, count - ops,
                  t->cfg->auth_path);
    return 0;
}

/* Reads --tls-cert and --tls-key into a new context; new connections use it, open ones keep theirs.
 * Returns 0 or an error (logged; the certificate in use stays). */
static int load_tls(struct tracker *t)
{
    char why[512];
    crow_tls_session_ctx_t *fresh;
    int ret = crow_tls_files_server(t->cfg->tls_cert, t->cfg->tls_key, &fresh, why, sizeof why);
    if (ret) {
        crow_log_error("TLS: %s", why);
        return ret;
    }
    crow_tls_session_ctx_free(t->tls);
    t->tls = fresh;
    crow_log_info("TLS: certificate %s loaded", t->cfg->tls_cert);
    return 0;
}

static void on_signal(void *ctx, int signo)
{
    struct tracker *t = ctx;
    if (signo == SIGHUP) {
        if (!t->verifier && !t->tls)
            crow_log_info("SIGHUP: no --auth or TLS file to read again");
        else if (t->verifier && load_keys(t))
            crow_log_error("SIGHUP: the keys in use stay");
        if (t->tls && load_tls(t))
            crow_log_error("SIGHUP: the certificate in use stays");
        return;
    }
    crow_log_info("signal %d: stopping", signo);
    crow_loop_stop(t->loop, 1);
}

/* Raises the descriptor limit to the hard limit; returns how many connections it leaves room for. */
static uint32_t connection_room(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl))
        return 1000;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_max;
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl))
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > UINT32_MAX)
        return UINT32_MAX;
    return rl.rlim_cur > FD_RESERVE * 2 ? (uint32_t)rl.rlim_cur - FD_RESERVE : FD_RESERVE;
}

static int load_racks(struct tracker *t, const char *path)
{
    crow_racks_init(&t->racks);
    if (!path)
        return 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "crowcast tracker: %s: %s\n", path, strerror(errno));
        return 2;
    }
    static char text[1024 * 1024];
    size_t n = fread(text, 1, sizeof text, f);
    bool too_big = n == sizeof text;
    fclose(f);
    if (too_big) {
        fprintf(stderr, "crowcast tracker: %s: larger than 1 MiB\n", path);
        return 2;
    }
    crow_racks_error_t err;
    if (crow_racks_parse(&t->racks, text, n, &err)) {
        fprintf(stderr, "crowcast tracker: %s: %s\n", path, err.text);
        return 2;
    }
    return 0;
}

/* The control policy: keys, or an insecure loopback tracker. Returns 0 or an exit code. */
static int setup_policy(struct tracker *t)
{
    const struct crow_tracker_config *cfg = t->cfg;
    crow_control_policy_t *p = &t->http.policy;
    bool loopback = (ntohl(cfg->listen.sin_addr.s_addr) >> 24) == 127;
    if (cfg->insecure_control && !loopback) {
        fprintf(stderr,
                "crowcast tracker: --insecure-control serves only a loopback address (127.x), "
                "not %s: give --auth FILE\n",
                inet_ntoa(cfg->listen.sin_addr));
        return 2;
    }
    p->insecure = cfg->insecure_control;
    p->closed_reads = cfg->closed_reads;
    if (!cfg->auth_path) {
        if (cfg->state_dir && !cfg->insecure_control)
            crow_log_warn("no --auth FILE: rollout and agent state changes are refused (see crowcast "
                          "tracker --help)");
        else if (cfg->state_dir)
            crow_log_warn("--insecure-control: anyone who reaches %s may start, stop and answer rollouts",
                          inet_ntoa(cfg->listen.sin_addr));
        return 0;
    }
    if (crow_control_verifier_new(&t->verifier, 0, 0) ||
        !(t->keys = calloc(CROW_VERIFIER_MAX_KEYS, sizeof *t->keys)))
        return 3;
    if (load_keys(t)) {
        fprintf(stderr, "crowcast tracker: --auth %s: cannot use it (see the log)\n", cfg->auth_path);
        return 2;
    }
    p->verifier = t->verifier;
    return 0;
}

int crow_tracker_run(const struct crow_tracker_config *cfg)
{
    struct tracker *t = calloc(1, sizeof *t);
    int result = 3, ret;
    if (!t)
        return 3;
    t->cfg = cfg;
    uint32_t room = connection_room();
    t->max_conns = cfg->max_connections ? cfg->max_connections : DEFAULT_CONN;
    if (t->max_conns > room) {
        crow_log_warn("--max-connections %u lowered to %u (RLIMIT_NOFILE)", t->max_conns, room);
        t->max_conns = room;
    }
    t->header_ns = (uint64_t)((cfg->header_timeout > 0 ? cfg->header_timeout : 10) * 1e9);
    t->idle_ns = (uint64_t)((cfg->idle_timeout > 0 ? cfg->idle_timeout : 60) * 1e9);
    if ((result = load_racks(t, cfg->racks_path)))
        goto out;
    crow_tracker_registry_config_t rc = {
        .interval = cfg->interval, .max_swarms = cfg->max_releases, .max_peers_per_swarm = cfg->max_peers};
    if ((ret = crow_tracker_registry_new(&t->reg, &rc, &t->racks)) ||
        (ret = tracker_http_init(&t->http, t->reg, &t->racks, cfg->trust_ip))) {
        fprintf(stderr, "crowcast tracker: %s\n", crow_strerror(ret));
        result = ret == CROW_EUSAGE ? 2 : 3;
        goto out;
    }
    if ((result = setup_policy(t)))
        goto out;
    if (cfg->tls_cert && load_tls(t)) {
        fprintf(stderr, "crowcast tracker: --tls-cert/--tls-key: cannot use them (see the log)\n");
        result = 2;
        goto out;
    }
    crow_addr_limits_config_t *lc = &t->limit_cfg;
    *lc = (crow_addr_limits_config_t){.max_conns = cfg->max_per_address ? cfg->max_per_address : 256,
                                      .rate = cfg->rate_per_address > 0 ? cfg->rate_per_address : 200};
    lc->burst = 2 * lc->rate;
    if (crow_addr_limits_new(&t->limits, lc)) {
        result = 3;
        goto out;
    }
    result = 3;
    if ((ret = crow_loop_new(&t->loop, 1024))) {
        fprintf(stderr, "crowcast tracker: io_uring: %s\n", crow_strerror(ret));
        goto out;
    }
    if ((ret = crow_tcp_listen(t->loop, &t->listener, &cfg->listen, 4096, on_accept, t))) {
        fprintf(stderr, "crowcast tracker: cannot listen on %s:%u: %s\n", inet_ntoa(cfg->listen.sin_addr),
                ntohs(cfg->listen.sin_port), crow_strerror(ret));
        goto out;
    }
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    if ((ret = crow_signals_watch(t->loop, &t->signals, sigs, 3, on_signal, t))) {
        fprintf(stderr, "crowcast tracker: signals: %s\n", crow_strerror(ret));
        goto out;
    }
    if (cfg->state_dir) {
        if ((ret = tracker_rollout_open(&t->rollout, t->loop, cfg->state_dir, &t->racks,
                                        (uint64_t)((cfg->host_expiry > 0 ? cfg->host_expiry : 300) * 1000),
                                        on_rollout_answer, t))) {
            fprintf(stderr, "crowcast tracker: --state %s: %s\n", cfg->state_dir, crow_strerror(ret));
            result = ret == CROW_EPARSE ? 2 : 3;
            goto out;
        }
        t->http.rollout = t->rollout;
    }
    const struct sockaddr_in *la = crow_tcp_listener_addr(t->listener);
    crow_log_info("serving on %s:%u%s: %u rack(s), %u multicast group(s), interval %us, up to %u connections",
                  inet_ntoa(la->sin_addr), ntohs(la->sin_port), t->tls ? " (HTTPS only)" : "", t->racks.count,
                  t->http.groups.group_count, crow_tracker_registry_config(t->reg)->interval, t->max_conns);
    crow_op_init(&t->tick, on_tick, t);
    crow_io_timeout(t->loop, &t->tick, TICK_NS);
    ret = crow_loop_run(t->loop);
    result = ret < 0 ? 3 : 0;
out:
    crow_tcp_listener_close(t->listener);
    while (t->conns)
        drop(t->conns);
    if (t->signals)
        crow_signals_close(t->loop, t->signals);
    tracker_rollout_stop(t->rollout);
    if (t->loop) {
        crow_io_cancel(t->loop, &t->tick);
        if (crow_loop_drain(t->loop, 3000000000ull))
            crow_log_warn("shutdown: some I/O did not finish in time");
        crow_loop_free(t->loop);
    }
    tracker_rollout_free(t->rollout);
    tracker_http_dispose(&t->http);
    crow_control_verifier_free(t->verifier);
    crow_tls_session_ctx_free(t->tls);
    crow_addr_limits_free(t->limits);
    free(t->keys);
    crow_tracker_registry_free(t->reg);
    free(t);
    return result;
}
