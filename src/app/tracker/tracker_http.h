/* The tracker's HTTP endpoints, without sockets: one parsed request (and the connection's source
 * address) in, one response status and body out. tracker.c owns the connections and writes the heads.
 *
 *   GET /announce  BEP 3 announce; every refusal is a bencoded "failure reason" with status 200
 *   GET /scrape    BEP 48 scrape (no info_hash: every release)
 *   GET /status    JSON (crow_tracker_registry_status_json)
 *   GET /metrics   Prometheus text: the registry's metrics plus the server's own counters
 *   GET /probe/... `crowcast probe` receivers and reports (tracker_probe.h)
 *   /agent/..., /rollout/...  the rollout coordinator (tracker_rollout.h; may answer later)
 *   anything else  404
 * Before any of it, the control policy (control_policy.h) decides on the method and the identity:
 * state changes are signed POSTs, the rest GETs; a refusal is 401, 403, 405 or 503 with its reason.
 */
#ifndef CROWCAST_APP_TRACKER_HTTP_H
#define CROWCAST_APP_TRACKER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowcast/control_policy.h"
#include "crowcast/http.h"
#include "crowcast/racks.h"
#include "crowcast/tracker_registry.h"
#include "tracker_probe.h"

/* Counters of the server around the registry, shown in /metrics. tracker.c updates the connection
 * ones; tracker_http_answer counts responses. */
struct tracker_counters {
    uint64_t accepted, refused_over_cap, header_timeouts, idle_timeouts;
    uint64_t refused_per_address, rate_limited;
    uint64_t tls_ok, tls_failed, tls_timeouts; /* handshakes */
    uint64_t responses_2xx, responses_4xx, responses_5xx;
    uint32_t open_connections;
};

struct tracker_http {
    crow_tracker_registry_t *reg; /* borrowed */
    const crow_racks_t *racks;    /* borrowed */
    bool trust_ip;                /* believe the announce's ip= parameter */
    struct tracker_counters counters;
    crow_crowcast_info_t groups; /* only group_count and groups[]: every rack's group, deduplicated */
    uint8_t *scratch;            /* response bodies; grows for /status and /metrics up to max_body */
    size_t scratch_cap, max_body;
    crow_scrape_entry_t *scrape; /* max_swarms entries */
    size_t scrape_cap;
    struct tracker_probe probe;
    struct tracker_rollout *rollout; /* borrowed; NULL without --state */
    crow_control_policy_t policy;    /* its verifier is borrowed */
    crow_admission_t admission;      /* of the last request: a refusal's text backs the reply; who and
                                      * nonce sign an admitted one's answer */
};

/* What to send back. body points into the tracker_http's scratch buffer, valid until the next call. */
struct tracker_reply {
    int status;
    const char *content_type;
    const uint8_t *body;
    size_t len;
    const char *failure; /* announce/scrape refusal reason, for the log (NULL when served) */
    const char *extra;   /* one more header line ("Allow: POST"), or NULL */
};

/* Returns 0 or -ENOMEM. reg and racks must outlive it. */
int tracker_http_init(struct tracker_http *th, crow_tracker_registry_t *reg, const crow_racks_t *racks,
                      bool trust_ip);
void tracker_http_dispose(struct tracker_http *th);

/* Answers one request from src (host order) at now_ms. Never fails: a body that cannot be rendered
 * (over max_body) becomes a 503. Returns false when the answer comes later (a rollout request held
 * until its journal record is on disk, a long poll): the rollout module's answer callback then gets
 * conn, and the caller counts that answer with tracker_http_count. */
bool tracker_http_answer(struct tracker_http *th, const crow_http_request_t *req, uint32_t src,
                         uint64_t now_ms, void *conn, struct tracker_reply *out);
/* Counts a response by status class for /metrics. */
void tracker_http_count(struct tracker_http *th, int status);

#endif
