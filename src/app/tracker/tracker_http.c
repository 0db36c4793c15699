/* Tracker request routing: announce, scrape, status and metrics bodies rendered into one scratch
 * buffer that only /status and /metrics make grow (their size follows the number of peers). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/error.h"
#include "crowcast/event.h"
#include "tracker_http.h"
#include "tracker_rollout.h"

#define SCRATCH_START (64 * 1024)        /* fits any announce (200 dictionary peers) or scrape */
#define MAX_BODY      (64 * 1024 * 1024) /* /status of a full registry stays below this */
#define MAX_PEERS     200

/* The groups the seeder sends to: relayed racks' are left out (their relay streams into them). */
static void collect_groups(struct tracker_http *th)
{
    crow_rack_endpoint_t eps[CROW_ANNOUNCE_MAX_GROUPS];
    crow_crowcast_info_t *g = &th->groups;
    g->group_count = crow_racks_stream_groups(th->racks, eps, CROW_ANNOUNCE_MAX_GROUPS);
    for (uint32_t k = 0; k < g->group_count; k++) {
        g->groups[k].addr = eps[k].group;
        g->groups[k].port = eps[k].port;
    }
}

int tracker_http_init(struct tracker_http *th, crow_tracker_registry_t *reg, const crow_racks_t *racks,
                      bool trust_ip)
{
    memset(th, 0, sizeof(*th));
    th->reg = reg;
    th->racks = racks;
    th->trust_ip = trust_ip;
    th->max_body = MAX_BODY;
    th->scrape_cap = crow_tracker_registry_config(reg)->max_swarms;
    th->scratch_cap = SCRATCH_START;
    th->scratch = malloc(th->scratch_cap);
    th->scrape = calloc(th->scrape_cap, sizeof(*th->scrape));
    if (!th->scratch || !th->scrape || tracker_probe_init(&th->probe)) {
        tracker_http_dispose(th);
        return -ENOMEM;
    }
    collect_groups(th);
    return 0;
}

void tracker_http_dispose(struct tracker_http *th)
{
    free(th->scratch);
    free(th->scrape);
    tracker_probe_dispose(&th->probe);
    th->scratch = NULL;
    th->scrape = NULL;
}

static void reply_text(struct tracker_http *th, struct tracker_reply *out, int status, const char *text)
{
    size_t n = strlen(text);
    memcpy(th->scratch, text, n);
    *out =
        (struct tracker_reply){.status = status, .content_type = "text/plain", .body = th->scratch, .len = n};
}

static void reply_failure(struct tracker_http *th, struct tracker_reply *out, const char *reason)
{
    long n = crow_announce_encode_failure(th->scratch, th->scratch_cap, reason);
    *out = (struct tracker_reply){.status = 200,
                                  .content_type = "text/plain",
                                  .body = th->scratch,
                                  .len = n > 0 ? (size_t)n : 0,
                                  .failure = reason};
}

static void announce(struct tracker_http *th, const crow_http_request_t *req, uint32_t src, uint64_t now_ms,
                     struct tracker_reply *out)
{
    crow_announce_req_t ar;
    const char *failure = NULL;
    if (crow_announce_parse(req->query.ptr, req->query.len, &ar, &failure)) {
        reply_failure(th, out, failure);
        return;
    }
    /* The connection's source address is the peer's address. ip= is believed only with --trust-ip
     * (a NAT or proxy in front of the tracker); otherwise any client could place others' addresses. */
    uint32_t addr = th->trust_ip && ar.has_ip ? ar.ip : src;
    uint32_t rack;
    if (crow_racks_resolve(th->racks, addr, ar.has_rack ? ar.rack : NULL, &rack)) {
        reply_failure(th, out, "unknown rack");
        return;
    }
    crow_announce_peer_t peers[MAX_PEERS];
    crow_announce_resp_t resp;
    if (crow_tracker_registry_announce(th->reg, &ar, addr, rack, now_ms, peers, MAX_PEERS, &resp, &failure)) {
        reply_failure(th, out, failure);
        return;
    }
    if (ar.want_groups) {
        resp.crowcast.group_count = th->groups.group_count;
        memcpy(resp.crowcast.groups, th->groups.groups, sizeof(th->groups.groups));
    }
    long n = crow_announce_encode(th->scratch, th->scratch_cap, &resp, ar.compact, ar.no_peer_id);
    if (n < 0) {
        reply_text(th, out, 500, "response too large\n");
        return;
    }
    *out = (struct tracker_reply){
        .status = 200, .content_type = "text/plain", .body = th->scratch, .len = (size_t)n};
}

static void scrape(struct tracker_http *th, const crow_http_request_t *req, struct tracker_reply *out)
{
    uint8_t hashes[CROW_SCRAPE_MAX_HASHES][CROW_INFO_HASH_LEN];
    const char *failure = NULL;
    int count = crow_scrape_parse(req->query.ptr, req->query.len, hashes, CROW_SCRAPE_MAX_HASHES, &failure);
    if (count < 0) {
        reply_failure(th, out, failure);
        return;
    }
    size_t n = crow_tracker_registry_scrape(th->reg, (const uint8_t(*)[CROW_INFO_HASH_LEN])hashes,
                                            (size_t)count, th->scrape, th->scrape_cap);
    long len = crow_scrape_encode(th->scratch, th->scratch_cap, th->scrape, n);
    if (len < 0) {
        reply_text(th, out, 500, "response too large\n");
        return;
    }
    *out = (struct tracker_reply){
        .status = 200, .content_type = "text/plain", .body = th->scratch, .len = (size_t)len};
}

static long server_metrics(const struct tracker_counters *c, char *buf, size_t cap)
{
    int n = snprintf(
        buf, cap,
        "# HELP crowcast_tracker_connections Open HTTP connections.\n"
        "# TYPE crowcast_tracker_connections gauge\ncrowcast_tracker_connections %u\n"
        "# HELP crowcast_tracker_connections_total Connections accepted and served.\n"
        "# TYPE crowcast_tracker_connections_total counter\ncrowcast_tracker_connections_total %llu\n"
        "# HELP crowcast_tracker_connections_refused_total Connections closed at once: over "
        "--max-connections.\n"
        "# TYPE crowcast_tracker_connections_refused_total counter\n"
        "crowcast_tracker_connections_refused_total %llu\n"
        "# HELP crowcast_tracker_address_refusals_total Connections and requests refused over a per-address "
        "limit.\n"
        "# TYPE crowcast_tracker_address_refusals_total counter\n"
        "crowcast_tracker_address_refusals_total{limit=\"connections\"} %llu\n"
        "crowcast_tracker_address_refusals_total{limit=\"rate\"} %llu\n"
        "# HELP crowcast_tracker_timeouts_total Connections cut off, by timeout.\n"
        "# TYPE crowcast_tracker_timeouts_total counter\n"
        "crowcast_tracker_timeouts_total{kind=\"header\"} %llu\n"
        "crowcast_tracker_timeouts_total{kind=\"idle\"} %llu\n"
        "# HELP crowcast_tracker_http_responses_total HTTP responses by status class.\n"
        "# TYPE crowcast_tracker_http_responses_total counter\n"
        "crowcast_tracker_http_responses_total{class=\"2xx\"} %llu\n"
        "crowcast_tracker_http_responses_total{class=\"4xx\"} %llu\n"
        "crowcast_tracker_http_responses_total{class=\"5xx\"} %llu\n"
        "# HELP crowcast_tracker_tls_handshakes_total TLS handshakes (--tls-cert), by result.\n"
        "# TYPE crowcast_tracker_tls_handshakes_total counter\n"
        "crowcast_tracker_tls_handshakes_total{result=\"ok\"} %llu\n"
        "crowcast_tracker_tls_handshakes_total{result=\"failed\"} %llu\n"
        "crowcast_tracker_tls_handshakes_total{result=\"timeout\"} %llu\n",
        c->open_connections, (unsigned long long)c->accepted, (unsigned long long)c->refused_over_cap,
        (unsigned long long)c->refused_per_address, (unsigned long long)c->rate_limited,
        (unsigned long long)c->header_timeouts, (unsigned long long)c->idle_timeouts,
        (unsigned long long)c->responses_2xx, (unsigned long long)c->responses_4xx,
        (unsigned long long)c->responses_5xx, (unsigned long long)c->tls_ok,
        (unsigned long long)c->tls_failed, (unsigned long long)c->tls_timeouts);
    return n < 0 || (size_t)n >= cap ? CROW_ESPACE : n;
}

/* Renders /status or /metrics, doubling the scratch buffer while the text does not fit. */
static void render(struct tracker_http *th, bool metrics, uint64_t now_ms, struct tracker_reply *out)
{
    for (;;) {
        long n = metrics ? crow_tracker_registry_metrics(th->reg, (char *)th->scratch, th->scratch_cap)
                         : crow_tracker_registry_status_json(th->reg, now_ms, (char *)th->scratch,
                                                             th->scratch_cap);
        if (n >= 0 && metrics) {
            long m = server_metrics(&th->counters, (char *)th->scratch + n, th->scratch_cap - (size_t)n);
            n = m < 0 ? m : n + m;
        }
        if (n >= 0 && th->rollout)
            n = tracker_rollout_render(th->rollout, metrics, (char *)th->scratch, (size_t)n, th->scratch_cap);
        if (n >= 0) {
            *out = (struct tracker_reply){.status = 200,
                                          .content_type =
                                              metrics ? "text/plain; version=0.0.4" : "application/json",
                                          .body = th->scratch,
                                          .len = (size_t)n};
            return;
        }
        uint8_t *bigger =
            th->scratch_cap * 2 <= th->max_body ? realloc(th->scratch, th->scratch_cap * 2) : NULL;
        if (!bigger) {
            reply_text(th, out, 503, "status too large\n");
            return;
        }
        th->scratch = bigger;
        th->scratch_cap *= 2;
    }
}

static bool str_is(crow_http_str_t s, const char *text)
{
    return s.len == strlen(text) && memcmp(s.ptr, text, s.len) == 0;
}

void tracker_http_count(struct tracker_http *th, int status)
{
    if (status < 300)
        th->counters.responses_2xx++;
    else if (status < 500)
        th->counters.responses_4xx++;
    else
        th->counters.responses_5xx++;
}

/* A request the control policy refused: JSON for the operator's /rollout/..., text for the rest. */
static void reply_refusal(struct tracker_http *th, const crow_http_request_t *req, struct tracker_reply *out)
{
    crow_admission_t *a = &th->admission;
    crow_http_str_t p = req->path;
    bool json = p.len >= 9 && memcmp(p.ptr, "/rollout/", 9) == 0;
    long n = 0;
    if (json) {
        crow_event_writer_t w;
        crow_event_begin(&w, (char *)th->scratch, th->scratch_cap - 1, "rollout");
        crow_event_str(&w, "error", a->why);
        n = crow_event_end(&w);
    }
    if (n <= 0) {
        json = false;
        n = snprintf((char *)th->scratch, th->scratch_cap, "%s\n", a->why);
    }
    *out = (struct tracker_reply){.status = a->status,
                                  .content_type = json ? "application/json" : "text/plain",
                                  .body = th->scratch,
                                  .len = (size_t)n,
                                  .failure = a->why,
                                  .extra = a->extra};
}

bool tracker_http_answer(struct tracker_http *th, const crow_http_request_t *req, uint32_t src,
                         uint64_t now_ms, void *conn, struct tracker_reply *out)
{
    bool rollout = tracker_rollout_handles(req);
    if (rollout && !th->rollout) {
        th->admission.who = NULL;
        tracker_rollout_serve(NULL, req, src, NULL, conn, out); /* no --state: says so, whatever the method */
    } else if (!crow_control_policy_admit(&th->policy, req, tracker_rollout_wall_ms() / 1000u,
                                          &th->admission))
        reply_refusal(th, req, out);
    else if (str_is(req->path, "/announce"))
        announce(th, req, src, now_ms, out);
    else if (str_is(req->path, "/scrape"))
        scrape(th, req, out);
    else if (str_is(req->path, "/status"))
        render(th, false, now_ms, out);
    else if (str_is(req->path, "/metrics"))
        render(th, true, now_ms, out);
    else if (tracker_probe_route(req->path))
        tracker_probe_answer(&th->probe, th->racks, req, src, now_ms, out);
    else if (rollout) {
        if (!tracker_rollout_serve(th->rollout, req, src, th->admission.who, conn, out))
            return false; /* answered later, and counted then */
    } else
        reply_text(th, out, 404, "not found: try /announce, /scrape, /status or /metrics\n");
    tracker_http_count(th, out->status);
    return true;
}
