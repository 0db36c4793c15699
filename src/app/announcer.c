/* HTTP announce client: one GET /announce per connection (Connection: close), bounded buffers,
 * a timeout per request, and at most one queued announce behind the one in flight. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "announcer.h"
#include "crowcast/error.h"
#include "crowcast/http.h"
#include "crowcast/log.h"
#include "crowcast/tcp.h"
#include "crowcast/udp.h"

#define RESPONSE_MAX (64 * 1024)
#define NODES        4096

struct pending {
    bool set;
    enum crow_announce_event event;
    uint64_t uploaded, downloaded, left;
};

struct crow_announcer {
    crow_loop_t *loop;
    struct crow_announcer_config cfg;
    char path[256], host[64], rack[CROW_RACK_NAME_MAX + 1];
    uint8_t info_hash[CROW_INFO_HASH_LEN], peer_id[CROW_PEER_ID_LEN];
    struct sockaddr_in addr;
    crow_announcer_cb cb;
    void *ctx;
    crow_tcp_conn_t *conn;
    crow_op_t timer;
    bool in_flight, freeing, answered;
    int hook_status;      /* -1: none */
    uint64_t deadline_ns; /* of the request in flight */
    struct pending queued;
    uint8_t response[RESPONSE_MAX];
    size_t response_len;
    crow_bnode_t nodes[NODES];
    crow_announce_peer_t peers[CROW_ANNOUNCER_MAX_PEERS];
    struct sockaddr_in groups[CROW_ANNOUNCER_MAX_GROUPS];
};

static int parse_url(struct crow_announcer *a, const char *url)
{
    const char *p = url;
    if (strncmp(p, "http://", 7) != 0)
        return CROW_EUSAGE;
    p += 7;
    const char *slash = strchr(p, '/');
    size_t hostlen = slash ? (size_t)(slash - p) : strlen(p);
    if (hostlen == 0 || hostlen >= sizeof a->host)
        return CROW_EUSAGE;
    memcpy(a->host, p, hostlen);
    a->host[hostlen] = '\0';
    char endpoint[80];
    snprintf(endpoint, sizeof endpoint, strchr(a->host, ':') ? "%s" : "%s:80", a->host);
    if (crow_parse_endpoint(endpoint, &a->addr))
        return CROW_EUSAGE;
    snprintf(a->path, sizeof a->path, "%s", slash ? slash : "/announce");
    return 0;
}

static void start(struct crow_announcer *a);

/* Ends the request in flight: reports once, then starts the queued announce if any. */
static void finish(struct crow_announcer *a, const struct crow_announce_outcome *o)
{
    if (a->answered)
        return;
    a->answered = true;
    a->in_flight = false;
    crow_io_cancel(a->loop, &a->timer);
    if (a->conn) {
        crow_tcp_close(a->conn);
        a->conn = NULL;
    }
    if (!a->freeing)
        a->cb(a->ctx, o);
    if (a->queued.set && !a->freeing)
        start(a);
}

static void fail(struct crow_announcer *a, int err)
{
    struct crow_announce_outcome o = {.error = err};
    finish(a, &o);
}

/* Parses "groups" ("A.B.C.D:PORT,..." in the crowcast dictionary's extension) when asked for. */
static unsigned collect_groups(struct crow_announcer *a, const crow_announce_result_t *r)
{
    unsigned n = 0;
    for (unsigned i = 0; i < r->crowcast.group_count && n < CROW_ANNOUNCER_MAX_GROUPS; i++) {
        struct sockaddr_in g = {.sin_family = AF_INET,
                                .sin_port = htons(r->crowcast.groups[i].port),
                                .sin_addr.s_addr = htonl(r->crowcast.groups[i].addr)};
        a->groups[n++] = g;
    }
    return n;
}

static void deliver(struct crow_announcer *a, const crow_http_response_t *res)
{
    if (res->status != 200) {
        crow_log_debug("tracker answered HTTP %d", res->status);
        fail(a, CROW_EPROTO);
        return;
    }
    crow_announce_result_t r;
    const char *why = NULL;
    int ret = crow_announce_decode(res->body, res->body_len, a->nodes, NODES, a->peers,
                                   CROW_ANNOUNCER_MAX_PEERS, &r, &why);
    if (ret) {
        crow_log_debug("tracker response: %s", why ? why : crow_strerror(ret));
        fail(a, ret);
        return;
    }
    char failure[256];
    struct crow_announce_outcome o = {.result = &r, .peers = a->peers};
    if (r.failure) {
        size_t n = r.failure_len < sizeof failure - 1 ? r.failure_len : sizeof failure - 1;
        memcpy(failure, r.failure, n);
        failure[n] = '\0';
        o.failure = failure;
        o.result = NULL;
    }
    o.groups = a->groups;
    o.group_count = a->cfg.want_groups ? collect_groups(a, &r) : 0;
    finish(a, &o);
}

static long on_data(void *ctx, crow_tcp_conn_t *c, const uint8_t *data, size_t len)
{
    (void)c;
    struct crow_announcer *a = ctx;
    if (a->response_len + len > sizeof a->response)
        return CROW_ELIMIT;
    memcpy(a->response + a->response_len, data, len);
    a->response_len += len;
    crow_http_response_t res;
    crow_http_error_t err;
    int ret = crow_http_parse_response(a->response, a->response_len, false, NULL, &res, &err);
    if (ret > 0)
        deliver(a, &res);
    else if (ret != CROW_EMORE)
        fail(a, ret);
    return (long)len;
}

static void on_close(void *ctx, crow_tcp_conn_t *c, int err)
{
    (void)c;
    struct crow_announcer *a = ctx;
    a->conn = NULL; /* the tcp layer frees it */
    crow_http_response_t res;
    crow_http_error_t herr;
    int ret = crow_http_parse_response(a->response, a->response_len, true, NULL, &res, &herr);
    if (ret > 0)
        deliver(a, &res);
    else
        fail(a, err == CROW_ECLOSED ? CROW_EPROTO : err);
}

static void on_connect(void *ctx, crow_tcp_conn_t *c, int res)
{
    struct crow_announcer *a = ctx;
    if (res < 0) {
        a->conn = NULL;
        fail(a, res);
        return;
    }
    crow_announce_req_t req = {.port = a->cfg.port, .numwant = a->cfg.numwant, .compact = true};
    memcpy(req.info_hash, a->info_hash, sizeof req.info_hash);
    memcpy(req.peer_id, a->peer_id, sizeof req.peer_id);
    req.uploaded = a->queued.uploaded;
    req.downloaded = a->queued.downloaded;
    req.left = a->queued.left;
    req.event = a->queued.event;
    if (a->rack[0]) {
        req.has_rack = true;
        snprintf(req.rack, sizeof req.rack, "%s", a->rack);
    }
    a->queued.set = false;
    char query[1024];
    long qlen = crow_announce_build_query(query, sizeof query, &req);
    char extra[64] = "";
    int elen = snprintf(extra, sizeof extra, "%s", a->cfg.want_groups ? "&groups=1" : "");
    if (a->hook_status >= 0)
        snprintf(extra + elen, sizeof extra - (size_t)elen, "&hook=%d", a->hook_status);
    char request[1536];
    int n = qlen < 0
                ? -1
                : snprintf(request, sizeof request,
                           "GET %s%s%s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: crowcast/%s\r\n"
                           "Connection: close\r\n\r\n",
                           a->path, strchr(a->path, '?') ? "&" : "?", query, extra, a->host, CROW_VERSION);
    if (n < 0 || (size_t)n >= sizeof request || crow_tcp_write(c, request, (size_t)n)) {
        fail(a, CROW_ESPACE);
        return;
    }
}

static void on_timeout(crow_op_t *op, int res, unsigned flags)
{
    (void)flags;
    struct crow_announcer *a = op->owner;
    /* The timer may be armed twice (a new request starts before the cancelled timeout of the last
     * one completes): free only after its last completion. */
    if (a->freeing) {
        if (!crow_op_pending(&a->timer))
            free(a);
        return;
    }
    /* A timeout left over from an earlier request must not fail the one in flight now. */
    if (res == -ETIME && a->in_flight && crow_loop_now(a->loop) >= a->deadline_ns)
        fail(a, CROW_ETIMEOUT);
}

static const struct crow_tcp_handlers handlers = {
    .on_connect = on_connect, .on_data = on_data, .on_close = on_close};

static void start(struct crow_announcer *a)
{
    a->in_flight = true;
    a->answered = false;
    a->response_len = 0;
    struct sockaddr_in from = {.sin_family = AF_INET, .sin_addr = a->cfg.bind};
    struct crow_tcp_config tc = {.in_cap = 16 * 1024, .out_cap = 4096};
    int ret = crow_tcp_connect(a->loop, &a->conn, &from, &a->addr, &tc, &handlers, a);
    if (ret) {
        a->conn = NULL;
        a->in_flight = false;
        a->answered = true;
        struct crow_announce_outcome o = {.error = ret};
        a->cb(a->ctx, &o);
        return;
    }
    a->deadline_ns = crow_loop_update_now(a->loop) + (uint64_t)(a->cfg.timeout * 1e9);
    crow_io_timeout(a->loop, &a->timer, (uint64_t)(a->cfg.timeout * 1e9));
}

int crow_announcer_new(crow_announcer_t **out, crow_loop_t *loop, const struct crow_announcer_config *cfg,
                       crow_announcer_cb cb, void *ctx)
{
    struct crow_announcer *a = calloc(1, sizeof *a);
    if (!a)
        return -ENOMEM;
    int ret = parse_url(a, cfg->url);
    if (ret) {
        free(a);
        return ret;
    }
    a->loop = loop;
    a->cfg = *cfg;
    if (a->cfg.timeout <= 0)
        a->cfg.timeout = 5;
    memcpy(a->info_hash, cfg->info_hash, sizeof a->info_hash);
    memcpy(a->peer_id, cfg->peer_id, sizeof a->peer_id);
    if (cfg->rack)
        snprintf(a->rack, sizeof a->rack, "%s", cfg->rack);
    a->cfg.rack = NULL;
    a->hook_status = -1;
    a->cb = cb;
    a->ctx = ctx;
    crow_op_init(&a->timer, on_timeout, a);
    *out = a;
    return 0;
}

int crow_announcer_announce(crow_announcer_t *a, enum crow_announce_event event, uint64_t uploaded,
                            uint64_t downloaded, uint64_t left)
{
    /* A queued "started", "stopped" or "completed" is kept over a plain periodic announce. */
    if (!(a->queued.set && a->queued.event != CROW_EVENT_NONE && event == CROW_EVENT_NONE))
        a->queued.event = event;
    a->queued = (struct pending){
        .set = true, .event = a->queued.event, .uploaded = uploaded, .downloaded = downloaded, .left = left};
    if (!a->in_flight)
        start(a);
    return 0;
}

void crow_announcer_set_hook_status(crow_announcer_t *a, int code)
{
    a->hook_status = code < 0 ? 255 : code;
}

bool crow_announcer_busy(const crow_announcer_t *a)
{
    return a && (a->in_flight || a->queued.set);
}

void crow_announcer_free(crow_announcer_t *a)
{
    if (!a)
        return;
    a->freeing = true;
    if (a->conn) {
        crow_tcp_close(a->conn);
        a->conn = NULL;
    }
    a->in_flight = false;
    if (crow_op_pending(&a->timer))
        crow_io_cancel(a->loop, &a->timer); /* on_timeout frees */
    else
        free(a);
}
