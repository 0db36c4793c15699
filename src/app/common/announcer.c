/* HTTP announce client: builds GET /announce requests for the HTTP client (http_client.c) and
 * decodes the answers; at most one queued announce waits behind the one in flight. An announce that
 * fails at one tracker is sent again to the next one the tiers name (tracker_tiers engine). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "announcer.h"
#include "http_client.h"
#include "crowcast/error.h"
#include "crowcast/log.h"

#define RESPONSE_MAX (64 * 1024)
#define NODES        4096

struct pending {
    bool set;
    enum crow_announce_event event;
    uint64_t uploaded, downloaded, left;
};

struct crow_announcer {
    struct crow_announcer_config cfg;
    crow_tracker_tiers_t tiers;
    struct crow_http_client_server servers[CROW_TRACKER_TIERS_MAX]; /* by tracker id */
    crow_loop_t *loop;
    char rack[CROW_RACK_NAME_MAX + 1];
    uint8_t info_hash[CROW_INFO_HASH_LEN], peer_id[CROW_PEER_ID_LEN];
    crow_announcer_cb cb;
    void *ctx;
    char problem[128]; /* the last announce's problem, warned once; empty after an answer */
    crow_http_client_t *http;
    int hook_status; /* -1: none */
    uint8_t mcast;   /* enum crow_mcast_report, sent as mcast= */
    bool has_need;   /* need= */
    bool sending;    /* sending=1 */
    bool streaming;  /* streaming=1 */
    bool lead;       /* lead=1 */
    crow_need_map_t need;
    struct pending queued;
    struct pending inflight; /* the announce under way, sent again to the next tracker on failure */
    crow_bencode_node_t nodes[NODES];
    crow_announce_peer_t peers[CROW_ANNOUNCER_MAX_PEERS];
    struct sockaddr_in groups[CROW_ANNOUNCER_MAX_GROUPS];
};

static void start(struct crow_announcer *a);
static void send_current(struct crow_announcer *a);

/* Hands an outcome to the owner. A failure is warned once per distinct problem (retries every few
 * seconds would flood the log), then at debug level. */
static void report(struct crow_announcer *a, const struct crow_announce_outcome *o)
{
    if (o->error || o->failure) {
        const char *why = o->failure ? o->failure : crow_strerror(o->error);
        crow_log(strcmp(why, a->problem) ? CROW_LOG_WARN : CROW_LOG_DEBUG, "tracker: %s", why);
        snprintf(a->problem, sizeof a->problem, "%s", why);
    } else {
        a->problem[0] = '\0';
    }
    a->cb(a->ctx, o);
}

/* Reports one announce, then starts the queued one if any. */
static void finish(struct crow_announcer *a, const struct crow_announce_outcome *o)
{
    report(a, o);
    if (a->queued.set && !crow_http_client_busy(a->http))
        start(a);
}

/* The current tracker failed (err, or its "failure reason" text): the announce goes on to the next
 * tracker, or, when every tracker has been tried, ends with this failure. The first failure of a
 * tracker that had been answering is a warning (it names both trackers); the next ones of the same
 * outage are debug lines, so a dead tracker asked again after its rest does not flood the log. */
static void failed(struct crow_announcer *a, int err, const char *failure)
{
    int was = crow_tracker_tiers_current(&a->tiers);
    int next = crow_tracker_tiers_failed(&a->tiers, crow_loop_now(a->loop));
    if (next >= 0) {
        const char *why = failure ? failure : crow_strerror(err);
        crow_log(crow_tracker_tiers_failures(&a->tiers, was) == 1 ? CROW_LOG_WARN : CROW_LOG_DEBUG,
                 "tracker %s: %s; failing over to %s (tier %u)", crow_tracker_tiers_url(&a->tiers, was), why,
                 crow_tracker_tiers_url(&a->tiers, next), crow_tracker_tiers_tier(&a->tiers, next) + 1);
        send_current(a);
        return;
    }
    struct crow_announce_outcome o = {.error = failure ? 0 : err, .failure = failure};
    finish(a, &o);
}

static void fail(struct crow_announcer *a, int err)
{
    failed(a, err, NULL);
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

static void on_response(void *ctx, int err, const crow_http_response_t *res)
{
    struct crow_announcer *a = ctx;
    if (err) {
        fail(a, err);
        return;
    }
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
    if (r.failure) {
        char failure[256];
        size_t n = r.failure_len < sizeof failure - 1 ? r.failure_len : sizeof failure - 1;
        memcpy(failure, r.failure, n);
        failure[n] = '\0';
        failed(a, 0, failure);
        return;
    }
    crow_tracker_tiers_worked(&a->tiers);
    struct crow_announce_outcome o = {.result = &r, .peers = a->peers};
    o.groups = a->groups;
    o.group_count = a->cfg.want_groups ? collect_groups(a, &r) : 0;
    finish(a, &o);
}

/* Sends the announce under way to the current tracker. */
static void send_current(struct crow_announcer *a)
{
    const struct crow_http_client_server *server = &a->servers[crow_tracker_tiers_current(&a->tiers)];
    crow_announce_req_t req = {.port = a->cfg.port, .numwant = a->cfg.numwant, .compact = true};
    memcpy(req.info_hash, a->info_hash, sizeof req.info_hash);
    memcpy(req.peer_id, a->peer_id, sizeof req.peer_id);
    req.uploaded = a->inflight.uploaded;
    req.downloaded = a->inflight.downloaded;
    req.left = a->inflight.left;
    req.event = a->inflight.event;
    if (a->rack[0]) {
        req.has_rack = true;
        snprintf(req.rack, sizeof req.rack, "%s", a->rack);
    }
    req.want_groups = a->cfg.want_groups;
    req.has_hook = a->hook_status >= 0;
    req.hook = (uint8_t)(req.has_hook ? a->hook_status : 0);
    req.mcast = a->mcast;
    req.has_need = a->has_need;
    req.need = a->need;
    req.sending = a->sending;
    req.streaming = a->streaming;
    req.lead = a->lead;
    char query[1024 + CROW_NEED_TEXT_MAX];
    long qlen = crow_announce_build_query(query, sizeof query, &req);
    char target[1536 + CROW_NEED_TEXT_MAX];
    const char *path = server->path[0] ? server->path : "/announce";
    int n =
        qlen < 0 ? -1 : snprintf(target, sizeof target, "%s%s%s", path, strchr(path, '?') ? "&" : "?", query);
    int ret = n < 0 || (size_t)n >= sizeof target
                  ? CROW_ESPACE
                  : crow_http_client_get(a->http, server, a->cfg.bind, target, a->cfg.timeout);
    /* Not started (the HTTP client's callback will not fire): a failure of this tracker like any
     * other. Each tracker is tried once per announce, so this recursion ends. */
    if (ret)
        fail(a, ret);
}

/* Starts the queued announce at the first tracker the tiers name. */
static void start(struct crow_announcer *a)
{
    a->inflight = a->queued;
    a->queued.set = false;
    if (crow_tracker_tiers_begin(&a->tiers, crow_loop_now(a->loop)) < 0) {
        struct crow_announce_outcome o = {.error = CROW_EUSAGE};
        report(a, &o);
        return;
    }
    send_current(a);
}

uint32_t crow_announcer_filter(crow_tracker_tiers_t *t, const char *role)
{
    uint32_t usable = 0;
    for (uint32_t i = 0; i < t->count; i++) {
        struct crow_http_client_server server;
        if (!t->entry[i].disabled && crow_http_client_parse_server(t->entry[i].url, &server) == 0)
            usable++;
    }
    for (uint32_t i = 0; i < t->count; i++) {
        struct crow_http_client_server server;
        if (t->entry[i].disabled || crow_http_client_parse_server(t->entry[i].url, &server) == 0)
            continue;
        if (usable)
            crow_log_warn("%s: skipping tracker %s: crowcast announces to http[s]://A.B.C.D:PORT/ URLs only",
                          role, t->entry[i].url);
        crow_tracker_tiers_disable(t, (int)i);
    }
    return usable;
}

int crow_announcer_new(crow_announcer_t **out, crow_loop_t *loop, const struct crow_announcer_config *cfg,
                       crow_announcer_cb cb, void *ctx)
{
    struct crow_announcer *a = calloc(1, sizeof *a);
    if (!a)
        return -ENOMEM;
    a->tiers = *cfg->trackers;
    for (uint32_t i = 0; i < a->tiers.count; i++)
        if (crow_http_client_parse_server(a->tiers.entry[i].url, &a->servers[i]))
            crow_tracker_tiers_disable(&a->tiers, (int)i);
    int ret = crow_tracker_tiers_usable(&a->tiers) ? 0 : CROW_EUSAGE;
    if (ret == 0)
        ret = crow_http_client_new(&a->http, loop, RESPONSE_MAX, on_response, a);
    if (ret) {
        free(a);
        return ret;
    }
    a->loop = loop;
    a->cfg = *cfg;
    a->cfg.trackers = NULL;
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
    if (!crow_http_client_busy(a->http))
        start(a);
    return 0;
}

void crow_announcer_set_hook_status(crow_announcer_t *a, int code)
{
    a->hook_status = code < 0 ? 255 : code;
}

void crow_announcer_set_mcast_report(crow_announcer_t *a, enum crow_mcast_report report)
{
    a->mcast = (uint8_t)report;
}

void crow_announcer_set_need(crow_announcer_t *a, bool known, const crow_need_map_t *need)
{
    a->has_need = known;
    a->need = *need;
}

void crow_announcer_set_sending(crow_announcer_t *a, bool sending, bool streaming)
{
    a->sending = sending;
    a->streaming = streaming;
}

void crow_announcer_set_lead(crow_announcer_t *a, bool lead)
{
    a->lead = lead;
}

const char *crow_announcer_problem(const crow_announcer_t *a)
{
    return a ? a->problem : "";
}

bool crow_announcer_busy(const crow_announcer_t *a)
{
    return a && (crow_http_client_busy(a->http) || a->queued.set);
}

void crow_announcer_free(crow_announcer_t *a)
{
    if (!a)
        return;
    crow_http_client_free(a->http);
    free(a);
}

int crow_announcer_choose(crow_tracker_tiers_t *t, const crow_manifest_t *m, const char *torrent,
                          const char *tracker, bool no_tracker, const char *role, const char *alternative)
{
    crow_tracker_tiers_init(t);
    uint32_t listed = crow_tracker_tiers_choose(t, m, tracker, no_tracker);
    uint32_t usable = crow_announcer_filter(t, role);
    if (!listed || usable)
        return (int)usable;
    if (tracker)
        fprintf(stderr, "crowcast %s: --tracker wants http[s]://A.B.C.D:PORT/..., not '%s'\n", role, tracker);
    else
        fprintf(
            stderr,
            "crowcast %s: %s names no tracker crowcast can announce to (%s%s; only http[s]://A.B.C.D:PORT/ "
            "URLs): give --tracker URL, or --no-tracker with %s\n",
            role, torrent, crow_tracker_tiers_url(t, 0), listed > 1 ? ", ..." : "", alternative);
    return -1;
}
