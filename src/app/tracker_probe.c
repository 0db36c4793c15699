/* Tracker side of `crowcast probe`: receivers join (their rack and group from the racks file),
 * report each step, and the sender collects the reports of a step. Fixed memory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/rollout_query.h"
#include "crowcast/error.h"
#include "tracker_http.h"
#include "tracker_probe.h"

#define BODY_CAP    (256 * 1024) /* every receiver line and a report per receiver fit */
#define RECEIVER_MS 60000

int tracker_probe_init(struct tracker_probe *tp)
{
    memset(tp, 0, sizeof *tp);
    tp->receivers = calloc(CROW_PROBE_MAX_HOSTS, sizeof *tp->receivers);
    tp->reports = calloc(TRACKER_PROBE_REPORTS, sizeof *tp->reports);
    tp->body = malloc(BODY_CAP);
    tp->body_cap = BODY_CAP;
    if (!tp->receivers || !tp->reports || !tp->body) {
        tracker_probe_dispose(tp);
        return -ENOMEM;
    }
    return 0;
}

void tracker_probe_dispose(struct tracker_probe *tp)
{
    free(tp->receivers);
    free(tp->reports);
    free(tp->body);
    memset(tp, 0, sizeof *tp);
}

bool tracker_probe_route(crow_http_str_t path)
{
    return path.len > 7 && memcmp(path.ptr, "/probe/", 7) == 0;
}

static void reply(struct tracker_probe *tp, struct tracker_reply *out, int status, size_t len)
{
    *out = (struct tracker_reply){
        .status = status, .content_type = "text/plain", .body = (const uint8_t *)tp->body, .len = len};
}

static void reply_text(struct tracker_probe *tp, struct tracker_reply *out, int status, const char *text)
{
    reply(tp, out, status, (size_t)snprintf(tp->body, tp->body_cap, "%s\n", text));
}

static bool path_is(crow_http_str_t path, const char *route)
{
    return path.len == strlen(route) && memcmp(path.ptr, route, path.len) == 0;
}

/* Drops receivers not heard from for RECEIVER_MS. */
static void expire(struct tracker_probe *tp, uint64_t now_ms)
{
    for (uint32_t i = 0; i < tp->nreceivers;) {
        if (tp->receivers[i].seen_ms + RECEIVER_MS < now_ms)
            tp->receivers[i] = tp->receivers[--tp->nreceivers];
        else
            i++;
    }
}

/* Finds (or adds) the receiver at addr. NULL when full. */
static struct tracker_probe_receiver *receiver(struct tracker_probe *tp, uint32_t addr, uint64_t now_ms)
{
    expire(tp, now_ms);
    for (uint32_t i = 0; i < tp->nreceivers; i++)
        if (tp->receivers[i].addr == addr)
            return &tp->receivers[i];
    if (tp->nreceivers == CROW_PROBE_MAX_HOSTS)
        return NULL;
    struct tracker_probe_receiver *r = &tp->receivers[tp->nreceivers++];
    r->addr = addr;
    return r;
}

/* Appends one line; false when the body is full. */
static bool append(struct tracker_probe *tp, size_t *len, const crow_probe_report_line_t *l)
{
    long n = crow_probe_report_line_encode(l, tp->body + *len, tp->body_cap - *len);
    if (n < 0)
        return false;
    *len += (size_t)n;
    return true;
}

static void join(struct tracker_probe *tp, const crow_racks_t *racks, const crow_http_request_t *req,
                 uint32_t src, uint64_t now_ms, struct tracker_reply *out)
{
    char name[CROW_RACK_NAME_MAX + 1];
    if (crow_query_value(req->query, "rack", name, sizeof name) != 0 ||
        !crow_rack_name_valid(name, strlen(name)))
        name[0] = '\0'; /* absent or not a rack name: the racks file decides by address */
    uint32_t rack;
    const crow_rack_t *r = NULL;
    if (crow_racks_resolve(racks, src, name[0] ? name : NULL, &rack) == 0)
        r = crow_racks_get(racks, rack);
    if (!r) {
        reply_text(tp, out, 403, "not in any rack of the racks file");
        return;
    }
    struct tracker_probe_receiver *rc = receiver(tp, src, now_ms);
    if (!rc) {
        reply_text(tp, out, 503, "too many probe receivers");
        return;
    }
    rc->rack = rack;
    rc->seen_ms = now_ms;
    crow_probe_report_line_t l = {
        .kind = CROW_PROBE_REPORT_LINE_RECEIVER, .host = src, .group = r->group, .port = r->port};
    snprintf(l.rack, sizeof l.rack, "%s", r->name);
    size_t len = 0;
    append(tp, &len, &l);
    reply(tp, out, 200, len);
}

static void report(struct tracker_probe *tp, const crow_http_request_t *req, uint32_t src, uint64_t now_ms,
                   struct tracker_reply *out)
{
    crow_probe_report_t rep;
    if (crow_probe_report_decode(req->query.ptr, req->query.len, &rep)) {
        reply_text(tp, out, 400, "malformed probe report");
        return;
    }
    struct tracker_probe_receiver *rc = NULL;
    for (uint32_t i = 0; i < tp->nreceivers && !rc; i++)
        if (tp->receivers[i].addr == src)
            rc = &tp->receivers[i];
    if (!rc) {
        reply_text(tp, out, 403, "join first: GET /probe/join");
        return;
    }
    rc->seen_ms = now_ms;
    struct tracker_probe_report *slot = NULL;
    for (uint32_t i = 0; i < tp->nreports && !slot; i++) {
        struct tracker_probe_report *p = &tp->reports[i];
        if (p->addr == src && p->report.run == rep.run && p->report.step == rep.step)
            slot = p; /* a repeated report replaces the first */
    }
    if (!slot) {
        slot = &tp->reports[tp->next_report];
        tp->next_report = (tp->next_report + 1) % TRACKER_PROBE_REPORTS;
        if (tp->nreports < TRACKER_PROBE_REPORTS)
            tp->nreports++;
    }
    *slot = (struct tracker_probe_report){.addr = src, .rack = rc->rack, .report = rep};
    reply_text(tp, out, 200, "ok");
}

static void results(struct tracker_probe *tp, const crow_racks_t *racks, const crow_http_request_t *req,
                    uint64_t now_ms, struct tracker_reply *out)
{
    uint16_t run, step;
    if (crow_probe_report_results_decode(req->query.ptr, req->query.len, &run, &step)) {
        reply_text(tp, out, 400, "want run=R&step=S");
        return;
    }
    expire(tp, now_ms);
    size_t len = 0;
    bool ok = true;
    for (uint32_t i = 0; ok && i < tp->nreceivers; i++) {
        const crow_rack_t *r = crow_racks_get(racks, tp->receivers[i].rack);
        crow_probe_report_line_t l = {.kind = CROW_PROBE_REPORT_LINE_RECEIVER, .host = tp->receivers[i].addr};
        snprintf(l.rack, sizeof l.rack, "%s", r->name);
        l.group = r->group;
        l.port = r->port;
        ok = append(tp, &len, &l);
    }
    for (uint32_t i = 0; ok && i < tp->nreports; i++) {
        const struct tracker_probe_report *p = &tp->reports[i];
        if (p->report.run != run || p->report.step != step)
            continue;
        crow_probe_report_line_t l = {
            .kind = CROW_PROBE_REPORT_LINE_REPORT, .host = p->addr, .report = p->report};
        snprintf(l.rack, sizeof l.rack, "%s", crow_racks_get(racks, p->rack)->name);
        ok = append(tp, &len, &l);
    }
    if (!ok) {
        reply_text(tp, out, 503, "probe results too large");
        return;
    }
    reply(tp, out, 200, len);
}

void tracker_probe_answer(struct tracker_probe *tp, const crow_racks_t *racks, const crow_http_request_t *req,
                          uint32_t src, uint64_t now_ms, struct tracker_reply *out)
{
    if (path_is(req->path, "/probe/join"))
        join(tp, racks, req, src, now_ms, out);
    else if (path_is(req->path, "/probe/report"))
        report(tp, req, src, now_ms, out);
    else if (path_is(req->path, "/probe/results"))
        results(tp, racks, req, now_ms, out);
    else
        reply_text(tp, out, 404, "not found: try /probe/join, /probe/report or /probe/results");
}
