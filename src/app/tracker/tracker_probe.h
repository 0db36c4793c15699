/* The tracker's probe routes (`crowcast probe`, probe_report.h), without sockets:
 *
 *   GET /probe/join[?rack=NAME]   a receiver joins: answers its receiver line (probe_report.h: its
 *                                 address, rack and the rack's group, from the racks file; rack=
 *                                 counts only where the file trusts announced racks), 403 for an
 *                                 address in no rack
 *   GET /probe/report?QUERY       a receiver's report on one step (probe_report.h); 400 if malformed
 *   GET /probe/results?run=R&step=S   the receivers that joined and the reports for (R, S), one
 *                                 record a line
 *
 * Memory is fixed: CROW_PROBE_MAX_HOSTS receivers (a receiver not heard from for 60 s is dropped)
 * and the latest TRACKER_PROBE_REPORTS reports (the oldest give way).
 */
#ifndef CROWCAST_APP_TRACKER_PROBE_H
#define CROWCAST_APP_TRACKER_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "crowcast/http.h"
#include "crowcast/probe.h"
#include "crowcast/racks.h"

#define TRACKER_PROBE_REPORTS 4096

struct tracker_reply;

struct tracker_probe {
    struct tracker_probe_receiver {
        uint32_t addr, rack;
        uint64_t seen_ms;
    } * receivers;
    uint32_t nreceivers;
    struct tracker_probe_report {
        uint32_t addr, rack;
        crow_probe_report_t report;
    } * reports; /* a ring */
    uint32_t nreports, next_report;
    char *body;
    size_t body_cap;
};

/* Returns 0 or -ENOMEM. */
int tracker_probe_init(struct tracker_probe *tp);
void tracker_probe_dispose(struct tracker_probe *tp);

/* True when path starts with /probe/. */
bool tracker_probe_route(crow_http_str_t path);
/* Answers one /probe/ request from src (host order). The body points into tp, valid until the next call. */
void tracker_probe_answer(struct tracker_probe *tp, const crow_racks_t *racks, const crow_http_request_t *req,
                          uint32_t src, uint64_t now_ms, struct tracker_reply *out);

#endif
